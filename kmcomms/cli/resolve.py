"""`kmcomms resolve ID`: a person settles a delivery that will not go out by itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import click

from kmcomms.cli.options import State, workspace_option
from kmcomms.errors import KmcommsError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

T = TypeVar("T")

_URL_BREAKERS = re.compile(r"[\s\"<>`{}|\\^\x00-\x1f\x7f]")


def open_ledger(path: Path | None) -> Engine:
    """The workspace's ledger, without loading campaigns or channels (a person can resolve
    deliveries even while a campaign has errors or an adapter is missing)."""
    from kmcomms.campaign.workspace import load_workspace, require_workspace
    from kmcomms.ledger.store import open_store

    workspace = load_workspace(require_workspace(path))
    return open_store(workspace.settings.store.url, workspace.root)


def with_ledger(path: Path | None, work: Callable[[Engine], T]) -> T:
    """What `work` makes of the workspace's ledger (opened as `open_ledger` does, closed after)."""
    engine = open_ledger(path)
    try:
        return work(engine)
    finally:
        engine.dispose()


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if _URL_BREAKERS.search(url) or parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise UsageError(
            f'--published "{url}" is not an address — give where it was published, e.g. https://example.org/post'
        )
    return url


@click.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--published", "url", metavar="URL", help="It was published (by hand, or the channel has it) at URL.")
@click.option(
    "--retry",
    is_flag=True,
    help="Send it again now: it goes out at the daemon's next pass (or the next "
    "`kmcomms publish --due`), with its attempts counted afresh. For an unknown delivery, first check the "
    "channel does not have it.",
)
@click.option("--cancel", is_flag=True, help="Do not send it. It stays cancelled when campaigns are synced.")
@workspace_option
@click.pass_obj
def resolve(state: State, delivery_id: str, url: str | None, retry: bool, cancel: bool, path: Path | None) -> None:
    """Settle a delivery that needs a person (unknown, failed, missed) or is blocked:
    record that it was published at URL, send it again now, or cancel it. `kmcomms
    status` lists them with their ids."""
    from kmcomms.ledger.ledger import State as DeliveryState
    from kmcomms.ledger.notifications import forget
    from kmcomms.ledger.resolve import resolve as settle

    if sum((url is not None, retry, cancel)) != 1:
        raise UsageError("say what happened to it: one of --published URL, --retry, --cancel")
    if url is not None:
        _check_url(url)
    engine = open_ledger(path)
    try:
        if url is not None:
            to, done = DeliveryState.PUBLISHED, f"published at {url}"
        elif retry:
            to, done = (
                DeliveryState.PLANNED,
                ("planned again, due now: it goes out at the daemon's next pass (or `kmcomms publish --due`)"),
            )
        else:
            to, done = DeliveryState.CANCELLED, "cancelled"
        changed, found = settle(engine, delivery_id, to, state.clock(), url)
        if not changed:
            if found is None:
                raise KmcommsError(f'no delivery "{delivery_id}" in the ledger — `kmcomms status` lists the ids')
            raise KmcommsError(
                f"delivery {delivery_id} is {found}: only unknown, failed, missed or blocked deliveries "
                "can be resolved — see `kmcomms status`"
            )
        if retry:
            forget(engine, delivery_id)  # a new failure of it is told again
        click.echo(f"{delivery_id}: {done}")
    finally:
        engine.dispose()
