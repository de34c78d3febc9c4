"""The [report] section of kmcomms.toml: the unit report the daemon delivers on a
schedule, when (`report_cron` reads its `every`) and where it goes (mail, a folder)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kmcomms.campaign.fields import WEEKDAYS, TimeZoneName, close_match
from kmcomms.campaign.report_formats import scheduled_format_names
from kmcomms.campaign.settings_fields import Addresses, SettingsSection, email_address

__all__ = ["ScheduledReport", "report_cron"]

_EVERY_HINT = (
    'write a weekday and a time ("monday 08:00", "monday,thursday 08:00"), "weekdays 08:00", '
    '"daily 08:00" or a day of the month ("day 1 08:00")'
)


def report_cron(every: str) -> dict[str, str]:
    """The cron fields (APScheduler's `CronTrigger` keywords) of a `[report]` `every`:
    "monday 08:00", "mon,thu 8:30", "weekdays 08:00", "daily 08:00" or "day 1 08:00"
    (monthly, days 1 to 28). Raises `ValueError` saying what is wrong and how to write it."""
    words = every.lower().split()
    if len(words) < 2:
        raise ValueError(f'"{every}" needs a day and a time — {_EVERY_HINT}')
    *days, clock = words
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", clock)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'"{clock}" is not a time of day — write "HH:MM" (24-hour), e.g. "08:00"')
    fields = {"hour": str(int(match[1])), "minute": str(int(match[2])), "second": "0"}
    if days == ["daily"]:
        return fields
    if days == ["weekdays"]:
        return fields | {"day_of_week": "mon-fri"}
    if days[0] == "day":
        if len(days) != 2 or not days[1].isdigit() or not 1 <= int(days[1]) <= 28:
            raise ValueError(
                f'"{" ".join(days)}" is not a day of the month — write "day N" with N from 1 to 28 '
                '(every month has it), e.g. "day 1 08:00"'
            )
        return fields | {"day": str(int(days[1]))}
    chosen = []
    for word in ",".join(days).split(","):
        if not word:
            continue
        found = next((d for d in WEEKDAYS if word in (d, d[:3])), None)
        if found is None:
            raise ValueError(
                f'"{word}" is not a day{close_match(word, (*WEEKDAYS, "daily", "weekdays"))} — {_EVERY_HINT}'
            )
        if found[:3] not in chosen:
            chosen.append(found[:3])
    if not chosen:
        raise ValueError(f'"{every}" names no day — {_EVERY_HINT}')
    return fields | {"day_of_week": ",".join(chosen)}


class ScheduledReport(SettingsSection):
    """The unit report the daemon delivers on a schedule: mailed and/or written to a folder."""

    every: str
    """When, in `timezone`: "monday 08:00", "mon,thu 08:00", "weekdays 08:00", "daily 08:00"
    or "day 1 08:00" (monthly)."""
    timezone: TimeZoneName = "UTC"
    """The IANA zone `every` is read in (summer time is followed), e.g. "Europe/London"."""
    period_days: int = Field(default=7, ge=1, le=366)
    """The report covers this many days, the day it is made the last."""
    format: str = "html"
    """A report format that can be scheduled: html or md (or one a plugin adds)."""
    email: Addresses = []
    """Addresses to mail it to (one, or a list), as an attachment."""
    folder: str | None = None
    """A folder (relative to the workspace, or absolute) to write it to as unit-YYYY-MM-DD.html."""
    sender: str | None = None
    """The From address; default: [notify]'s sender, else kmcomms@localhost."""
    smtp_host: str | None = None
    """Default: [notify]'s smtp_host, else 127.0.0.1."""
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    """Default: [notify]'s smtp_port, else 25."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Seconds for the SMTP conversation."""

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        report_cron(value)
        return value

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        # The formats are those installed (kmcomms.campaign.report_formats), not a Literal
        # written here: a new format needs no edit in the settings. Refused as a Literal
        # would be, so the finding reads the same ("bad-choice", "use one of html, md").
        known = scheduled_format_names()
        if value not in known:
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": ", ".join(f"'{name}'" for name in known)}
            )
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        return value if value is None else email_address(value)

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError('the folder is empty — name one, e.g. "reports"')
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> ScheduledReport:
        if not self.email and self.folder is None:
            raise ValueError('the report goes nowhere — give email = ["name@example.org"] and/or folder = "reports"')
        return self

    @property
    def cron(self) -> dict[str, str]:
        return report_cron(self.every)
