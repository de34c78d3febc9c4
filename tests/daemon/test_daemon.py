"""`kmcomms daemon`: real processes on the real clock (on-time wake-ups, SIGHUP and file
reloads, graceful SIGTERM, JSON logs with secrets masked, failure notifications, a
delivery another host's daemon left taken over as its lease ends), and the parts
in-process: stopping mid-publish and mid-arming, arming wake-ups, fingerprints,
redaction, notifications once per delivery on SQLite and PostgreSQL.

Campaign times are written from the real clock with seconds (`at: 2027-01-11 09:00:30`
is valid), so nothing waits for a minute boundary.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import io
import json
import logging
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from conftest import wait_for
from daemons import daemons_fixture, make_workspace, message  # noqa: F401 - a fixture
from sqlalchemy import select, update

from kmcomms.campaign.load import load_paths
from kmcomms.campaign.workspace import load_workspace, secrets_of
from kmcomms.channels.base import Publication
from kmcomms.channels.registry import open_channels
from kmcomms.daemon.service import Daemon
from kmcomms.daemon.watch import fingerprint
from kmcomms.ledger.claims import claim
from kmcomms.ledger.ledger import State, counts
from kmcomms.ledger.notifications import forget, pending
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import attempts, deliveries, notifications, publications, reach_samples
from kmcomms.logs import MASK, Redactor, event, setup, teardown
from kmcomms.publish.dispatch import Dispatcher
from kmcomms.publish.notify import Notifier
from kmcomms.testing.recording import RecordingChannel

SENTINEL = "s3ntinel-Pa55word-7f3a"


def published_files(root: Path, channel: str = "blog") -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (root / "out" / channel).glob("*.json")}


def delivery_ids(root: Path) -> dict[str, str]:
    """message id → delivery id, from the ledger."""
    engine = open_store(f"sqlite:///{root / 'kmcomms.db'}", root)
    try:
        with engine.connect() as db:
            return {r.message: r.id for r in db.execute(select(deliveries.c.message, deliveries.c.id))}
    finally:
        engine.dispose()


def test_the_daemon_publishes_on_time_once_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path, daemons) -> None:
    # The sweep is an hour: after the catch-up at start, only a precise wake-up or a
    # SIGHUP can make a pass.
    now = datetime.now(UTC)
    soon = (now + timedelta(seconds=7)).replace(microsecond=0)
    root = make_workspace(
        tmp_path, "sqlite:///kmcomms.db", message("past", now - timedelta(seconds=30)) + message("soon", soon)
    )
    d = daemons(root, "--sweep", "3600")
    d.wait_event("started")
    d.wait_event("published", where=lambda e: e["message"] == "past")
    assert [f["title"] for f in published_files(root).values()] == ["Past"]

    # A message added, then SIGHUP: loaded, synced and published without waiting for a sweep.
    campaign = root / "campaigns" / "trial" / "campaign.yaml"
    campaign.write_text(campaign.read_text() + message("added", now - timedelta(seconds=10)), encoding="utf-8")
    d.process.send_signal(signal.SIGHUP)
    d.wait_event("loaded", where=lambda e: e["why"] == "SIGHUP")
    d.wait_event("published", where=lambda e: e["message"] == "added")

    # The wake-up armed from the ledger publishes "soon" at its due time, not at a sweep.
    on_time = d.wait_event("published", timeout=15, where=lambda e: e["message"] == "soon")
    at = datetime.fromisoformat(on_time["time"])
    assert soon <= at < soon + timedelta(seconds=2), f"due {soon}, published {at}"

    code, took = d.stop(signal.SIGTERM)
    assert code == 0 and took < 5
    events = d.events()  # every line is a JSON object (json.loads raised otherwise)
    assert events[-1]["event"] == "stopped" and {"time", "level", "event", "msg"} <= set(events[-1])
    ids = delivery_ids(root)
    assert sorted(published_files(root)) == sorted(ids.values())  # one file per delivery, all three
    assert sorted(e["delivery"] for e in d.named("published")) == sorted(ids.values())  # each published once
    engine = open_store("sqlite:///kmcomms.db", root)
    try:
        with engine.connect() as db:
            assert len(db.execute(select(attempts)).all()) == 3 and len(db.execute(select(publications)).all()) == 3
    finally:
        engine.dispose()


def test_a_delivery_a_stopped_daemon_on_another_host_left_is_taken_over_as_its_lease_ends(
    tmp_path: Path, daemons, store_url: str
) -> None:
    """A delivery `sending` under the lease of a daemon on another host (its host id in
    the lease) that renews it no more. The sweep is an hour: the daemon arms a wake-up at
    the lease's end and publishes it then; not before (that daemon could be at work)."""
    now = datetime.now(UTC)
    root = make_workspace(tmp_path, store_url, message("left", now - timedelta(seconds=30)))
    loaded = load_paths([root])
    engine = open_store(store_url, root)
    try:
        Dispatcher(engine, loaded.workspaces[0], loaded, {}, worker="test").sync(now)
        [row] = claim(engine, "db-2.example.org:4242/1234@00112233445566ff", now, timedelta(seconds=8))
    finally:
        engine.dispose()
    d = daemons(root, "--sweep", "3600", "-v")
    armed = d.wait_event("armed")
    assert datetime.fromisoformat(armed["next"]) == row.lease_until.replace(microsecond=0) + timedelta(seconds=1)
    assert datetime.fromisoformat(armed["time"]) < row.lease_until  # its first pass left it alone
    published = d.wait_event("published", timeout=20)
    at = datetime.fromisoformat(published["time"])
    print(
        f"\n[{store_url.partition(':')[0].partition('+')[0]}] published {(at - row.lease_until).total_seconds():.2f} s "
        "after the lease of the stopped daemon elsewhere ended"
    )
    assert published["delivery"] == row.id and row.lease_until <= at < row.lease_until + timedelta(seconds=2.5), (
        f"lease until {row.lease_until}, published {at}"
    )
    assert d.wait_event("pass")["requeued"] == 1
    assert d.stop()[0] == 0


