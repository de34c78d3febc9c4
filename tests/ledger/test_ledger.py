"""The ledger and the dispatcher on SQLite and PostgreSQL: sync, claims, gates, retries,
missed deliveries, leases (run out, renewed, held by a process of this host that is alive
or has ended) and reconciliation."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Clock
from sqlalchemy import Engine, select
from trial import LAUNCH, make, trial

from kmcomms.campaign.load import load_paths
from kmcomms.channels.base import PermanentError, TransientError
from kmcomms.channels.registry import open_channels
from kmcomms.ledger.claims import claim, renew
from kmcomms.ledger.ledger import counts
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import attempts, deliveries, publications
from kmcomms.publish.dispatch import LEASE, Dispatcher
from kmcomms.publish.workers import worker_name
from kmcomms.testing.recording import RecordingChannel

ENGINES: list[Engine] = []


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    yield
    while ENGINES:
        ENGINES.pop().dispose()


def dispatcher(root: Path, clock: Clock, worker: str = "w1", channels: dict | None = None) -> Dispatcher:
    result = load_paths([root])
    result.raise_for_errors()
    workspace = result.workspaces[0]
    engine = open_store(workspace.settings.store.url, workspace.root)
    ENGINES.append(engine)
    return Dispatcher(engine, workspace, result, channels or open_channels(workspace), worker=worker, clock=clock)


def states(d: Dispatcher) -> dict[str, str]:
    with d.engine.connect() as db:
        return dict(db.execute(select(deliveries.c.id, deliveries.c.state)).all())


def files(root: Path) -> list[Path]:
    return sorted(root.glob("out/*/*.json"))


def test_sync_is_idempotent_and_follows_the_campaign(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    d = dispatcher(root, Clock(LAUNCH))
    first = d.sync(LAUNCH)
    assert first.added == 2 + 7 and first.cancelled == 0  # launch on blog + news, 7 Mondays on news
    again = d.sync(LAUNCH)
    assert (again.added, again.cancelled, again.restored) == (0, 0, 0)
    # Drop the weekly message: its unsent deliveries are cancelled, then restored when it returns.
    make(root, store_url, campaign=trial().split("  - id: weekly")[0])
    d2 = dispatcher(root, Clock(LAUNCH))
    assert d2.sync(LAUNCH).cancelled == 7
    assert counts(d2.engine)["cancelled"] == 7
    make(root, store_url)
    assert dispatcher(root, Clock(LAUNCH)).sync(LAUNCH).restored == 7


def test_due_deliveries_are_published_once(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.sync(clock.now)
    report = d.publish_due()
    assert report.outcomes["published"] == 2  # the launch, on both channels; the weekly is later
    assert len(files(root)) == 2
    assert d.publish_due().outcomes["published"] == 0
    clock.now = datetime(2027, 3, 1, tzinfo=UTC)
    report = d.publish_due()
    # The Mondays more than the newsletter's 2 h grace ago are missed, never sent late.
    assert report.outcomes["missed"] == 7 and report.outcomes["published"] == 0
    draft = (
        json.loads((root / "out" / "blog" / files(root)[0].name).read_text()) if (root / "out/blog").exists() else {}
    )
    assert draft.get("title") == "Launch"
    with d.engine.connect() as db:
        assert len(db.execute(select(publications)).all()) == 2
        assert {row.outcome for row in db.execute(select(attempts))} == {"published"}


def test_a_weekly_message_goes_out_each_week_on_time(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH)
    d = dispatcher(root, clock)
    d.sync(clock.now)
    published = 0
    for week in range(7):
        clock.now = datetime(2027, 1, 11, 10, 0, tzinfo=UTC) + timedelta(weeks=week, seconds=5)
        published += d.publish_due().outcomes["published"]
    assert published == 2 + 7 and counts(d.engine)["published"] == 9


def test_transient_errors_retry_with_backoff_then_publish(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH)
    d = dispatcher(root, clock)
    recorder = RecordingChannel("blog", d.channels["blog"].settings, root)
    failures = iter([TransientError("503", "blog", retry_after=120), TransientError("timeout", "blog")])

    def fail(draft, key):
        error = next(failures, None)
        if error:
            raise error

    recorder.fail = fail
    d.channels["blog"] = recorder
    d.sync(clock.now)
    assert d.publish_due().outcomes["retrying"] == 1
    with d.engine.connect() as db:
        row = db.execute(select(deliveries).where(deliveries.c.channel == "blog")).one()
    assert row.state == "retrying" and row.not_before >= LAUNCH + timedelta(seconds=120)  # Retry-After honoured
    assert d.publish_due().outcomes.get("retrying", 0) == 0  # not before its time
    clock.now = row.not_before + timedelta(seconds=1)
    assert d.publish_due().outcomes["retrying"] == 1
    clock.now += timedelta(hours=2)
    assert d.publish_due().outcomes["published"] == 2  # the blog post, and the first weekly newsletter
    assert states(d)[row.id] == "published"
    key = row.id
    assert recorder.calls[key] == 3 and list(recorder.published) == [key]


def test_permanent_errors_fail_and_attempts_run_out(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH)
    d = dispatcher(root, clock)
    blog = RecordingChannel("blog", d.channels["blog"].settings, root)
    news = RecordingChannel("news", d.channels["news"].settings.model_copy(update={"max_attempts": 2}), root)

    def refuse(draft, key):
        raise PermanentError("400 the title is too long", "blog")

    def flaky(draft, key):
        raise TransientError("502", "news")

    blog.fail, news.fail = refuse, flaky
    d.channels.update(blog=blog, news=news)
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"failed": 1, "retrying": 1}
    clock.now += timedelta(minutes=30)
    assert d.publish_due().outcomes == {"failed": 1}
    with d.engine.connect() as db:
        reasons = dict(
            db.execute(select(deliveries.c.channel, deliveries.c.reason).where(deliveries.c.message == "launch")).all()
        )
    assert "title is too long" in reasons["blog"] and "gave up after 2 attempts" in reasons["news"]


def test_embargo_blocks_until_it_lifts(tmp_path: Path, store_url: str) -> None:
    # Validation refuses a schedule before the embargo; the dispatcher checks again, in case
    # the ledger holds deliveries planned before the embargo was moved.
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.embargo["trial"] = datetime(2027, 1, 11, 9, 30, tzinfo=UTC)
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"blocked": 2}
    with d.engine.connect() as db:
        assert {r.reason for r in db.execute(select(deliveries).where(deliveries.c.state == "blocked"))} == {
            "embargoed until 2027-01-11 09:30 UTC"
        }
        assert {r.attempts for r in db.execute(select(deliveries).where(deliveries.c.state == "blocked"))} == {0}
    assert d.publish_due().outcomes == {}  # looked at again from the next pass, not in a loop
    clock.now = LAUNCH + timedelta(minutes=31)
    assert d.publish_due().outcomes == {"published": 2}


def test_a_language_without_translation_is_blocked(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url, languages="en, ur")
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"published": 2, "blocked": 2}
    with d.engine.connect() as db:
        blocked = db.execute(select(deliveries).where(deliveries.c.state == "blocked")).all()
    assert {r.language for r in blocked} == {"ur"} and all(
        "not translated" in r.reason or "no translation" in r.reason for r in blocked
    )


def test_approval_gate(tmp_path: Path, store_url: str) -> None:
    from kmcomms.publish.approvals import approve

    root = make(tmp_path, store_url, approval="true")
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"blocked": 2}
    approve(d.engine, d.renderer, "trial", ["launch"], "A. Lead", clock.now)
    clock.now += timedelta(seconds=1)
    assert d.publish_due().outcomes == {"published": 2}
    # An edit after approval needs a new approval.
    make(root, store_url, approval="true", campaign=trial().replace("body: Again.", "body: Again, changed."))
    d2 = dispatcher(root, Clock(datetime(2027, 1, 18, 10, 0, 1, tzinfo=UTC)))
    d2.sync(d2.clock())
    assert d2.publish_due().outcomes["blocked"] == 1  # the changed weekly message waits for a new approval


def test_an_expired_lease_is_retried_on_an_idempotent_channel_and_reconciled_otherwise(
    tmp_path: Path, store_url: str
) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    news = RecordingChannel("news", d.channels["news"].settings, root)
    type(news).idempotent = False  # pretend the remote has no idempotency key
    try:
        d.channels["news"] = news
        d.sync(clock.now)
        claimed = claim(d.engine, "dead-worker", clock.now, timedelta(minutes=10))
        assert len(claimed) == 2
        # The dead worker had published the newsletter before dying.
        news.published[next(r.id for r in claimed if r.channel == "news")] = None
        assert d.publish_due().outcomes == {}  # leases still held
        clock.now += timedelta(minutes=11)
        report = d.publish_due()
        assert report.outcomes["requeued"] == 1 and report.outcomes["unknown"] == 1
        assert report.outcomes["reconciled-published"] == 1 and report.outcomes["published"] == 1
        assert news.calls == {}  # found, so never sent again
        assert counts(d.engine)["published"] == 2
    finally:
        type(news).idempotent = True


def test_two_dispatchers_never_publish_the_same_delivery(tmp_path: Path, postgres_url: str) -> None:
    root = make(tmp_path, postgres_url)
    clock = Clock(datetime(2027, 2, 28, 10, 1, tzinfo=UTC))
    shared = RecordingChannel("news", open_channels(load_paths([root]).workspaces[0])["news"].settings, root)
    lock = threading.Lock()
    original = shared.publish

    def publish(draft, key):
        with lock:
            return original(draft, key)

    shared.publish = publish
    workers = [dispatcher(root, clock, worker=f"w{i}", channels={"news": shared, "blog": shared}) for i in range(2)]
    for w in workers:
        w.channels["news"].settings = w.channels["news"].settings.model_copy(update={"grace_minutes": 100_000})
    workers[0].sync(clock.now)
    threads = [threading.Thread(target=w.publish_due, kwargs={"limit": 1}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(shared.calls.values()) == {1} and len(shared.calls) == 9


def test_content_edited_after_publication_is_updated_or_reported(tmp_path: Path, store_url: str) -> None:
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.channels["news"] = RecordingChannel("news", d.channels["news"].settings, root)  # cannot update
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"published": 2}
    assert d.refresh(clock.now) == {"updated": [], "edited": []}
    make(root, store_url, campaign=trial().replace("title: Launch", "title: Launch!"))
    d2 = dispatcher(root, clock)
    d2.channels["news"] = d.channels["news"]
    d2.sync(clock.now)
    changed = d2.refresh(clock.now)
    [blog_file] = (root / "out" / "blog").glob("*.json")
    assert changed["updated"] == [blog_file.stem] and len(changed["edited"]) == 1
    assert json.loads(blog_file.read_text())["title"] == "Launch!"
    assert d2.refresh(clock.now)["updated"] == []  # the new content is now the published one


class Slow(RecordingChannel):
    """Publishes after `seconds` of real time, as a newsletter to thousands does."""

    seconds = 2.0

    def publish(self, draft, key):
        time.sleep(self.seconds)
        return super().publish(draft, key)


def test_a_publish_longer_than_the_lease_keeps_its_lease(tmp_path: Path, store_url: str) -> None:
    """The lease is 1.5 s and each publish takes 2 s: the worker renews its leases while it
    works, so a second worker's pass in the middle finds nothing expired to take over."""
    root = make(tmp_path, store_url)
    started = time.monotonic()
    clock = lambda: LAUNCH + timedelta(minutes=1, seconds=time.monotonic() - started)  # noqa: E731 - real time, moved
    workspace = load_paths([root]).workspaces[0]
    slow = {name: Slow(name, channel.settings, root) for name, channel in open_channels(workspace).items()}
    first = dispatcher(root, Clock(LAUNCH), channels=slow)
    first.clock, first.lease = clock, timedelta(seconds=1.5)
    first.sync(clock())
    passed: list[dict[str, int]] = []
    worker = threading.Thread(target=lambda: passed.append(dict(first.publish_due().outcomes)))
    worker.start()
    time.sleep(2.5)  # the first delivery is published, the second is 0.5 s into its publish
    second = dispatcher(root, Clock(LAUNCH), worker="w2")
    second.clock = clock
    taken = second.publish_due().outcomes
    worker.join()
    assert "requeued" not in taken and "published" not in taken  # nothing was taken from a live worker
    assert passed == [{"published": 2}]  # no lease lost
    assert sum(len(channel.published) for channel in slow.values()) == 2


