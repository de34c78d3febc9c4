"""The `mastodon` adapter against a Mastodon instance on loopback (tests/fake_mastodon.py)
that checks every request against the documented API and answers as Mastodon does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_mastodon import FakeMastodon
from pydantic import ValidationError

from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.mastodon import Mastodon, MastodonOptions
from kmcomms.render.drafts import SocialPost
from kmcomms.testing.contract import (
    ChannelContract,
    Harness,
    found_then_withdrawn,
    makers,
    refused_for_a_wrong_secret,
)
from kmcomms.testing.drafts import blog_post, social_post
from kmcomms.testing.fake_api import serve

TOKEN = "mastodon-s3cret-token-value"
NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
URDU = "والدین کے سوالات، معالجین کے جوابات — مزید پڑھیں: https://unit.example.org/ur/films?utm_source=mastodon"


def post(text: str = URDU, key: str = "d1", language: str = "ur") -> SocialPost:
    return social_post(text, key, language, limit=500)


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    yield from serve(FakeMastodon(TOKEN, clock=NOW))


@pytest.fixture
def make(fake: FakeMastodon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`make(**settings)`: a channel on the fake instance, its journal in tmp_path."""
    monkeypatch.setenv("KM_TEST_MASTODON_TOKEN", TOKEN)
    yield from makers(
        Mastodon,
        "social",
        {"adapter": "mastodon", "url": fake.url, "token": "${KM_TEST_MASTODON_TOKEN}"},
        tmp_path,
        clock=lambda: NOW,
    )


class TestMastodonContract(ChannelContract):
    adapter = "mastodon"

    @pytest.fixture
    def harness(self, make: Any, fake: FakeMastodon) -> Harness:
        channel = make()
        assert channel.check() == []  # reads the limits first: the errors below land on the post
        return Harness(channel, post(), fake.items, fake.fail_next, secrets=(TOKEN,))


def lose_the_answer(channel: Mastodon, key: str) -> None:
    """As if the process died after the POST and before the status id was written down."""
    (path,) = [
        p
        for p in channel.root.glob(".kmcomms/journal/social/*.json")
        if json.loads(p.read_text(encoding="utf-8"))["key"] == key
    ]
    entry = json.loads(path.read_text(encoding="utf-8"))
    assert entry["id"]
    path.write_text(json.dumps({**entry, "id": None, "url": None}), encoding="utf-8")


def test_a_post_goes_out_with_the_idempotency_key_language_visibility_and_token(make: Any, fake: FakeMastodon) -> None:
    channel = make(visibility="unlisted")
    publication = channel.publish(post(language="ur-PK"), "d1")
    status = fake.statuses[publication.remote_id]
    assert publication == Publication(status["id"], status["url"])
    (sent,) = fake.posts()
    assert sent.headers["Idempotency-Key"] == "d1" and sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body == {"status": URDU, "language": "ur", "visibility": "unlisted"}
    assert fake.sources[status["id"]] == URDU
    assert [s.path for s in fake.seen] == ["/api/v2/instance", "/api/v1/statuses"]
    assert "Authorization" not in fake.seen[0].headers  # the instance's limits are public


def test_a_retry_whose_first_answer_was_lost_gets_the_same_status_from_the_idempotency_key(
    make: Any, fake: FakeMastodon
) -> None:
    channel = make()
    first = channel.publish(post(), "d1")
    lose_the_answer(channel, "d1")
    again = make().publish(post(), "d1")  # a new process: nothing in memory
    assert again == first and fake.items() == 1
    assert [p.headers["Idempotency-Key"] for p in fake.posts()] == ["d1", "d1"]
    assert make().publish(post(), "d1") == first and len(fake.posts()) == 2  # now recorded: no POST at all


def test_after_the_key_expired_a_retry_finds_the_status_by_its_text_and_posts_nothing(
    make: Any, fake: FakeMastodon
) -> None:
    channel = make()
    other = channel.publish(post("Something else entirely", key="d0"), "d0")
    first = channel.publish(post(), "d1")
    lose_the_answer(channel, "d1")
    fake.forget_keys()  # the instance forgot the keys an hour later…
    later = make()
    later.clock = lambda: NOW + timedelta(hours=2)
    assert later.find("d1") == first
    lose_the_answer(channel, "d1")
    assert later.publish(post(), "d1") == first and fake.items() == 2 and len(fake.posts()) == 2
    sources = [s.path for s in fake.seen if s.path.endswith("/source")]
    assert f"/api/v1/statuses/{first.remote_id}/source" in sources
    assert f"/api/v1/statuses/{other.remote_id}/source" not in sources  # newest first: found before it


