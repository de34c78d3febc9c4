"""`kmcomms resolve` and `kmcomms approve`, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update
from trial import make

from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import approvals, deliveries, publications


def ledger(root: Path, url: str) -> dict[tuple[str, str, str], dict[str, object]]:
    """(message, channel, occurrence) → the delivery's row, as a dict."""
    engine = open_store(url, root)
    try:
        with engine.connect() as db:
            return {(r.message, r.channel, r.occurrence): r._asdict() for r in db.execute(select(deliveries))}
    finally:
        engine.dispose()


def test_resolve_publishes_retries_and_cancels(tmp_path: Path, store_url: str, kmcomms) -> None:
    root = make(tmp_path, store_url)
    (root / "out").mkdir()
    (root / "out" / "news").write_text("a file where the newsletter folder should be")  # the news channel fails
    code, _, err = kmcomms("--now", "2027-01-11T10:30Z", "publish", "--due", "-w", root)
    assert code == 1, err
    rows = ledger(root, store_url)
    launch_news = rows[("launch", "news", "2027-01-11T09:00")]
    weekly = rows[("weekly", "news", "2027-01-11T10:00")]
    assert launch_news["state"] == weekly["state"] == "failed"

    # Published by hand: recorded with its address.
    code, out, err = kmcomms("resolve", launch_news["id"], "--published", "https://example.org/news/1", "-w", root)
    assert code == 0 and out == f"{launch_news['id']}: published at https://example.org/news/1\n", err
    engine = open_store(store_url, root)
    try:
        with engine.connect() as db:
            publication = db.execute(select(publications).where(publications.c.delivery_id == launch_news["id"])).one()
        assert publication.url == "https://example.org/news/1"
    finally:
        engine.dispose()

    # Retried after the cause is fixed: due now, attempts afresh, out at the next pass.
    (root / "out" / "news").unlink()
    code, out, err = kmcomms("--now", "2027-01-11T10:40Z", "resolve", weekly["id"], "--retry", "-w", root)
    assert code == 0 and "next pass" in out, err
    row = ledger(root, store_url)[("weekly", "news", "2027-01-11T10:00")]
    assert (row["state"], row["attempts"], row["due_at"].isoformat()) == ("planned", 0, "2027-01-11T10:40:00+00:00")
    code, out, err = kmcomms("--now", "2027-01-11T10:41Z", "publish", "--due", "-w", root)
    assert code == 0 and "1 published" in out, err
    assert (root / "out" / "news" / f"{weekly['id']}.json").is_file()

    # A published delivery is not a person's to resolve: one line, exit 1.
    code, out, err = kmcomms("resolve", weekly["id"], "--cancel", "-w", root)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert f"delivery {weekly['id']} is published: only unknown, failed, missed or blocked" in err

    # Missed, then cancelled by a person: it stays cancelled when the campaign is synced again.
    code, _, err = kmcomms("--now", "2027-01-18T12:30Z", "publish", "--due", "-w", root)
    missed = ledger(root, store_url)[("weekly", "news", "2027-01-18T10:00")]
    assert missed["state"] == "missed", err
    code, out, _ = kmcomms("resolve", missed["id"], "--cancel", "-w", root)
    assert code == 0 and out == f"{missed['id']}: cancelled\n"
    kmcomms("--now", "2027-01-18T12:31Z", "publish", "--due", "-w", root)
    assert ledger(root, store_url)[("weekly", "news", "2027-01-18T10:00")]["state"] == "cancelled"

    # Unknown (a worker died mid-publish): a person checked the channel and sends it again.
    later = ledger(root, store_url)[("weekly", "news", "2027-01-25T10:00")]
    engine = open_store(store_url, root)
    try:
        with engine.begin() as db:
            db.execute(update(deliveries).where(deliveries.c.id == later["id"]).values(state="unknown"))
    finally:
        engine.dispose()
    code, out, _ = kmcomms("--now", "2027-01-25T10:05Z", "resolve", later["id"], "--retry", "-w", root)
    assert code == 0
    code, out, _ = kmcomms("--now", "2027-01-25T10:06Z", "publish", "--due", "-w", root)
    assert code == 0 and ledger(root, store_url)[("weekly", "news", "2027-01-25T10:00")]["state"] == "published"