class Unkeyed(RecordingChannel):
    """A channel without idempotency keys: publishing twice would post twice."""

    idempotent = False


def leases(d: Dispatcher) -> dict[str, str | None]:
    """delivery id → lease owner, of the deliveries being sent."""
    with d.engine.connect() as db:
        return dict(
            db.execute(select(deliveries.c.id, deliveries.c.lease_owner).where(deliveries.c.state == "sending")).all()
        )


HOLDER = """
import sys
from datetime import datetime, timedelta
from kmcomms.ledger.claims import claim
from kmcomms.ledger.store import open_store
from kmcomms.publish.workers import worker_name
url, root, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
engine = open_store(url, root)
claimed = claim(engine, worker_name(), now, timedelta(minutes=10))
engine.dispose()
print(worker_name(), len(claimed), flush=True)
sys.stdin.read()
"""


def test_a_live_process_of_this_host_keeps_its_leases_and_a_dead_one_loses_them_at_once(
    tmp_path: Path, store_url: str
) -> None:
    """Another process on this host claims both due deliveries with ten-minute leases. While
    it lives, a pass here takes nothing; once it is killed, the next pass (at the same
    moment: ten minutes of lease left) settles its claims as it would expired ones."""
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock, worker=worker_name())  # this test's process: another worker on this host
    d.channels["news"] = news = Unkeyed("news", d.channels["news"].settings, root)
    d.sync(clock.now)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, str(root), clock.now.isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        owner, claimed = holder.stdout.readline().split()
        assert claimed == "2" and owner != d.worker
        assert d.publish_due().outcomes == {}
        assert set(leases(d).values()) == {owner}
    finally:
        holder.kill()
        holder.communicate()
    report = d.publish_due()
    # The blog post goes again (idempotent); the newsletter, on a channel without keys, is
    # `unknown` until find() says the dead process had not sent it.
    assert report.outcomes == {"requeued": 1, "unknown": 1, "reconciled-unsent": 1, "published": 2}
    assert leases(d) == {} and news.calls == {next(iter(news.published)): 1}
    with d.engine.connect() as db:
        tried = db.execute(select(attempts.c.worker, attempts.c.outcome)).all()
    assert [tuple(t) for t in tried] == [(d.worker, "published")] * 2


