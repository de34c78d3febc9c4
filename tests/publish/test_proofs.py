"""Proofs: the claims kmcomms makes about publishing, each tested with real processes,
real servers and real databases.

- A publisher (`kmcomms daemon`, and `kmcomms publish --due`) killed with SIGKILL at
  random moments, again and again, then run to the end: every delivery published exactly
  once, none lost, every `unknown` settled.
- Two `kmcomms daemon` processes on one PostgreSQL ledger: no delivery published twice.
- The `webhook` adapter against an endpoint that fails at random (500, 429 + Retry-After,
  answers too late, drops the connection, publishes and then drops the connection):
  everything ends published, each publication made once on the remote side.
- A ledger made at revision 0001 with rows in every table, opened by today's kmcomms:
  upgraded, every row still there and equal.
- Deliveries around the 2027 daylight-saving changes in Europe/London go out at the
  right UTC instants: not a second before, and at the instant.

How a second write of a file is detected (crash test): the `folder` adapter writes each
draft to a temporary file and renames it to `<delivery id>.json`. The test watches the
outbox with Linux inotify (through ctypes): the kernel queues an IN_MOVED_TO event for
every rename into the folder, and an IN_CLOSE_WRITE for every file written in place, no
matter what happens to the writing process afterwards (a SIGKILL one instruction after
the rename cannot take the event back). So "each file written once" is "exactly one
IN_MOVED_TO or IN_CLOSE_WRITE per delivery id, and no IN_DELETE", counted by a process
the publisher cannot kill; an event-queue overflow fails the test rather than hiding a
write. (Comparing mtimes or inodes afterwards would miss a rewrite whose result is the
same file; a log written by the adapter itself could lose the line of a write the kill
interrupted.)
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import email.utils
import hashlib
import http.server
import itertools
import json
import logging
import os
import random
import select as io_select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import pytest
import sqlalchemy
from conftest import Clock
from sqlalchemy import Engine, create_engine, event, insert, select

from kmcomms.campaign.load import load_paths
from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.http import retry_after
from kmcomms.channels.registry import adapter_class, open_channels
from kmcomms.channels.webhook import Webhook, WebhookOptions
from kmcomms.ledger import store
from kmcomms.ledger.claims import claim
from kmcomms.ledger.ledger import OPEN, counts
from kmcomms.ledger.tables import (
    approvals,
    attempts,
    contacts,
    deliveries,
    evidence,
    publications,
    reach_samples,
)
from kmcomms.plan.deliveries import ALL_TIME, plan_of
from kmcomms.publish.dispatch import LEASE, Dispatcher
from kmcomms.render.drafts import BlogPost

TESTS = Path(__file__).resolve().parents[1]
PLUGIN = TESTS / "proofs_plugin"
log = logging.getLogger("tests.proofs")


# ---------------------------------------------------------------------------- workspaces

UNIT = """\
[unit]
id = "unit"
name = "Proofs unit"
acknowledgement = "Funded by the NIHR."

[store]
url = "{url}"

[policy]
missing_translation = "source"
"""


def _toml_value(value: object) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_workspace(
    root: Path,
    url: str,
    channels: dict[str, dict[str, object]],
    *,
    messages: int,
    languages: list[str],
    due: Callable[[int], datetime],
    zone: str = "UTC",
) -> Path:
    """A workspace with one campaign: `messages` one-off messages to one audience reached
    in `languages` through every channel, message i at local wall time `due(i)`: so
    messages × languages × channels deliveries. Languages other than English go out in
    English (the "source" policy), so no translations are needed."""
    root.mkdir(parents=True, exist_ok=True)
    settings = UNIT.format(url=url)
    for name, options in channels.items():
        settings += f"\n[channels.{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in options.items())
    (root / "kmcomms.toml").write_text(settings, encoding="utf-8")
    times = [due(i) for i in range(messages)]
    first, last = min(times).date() - timedelta(days=1), max(times).date() + timedelta(days=1)
    lines = [
        "title: Proofs",
        "owner: comms@example.org",
        f"timezone: {zone}",
        "language: en",
        f"starts: {first}",
        f"ends: {last}",
        "aims:",
        "  - id: a",
        "    statement: Prove it",
        "    objectives:",
        "      - id: o",
        "        statement: Everything goes out once",
        "        audiences: [people]",
        f"        indicators: [{{id: i, metric: views, level: output, target: 10, by: {last}}}]",
        "audiences:",
        "  people:",
        "    name: People",
        "    kind: researchers",
        f"    languages: [{', '.join(languages)}]",
        "    intent: aware",
        f"    channels: [{', '.join(channels)}]",
        "messages:",
    ]
    for i, when in enumerate(times):
        lines += [
            f"  - id: m{i}",
            "    audiences: [people]",
            f"    at: {when:%Y-%m-%d %H:%M}",
            f"    title: Finding number {i}",
            f"    body: What we found, part {i}.",
        ]
    folder = root / "campaigns" / "proofs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def recent(minutes: int = 30) -> Callable[[int], datetime]:
    """Due times spread over the last `minutes` minutes of the real clock (UTC, whole
    minutes, at least two minutes ago): due now, for a process that reads the real clock."""
    now = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
    return lambda i: now - timedelta(minutes=2 + i % minutes)


def env() -> dict[str, str]:
    """The environment of the kmcomms processes: the proofs' adapters on the path."""
    environ = {k: v for k, v in os.environ.items() if k != "KMCOMMS_DEBUG"}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN), environ.get("PYTHONPATH")]))
    return environ


