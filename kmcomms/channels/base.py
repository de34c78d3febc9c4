"""The channel interface: what every adapter implements, and the one error tree it speaks.

An adapter is a `Channel` subclass registered under the entry-point group
`kmcomms.channels` (the built-ins are registered the same way in kmcomms's own
pyproject.toml), so a third party adds a channel with `pip install`:

    [project.entry-points."kmcomms.channels"]
    my-platform = "my_package.channel:MyPlatform"

Errors: everything an adapter raises about its transport becomes a `TransientError`
(worth retrying: a timeout, a 5xx, a 429 with its Retry-After) or a `PermanentError`
(retrying cannot help: a 4xx, a refused draft). The dispatcher retries the first and
fails the second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from pydantic import BaseModel, ConfigDict, Field

from kmcomms.campaign.adapters import Kind
from kmcomms.errors import KmcommsError
from kmcomms.render.drafts import Draft, Problem

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kmcomms.render.tracking import Tracker

__all__ = [
    "Capability",
    "Channel",
    "ChannelError",
    "ChannelOptions",
    "PermanentError",
    "Publication",
    "TransientError",
]


class ChannelError(KmcommsError):
    """A channel could not do what was asked. `channel` names the instance."""

    def __init__(self, message: str, channel: str = "") -> None:
        super().__init__(message)
        self.channel = channel


class TransientError(ChannelError):
    """Worth trying again later; `retry_after` (seconds) when the remote said when."""

    def __init__(self, message: str, channel: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, channel)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """Trying again cannot help: the draft or the settings must change."""


@dataclass(frozen=True, slots=True)
class Publication:
    """What the channel made of a draft: its remote id and public address."""

    remote_id: str
    url: str | None = None


class ChannelOptions(BaseModel):
    """Settings every channel instance accepts besides its adapter's own. Adapters extend
    this model with theirs (secrets as `SecretStr`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    adapter: str
    kind: Kind | None = None
    grace_minutes: int | None = None
    """How late a delivery may still go out (default: the adapter's)."""
    max_attempts: int | None = None
    collect_minutes: int | None = Field(default=None, ge=1)
    """How often the daemon collects this channel's reach (default 60)."""


class Capability(StrEnum):
    """What an adapter may do besides `publish`: each is the `Channel` method of that name."""

    FIND = "find"
    """Say whether a delivery was published (settles a crash without a person)."""
    UPDATE = "update"
    """Replace what was published (content edited afterwards)."""
    WITHDRAW = "withdraw"
    """Take a publication down."""
    SCHEDULE = "schedule"
    """Hand a draft over ahead, for the platform to publish at a time."""


class Channel(ABC):
    """One configured channel instance.

    Class attributes declare what the adapter is: `kind`, its `Settings` model, whether
    `publish` with the same key twice is harmless (`idempotent`), how late it may
    publish (`grace`), how many attempts it gets (`max_attempts`), its platform's limits
    (`post_limit`, `draft_problems`) and what it can do besides publishing
    (`capabilities`). Stages before `kmcomms.channels` read them through
    `kmcomms.campaign.adapters`.
    """

    kind: ClassVar[Kind]
    """What it publishes. An adapter that publishes any kind leaves it out and requires
    the `kind` setting instead (its `Settings` has `kind` with no default)."""
    Settings: ClassVar[type[ChannelOptions]] = ChannelOptions
    post_limit: ClassVar[int | None] = None
    """Characters a social post may have on the platform; None where it sets none."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    """The optional methods the adapter implements: set for each subclass from the
    methods it overrides, so that it cannot claim one it lacks, nor lack one it has."""
    idempotent: ClassVar[bool] = False
    grace: ClassVar[timedelta] = timedelta(hours=6)
    max_attempts: ClassVar[int] = 5
    timeout: ClassVar[float] = 30.0
    """Seconds for each remote call."""
    reach_notes: ClassVar[Mapping[str, str]] = {}
    """Quality notes per metric, stored with each reach sample (e.g. {"opens": "opens
    include machine opens"})."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset(c for c in Capability if getattr(cls, c) is not getattr(Channel, c))

    @classmethod
    def draft_problems(cls, draft: Draft) -> list[Problem]:
        """What the platform would refuse in `draft` (a title too long…), found before
        anything is sent: pre-flight (`kmcomms validate`) shows them with the rest."""
        return []

    def __init__(
        self,
        name: str,
        settings: ChannelOptions,
        root: Path,
        session: requests.Session | None = None,
        *,
        store: Engine | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.root = root
        self.session = session or requests.Session()
        #: The ledger, for adapters that keep state in it (contacts, recipients); None
        #: where nothing is published (checks, previews).
        self.store = store
        #: Signs tracking addresses (unsubscribe links, open pixels); None without `[tracking]`.
        self.tracker = tracker

    @property
    def grace_period(self) -> timedelta:
        minutes = self.settings.grace_minutes
        return self.grace if minutes is None else timedelta(minutes=minutes)

    @property
    def attempt_limit(self) -> int:
        return self.settings.max_attempts or self.max_attempts

    @abstractmethod
    def publish(self, draft: Draft, key: str) -> Publication:
        """Publish `draft`. `key` is the delivery id: send it as the idempotency key
        wherever the remote accepts one, so a retried call cannot publish twice."""

    # The optional methods: an adapter overrides those its platform allows, and
    # `capabilities` says which; callers ask it rather than calling to see what happens.

    def find(self, key: str) -> Publication | None:
        """The publication made with `key`, or None when there is none. Without it, a
        crash mid-publish on a channel that is not `idempotent` is left to a person."""
        raise NotImplementedError

    def update(self, publication: Publication, draft: Draft) -> Publication:
        """Replace what was published with `draft` (content edited after publication)."""
        raise NotImplementedError

    def withdraw(self, publication: Publication) -> None:
        raise NotImplementedError

    def schedule(self, draft: Draft, key: str, when: datetime) -> Publication:
        """Hand `draft` over now for the platform to publish at `when` (aware), never
        twice for one key. The dispatcher does not hand over ahead yet: it publishes each
        delivery when it is due."""
        raise NotImplementedError

    def collect(self, publication: Publication) -> dict[str, float]:
        """Running totals the remote reports for a publication (metric → value)."""
        return {}

    def check(self) -> list[str]:
        """Problems with the settings or credentials, in words; empty when ready."""
        return []

    def problem(self, text: object) -> str:
        """`text` (a message, an error) as a problem of this channel, headed by
        `[channels.NAME]` once, as `kmcomms channels check` lists them."""
        where, text = f"[channels.{self.name}]", str(text)
        return text if text.startswith(where) else f"{where} {text}"
