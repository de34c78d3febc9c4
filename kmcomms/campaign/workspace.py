"""The workspace: a folder with `kmcomms.toml`, `campaigns/` and `translations/`.

Settings name the unit, the store, tracking, policy and the channel instances that
campaigns refer to by name. Secrets are never written in files: a value `${VAR}` is read
from the environment (`expand`), a secret only when a channel needs it, any other channel
setting when its adapter checks the settings (`kmcomms.channels.registry.check_channel`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from kmcomms.campaign.explain import explain
from kmcomms.campaign.fields import LanguageCode, Slug, TimeZoneName, Url, _url, close_match
from kmcomms.campaign.report_formats import scheduled_format_names
from kmcomms.campaign.source import file_error, read_text, toml_position
from kmcomms.errors import Diagnostic, InvalidInput, NoWorkspace, SettingError, Severity, display_path

__all__ = [
    "CAMPAIGN_FILE",
    "SETTINGS_FILE",
    "ChannelSettings",
    "Notify",
    "ScheduledReport",
    "Settings",
    "Workspace",
    "campaign_files",
    "campaigns_in",
    "expand",
    "find_workspace",
    "load_workspace",
    "require_workspace",
    "secrets_of",
    "variables",
]

SETTINGS_FILE = "kmcomms.toml"
CAMPAIGN_FILE = "campaign.yaml"

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose values are credentials: they must come from the environment.
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api[_-]?key|private[_-]?key|credentials?)$", re.IGNORECASE)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Unit(_Section):
    id: Slug
    name: str
    acknowledgement: str
    """Must appear on every public output, in the delivery's language where translated."""
    acknowledgements: dict[str, str] = {}
    """The acknowledgement in other languages, by language code."""
    purpose: str = ""
    """What the unit does, in a sentence or two: the site's home page says it."""
    purposes: dict[str, str] = {}
    """The purpose in other languages, by language code."""
    language: LanguageCode = "en"
    """The language `name`, `acknowledgement` and `purpose` are written in: where they
    stand untranslated on a page in another language, they are marked as this one."""


class Store(_Section):
    url: str = "sqlite:///kmcomms.db"
    """SQLAlchemy URL; a relative SQLite path is relative to the workspace."""


class Tracking(_Section):
    base_url: Url
    listen: str | None = Field(default=None, pattern=r"^[^\s:]+:\d{1,5}$")
    """"host:port" the tracking server listens on, when it is not the host and port of
    `base_url` (behind a reverse proxy that terminates TLS, e.g. "127.0.0.1:8750")."""


class Policy(_Section):
    require_approval: bool = False
    missing_translation: Literal["block", "source"] = "block"


_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def _address(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f'"{value}" is not an email address — write name@example.org')
    return value


#: Email addresses: one, or a list.
Addresses = Annotated[
    list[Annotated[str, AfterValidator(_address)]],
    BeforeValidator(lambda value: [value] if isinstance(value, str) else value),
]


