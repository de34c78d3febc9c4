"""Field types of the campaign format, each with an error message a researcher can act on.

The validators raise `ValueError` with text that says what is wrong and how to fix it;
`kmcomms.validation` puts the file and line in front.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import localedata
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

__all__ = [
    "WEEKDAYS",
    "Every",
    "LanguageCode",
    "LocalDate",
    "LocalDateTime",
    "LocalTime",
    "Slug",
    "TimeZoneName",
    "Url",
    "Weekday",
    "YoutubeId",
    "close_match",
    "closest",
    "parse_every",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2}(?::\d{2})?)$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
#: The largest N in `every: "N days"` or `"N weeks"`.
MAX_EVERY = 999
_EVERY = re.compile(r"^(?:(\d+)\s+)?(day|days|week|weeks)$")


def closest(word: object, choices: Iterable[object]) -> str | None:
    """The choice nearest to `word`, if one is close enough to be a likely typo."""
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else None


def close_match(word: object, choices: Iterable[object]) -> str:
    """' (did you mean "x"?)' for the nearest choice, or ''."""
    found = closest(word, choices)
    return f' (did you mean "{found}"?)' if found else ""


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "my-id"
        raise ValueError(
            f'"{value}" is not a valid id — use lowercase letters, digits and hyphens, e.g. "{suggestion}"'
        )
    return value


@cache
def _known_language(code: str) -> bool:
    return localedata.exists(code.replace("-", "_"))


def _language(value: str) -> str:
    if not _known_language(value):
        hint = close_match(value.replace("-", "_"), localedata.locale_identifiers())
        raise ValueError(
            f'"{value}" is not a language code Babel knows{hint} — use an ISO 639 code such as "en", "ur" or "yi"'
        )
    return value


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: "Europe" is a folder of zones, and a very long name is too long a path.
        return None


def _timezone(value: str) -> str:
    if _zone(value) is None:
        hint = close_match(value, available_timezones())
        raise ValueError(f'"{value}" is not an IANA time zone{hint} — use a name such as "Europe/London"')
    return value


def _as_text(value: object) -> object:
    # YAML gives dates as text (YAML 1.2 rules), but Python callers may pass real ones.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _date(value: object) -> date:
    value = _as_text(value)
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f'"{value}" is not a real date ({exc}) — write YYYY-MM-DD') from None
    raise ValueError(f"{value!r} is not a date — write YYYY-MM-DD, e.g. 2027-01-11")


def _datetime(value: object) -> datetime:
    value = _as_text(value)
    match = _DATETIME.match(value) if isinstance(value, str) else None
    if match:
        try:
            return datetime.combine(date.fromisoformat(match[1]), _time(match[2]))
        except ValueError as exc:
            raise ValueError(f'"{value}" is not a real date and time ({exc}) — write YYYY-MM-DD HH:MM') from None
    hint = (
        " without an offset: the zone comes from `timezone`"
        if isinstance(value, str) and re.search(r"(Z|[+-]\d\d:?\d\d)$", value)
        else ""
    )
    raise ValueError(f"{value!r} is not a local date and time — write YYYY-MM-DD HH:MM{hint}")


def _time(value: object) -> time:
    if isinstance(value, str) and _TIME.match(value):
        try:
            return time.fromisoformat(value.zfill(5) if len(value) == 4 else value)
        except ValueError:
            pass
    if isinstance(value, int):
        raise ValueError(f'{value!r} is not a time — quote it: "HH:MM"')
    raise ValueError(f'{value!r} is not a time of day — write "HH:MM" (24-hour), e.g. "18:30"')


def parse_every(value: str) -> tuple[int, str]:
    """`"2 weeks"` → `(2, "weeks")`; the unit is always plural."""
    match = _EVERY.match(value.strip().lower())
    # N is checked as a number: "00 days" would repeat forever on one day, and a huge N
    # overflows the calendar; no campaign repeats less often than every few years.
    if not match or not 1 <= int(match[1] or 1) <= MAX_EVERY:
        raise ValueError(
            f'"{value}" is not an interval — write "N days" or "N weeks" with N from 1 to {MAX_EVERY}, e.g. "2 weeks"'
        )
    unit = match[2] if match[2].endswith("s") else match[2] + "s"
    return int(match[1] or 1), unit


def _every(value: str) -> str:
    parse_every(value)
    return value


_NOT_IN_URLS = re.compile(r'[\s"<>`{}|\\^\x00-\x1f\x7f]')


def _url(value: str) -> str:
    bad = _NOT_IN_URLS.search(value)
    if bad:
        raise ValueError(
            f'"{value}" has a character a web address cannot hold ({bad[0]!r}) — percent-encode it (a space is %20)'
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f'"{value}" is not a web address — write a full URL starting with https://')
    return value


_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


def _youtube_id(value: str) -> str:
    if not _YOUTUBE_ID.match(value):
        raise ValueError(
            f'"{value}" is not a YouTube video id — copy the 11 characters after "v=" in the video\'s address'
        )
    return value


def _string(pattern: str | None = None, fmt: str | None = None, **extra: object) -> WithJsonSchema:
    schema: dict[str, object] = {"type": "string", **extra}
    if pattern:
        schema["pattern"] = pattern
    if fmt:
        schema["format"] = fmt
    return WithJsonSchema(schema)


Slug = Annotated[str, AfterValidator(_slug), _string(_SLUG.pattern)]
LanguageCode = Annotated[str, AfterValidator(_language), _string(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]+)*$")]
TimeZoneName = Annotated[str, AfterValidator(_timezone), _string(examples=["Europe/London"])]
LocalDate = Annotated[date, BeforeValidator(_date), _string(fmt="date")]
LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_datetime),
    _string(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2})?$", examples=["2027-01-11 09:00"]),
]
LocalTime = Annotated[time, BeforeValidator(_time), _string(_TIME.pattern, examples=["18:30"])]
Every = Annotated[str, AfterValidator(_every), _string(r"^(\d+\s+)?(day|days|week|weeks)$", examples=["2 weeks"])]
Url = Annotated[str, AfterValidator(_url), _string(r"^https?://", fmt="uri")]
YoutubeId = Annotated[str, AfterValidator(_youtube_id), _string(_YOUTUBE_ID.pattern)]