Server = TypeVar("Server", bound=socketserver.BaseServer)


def serving(server: Server) -> Iterator[Server]:
    """`server`, answering in a thread until the generator is closed (a fixture's end)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class SMTPRecorder(socketserver.ThreadingTCPServer):
    """The smallest SMTP server that accepts mail: keeps each message's bytes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        super().__init__(("127.0.0.1", 0), SMTPConversation)

    def mails(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(m, policy=email.policy.default) for m in self.messages]


class SMTPConversation(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        lines: list[bytes] | None = None
        while line := self.rfile.readline():
            if lines is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(lines))
                    lines = None
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                lines = []
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp() -> Iterator[SMTPRecorder]:
    yield from serving(SMTPRecorder())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_daemon_reloads_changed_files_notifies_failures_once_and_never_logs_a_secret(
    tmp_path: Path, daemons, smtp
) -> None:
    now = datetime.now(UTC)
    (tmp_path / "not-a-folder").write_text("a file where the broken channel wants a folder")
    # Notices go by email (the SMTP recorder) and to a webhook whose address holds a secret
    # from the environment; nothing listens there, so the error quotes the address.
    extra = f"""
[channels.broken]
adapter = "folder"
path = "not-a-folder"

[notify]
email = "comms@example.org"
sender = "kmcomms@example.org"
smtp_port = {smtp.server_address[1]}
webhook = "http://127.0.0.1:{closed_port()}/hooks/${{TEST_SECRET}}"
timeout = 5
"""
    root = make_workspace(
        tmp_path,
        "sqlite:///kmcomms.db",
        message("launch", now - timedelta(seconds=30)),
        extra=extra,
        channels="blog, broken",
    )
    d = daemons(root, "--sweep", "1", env={"TEST_SECRET": SENTINEL})
    failed = d.wait_event("failed")
    assert failed["channel"] == "broken" and "cannot write" in failed["reason"]
    d.wait_event("notified")
    webhook_error = d.wait_event("notify-failed")
    assert webhook_error["target"] == "webhook" and f"/hooks/{MASK}" in webhook_error["msg"]
    [mail] = smtp.mails()
    assert mail["To"] == "comms@example.org" and "1 delivery needs a person" in mail["Subject"]
    assert failed["delivery"] in mail.get_content() and "kmcomms resolve ID --retry" in mail.get_content()

    # Files change, no signal: a new message is synced and published at the next sweep, an
    # edited one is updated where it was published, and a broken campaign beside them is
    # reported and left out.
    campaign = root / "campaigns" / "trial" / "campaign.yaml"
    campaign.write_text(
        campaign.read_text()
        .replace("channels: [blog, broken]", "channels: [blog]")
        .replace("title: Launch\n", "title: Launch, revised\n")
        + message("more", now - timedelta(seconds=5)),
        encoding="utf-8",
    )
    (root / "campaigns" / "bad").mkdir()
    (root / "campaigns" / "bad" / "campaign.yaml").write_text("title: [unclosed\n")
    d.wait_event("loaded", where=lambda e: e["why"] == "files changed")
    d.wait_event("published", where=lambda e: e["message"] == "more")
    updated = d.wait_event("updated")  # the launch post, edited after publication, is updated in place
    assert published_files(root)[updated["delivery"]]["title"] == "Launch, revised"
    error = d.wait_event("campaign-error")
    assert error["path"].endswith("campaigns/bad/campaign.yaml")
    passes = len(d.named("loaded"))
    time.sleep(2.5)  # more sweeps: no file changed, so no reload, and the failure is not told again
    assert len(d.named("loaded")) == passes and len(smtp.messages) == 1
    code, _ = d.stop(signal.SIGINT)
    assert code == 0
    text = d.text()
    assert SENTINEL not in text and MASK in text
    assert all(e["level"] in ("debug", "info", "warning", "error") for e in d.events())


