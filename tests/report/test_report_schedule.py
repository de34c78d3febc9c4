"""The unit report on a schedule (`[report]` in kmcomms.toml): the settings and their
errors, the job run with a fixed clock (a file in the folder, a mail with the report
attached), the daemon's `report:unit` job and its next run in winter and summer time, and
a relay that refuses the mail (logged, the daemon carries on)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import wait_for
from smtp_inbox import Inbox, inbox_fixture  # noqa: F401 - the `inbox` fixture
from workspaces import campaign_yaml, settings_toml

from kmcomms.campaign.report_settings import report_cron
from kmcomms.campaign.workspace import load_workspace
from kmcomms.daemon.service import Daemon
from kmcomms.errors import InvalidInput
from kmcomms.report import schedule

BLOG = '[channels.blog]\nadapter = "folder"\nkind = "blog"\npath = "out/blog"\n'
MESSAGE = (
    "  - id: launch\n    audiences: [parents]\n    at: 2027-01-12 09:00\n    title: Launch\n    body: The launch.\n"
)
#: A Monday at 08:00 UTC (London is on GMT), when a "monday 08:00" report falls due.
MONDAY = datetime(2027, 1, 18, 8, 0, tzinfo=UTC)


def make_workspace(root: Path, report: str) -> Path:
    """A workspace with one campaign (11 January to 31 March 2027) and `report`: the
    lines of its `[report]` section ("" for none)."""
    section = f"\n[report]\n{report}" if report else ""
    (root / "kmcomms.toml").write_text(settings_toml("sqlite:///kmcomms.db", channels=BLOG) + section, encoding="utf-8")
    (root / "campaigns" / "trial").mkdir(parents=True, exist_ok=True)
    (root / "campaigns" / "trial" / "campaign.yaml").write_text(campaign_yaml(MESSAGE), encoding="utf-8")
    return root


@pytest.fixture
def daemon_at() -> Iterator:
    """`daemon_at(root, moment)`: a loaded Daemon whose clock stands at `moment`, closed after the test."""
    made: list[Daemon] = []

    def make(root: Path, moment: datetime) -> Daemon:
        daemon = Daemon(root, sweep=3600, clock=lambda: moment)
        made.append(daemon)
        daemon._load("test")
        return daemon

    yield make
    for daemon in made:
        if daemon.runtime is not None:
            daemon.runtime.close()
        daemon.session.close()


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "kmcomms_event", None) == name]


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("every", "fields"),
    [
        ("monday 08:00", {"day_of_week": "mon", "hour": "8", "minute": "0"}),
        ("Mon,Thu 8:30", {"day_of_week": "mon,thu", "hour": "8", "minute": "30"}),
        ("monday, friday 17:05", {"day_of_week": "mon,fri", "hour": "17", "minute": "5"}),
        ("weekdays 07:45", {"day_of_week": "mon-fri", "hour": "7", "minute": "45"}),
        ("daily 00:00", {"hour": "0", "minute": "0"}),
        ("day 1 08:00", {"day": "1", "hour": "8", "minute": "0"}),
    ],
)
def test_every_reads_as_cron_fields(every: str, fields: dict[str, str]) -> None:
    assert report_cron(every) == fields | {"second": "0"}


def test_a_good_section_loads_with_its_defaults(tmp_path: Path) -> None:
    settings = load_workspace(
        make_workspace(tmp_path, 'every = "monday 08:00"\nemail = "lead@unit.example.ac.uk"\n')
    ).settings.report
    assert settings is not None
    assert (settings.timezone, settings.period_days, settings.format, settings.folder) == ("UTC", 7, "html", None)
    assert settings.email == ["lead@unit.example.ac.uk"]
    assert load_workspace(make_workspace(tmp_path, "")).settings.report is None


@pytest.mark.parametrize(
    ("lines", "at", "says"),
    [
        (
            'every = "mondy 08:00"\nfolder = "r"\n',
            "every",
            ['every: "mondy" is not a day (did you mean "monday"?)', '"monday 08:00"'],
        ),
        ('every = "monday 8am"\nfolder = "r"\n', "every", ['every: "8am" is not a time of day', '"HH:MM"']),
        ('every = "monday 24:00"\nfolder = "r"\n', "every", ['every: "24:00" is not a time of day']),
        ('every = "08:00"\nfolder = "r"\n', "every", ['every: "08:00" needs a day and a time']),
        ('every = "day 31 08:00"\nfolder = "r"\n', "every", ['every: "day 31" is not a day of the month', "1 to 28"]),
        (
            'every = "monday 08:00"\ntimezone = "Europe/Londn"\nfolder = "r"\n',
            "timezone",
            ['timezone: "Europe/Londn" is not an IANA time zone (did you mean "Europe/London"?)'],
        ),
        ('every = "monday 08:00"\nfolder = "r"\nperiod_days = 0\n', "period_days", ["period_days must be at least 1"]),
        ('every = "monday 08:00"\nfolder = "r"\nformat = "pdf"\n', "format", ['"pdf" is not allowed', "html, md"]),
        (
            'every = "monday 08:00"\nemail = ["lead@unit", "nobody"]\n',
            "email",
            ['email[1]: "nobody" is not an email address'],
        ),
        (
            'every = "monday 08:00"\nfolder = "r"\nsender = "kmcomms"\n',
            "sender",
            ['sender: "kmcomms" is not an email address'],
        ),
        ('every = "monday 08:00"\n', "[report]", ["the report goes nowhere", "email", "folder"]),
        ('every = "monday 08:00"\nfolder = "r"\nsmtp_port = 0\n', "smtp_port", ["smtp_port must be at least 1"]),
        ('folder = "r"\n', "[report]", ['needs the key "every"']),
        ('every = "monday 08:00"\nfolder = "r"\ncc = "x@y.org"\n', "cc", ['unknown key "cc"']),
    ],
)
def test_each_bad_value_is_one_clear_error_at_its_line(tmp_path: Path, lines: str, at: str, says: list[str]) -> None:
    """`at`: how the line the finding points at starts."""
    text = (make_workspace(tmp_path, lines) / "kmcomms.toml").read_text(encoding="utf-8").splitlines()
    with pytest.raises(InvalidInput) as caught:
        load_workspace(tmp_path)
    [found] = caught.value.diagnostics
    assert text[found.line - 1].startswith(at), str(found)
    for text in says:
        assert text in found.message, str(found)


# ------------------------------------------------------------------ the job


def attached(inbox: Inbox) -> tuple[list[str], str, str, str]:
    """Every copy's recipients, and the first copy's To header, attachment name and
    attachment text (the copies are the same message)."""
    assert inbox.received and len({r.data for r in inbox.received}) == 1
    message = inbox.received[0].message
    [attachment] = list(message.iter_attachments())
    recipients = [address for r in inbox.received for address in r.recipients]
    return recipients, message["To"], attachment.get_filename(), attachment.get_content()


def test_the_job_writes_the_report_to_the_folder_and_mails_it(
    tmp_path: Path, inbox: Inbox, daemon_at, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_workspace(
        tmp_path,
        f'every = "monday 08:00"\ntimezone = "Europe/London"\nfolder = "reports"\n'
        f'email = ["lead@unit.example.ac.uk", "pi@unit.example.ac.uk"]\n'
        f'sender = "kmcomms@unit.example.ac.uk"\nsmtp_port = {inbox.port}\n',
    )
    daemon = daemon_at(root, MONDAY)
    with caplog.at_level(logging.INFO, logger="kmcomms.daemon"):
        daemon._report()
    written = root / "reports" / "unit-2027-01-18.html"
    page = written.read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page, re.DOTALL)
    assert title is not None and title[1].strip() == "Test unit: campaign evaluation, 2027-01-12 to 2027-01-18"
    assert "2027-01-12 to 2027-01-18" in page and "Trial" in page
    assert [p.name for p in (root / "reports").iterdir()] == ["unit-2027-01-18.html"]  # no temporary left
    recipients, to, name, text = attached(inbox)
    assert recipients == ["lead@unit.example.ac.uk", "pi@unit.example.ac.uk"]
    assert to == "lead@unit.example.ac.uk, pi@unit.example.ac.uk"
    assert (name, text) == ("unit-2027-01-18.html", page)
    message = inbox.received[0].message
    assert message["From"] == "kmcomms@unit.example.ac.uk"
    assert message["Subject"] == "Test unit: unit report, 2027-01-12 to 2027-01-18"
    assert "2027-01-12 to 2027-01-18" in message.get_body(("plain",)).get_content()
    [sent] = events(caplog, "report-sent")
    assert sent.kmcomms_fields["period"] == ["2027-01-12", "2027-01-18"]
    assert not events(caplog, "report-failed")


def test_markdown_mailed_through_the_notify_relay(tmp_path: Path, inbox: Inbox, daemon_at) -> None:
    """No folder, no relay of its own: [notify]'s sender and SMTP server are used."""
    root = make_workspace(
        tmp_path,
        'every = "daily 18:00"\nperiod_days = 1\nformat = "md"\nemail = "lead@unit.example.ac.uk"\n'
        f'\n[notify]\nsender = "notices@unit.example.ac.uk"\nsmtp_port = {inbox.port}\n',
    )
    daemon_at(root, MONDAY)._report()
    recipients, to, name, text = attached(inbox)
    assert (recipients, to, name) == (["lead@unit.example.ac.uk"], "lead@unit.example.ac.uk", "unit-2027-01-18.md")
    assert text.startswith("# Test unit: campaign evaluation, 2027-01-18 to 2027-01-18\n")
    assert inbox.received[0].message["From"] == "notices@unit.example.ac.uk"
    assert inbox.received[0].message.get_content_type() == "multipart/mixed"
    assert not (root / "reports").exists()


