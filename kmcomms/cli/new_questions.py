"""The questions `kmcomms new` asks, and the checks of their answers.

Each question is answered by its flag when one is given, else asked on a terminal (its
default shown, asked again while the answer fails its check), else takes its default.
They come in an order in which each default may depend on the answers before it.
`check_answers` refuses a bad flag value, naming the flag, before anything is drafted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from pydantic import TypeAdapter, ValidationError

from kmcomms.campaign.drafting import (
    CAMPAIGN_WEEKS,
    FIRST_SEND,
    SHAPES,
    DraftAnswers,
    Shape,
    default_channels,
    default_event_date,
    next_monday,
    slugify,
)
from kmcomms.campaign.fields import LanguageCode, LocalDate, LocalDateTime, Slug, TimeZoneName, close_match
from kmcomms.errors import Diagnostic, InvalidInput, Severity, UsageError

__all__ = ["DEFAULT_TIMEZONE", "Flags", "Questions", "check_answers", "day", "wall_time"]

DEFAULT_TIMEZONE = "Europe/London"


def _problem(exc: ValidationError) -> str:
    return exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")


def _checker(adapter: TypeAdapter[Any]) -> Callable[[str], Any]:
    """Parse with the model's own validator; a click error (re-prompt, or exit 2) when bad."""

    def check(value: str) -> Any:
        try:
            return adapter.validate_python(value.strip())
        except ValidationError as exc:
            raise click.BadParameter(_problem(exc)) from None

    return check


#: A local date and time ("YYYY-MM-DD HH:MM"), and a date, as the campaign model reads them.
wall_time = _checker(TypeAdapter(LocalDateTime))
day = _checker(TypeAdapter(LocalDate))
_language = TypeAdapter(LanguageCode)
_timezone = TypeAdapter(TimeZoneName)


def _split(values: Sequence[str] | str) -> list[str]:
    """`("en,ur", "pa")` or `"en, ur, pa"` → `["en", "ur", "pa"]`, in order, once each."""
    parts = [values] if isinstance(values, str) else list(values)
    return list(dict.fromkeys(p.strip() for part in parts for p in part.split(",") if p.strip()))


def _check_languages(languages: list[str]) -> list[str]:
    if not languages:
        raise ValueError("name at least one language, e.g. en")
    for code in languages:
        try:
            _language.validate_python(code)
        except ValidationError as exc:
            raise ValueError(_problem(exc)) from None
    return languages


def _check_channels(channels: list[str], defined: list[str]) -> list[str]:
    unknown = [c for c in channels if c not in defined]
    if unknown:
        known = (
            f"use one that kmcomms.toml defines: {', '.join(defined)}"
            if defined
            else "kmcomms.toml defines no channels: add one there"
        )
        raise ValueError(f'no channel "{unknown[0]}"{close_match(unknown[0], defined)} — {known}')
    return channels


