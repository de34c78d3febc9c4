"""`kmcomms status`: the ledger at a glance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kmcomms.cli.options import State, console, format_option, workspace_option


@click.command()
@workspace_option
@click.option("--next", "upcoming", default=10, show_default=True, help="How many upcoming deliveries to list.")
@format_option("table", "json")
@click.pass_obj
def status(state: State, path: Path | None, upcoming: int, fmt: str) -> None:
    """Deliveries per state, the next ones due, and every one that needs a person
    (unknown, failed, missed) or is blocked, with the reason."""
    from rich.table import Table

    from kmcomms.publish.runtime import open_runtime
    from kmcomms.publish.status import summary

    runtime = open_runtime(path, clock=state.clock)
    try:
        report = summary(runtime.engine, state.clock(), upcoming)
    finally:
        runtime.close()
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    out = console()
    counts = report["counts"]
    out.print("  ".join(f"{name} {count}" for name, count in counts.items() if count) or "the ledger is empty")
    for title, rows in (
        ("next", report["next"]),
        ("needs a person", report["needs_a_person"]),
        ("blocked", report["blocked"]),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for column in ("due", "id", "campaign", "message", "audiences", "language", "channel", "state", "reason"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row["due"],
                row["id"],
                row["campaign"],
                row["message"],
                ", ".join(row["audiences"]),
                row["language"],
                row["channel"],
                row["state"],
                row["reason"] or "",
            )
        out.print(table)
