"""`kmcomms publish --due`: one dispatch pass, then exit (for cron, or by hand)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from kmcomms.cli.options import State, format_option, workspace_option
from kmcomms.errors import UsageError


@click.command()
@click.option("--due", is_flag=True, help="Publish every delivery that is due now.")
@click.option("--dry-run", is_flag=True, help="Show what is due and how it renders; change nothing.")
@workspace_option
@format_option("text", "json")
@click.pass_obj
def publish(state: State, due: bool, dry_run: bool, path: Path | None, fmt: str) -> int:
    """Sync the ledger with the campaigns, then publish every due delivery once through
    its channel and exit: the daemon's work in one pass, for cron. Exit 1 when a delivery
    failed or needs a person."""
    from kmcomms.ledger.ledger import counts
    from kmcomms.publish.runtime import open_runtime
    from kmcomms.publish.status import due_now

    if not due:
        raise UsageError("say what to publish: --due")
    runtime = open_runtime(path, clock=state.clock)
    try:
        now = state.clock()
        if dry_run:
            rows = due_now(runtime, now)
            if fmt == "json":
                click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            for row in rows if fmt == "text" else []:
                click.echo(
                    f"{row['due']}  {row['id']}  {row['campaign']}/{row['message']} → {', '.join(row['audiences'])}, "
                    f"{row['language']}, {row['channel']}: {row['would']}"
                )
            if fmt == "text":
                click.echo(f"{len(rows)} due; nothing was changed (--dry-run)", err=True)
            return 0
        synced = runtime.dispatcher.sync(now)
        changed = runtime.dispatcher.refresh(now)
        report = runtime.dispatcher.publish_due(now)
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        "sync": dataclasses.asdict(synced),
                        "edited_after_publication": changed,
                        "outcomes": dict(report.outcomes),
                    },
                    indent=2,
                )
            )
        else:
            click.echo(
                f"synced: {synced.added} new, {synced.cancelled} cancelled, {synced.restored} restored; {report}"
            )
            for delivery in changed["edited"]:
                click.echo(
                    f"{delivery}: edited after publication and its channel cannot update it — check it", err=True
                )
            if changed["updated"]:
                click.echo(f"updated {len(changed['updated'])} publications edited since", err=True)
        # Unknowns found and settled in this same pass need nobody: only what is left counts.
        left = counts(runtime.engine)["unknown"]
        return 1 if left or report.outcomes.keys() & {"failed", "lease-lost"} else 0
    finally:
        runtime.close()