def test_a_workspace_that_cannot_start_is_one_line_and_exit_1(tmp_path: Path, kmcomms) -> None:
    root = make_workspace(
        tmp_path, "sqlite:///kmcomms.db", message("x", datetime.now(UTC)), adapter="no-such-adapter", blog=""
    )
    code, _, err = kmcomms("daemon", "-w", root)
    assert code == 1 and 'no channel adapter "no-such-adapter"' in err and "Traceback" not in err
    assert err.splitlines()[-1].startswith("kmcomms: error:")
    code, _, err = kmcomms("--now", "2027-01-01T00:00Z", "daemon", "-w", root)
    assert code == 2 and "real time" in err


# ------------------------------------------------------------------ in this process


class Gate(RecordingChannel):
    """A channel whose first publish waits until the test opens the gate."""

    started = threading.Event()
    release = threading.Event()

    def publish(self, draft, key):
        if not self.calls:
            type(self).started.set()
            assert type(self).release.wait(10)
        return super().publish(draft, key)


def test_stop_finishes_the_publication_in_flight_and_gives_back_the_rest(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    root = make_workspace(
        tmp_path,
        "sqlite:///kmcomms.db",
        "".join(message(f"m{i}", now - timedelta(seconds=30 - i)) for i in range(3)),
        adapter="gate",
        blog="",
    )
    Gate.started.clear()
    Gate.release.clear()
    daemon = Daemon(root, sweep=3600, registry={"gate": Gate})
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(daemon.run(install_signals=False)))
    runner.start()
    assert Gate.started.wait(10)
    stopper = threading.Thread(target=daemon.stop, args=["test"])
    stopper.start()
    time.sleep(0.2)
    assert runner.is_alive()  # waiting for the publication in flight
    Gate.release.set()
    stopper.join(10)
    runner.join(10)
    assert result == [0]
    engine = open_store("sqlite:///kmcomms.db", root)
    try:
        with engine.connect() as db:
            rows = {r.message: r for r in db.execute(select(deliveries))}
    finally:
        engine.dispose()
    assert rows["m0"].state == "published"
    assert {rows[m].state for m in ("m1", "m2")} == {"planned"}
    assert {(rows[m].attempts, rows[m].lease_owner) for m in ("m1", "m2")} == {(0, None)}


def test_a_stop_while_a_pass_arms_its_wake_ups_waits_for_it_and_returns(tmp_path: Path) -> None:
    """SIGTERM just after a pass published, as it re-arms its wake-ups through the
    scheduler: the scheduler's shutdown must not lock the scheduler while it waits for that
    pass (they waited for each other, for ever)."""
    arming, stopped = threading.Event(), threading.Event()

    class Slow(Daemon):
        def _arm(self, now: datetime) -> None:
            arming.set()
            time.sleep(0.5)  # the stop comes meanwhile
            super()._arm(now)

    now = datetime.now(UTC)
    root = make_workspace(tmp_path, "sqlite:///kmcomms.db", message("due", now - timedelta(seconds=30)))
    daemon = Slow(root, sweep=3600)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(daemon.run(install_signals=False)), daemon=True)
    runner.start()
    assert arming.wait(20)
    threading.Thread(target=lambda: (daemon.stop("test"), stopped.set()), daemon=True).start()
    assert stopped.wait(10), "stop() never returned"
    runner.join(10)
    assert result == [0] and daemon.passes == 1


