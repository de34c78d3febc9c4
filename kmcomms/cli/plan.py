"""`kmcomms plan`: what will go out, when, to whom, in which language, on which channel."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from kmcomms.cli.options import State, console, format_option, parse_instant, paths_argument

if TYPE_CHECKING:
    from kmcomms.plan.deliveries import Plan


def _table(plan: Plan) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"{len(plan.deliveries)} deliveries", title_justify="left", show_lines=False)
    for column in ("due (UTC)", "local", "campaign", "message", "audiences", "lang", "channel", "id"):
        table.add_column(column, no_wrap=column in ("due (UTC)", "id"))
    for d in plan.deliveries:
        local = d.due.astimezone(ZoneInfo(d.timezone))
        table.add_row(
            f"{d.due:%Y-%m-%d %H:%M}",
            f"{local:%a %H:%M %Z}",
            d.campaign,
            d.message,
            ", ".join(d.audiences),
            d.language,
            d.channel,
            d.id,
        )
    out.print(table)
    for note in plan.notes:
        out.print(f"[yellow]note[/]: {note.campaign}/{note.message}: {note.text}")


@click.command("plan")
@paths_argument
@click.option(
    "--from",
    "start",
    metavar="DATE",
    callback=parse_instant,
    help="First due time (UTC unless an offset is given; default: now).",
)
@click.option(
    "--to",
    "end",
    metavar="DATE",
    callback=parse_instant,
    help="Stop before this due time (UTC unless an offset is given).",
)
@click.option("--all", "everything", is_flag=True, help="Include deliveries already past.")
@format_option("table", "json", "ics")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of standard output."
)
@click.pass_obj
def plan_command(
    state: State,
    paths: tuple[Path, ...],
    start: datetime | None,
    end: datetime | None,
    everything: bool,
    fmt: str,
    output: Path | None,
) -> int:
    """Show every delivery the campaigns will make: due time, campaign, message, audience,
    language and channel, with stable delivery ids.

    PATHS are as for `validate`. The campaigns must be valid; warnings are summarised.
    """
    from kmcomms.campaign.load import load_paths
    from kmcomms.plan.calendar import plan_to_ics
    from kmcomms.plan.deliveries import ALL_TIME, Window, plan_of

    now = state.clock()
    result = load_paths(paths)
    result.raise_for_errors()
    if everything and start is None:
        start = ALL_TIME.start
    plan = plan_of(result, Window(start, end), now)
    if result.diagnostics:
        click.echo(f"{len(result.diagnostics)} warnings: see `kmcomms validate`", err=True)
    if fmt == "table" and output is None:
        _table(plan)
        return 0
    if fmt == "json":
        text = json.dumps([d.as_dict() for d in plan.deliveries], indent=2, ensure_ascii=False) + "\n"
    elif fmt == "ics":
        text = plan_to_ics(plan, (c.campaign for c in result.campaigns), now).decode()
    else:
        raise click.UsageError("--output needs --format json or ics")
    if output:
        # newline="" keeps iCalendar's CRLF line endings as they are
        with output.open("w", encoding="utf-8", newline="") as file:
            file.write(text)
        click.echo(f"wrote {len(plan.deliveries)} deliveries to {output}", err=True)
    else:
        click.echo(text, nl=False)
    return 0