def kmcomms(*args: object, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmcomms", *map(str, args)],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, (out or b"").decode(), (err or b"").decode()


def outcomes_of(result: tuple[int, str, str]) -> dict[str, int]:
    """The outcomes of a `publish --due --format json` that ran to its end. Exit 1 is
    allowed only for deliveries that became `unknown` (see the test on it)."""
    code, stdout, stderr = result
    assert code in (0, 1), stdout + stderr
    outcomes: dict[str, int] = json.loads(stdout)["outcomes"]
    assert not outcomes.keys() & {"failed", "lease-lost"}, outcomes
    assert code == 0 or "unknown" in outcomes, stdout + stderr
    return outcomes


def ledger_states(db: Path) -> Counter[str]:
    """Deliveries per state, read straight from an SQLite ledger (no migration, no engine):
    empty when no process got as far as making it."""
    if not db.exists():
        return Counter()
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        try:
            return Counter(dict(con.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()))
        except sqlite3.OperationalError:  # killed before the first migration committed
            return Counter()


# ---------------------------------------------------------------------------- inotify

IN_CLOSE_WRITE, IN_MOVED_TO, IN_DELETE, IN_Q_OVERFLOW = 0x8, 0x80, 0x200, 0x4000
_EVENT = struct.Struct("iIII")


class Outbox:
    """What lands in a folder, as the kernel saw it: inotify events read by a thread of
    this (never killed) process. `writes[name]` counts renames into the folder and
    in-place writes of `name`; `deleted[name]` its removals."""

    def __init__(self, folder: Path) -> None:
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            pytest.skip(f"inotify unavailable: {os.strerror(ctypes.get_errno())}")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.writes: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.overflowed = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="outbox-inotify", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            offset = 0
            with self._lock:
                while offset < len(data):
                    _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                    name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0").decode()
                    offset += _EVENT.size + length
                    if mask & IN_Q_OVERFLOW:
                        self.overflowed = True
                    elif name.endswith(".json") and mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
                        self.writes[name.removesuffix(".json")] += 1
                    elif name.endswith(".json") and mask & IN_DELETE:
                        self.deleted[name.removesuffix(".json")] += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = io_select.select([self.fd], [], [], 0.05)
            if ready:
                self._drain()

    def landed(self) -> int:
        with self._lock:
            return sum(self.writes.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._drain()  # whatever arrived after the last select
        os.close(self.fd)


# ---------------------------------------------------------------------------- HTTP servers


class Server(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 (a free port) in a thread; `handle(request)` says
    what each request gets. Threads are joined on close, so nothing outlives a test."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, handle: Callable[[Handler], None]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.handle_request_with = handle
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    body: bytes = b""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.handle_request_with(self)

    def do_GET(self) -> None:
        self.server.handle_request_with(self)

    def answer(self, status: int, data: object = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if data is None else (data if isinstance(data, bytes) else json.dumps(data).encode())
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up (a timeout)
            self.wfile.write(payload)

    def drop(self) -> None:
        """Close the connection without a word: the client sees it reset mid-request."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------------------- the webhook adapter


def webhook(url: str, **settings: Any) -> Webhook:
    options = WebhookOptions.model_validate({"adapter": "webhook", "url": url, "kind": "blog", **settings})
    return Webhook("hook", options, Path("."))


def draft(key: str = "d1") -> BlogPost:
    return BlogPost(
        delivery=key,
        campaign="c",
        message="m",
        audiences=("a",),
        channel="hook",
        language="en",
        direction="ltr",
        fallback=False,
        title="T",
        acknowledgement="Funded.",
        links=(),
        slug="t",
        excerpt="E",
        tags=("x",),
        html="<p>Hi</p>",
    )


def scripted(*replies: tuple[int, object, dict[str, str]] | str) -> tuple[Server, list[Handler]]:
    """A server answering requests in turn with (status, body, headers), or "drop"."""
    queue, seen = list(replies), []

    def handle(request: Handler) -> None:
        seen.append(request)
        reply = queue.pop(0)
        if reply == "drop":
            request.drop()
        else:
            assert isinstance(reply, tuple)
            request.answer(*reply)

    return Server(handle), seen


def test_the_webhook_adapter_is_registered_and_checks_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert adapter_class("webhook") is Webhook and Webhook.idempotent
    good = webhook("https://hooks.example.org/km/", token="${PROOFS_TOKEN}")
    assert good.options.url == "https://hooks.example.org/km" and good.timeout == 10 and good.kind == "blog"
    assert "PROOFS_TOKEN" not in repr(good.options) and "**" in repr(good.options.token)
    for url, words in [
        ("http://hooks.example.org/km", "only allowed on this machine"),
        ("ftp://x/y", "https://"),
        ("https://user:pw@example.org/", "user or password"),
        ("https://example.org/?a=1", "query"),
    ]:
        with pytest.raises(ValueError, match=words):
            webhook(url)
    for local in ["http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"]:
        assert webhook(local).options.url == local
    with pytest.raises(ValueError, match="kind"):
        WebhookOptions.model_validate({"adapter": "webhook", "url": "https://example.org/"})
    monkeypatch.delenv("PROOFS_TOKEN", raising=False)
    assert ["PROOFS_TOKEN is not set" in p for p in good.check()] == [True]
    with pytest.raises(PermanentError, match="PROOFS_TOKEN is not set"):
        good.publish(draft(), "d1")
    monkeypatch.setenv("PROOFS_TOKEN", "s3cret-value")
    assert good.check() == []


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
    assert retry_after("120", now) == 120 and retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Mon, 11 Jan 2027 09:01:30 GMT", now) == 90
    assert retry_after("Mon, 11 Jan 2027 08:59:00 GMT", now) == 0  # already past: no wait, never negative


def test_the_webhook_maps_every_answer(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PROOFS_TOKEN", "s3cret-value")
    long_error = {"error": {"message": "the title is too long " + "x" * 500}}
    server, seen = scripted(
        (201, {"id": 42, "url": "https://example.org/p/42"}, {}),
        (200, b"", {}),
        (500, {"message": "database down"}, {}),
        (503, b"<html>maintenance</html>", {"Retry-After": "30", "Content-Type": "text/html"}),
        (
            429,
            {"error": "slow down"},
            {"Retry-After": email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)},
        ),
        "drop",
        (422, long_error, {}),
        (401, {"errors": [{"message": "bad token"}]}, {}),
        (302, b"", {"Location": "https://elsewhere.example.org/"}),
        (409, {"error": "a request with this key is in progress"}, {}),
        (200, {"id": "p-7", "url": "https://example.org/p/7"}, {}),
        (404, {"error": "no such key"}, {}),
        (500, b"", {}),
    )
    with server:
        hook = webhook(server.url + "/km", token="${PROOFS_TOKEN}")
        assert hook.publish(draft(), "d1") == Publication("42", "https://example.org/p/42")
        assert hook.publish(draft(), "d2") == Publication("d2", None)  # no body: the key is the id
        with pytest.raises(TransientError, match="500.*database down") as e500:
            hook.publish(draft(), "d3")
        assert e500.value.retry_after is None
        with pytest.raises(TransientError, match="503") as e503:
            hook.publish(draft(), "d3")
        assert e503.value.retry_after == 30
        with pytest.raises(TransientError, match="429.*slow down") as e429:
            hook.publish(draft(), "d3")
        assert e429.value.retry_after is not None and 55 <= e429.value.retry_after <= 60
        with pytest.raises(TransientError, match="connection failed"):
            hook.publish(draft(), "d3")
        with pytest.raises(PermanentError, match=r"publishing d4: refused \(422\): the title is too long x") as e422:
            hook.publish(draft("d4"), "d4")
        assert len(str(e422.value)) < 300 and str(e422.value).endswith("…")
        with pytest.raises(PermanentError, match="401.*bad token"):
            hook.publish(draft(), "d5")
        with pytest.raises(PermanentError, match="redirect to https://elsewhere"):
            hook.publish(draft(), "d6")
        with pytest.raises(TransientError, match="409"):
            hook.publish(draft(), "d7")
        assert hook.find("d7") == Publication("p-7", "https://example.org/p/7")
        assert hook.find("d8") is None
        with pytest.raises(TransientError, match="cannot tell"):
            hook.find("d9")
        hook.session.close()
    posts = [r for r in seen if r.command == "POST"]
    first = posts[0]
    assert first.path == "/km" and first.headers["Idempotency-Key"] == "d1"
    assert first.headers["Authorization"] == "Bearer s3cret-value"
    assert first.headers["Content-Type"] == "application/json"
    body = json.loads(first.body)
    assert body["delivery"] == "d1" and body["kind"] == "blog" and body["draft"]["title"] == "T"
    assert body["draft"] == json.loads(json.dumps(dataclasses.asdict(draft())))
    assert [r.path for r in seen if r.command == "GET"] == ["/km/d7", "/km/d8", "/km/d9"]
    assert all(r.headers["Authorization"] == "Bearer s3cret-value" for r in seen)
    assert "s3cret-value" not in caplog.text and caplog.records  # it logged, and never the token


def test_the_webhook_gives_up_waiting_and_says_so() -> None:
    release = threading.Event()

    def slow(request: Handler) -> None:
        release.wait(5)
        request.answer(200, {"id": "late"})

    with Server(slow) as server:
        hook = webhook(server.url, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(TransientError, match="no answer within 0.2 s"):
            hook.publish(draft(), "d1")
        assert time.monotonic() - started < 2
        release.set()
        hook.session.close()
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = webhook(f"http://127.0.0.1:{port}/nothing-listens")
    with pytest.raises(TransientError, match="connection failed"):
        closed.publish(draft(), "d1")
    closed.session.close()


# ---------------------------------------------------------------------------- crash: SIGKILL


KILLS = 30
CRASH_DELIVERIES = 500
PACE_MS = 5  # per publish, like a remote API: a whole pass takes seconds, so kills land mid-pass
SWEEP = "0.5"


class Publisher:
    """How the crash test runs kmcomms: `kmcomms daemon` (real clock, runs until stopped)
    or `kmcomms publish --due` (one pass, then exit)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = 0

    def start(self) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def clean_exit(self, proc: subprocess.Popen[bytes]) -> None:
        raise AssertionError(f"exited by itself ({finish(proc)}), before it was killed")

    def to_the_end(self, db: Path, total: int) -> dict[str, int]:
        raise NotImplementedError


class ByPublishDue(Publisher):
    """`kmcomms publish --due` on the real clock, started again at once after a kill: it
    takes back at its start what the killed process held, since that process, on this
    host, has ended (its leases have most of a minute to run)."""

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        return kmcomms("publish", "--due", "--format", "json", "-w", self.root)

    def clean_exit(self, proc: subprocess.Popen[bytes]) -> None:
        outcomes_of(finish(proc))

    def to_the_end(self, db: Path, total: int) -> dict[str, int]:
        outcomes = outcomes_of(finish(self.start()))
        again = finish(self.start())
        assert again[0] == 0 and json.loads(again[1])["outcomes"] == {}, again  # nothing left to do
        return outcomes


class ByDaemon(Publisher):
    """`kmcomms daemon` on the real clock (it refuses `--now`), its log lines appended to
    daemon.log, started again at once after a kill: as `publish --due` does, it takes back
    at its first pass what the killed daemon held."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.log = root / "daemon.log"

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        with self.log.open("ab") as sink:
            return subprocess.Popen(
                [sys.executable, "-m", "kmcomms", "daemon", "-w", str(self.root), "--sweep", SWEEP],
                env=env(),
                stdout=sink,
                stderr=sink,
            )

    def to_the_end(self, db: Path, total: int) -> dict[str, int]:
        proc = self.start()
        deadline = time.monotonic() + 60
        while ledger_states(db)["published"] < total and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2 * float(SWEEP))  # another pass or two: nothing more may happen
        proc.send_signal(signal.SIGTERM)
        code, _, _ = finish(proc)
        assert code == 0, self.log.read_text()[-3000:]
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        last = lines[lines.index(next(line for line in reversed(lines) if line["event"] == "started")) :]
        assert last[-1]["event"] == "stopped", last[-3:]
        assert not [line for line in last if line["level"] == "error"], last
        outcomes: Counter[str] = Counter()
        for line in last:
            if line["event"] == "pass":
                outcomes.update({k: v for k, v in line.items() if isinstance(v, int) and k not in ("time",)})
        return dict(outcomes)


@pytest.mark.parametrize("kind", [pytest.param(ByDaemon, id="daemon"), pytest.param(ByPublishDue, id="publish-due")])
def test_a_publisher_killed_at_random_moments_publishes_everything_exactly_once(
    tmp_path: Path, kind: type[Publisher]
) -> None:
    """A real kmcomms process over 500 due deliveries (50 messages × 2 languages × 5
    channels, due in the last half hour of the real clock), SIGKILLed at random moments
    at least 30 times and restarted, then run to the end. A third of the kills come at a
    random time after the start (importing, migrating, syncing or publishing), the rest a
    random moment after a few more files were seen to land (in the middle of publishing,
    claims held). Four channels are `folder` taking PACE_MS per publish (idempotent: an
    expired claim is retried); the fifth is the same declared not idempotent, so an expired
    claim makes its delivery `unknown`, for `find()` to settle."""
    rng = random.Random(int(os.environ.get("KMCOMMS_PROOFS_SEED", "20270328")))
    root = tmp_path / "ws"
    channels: dict[str, dict[str, object]] = {
        f"c{i}": {
            "adapter": "proofs-paced-folder",
            "kind": "blog",
            "path": "out",
            "pace_ms": PACE_MS,
            "grace_minutes": 100_000,
        }
        for i in range(4)
    }
    channels["unkeyed"] = {
        "adapter": "proofs-unkeyed-folder",
        "kind": "blog",
        "path": "out",
        "pace_ms": PACE_MS,
        "grace_minutes": 100_000,
    }
    write_workspace(root, "sqlite:///ledger.db", channels, messages=50, languages=["en", "pl"], due=recent())
    out, db = root / "out", root / "ledger.db"
    out.mkdir()
    publisher = kind(root)
    started = time.monotonic()
    outbox = Outbox(out)
    kills = clean = interrupted = 0
    stranded: set[str] = set()  # deliveries of the unkeyed channel a kill left `sending`: `unknown` next
    try:
        while kills < KILLS:
            if time.monotonic() - started > 300:  # a bound on the loop, not a speed check
                break
            proc = publisher.start()
            if publisher.runs % 3 == 1:  # anywhere: importing, migrating, syncing, rendering, publishing
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(rng.uniform(0.05, 1.3))
            else:  # after a few more files landed, a moment later: in the middle of publishing
                until, limit = outbox.landed() + rng.randint(1, 6), time.monotonic() + 10
                while proc.poll() is None and outbox.landed() < until and time.monotonic() < limit:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0, 0.02))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                code, _, _ = finish(proc)
                assert code == -signal.SIGKILL
                kills += 1
                with (
                    contextlib.closing(sqlite3.connect(db, timeout=30)) as con,
                    contextlib.suppress(sqlite3.OperationalError),
                ):  # killed before the ledger was made
                    held = con.execute("SELECT id, channel FROM deliveries WHERE state = 'sending'").fetchall()
                    interrupted += bool(held)
                    stranded.update(i for i, channel in held if channel == "unkeyed")
            else:
                publisher.clean_exit(proc)
                clean += 1
        progress = ledger_states(db)
        outcomes = publisher.to_the_end(db, CRASH_DELIVERIES)  # then let it run to the end
    finally:
        outbox.close()
    elapsed = time.monotonic() - started

    states = ledger_states(db)
    engine = store.open_store("sqlite:///ledger.db", root)
    try:
        with engine.connect() as con:
            published = {r.delivery_id: r for r in con.execute(select(publications))}
            ids = set(con.execute(select(deliveries.c.id)).scalars())
            found_again = set(
                con.execute(select(deliveries.c.id).where(deliveries.c.reason == "found on the channel")).scalars()
            )
    finally:
        engine.dispose()
    files = {p.stem: p for p in out.glob("*.json")}
    duplicates = {k: n for k, n in outbox.writes.items() if n > 1}
    log.warning(
        "crash proof (%s): %d runs, %d SIGKILLs (%d with claims held), %d clean exits; before the final run %s, "
        "which did %s; %d deliveries, %d files, %d written twice; %d deliveries left unknown by kills, "
        "%d of them found on the channel by find(); %.1f s",
        kind.__name__,
        publisher.runs,
        kills,
        interrupted,
        clean,
        dict(progress),
        outcomes,
        len(ids),
        len(files),
        len(duplicates),
        len(stranded),
        len(found_again),
        elapsed,
    )

    assert kills >= KILLS and interrupted >= KILLS // 3  # the kills did land in the middle of the work
    assert stranded and found_again <= stranded  # deliveries did become `unknown` (and were settled: see states)
    assert len(ids) == CRASH_DELIVERIES and states == {"published": CRASH_DELIVERIES}  # none lost, none unknown
    assert set(published) == ids
    assert set(files) == ids  # one file per delivery id, nothing else
    assert all(json.loads(p.read_text(encoding="utf-8"))["delivery"] == key for key, p in files.items())
    assert not outbox.overflowed
    assert duplicates == {} and set(outbox.writes) == ids and not outbox.deleted  # each written exactly once


def _dead_claim(root: Path, url: str, ago: timedelta) -> str:
    """Sync the workspace's ledger and claim its one due delivery as a worker that died
    `ago`; returns the delivery's id."""
    loaded = load_paths([root])
    loaded.raise_for_errors()
    workspace = loaded.workspaces[0]
    engine = store.open_store(url, workspace.root)
    try:
        now = datetime.now(UTC)
        Dispatcher(engine, workspace, loaded, {}, worker="dead").sync(now)
        [row] = claim(engine, "dead", now - ago, LEASE)
        return str(row.id)
    finally:
        engine.dispose()


def test_publish_due_exits_0_when_it_settled_every_unknown_it_found(tmp_path: Path) -> None:
    root = write_workspace(
        tmp_path / "ws",
        "sqlite:///ledger.db",
        {"unkeyed": {"adapter": "proofs-unkeyed-folder", "kind": "blog", "path": "out"}},
        messages=1,
        languages=["en"],
        due=lambda i: datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=30),
    )
    key = _dead_claim(root, "sqlite:///ledger.db", LEASE + timedelta(minutes=1))
    code, stdout, stderr = finish(kmcomms("publish", "--due", "--format", "json", "-w", root))
    assert json.loads(stdout)["outcomes"] == {"unknown": 1, "reconciled-unsent": 1, "published": 1}, stderr
    assert ledger_states(root / "ledger.db") == {"published": 1} and (root / "out" / f"{key}.json").exists()
    assert code == 0, "nothing failed and nothing needs a person"


# ---------------------------------------------------------------------------- two daemons, one PostgreSQL


def test_two_daemons_on_one_postgresql_publish_each_delivery_once(tmp_path: Path, postgres_url: str) -> None:
    """Two `kmcomms daemon` processes (real clock) on one PostgreSQL ledger over 2,000 due
    deliveries (100 messages × 4 languages × 5 channels) through `proofs-counting`, an
    adapter with no idempotency that appends one line per publish call (O_APPEND, one
    write) to a log: each key must be there exactly once. Stopped with SIGTERM at the end."""
    total = 2000
    channels: dict[str, dict[str, object]] = {
        f"c{i}": {"adapter": "proofs-counting", "kind": "blog", "log": "calls.log", "grace_minutes": 100_000}
        for i in range(5)
    }
    root = write_workspace(
        tmp_path / "ws", postgres_url, channels, messages=100, languages=["en", "pl", "ro", "ur"], due=recent()
    )
    started = time.monotonic()
    logs = [root / f"daemon{i}.log" for i in range(2)]
    procs = []
    for path in logs:
        with path.open("ab") as sink:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "kmcomms", "daemon", "-w", str(root), "--sweep", SWEEP],
                    env=env(),
                    stdout=sink,
                    stderr=sink,
                )
            )
    engine = store.open_store(postgres_url, root, upgrade=False)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            with contextlib.suppress(sqlalchemy.exc.DBAPIError):  # the daemons may not have made the tables yet
                if counts(engine)["published"] == total:
                    break
            time.sleep(0.2)
        time.sleep(2 * float(SWEEP))
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [finish(p)[0] for p in procs]
        final = counts(engine)
        with engine.connect() as con:
            tries = Counter(con.execute(select(attempts.c.delivery_id)).scalars())
            ids = set(con.execute(select(deliveries.c.id)).scalars())
            workers = Counter(con.execute(select(attempts.c.worker)).scalars())
    finally:
        engine.dispose()
    elapsed = time.monotonic() - started
    calls = [line.split() for line in (root / "calls.log").read_text().splitlines()]
    per_key = Counter(key for key, _ in calls)
    per_pid = Counter(pid for _, pid in calls)
    switches = sum(1 for a, b in itertools.pairwise(calls) if a[1] != b[1])
    duplicates = {k: n for k, n in per_key.items() if n > 1}
    log.warning(
        "two daemons: %d deliveries, %d publish calls, %d duplicates, calls per daemon %s (the log switches "
        "daemon %d times), %s; %.1f s",
        len(ids),
        len(calls),
        len(duplicates),
        dict(per_pid),
        switches,
        {k: v for k, v in final.items() if v},
        elapsed,
    )

    assert codes == [0, 0], [p.read_text()[-2000:] for p in logs]
    assert len(ids) == total and final["published"] == total  # none lost
    assert duplicates == {} and set(per_key) == ids  # none twice
    assert set(tries.values()) == {1}  # one attempt each, in the ledger too
    assert len(per_pid) == 2 and len(workers) == 2 and switches >= 2  # both did the work, at the same time


