"""What newsletter platforms with campaigns share (listmonk, Mailchimp): one campaign per
delivery, named with the delivery id so that a retry finds the campaign an earlier
attempt made instead of sending twice, sent to the list or segment mapped to the
delivery's audience and language, scheduled or sent at once."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import requests
from pydantic import Field, TypeAdapter, ValidationError

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.fields import LanguageCode, Slug
from kmcomms.channels.base import ChannelError, ChannelOptions, PermanentError, Publication, TransientError
from kmcomms.channels.http import HttpChannel, shorten
from kmcomms.ledger.ledger import planned_language
from kmcomms.render.drafts import Draft, Newsletter
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

__all__ = ["CampaignChannel", "CampaignOptions", "audience_language_keys"]

log = logging.getLogger("kmcomms.channels.campaigns")

V = TypeVar("V")
_SLUG: TypeAdapter[str] = TypeAdapter(Slug)
_LANGUAGE: TypeAdapter[str] = TypeAdapter(LanguageCode)


def audience_language_keys(mapping: Mapping[str, V]) -> Mapping[str, V]:
    """`mapping` if each key is a language ("ur") or an audience and a language
    ("policy-makers/en"); else ValueError naming the key."""
    for key in mapping:
        audience, slash, language = key.rpartition("/")
        try:
            if slash:
                _SLUG.validate_python(audience)
            _LANGUAGE.validate_python(language)
        except ValidationError as exc:
            raise ValueError(
                f'"{key}": {exc.errors()[0]["msg"].removeprefix("Value error, ")} — '
                f'a key is a language ("en") or an audience and a language ("policy-makers/en")'
            ) from None
    return mapping


class CampaignOptions(ChannelOptions):
    """Settings every campaign-platform newsletter adapter takes."""

    send: Literal["now", "schedule"] = "now"
    """"now": sent at once; "schedule": sent `delay_minutes` after hand-over."""
    delay_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class CampaignChannel(HttpChannel):
    """A newsletter platform with campaigns: one campaign per delivery, found again by the
    delivery id in its name, sent to the audience's list or segment in its language.
    Subclasses implement `deliver`, `lookup`, `collect` and `probe`."""

    kind = Kind.NEWSLETTER
    #: A retry finds the campaign the first attempt made (see `lookup`), so publishing
    #: twice with one key sends once.
    idempotent = True
    #: The platform's own word for a campaign that exists but was never started.
    unsent_status: str

    def now(self) -> datetime:
        return datetime.now(UTC)

    # ------------------------------------------------------------------ for subclasses

    @staticmethod
    def marker(key: str) -> str:
        """What a campaign's name carries so the delivery's campaign can be found again."""
        return f"[kmcomms {key}]"

    def campaign_name(self, draft: Newsletter, key: str) -> str:
        return f"{shorten(draft.title, 150)} {self.marker(key)}"

    def letter(self, draft: Draft) -> Newsletter:
        """`draft`, if this channel can send it: a newsletter with an unsubscribe link."""
        if not isinstance(draft, Newsletter):
            raise PermanentError(
                f"channel {self.name} sends newsletters, not {draft.kind} drafts — "
                f"remove `kind` from [channels.{self.name}]",
                self.name,
            )
        if UNSUBSCRIBE_PLACEHOLDER not in draft.html:
            raise PermanentError(
                f"{draft.delivery}: the newsletter has no unsubscribe link "
                f"({UNSUBSCRIBE_PLACEHOLDER}) — the newsletter template must keep it",
                self.name,
            )
        return draft

    def reader_language(self, draft: Newsletter, key: str) -> str:
        """The language of the readers `draft` is for: its own, or — when it fell back to
        the source language — the language its delivery was planned in, from the ledger."""
        if not draft.fallback:
            return draft.language
        if self.store is None:
            raise PermanentError(
                f"{key} fell back to {draft.language}, and without the ledger channel "
                f"{self.name} cannot tell which readers it is for",
                self.name,
            )
        planned = planned_language(self.store, key)
        if planned is None:
            raise PermanentError(f"delivery {key} is not in the ledger", self.name)
        return str(planned)

    def pick(self, mapping: Mapping[str, V], draft: Newsletter, key: str) -> tuple[V | None, str]:
        """The value `mapping` gives the draft's audience and reader language (the
        "audience/language" key first, then the language), and that language."""
        language = self.reader_language(draft, key)
        for name in (f"{draft.audience}/{language}", language):
            if name in mapping:
                return mapping[name], language
        return None, language

    def payload(self, response: requests.Response, what: str) -> Any:
        """The JSON of a successful answer (None when empty)."""
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise TransientError(
                f"{what}: {response.url} answered {response.status_code} with no JSON ({shorten(response.text, 80)})",
                self.name,
            ) from None

    @abstractmethod
    def deliver(self, draft: Newsletter, key: str, when: datetime | None) -> Publication:
        """Create the delivery's campaign (or take the one a crashed attempt left unsent)
        and send it now (`when` None) or schedule it for `when`."""

    @abstractmethod
    def lookup(self, key: str) -> tuple[Publication, str] | None:
        """The campaign made for `key` and its status on the platform, or None."""

    @abstractmethod
    def probe(self) -> list[str]:
        """Problems with the settings found by asking the platform; raises ChannelError
        when it cannot be asked (credentials refused, unreachable)."""

    # ------------------------------------------------------------------ Channel

    def publish(self, draft: Draft, key: str) -> Publication:
        options = self.settings
        assert isinstance(options, CampaignOptions)
        if options.send == "schedule":
            return self.schedule(draft, key, self.now() + timedelta(minutes=options.delay_minutes))
        return self.deliver(self.letter(draft), key, None)

    def schedule(self, draft: Draft, key: str, when: datetime) -> Publication:
        """Hand `draft` to the platform to send at `when` (an aware time; at once when it
        is not in the future), never twice for one key."""
        return self.deliver(self.letter(draft), key, when if when > self.now() else None)

    def find(self, key: str) -> Publication | None:
        """The campaign of `key` once it was started or scheduled; None when there is none
        or it is still unsent (publishing again starts it). `TransientError` when the
        platform cannot be asked, whatever the reason."""
        try:
            found = self.lookup(key)
        except ChannelError as exc:
            raise TransientError(f"cannot tell whether {key} was published: {exc}", self.name) from None
        if found is None or found[1] == self.unsent_status:
            return None
        return found[0]

    def check(self) -> list[str]:
        try:
            return self.probe()
        except ChannelError as exc:
            return [self.problem(exc)]
