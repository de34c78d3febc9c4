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
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import requests
from pydantic import BaseModel, ConfigDict, Field

from kmcomms.campaign.adapters import Kind
from kmcomms.errors import KmcommsError
from kmcomms.render.drafts import Draft

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kmcomms.render.tracking import Tracker

__all__ = [
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


class Channel(ABC):
    """One configured channel instance.

    Class attributes declare what the adapter is: `kind`, its `Settings` model, whether
    `publish` with the same key twice is harmless (`idempotent`), how late it may
    publish (`grace`), and how many attempts it gets (`max_attempts`).
    """

    kind: ClassVar[Kind]
    Settings: ClassVar[type[ChannelOptions]] = ChannelOptions
    idempotent: ClassVar[bool] = False
    grace: ClassVar[timedelta] = timedelta(hours=6)
    max_attempts: ClassVar[int] = 5
    timeout: ClassVar[float] = 30.0
    """Seconds for each remote call."""
    reach_notes: ClassVar[Mapping[str, str]] = {}
    """Quality notes per metric, stored with each reach sample (e.g. {"opens": "opens
    include machine opens"})."""

    def __init__(self, name: str, settings: ChannelOptions, root: Path, session: requests.Session | None = None, *,
                 store: Engine | None = None, tracker: Tracker | None = None) -> None:
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

    def find(self, key: str) -> Publication | None:
        """The publication made with `key`, or None when there is none. Raises
        `NotImplementedError` when the remote cannot be asked (a person must check)."""
        raise NotImplementedError

    def update(self, publication: Publication, draft: Draft) -> Publication:
        """Replace what was published with `draft` (content edited after publication)."""
        raise NotImplementedError

    def withdraw(self, publication: Publication) -> None:
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