def test_after_the_key_expired_a_post_that_never_went_out_is_made_once(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    fake.fail_on("POST /api/v1/statuses", 503)
    with pytest.raises(TransientError):
        channel.publish(post(), "d1")
    channel.clock = lambda: NOW + timedelta(hours=3)
    assert channel.find("d1") is None
    published = channel.publish(post(), "d1")
    assert fake.items() == 1 and channel.publish(post(), "d1") == published


def test_a_search_through_a_busy_account_stops_and_asks_a_person(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    fake.fail_on("POST /api/v1/statuses", 503)
    with pytest.raises(TransientError):
        channel.publish(post(), "d1")
    for n in range(401):
        channel.publish(post(f"Post number {n}", key=f"x{n}"), f"x{n}")
    channel.clock = lambda: NOW + timedelta(hours=2)
    with pytest.raises(PermanentError, match="more than 400 statuses.*kmcomms resolve"):
        channel.find("d1")


def test_find_knows_only_this_workspace_and_forgets_deleted_statuses(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    published = found_then_withdrawn(channel, post(), fake.items)
    channel.withdraw(published)  # already gone: fine
    again = channel.publish(post(), "d1")  # deleted on the instance: a new post
    assert again.remote_id != published.remote_id and fake.items() == 1


def test_update_edits_the_status(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    published = channel.publish(post(), "d1")
    assert channel.update(published, post("Corrected: https://unit.example.org/x")) == published
    assert fake.sources[published.remote_id] == "Corrected: https://unit.example.org/x"
    put = next(s for s in fake.seen if s.method == "PUT")
    assert put.body == {"status": "Corrected: https://unit.example.org/x", "language": "ur"}


def test_reach_is_boosts_favourites_and_replies(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    published = channel.publish(post(), "d1")
    fake.statuses[published.remote_id].update(reblogs_count=4, favourites_count=11, replies_count=2)
    assert channel.collect(published) == {"reposts": 4, "likes": 11, "replies": 2}
    with pytest.raises(PermanentError, match="404.*Record not found"):
        channel.collect(Publication("1"))


def test_the_length_is_the_instances_counted_as_mastodon_counts(make: Any, fake: FakeMastodon) -> None:
    address = "https://unit.example.org/" + "a" * 100
    fits = "ś" * (500 - 24) + " " + address  # the address counts 23, whatever its length
    assert make().publish(post(fits, key="d1"), "d1").remote_id
    too_long = "ś" * 501
    with pytest.raises(PermanentError, match="501 characters.*at most 500"):
        make().publish(post(too_long, key="d2"), "d2")
    family = "👨‍👩‍👧" * 501  # one grapheme each, five code points
    with pytest.raises(PermanentError, match="501 characters"):
        make().publish(post(family, key="d3"), "d3")
    fake.max_characters = 1000
    assert make().publish(post(too_long, key="d4"), "d4").remote_id  # a bigger instance's limit
    assert make(max_characters=600).publish(post(too_long, key="d5"), "d5").remote_id
    fake.instance_v2 = False  # before Mastodon 4.0: the default of 500
    with pytest.raises(PermanentError, match="at most 500"):
        make().publish(post(too_long, key="d6"), "d6")
    assert fake.items() == 3


def test_refusals_carry_mastodons_message_and_rate_limits_say_when(make: Any, fake: FakeMastodon) -> None:
    channel = make()
    channel.check()
    fake.fail_next(422, {})
    with pytest.raises(PermanentError, match=r"refused \(422\): Validation failed: Text character limit"):
        channel.publish(post(), "d1")
    fake.fail_next(429, {"X-RateLimit-Reset": (NOW + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")})
    with pytest.raises(TransientError, match="429.*Too many requests") as limited:
        channel.publish(post(), "d1")
    assert limited.value.retry_after == 90
    fake.fail_next(503, {"Retry-After": "30"})
    with pytest.raises(TransientError, match="503") as down:
        channel.publish(post(), "d1")
    assert down.value.retry_after == 30
    fake.fail_next(404, {})
    with pytest.raises(PermanentError, match="Record not found"):
        channel.publish(post(), "d1")
    assert fake.items() == 0
    assert channel.publish(post(), "d1").remote_id and fake.items() == 1


def test_a_bad_token_is_refused_named_by_check_and_never_shown(
    make: Any, fake: FakeMastodon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert make().check() == [] and make().publish(post(), "d0").remote_id
    monkeypatch.setenv("KM_TEST_MASTODON_TOKEN", "revoked-token-value")
    refused_for_a_wrong_secret(make, post(), "revoked-token-value", "401", "access token is invalid")
    monkeypatch.delenv("KM_TEST_MASTODON_TOKEN")
    assert ["KM_TEST_MASTODON_TOKEN is not set" in p for p in make().check()] == [True]
    assert TOKEN not in caplog.text and "revoked-token-value" not in caplog.text and caplog.records


def test_settings_refuse_what_cannot_work(tmp_path: Path) -> None:
    good = MastodonOptions.model_validate(
        {"adapter": "mastodon", "url": "https://mastodon.social/", "token": "${MASTODON_TOKEN}"}
    )
    assert good.url == "https://mastodon.social" and good.visibility == "public" and good.max_characters is None
    assert "MASTODON_TOKEN" not in repr(good)
    for bad in [
        {"url": "http://mastodon.social"},
        {"visibility": "followers"},
        {"max_characters": 0},
        {"token": None},
        {"instance": "x"},
    ]:
        with pytest.raises(ValidationError):
            MastodonOptions.model_validate({"adapter": "mastodon", "url": "https://m.example", "token": "${T}", **bad})
    channel = Mastodon("social", good, tmp_path)
    with pytest.raises(PermanentError, match="social drafts, not blog"):
        channel.publish(blog_post(delivery="d1"), "d1")
    channel.session.close()
