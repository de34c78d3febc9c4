"""The daemon: APScheduler as the clock, the ledger as the truth.

`Daemon.run()` starts a scheduler (`kmcomms.daemon.jobs`) whose sweep, every `sweep`
seconds and first at once (catch-up after downtime), and wake-ups, at due times and lease
ends within `horizon`, run the same `tick`; besides, a reach-collection job per channel and
the unit report when `[report]` asks for it.

A tick reloads the workspace when a file that makes the campaigns changed or a SIGHUP
asked for it (`kmcomms.daemon.watch`); syncs the ledger after a (re)load (and updates
publications edited since, where the channel can); runs one dispatcher pass; tells the
comms officer about deliveries that need a person; and re-arms the wake-ups. Running it
twice at once is harmless (the ledger's claims decide), but ticks take a lock so a reload
never swaps the campaigns under a running pass. What it logs about deliveries, loads and
the report: `kmcomms.daemon.events`.

Stopping (SIGTERM, SIGINT): the dispatcher finishes the publication in flight and gives
the rest of its claims back; the scheduler shuts down waiting for the running tick; the
process exits 0. A daemon killed instead leaves its claims `sending`: a daemon (or
`publish --due`) started again on the same host takes them back at its first pass, as the
process that held them has ended; one on another host when their lease runs out
(`kmcomms.publish.dispatch.LEASE`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.triggers.interval import IntervalTrigger

from kmcomms.campaign.workspace import load_workspace, require_workspace, secrets_of
from kmcomms.channels.base import Channel
from kmcomms.daemon import events
from kmcomms.daemon.jobs import arm_wake_ups, new_scheduler, schedule_collection, schedule_report
from kmcomms.daemon.watch import Fingerprint, fingerprint, listen_for_signals
from kmcomms.errors import KmcommsError, display_path
from kmcomms.ledger.store import parsed_safe
from kmcomms.ledger.tables import LedgerRow
from kmcomms.logs import Redactor, event
from kmcomms.publish.notify import Notifier
from kmcomms.publish.runtime import Runtime, open_runtime
from kmcomms.publish.workers import worker_name
from kmcomms.reach.collect import collect_channel, collect_interval
from kmcomms.reach.tracking import TrackingServer, start_for
from kmcomms.report import schedule

__all__ = ["HORIZON", "SWEEP", "Daemon"]

log = logging.getLogger("kmcomms.daemon")

SWEEP = 30.0
HORIZON = timedelta(hours=2)


class Daemon:
    """Publishes the workspace at `root` on time until stopped."""

    def __init__(
        self,
        root: Path,
        *,
        sweep: float = SWEEP,
        horizon: timedelta = HORIZON,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        redactor: Redactor | None = None,
        registry: Mapping[str, type[Channel]] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.root = require_workspace(root)
        self.sweep = sweep
        self.horizon = horizon
        self.clock = clock
        self.redactor = redactor or Redactor()
        self.registry = registry
        self._own_session = session is None
        self.session = session or requests.Session()
        self.runtime: Runtime | None = None
        self.tracking: TrackingServer | None = None
        self.notifier: Notifier | None = None
        self.fingerprint: Fingerprint | None = None
        self.synced = False
        self.reload_asked = False
        self.stopping = False
        self.passes = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.scheduler = new_scheduler()
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)

    # ------------------------------------------------------------------ lifecycle

    def run(self, install_signals: bool = True) -> int:
        """Load, then run until stopped; returns the exit code (0). A workspace that cannot
        be loaded at all raises `KmcommsError` before anything starts."""
        if install_signals:  # first: a SIGHUP or SIGTERM while loading must not kill the process
            listen_for_signals(self.request_reload, self.stop, lambda: self.stopping)
        try:
            self.fingerprint = fingerprint(self.root)
            self._load("start")
            assert self.runtime is not None
            self.tracking = start_for(self.runtime, self.clock)
            self.scheduler.add_job(
                self.tick,
                IntervalTrigger(seconds=self.sweep, timezone=UTC),
                args=["sweep"],
                id="sweep",
                next_run_time=datetime.now(UTC),
                replace_existing=True,
            )
            settings = self.runtime.workspace.settings
            event(
                log,
                "started",
                f"kmcomms daemon for {display_path(self.root)}: sweep every {self.sweep:g} s, "
                f"wake-ups {self.horizon} ahead",
                workspace=str(self.root),
                store=parsed_safe(settings.store.url),
                worker=worker_name(),
                sweep=self.sweep,
                pid=os.getpid(),
            )
            if not self.stopping:
                self.scheduler.start()
                # start() returns as soon as the scheduler is marked stopped; the tick in
                # flight is still finishing: wait for shutdown(wait=True) to come back.
                self._stopped.wait()
        finally:
            if self.tracking is not None:
                self.tracking.shutdown()
            if self.runtime is not None:
                self.runtime.close()
            if self._own_session:
                self.session.close()
        event(log, "stopped", "kmcomms daemon stopped", passes=self.passes)
        return 0

    def stop(self, why: str = "asked") -> None:
        """Stop: finish the publication in flight, give back the rest, wait for the tick.
        Safe from any thread, before or while the scheduler runs."""
        if self.stopping:
            return
        self.stopping = True
        runtime = self.runtime
        if runtime is not None:
            runtime.dispatcher.stopping = True
        event(log, "stopping", f"stopping ({why}): finishing the publication in flight", why=why)
        # The pass in flight ends first: it re-arms its wake-ups through the scheduler,
        # which `shutdown` keeps locked while it waits for running jobs. (Passes after it
        # return at once: `stopping` is set.)
        with self._lock:
            pass
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self.scheduler.shutdown(wait=True)
        except SchedulerNotRunningError:
            return  # not started yet: `_on_started` comes back here once it has
        self._stopped.set()

    def _on_started(self, _event: SchedulerEvent) -> None:
        if self.stopping:  # a stop came while the scheduler was starting
            threading.Thread(target=self._shutdown, name="kmcomms-stop").start()

    def request_reload(self) -> None:
        """Reload the workspace at once (SIGHUP), even if no file seems changed."""
        self.reload_asked = True
        event(log, "reload-asked", "reload asked (SIGHUP)")
        if not self.stopping:
            self.scheduler.add_job(
                self.tick, args=["SIGHUP"], id="reload", replace_existing=True, misfire_grace_time=None
            )

    # ------------------------------------------------------------------ one pass

    def tick(self, why: str = "sweep") -> None:
        """One pass: reload if needed, sync after a load, publish what is due, notify,
        re-arm the wake-ups. Never raises: a failed pass is logged and the next one tries again."""
        with self._lock:
            if self.stopping:
                return
            try:
                self._pass(why)
            except Exception as exc:  # noqa: BLE001 - the daemon outlives any one pass
                events.failed("pass-failed", "the pass failed", exc, why=why)

    def _pass(self, why: str) -> None:
        now = self.clock()
        self._maybe_reload()
        runtime = self.runtime
        assert runtime is not None
        if not self.synced:
            synced = runtime.dispatcher.sync(now)
            self.synced = True
            if synced.added or synced.cancelled or synced.restored:
                event(
                    log,
                    "synced",
                    f"ledger synced: {synced.added} new, {synced.cancelled} cancelled, {synced.restored} restored",
                    added=synced.added,
                    cancelled=synced.cancelled,
                    restored=synced.restored,
                )
            self._refresh(runtime, now)
        report = runtime.dispatcher.publish_due(now)
        self.passes += 1
        if report.outcomes:
            # A field per outcome (published=3, failed=1), beside `why`.
            fields: dict[str, Any] = {"why": why, **report.outcomes}
            event(log, "pass", f"pass ({why}): {report}", **fields)
        if self.notifier is not None and not self.stopping:  # a stopping daemon leaves notices to the next start
            self.notifier.run(runtime.engine, self.clock())
        if not self.stopping:
            self._arm(now)
            # Rendered a sweep or more before they fall due, so a wake-up only publishes.
            runtime.dispatcher.prepare(now + timedelta(seconds=2 * self.sweep))

    def _refresh(self, runtime: Runtime, now: datetime) -> None:
        """After a (re)load: publications whose content was edited since are updated where
        the channel can, and named for a person where it cannot."""
        try:
            changed = runtime.dispatcher.refresh(now)
        except Exception as exc:  # noqa: BLE001 - publishing what is due matters more
            events.failed("refresh-failed", "cannot check publications for edits", exc)
            return
        events.refreshed(changed)

    def _arm(self, now: datetime) -> None:
        """Wake-ups at the next due (and retry) times and lease ends within the horizon;
        stale ones removed."""
        assert self.runtime is not None
        arm_wake_ups(self.scheduler, self.runtime.engine, self.tick, now, self.horizon)

    # ------------------------------------------------------------------ loading

    def _maybe_reload(self) -> None:
        current = fingerprint(self.root)
        if not self.reload_asked and current == self.fingerprint:
            return
        why = "SIGHUP" if self.reload_asked else "files changed"
        self.reload_asked = False
        self.fingerprint = current  # a broken file is reported once, not every pass
        try:
            self._load(why)
        except KmcommsError as exc:
            event(
                log,
                "reload-failed",
                f"cannot reload ({why}), still running the campaigns loaded before: {exc}",
                level=logging.ERROR,
                why=why,
            )

    def _load(self, why: str) -> None:
        """Open the workspace afresh (keeping the store's engine when its URL is the same)
        and make it the current one. Raises `KmcommsError` when it cannot be opened."""
        settings = load_workspace(self.root).settings
        self.redactor.add(secrets_of(settings))  # before anything that could quote them is logged
        old = self.runtime
        same_store = old is not None and old.workspace.settings.store.url == settings.store.url
        runtime = open_runtime(
            self.root,
            clock=self.clock,
            registry=self.registry,
            engine=old.engine if same_store and old is not None else None,
        )
        self.redactor.add(secrets_of(runtime.workspace.settings))
        notifier = None
        try:
            notifier = Notifier.from_settings(
                runtime.workspace.settings.notify, runtime.workspace.settings.unit.name, self.session
            )
        except KmcommsError as exc:
            event(log, "notify-disabled", f"notifications are off: {exc}", level=logging.ERROR)
        if notifier is not None and self.notifier is not None:
            notifier.retry_at = self.notifier.retry_at  # a reload does not hurry a failing target
        self.runtime, self.notifier, self.synced = runtime, notifier, False
        runtime.dispatcher.stopping = self.stopping
        runtime.dispatcher.on_outcome = self._on_outcome
        if old is not None and old.engine is not runtime.engine:
            old.close()
        events.load_problems(runtime)
        schedule_collection(self.scheduler, runtime.channels, self._collect)
        schedule_report(self.scheduler, runtime.workspace.settings.report, self._report, self.clock())
        loaded = runtime.loaded
        count = len(loaded.campaigns)
        event(
            log,
            "loaded",
            f"loaded {count} campaign{'' if count == 1 else 's'} ({why})",
            why=why,
            campaigns=[c.campaign.id for c in loaded.campaigns],
            channels=sorted(runtime.channels),
            notify=notifier.targets if notifier else [],
        )

    def _report(self) -> None:
        """Build and deliver the unit report (the `report:unit` job). Never raises: a
        failure is logged as `report-failed` and the next scheduled time tries again."""
        runtime = self.runtime
        if runtime is None or self.stopping or runtime.workspace.settings.report is None:
            return
        now = self.clock()
        try:
            done = schedule.deliver(runtime.workspace, runtime.loaded.campaigns, runtime.engine, now)
        except Exception as exc:  # noqa: BLE001 - the daemon outlives any one report
            events.failed("report-failed", "cannot deliver the unit report", exc)
            return
        events.report_sent(done)

    def _collect(self, name: str) -> None:
        """Ask one channel for the reach of its publications (the daemon's collection job)."""
        runtime = self.runtime
        channel = runtime.channels.get(name) if runtime is not None else None
        if runtime is None or channel is None or self.stopping:
            return
        result = collect_channel(runtime.engine, channel, self.clock())
        event(log, "collected", f"reach of {name}: {result.as_dict()}", level=logging.DEBUG, channel=name)
        if result.retry_after and result.retry_after > collect_interval(channel).total_seconds():
            self.scheduler.modify_job(
                f"collect:{name}", next_run_time=self.clock() + timedelta(seconds=result.retry_after)
            )

    # ------------------------------------------------------------------ events

    def _on_outcome(self, row: LedgerRow, outcome: str) -> None:
        events.outcome(row, outcome, self.runtime.engine if self.runtime is not None else None)