def test_wake_ups_are_armed_from_the_ledger_within_the_horizon(tmp_path: Path) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    messages = (
        message("due", now - timedelta(minutes=1))
        + message("later", now + timedelta(minutes=10))
        + message("twin", now + timedelta(minutes=10))
        + message("far", now + timedelta(hours=3))
    )
    root = make_workspace(tmp_path, "sqlite:///kmcomms.db", messages, now=now)
    daemon = Daemon(root, sweep=30, clock=lambda: now)
    daemon._load("test")
    assert daemon.runtime is not None
    try:
        daemon.runtime.dispatcher.sync(now)
        engine = daemon.runtime.engine
        with engine.begin() as db:  # one delivery waiting to retry at a moment with a fraction of a second
            db.execute(
                update(deliveries)
                .where(deliveries.c.message == "due")
                .values(state=State.RETRYING, not_before=now + timedelta(minutes=5, microseconds=300))
            )
        daemon.scheduler.add_job(daemon.tick, "date", run_date=now + timedelta(minutes=50), id="wake:20300501T125000Z")
        daemon._arm(now)
        jobs = {job.id: job for job in daemon.scheduler.get_jobs() if job.id.startswith("wake:")}
        assert set(jobs) == {"wake:20300501T120501Z", "wake:20300501T121000Z"}  # stale one gone, none past 2 h
        job = jobs["wake:20300501T121000Z"]
        assert job.misfire_grace_time is None and job.coalesce and job.max_instances == 1
        assert job.trigger.run_date == now + timedelta(minutes=10)
    finally:
        daemon.runtime.close()
        daemon.session.close()


def test_the_fingerprint_sees_edits_additions_and_removals(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, "sqlite:///kmcomms.db", message("x", datetime.now(UTC)))
    first = fingerprint(root)
    assert fingerprint(root) == first
    (root / "kmcomms.db").write_text("the ledger is not watched")
    assert fingerprint(root) == first
    campaign = root / "campaigns" / "trial" / "campaign.yaml"
    campaign.write_text(campaign.read_text() + "# a comment\n")
    second = fingerprint(root)
    assert second != first
    po = root / "translations" / "ur" / "LC_MESSAGES" / "trial.po"
    po.parent.mkdir(parents=True)
    po.write_text("")
    third = fingerprint(root)
    assert third != second
    po.unlink()
    assert fingerprint(root) != third


def test_a_campaign_with_errors_keeps_its_deliveries_and_the_others_go_out(tmp_path: Path, store_url: str) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    root = make_workspace(tmp_path, store_url, message("launch", now + timedelta(minutes=5)), now=now)
    other = root / "campaigns" / "other" / "campaign.yaml"
    other.parent.mkdir()
    other.write_text(
        (root / "campaigns" / "trial" / "campaign.yaml").read_text().replace("title: Trial", "title: Other")
    )

    def dispatcher() -> Dispatcher:
        loaded = load_paths([root])
        d = Dispatcher(
            open_store(store_url, root), loaded.workspaces[0], loaded, open_channels(loaded.workspaces[0]), worker="w"
        )
        engines.append(d.engine)
        return d

    engines: list = []
    try:
        assert dispatcher().sync(now).added == 2
        text = other.read_text()
        other.write_text(text.replace("audiences: [parents]\n    at:", "audiences: [nobody]\n    at:"))  # an error
        d = dispatcher()
        assert d.held == {"other"}
        assert d.sync(now).cancelled == 0
        report = d.publish_due(now + timedelta(minutes=6))
        assert report.outcomes == {"published": 1, "blocked": 1}
        with d.engine.connect() as db:
            held = db.execute(select(deliveries).where(deliveries.c.campaign == "other")).one()
        assert held.state == "blocked" and "has errors" in held.reason
        other.write_text(text)
        fixed = dispatcher()
        assert fixed.held == set()
        assert fixed.publish_due(now + timedelta(minutes=7)).outcomes == {"published": 1}
    finally:
        for engine in engines:
            engine.dispose()


# ------------------------------------------------------------------ logs and secrets


