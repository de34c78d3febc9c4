"""The tracking server over real HTTP and a real store (SQLite and PostgreSQL): clicks
redirect only to the registered link and are counted, machines are told apart, the open
pixel, one-click unsubscribe, privacy (nothing about the reader stored or logged), and
`kmcomms track` and the daemon serving it.

The drafts are real: `kmcomms publish --due` publishes a campaign through the `folder`
adapter with `[tracking]` on, so its links are the tracking server's click addresses.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from conftest import run_cli, wait_for
from sqlalchemy import Engine, insert, select
from workspaces import campaign_yaml, settings_toml

from kmcomms.campaign.workspace import load_workspace
from kmcomms.daemon.demo import free_port
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import (
    contacts,
    deliveries,
    metadata,
    reach_samples,
    recipients,
    suppressions,
    tracked_links,
)
from kmcomms.ledger.tracking import tracker_for
from kmcomms.reach.tracking import TrackingServer, serve
from kmcomms.reach.tracking_answers import MACHINE_OPENS
from kmcomms.render.tracking import Tracker

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
BASE = "https://track.example.org/km"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

BLOG = '[channels.blog]\nadapter = "folder"\nkind = "blog"\npath = "out/blog"\n'
LAUNCH = """\
  - id: launch
    audiences: [parents]
    at: {at}
    title: The films are out
    body: |
      Watch [the films](https://example.org/films?lang=en) and read [the study](https://doi.org/10.1000/xyz).
"""


def write_workspace(root: Path, url: str, tracking: str | None = BASE, at: datetime = NOW) -> Path:
    """A workspace whose blog (a `folder` channel) gets one message with two links at `at`;
    `tracking`: the tracking server's base address, or None for no `[tracking]`."""
    (root / "campaigns" / "trial").mkdir(parents=True, exist_ok=True)
    (root / "kmcomms.toml").write_text(settings_toml(url, tracking=tracking, channels=BLOG), encoding="utf-8")
    (root / "campaigns" / "trial" / "campaign.yaml").write_text(
        campaign_yaml(
            LAUNCH.format(at=at.strftime("%Y-%m-%d %H:%M:%S")),
            timezone="UTC",
            starts=(at - timedelta(days=1)).date(),
            ends=(at + timedelta(days=30)).date(),
            metric="clicks",
            level="outtake",
        ),
        encoding="utf-8",
    )
    return root


@dataclass
class Site:
    """A published workspace and its tracking server."""

    engine: Engine
    tracker: Tracker
    server: TrackingServer
    draft: dict[str, Any]

    @property
    def delivery(self) -> str:
        return self.draft["delivery"]

    def clicks(self) -> dict[str, str]:
        """link id → the click address the reader got in the published HTML."""
        found = re.findall(r'href="([^"]+)"', self.draft["html"])
        return {urlsplit(url).path.split(".")[-2]: url for url in found}

    def targets(self) -> dict[str, str]:
        """link id → the tagged address registered for it."""
        with self.engine.connect() as db:
            return {
                r.link_id: r.url
                for r in db.execute(select(tracked_links).where(tracked_links.c.delivery_id == self.delivery))
            }

    def request(self, method: str, address: str, agent: str | None = BROWSER, **kwargs: Any) -> requests.Response:
        """`address` (a tracking URL under BASE, or a path) asked of the running server."""
        parts = urlsplit(address)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": agent, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.server.url + path, headers=headers, allow_redirects=False, timeout=10, **kwargs
        )

    def samples(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            return [dict(r._mapping) for r in db.execute(select(reach_samples).order_by(reach_samples.c.id))]

    def metrics(self) -> list[str]:
        return [s["metric"] for s in self.samples()]


@pytest.fixture
def site(tmp_path: Path, store_url: str) -> Iterator[Site]:
    root = write_workspace(tmp_path / "unit", store_url)
    code, out, err = run_cli("--now", NOW.isoformat(), "publish", "--due", "-w", root)
    assert code == 0, out + err
    [published] = (root / "out" / "blog").glob("*.json")
    engine = open_store(store_url, root)
    tracker = tracker_for(engine, load_workspace(root).settings, NOW)
    assert tracker is not None
    server = serve(engine, tracker, "127.0.0.1", 0, lambda: NOW, sender="Test unit")
    try:
        yield Site(engine, tracker, server, json.loads(published.read_text(encoding="utf-8")))
    finally:
        server.shutdown()
        engine.dispose()


def tamper(text: str, at: int) -> str:
    """`text` with the character at `at` changed."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


# ------------------------------------------------------------------ clicks


def test_a_click_redirects_to_the_registered_tagged_link_and_counts_one_click(site: Site) -> None:
    clicks, targets = site.clicks(), site.targets()
    assert len(clicks) == 2 and clicks.keys() == targets.keys() == {link["id"] for link in site.draft["links"]}
    for link, address in clicks.items():
        assert address.startswith(f"{BASE}/r/")
        reply = site.request("GET", address)
        assert reply.status_code == 302
        assert reply.headers["Location"] == targets[link]
        assert f"utm_id={site.delivery}" in reply.headers["Location"]
    # A reverse proxy that strips the base path is answered the same.
    link, address = next(iter(clicks.items()))
    assert site.request("GET", address.removeprefix(BASE)).headers["Location"] == targets[link]
    samples = site.samples()
    assert [
        (s["delivery_id"], s["campaign"], s["metric"], s["value"], s["observed_at"], s["source"], s["quality"])
        for s in samples
    ] == [(site.delivery, "trial", "clicks", 1, NOW, "tracking", None)] * 3


def test_tampered_unknown_and_unregistered_click_tokens_all_get_the_same_404(site: Site) -> None:
    link, address = next(iter(site.clicks().items()))
    token = urlsplit(address).path.rsplit("/", 1)[1]
    delivery, _, signature = token.split(".")
    forged = [
        f"{delivery}.{link}.{tamper(signature, 5)}",  # the signature
        f"{tamper(delivery, 0)}.{link}.{signature}",  # the delivery
        f"{delivery}.{tamper(link, 3)}.{signature}",  # the link
        urlsplit(site.tracker.click_url(site.delivery, "0123456789")).path.rsplit("/", 1)[1],  # signed, not registered
        urlsplit(site.tracker.click_url("000000000000", link)).path.rsplit("/", 1)[1],  # signed, no such delivery
        f"{delivery}.{link}",
        "x",
        f"{token}.x",
    ]
    replies = [site.request("GET", f"/km/r/{t}") for t in forged]
    replies += [
        site.request("GET", f"/km/r/{token}/https://evil.example"),
        site.request("GET", "/km/r/"),
        site.request("POST", f"/km/r/{token}"),
        site.request("GET", Tracker(BASE, "another key").click_url(site.delivery, link)),
    ]
    assert {r.status_code for r in replies} == {404}
    assert all("Location" not in r.headers for r in replies)
    assert len({r.content for r in replies}) == 1  # no way to tell "bad signature" from "unknown"
    assert b"evil" not in replies[0].content
    assert site.samples() == []

    # Nothing from the query string is ever a target.
    reply = site.request("GET", f"{address}?next=https://evil.example&url=https://evil.example")
    assert reply.status_code == 302 and reply.headers["Location"] == site.targets()[link]


@pytest.mark.parametrize(
    ("agent", "headers"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b", {}),
        ("Barracuda Sentinel (EE)", {}),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", {}),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", {}),
        ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", {}),
        (None, {}),
        (BROWSER, {"Sec-Purpose": "prefetch"}),
        (BROWSER, {"Purpose": "prefetch"}),
    ],
)
def test_scanners_and_prefetches_are_redirected_but_counted_as_automated(
    site: Site, agent: str | None, headers: dict[str, str]
) -> None:
    link, address = next(iter(site.clicks().items()))
    reply = site.request("GET", address, agent=agent, headers=headers)
    assert reply.status_code == 302 and reply.headers["Location"] == site.targets()[link]
    assert site.metrics() == ["clicks-automated"]


def test_a_head_request_is_redirected_and_counted_as_automated(site: Site) -> None:
    link, address = next(iter(site.clicks().items()))
    reply = site.request("HEAD", address)
    assert reply.status_code == 302 and reply.headers["Location"] == site.targets()[link]
    site.request("GET", address)
    assert site.metrics() == ["clicks-automated", "clicks"]


def test_nothing_about_the_reader_is_stored(site: Site) -> None:
    agent = f"{BROWSER} reader-agent-7f3a"
    address = next(iter(site.clicks().values()))
    site.request("GET", address, agent=agent, headers={"X-Forwarded-For": "203.0.113.77", "Cookie": "id=cookie-9c1e"})
    site.request("GET", site.tracker.open_url(site.delivery), agent=agent, headers={"X-Forwarded-For": "203.0.113.77"})
    assert site.metrics() == ["clicks", "opens"]
    sample = site.samples()[0]
    assert set(sample) == {
        "id",
        "delivery_id",
        "campaign",
        "metric",
        "value",
        "observed_at",
        "source",
        "quality",
        "message",
        "audience",
        "language",
        "channel",
    }
    # What a manual record names (the delivery's message, audience, …): a tracking event names nothing.
    assert [sample[k] for k in ("message", "audience", "language", "channel")] == [None] * 4
    with site.engine.connect() as db:
        stored = " ".join(
            str(value) for table in metadata.sorted_tables for row in db.execute(select(table)) for value in row
        )
    for personal in ("reader-agent-7f3a", "Firefox", "203.0.113.77", "127.0.0.1", "cookie-9c1e"):
        assert personal not in stored


# ------------------------------------------------------------------ the open pixel


def test_the_open_pixel_is_a_transparent_gif_that_counts_opens(site: Site) -> None:
    address = site.tracker.open_url(site.delivery)
    assert address.endswith(".gif")
    for url in (address, address.removesuffix(".gif")):
        reply = site.request("GET", url)
        assert reply.status_code == 200
        assert reply.headers["Content-Type"] == "image/gif" and reply.headers["Cache-Control"] == "no-store"
        assert reply.content.startswith(b"GIF89a") and len(reply.content) == 43
    gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    site.request("GET", address, agent=gmail)  # fetched when the reader opens the mail
    site.request("GET", address, agent="Mozilla/5.0 (compatible; Proofpoint URL Defense)")
    assert [(s["metric"], s["quality"], s["delivery_id"], s["campaign"]) for s in site.samples()] == [
        ("opens", MACHINE_OPENS, site.delivery, "trial")
    ] * 3 + [("opens-automated", None, site.delivery, "trial")]

    token = urlsplit(address).path.rsplit("/", 1)[1]
    for forged in (
        tamper(token, 3),
        tamper(token, len(token) - 6),
        token.replace(".gif", ".png"),
        urlsplit(site.tracker.open_url("000000000000")).path.rsplit("/", 1)[1],
    ):
        reply = site.request("GET", f"/km/o/{forged}")
        assert reply.status_code == 404 and not reply.content.startswith(b"GIF")
    assert len(site.samples()) == 4


# ------------------------------------------------------------------ unsubscribe

READER, OTHER = "reader@example.org", "other@example.org"


def add_contacts(engine: Engine, delivery: str) -> None:
    with engine.begin() as db:
        db.execute(
            insert(contacts),
            [
                {"list": "news", "email": READER, "language": "en", "audience": "parents", "consent_date": NOW},
                {"list": "briefings", "email": READER, "language": "en", "audience": "policy", "consent_date": NOW},
                {"list": "news", "email": OTHER, "language": "en", "audience": "parents", "consent_date": NOW},
            ],
        )
        db.execute(
            insert(recipients).values(
                delivery_id=delivery, email=READER, language="en", state="sent", sent_at=NOW - timedelta(hours=1)
            )
        )


def unsubscribed(engine: Engine) -> dict[tuple[str, str], datetime | None]:
    with engine.connect() as db:
        return {(r.list, r.email): r.unsubscribed_at for r in db.execute(select(contacts))}


def suppressed(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as db:
        return [(r.email, r.reason) for r in db.execute(select(suppressions))]


def test_a_get_shows_the_list_and_a_button_and_never_unsubscribes(site: Site) -> None:
    add_contacts(site.engine, site.delivery)
    address = site.tracker.unsubscribe_url("news", READER)
    for agent in (BROWSER, "Mozilla/5.0 (compatible; BingPreview/1.0b)"):
        reply = site.request("GET", address, agent=agent)
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/html")
        assert '<html lang="en" dir="ltr">' in reply.text and "<script" not in reply.text
        assert re.search(
            r'<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            r'<button type="submit">',
            reply.text,
        )
        assert "news" in reply.text and READER in reply.text and "Test unit" in reply.text
        assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    assert site.request("HEAD", address).status_code == 200
    assert suppressed(site.engine) == [] and set(unsubscribed(site.engine).values()) == {None}


def test_one_click_unsubscribe_suppresses_the_address_once_and_logs_nothing_personal(site: Site, caplog) -> None:
    add_contacts(site.engine, site.delivery)
    address = site.tracker.unsubscribe_url("news", READER)
    token = urlsplit(address).path.rsplit("/", 1)[1]
    caplog.set_level(logging.INFO, logger="kmcomms.tracking")
    for _ in range(2):  # the second POST finds it done, and is fine
        reply = requests.post(
            site.server.url + urlsplit(address).path,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        assert reply.status_code == 200 and "unsubscribed" in reply.text and "<form" not in reply.text
        assert "Set-Cookie" not in reply.headers
    assert suppressed(site.engine) == [(READER, "unsubscribed")]
    assert unsubscribed(site.engine) == {("news", READER): NOW, ("briefings", READER): NOW, ("news", OTHER): None}
    assert [(s["metric"], s["delivery_id"], s["campaign"], s["value"]) for s in site.samples()] == [
        ("unsubscribes", site.delivery, "trial", 1)
    ]
    # No resubscribe: the page now only says it is done.
    page = site.request("GET", address)
    assert page.status_code == 200 and "You are unsubscribed" in page.text and "<form" not in page.text

    lines = [r for r in caplog.records if r.name == "kmcomms.tracking"]
    assert [(r.kmcomms_fields["route"], r.kmcomms_fields["status"]) for r in lines] == [("unsubscribe", 200)] * 3
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'kmcomms_fields', '')}" for r in caplog.records)
    assert READER not in logged and token.split(".")[0] not in logged and "127.0.0.1" not in logged


def test_the_unsubscribe_pages_are_in_the_contacts_language(site: Site) -> None:
    with site.engine.begin() as db:
        db.execute(
            insert(contacts).values(list="news", email=READER, language="ur", audience="parents", consent_date=NOW)
        )
    address = site.tracker.unsubscribe_url("news", READER)
    page = site.request("GET", address).text
    assert '<html lang="ur" dir="rtl">' in page and "<title>سبسکرپشن ختم کریں</title>" in page
    assert f"<strong><bdi>{READER}</bdi></strong>" in page, "the address keeps its own direction in Urdu text"
    assert f'<button type="submit"><bdi>{READER}</bdi> کی سبسکرپشن ختم کریں</button>' in page
    done = site.request("POST", address, data="List-Unsubscribe=One-Click").text
    assert '<html lang="ur" dir="rtl">' in done and "<h1>آپ کی سبسکرپشن ختم ہو گئی ہے</h1>" in done
    for text in (page, done):
        english = re.sub(r"<[^>]+>|" + re.escape(READER) + "|news|Test unit", " ", text.split("<body>")[1])
        assert not re.search(r"[A-Za-z]{2,}", english), english
    # No contact on the list (removed since): the language of the latest mail sent; else English.
    with site.engine.begin() as db:
        db.execute(
            insert(recipients).values(
                delivery_id=site.delivery, email=OTHER, language="pl", state="sent", sent_at=NOW - timedelta(hours=1)
            )
        )
    assert "<title>Wypisz się</title>" in site.request("GET", site.tracker.unsubscribe_url("news", OTHER)).text
    assert (
        '<html lang="en" dir="ltr">' in site.request("GET", site.tracker.unsubscribe_url("news", "x@example.org")).text
    )


def test_words_in_the_unsubscribe_pages_are_escaped(site: Site) -> None:
    email = 'a<b>"c@example.org'
    page = site.request("GET", site.tracker.unsubscribe_url("news<script>", email)).text
    assert "<script>" not in page and "<b>" not in page
    assert "a&lt;b&gt;" in page and "news&lt;script&gt;" in page


def test_an_unsubscribe_token_cannot_be_turned_to_another_list_or_address(site: Site) -> None:
    add_contacts(site.engine, site.delivery)
    token = urlsplit(site.tracker.unsubscribe_url("news", READER)).path.rsplit("/", 1)[1]
    _, signature = token.split(".")

    def subject(contact_list: str, email: str) -> str:
        return base64.urlsafe_b64encode(f"{contact_list}\n{email}".encode()).rstrip(b"=").decode()

    for forged in (
        f"{subject('news', OTHER)}.{signature}",
        f"{subject('briefings', READER)}.{signature}",
        tamper(token, len(token) - 3),
        subject("news", READER),
        "not-base64!.x",
    ):
        for method in ("GET", "POST"):
            reply = site.request(method, f"/km/u/{forged}", data="List-Unsubscribe=One-Click")
            assert reply.status_code == 404, (forged, method)
    assert suppressed(site.engine) == [] and set(unsubscribed(site.engine).values()) == {None}
    assert site.samples() == []


def test_an_unsubscribe_with_no_mail_sent_is_kept_but_not_counted(site: Site) -> None:
    reply = site.request("POST", site.tracker.unsubscribe_url("news", "never-mailed@example.org"))
    assert reply.status_code == 200
    assert suppressed(site.engine) == [("never-mailed@example.org", "unsubscribed")]
    assert site.samples() == []


# ------------------------------------------------------------------ everything else


def test_health_unknown_paths_and_the_headers_every_answer_carries(site: Site) -> None:
    health = site.request("GET", "/healthz")
    assert health.status_code == 200 and health.text == "ok\n"
    assert site.request("GET", "/km/healthz").status_code == 200
    address = next(iter(site.clicks().values()))
    replies = [health, site.request("GET", address), site.request("GET", site.tracker.open_url(site.delivery))]
    missing = [
        site.request("GET", path) for path in ("/", "/r", "/km", "/x/abc", "/healthz/x", "/km/r/a/b", "/robots.txt")
    ]
    missing.append(site.request("PUT", "/healthz"))
    assert {r.status_code for r in missing[:-1]} == {404} and missing[-1].status_code >= 400
    for reply in replies + missing:
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        assert "Python" not in reply.headers.get("Server", "")
    for reply in missing:
        assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]


def test_a_store_that_fails_gives_a_short_page_not_a_traceback(site: Site, caplog) -> None:
    address = next(iter(site.clicks().values()))
    with site.engine.begin() as db:
        reach_samples.drop(db)
    reply = site.request("GET", address)
    assert reply.status_code == 503 and "Location" not in reply.headers
    assert "Traceback" not in reply.text and "reach_samples" not in reply.text
    assert any(getattr(r, "kmcomms_event", None) == "tracking-error" for r in caplog.records)


# ------------------------------------------------------------------ kmcomms track and the daemon


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).text == "ok\n"
    except requests.ConnectionError:
        return False


def test_kmcomms_track_says_how_to_configure_tracking_when_it_is_off(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "unit", "sqlite:///kmcomms.db", tracking=None)
    code, out, err = run_cli("track", "-w", root)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "tracking is not configured" in err and "[tracking]" in err and "base_url" in err


def test_kmcomms_track_on_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "unit", "sqlite:///kmcomms.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run_cli("track", "-w", root, "--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
    assert code == 1 and err.count("\n") == 1 and "cannot listen on 127.0.0.1:" in err and "another process" in err


def test_kmcomms_track_serves_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    root = write_workspace(tmp_path / "unit", "sqlite:///kmcomms.db", tracking=f"http://127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if k != "KMCOMMS_DEBUG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kmcomms", "track", "-w", str(root), "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in line, line
        assert healthy(f"http://127.0.0.1:{port}")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # closes the pipes
    assert [json.loads(line)["event"] for line in err.splitlines()] == [
        "tracking-started",
        "tracking-request",
        "tracking-stopped",
    ]


@contextlib.contextmanager
def daemon(root: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m kmcomms daemon` on `root`, its JSON log in root/daemon.log; killed if still running at the end."""
    env = {k: v for k, v in os.environ.items() if k != "KMCOMMS_DEBUG"}
    with (root / "daemon.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kmcomms", "daemon", "-w", str(root), "--sweep", "3600"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            cwd=root,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def logged(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "daemon.log").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_daemon_serves_tracking_when_it_is_on(tmp_path: Path) -> None:
    port = free_port()
    root = write_workspace(
        tmp_path / "unit",
        "sqlite:///kmcomms.db",
        tracking=f"http://127.0.0.1:{port}",
        at=datetime.now(UTC) + timedelta(days=1),
    )
    with daemon(root) as process:
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}") or process.poll() is not None, "the tracking server")
        assert process.poll() is None, logged(root)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert {"tracking-started", "tracking-stopped"} <= {e["event"] for e in logged(root)}


def test_a_daemon_whose_tracking_port_is_taken_logs_it_and_keeps_publishing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        root = write_workspace(
            tmp_path / "unit",
            "sqlite:///kmcomms.db",
            tracking=f"http://127.0.0.1:{port}",
            at=datetime.now(UTC) - timedelta(seconds=5),
        )
        with daemon(root) as process:

            def names() -> set[str]:
                return {e["event"] for e in logged(root)}

            wait_for(lambda: "published" in names() or process.poll() is not None, "a publication")
            assert process.poll() is None and {"tracking-failed", "started", "published"} <= names(), logged(root)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    failed = next(e for e in logged(root) if e["event"] == "tracking-failed")
    assert failed["level"] == "error" and f"127.0.0.1:{port}" in failed["msg"]
    engine = open_store("sqlite:///kmcomms.db", root)
    try:
        with engine.connect() as db:
            assert db.execute(select(deliveries.c.state)).scalars().all() == ["published"]
    finally:
        engine.dispose()
