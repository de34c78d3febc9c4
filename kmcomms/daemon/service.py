"""The daemon: APScheduler as the clock, the ledger as the truth.

`Daemon.run()` starts a `BlockingScheduler` (UTC, in-memory job store, no delivery in any
job) with two kinds of job, both running the same `tick`:

- the sweep, every `sweep` seconds, first at once (catch-up after downtime);
- wake-ups: a date job at each distinct due time (or retry time) in the next `horizon`,
  and at the end of each lease another worker holds, read from the ledger and re-armed
  after every pass, so a delivery goes out on time (and one a stopped worker on another
  host left is taken over as its lease ends) instead of up to one sweep late.
  `misfire_grace_time=None`: a late wake-up still runs.

Besides: a reach-collection job per channel (`collect:NAME`), and with a `[report]` section
the unit report (`report:unit`, kmcomms.report.schedule) at the times it names in its zone.

A tick reloads the workspace when a file under campaigns/, translations/ or templates/,
or kmcomms.toml, changed (a fingerprint of paths, sizes and modification times) or a
SIGHUP asked for it; syncs the ledger after a (re)load (and updates publications edited
since, where the channel can); runs one dispatcher pass; tells the comms officer about
deliveries that need a person; and re-arms the wake-ups. Running it twice at once is
harmless (the ledger's claims decide), but ticks take a lock so a reload never swaps the
campaigns under a running pass.

Stopping (SIGTERM, SIGINT): the dispatcher finishes the publication in flight and gives
the rest of its claims back; the scheduler shuts down waiting for the running tick; the
process exits 0. Signals are read by a small thread through `signal.set_wakeup_fd`, so
nothing runs inside a signal handler. A daemon killed instead leaves its claims `sending`:
a daemon (or `publish --due`) started again on the same host takes them back at its first
pass, as the process that held them has ended; one on another host when their lease runs
out (`kmcomms.publish.dispatch.LEASE`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import and_, or_, select

from kmcomms.campaign.workspace import SETTINGS_FILE, load_workspace, require_workspace, secrets_of
from kmcomms.channels.base import Channel
from kmcomms.errors import KmcommsError, Severity, display_path
from kmcomms.ledger.ledger import State
from kmcomms.ledger.store import parsed_safe
from kmcomms.ledger.tables import LedgerRow, deliveries
from kmcomms.logs import Redactor, event
from kmcomms.publish.notify import Notifier
from kmcomms.publish.runtime import Runtime, open_runtime
from kmcomms.publish.workers import worker_name
from kmcomms.reach.collect import collect_channel, collect_interval
from kmcomms.reach.tracking import TrackingServer, start_for
from kmcomms.report import schedule

__all__ = ["HORIZON", "SWEEP", "Daemon", "fingerprint"]

log = logging.getLogger("kmcomms.daemon")

SWEEP = 30.0
HORIZON = timedelta(hours=2)
#: At most this many wake-up jobs are armed at once (the sweep covers the rest).
MAX_WAKES = 200
#: Folders whose files change what goes out.
WATCHED = ("campaigns", "translations", "templates")

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(root: Path) -> Fingerprint:
    """A cheap summary of the files that make the campaigns: each path with its size,
    modification time and inode (an editor that saves by renaming changes the inode)."""
    found = []

    def add(path: str) -> None:
        try:
            info = os.stat(path)
        except OSError:
            return
        found.append((os.path.relpath(path, root), info.st_size, info.st_mtime_ns, info.st_ino))

    add(str(root / SETTINGS_FILE))
    for name in WATCHED:
        for folder, dirs, files in os.walk(root / name):
            dirs.sort()
            add(folder)  # a removed file changes its folder's mtime
            for file in sorted(files):
                add(os.path.join(folder, file))
    return tuple(found)


def _ceil_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


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
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)

    # ------------------------------------------------------------------ lifecycle

    def run(self, install_signals: bool = True) -> int:
        """Load, then run until stopped; returns the exit code (0). A workspace that cannot
        be loaded at all raises `KmcommsError` before anything starts."""
        if install_signals:  # first: a SIGHUP or SIGTERM while loading must not kill the process
            self._install_signals()
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

    def _install_signals(self) -> None:
        read, write = os.pipe()
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda *_: None)  # the wakeup fd carries it to `_watch`
        threading.Thread(target=self._watch, args=(read,), name="kmcomms-signals", daemon=True).start()

    def _watch(self, fd: int) -> None:
        while True:
            for signum in os.read(fd, 64):
                if signum == signal.SIGHUP:
                    self.request_reload()
                elif signum in (signal.SIGTERM, signal.SIGINT):
                    if self.stopping:  # asked twice: a person wants out now
                        event(
                            log,
                            "killed",
                            "stopped at once (second signal): a delivery in flight stays `sending` "
                            "until kmcomms starts again on this host, or its lease runs out",
                            level=logging.WARNING,
                        )
                        os._exit(1)
                    threading.Thread(target=self.stop, args=[signal.Signals(signum).name], name="kmcomms-stop").start()

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
                event(
                    log,
                    "pass-failed",
                    f"the pass failed: {type(exc).__name__}: {exc}",
                    level=logging.ERROR,
                    exc_info=True,
                    why=why,
                )

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
            event(
                log,
                "refresh-failed",
                f"cannot check publications for edits: {type(exc).__name__}: {exc}",
                level=logging.ERROR,
                exc_info=True,
            )
            return
        for delivery in changed["updated"]:
            event(log, "updated", f"updated {delivery}: its content was edited after publication", delivery=delivery)
        for delivery in changed["edited"]:
            event(
                log,
                "edited-after-publication",
                f"{delivery} was edited after publication and its channel cannot "
                "update it: check the published version",
                level=logging.WARNING,
                delivery=delivery,
            )

    def _arm(self, now: datetime) -> None:
        """Date jobs at the next due (and retry) times and lease ends within the horizon;
        stale ones removed."""
        assert self.runtime is not None
        end = now + self.horizon
        with self.runtime.engine.connect() as db:
            rows = db.execute(
                select(deliveries.c.due_at, deliveries.c.not_before).where(
                    deliveries.c.state.in_((State.PLANNED, State.RETRYING)),
                    or_(
                        and_(deliveries.c.due_at > now, deliveries.c.due_at <= end),
                        and_(deliveries.c.not_before > now, deliveries.c.not_before <= end),
                    ),
                )
            ).all()
            # A lease renewed since is looked at again for nothing; one that ran out is settled.
            ends = (
                db.execute(
                    select(deliveries.c.lease_until)
                    .distinct()
                    .where(
                        deliveries.c.state == State.SENDING,
                        deliveries.c.lease_until > now,
                        deliveries.c.lease_until <= end,
                    )
                )
                .scalars()
                .all()
            )
        times = sorted(
            {_ceil_second(max(r.due_at, r.not_before or r.due_at)) for r in rows}
            | {_ceil_second(moment) for moment in ends}
        )
        wanted = {f"wake:{t:%Y%m%dT%H%M%SZ}": t for t in times if now < t <= end + timedelta(seconds=1)}
        wanted = dict(list(wanted.items())[:MAX_WAKES])
        for job in self.scheduler.get_jobs():
            if job.id.startswith("wake:") and job.id not in wanted:
                job.remove()
        for job_id, moment in wanted.items():
            self.scheduler.add_job(
                self.tick,
                DateTrigger(moment, timezone=UTC),
                args=["wake-up"],
                id=job_id,
                misfire_grace_time=None,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )
        if wanted:
            first = next(iter(wanted.values()))
            event(
                log,
                "armed",
                f"next wake-up at {first:%Y-%m-%d %H:%M:%S} UTC ({len(wanted)} armed)",
                level=logging.DEBUG,
                next=first.isoformat(),
                armed=len(wanted),
            )

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
        loaded = runtime.loaded
        for diagnostic in loaded.diagnostics:
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
        self._schedule_collection(runtime)
        self._schedule_report(runtime)
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

    def _schedule_collection(self, runtime: Runtime) -> None:
        """A reach-collection job per channel instance on its own interval; jobs of channels
        no longer defined are removed."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith("collect:") and job.id.removeprefix("collect:") not in runtime.channels:
                job.remove()
        for name, channel in runtime.channels.items():
            self.scheduler.add_job(
                self._collect,
                IntervalTrigger(seconds=collect_interval(channel).total_seconds(), timezone=UTC),
                args=[name],
                id=f"collect:{name}",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
            )

    def _schedule_report(self, runtime: Runtime) -> None:
        """The unit report's job (`report:unit`) as `[report]` says, replaced on every
        (re)load; removed when the section goes. Its first run is computed from the
        daemon's clock."""
        settings = runtime.workspace.settings.report
        for job in self.scheduler.get_jobs():  # before the start, replaced jobs are all still pending
            if job.id == schedule.JOB_ID:
                job.remove()
        if settings is None:
            return
        trigger = schedule.trigger(settings)
        first = trigger.get_next_fire_time(None, self.clock())
        self.scheduler.add_job(
            self._report,
            trigger,
            id=schedule.JOB_ID,
            replace_existing=True,
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        if first is not None:
            event(
                log,
                "report-scheduled",
                f"unit report {settings.every} ({settings.timezone}): next at "
                f"{first.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
                level=logging.DEBUG,
                every=settings.every,
                timezone=settings.timezone,
                next=first.astimezone(UTC).isoformat(),
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
            event(
                log,
                "report-failed",
                f"cannot deliver the unit report: {type(exc).__name__}: {exc}",
                level=logging.ERROR,
                exc_info=True,
            )
            return
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
        fields: dict[str, Any] = {
            "delivery": row.id,
            "campaign": row.campaign,
            "message": row.message,
            "audiences": row.audiences.split(),
            "language": row.language,
            "channel": row.channel,
            "due": row.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "outcome": outcome,
        }
        if outcome == "published":
            event(log, "published", f"published {row.id} ({row.campaign}/{row.message} → {row.channel})", **fields)
            return
        level = {"blocked": logging.DEBUG, "retrying": logging.WARNING}.get(outcome, logging.ERROR)
        if not log.isEnabledFor(level):
            return
        reason = None
        if self.runtime is not None:
            with self.runtime.engine.connect() as db:
                reason = db.execute(select(deliveries.c.reason).where(deliveries.c.id == row.id)).scalar()
        event(
            log,
            outcome,
            f"{outcome} {row.id} ({row.campaign}/{row.message} → {row.channel}): {reason or ''}",
            level=level,
            reason=reason,
            **fields,
        )

    def _on_job_event(self, ev: JobExecutionEvent) -> None:
        if ev.code == EVENT_JOB_MAX_INSTANCES:
            event(log, "skipped", f"{ev.job_id}: the previous run is still going", level=logging.DEBUG, job=ev.job_id)
        elif ev.code == EVENT_JOB_MISSED:
            event(
                log,
                "job-missed",
                f"{ev.job_id} ran too late and was skipped; the next sweep covers it",
                level=logging.WARNING,
                job=ev.job_id,
            )
        else:
            event(log, "job-error", f"{ev.job_id} failed: {ev.exception!r}", level=logging.ERROR, job=ev.job_id)