def test_a_refusing_relay_is_logged_and_the_daemon_carries_on(
    tmp_path: Path, inbox: Inbox, daemon_at, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_workspace(
        tmp_path,
        f'every = "monday 08:00"\nfolder = "reports"\nemail = "lead@unit.example.ac.uk"\nsmtp_port = {inbox.port}\n',
    )
    inbox.hook = lambda stage, n, server, envelope: "554 5.7.1 no reports here" if stage == "DATA" else None
    daemon = daemon_at(root, MONDAY)
    with caplog.at_level(logging.INFO, logger="kmcomms.daemon"):
        daemon._report()  # raises nothing
        daemon.tick("test")  # and the next pass runs
    [failed] = events(caplog, "report-failed")
    assert failed.levelno == logging.ERROR and "554 5.7.1 no reports here" in failed.getMessage()
    assert not events(caplog, "report-sent") and not events(caplog, "pass-failed")
    assert daemon.passes == 1 and daemon.scheduler.get_job(schedule.JOB_ID) is not None
    assert (root / "reports" / "unit-2027-01-18.html").is_file()  # the file before the mail
    assert inbox.received == []


def test_a_relay_that_is_not_there_is_logged(tmp_path: Path, daemon_at, caplog: pytest.LogCaptureFixture) -> None:
    from kmcomms.daemon.demo import free_port

    root = make_workspace(
        tmp_path, f'every = "monday 08:00"\nemail = "lead@unit.example.ac.uk"\nsmtp_port = {free_port()}\ntimeout = 5\n'
    )
    with caplog.at_level(logging.INFO, logger="kmcomms.daemon"):
        daemon_at(root, MONDAY)._report()
    [failed] = events(caplog, "report-failed")
    assert "cannot connect" in failed.getMessage()


# ------------------------------------------------------------------ the daemon's job


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        (datetime(2027, 1, 17, 12, 0, tzinfo=UTC), datetime(2027, 1, 18, 8, 0, tzinfo=UTC)),  # GMT
        (datetime(2027, 7, 18, 12, 0, tzinfo=UTC), datetime(2027, 7, 19, 7, 0, tzinfo=UTC)),  # BST
        (
            datetime(2027, 3, 27, 12, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
        ),  # clocks go forward on the 28th
        (datetime(2027, 1, 18, 8, 0, 1, tzinfo=UTC), datetime(2027, 1, 25, 8, 0, tzinfo=UTC)),  # just after: next week
    ],
)
def test_the_daemon_schedules_the_report_in_the_zone_of_the_settings(
    tmp_path: Path, daemon_at, clock: datetime, expected: datetime
) -> None:
    root = make_workspace(tmp_path, 'every = "monday 08:00"\ntimezone = "Europe/London"\nfolder = "reports"\n')
    daemon = daemon_at(root, clock)
    job = daemon.scheduler.get_job(schedule.JOB_ID)
    assert job is not None and job.func == daemon._report
    assert job.next_run_time == expected
    assert job.misfire_grace_time is None and job.coalesce and job.max_instances == 1
    # and the weeks after follow the zone's summer time too
    later = job.trigger.get_next_fire_time(None, expected + timedelta(days=7 * 13))
    assert later.astimezone(UTC).hour in (7, 8) and later.astimezone(schedule.ZoneInfo("Europe/London")).hour == 8