def _prompted(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """A prompt's value_proc: a failed check asks again."""

    def proc(value: str) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return proc


def _flag_error(flag: str, message: str, code: str = "bad-value") -> InvalidInput:
    return InvalidInput([Diagnostic(flag, 0, 0, Severity.ERROR, code, message)])


def check_answers(a: DraftAnswers, defined: list[str]) -> None:
    """Refuse a bad flag value, naming the flag, before anything is drafted."""
    for flag, check in (
        ("--language", lambda: _check_languages(list(a.languages))),
        ("--channel", lambda: _check_channels(list(a.channels), defined)),
        ("--timezone", lambda: _timezone.validate_python(a.timezone)),
    ):
        try:
            check()
        except ValidationError as exc:
            raise _flag_error(flag, _problem(exc)) from None
        except ValueError as exc:
            raise _flag_error(flag, str(exc), "unknown-channel" if flag == "--channel" else "bad-value") from None
    if a.ends < a.starts:
        raise _flag_error(
            "--ends", f"the campaign ends ({a.ends}) before it starts ({a.starts}) — change --ends or --starts"
        )
    if not a.starts <= a.at.date() <= a.ends:
        raise _flag_error(
            "--at",
            f"{a.at:%Y-%m-%d %H:%M} is outside the campaign ({a.starts} to {a.ends}) — change --at, --starts or --ends",
        )
    if a.event_date is not None and not a.starts <= a.event_date <= a.ends:
        raise _flag_error(
            "--event-date",
            f"the event ({a.event_date}) is outside the campaign ({a.starts} to {a.ends}) — change --event-date or --ends",
        )


@dataclass(frozen=True, slots=True)
class Flags:
    """What the options of `kmcomms new` say, by their names: None, or empty, where not given."""

    shape: str | None
    campaign_id: str | None
    title: str | None
    audience_name: str | None
    audience_kind: str | None
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    first_at: datetime | None
    starts: date | None
    ends: date | None
    event_date: date | None
    timezone: str | None
    owner: str | None
    contacts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Questions:
    """The questions of `kmcomms new`: each answered by its flag, else asked when `ask`,
    else its default. `defined` are the channels kmcomms.toml defines."""

    flags: Flags
    ask: bool
    defined: list[str]

    def campaign(self) -> tuple[Shape, str, str]:
        """The starting point, the title, and the campaign's id (from the title by default)."""
        shape = self.flags.shape
        if shape is None:
            if self.ask:
                click.echo("Starting points:")
                for each in SHAPES.values():
                    click.echo(f"  {each.name:<16} {each.summary}")
            shape = (
                click.prompt("Shape", type=click.Choice(list(SHAPES)), default="awareness") if self.ask else "awareness"
            )
        for flag, value, wanted in (
            ("--event-date", self.flags.event_date, "event"),
            ("--contact", self.flags.contacts, "policy-briefing"),
        ):
            if value and shape != wanted:
                raise UsageError(f"{flag} is for --shape {wanted}, not {shape} — drop it or change the shape")
        spec = SHAPES[shape]
        title = self.flags.title
        if title is None:
            title = click.prompt("Title", default=spec.title) if self.ask else spec.title
        title = title.strip() or spec.title
        campaign_id = (self.flags.campaign_id or slugify(title)).strip()
        try:
            TypeAdapter(Slug).validate_python(campaign_id)
        except ValidationError as exc:
            raise _flag_error("--id", _problem(exc)) from None
        return spec, title, campaign_id

    def answers(
        self, spec: Shape, title: str, campaign_id: str, unit_name: str, clock: Callable[[], datetime]
    ) -> DraftAnswers:
        """The rest of the answers, after `campaign`'s, checked (`check_answers`).
        `unit_name` is the default owner; `clock` tells today's date."""
        owner = self.flags.owner
        if owner is None:
            owner = click.prompt("Owner (who answers for it)", default=unit_name) if self.ask else unit_name
        audience_name = self.flags.audience_name
        if audience_name is None:
            audience_name = (
                click.prompt("Audience (who it is for)", default=spec.audience_name) if self.ask else spec.audience_name
            )
        languages, channels = self._languages(), self._channels(spec.name)
        zone_name = (self.flags.timezone or DEFAULT_TIMEZONE).strip()
        first_at = self._first_message(zone_name, clock)
        starts = self.flags.starts or first_at.date()
        event_date = self._event_date(first_at) if spec.name == "event" else self.flags.event_date
        answers = DraftAnswers(
            shape=spec.name,
            id=campaign_id,
            title=title,
            owner=owner.strip() or unit_name,
            timezone=zone_name,
            languages=tuple(languages),
            channels=tuple(channels),
            starts=starts,
            ends=self.flags.ends or starts + timedelta(weeks=CAMPAIGN_WEEKS),
            at=first_at,
            audience_name=audience_name.strip() or spec.audience_name,
            audience_kind=self.flags.audience_kind or spec.audience_kind,
            event_date=event_date,
            contacts=tuple(c.strip() for c in self.flags.contacts if c.strip()),
        )
        check_answers(answers, self.defined)
        return answers

    def _languages(self) -> list[str]:
        if self.flags.languages:
            return _split(self.flags.languages)
        if not self.ask:
            return ["en"]
        languages: list[str] = click.prompt(
            "Languages (comma-separated; the first is the one you write in)",
            default="en",
            value_proc=_prompted(lambda v: _check_languages(_split(v))),
        )
        return languages

    def _channels(self, shape: str) -> list[str]:
        if self.flags.channels:
            return _split(self.flags.channels)
        if not self.ask:
            return default_channels(shape, self.defined)
        channels: list[str] = click.prompt(
            f"Channels (comma-separated; kmcomms.toml defines {', '.join(self.defined) or 'none'})",
            default=", ".join(default_channels(shape, self.defined)),
            value_proc=_prompted(lambda v: _check_channels(_split(v), self.defined)),
        )
        return channels

    def _first_message(self, zone_name: str, clock: Callable[[], datetime]) -> datetime:
        """When the first message goes out (local time): by default 09:00 on the start day,
        else on the Monday after today in the campaign's time zone."""
        try:
            zone: Any = ZoneInfo(zone_name)
        except (ValueError, LookupError):
            zone = None  # reported against --timezone by check_answers
        today = clock().astimezone(zone).date() if zone else clock().date()
        default_at = datetime.combine(self.flags.starts or next_monday(today), FIRST_SEND)
        if self.flags.first_at is not None:
            return self.flags.first_at
        if not self.ask:
            return default_at
        first_at: datetime = click.prompt(
            f"First message (YYYY-MM-DD HH:MM, {zone_name} time)",
            default=f"{default_at:%Y-%m-%d %H:%M}",
            value_proc=wall_time,
        )
        return first_at

    def _event_date(self, first_at: datetime) -> date:
        """The day of the event (shape event): after the first message."""
        event_date = self.flags.event_date
        if event_date is None:
            default_day = default_event_date(first_at)
            event_date = default_day
            if self.ask:
                event_date = click.prompt("Day of the event (YYYY-MM-DD)", default=str(default_day), value_proc=day)
        if event_date <= first_at.date():
            raise UsageError(
                f"the event ({event_date}) must be after the first message ({first_at:%Y-%m-%d})"
                " — change --event-date or --at"
            )
        return event_date
