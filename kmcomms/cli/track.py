"""`kmcomms track`: the tracking server on its own (clicks, opens, one-click unsubscribe),
for a host that serves tracking without publishing. The daemon serves it too."""

from __future__ import annotations

from pathlib import Path

import click

from kmcomms.cli.options import State, log_format_option, workspace_option
from kmcomms.errors import SettingError, UsageError
from kmcomms.logs import setup, teardown


@click.command()
@workspace_option
@click.option("--host", help="Listen on this address (default: the host of [tracking] base_url).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Listen on this port (default: the port of [tracking] base_url; 0: any free one).",
)
@log_format_option
@click.pass_obj
def track(state: State, path: Path | None, host: str | None, port: int | None, log_format: str) -> None:
    """Serve the tracking addresses until stopped (SIGTERM or Ctrl-C).

    Redirects clicks to the links registered for each delivery, answers the open pixel and
    one-click unsubscribes, and counts them as reach (counts only: no IP address or user
    agent is kept). Behind a reverse proxy, give --host 127.0.0.1 and a --port, and proxy
    [tracking] base_url to it.
    """
    from kmcomms.campaign.workspace import SETTINGS_FILE, load_workspace, require_workspace, secrets_of
    from kmcomms.ledger.store import open_store
    from kmcomms.ledger.tracking import tracker_for
    from kmcomms.reach.tracking import listen_address, run_forever, serve

    if state.now is not None:
        raise UsageError(
            "the tracking server runs on real time: --now is for one-shot commands such as `publish --due`"
        )
    root = require_workspace(path)
    settings = load_workspace(root).settings
    if settings.tracking is None:
        raise SettingError(
            f"{root / SETTINGS_FILE}: tracking is not configured — add [tracking] with "
            'base_url = "https://track.example.org" (the public address of this server)'
        )
    redactor = setup(log_format)
    redactor.add(secrets_of(settings))
    engine = open_store(settings.store.url, root)
    try:
        tracker = tracker_for(engine, settings, state.clock())
        assert tracker is not None  # [tracking] is set
        default_host, default_port = listen_address(settings.tracking)
        server = serve(
            engine,
            tracker,
            host or default_host,
            default_port if port is None else port,
            state.clock,
            sender=settings.unit.name,
        )
        click.echo(
            f"kmcomms: tracking server listening on {server.url} (public address {tracker.base_url}); Ctrl-C stops it"
        )
        run_forever(server)
    finally:
        engine.dispose()
        teardown()
