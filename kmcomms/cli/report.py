"""`kmcomms report`: what a campaign achieved, or the unit's campaigns over a period."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kmcomms.cli.options import State, workspace_option
from kmcomms.errors import UsageError
from kmcomms.report.formats import DEFAULT, ReportFormat, report_format, report_formats

if TYPE_CHECKING:
    from kmcomms.report.model import Report

    _Choice = click.Choice[str]
else:
    _Choice = click.Choice  # click is generic only from 8.4, and kmcomms allows 8.1


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date — write YYYY-MM-DD, e.g. 2027-03-31") from None


class _Formats(_Choice):
    """The report formats installed when the command runs rather than when it was
    defined, so that one a plugin registers is offered with no edit here."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(report_formats())

    @choices.setter
    def choices(self, value: object) -> None:
        """click.Choice.__init__ stores what it is given: nothing to keep here."""


@click.command()
@click.argument("campaign_id", metavar="CAMPAIGN", required=False)
@click.option("--unit", is_flag=True, help="Every campaign running in the period, instead of one campaign.")
@click.option(
    "--from", "first", metavar="DATE", callback=_day, help="--unit: first day (default: the earliest campaign's start)."
)
@click.option(
    "--to",
    "last",
    metavar="DATE",
    callback=_day,
    help="--unit: last day (default: today, or the latest campaign's end while the campaigns lie ahead).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    callback=_day,
    help="One campaign: figures up to the end of DATE in its time zone (default: now).",
)
@click.option("--format", "fmt", type=_Formats(), default=DEFAULT, show_default=True, help="Output format.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file (csv: this folder, for indicators.csv and reach.csv); default: standard output.",
)
@workspace_option
@click.pass_obj
def report(
    state: State,
    campaign_id: str | None,
    unit: bool,
    first: date | None,
    last: date | None,
    as_of: date | None,
    fmt: str,
    output: Path | None,
    path: Path | None,
) -> None:
    """Evaluate CAMPAIGN (or, with --unit, the unit's campaigns) against its theory of change:
    status per objective, reach and gaps, results by AMEC level, channel performance,
    influence, inclusion, learning, methods. HTML is one self-contained file with charts;
    csv writes two tidy tables."""
    from kmcomms.ledger.store import open_store
    from kmcomms.publish.runtime import load_here
    from kmcomms.report.gather import end_of_day, gather_campaign, gather_unit, unit_period

    if unit == (campaign_id is not None):
        raise UsageError("name one CAMPAIGN, or give --unit for all of the unit's campaigns — not both, not neither")
    if not unit and (first or last):
        raise UsageError("--from and --to are for --unit; for one campaign, give --as-of DATE")
    if unit and as_of:
        raise UsageError("--as-of is for one campaign; for --unit, give --to DATE")
    if first and last and first > last:
        raise UsageError(f"--from {first} is after --to {last} — give the earlier day first")
    layout = report_format(fmt)
    if layout.render is None and output is None:
        raise UsageError(f"{layout.name} writes {layout.folder_of} — give -o FOLDER")
    now = state.clock()
    workspace, loaded = load_here(path)
    engine = open_store(workspace.settings.store.url, workspace.root)
    try:
        if unit:
            first, last = unit_period(loaded.campaigns, now.date(), first, last)
            result = gather_unit(
                workspace, loaded.campaigns, engine, (first, last), min(now, end_of_day(last)), generated_at=now
            )
        else:
            found = {c.campaign.id: c for c in loaded.campaigns}
            if campaign_id not in found:
                known = ", ".join(sorted(found)) or "none"
                raise UsageError(
                    f'no valid campaign "{campaign_id}" in this workspace (campaigns: {known}) — '
                    "check the id, or run `kmcomms validate` if its file has errors"
                )
            chosen = found[campaign_id]
            moment = end_of_day(as_of, chosen.campaign.timezone) if as_of else now
            result = gather_campaign(workspace, chosen, engine, moment, generated_at=now)
    finally:
        engine.dispose()
    _write(result, layout, output)


def _write(result: Report, layout: ReportFormat, output: Path | None) -> None:
    if layout.render is None:
        assert layout.write_folder is not None and output is not None  # checked before any work
        for written in layout.write_folder(result, output):
            click.echo(f"wrote {written}", err=True)
        return
    text = layout.render(result)
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


__all__ = ["report"]