def test_a_reload_replaces_the_job_and_removing_the_section_removes_it(tmp_path: Path, daemon_at) -> None:
    root = make_workspace(tmp_path, 'every = "monday 08:00"\nfolder = "reports"\n')
    daemon = daemon_at(root, datetime(2027, 1, 17, 12, 0, tzinfo=UTC))
    make_workspace(root, 'every = "day 1 09:30"\nfolder = "reports"\n')
    daemon._load("test")
    [job] = [j for j in daemon.scheduler.get_jobs() if j.id == schedule.JOB_ID]
    assert job.next_run_time == datetime(2027, 2, 1, 9, 30, tzinfo=UTC)
    make_workspace(root, "")
    daemon._load("test")
    assert daemon.scheduler.get_job(schedule.JOB_ID) is None


def test_the_running_scheduler_runs_the_job(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Through APScheduler itself: the job, brought forward to now, delivers the report."""
    root = make_workspace(tmp_path, 'every = "monday 08:00"\nfolder = "reports"\n')
    daemon = Daemon(root, sweep=3600, clock=lambda: MONDAY)
    runner = threading.Thread(target=daemon.run, kwargs={"install_signals": False})
    with caplog.at_level(logging.INFO, logger="kmcomms.daemon"):
        runner.start()
        try:
            wait_for(lambda: daemon.scheduler.running and daemon.scheduler.get_job(schedule.JOB_ID), "the report job")
            daemon.scheduler.modify_job(schedule.JOB_ID, next_run_time=datetime.now(UTC))
            wait_for(lambda: events(caplog, "report-sent"), "report-sent")
        finally:
            daemon.stop("test")
            runner.join(10)
    assert (root / "reports" / "unit-2027-01-18.html").is_file()
    assert len(events(caplog, "report-sent")) == 1 and not runner.is_alive()


def test_period_is_the_days_ending_with_the_local_date() -> None:
    from kmcomms.campaign.report_settings import ScheduledReport

    settings = ScheduledReport(every="monday 00:30", timezone="Europe/London", period_days=7, folder="r")
    # 23:30 UTC on Sunday 18 July is 00:30 on Monday in London
    assert schedule.period(settings, datetime(2027, 7, 18, 23, 30, tzinfo=UTC)) == (
        date(2027, 7, 13),
        date(2027, 7, 19),
    )


def test_a_long_unit_name_reads_back_in_the_subject_as_written(tmp_path: Path, inbox: Inbox, daemon_at) -> None:
    """A Subject of about 70 to 78 characters used to be folded whole onto a continuation
    line, which mail readers show with a leading space."""
    root = make_workspace(
        tmp_path, f'every = "monday 08:00"\nemail = "lead@unit.example.ac.uk"\nsmtp_port = {inbox.port}\n'
    )
    name = "Health Protection Research Unit in"  # a Subject of 74 characters
    settings = root / "kmcomms.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace('name = "Test unit"', f'name = "{name}"'), encoding="utf-8"
    )
    daemon_at(root, MONDAY)._report()
    assert inbox.received[0].message["Subject"] == f"{name}: unit report, 2027-01-12 to 2027-01-18"