def test_the_redacting_filter_masks_secrets_in_messages_fields_and_tracebacks() -> None:
    stream = io.StringIO()
    redactor = setup("json", Redactor(["hunter2!", "p@ss word"]), stream=stream)
    logger = logging.getLogger("kmcomms.test")
    try:
        event(
            logger,
            "connect",
            "cannot log in as bob with hunter2!",
            url="https://bob:p%40ss%20word@example.org",
            nested={"tries": ["hunter2!"]},
        )
        try:
            raise ValueError("bad password hunter2!")
        except ValueError:
            logger.exception("failed with %s", "hunter2!")
        logging.getLogger("somebody.else").warning("p@ss word")
        redactor.add([SENTINEL])
        logger.info("learnt later: %s", SENTINEL)
    finally:
        teardown()
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 4
    for secret in ("hunter2!", "p@ss word", "p%40ss%20word", SENTINEL):
        assert secret not in text
    assert (
        lines[0]["msg"] == f"cannot log in as bob with {MASK}" and lines[0]["url"] == f"https://bob:{MASK}@example.org"
    )
    assert lines[0]["nested"] == {"tries": [MASK]}
    assert lines[1]["error"] == f"ValueError: bad password {MASK}" and "Traceback" in lines[1]["traceback"]
    assert lines[2]["logger"] == "somebody.else" and lines[2]["msg"] == MASK
    assert lines[3]["msg"] == f"learnt later: {MASK}"


def test_secrets_of_the_settings_are_environment_values_credentials_and_the_store_password(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "kmcomms.toml").write_text("""\
[unit]
id = "u"
name = "U"
acknowledgement = "x"

[store]
url = "postgresql+psycopg://kmcomms:db-pass-123@db.example.org/kmcomms"

[channels.site]
adapter = "webhook"
url = "https://example.org/${SITE_PATH}"
kind = "blog"
token = "${SITE_TOKEN}"

[channels.site.auth]
api_key = "${SITE_KEY}"

[notify]
webhook = "https://hooks.example.org/${HOOK}"
""")
    monkeypatch.setenv("SITE_PATH", "hidden-path")
    monkeypatch.setenv("SITE_TOKEN", "tok-456")
    monkeypatch.setenv("SITE_KEY", "key-789")
    monkeypatch.setenv("HOOK", "hook-000")
    settings = load_workspace(tmp_path).settings
    assert secrets_of(settings) == {"db-pass-123", "hidden-path", "tok-456", "key-789", "hook-000"}


# ------------------------------------------------------------------ notifications


