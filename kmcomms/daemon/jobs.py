"""The daemon's jobs on its scheduler (APScheduler's `BlockingScheduler`: UTC, an in-memory
job store, no delivery in any job; `misfire_grace_time=None`, so a late job still runs):

- wake-ups (`arm_wake_ups`): a date job at each distinct due time (or retry time) in the
  next `horizon`, and at the end of each lease another worker holds, read from the ledger
  and re-armed after every pass, so a delivery goes out on time (and one a stopped worker
  on another host left is taken over as its lease ends) instead of up to one sweep late;
- a reach-collection job per channel (`collect:NAME`, `schedule_collection`);
- with a `[report]` section, the unit report (`report:unit`, kmcomms.report.schedule) at the
  times it names in its zone (`schedule_report`).

The sweep (every `sweep` seconds, first at once) and what each job runs are the daemon's
(`kmcomms.daemon.service`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, and_, or_, select

from kmcomms.campaign.report_settings import ScheduledReport
from kmcomms.channels.base import Channel
from kmcomms.ledger.ledger import State
from kmcomms.ledger.tables import deliveries
from kmcomms.logs import event
from kmcomms.reach.collect import collect_interval
from kmcomms.report import schedule

__all__ = [
    "MAX_WAKES",
    "arm_wake_ups",
    "new_scheduler",
    "schedule_collection",
    "schedule_report",
]

log = logging.getLogger("kmcomms.daemon")

#: At most this many wake-up jobs are armed at once (the sweep covers the rest).
MAX_WAKES = 200


def new_scheduler() -> BlockingScheduler:
    """The daemon's scheduler, its job errors, misses and skips logged."""
    scheduler = BlockingScheduler(
        timezone=UTC,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_listener(_on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _on_job_event(ev: JobExecutionEvent) -> None:
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


def _ceil_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def _wake_times(engine: Engine, now: datetime, end: datetime) -> list[datetime]:
    """The due (and retry) times of open deliveries and the lease ends of sending ones
    after `now` and by `end`, each rounded up to the second, earliest first."""
    with engine.connect() as db:
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
    return sorted(
        {_ceil_second(max(r.due_at, r.not_before or r.due_at)) for r in rows}
        | {_ceil_second(moment) for moment in ends}
    )


def arm_wake_ups(
    scheduler: BlockingScheduler, engine: Engine, tick: Callable[[str], None], now: datetime, horizon: timedelta
) -> None:
    """Date jobs running `tick("wake-up")` at the next due (and retry) times and lease ends
    within `horizon` of `now`; stale ones removed."""
    end = now + horizon
    times = _wake_times(engine, now, end)
    wanted = {f"wake:{t:%Y%m%dT%H%M%SZ}": t for t in times if now < t <= end + timedelta(seconds=1)}
    wanted = dict(list(wanted.items())[:MAX_WAKES])
    for job in scheduler.get_jobs():
        if job.id.startswith("wake:") and job.id not in wanted:
            job.remove()
    for job_id, moment in wanted.items():
        scheduler.add_job(
            tick,
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


def schedule_collection(
    scheduler: BlockingScheduler, channels: Mapping[str, Channel], collect: Callable[[str], None]
) -> None:
    """A job `collect(NAME)` per channel instance on its own interval; jobs of channels no
    longer defined are removed."""
    for job in scheduler.get_jobs():
        if job.id.startswith("collect:") and job.id.removeprefix("collect:") not in channels:
            job.remove()
    for name, channel in channels.items():
        scheduler.add_job(
            collect,
            IntervalTrigger(seconds=collect_interval(channel).total_seconds(), timezone=UTC),
            args=[name],
            id=f"collect:{name}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )


def schedule_report(
    scheduler: BlockingScheduler, settings: ScheduledReport | None, report: Callable[[], None], now: datetime
) -> None:
    """The unit report's job (`report:unit`, running `report`) as `[report]` (`settings`)
    says, replaced on every (re)load; removed when the section goes. Its first run is the
    first time it names after `now`."""
    for job in scheduler.get_jobs():  # before the start, replaced jobs are all still pending
        if job.id == schedule.JOB_ID:
            job.remove()
    if settings is None:
        return
    trigger = schedule.trigger(settings)
    first = trigger.get_next_fire_time(None, now)
    scheduler.add_job(
        report,
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
            f"unit report {settings.every} ({settings.timezone}): next at {first.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            level=logging.DEBUG,
            every=settings.every,
            timezone=settings.timezone,
            next=first.astimezone(UTC).isoformat(),
        )
