"""`kmcomms demo`: the example campaigns published for real, on this machine, in under a minute.

A throwaway workspace is made in a temporary folder from the example campaigns (shipped in
`kmcomms/examples/`): every one-off message is moved to a moment LEAD seconds ahead (the
first wave; campaign times may give seconds), repeats start tomorrow, dates keep their distances, embargoes are lifted. A local
SMTP server catches the newsletters and briefings as `.eml` files, demo contacts (one per
audience and language, at example.org) are imported, and the real daemon runs until the
first wave is out. Nothing outside the folder is touched.
"""

from __future__ import annotations

import csv
import re
import shutil
import socket
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select

from kmcomms.campaign.adapters import Kind, channel_kind
from kmcomms.campaign.load import load_paths
from kmcomms.channels.contacts import import_contacts
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, publications, tracked_links
from kmcomms.ledger.tracking import tracker_for

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["DemoResult", "MailCatcher", "build_workspace", "run_demo"]

#: Seconds between the start and the first wave: time to write the workspace, import the
#: contacts and start the daemon (which loads, syncs and renders ahead).
LEAD = 15
_OPEN = ("planned", "sending", "retrying")

SETTINGS = """\
# A throwaway workspace made by `kmcomms demo` from the example campaigns.
{unit}
[store]
url = "sqlite:///kmcomms.db"

[tracking]
base_url = "http://127.0.0.1:{tracking_port}"

[policy]
require_approval = false
missing_translation = "block"

[channels.blog]
adapter = "static-site"
path = "site"

[channels.newsletter]
adapter = "smtp"
host = "127.0.0.1"
port = {smtp_port}
sender = "HPRU news <news@unit.example.ac.uk>"
list = "news"

[channels.video]
adapter = "video-page"
path = "site"

[channels.briefing]
adapter = "briefing"
list = "policy-leads"
path = "site"
host = "127.0.0.1"
port = {smtp_port}
sender = "HPRU policy <policy@unit.example.ac.uk>"

[channels.print]
adapter = "folder"
kind = "blog"
path = "print"
"""
#: The contact list each kind of mailing channel sends to (a channel of no kind: none).
LISTS: dict[Kind | None, str] = {Kind.NEWSLETTER: "news", Kind.BRIEFING: "policy-leads"}

_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ONE_OFF = re.compile(r"^(\s+at:\s*)['\"]?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}['\"]?", re.MULTILINE)
_EMBARGO = re.compile(r"^embargo:.*\n", re.MULTILINE)
_STARTS = re.compile(r"^starts:\s*(\d{4}-\d{2}-\d{2})", re.MULTILINE)
_ZONE = re.compile(r"^timezone:\s*(\S+)", re.MULTILINE)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_wave(now: datetime) -> datetime:
    """The whole second LEAD seconds after `now`."""
    return (now + timedelta(seconds=LEAD)).replace(microsecond=0)


def move_campaign(text: str, wave: datetime) -> str:
    """A campaign file's text with its dates moved so that it starts today (in its time
    zone) and every one-off message is due at `wave`; repeats keep their distance from
    the start, so they come from tomorrow on; the embargo is lifted. Comments are kept."""
    zone = ZoneInfo(match[1]) if (match := _ZONE.search(text)) else UTC
    local = wave.astimezone(zone)
    starts = _STARTS.search(text)
    if starts is None:
        return text
    shift = local.date() - date.fromisoformat(starts[1])

    def moved(found: re.Match[str]) -> str:
        try:
            return (date(int(found[1]), int(found[2]), int(found[3])) + shift).isoformat()
        except ValueError:
            return found[0]

    text = _EMBARGO.sub("", _DATE.sub(moved, text))
    # A repeat that would fall on the first day could be due before the wave: from tomorrow.
    text = re.sub(
        r"^(\s+starts:\s*)" + local.date().isoformat(),
        lambda m: m[1] + (local.date() + timedelta(days=1)).isoformat(),
        text,
        flags=re.MULTILINE,
    )
    return _ONE_OFF.sub(lambda m: f"{m[1]}{local:%Y-%m-%d %H:%M:%S}", text)


def build_workspace(root: Path, wave: datetime, smtp_port: int, tracking_port: int) -> None:
    """Write the demo workspace at `root` (which must not exist or be empty)."""
    with as_file(files("kmcomms") / "examples") as examples:
        shutil.copytree(examples / "campaigns", root / "campaigns", dirs_exist_ok=True)
        shutil.copytree(examples / "translations", root / "translations", dirs_exist_ok=True)
        unit = tomllib.loads((examples / "kmcomms.toml").read_text(encoding="utf-8"))["unit"]
    for path in (root / "campaigns").glob("*/campaign.yaml"):
        path.write_text(move_campaign(path.read_text(encoding="utf-8"), wave), encoding="utf-8")
    (root / "kmcomms.toml").write_text(
        SETTINGS.format(unit=_unit_table(unit), smtp_port=smtp_port, tracking_port=tracking_port), encoding="utf-8"
    )


