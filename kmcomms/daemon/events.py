"""What the daemon tells its log about the work it runs, beyond its own comings and goings:
each delivery's outcome (`outcome`), what a (re)load could not take (`load_problems`),
publications edited after they went out (`refreshed`), the unit report sent
(`report_sent`), and work that failed and is tried again later (`failed`). Each is a line for a person with structured fields (`kmcomms.logs.event`),
under the `kmcomms.daemon` logger."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, select

from kmcomms.errors import Severity, display_path
from kmcomms.ledger.tables import LedgerRow, deliveries
from kmcomms.logs import event
from kmcomms.publish.runtime import Runtime
from kmcomms.publish.status import placement
from kmcomms.report.schedule import Delivered

__all__ = ["failed", "load_problems", "outcome", "refreshed", "report_sent"]

log = logging.getLogger("kmcomms.daemon")


def failed(name: str, what: str, exc: Exception, **fields: Any) -> None:
    """Log the event `name`: `what` could not be done, and the error (with its traceback),
    from a job the daemon goes on after."""
    event(log, name, f"{what}: {type(exc).__name__}: {exc}", level=logging.ERROR, exc_info=True, **fields)


def outcome(row: LedgerRow, name: str, engine: Engine | None) -> None:
    """What became of the delivery `row` (`name`: published, failed, …), with its reason
    read from the ledger on `engine` when the line is logged at all."""
    fields: dict[str, Any] = {"delivery": row.id, **placement(row), "outcome": name}
    if name == "published":
        event(log, "published", f"published {row.id} ({row.campaign}/{row.message} → {row.channel})", **fields)
        return
    level = {"blocked": logging.DEBUG, "retrying": logging.WARNING}.get(name, logging.ERROR)
    if not log.isEnabledFor(level):
        return
    reason = None
    if engine is not None:
        with engine.connect() as db:
            reason = db.execute(select(deliveries.c.reason).where(deliveries.c.id == row.id)).scalar()
    event(
        log,
        name,
        f"{name} {row.id} ({row.campaign}/{row.message} → {row.channel}): {reason or ''}",
        level=level,
        reason=reason,
        **fields,
    )


def load_problems(runtime: Runtime) -> None:
    """The errors in the campaigns just loaded, and the campaigns left out for them."""
    for diagnostic in runtime.loaded.diagnostics:
        if diagnostic.severity is Severity.ERROR:
            event(
                log,
                "campaign-error",
                str(diagnostic),
                level=logging.ERROR,
                path=display_path(diagnostic.path),
                line=diagnostic.line,
                code=diagnostic.code,
            )
    if runtime.dispatcher.held:
        event(
            log,
            "campaigns-held",
            f"left out until their errors are fixed: {', '.join(sorted(runtime.dispatcher.held))} "
            "(their deliveries are kept, and blocked when due)",
            level=logging.ERROR,
            campaigns=sorted(runtime.dispatcher.held),
        )


def refreshed(changed: dict[str, list[str]]) -> None:
    """The publications updated after an edit (`changed["updated"]`), and those edited
    whose channel cannot update them (`changed["edited"]`)."""
    for delivery in changed["updated"]:
        event(log, "updated", f"updated {delivery}: its content was edited after publication", delivery=delivery)
    for delivery in changed["edited"]:
        event(
            log,
            "edited-after-publication",
            f"{delivery} was edited after publication and its channel cannot update it: check the published version",
            level=logging.WARNING,
            delivery=delivery,
        )


def report_sent(done: Delivered) -> None:
    """The unit report of `done.period` delivered to its file and addresses."""
    first, last = done.period
    where = [*([display_path(done.path)] if done.path else []), *done.mailed]
    event(
        log,
        "report-sent",
        f"unit report {first} to {last} delivered to {', '.join(where)}",
        period=[first.isoformat(), last.isoformat()],
        path=str(done.path) if done.path else None,
        email=list(done.mailed),
    )