class Notify(_Section):
    """Who is told when a delivery needs a person (it ended failed, unknown or missed):
    by email through an SMTP server, and/or by a JSON POST to a webhook."""

    email: Addresses = []
    """Addresses to mail (one, or a list)."""
    sender: str = "kmcomms@localhost"
    """The From address of those mails."""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    webhook: str | None = None
    """A URL to POST JSON to. It often holds a token: write it as "${VAR}" (or put "${VAR}"
    in the part that is secret) and set the variable."""
    timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds for the SMTP conversation and for the webhook request."""

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f'"{value}" is not an email address — write name@example.org')
        return value

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            _url(_ENV.sub("x", value))  # the address as written, a ${VAR} standing for its part
        return value


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
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
        found = next((d for d in _WEEKDAYS if word in (d, d[:3])), None)
        if found is None:
            raise ValueError(
                f'"{word}" is not a day{close_match(word, (*_WEEKDAYS, "daily", "weekdays"))} — {_EVERY_HINT}'
            )
        if found[:3] not in chosen:
            chosen.append(found[:3])
    if not chosen:
        raise ValueError(f'"{every}" names no day — {_EVERY_HINT}')
    return fields | {"day_of_week": ",".join(chosen)}


class ScheduledReport(_Section):
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
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f'"{value}" is not an email address — write name@example.org')
        return value

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


class ChannelSettings(BaseModel):
    """A channel instance: `adapter` names the adapter; the other keys are its settings,
    checked by the adapter itself."""

    model_config = ConfigDict(extra="allow", frozen=True)
    adapter: Slug

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(_Section):
    unit: Unit
    store: Store = Store()
    tracking: Tracking | None = None
    policy: Policy = Policy()
    channels: dict[Slug, ChannelSettings] = {}
    notify: Notify | None = None
    report: ScheduledReport | None = None
    """The unit report the daemon delivers on a schedule."""


@dataclass(frozen=True, slots=True)
class Workspace:
    """A loaded workspace: where it is and what its settings say."""

    root: Path
    settings: Settings
    diagnostics: tuple[Diagnostic, ...] = ()
    text: str = field(default="", repr=False)
    """The text of kmcomms.toml, to position findings about its settings."""

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def campaigns_dir(self) -> Path:
        return self.root / "campaigns"

    @property
    def translations_dir(self) -> Path:
        return self.root / "translations"


def campaign_files(root: Path) -> list[Path]:
    """Every `campaigns/<id>/campaign.yaml` of the workspace at `root`, sorted."""
    return campaigns_in(root / "campaigns")


def campaigns_in(folder: Path) -> list[Path]:
    """Every `<folder>/<id>/campaign.yaml`, sorted; hidden folders (drafts, editors' own) are skipped."""
    return sorted(p for p in folder.glob(f"*/{CAMPAIGN_FILE}") if not p.parent.name.startswith("."))


def variables(value: str) -> list[str]:
    """The names of the `${VAR}`s in `value`, in order."""
    return _ENV.findall(value)


def expand(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace each `${VAR}` with its value from the environment.

    Raises `SettingError` naming the variable (never a value) when one is unset.
    """
    env = os.environ if environ is None else environ

    def lookup(match: re.Match[str]) -> str:
        if match[1] not in env:
            raise SettingError(f"the environment variable {match[1]} is not set — export it before running kmcomms")
        return env[match[1]]

    return _ENV.sub(lookup, value)


def find_workspace(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds `kmcomms.toml`."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None


def require_workspace(path: Path | None = None) -> Path:
    """The nearest workspace at or above `path` (default: the working directory), for a
    command that cannot run without one. Raises `NoWorkspace` when there is none."""
    root = find_workspace(path or Path.cwd())
    if root is None:
        where = display_path(path) if path is not None else "this folder"
        raise NoWorkspace(f"no {SETTINGS_FILE} in {where} or above — run `kmcomms init` or cd into a workspace")
    return root


def _options(options: Mapping[str, Any], loc: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (location, value) in a channel's settings, into nested tables such as
    `[channels.x.auth]`, where a password may hide as well."""
    for key, value in options.items():
        if isinstance(value, Mapping):
            yield from _options(value, (*loc, key))
        else:
            yield (*loc, key), value


def _secret_warnings(path: Path, text: str, settings: Settings, environ: Mapping[str, str]) -> list[Diagnostic]:
    # A channel's unset variables are found where its settings are checked
    # (`kmcomms.channels.registry.check_channel`), which knows the secrets among them.
    found = []
    for name, channel in settings.channels.items():
        for loc, value in _options(channel.options, ("channels", name)):
            key, dotted = loc[-1], ".".join(loc)
            # A number or list is as much a written secret as a string (`token = 12345`);
            # only a whole "${VAR}" is not. The message never quotes the value.
            if _SECRET_KEY.search(key) and not (isinstance(value, str) and _ENV.fullmatch(value)):
                line, column = toml_position(text, loc)
                var = "_".join(loc[1:]).upper().replace("-", "_")
                found.append(
                    Diagnostic(
                        str(path),
                        line,
                        column,
                        Severity.ERROR,
                        "secret-in-file",
                        f'{dotted} holds a secret written in the file — write "${{{var}}}" and set that environment variable',
                    )
                )
    webhook = settings.notify.webhook if settings.notify else None
    for var in _ENV.findall(webhook or ""):
        if var not in environ:
            line, column = toml_position(text, ("notify", "webhook"))
            found.append(
                Diagnostic(
                    str(path),
                    line,
                    column,
                    Severity.WARNING,
                    "env-unset",
                    f"notify.webhook reads ${{{var}}}, which is not set — notifications cannot be sent to it until it is",
                )
            )
    return found


def _from_env(value: str, environ: Mapping[str, str]) -> list[str]:
    return [environ[var] for var in _ENV.findall(value) if environ.get(var)]


def secrets_of(settings: Settings, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value the settings lead to: what `${VAR}`s read from the environment,
    credential-named channel settings, the store URL's password."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, channel in settings.channels.items():
        for loc, value in _options(channel.options, ("channels", name)):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    found.update(_from_env(item, env))
                if _SECRET_KEY.search(loc[-1]) and not (isinstance(item, str) and _ENV.search(item)):
                    found.add(str(item))  # written in the file (validate refuses it), still never logged
    try:
        password = make_url(settings.store.url).password
    except ArgumentError:
        password = None
    if password:
        found.add(str(password))
    found.update(_from_env(settings.store.url, env))
    if settings.notify is not None and settings.notify.webhook:
        found.update(_from_env(settings.notify.webhook, env))
    return {s for s in found if s}


def load_workspace(root: Path, environ: Mapping[str, str] | None = None) -> Workspace:
    """Read `root/kmcomms.toml`. Raises `InvalidInput` on errors; warnings stay on the result."""
    path = root / SETTINGS_FILE
    text = read_text(path, "settings file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(match[1]), int(match[2])) if match else (1, 1)
        reason = re.sub(r"\s*\(at line.*\)", "", str(exc)) or "cannot parse"
        if "(at end of document)" in reason:  # an unclosed string: point at the end, not line 1
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            reason = reason.replace("(at end of document)", "at the end of the file")
        raise file_error(
            path, f"TOML syntax: {reason} — check quotes and [table] headers on this line", "toml-syntax", line, column
        ) from exc
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(explain(exc, Settings, path, lambda loc, key: toml_position(text, loc))) from exc
    warnings = _secret_warnings(path, text, settings, os.environ if environ is None else environ)
    if any(d.severity is Severity.ERROR for d in warnings):
        raise InvalidInput(warnings)
    return Workspace(root.resolve(), settings, tuple(warnings), text)