def test_resolve_refuses_unknown_ids_and_wrong_usage(tmp_path: Path, kmcomms) -> None:
    root = make(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    code, out, err = kmcomms("resolve", "0123456789ab", "--cancel", "-w", root)
    assert code == 1 and out == "" and 'no delivery "0123456789ab"' in err and err.count("\n") == 1
    code, _, err = kmcomms("resolve", "0123456789ab", "-w", root)
    assert code == 2 and "one of --published URL, --retry, --cancel" in err
    code, _, err = kmcomms("resolve", "0123456789ab", "--retry", "--cancel", "-w", root)
    assert code == 2
    code, _, err = kmcomms("resolve", "0123456789ab", "--published", "not a url", "-w", root)
    assert code == 2 and "is not an address" in err
    code, _, err = kmcomms("resolve", "0123456789ab", "--cancel", "-w", tmp_path / "nowhere")
    assert code != 0 and "Traceback" not in err


def test_approve_lets_blocked_deliveries_go_out(tmp_path: Path, store_url: str, kmcomms) -> None:
    root = make(tmp_path, store_url, approval="true")
    code, _, err = kmcomms("--now", "2027-01-11T09:01Z", "publish", "--due", "-w", root)
    assert code == 0, err
    code, out, _ = kmcomms("--now", "2027-01-11T09:01Z", "status", "--format", "json", "-w", root)
    blocked = json.loads(out)["blocked"]
    assert len(blocked) == 2 and all("awaiting approval" in row["reason"] for row in blocked)

    code, out, err = kmcomms(
        "--now", "2027-01-11T09:02Z", "approve", "trial", "--message", "launch", "--by", "A. Lead", "-w", root
    )
    assert code == 0, err
    assert out.startswith('approved trial/launch "Launch" as it renders now (en; content ') and out.endswith(
        "by A. Lead\n"
    )
    assert "require_approval" not in err
    code, out, err = kmcomms("--now", "2027-01-11T09:03Z", "publish", "--due", "-w", root)
    assert code == 0 and "2 published" in out, err

    code, out, _ = kmcomms(
        "--now", "2027-01-11T09:04Z", "approve", "trial", "--by", "B. Deputy", "--format", "json", "-w", root
    )
    rows = json.loads(out)
    assert [r["message"] for r in rows] == ["launch", "weekly"] and {r["by"] for r in rows} == {"B. Deputy"}
    engine = open_store(store_url, root)
    try:
        with engine.connect() as db:
            recorded = db.execute(select(approvals.c.message, approvals.c.approved_by, approvals.c.content_hash)).all()
    finally:
        engine.dispose()
    assert sorted((m, b) for m, b, _ in recorded) == [
        ("launch", "A. Lead"),
        ("launch", "B. Deputy"),
        ("weekly", "B. Deputy"),
    ]
    assert {h for m, _, h in recorded if m == "launch"} == {rows[0]["content_hash"]}  # same content, same hash


def test_approve_names_what_is_wrong(tmp_path: Path, kmcomms) -> None:
    root = make(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    code, out, err = kmcomms("approve", "trail", "--by", "A. Lead", "-w", root)
    assert code == 1 and out == "" and 'no campaign "trail" (did you mean "trial"?)' in err
    code, _, err = kmcomms("approve", "trial", "--message", "lanch", "--by", "A. Lead", "-w", root)
    assert code == 2 and 'no message "lanch" (did you mean "launch"?)' in err
    code, _, err = kmcomms("approve", "trial", "--by", " ", "-w", root)
    assert code == 2 and "--by" in err
    code, _, err = kmcomms("approve", "trial", "-w", root)
    assert code == 2 and "--by" in err
    code, out, err = kmcomms("approve", "trial", "--message", "launch", "--by", "A. Lead", "-w", root)
    assert code == 0 and "require_approval is false" in err
    (root / "campaigns" / "trial" / "campaign.yaml").write_text("title: [unclosed\n")
    code, _, err = kmcomms("approve", "trial", "--by", "A. Lead", "-w", root)
    assert code == 1 and "campaign trial has errors" in err
