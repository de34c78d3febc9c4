"""`kmcomms channels list|check`: the channel adapters installed, the channel instances of
the workspace and whether each can be used (and why not), and a live check of their
settings and credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kmcomms.cli.options import State, console, format_option, workspace_option
from kmcomms.errors import KmcommsError, UsageError, one_line

if TYPE_CHECKING:
    from rich.text import Text

    from kmcomms.campaign.workspace import Workspace

__all__ = ["channels"]


@click.group()
def channels() -> None:
    """The channel adapters installed, and the channel instances of the workspace."""


def _workspace(path: Path | None, required: bool) -> Workspace | None:
    """The workspace at or above `path` (default: here); None when there is none and none
    is required. A folder given with -w must be one."""
    from kmcomms.campaign.workspace import find_workspace, load_workspace, require_workspace

    if required or path is not None:
        return load_workspace(require_workspace(path))
    root = find_workspace(Path.cwd())
    return load_workspace(root) if root else None


def _adapters() -> list[dict[str, Any]]:
    from kmcomms.campaign.adapters import adapter_names
    from kmcomms.channels.base import Capability
    from kmcomms.channels.registry import adapter_class

    rows = []
    for name in adapter_names():
        row: dict[str, Any] = {"name": name, "kind": None, "loads": True, "problem": None, "capabilities": []}
        try:
            cls = adapter_class(name)
            kind = getattr(cls, "kind", None)  # an adapter that publishes any kind declares none
            row["kind"] = str(kind) if kind else "any (its `kind` setting)"
            row["capabilities"] = [str(c) for c in Capability if c in cls.capabilities]
        except Exception as exc:  # noqa: BLE001 - a third party's package may fail to import in any way
            row.update(loads=False, problem=one_line(f"{type(exc).__name__}: {exc}"))
        rows.append(row)
    return rows


def _instances(workspace: Workspace) -> list[dict[str, Any]]:
    from kmcomms.campaign.adapters import channel_kind
    from kmcomms.channels.registry import check_channels

    rows = []
    for check in check_channels(workspace):
        settings = workspace.settings.channels[check.name]
        kind = channel_kind(settings)
        rows.append(
            {
                "name": check.name,
                "adapter": settings.adapter,
                "kind": str(kind) if kind else None,
                "usable": check.usable,
                "problems": [str(d) for d in check.diagnostics],
            }
        )
    return rows


def _cells(*values: str) -> list[Text]:
    from rich.text import Text

    # Plain text: a problem such as "[channels.x] url: …" is not Rich markup.
    return [Text(value) for value in values]


@channels.command("list")
@workspace_option
@format_option("table", "json")
def list_command(path: Path | None, fmt: str) -> None:
    """Every installed adapter (entry points in the group kmcomms.channels), its kind, what
    it can do besides publishing (find, update, withdraw, schedule) and whether it loads;
    inside a workspace, every channel instance with its adapter and
    whether it can be used: settings valid and their environment variables set."""
    from rich.table import Table

    from kmcomms.campaign.adapters import GROUP

    workspace = _workspace(path, required=False)
    adapters = _adapters()
    instances = _instances(workspace) if workspace else None
    if fmt == "json":
        click.echo(json.dumps({"adapters": adapters, "channels": instances}, indent=2, ensure_ascii=False))
        return
    out = console()
    table = Table(title=f"adapters installed ({GROUP})", title_justify="left")
    for column in ("adapter", "kind", "can also", "loads"):
        table.add_column(column)
    for row in adapters:
        table.add_row(
            *_cells(
                row["name"],
                row["kind"] or "",
                ", ".join(row["capabilities"]),
                "yes" if row["loads"] else f"no: {row['problem']}",
            )
        )
    out.print(table)
    if workspace is None:
        out.print("not in a workspace: no channel instances to show (use -w DIR)")
        return
    table = Table(title=f"channels of {workspace.settings_path}", title_justify="left")
    for column in ("channel", "adapter", "kind", "usable"):
        table.add_column(column)
    for row in instances or []:
        table.add_row(
            *_cells(
                row["name"],
                row["adapter"],
                row["kind"] or "?",
                "yes" if row["usable"] else "no: " + "; ".join(row["problems"]),
            )
        )
    out.print(table)


@channels.command("check")
@click.argument("name", required=False)
@workspace_option
@format_option("text", "json")
@click.pass_obj
def check_command(state: State, name: str | None, path: Path | None, fmt: str) -> int:
    """Check each channel instance (or only NAME) for real: its settings, its secrets, and
    on remote platforms its credentials, with one authenticated call each. Exit 1 when
    any has a problem."""
    from kmcomms.campaign.fields import close_match
    from kmcomms.channels.registry import check_channel
    from kmcomms.ledger.store import open_store
    from kmcomms.ledger.tracking import tracker_for

    workspace = _workspace(path, required=True)
    assert workspace is not None
    names = list(workspace.settings.channels)
    if name is not None:
        if name not in names:
            raise UsageError(
                f'no channel "{name}"{close_match(name, names)} in {workspace.settings_path} — '
                f"its channels: {', '.join(names) or 'none'}"
            )
        names = [name]
    tracker = None
    if workspace.settings.tracking is not None:  # channels check what they would send against it
        engine = open_store(workspace.settings.store.url, workspace.root)
        try:
            tracker = tracker_for(engine, workspace.settings, state.clock())
        finally:
            engine.dispose()
    results = {}
    for each in names:
        check = check_channel(workspace, each)
        if not check.usable or check.adapter is None or check.settings is None:
            # Its settings are refused, or a variable they read is not set: a check could only trip on it.
            results[each] = [str(d) for d in check.diagnostics]
            continue
        channel = check.adapter(each, check.settings, workspace.root, tracker=tracker)  # as the daemon makes it
        try:
            results[each] = channel.check()
        except KmcommsError as exc:  # a check that could not be made
            results[each] = [str(exc)]
        finally:
            channel.session.close()
    if fmt == "json":
        click.echo(
            json.dumps(
                [{"name": n, "ok": not p, "problems": p} for n, p in results.items()], indent=2, ensure_ascii=False
            )
        )
    else:
        for each, problems in results.items():
            adapter = workspace.settings.channels[each].adapter
            click.echo(f"✓ {each} ({adapter}): ready" if not problems else f"✗ {each} ({adapter}):")
            for problem in problems:
                click.echo(f"  - {one_line(problem)}")
    return 1 if any(results.values()) else 0