class WebhookRecorder(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 204

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler) -> None:
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.posts.append((handler.path, json.loads(body)))
                handler.send_response(self.status)
                handler.end_headers()

            def log_message(handler, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def webhook() -> Iterator[WebhookRecorder]:
    yield from serving(WebhookRecorder())


def test_notices_go_once_per_delivery_to_email_and_webhook(
    tmp_path: Path, store_url: str, smtp, webhook, monkeypatch
) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("HOOK_TOKEN", "tok-abc")
    extra = f"""grace_minutes = 60

[notify]
email = ["comms@example.org", "lead@example.org"]
smtp_port = {smtp.server_address[1]}
webhook = "http://127.0.0.1:{webhook.server_address[1]}/notify/${{HOOK_TOKEN}}"
"""
    root = make_workspace(
        tmp_path, store_url, message("old", now - timedelta(hours=2)) + message("new", now), extra=extra, now=now
    )
    loaded = load_paths([root])
    workspace = loaded.workspaces[0]
    engine = open_store(store_url, root)
    session = requests.Session()
    try:
        d = Dispatcher(engine, workspace, loaded, open_channels(workspace), worker="w")
        d.sync(now)
        assert d.publish_due(now).outcomes == {"missed": 1, "published": 1}
        first = Notifier.from_settings(workspace.settings.notify, "Test unit", session)
        second = Notifier.from_settings(workspace.settings.notify, "Test unit", session)  # another daemon
        assert first.targets == ["email", "webhook"]
        assert first.run(engine, now) == 1
        assert second.run(engine, now) == 0 and first.run(engine, now) == 0  # told once, by one of them
        [mail] = smtp.mails()
        assert mail["To"] == "comms@example.org, lead@example.org"
        assert "MISSED" in mail.get_content() and "grace period" in mail.get_content()
        [(path, payload)] = webhook.posts
        assert path == "/notify/tok-abc" and payload["count"] == 1
        assert payload["deliveries"][0]["state"] == "missed" and payload["deliveries"][0]["message"] == "old"
        with engine.connect() as db:
            [told] = db.execute(select(notifications)).all()
        assert told.state == "missed" and told.via == "log+email+webhook"
        # A person retries it and it fails again: told again.
        forget(engine, told.delivery_id)
        assert [r.id for r in pending(engine)] == [told.delivery_id]
    finally:
        session.close()
        engine.dispose()


def test_a_notice_that_cannot_be_sent_is_logged_given_back_and_tried_later(tmp_path: Path, webhook, caplog) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    extra = f'grace_minutes = 60\n\n[notify]\nwebhook = "http://127.0.0.1:{webhook.server_address[1]}/hook"\n'
    root = make_workspace(
        tmp_path, "sqlite:///kmcomms.db", message("old", now - timedelta(hours=2)), extra=extra, now=now
    )
    loaded = load_paths([root])
    workspace = loaded.workspaces[0]
    engine = open_store("sqlite:///kmcomms.db", root)
    session = requests.Session()
    try:
        d = Dispatcher(engine, workspace, loaded, open_channels(workspace), worker="w")
        d.sync(now)
        d.publish_due(now)
        notifier = Notifier.from_settings(workspace.settings.notify, "Test unit", session)
        webhook.status = 500
        with caplog.at_level(logging.ERROR, logger="kmcomms.notify"):
            assert notifier.run(engine, now) == 0
        assert "answered 500" in caplog.text
        assert len(pending(engine)) == 1  # given back
        webhook.status = 200
        assert notifier.run(engine, now + timedelta(minutes=1)) == 0  # not before the retry time
        assert notifier.run(engine, now + timedelta(minutes=6)) == 1
        assert len(webhook.posts) == 2 and pending(engine) == []
        assert counts(engine)["missed"] == 1
    finally:
        session.close()
        engine.dispose()


OPEN_AT_THE_SIGNAL = """
import sys, time
from pathlib import Path
from kmcomms.ledger.store import open_store
folder, url = Path(sys.argv[1]), sys.argv[2]
(folder / f"ready-{sys.argv[3]}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
open_store(url, folder).dispose()
"""


def test_daemons_starting_together_on_a_new_postgresql_store_migrate_it_once(tmp_path: Path, postgres_url: str) -> None:
    # Four processes open a new store at the same moment, as daemons started together on
    # several hosts do. Without the migration lock they collide on alembic_version or
    # deadlock on the DDL; lock_timeout turns a deadlock into an error, not a hung test.
    url = postgres_url.replace("?options=", "?options=-clock_timeout%3D15000%20")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_THE_SIGNAL, str(tmp_path), url, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(4)
    ]
    try:
        wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 4, "the processes to start", 30)
        (tmp_path / "go").touch()
        results = [(p.wait(timeout=60), p.stdout.read().decode()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], [out[-1500:] for _, out in results]
    engine = open_store(postgres_url, tmp_path, upgrade=False)
    try:
        assert counts(engine)["planned"] == 0  # the tables are there
    finally:
        engine.dispose()


def test_reach_is_collected_per_channel_on_its_own_interval(tmp_path: Path) -> None:
    """A collection job per channel instance, every `collect_minutes`; running it appends
    the channel's running totals as reach samples of each publication."""
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    root = make_workspace(
        tmp_path,
        "sqlite:///kmcomms.db",
        message("due", now - timedelta(minutes=1)),
        blog="collect_minutes = 15",
        now=now,
    )

    class Counting(RecordingChannel):
        def collect(self, publication: Publication) -> dict[str, float]:
            return {"views": 42.0}

    daemon = Daemon(root, sweep=30, clock=lambda: now, registry={"folder": Counting})
    daemon._load("test")
    assert daemon.runtime is not None
    try:
        job = daemon.scheduler.get_job("collect:blog")
        assert job is not None and job.trigger.interval == timedelta(minutes=15)
        daemon.runtime.dispatcher.sync(now)
        assert daemon.runtime.dispatcher.publish_due(now).outcomes["published"] == 1
        daemon._collect("blog")
        with daemon.runtime.engine.connect() as db:
            samples = db.execute(select(reach_samples.c.metric, reach_samples.c.value, reach_samples.c.source)).all()
        assert [tuple(s) for s in samples] == [("views", 42.0, "channel:folder")]
    finally:
        daemon.runtime.close()
