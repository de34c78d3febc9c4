"""`kmcomms evidence add|list|export`: outcomes and impact (a policy citation, an evidence
submission, an advisory committee), and a Researchfish-ready CSV of them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from kmcomms.cli.options import State, console, format_option, workspace_option
from kmcomms.cli.reach import store_checked
from kmcomms.cli.resolve import with_ledger
from kmcomms.errors import UsageError
from kmcomms.publish.runtime import load_here

# Imported here, not in the commands: the help of --kind lists KINDS, so any help of this
# command loads the records of reach.
from kmcomms.reach.records import (
    KINDS,
    RESEARCHFISH_COLUMNS,
    add_evidence,
    check_evidence,
    list_evidence,
    researchfish_rows,
)

_KIND_HELP = "; ".join(f"{k.slug} ({k.researchfish})" for k in KINDS.values())


@click.group()
def evidence() -> None:
    """Outcomes and impact of campaigns, in Researchfish's words."""


@evidence.command("add")
@click.option("--campaign", required=True, metavar="ID", help="The campaign it came from.")
@click.option("--kind", required=True, metavar="KIND", help=f"What it is: {_KIND_HELP}.")
@click.option("--title", required=True, metavar="TEXT", help="What it is, e.g. the document that cites the research.")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day it happened (not in the future).")
@click.option("--source", metavar="TEXT", help="Who or what it came from (an organisation, Overton, Altmetric).")
@click.option("--url", metavar="URL", help="Where it can be seen (http or https).")
@click.option("--notes", metavar="TEXT", help='The difference it made (Researchfish\'s "impact").')
@workspace_option
@format_option("text", "json")
@click.pass_obj
def add_command(
    state: State,
    campaign: str,
    kind: str,
    title: str,
    day: str,
    source: str | None,
    url: str | None,
    notes: str | None,
    path: Path | None,
    fmt: str,
) -> int:
    """Record one outcome or impact of a campaign."""
    given = {
        "campaign": campaign,
        "kind": kind,
        "title": title,
        "date": day,
        "source": source,
        "url": url,
        "notes": notes,
    }
    done = store_checked(path, state.clock(), fmt, lambda known, now: check_evidence(given, known, now), add_evidence)
    if done is None:
        return 1
    record, number = done
    if fmt == "json":
        click.echo(json.dumps({"id": number}))
    else:
        click.echo(f"stored evidence {number}: {KINDS[record.kind].researchfish}, {record.day.isoformat()}")
    return 0


@evidence.command("list")
@click.option("--campaign", metavar="ID", help="Only this campaign's.")
@workspace_option
@format_option("table", "json")
def list_command(campaign: str | None, path: Path | None, fmt: str) -> None:
    """Evidence records, oldest first."""
    from rich.table import Table

    rows = with_ledger(path, lambda engine: list_evidence(engine, campaign))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(
            "no evidence" + (f" for {campaign}" if campaign else "") + " — record some with `kmcomms evidence add`"
        )
        return
    table = Table()
    for column in ("id", "date", "campaign", "kind", "title", "source", "url"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for row in rows:
        table.add_row(
            *(
                "" if row[c] is None else str(row[c])
                for c in ("id", "date", "campaign", "kind", "title", "source", "url")
            )
        )
    console().print(table)


@evidence.command("export")
@click.option(
    "--researchfish",
    is_flag=True,
    help="In the shape of Researchfish's \"Influence on Policy, Practice, "
    'Patients & the Public" section (the only export there is: say it).',
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The CSV file to write."
)
@click.option("--campaign", metavar="ID", help="Only this campaign's.")
@workspace_option
def export_command(researchfish: bool, output: Path, campaign: str | None, path: Path | None) -> None:
    """Write the evidence as a CSV (UTF-8 with a byte-order mark, so Excel reads it) with
    the columns Award reference, Type, Description, Impact, Geographic reach, Year, Date,
    URL, Source, Campaign, kmcomms id. The award references are the campaign's outputs';
    geographic reach is left for a person to fill in. Kinds Researchfish asks about under
    Engagement activities (media coverage, broadcasts, talks) are counted, not exported."""
    if not researchfish:
        raise UsageError("say the shape of the export: --researchfish")
    _, loaded = load_here(path)
    awards = {c.campaign.id: [o.award for o in c.campaign.outputs if o.award] for c in loaded.campaigns}
    records = with_ledger(path, lambda engine: list_evidence(engine, campaign))
    rows = researchfish_rows(records, awards)
    try:
        with output.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.DictWriter(out, RESEARCHFISH_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise UsageError(
            f"{output}: cannot write it ({exc.strerror}) — name a file in a folder you can write to"
        ) from None
    click.echo(f"wrote {len(rows)} influence record{'s' * (len(rows) != 1)} to {output}")
    left = len(records) - len(rows)
    if left:
        click.echo(
            f"note: {left} other record{'s' * (left != 1)} (media coverage, broadcasts, talks, or unknown "
            "kinds) belong in Researchfish's Engagement activities section: `kmcomms evidence list` shows them",
            err=True,
        )