# ---------------------------------------------------------------------------- webhook vs. a hostile endpoint


class Endpoint:
    """A webhook receiver that honours Idempotency-Key like Stripe: the first outcome of a
    key is stored and replayed; a key reused with another body is refused (422); requests
    for one key are served one at a time. It misbehaves at random (seeded): 500; 429 with
    Retry-After (seconds, or an HTTP date); publishing and then answering too late for
    the client; dropping the connection unanswered; publishing and then dropping the
    connection (the publication made, the answer lost); or a plain success.

    `made[key]` counts publications made for a key (what a receiver without the key
    would have done on every request that got as far as publishing)."""

    FATES = ("ok", "500", "429", "slow", "drop", "lost")
    WEIGHTS = (35, 13, 13, 13, 13, 13)

    def __init__(self, seed: int, clock: Callable[[], datetime], token: str, slow: float) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.token = token
        self.slow = slow
        self.lock = threading.Lock()
        self.key_locks: dict[str, threading.Lock] = {}
        self.results: dict[str, dict[str, str]] = {}
        self.bodies: dict[str, str] = {}
        self.made: Counter[str] = Counter()
        self.would_have_made: Counter[str] = Counter()
        self.log: list[tuple[str, str, datetime, float | None]] = []  # key, fate, fake time, retry-after asked
        self.refused: list[str] = []

    def __call__(self, request: Handler) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.refused.append("token")
            request.answer(401, {"error": "bad token"})
            return
        if request.command == "GET":
            key = request.path.rsplit("/", 1)[-1]
            found = self.results.get(key)
            request.answer(200, found) if found else request.answer(404, {"error": "no such key"})
            return
        key = request.headers.get("Idempotency-Key", "")
        body = json.loads(request.body)
        if not key or body.get("delivery") != key or request.headers.get("Content-Type") != "application/json":
            self.refused.append(f"contract: {key!r}")
            request.answer(400, {"error": "Idempotency-Key missing or not the delivery"})
            return
        with self.lock:
            fate = self.rng.choices(self.FATES, self.WEIGHTS)[0]
            wait = None
            if fate == "429":
                wait = self.rng.choice([90.0, 300.0])
            self.log.append((key, fate, self.clock(), wait))
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        if fate == "500":
            request.answer(500, {"error": "internal error"})
        elif fate == "429":
            assert wait is not None
            header = (
                str(int(wait))
                if wait == 90
                else email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=wait), usegmt=True)
            )
            request.answer(429, {"error": "rate limited"}, {"Retry-After": header})
        elif fate == "drop":
            request.drop()
        else:
            with key_lock:
                digest = hashlib.sha256(request.body).hexdigest()
                if self.bodies.setdefault(key, digest) != digest:
                    self.refused.append(f"changed body: {key}")
                    request.answer(422, {"error": "this key was used with other parameters"})
                    return
                self.would_have_made[key] += 1
                if key not in self.results:
                    self.made[key] += 1
                    self.results[key] = {"id": f"post-{len(self.results) + 1}", "url": f"https://example.org/p/{key}"}
                if fate == "slow":
                    time.sleep(self.slow)
                if fate == "lost":
                    request.drop()
                else:
                    request.answer(201, self.results[key])


