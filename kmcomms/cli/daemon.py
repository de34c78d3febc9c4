"""`kmcomms daemon`: publish every delivery on time until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kmcomms.cli.options import State, log_format_option, workspace_option
from kmcomms.errors import KmcommsError, UsageError
from kmcomms.logs import event, setup, teardown


@click.command()
@workspace_option
@click.option(
    "--sweep",
    type=click.FloatRange(min=0.2),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to look at the ledger whatever happens (catch-up, retries, file changes).",
)
@log_format_option
@click.option("-v", "--verbose", is_flag=True, help="Also log debug events (wake-ups armed, blocked deliveries).")
@click.pass_obj
def daemon(state: State, path: Path | None, sweep: float, log_format: str, verbose: bool) -> int:
    """Publish every due delivery once, on time, until stopped.

    Wakes at each due time (and every --sweep seconds, and at once on start to catch up),
    syncs the ledger when a campaign, translation, template or kmcomms.toml changes (or on
    SIGHUP), and tells [notify] about deliveries that end failed, unknown or missed.
    SIGTERM or Ctrl-C stops it gracefully: the publication in flight is finished, exit 0.
    Logs are one line per event on stderr, with secrets masked. Several daemons may share
    one PostgreSQL store: each delivery is still published once.
    """
    if state.now is not None:
        raise UsageError("the daemon runs on real time: --now is for one-shot commands such as `publish --due`")
    from kmcomms.daemon.service import Daemon  # APScheduler only where it is used

    redactor = setup(log_format, level=logging.DEBUG if verbose else logging.INFO)
    log = logging.getLogger("kmcomms.daemon")
    try:
        return Daemon(path or Path.cwd(), sweep=sweep, clock=state.clock, redactor=redactor).run()
    except KmcommsError as exc:
        # The error boundary prints it too: mask secrets there as well.
        exc.args = tuple(redactor.redact(a) if isinstance(a, str) else a for a in exc.args)
        event(log, "fatal", f"cannot start: {exc}", level=logging.ERROR)
        raise
    finally:
        teardown()
