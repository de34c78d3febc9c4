"""Finding adapters by name through the entry-point group `kmcomms.channels`, checking the
channel instances a workspace defines, and making them.

`check_channel` is the one place a `[channels.NAME]` block of kmcomms.toml is checked
against its adapter's settings model: `kmcomms validate` shows what it finds, `kmcomms
channels list/check` say from it whether a channel can be used, and `open_channels` makes
no channel it finds wrong. Each finding is positioned in kmcomms.toml
(`kmcomms.toml:LINE:COL: error: … [code]`), with a "did you mean" for a misspelt key or
adapter.

`${VAR}` may stand for any string setting, so that one kmcomms.toml serves staging and
production: a secret (a `SecretStr` in the adapter's model) keeps it, to be read from the
environment only when a request needs it; any other setting is read from the environment
here, before the adapter checks it. A value read from the environment is never quoted in
a finding.
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import Engine

from kmcomms.campaign.adapters import GROUP, adapter_names, find_adapter
from kmcomms.campaign.explain import explain
from kmcomms.campaign.fields import close_match
from kmcomms.campaign.source import toml_position
from kmcomms.campaign.workspace import Workspace, expand, variables
from kmcomms.channels.base import Channel, ChannelOptions
from kmcomms.errors import Diagnostic, InvalidInput, SettingError, Severity
from kmcomms.render.tracking import Tracker

__all__ = [
    "GROUP",
    "ChannelCheck",
    "adapter_class",
    "adapter_names",
    "check_channel",
    "check_channels",
    "open_channels",
]


def adapter_class(name: str, registry: Mapping[str, type[Channel]] | None = None) -> type[Channel]:
    """The adapter class called `name`: from `registry` when given (tests), else from the
    installed entry points. Raises `SettingError` naming the close adapter."""
    if registry is not None and name in registry:
        return registry[name]
    cls = find_adapter(name)
    if cls is None:
        known = sorted({*adapter_names(), *(registry or {})})
        raise SettingError(f'no channel adapter "{name}"{close_match(name, known)} — installed: {", ".join(known)}')
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise SettingError(f'the entry point "{name}" in {GROUP} is not a kmcomms Channel class')
    return cls


@dataclass(frozen=True, slots=True)
class ChannelCheck:
    """What checking one channel instance found."""

    name: str
    adapter: type[Channel] | None
    """None when the adapter is not installed or does not load."""
    settings: ChannelOptions | None
    """The settings as the adapter checked them, with `${VAR}`s outside secrets read; None
    when they have errors or read a variable that is not set."""
    diagnostics: tuple[Diagnostic, ...] = ()
    """Errors, and a warning for each variable that is not set."""

    @property
    def usable(self) -> bool:
        """Whether the channel can be used here: its settings valid and every variable they read set."""
        return self.settings is not None and not self.diagnostics


def _is_secret(model: type[BaseModel], key: str) -> bool:
    field = model.model_fields.get(key)
    annotation = field.annotation if field is not None else None
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _read(
    value: Any,
    loc: tuple[str, ...],
    environ: Mapping[str, str],
    unset: dict[tuple[str, ...], list[str]],
    read: dict[str, str],
) -> Any:
    """`value` with the `${VAR}`s in its strings (in lists and tables too) read from
    `environ`. A string that reads an unset variable stays as written, and its location
    goes into `unset`; what was read goes into `read` (value → the text it replaced)."""
    if isinstance(value, str):
        names = variables(value)
        missing = [n for n in names if n not in environ]
        if missing:
            unset[loc] = missing
            return value
        if names:
            expanded = expand(value, environ)
            read[expanded] = value
            return expanded
        return value
    if isinstance(value, Mapping):
        return {k: _read(v, (*loc, str(k)), environ, unset, read) for k, v in value.items()}
    if isinstance(value, list):
        return [_read(v, (*loc, str(i)), environ, unset, read) for i, v in enumerate(value)]
    return value


def _read_settings(
    model: type[BaseModel], settings: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[tuple[str, ...], list[str]], dict[str, str]]:
    """A channel's `settings` with the `${VAR}`s of all but its secrets read from `environ`
    (see `_read`); then where a variable is not set (secrets too), and what was read."""
    unset: dict[tuple[str, ...], list[str]] = {}
    read: dict[str, str] = {}
    data = {}
    for key, value in settings.items():
        if not _is_secret(model, key):
            data[key] = _read(value, (key,), environ, unset, read)
            continue
        data[key] = value  # kept as written: read from the environment only when it is used
        if isinstance(value, str) and (missing := [n for n in variables(value) if n not in environ]):
            unset[(key,)] = missing
    return data, unset, read


def _unquoted(found: Diagnostic, read: Mapping[str, str], where: str, adapter: str) -> Diagnostic:
    """`found` without any value read from the environment: each quoted one is written as
    the `${VAR}` text it came from; where one still shows, the finding says only where."""
    message = found.message
    for value, written in sorted(read.items(), key=lambda item: len(item[0]), reverse=True):
        for quoted in (f'"{value}"', repr(value)):
            message = message.replace(quoted, f'"{written}"')
    if any(re.search(rf"(?<!\w){re.escape(value)}(?!\w)", message) for value in read if value):
        message = (
            f"{where}: a value read from the environment is refused by the {adapter} adapter (it is not shown "
            "here) — check the variables this line reads"
        )
    return replace(found, message=message)


def check_channel(
    workspace: Workspace,
    name: str,
    registry: Mapping[str, type[Channel]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChannelCheck:
    """Check the channel instance `name` of `workspace` against its adapter's settings
    model (see the module), reading `${VAR}`s from `environ` (default: the process's)."""
    env = os.environ if environ is None else environ
    channel = workspace.settings.channels[name]
    path, within = str(workspace.settings_path), ("channels", name)

    def at(loc: tuple[Any, ...], severity: Severity, code: str, message: str) -> Diagnostic:
        line, column = toml_position(workspace.text, (*within, *loc))
        return Diagnostic(path, line, column, severity, code, message)

    try:
        cls = adapter_class(channel.adapter, registry)
    except SettingError as exc:
        return ChannelCheck(name, None, None, (at(("adapter",), Severity.ERROR, "unknown-adapter", str(exc)),))
    except Exception as exc:  # noqa: BLE001 - a third party's package may fail to import in any way
        broken = (
            f'the adapter "{channel.adapter}" cannot be loaded ({type(exc).__name__}: {exc}) — reinstall the package '
            "that provides it, or use another adapter"
        )
        return ChannelCheck(name, None, None, (at(("adapter",), Severity.ERROR, "adapter-broken", broken),))
    model = cls.Settings
    data, unset, read = _read_settings(model, channel.model_dump(), env)
    found = [
        at(
            loc,
            Severity.WARNING,
            "env-unset",
            f"{'.'.join((*within, *loc))} reads ${{{var}}}, which is not set — the channel cannot be used until it is",
        )
        for loc, names in unset.items()
        for var in names
    ]
    # A setting whose variable is not set cannot be judged: its value is not known.
    unknown = {loc[0] for loc in unset if not _is_secret(model, loc[0]) and loc[0] in model.model_fields}
    settings: ChannelOptions | None
    try:
        settings = model.model_validate(data)
    except ValidationError as exc:
        settings = None
        errors = explain(exc, model, path, lambda loc, key: toml_position(workspace.text, loc), within, ignore=unknown)
        found += [_unquoted(d, read, ".".join(within), channel.adapter) for d in errors]
    else:
        if unknown:
            settings = None
        # A third party's adapter may leave the kind to the setting.
        elif settings.kind is None and getattr(cls, "kind", None) is None:
            settings = None
            no_kind = (
                f'the "{channel.adapter}" adapter says no kind of its own — set kind = "blog" (or newsletter, '
                "video, briefing, social)"
            )
            found.append(at(("adapter",), Severity.ERROR, "no-kind", no_kind))
    return ChannelCheck(name, cls, settings, tuple(found))


def check_channels(
    workspace: Workspace, registry: Mapping[str, type[Channel]] | None = None, environ: Mapping[str, str] | None = None
) -> list[ChannelCheck]:
    """`check_channel` for every channel instance of the workspace, in the file's order."""
    return [check_channel(workspace, name, registry, environ) for name in workspace.settings.channels]


def open_channels(
    workspace: Workspace,
    registry: Mapping[str, type[Channel]] | None = None,
    session: requests.Session | None = None,
    *,
    store: Engine | None = None,
    tracker: Tracker | None = None,
) -> dict[str, Channel]:
    """Every channel instance of the workspace, its settings checked by `check_channel`;
    `store` and `tracker` are handed to each (adapters that publish need them). Raises
    `InvalidInput` with the findings in kmcomms.toml when a channel cannot be made. A
    secret whose variable is not set does not stop it: that channel says so when used."""
    checks = check_channels(workspace, registry)
    if problems := [
        replace(d, severity=Severity.ERROR) for check in checks if check.settings is None for d in check.diagnostics
    ]:
        raise InvalidInput(problems)
    return {
        check.name: check.adapter(
            check.name, check.settings, Path(workspace.root), session, store=store, tracker=tracker
        )
        for check in checks
        if check.adapter is not None and check.settings is not None
    }
