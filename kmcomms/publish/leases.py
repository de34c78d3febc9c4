"""Keeping a pass's claims. While a pass publishes, a heartbeat renews the worker's leases
HEARTBEATS times a lease (`heartbeat`), so a publish longer than a lease is not taken for a
stopped worker's; between passes the worker holds no lease. A worker whose leases went a
whole lease unrenewed (paused, or cut off from the store) publishes nothing more in that
pass (`lapsed`): another worker may have taken them over."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import Engine

from kmcomms.ledger.claims import renew
from kmcomms.logs import event

__all__ = ["HEARTBEATS", "heartbeat", "lapsed"]

log = logging.getLogger("kmcomms.dispatch")

#: Heartbeats per lease: several in a row may fail (a database restarting) before a live
#: worker's lease runs out.
HEARTBEATS = 4


@contextlib.contextmanager
def heartbeat(
    engine: Engine,
    worker: str,
    lease: timedelta,
    clock: Callable[[], datetime],
    renewed: Callable[[datetime], None],
) -> Iterator[None]:
    """Renew `worker`'s leases to `lease` from now, HEARTBEATS times a lease, until the
    block ends; `renewed` is told each new expiry. A renewal that fails is logged and
    tried again at the next beat."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(lease.total_seconds() / HEARTBEATS):
            until = clock() + lease
            try:
                renew(engine, worker, until)
            except Exception:
                log.warning("could not renew the leases of %s", worker, exc_info=True)
                continue
            renewed(until)

    keeper = threading.Thread(target=keep, name="kmcomms-leases", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


def lapsed(worker: str, held_until: datetime, now: datetime) -> bool:
    """Whether `worker`'s leases, held until `held_until`, ran out by `now` before they
    could be renewed (logged as `leases-lapsed`): publishing on could make a second copy."""
    if now < held_until:
        return False
    event(
        log,
        "leases-lapsed",
        f"the leases of {worker} ran out before they could be renewed: the rest of this pass is left to the next one",
        level=logging.WARNING,
        worker=worker,
    )
    return True
