"""The unit report on a schedule: what the daemon's `report:unit` job does.

`[report]` in kmcomms.toml says when (`every`, read in `timezone`, summer time followed
by APScheduler's `CronTrigger`), over how many days (`period_days`, the day of the run the
last), in which format, and where: mailed as an attachment to `email` (through the SMTP
relay of `[report]`, else of `[notify]`, with `kmcomms.channels.mail.Mailer`) and/or written to
`folder` as `unit-YYYY-MM-DD.html` (the format's suffix; atomically: a reader never sees
half a file).

`deliver(...)` builds and delivers one report for the period ending `now`; it is the same
report as `kmcomms report --unit --from FIRST --to LAST` run at that moment. It raises on
the first failure (the daemon logs it as `report-failed`); the file is written before the
mail is tried, so a failing relay still leaves the file.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from kmcomms import __version__
from kmcomms.campaign.load import LoadedCampaign
from kmcomms.campaign.report_settings import ScheduledReport
from kmcomms.campaign.workspace import Notify, Workspace
from kmcomms.channels.letters import subject_header
from kmcomms.channels.mail import Mailer, Server
from kmcomms.files import write_atomic
from kmcomms.report.formats import report_format
from kmcomms.report.gather import gather_unit
from kmcomms.report.model import Report

__all__ = [
    "JOB_ID",
    "Delivered",
    "deliver",
    "file_name",
    "mail",
    "message",
    "period",
    "report_text",
    "trigger",
    "write",
]

#: The daemon's job id for the scheduled unit report.
JOB_ID = "report:unit"


@dataclass(frozen=True)
class Delivered:
    """What one run did: the report's period, the file written (if any), who was mailed."""

    period: tuple[date, date]
    path: Path | None
    mailed: tuple[str, ...]


def trigger(settings: ScheduledReport) -> CronTrigger:
    """When the report falls due: `every` in `timezone` (the scheduler itself runs in UTC)."""
    return CronTrigger(**settings.cron, timezone=ZoneInfo(settings.timezone))


def period(settings: ScheduledReport, now: datetime) -> tuple[date, date]:
    """The `period_days` days ending with `now`'s date in the report's time zone."""
    last = now.astimezone(ZoneInfo(settings.timezone)).date()
    return last - timedelta(days=settings.period_days - 1), last


def file_name(settings: ScheduledReport, last: date) -> str:
    return f"unit-{last:%Y-%m-%d}{report_format(settings.format).suffix}"


def report_text(report: Report, fmt: str) -> str:
    """The report as one document in format `fmt` (one that can be scheduled)."""
    render = report_format(fmt).render
    assert render is not None  # [report] takes only scheduled formats, each one document (ReportFormat checks)
    return render(report)


def write(folder: Path, name: str, text: str) -> Path:
    """Write `text` to `folder/name`, whole or not at all."""
    target = folder / name
    write_atomic(target, text)
    return target


def _server(settings: ScheduledReport, notify: Notify | None) -> tuple[Server, str]:
    """The SMTP relay and sender: [report]'s own, else [notify]'s, else the defaults."""
    fallback = notify or Notify()
    host = settings.smtp_host or fallback.smtp_host
    port = settings.smtp_port or fallback.smtp_port
    return Server(host, port, timeout=settings.timeout), settings.sender or fallback.sender


def message(
    report: Report, settings: ScheduledReport, sender: str, name: str, text: str, now: datetime
) -> EmailMessage:
    """The mail: a short text body naming the report, the report attached as `name`."""
    first, last = report.period or (report.as_of, report.as_of)
    mail_message = EmailMessage(policy=policy.SMTP)
    mail_message["From"] = sender
    mail_message["To"] = ", ".join(settings.email)
    mail_message.set_raw("Subject", subject_header(f"{report.unit}: unit report, {first} to {last}"))
    mail_message["Date"] = email.utils.format_datetime(now)
    mail_message["Message-ID"] = email.utils.make_msgid("kmcomms-report", sender.rpartition("@")[2])
    mail_message["Auto-Submitted"] = "auto-generated"
    campaigns = len(report.parts)
    mail_message.set_content(
        f"{report.title}\n\nThe unit report of {report.unit} for {first} to {last} is attached ({name}): "
        f"{campaigns} campaign{'' if campaigns == 1 else 's'} active in the period.\n\n"
        f"Made on a schedule by the kmcomms daemon ([report] in kmcomms.toml).\n-- kmcomms {__version__}\n",
        cte="quoted-printable",
    )
    # As bytes: the file exactly as written to the folder (a str would get CRLF line ends).
    maintype, _, subtype = report_format(settings.format).media_type.partition("/")
    mail_message.add_attachment(
        text.encode("utf-8"), maintype=maintype, subtype=subtype, filename=name, params={"charset": "utf-8"}
    )
    return mail_message


def mail(
    report: Report, settings: ScheduledReport, notify: Notify | None, name: str, text: str, now: datetime
) -> tuple[str, ...]:
    """Mail the report to every address of `settings.email`; raises on the first refusal
    (`kmcomms.channels.mail`'s `TransientError`, `PermanentError`, `Refused`, `Deferred`)."""
    server, sender = _server(settings, notify)
    data = message(report, settings, sender, name, text, now).as_bytes()
    with Mailer(server, channel="report") as mailer:
        for address in settings.email:
            mailer.send(sender, address, data)
    return tuple(settings.email)


def deliver(workspace: Workspace, campaigns: Sequence[LoadedCampaign], engine: Engine, now: datetime) -> Delivered:
    """Build the unit report for the period ending `now` (aware) and deliver it as
    `workspace.settings.report` says. Raises on the first failure."""
    settings = workspace.settings.report
    if settings is None:
        raise ValueError("the workspace has no [report] section")
    first, last = period(settings, now)
    report = gather_unit(workspace, campaigns, engine, (first, last), now, generated_at=now)
    text = report_text(report, settings.format)
    name = file_name(settings, last)
    path = None
    if settings.folder is not None:
        path = write(workspace.root / settings.folder, name, text)
    mailed: tuple[str, ...] = ()
    if settings.email:
        mailed = mail(report, settings, workspace.settings.notify, name, text, now)
    return Delivered((first, last), path, mailed)
