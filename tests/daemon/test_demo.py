"""`kmcomms demo`, the newcomer's first command: run as a newcomer would, in a process of its
own, and checked by what it leaves in its folder (and nowhere else)."""

from __future__ import annotations

import email
import logging
import os
import re
import subprocess
import sys
import time
from email.policy import default as default_policy
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import create_engine, func, select

from kmcomms.ledger.tables import deliveries, publications

log = logging.getLogger("tests.demo")


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_the_demo_publishes_the_first_wave_and_says_where_to_look(tmp_path: Path) -> None:
    home, cwd, target = tmp_path / "home", tmp_path / "cwd", tmp_path / "demo"
    home.mkdir()
    cwd.mkdir()
    (cwd / "notes.txt").write_text("mine", encoding="utf-8")
    before = _tree(home), _tree(cwd)
    environ = {**os.environ, "HOME": str(home), "COLUMNS": "200", "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kmcomms", "demo", "--dir", str(target)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log.warning("kmcomms demo took %.1f s:\n%s", time.monotonic() - started, done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert (_tree(home), _tree(cwd)) == before  # nothing outside its folder touched
    assert not any((tmp_path / "tmp").iterdir())

    # The website: pages in the campaigns' languages, right to left where they are written so.
    pages = list((target / "site").rglob("*.html"))
    assert str(target / "site" / "index.html") in done.stdout and len(pages) >= 5
    urdu = [p for p in pages if p.relative_to(target / "site").parts[0] == "ur"]
    assert urdu and all('dir="rtl"' in p.read_text(encoding="utf-8") for p in urdu)
    # One page per message and language, whatever number of audiences read it: a second
    # page of the same post would take its delivery id after the slug.
    assert not [p for p in pages if re.search(r"-[0-9a-f]{12}\.html$", p.name)]

    # The emails the newsletter and briefing channels sent, caught on loopback.
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in sorted((target / "mail").glob("*.eml"))
    ]
    assert mails and all(m["To"].addresses[0].domain == "example.org" for m in mails)
    newsletters = [m for m in mails if m["List-Unsubscribe"]]
    assert newsletters and all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in newsletters)
    assert f"{len(mails)} messages" in done.stdout

    # The briefing as a PDF holding its text.
    pdfs = list((target / "site").rglob("*.pdf"))
    assert pdfs and str(pdfs[0]) in done.stdout
    assert "NIHR" in "".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)

    # The ledger agrees: the first wave is settled, each delivery published once.
    engine = create_engine(f"sqlite:///{target / 'kmcomms.db'}")
    try:
        with engine.connect() as db:
            wave = db.execute(select(func.min(deliveries.c.due_at))).scalar()
            open_in_wave = db.execute(
                select(func.count()).where(
                    deliveries.c.due_at <= wave, deliveries.c.state.in_(("planned", "sending", "retrying"))
                )
            ).scalar()
            published = db.execute(select(func.count()).select_from(publications)).scalar()
    finally:
        engine.dispose()
    assert open_in_wave == 0 and published
    assert re.search(rf"published {published}\b", done.stdout)

    # The tracking links it prints are the tracking server's, signed.
    clicks = re.findall(r"http://127\.0\.0\.1:\d+/r/[\w.-]+", done.stdout)
    assert clicks and all(
        re.fullmatch(r"http://127\.0\.0\.1:\d+/r/[0-9a-f]{12}\.[0-9a-f]+\.[\w-]{22}", c) for c in clicks
    )
