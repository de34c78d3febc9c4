"""Crash proof for the `smtp` adapter: `kmcomms publish --due` sending one newsletter to
200 recipients is SIGKILLed mid-list, twice, then run to the end. Every recipient gets
exactly one copy, except the ones the ledger records `unknown`; those are at most one per
kill, and the test knows which and whether the server had them.

Where each kill lands is chosen by the SMTP server itself (aiosmtpd on loopback), which
kills the publisher from inside the conversation:

- run 1: right after the server kept message 60, before it answers "250": the publisher
  dies not knowing the server has it. Its row is `sending`; the next run marks it
  `unknown` and does not send it again. It was received once.
- run 2: when the publisher starts handing over message 140 (at MAIL FROM): its row is
  `sending`, but the server never got it. Marked `unknown`, never sent: received zero
  times. This is the price of never sending twice; a person can look at it.
- run 3: to the end, everything else sent once.

The runs use `--now` to step past the delivery's lease (10 minutes), as a daemon restarted
later would find it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from smtp_inbox import Inbox, start
from workspaces import audience, campaign_yaml, settings_toml, smtp_channel

from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, publications, recipients

RECIPIENTS = 200
REPO = Path(__file__).resolve().parents[1]

NOW = datetime(2027, 1, 11, 9, 1, tzinfo=UTC)

CAMPAIGN = campaign_yaml("""\
  - id: launch
    audiences: [parents]
    at: 2027-01-11 09:00
    title: Your questions answered
    body: Read [the guide](https://example.org/guide).
""", title="Newsletter", audiences=audience(channels="newsletter"), timezone="UTC", starts="2027-01-10",
    metric="recipients")


def publish_due(root: Path, now: str, inbox: Inbox) -> int:
    """`kmcomms --now NOW publish --due` in a process of its own, which `inbox` may kill."""
    process = subprocess.Popen([sys.executable, "-m", "kmcomms", "--now", now, "publish", "--due", "-w", str(root)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    inbox.victim = process.pid  # type: ignore[attr-defined]
    out, err = process.communicate(timeout=300)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"publish --due exited {process.returncode}: {out.decode()} {err.decode()}")
    return process.returncode


def kill_at(stage: str, at: int) -> Any:
    """A hook that SIGKILLs the publisher at `stage` of message `at`, once."""
    done: list[bool] = []

    def hook(now: str, n: int, server: Any, envelope: Any) -> str | None:
        if now == stage and n == at and not done:
            done.append(True)
            os.kill(server.event_handler.victim, signal.SIGKILL)
        return None
    return hook


def test_a_publisher_killed_mid_list_twice_sends_every_recipient_one_copy(tmp_path: Path, store_url: str) -> None:
    inbox = Inbox()
    controller = start(inbox)
    root = tmp_path / "unit"
    (root / "campaigns" / "news").mkdir(parents=True)
    (root / "kmcomms.toml").write_text(settings_toml(store_url, tracking="http://127.0.0.1:8750", channels=smtp_channel(inbox.port)),
                                        encoding="utf-8")
    (root / "campaigns" / "news" / "campaign.yaml").write_text(CAMPAIGN, encoding="utf-8")
    people = [f"reader{n:03d}@example.org" for n in range(RECIPIENTS)]
    (root / "people.csv").write_text("email,name,language,audience,consent_date\n"
                                     + "".join(f"{p},Reader {n},en,parents,2026-12-01\n" for n, p in enumerate(people)))
    from conftest import run_cli

    import kmcomms.cli.contacts  # noqa: F401  # registers `kmcomms contacts` until the CLI imports it
    code, _, err = run_cli("--now", NOW.isoformat(), "contacts", "import", root / "people.csv", "--list", "news", "-w", root)
    assert code == 0, err

    try:
        inbox.hook = kill_at("KEPT", 60)
        assert publish_due(root, NOW.isoformat(), inbox) == -signal.SIGKILL
        inbox.hook = kill_at("MAIL", 140)
        assert publish_due(root, (NOW + timedelta(minutes=11)).isoformat(), inbox) == -signal.SIGKILL
        inbox.hook = None
        assert publish_due(root, (NOW + timedelta(minutes=22)).isoformat(), inbox) == 0
    finally:
        controller.stop()

    received = inbox.by_recipient()
    ids = Counter(r.message["Message-ID"] for r in inbox.received)
    engine = open_store(store_url, root)
    with engine.connect() as db:
        rows = {r.email: r for r in db.execute(select(recipients))}
        [delivery] = db.execute(select(deliveries)).all()
        [publication] = db.execute(select(publications)).all()
    engine.dispose()
    killed_after_kept, killed_before_data = people[59], people[139]
    # Nobody got two copies, by address or by Message-ID.
    assert max(received.values()) == 1 and max(ids.values()) == 1
    assert {r.message["Message-ID"] for r in inbox.received} <= {r.message_id for r in rows.values()}
    # The two rows in doubt are exactly the two a kill interrupted: one the server had, one it never got.
    assert {e for e, r in rows.items() if r.state == "unknown"} == {killed_after_kept, killed_before_data}
    assert received[killed_after_kept] == 1 and received[killed_before_data] == 0
    # Everyone else: sent once, recorded sent.
    others = set(people) - {killed_after_kept, killed_before_data}
    assert all(rows[p].state == "sent" and received[p] == 1 for p in others)
    assert set(rows) == set(people) and len(inbox.received) == RECIPIENTS - 1
    assert delivery.state == "published" and publication.remote_id == f"{delivery.id}:{RECIPIENTS - 2}/{RECIPIENTS}"