def _unit_table(unit: dict[str, str | dict[str, str]]) -> str:
    """The examples' `[unit]` as TOML: its texts, then its tables of translations."""
    lines = ["[unit]", *(f"{key} = {_toml_string(value)}" for key, value in unit.items() if isinstance(value, str))]
    for key, table in unit.items():
        if isinstance(table, dict):
            lines += ["", f"[unit.{key}]", *(f"{code} = {_toml_string(text)}" for code, text in table.items())]
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_contacts(root: Path, today: date) -> dict[str, Path]:
    """One demo contact per audience and language for each list the campaigns send to:
    `<audience>.<language>@example.org`. Returns {list: CSV path}."""
    loaded = load_paths([root])
    loaded.raise_for_errors()
    settings = loaded.workspaces[0].settings
    rows: dict[str, dict[str, tuple[str, ...]]] = {}
    for campaign in (c.campaign for c in loaded.campaigns):
        for audience_id, audience in campaign.audiences.items():
            for channel in audience.channels:
                contact_list = LISTS.get(channel_kind(settings.channels[channel]))
                if contact_list is None:
                    continue
                for language in audience.languages:
                    email = f"{audience_id}.{language}@example.org".lower()
                    rows.setdefault(contact_list, {})[email] = (
                        email,
                        f"Demo {audience.name} ({language})",
                        language,
                        audience_id,
                        today.isoformat(),
                    )
    paths = {}
    for contact_list, people in rows.items():
        path = root / "contacts" / f"{contact_list}.csv"
        path.parent.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "name", "language", "audience", "consent_date"])
            writer.writerows(people.values())
        paths[contact_list] = path
    return paths


class MailCatcher:
    """An SMTP server on loopback that writes every message it receives to `folder` as
    `<n>.eml`, for a person to open in their mail program."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.received = 0
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.received += 1
            number = self.received
        # aiosmtpd types the content Optional; after a DATA command it is always there.
        data = envelope.original_content or envelope.content or b""
        (self.folder / f"{number:04d}.eml").write_bytes(data if isinstance(data, bytes) else data.encode())
        return "250 OK"

    def __enter__(self) -> MailCatcher:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class DemoResult:
    """What the demo made, and where to look."""

    root: Path
    wave: datetime
    states: dict[str, int]
    emails: list[tuple[str, str, str]] = field(default_factory=list)  # (file, to, subject)
    pdfs: list[Path] = field(default_factory=list)
    pages: int = 0
    clicks: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_demo(
    root: Path,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout: float = 150,
    progress: Callable[[str, int, int], None] = lambda text, done, total: None,
) -> DemoResult:
    """Build the demo workspace at `root`, run the daemon until the first wave is out (or
    `timeout` seconds), and say what was made. `progress(text, done, total)` is told as it goes."""
    from kmcomms.daemon.service import Daemon  # APScheduler only where it is used

    started = time.monotonic()
    smtp_port, tracking_port = free_port(), free_port()
    wave = first_wave(clock())
    build_workspace(root, wave, smtp_port, tracking_port)
    engine = open_store("sqlite:///kmcomms.db", root)
    try:
        for contact_list, path in write_contacts(root, wave.date()).items():
            import_contacts(engine, path, contact_list, clock())
        with MailCatcher(root / "mail", smtp_port):
            daemon = Daemon(root, sweep=5, clock=clock)
            thread = threading.Thread(target=daemon.run, kwargs={"install_signals": False}, name="kmcomms-demo-daemon")
            thread.start()
            try:
                _wait_for_wave(engine, wave, clock, started + timeout, progress)
            finally:
                daemon.stop("the first wave is out")
                thread.join()
        result = DemoResult(root, wave, _states(engine), seconds=time.monotonic() - started)
        result.clicks = _click_urls(engine, root, clock)
    finally:
        engine.dispose()
    for path in sorted((root / "mail").glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        result.emails.append((path.name, str(message["To"]), str(message["Subject"])))
    result.pdfs = sorted((root / "site").rglob("*.pdf"))
    result.pages = len(list((root / "site").rglob("*.html")))
    return result


def _wait_for_wave(
    engine: Engine,
    wave: datetime,
    clock: Callable[[], datetime],
    deadline: float,
    progress: Callable[[str, int, int], None],
) -> None:
    due = deliveries.c.due_at <= wave
    while time.monotonic() < deadline:
        with engine.connect() as db:
            total = db.execute(select(func.count()).where(due)).scalar() or 0
            waiting = db.execute(select(func.count()).where(due, deliveries.c.state.in_(_OPEN))).scalar() or 0
        left = (wave - clock()).total_seconds()
        if total and not waiting and left <= 0:
            progress("the first wave is out", total, total)
            return
        progress(
            f"first wave at {wave:%H:%M:%S} UTC (in {left:.0f} s)" if left > 0 else "publishing the first wave",
            total - waiting if left <= 0 else 0,
            total,
        )
        time.sleep(0.5)


def _states(engine: Engine) -> dict[str, int]:
    with engine.connect() as db:
        return dict(db.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state)).all())


def _click_urls(engine: Engine, root: Path, clock: Callable[[], datetime], limit: int = 3) -> list[str]:
    """A few tracking links of published deliveries: opened while `kmcomms track` runs,
    each counts a click."""
    loaded = load_paths([root])
    tracker = tracker_for(engine, loaded.workspaces[0].settings, clock())
    if tracker is None:
        return []
    with engine.connect() as db:
        rows = db.execute(
            select(tracked_links.c.delivery_id, tracked_links.c.link_id)
            .join(publications, publications.c.delivery_id == tracked_links.c.delivery_id)
            .order_by(tracked_links.c.delivery_id)
            .limit(limit)
        ).all()
    return [tracker.click_url(row.delivery_id, row.link_id) for row in rows]
