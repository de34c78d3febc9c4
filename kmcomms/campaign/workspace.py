"""The workspace: a folder with `kmcomms.toml`, `campaigns/` and `translations/`.

Settings name the unit, the store, tracking, policy, who is notified, the scheduled report
(`kmcomms.campaign.report_settings`) and the channel instances that campaigns refer to by
name. Secrets are never written in files: a value `${VAR}` is read
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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from kmcomms.campaign.explain import explain
from kmcomms.campaign.fields import LanguageCode, Slug, Url, _url
from kmcomms.campaign.report_settings import ScheduledReport
from kmcomms.campaign.settings_fields import Addresses, SettingsSection, email_address
from kmcomms.campaign.source import file_error, read_text, toml_position
from kmcomms.errors import Diagnostic, InvalidInput, NoWorkspace, SettingError, Severity, display_path

__all__ = [
    "CAMPAIGN_FILE",
    "SETTINGS_FILE",
    "ChannelSettings",
    "Notify",
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


class Unit(SettingsSection):
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


class Store(SettingsSection):
    url: str = "sqlite:///kmcomms.db"
    """SQLAlchemy URL; a relative SQLite path is relative to the workspace."""


class Tracking(SettingsSection):
    base_url: Url
    listen: str | None = Field(default=None, pattern=r"^[^\s:]+:\d{1,5}$")
    """"host:port" the tracking server listens on, when it is not the host and port of
    `base_url` (behind a reverse proxy that terminates TLS, e.g. "127.0.0.1:8750")."""


class Policy(SettingsSection):
    require_approval: bool = False
    missing_translation: Literal["block", "source"] = "block"


class Notify(SettingsSection):
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
        return email_address(value)

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            _url(_ENV.sub("x", value))  # the address as written, a ${VAR} standing for its part
        return value


class ChannelSettings(BaseModel):
    """A channel instance: `adapter` names the adapter; the other keys are its settings,
    checked by the adapter itself."""

    model_config = ConfigDict(extra="allow", frozen=True)
    adapter: Slug

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(SettingsSection):
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
