"""The contract every remote channel adapter is held to, whatever its platform.

An adapter's test module subclasses `ChannelContract` (naming the subclass `Test…`, so
that pytest collects it), says which adapter it holds (`adapter`, the entry-point name)
and provides one fixture, `harness`: a `Harness` holding the channel configured against
a fake of its platform on loopback (see `kmcomms.testing.fake_api`), a draft of the
channel's kind, and two handles on that fake: how many items it holds, and a way to make
its next answer an error. The tests then check what every adapter must do: publish,
publish again with the same key without a second item, find, collect, check, and map
errors to transient or permanent (honouring Retry-After), never showing a secret. An
adapter whose platform cannot do one of these (no reach to collect, say) overrides that
test in its subclass with `pytest.skip("why")`.

Below the contract, helpers for an adapter's own tests: a channel configured from its
settings as kmcomms configures it (`configured`; `makers` for a fixture), and checks that
go beyond the contract (`refused_for_a_wrong_secret`, `found_then_withdrawn`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from kmcomms.channels.base import Channel, PermanentError, Publication, TransientError
from kmcomms.render.drafts import Draft

__all__ = ["ChannelContract", "Harness", "configured", "found_then_withdrawn", "makers", "refused_for_a_wrong_secret"]

C = TypeVar("C", bound=Channel)


@dataclass
class Harness:
    """What the contract tests work with, made fresh for each test by the `harness`
    fixture: the remote must start empty."""

    channel: Channel
    """The adapter under test, configured against the fake platform."""
    draft: Draft
    """A draft of the channel's kind; its `delivery` is the idempotency key the tests use."""
    items: Callable[[], int]
    """How many items (posts, campaigns, statuses, records…) the remote holds now."""
    fail_next: Callable[[int, dict[str, str]], None]
    """Make the remote's next answer this HTTP status with these headers, and the
    platform's documented error body for it."""
    secrets: tuple[str, ...] = field(default_factory=tuple)
    """Values that must never appear in an error message."""


class ChannelContract:
    """Subclass it (name the subclass `Test…`), set `adapter` and give it a `harness`
    fixture; every test below then runs against your adapter."""

    adapter: str
    """The entry-point name of the adapter under test (kmcomms's own suite checks that
    every registered remote adapter has a contract class)."""

    @pytest.fixture
    def harness(self) -> Harness:
        """Override it: a new `Harness` for each test (a fixture may use other fixtures)."""
        raise NotImplementedError("the adapter's test module provides the harness")

    def test_publish_returns_the_remote_item(self, harness: Harness) -> None:
        before = harness.items()
        publication = harness.channel.publish(harness.draft, harness.draft.delivery)
        assert isinstance(publication, Publication) and publication.remote_id
        assert harness.items() == before + 1

    def test_publishing_again_with_the_same_key_makes_no_second_item(self, harness: Harness) -> None:
        first = harness.channel.publish(harness.draft, harness.draft.delivery)
        again = harness.channel.publish(harness.draft, harness.draft.delivery)
        assert again.remote_id == first.remote_id
        assert harness.items() == 1

    def test_find_knows_what_was_published_and_only_that(self, harness: Harness) -> None:
        assert harness.channel.find(harness.draft.delivery) is None
        published = harness.channel.publish(harness.draft, harness.draft.delivery)
        found = harness.channel.find(harness.draft.delivery)
        assert found is not None and found.remote_id == published.remote_id

    def test_collect_gives_running_totals(self, harness: Harness) -> None:
        published = harness.channel.publish(harness.draft, harness.draft.delivery)
        totals = harness.channel.collect(published)
        assert totals and all(isinstance(v, int | float) and v >= 0 for v in totals.values())

    def test_check_passes_with_good_settings(self, harness: Harness) -> None:
        assert harness.channel.check() == []

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_server_errors_are_transient(self, harness: Harness, status: int) -> None:
        harness.fail_next(status, {})
        with pytest.raises(TransientError):
            harness.channel.publish(harness.draft, harness.draft.delivery)

    def test_rate_limits_are_transient_and_say_when_to_come_back(self, harness: Harness) -> None:
        harness.fail_next(429, {"Retry-After": "17"})
        with pytest.raises(TransientError) as caught:
            harness.channel.publish(harness.draft, harness.draft.delivery)
        assert caught.value.retry_after == 17

    @pytest.mark.parametrize("status", [400, 401, 403])
    def test_refusals_are_permanent_and_show_no_secret(self, harness: Harness, status: int) -> None:
        harness.fail_next(status, {})
        with pytest.raises(PermanentError) as caught:
            harness.channel.publish(harness.draft, harness.draft.delivery)
        text = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
        assert not [secret for secret in harness.secrets if secret and secret in text]
        assert harness.items() == 0


# ---------------------------------------------------------------------------- for the adapters' own tests


def configured(
    adapter: type[C],
    name: str,
    settings: Mapping[str, Any],
    root: Path = Path("."),
    session: requests.Session | None = None,
    **keywords: Any,
) -> C:
    """`adapter` as the channel `name`, its `[channels.<name>]` table `settings` validated
    as kmcomms validates it; `keywords` go to its constructor."""
    return adapter(name, adapter.Settings.model_validate(settings), root, session, **keywords)


def makers(
    adapter: type[C], name: str, settings: Mapping[str, Any], root: Path, **attributes: Any
) -> Iterator[Callable[..., C]]:
    """A fixture's body (`yield from makers(…)`): `make(**changes)`, which configures a new
    channel (`configured`) with `settings` and `changes` and sets `attributes` on it (a
    fixed clock, say). They share one HTTP session, closed after the test."""
    with requests.Session() as session:

        def make(**changes: Any) -> C:
            channel = configured(adapter, name, {**settings, **changes}, root, session)
            for attribute, value in attributes.items():
                setattr(channel, attribute, value)
            return channel

        yield make


def refused_for_a_wrong_secret(make: Callable[..., Channel], draft: Draft, wrong: str, *says: str) -> None:
    """With a wrong secret (`wrong`, already in the environment), `check` names the problem,
    saying each of `says`, and publishing `draft` is a permanent error; neither shows `wrong`."""
    channel = make()
    (problem,) = channel.check()
    assert problem.startswith(f"[channels.{channel.name}]") and all(words in problem for words in says)
    with pytest.raises(PermanentError) as refused:
        channel.publish(draft, draft.delivery)
    assert wrong not in f"{refused.value} {refused.value!r} {problem}"


def found_then_withdrawn(channel: Channel, draft: Draft, items: Callable[[], int]) -> Publication:
    """`find` knows `draft`'s delivery once it is published and not before; `withdraw`
    takes it down (leaving the remote with no item, as `items` counts them), and then
    `find` knows it no more. Returns the withdrawn publication."""
    assert channel.find(draft.delivery) is None
    published = channel.publish(draft, draft.delivery)
    assert channel.find(draft.delivery) == published
    channel.withdraw(published)
    assert items() == 0 and channel.find(draft.delivery) is None
    return published