def test_a_lease_from_another_host_is_taken_only_when_it_runs_out_unrenewed(tmp_path: Path, store_url: str) -> None:
    """A daemon on another host (its host id in the lease) holds both due deliveries, and
    names a PID that no process here has: only the lease's end decides."""
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)
    d.sync(clock.now)
    ended = subprocess.Popen(["true"])
    ended.wait()
    elsewhere = f"db-2.example.org:{ended.pid}/1234@00112233445566ff"
    assert not d.worker.endswith("@00112233445566ff")
    assert len(claim(d.engine, elsewhere, clock.now, LEASE)) == 2
    clock.now += LEASE - timedelta(seconds=1)
    assert d.publish_due().outcomes == {}
    renew(d.engine, elsewhere, clock.now + LEASE)  # its heartbeat
    clock.now += timedelta(seconds=2)  # past the claim's lease, not the renewed one
    assert d.publish_due().outcomes == {} and set(leases(d).values()) == {elsewhere}
    clock.now += LEASE  # no heartbeat since: it stopped
    assert d.publish_due().outcomes == {"requeued": 2, "published": 2}
    assert leases(d) == {} and counts(d.engine)["published"] == 2


def test_a_claim_late_in_a_long_pass_gets_a_whole_lease(tmp_path: Path, store_url: str) -> None:
    """A pass claims one delivery at a time and the first takes longer than a lease to
    publish: the second, claimed after it, is leased from the time of its claim, not from
    the start of the pass (when its lease would have ended before it was even claimed)."""
    root = make(tmp_path, store_url)
    started = time.monotonic()
    clock = lambda: LAUNCH + timedelta(minutes=1, seconds=time.monotonic() - started)  # noqa: E731 - real time, moved
    left: list[timedelta] = []

    class Watched(Slow):
        seconds = 1.3

        def publish(self, draft, key):
            with d.engine.connect() as db:
                left.append(
                    db.execute(select(deliveries.c.lease_until).where(deliveries.c.id == key)).scalar_one() - clock()
                )
            return super().publish(draft, key)

    workspace = load_paths([root]).workspaces[0]
    d = dispatcher(
        root, Clock(LAUNCH), channels={n: Watched(n, c.settings, root) for n, c in open_channels(workspace).items()}
    )
    d.clock, d.lease = clock, timedelta(seconds=1)
    d.sync(clock())
    assert d.publish_due(limit=1).outcomes == {"published": 2}
    assert len(left) == 2 and min(left) > timedelta(0), left


def test_a_worker_whose_leases_ran_out_unrenewed_publishes_no_more(tmp_path: Path, store_url: str) -> None:
    """The process is paused for longer than a lease in the middle of a pass (its clock
    jumps during the first publish; the heartbeat, due every 15 s of real time, has not
    run): another worker may have its other claim by now, so it does not publish it, and
    gives it back, untouched, as it is still its own."""
    root = make(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock)

    class Paused(RecordingChannel):
        def publish(self, draft, key):
            clock.now += LEASE + timedelta(seconds=1)
            return super().publish(draft, key)

    d.channels = {name: Paused(name, channel.settings, root) for name, channel in d.channels.items()}
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"published": 1}
    with d.engine.connect() as db:
        left = db.execute(
            select(deliveries).where(deliveries.c.due_at == LAUNCH, deliveries.c.state != "published")
        ).one()
    assert (left.state, left.lease_owner, left.attempts) == ("planned", None, 0)
    assert sum(len(c.calls) for c in d.channels.values()) == 1