def test_the_webhook_publishes_everything_once_through_an_endpoint_that_fails_at_random(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The dispatcher, on a fake clock moved past each retry time, drives 40 deliveries
    (10 messages × 2 languages × 2 webhook channels) into the hostile `Endpoint` until none
    is left: all published, each publication made once on the remote side, Retry-After
    honoured, and the ledger holding the remote's id for each."""
    caplog.set_level(logging.DEBUG)
    token = "tok-" + "7" * 20
    monkeypatch.setenv("PROOFS_WEBHOOK_TOKEN", token)
    clock = Clock(datetime(2027, 1, 11, 9, 0, tzinfo=UTC))
    endpoint = Endpoint(seed=11, clock=clock, token=token, slow=0.5)
    with Server(endpoint) as server:
        common = {
            "adapter": "webhook",
            "token": "${PROOFS_WEBHOOK_TOKEN}",
            "timeout": 0.2,
            "max_attempts": 40,
            "grace_minutes": 100_000,
        }
        channels: dict[str, dict[str, object]] = {
            "site": {**common, "url": f"{server.url}/hooks/site", "kind": "blog"},
            "news": {**common, "url": f"{server.url}/hooks/news", "kind": "newsletter"},
        }
        root = write_workspace(
            tmp_path / "ws",
            f"sqlite:///{tmp_path / 'ledger.db'}",
            channels,
            messages=10,
            languages=["en", "pl"],
            due=lambda i: datetime(2027, 1, 11, 9, 0),
        )
        loaded = load_paths([root])
        loaded.raise_for_errors()
        workspace = loaded.workspaces[0]
        engine = store.open_store(workspace.settings.store.url, workspace.root)
        hooks = open_channels(workspace)
        assert {type(c) for c in hooks.values()} == {Webhook}
        d = Dispatcher(engine, workspace, loaded, hooks, worker="w1", clock=clock, rng=random.Random(3))
        try:
            assert d.sync(clock.now).added == 40
            passes = 0
            outcomes: Counter[str] = Counter()
            while True:
                outcomes.update(d.publish_due().outcomes)
                passes += 1
                with engine.connect() as con:
                    waiting = (
                        con.execute(select(deliveries.c.not_before).where(deliveries.c.state.in_(OPEN))).scalars().all()
                    )
                if not waiting:
                    break
                assert passes < 400, outcomes
                clock.now = max(clock.now, min(w or clock.now for w in waiting)) + timedelta(seconds=1)
            with engine.connect() as con:
                states = Counter(con.execute(select(deliveries.c.state)).scalars())
                remote = dict(con.execute(select(publications.c.delivery_id, publications.c.remote_id)).all())
                reasons = " ".join(filter(None, con.execute(select(attempts.c.error)).scalars()))
        finally:
            for channel in hooks.values():
                channel.session.close()
            engine.dispose()
    fates = Counter(fate for _, fate, _, _ in endpoint.log)
    requests_per_key = Counter(key for key, _, _, _ in endpoint.log)
    replays = sum(n - 1 for n in endpoint.would_have_made.values())
    log.warning(
        "webhook proof: %d requests %s over %d passes (fake time +%s); dispatcher %s; %d publications made, "
        "%d requests replayed that would have published again without the key",
        len(endpoint.log),
        dict(fates),
        passes,
        clock.now - datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
        dict(outcomes),
        sum(endpoint.made.values()),
        replays,
    )

    assert endpoint.refused == []  # the contract was kept on every request
    assert states == {"published": 40}  # everything went out
    assert set(endpoint.made) == set(remote) and set(endpoint.made.values()) == {1}  # each made exactly once
    assert all(remote[k] == endpoint.results[k]["id"] for k in remote)  # the ledger has the remote's own id
    assert all(fates[f] > 0 for f in Endpoint.FATES) and replays > 0  # every misbehaviour happened, answers were lost
    assert max(requests_per_key.values()) > 2
    # Retry-After was honoured: no request for a key came before the time the 429 asked for.
    for index, (key, fate, at, wait) in enumerate(endpoint.log):
        if fate == "429":
            later = [t for k, _, t, _ in endpoint.log[index + 1 :] if k == key]
            assert later and later[0] >= at + timedelta(seconds=wait - 2), (key, at, wait, later[:1])
    assert "no answer within 0.2 s" in reasons and "connection failed" in reasons and "429" in reasons
    assert token not in caplog.text and token not in reasons


# ---------------------------------------------------------------------------- upgrade 0001 → head


def _rows(engine: Engine, table: sqlalchemy.Table, columns: list[str]) -> list[tuple[Any, ...]]:
    """The `columns` of every row of `table`, in primary-key order. The columns are named
    as they were at the revision the rows were written (0006 renamed `audience`)."""
    old = sqlalchemy.table(
        table.name, *(sqlalchemy.column(c, table.c[c].type if c in table.c else None) for c in columns)
    )
    keys = [old.c[c.name] for c in table.primary_key.columns]
    with engine.connect() as con:
        return [tuple(r) for r in con.execute(select(*old.c).order_by(*keys))]


def test_a_ledger_made_at_0001_upgrades_with_every_row_intact(tmp_path: Path, store_url: str) -> None:
    url = store.store_url(store_url, tmp_path)
    old = create_engine(url)
    if old.dialect.name == "sqlite":
        event.listen(old, "connect", store._sqlite_pragmas)
    store.migrate(old, "0001")
    assert store.current_revision(old) == "0001"
    t = datetime(2027, 1, 11, 9, 0, 30, 123000, tzinfo=UTC)
    data: dict[sqlalchemy.Table, list[dict[str, Any]]] = {
        deliveries: [
            {
                "id": f"d{i}",
                "campaign": "trial",
                "message": "launch",
                "occurrence": "2027-01-11T09:00",
                "audience": "parents",
                "language": lang,
                "channel": "blog",
                "due_at": t + timedelta(hours=i),
                "timezone": "Europe/London",
                "state": state,
                "reason": reason,
                "attempts": i,
                "lease_owner": owner,
                "lease_until": until,
                "planned_at": t,
                "updated_at": t + timedelta(minutes=i),
            }
            for i, (lang, state, reason, owner, until) in enumerate(
                [
                    ("en", "published", None, None, None),
                    ("ur", "blocked", "no translation into ur — add ur/trial.po", None, None),
                    ("pl", "sending", None, "host:42", t + timedelta(minutes=10)),
                    ("cy", "failed", "400 «title» too long", None, None),
                ]
            )
        ],
        attempts: [
            {
                "id": 7,
                "delivery_id": "d0",
                "worker": "host:41",
                "started_at": t,
                "finished_at": t + timedelta(seconds=1),
                "outcome": "published",
                "error": None,
                "duration_ms": 1000,
            },
            {
                "id": 9,
                "delivery_id": "d3",
                "worker": "host:41",
                "started_at": t,
                "finished_at": t,
                "outcome": "permanent",
                "error": "400 «title» too long",
                "duration_ms": 0,
            },
        ],
        publications: [
            {
                "delivery_id": "d0",
                "remote_id": "42",
                "url": "https://example.org/p/42",
                "published_at": t + timedelta(seconds=1),
                "content_hash": "ab" * 32,
            }
        ],
        approvals: [
            {
                "id": 3,
                "campaign": "trial",
                "message": "launch",
                "content_hash": "cd" * 32,
                "approved_by": "A. Lead",
                "approved_at": t,
            }
        ],
        reach_samples: [
            {
                "id": 1,
                "delivery_id": "d0",
                "campaign": "trial",
                "metric": "views",
                "value": 12.5,
                "observed_at": t,
                "source": "channel",
                "quality": None,
            },
            {
                "id": 2,
                "delivery_id": None,
                "campaign": "trial",
                "metric": "attendees",
                "value": 30.0,
                "observed_at": t,
                "source": "manual",
                "quality": "counted at the door",
            },
        ],
        evidence: [
            {
                "id": 5,
                "campaign": "trial",
                "kind": "policy-citation",
                "title": "Cited in a NICE guideline",
                "happened_on": t,
                "source": "NICE",
                "url": "https://example.org/nice",
                "notes": "p. 12",
            }
        ],
        contacts: [
            {
                "id": 4,
                "list": "parents",
                "email": "a@example.org",
                "name": "Ã Ñame",
                "language": "ur",
                "audience": "parents",
                "consent_date": t,
                "unsubscribed_at": None,
                "bounced_at": t + timedelta(days=3),
            }
        ],
    }
    columns = {table: list(rows[0]) for table, rows in data.items()}
    with old.begin() as con:
        for table, rows in data.items():
            for row in rows:
                # Only the columns revision 0001 has (today's tables may have more, or rename one).
                con.execute(
                    insert(
                        sqlalchemy.table(
                            table.name, *(sqlalchemy.column(c, table.c[c].type if c in table.c else None) for c in row)
                        )
                    ).values(row)
                )
    before = {table: _rows(old, table, columns[table]) for table in data}
    old.dispose()
    assert all(len(before[table]) == len(rows) for table, rows in data.items())

    engine = store.open_store(store_url, tmp_path)  # what every kmcomms command does: upgrade to head
    try:
        assert store.current_revision(engine) == store.head_revision() != "0001"
        renamed = {**columns, deliveries: ["audiences" if c == "audience" else c for c in columns[deliveries]]}  # 0006
        after = {table: _rows(engine, table, renamed[table]) for table in data}
        for table in data:
            assert after[table] == before[table], table.name
        assert after[deliveries][0][columns[deliveries].index("due_at")] == t  # aware UTC, to the millisecond
        with engine.connect() as con:
            assert con.execute(select(deliveries.c.not_before)).scalars().all() == [None] * 4  # 0002's column, empty
            assert (
                con.execute(
                    select(
                        reach_samples.c.message,
                        reach_samples.c.audience,
                        reach_samples.c.language,
                        reach_samples.c.channel,
                    )
                ).all()
                == [(None,) * 4] * 2
            )  # 0005's columns, empty
        assert counts(engine)["published"] == 1 and counts(engine)["sending"] == 1
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- DST


def test_deliveries_across_the_2027_clock_changes_go_out_at_the_right_instants(tmp_path: Path) -> None:
    """Europe/London, 2027: clocks go forward at 01:00 GMT on 28 March (01:00-02:00 local
    does not exist) and back at 02:00 BST on 31 October (01:00-02:00 local happens twice).
    The instants are written out by hand, not computed with zoneinfo."""
    expected = {
        datetime(2027, 3, 28, 0, 30): datetime(2027, 3, 28, 0, 30, tzinfo=UTC),  # GMT
        datetime(2027, 3, 28, 1, 30): datetime(2027, 3, 28, 1, 0, tzinfo=UTC),  # in the gap: at the change, 02:00 BST
        datetime(2027, 3, 28, 2, 30): datetime(2027, 3, 28, 1, 30, tzinfo=UTC),  # BST
        datetime(2027, 10, 31, 0, 30): datetime(2027, 10, 30, 23, 30, tzinfo=UTC),  # BST
        datetime(2027, 10, 31, 1, 30): datetime(2027, 10, 31, 0, 30, tzinfo=UTC),  # twice: the first, BST
        datetime(2027, 10, 31, 2, 30): datetime(2027, 10, 31, 2, 30, tzinfo=UTC),  # GMT
    }
    walls = sorted(expected)
    root = write_workspace(
        tmp_path / "ws",
        f"sqlite:///{tmp_path / 'ledger.db'}",
        {"blog": {"adapter": "folder", "path": "out"}},
        messages=len(walls),
        languages=["en"],
        due=lambda i: walls[i],
        zone="Europe/London",
    )
    clock = Clock(datetime(2027, 3, 1, tzinfo=UTC))
    loaded = load_paths([root])
    loaded.raise_for_errors()
    notes = " ".join(note.text for note in plan_of(loaded, ALL_TIME, clock.now).notes)
    assert "2027-03-28 01:30 does not exist" in notes and "2027-10-31 01:30 happens twice" in notes
    workspace = loaded.workspaces[0]
    engine = store.open_store(workspace.settings.store.url, workspace.root)
    d = Dispatcher(engine, workspace, loaded, open_channels(workspace), worker="w1", clock=clock)
    try:
        d.sync(clock.now)
        with engine.connect() as con:
            due = {
                datetime.fromisoformat(r.occurrence): (r.id, r.due_at)
                for r in con.execute(select(deliveries.c.id, deliveries.c.occurrence, deliveries.c.due_at))
            }
        assert {wall: at for wall, (_, at) in due.items()} == expected
        for wall in walls:
            key, instant = due[wall][0], expected[wall]
            clock.now = instant - timedelta(seconds=1)
            assert d.publish_due().outcomes.get("published", 0) == 0, f"{wall} went out before {instant}"
            assert not (root / "out" / f"{key}.json").exists()
            clock.now = instant
            assert d.publish_due().outcomes == {"published": 1}, f"{wall} did not go out at {instant}"
            assert (root / "out" / f"{key}.json").exists()
        assert counts(engine)["published"] == 6
    finally:
        engine.dispose()


OPEN_AT = """
import sys, time
from pathlib import Path
from kmcomms.ledger.store import open_store
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
open_store(sys.argv[1], Path(".")).dispose()
"""


def test_processes_opening_a_new_postgresql_store_at_once_take_turns_to_migrate(
    postgres_url: str, tmp_path: Path
) -> None:
    """Daemons started together on a new PostgreSQL store (or on one a new kmcomms must
    upgrade) all find it behind and all migrate. Found by the two-daemon proof: the
    second daemon died with "duplicate key value violates unique constraint
    pg_type_typname_nsp_index … (alembic_version)" and exit 70. Four processes open a
    fresh store at the same instant, three times over: each must get a store at head."""
    for _ in range(3):
        at = time.time() + 1.5  # all four have imported kmcomms by then
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT, postgres_url, str(at)],
                env=env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        results = [finish(p) for p in procs]
        engine = create_engine(postgres_url)
        try:
            failures = [
                next((line for line in reversed(err.splitlines()) if "Error" in line), err[-300:])
                for code, _, err in results
                if code != 0
            ]
            assert failures == [] and store.current_revision(engine) == store.head_revision()
            found = sqlalchemy.MetaData()
            found.reflect(engine)
            found.drop_all(engine)  # empty again, for the next round
        finally:
            engine.dispose()
