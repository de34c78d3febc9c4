"""`kmcomms reach add|import`: record reach no API sees; `kmcomms collect`: ask the
channels for the reach of what they published, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from kmcomms.cli.options import State, format_option, refuse, workspace_option
from kmcomms.errors import InvalidInput, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Engine

    from kmcomms.reach.records import Known, ReachRecord

__all__ = ["store_checked"]

T = TypeVar("T")
S = TypeVar("S")


def store_checked(
    path: Path | None, now: datetime, fmt: str, check: Callable[[Known, datetime], T], store: Callable[[Engine, T], S]
) -> tuple[T, S] | None:
    """Check what a person gave against the workspace's campaigns, then `store` it in the
    ledger: what was checked and what `store` returned, or None once the problems are shown
    (nothing is stored)."""
    from kmcomms.ledger.store import open_store
    from kmcomms.publish.runtime import load_here
    from kmcomms.reach.records import Known

    workspace, loaded = load_here(path)
    try:
        checked = check(Known.from_loaded(loaded), now)
    except InvalidInput as exc:
        refuse(exc, fmt, "nothing was stored")
        return None
    engine = open_store(workspace.settings.store.url, workspace.root)
    try:
        return checked, store(engine, checked)
    finally:
        engine.dispose()


def _store(path: Path | None, state: State, fmt: str, read: Callable[[Known, datetime], list[ReachRecord]]) -> int:
    from kmcomms.reach.records import store_reach

    done = store_checked(path, state.clock(), fmt, read, store_reach)
    if done is None:
        return 1
    stored = done[1]
    if fmt == "json":
        click.echo(json.dumps({"stored": stored.stored, "linked": stored.linked}))
    else:
        click.echo(
            f"stored {stored.stored} reach record{'s' * (stored.stored != 1)} "
            f"({stored.linked} linked to a delivery, the rest to their campaign)"
        )
    return 0


@click.group()
def reach() -> None:
    """Reach no API sees: leaflets handed out, event attendees, radio broadcasts, survey
    results. Each record counts what happened on its date (records add up in reports)."""


@reach.command("add")
@click.option("--campaign", required=True, metavar="ID", help="The campaign it counts for.")
@click.option("--metric", required=True, metavar="NAME", help="What was counted, e.g. leaflets, attendees.")
@click.option("--value", required=True, metavar="N", help="How many (a number of zero or more).")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day it happened (not in the future).")
@click.option("--message", metavar="ID", help="The campaign's message it was about.")
@click.option("--audience", metavar="ID", help="The audience reached.")
@click.option("--language", metavar="CODE", help="The language it was in.")
@click.option("--channel", metavar="NAME", help="The channel it went through (e.g. print).")
@click.option("--note", metavar="TEXT", help="A quality note: how it was counted, what it leaves out.")
@workspace_option
@format_option("text", "json")
@click.pass_obj
def add_command(
    state: State,
    campaign: str,
    metric: str,
    value: str,
    day: str,
    message: str | None,
    audience: str | None,
    language: str | None,
    channel: str | None,
    note: str | None,
    path: Path | None,
    fmt: str,
) -> int:
    """Record one count, e.g. `kmcomms reach add --campaign flu --metric leaflets --value 500
    --date 2027-02-10 --audience parents --language ur --channel print`."""
    from kmcomms.reach.records import check_reach

    fields = {
        "campaign": campaign,
        "metric": metric,
        "value": value,
        "date": day,
        "message": message,
        "audience": audience,
        "language": language,
        "channel": channel,
        "note": note,
    }
    return _store(path, state, fmt, lambda known, now: [check_reach(fields, known, now)])


@reach.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@format_option("text", "json")
@click.pass_obj
def import_command(state: State, file: Path, path: Path | None, fmt: str) -> int:
    """Record every count in FILE, a CSV (UTF-8) with the columns
    campaign,message,audience,language,channel,date,metric,value and note, in any order;
    message, audience, language, channel and note may be left out, or empty. Every row is
    checked first: a file with any bad row is refused whole, each bad row named with its line."""
    from kmcomms.reach.records import read_reach

    return _store(path, state, fmt, lambda known, now: read_reach(file, known, now))


@click.command("collect")
@click.option("--campaign", metavar="ID", help="Only this campaign's publications.")
@workspace_option
@format_option("text", "json")
@click.pass_obj
def collect_command(state: State, campaign: str | None, path: Path | None, fmt: str) -> int:
    """Ask every channel, once, for the reach of what it published, and append it to the
    ledger (the daemon does this on each channel's `collect_minutes`). A channel that
    fails is reported; the others are still asked."""
    from kmcomms.campaign.fields import close_match
    from kmcomms.publish.runtime import open_runtime
    from kmcomms.reach.collect import collect

    runtime = open_runtime(path, clock=state.clock)
    try:
        known = [c.campaign.id for c in runtime.loaded.campaigns]
        if campaign is not None and campaign not in known:
            raise UsageError(
                f'--campaign "{campaign}" is not a campaign of this workspace{close_match(campaign, known)}'
            )
        report = collect(runtime.engine, runtime.channels, state.clock(), campaign)
    finally:
        runtime.close()
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for result in report.channels:
            line = f"{result.channel}: {result.asked} asked, {result.samples} samples"
            if result.stopped:
                wait = f" (it asks to wait {result.retry_after:g} s)" if result.retry_after is not None else ""
                line += f"; stopped early{wait}, the rest are asked next round"
            click.echo(line)
            for delivery, error in result.errors:
                click.echo(f"  {delivery or result.channel}: {error}", err=True)
        if not report.channels:
            click.echo("nothing published yet: no reach to collect")
    return 1 if report.failed else 0
