"""What the commands share: the `State` the top-level options set, and options several
commands take. Commands import these from here, never from the `kmcomms.cli` package,
which loads them (no cycle)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kmcomms.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.decorators import FC
    from rich.console import Console

__all__ = [
    "State",
    "console",
    "format_option",
    "log_format_option",
    "parse_instant",
    "paths_argument",
    "refuse",
    "workspace_option",
]


@dataclass
class State:
    """What the top-level options set for every subcommand."""

    debug: bool = False
    now: datetime | None = None

    def clock(self) -> datetime:
        """The current time, aware UTC (fixed by --now for reproducible output)."""
        return self.now or datetime.now(UTC)


paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
log_format_option = click.option(
    "--log-format",
    "log_format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Log lines on stderr: JSON objects, or text for a person at a terminal.",
)
workspace_option = click.option(
    "-w", "--workspace", "path", type=click.Path(file_okay=False, path_type=Path), help="The workspace (default: here)."
)


def format_option(*choices: str) -> Callable[[FC], FC]:
    """`--format` with the first choice as default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def parse_instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A click callback: an ISO 8601 date or time as an aware UTC instant (UTC if no offset)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time, e.g. 2027-01-01T09:00Z"
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def console() -> Console:
    """A Rich console for tables: the terminal's width, or a wide one when piped."""
    from rich.console import Console  # Rich only for a command that prints a table, not for --help

    out = Console()
    if not out.is_terminal:
        out.width = 160  # piped into a file or pager: no need to squeeze
    return out


#: Findings printed for a refused file; the rest are counted.
SHOWN = 100


def refuse(exc: InvalidInput, fmt: str, outcome: str) -> int:
    """Show every finding of `exc` (JSON on stdout, or one line each on stderr) and the
    `outcome` ("nothing was stored"); the exit code."""
    if fmt == "json":
        click.echo(json.dumps([d.as_dict() for d in exc.diagnostics], indent=2, ensure_ascii=False))
        return 1
    for diagnostic in exc.diagnostics[:SHOWN]:
        click.echo(str(diagnostic), err=True)
    if len(exc.diagnostics) > SHOWN:
        click.echo(f"… and {len(exc.diagnostics) - SHOWN} more", err=True)
    count = len(exc.diagnostics)
    click.secho(f"✗ {count} problem{'s' * (count != 1)}; {outcome}", fg="red", err=True)
    return 1
