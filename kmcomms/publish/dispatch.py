"""The dispatcher: due deliveries out of the ledger, rendered, through their channels,
outcomes back into the ledger. One pass is `publish_due`; the daemon calls it on a clock.

Exactly once: a delivery is claimed with a lease before anything is sent; the delivery id
goes to the channel as its idempotency key; the outcome is written only while the lease
is still held. While a pass works, a heartbeat thread renews its leases, so a lease runs
out only when its worker stopped: a short time (LEASE) after a host went down or a worker
was killed elsewhere. A worker whose leases went unrenewed that long (paused, or cut off
from the store) publishes nothing more in that pass: someone else may have them. A pass
takes back at once the leases of a worker of this host that has ended
(`kmcomms.publish.workers.gone`): a daemon restarted after a crash resumes its work without
waiting. Either way the delivery goes back to `planned` where publishing again is
harmless (an idempotency key, or a newsletter that resumes its frozen recipients), else to
`unknown`, which the channel's `find()` settles or a person resolves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from kmcomms.campaign.load import LoadResult
from kmcomms.campaign.placeholders import first_placeholders
from kmcomms.campaign.workspace import Workspace
from kmcomms.channels.base import Capability, Channel, ChannelError, PermanentError, Publication, TransientError
from kmcomms.ledger.approvals import approved
from kmcomms.ledger.claims import (
    Attempt,
    Outcome,
    claim,
    finish,
    holders,
    mark_missed,
    reap,
    release,
    renew,
    republished,
)
from kmcomms.ledger.ledger import State
from kmcomms.ledger.queries import due_by, in_state, published_content
from kmcomms.ledger.resolve import reconcile_found, reconcile_unsent
from kmcomms.ledger.sync import SyncReport, sync
from kmcomms.ledger.tables import LedgerRow
from kmcomms.ledger.tracking import register_links
from kmcomms.logs import event
from kmcomms.plan.deliveries import ALL_TIME, Delivery, plan_of
from kmcomms.publish.workers import gone
from kmcomms.render.drafts import Blocked, Draft
from kmcomms.render.renderer import Renderer
from kmcomms.render.tracking import Tracker
from kmcomms.translations.catalogs import load_catalog, target_languages
from kmcomms.translations.strings import source_messages

__all__ = ["LEASE", "DispatchReport", "Dispatcher", "content_hash", "held_campaigns", "message_hash"]

log = logging.getLogger("kmcomms.dispatch")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
#: How long a claim holds without a heartbeat: a worker that stopped on another host (or in
#: another container) loses its claims this long after its last renewal.
LEASE = timedelta(seconds=60)
#: Heartbeats per lease: several in a row may fail (a database restarting) before a live
#: worker's lease runs out.
HEARTBEATS = 4
#: A blocked delivery is looked at again from the next pass on, not within the same one.
RECHECK = timedelta(seconds=1)
#: Outcomes are written together (one transaction per claimed batch), but never held
#: longer than this: a crash loses at most this long of outcomes, which reaping settles.
GROUP_COMMIT = timedelta(seconds=0.5)


def content_hash(draft: Draft) -> str:
    """A fingerprint of what a channel receives, to tell an edit after publication."""
    data = {f.name: getattr(draft, f.name) for f in dataclasses.fields(draft) if f.name != "delivery"}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=lambda link: [link.id, link.original, link.url])
    return hashlib.sha256(text.encode()).hexdigest()


def message_hash(renderer: Renderer, campaign: str, message: str) -> str:
    """A fingerprint of a message's content in every language, for approvals: it changes
    when the text, a body file or any translation of it changes."""
    loaded = renderer.campaigns[campaign]
    found = next(m for m in loaded.campaign.messages if m.id == message)
    parts = [found.model_dump_json(), loaded.bodies[message].text]
    for language in target_languages(loaded.campaign):
        catalog = load_catalog(renderer.workspace.translations_dir, campaign, language)
        for entry in source_messages(loaded, message):
            parts.append(f"{language}\0{entry.context}\0{catalog.get(entry.context, entry.text) if catalog else ''}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class DispatchReport:
    """What one pass did: counts per outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in sorted(self.outcomes.items())) or "nothing due"


_ID_LINE = re.compile(r"^id:[ \t]*['\"]?([a-z0-9-]+)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)


def held_campaigns(loaded: LoadResult, workspace: Workspace) -> set[str]:
    """Ids of the workspace's campaigns that failed to load: their folder name, or the
    `id:` line of their file when it has one. Their deliveries are kept as they are
    (not cancelled) until the files are fixed."""
    held = set()
    good = {c.campaign.id for c in loaded.campaigns}
    folder = workspace.campaigns_dir.resolve()
    for diagnostic in loaded.errors:
        try:
            relative = Path(diagnostic.path).resolve().relative_to(folder)
        except ValueError:
            continue
        if len(relative.parts) < 2:
            continue
        held.add(relative.parts[0])
        try:
            found = _ID_LINE.search(
                (folder / relative.parts[0] / "campaign.yaml").read_text(encoding="utf-8", errors="replace")
            )
        except OSError:
            found = None
        if found:
            held.add(found[1])
    return held - good


def _delivery(row: LedgerRow) -> Delivery:
    return Delivery(
        row.id,
        row.campaign,
        row.message,
        row.occurrence,
        tuple(row.audiences.split()),
        row.language,
        row.channel,
        row.due_at,
        row.timezone,
    )


class Dispatcher:
    """Publishes the due deliveries of the loaded campaigns of one workspace."""

    def __init__(
        self,
        engine: Engine,
        workspace: Workspace,
        loaded: LoadResult,
        channels: dict[str, Channel],
        *,
        worker: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: timedelta = LEASE,
        rng: random.Random | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.engine = engine
        self.workspace = workspace
        self.loaded = loaded
        self.channels = channels
        self.worker = worker
        self.clock = clock
        self.lease = lease
        self.rng = rng or random.Random()
        self.renderer = Renderer(workspace, loaded.campaigns, tracker)
        self.stopping = False
        #: When the leases this worker holds run out unless renewed (see `_lapsed`).
        self._held_until = datetime.min.replace(tzinfo=UTC)
        self._drafts: dict[str, Draft | Blocked] = {}
        self.held = held_campaigns(loaded, workspace)
        #: Called with each claimed row and its outcome ("published", "failed", …), e.g. to log it.
        self.on_outcome: Callable[[LedgerRow, str], None] | None = None
        self.embargo = {
            c.campaign.id: c.campaign.embargo.replace(tzinfo=ZoneInfo(c.campaign.timezone)).astimezone(UTC)
            for c in loaded.campaigns
            if c.campaign.embargo
        }
        #: The first placeholder `kmcomms new` left in each message that still has one.
        self.placeholders = first_placeholders(loaded.campaigns)

    def sync(self, now: datetime) -> SyncReport:
        """Bring the ledger in line with the campaigns (every delivery, past ones too)."""
        return sync(self.engine, plan_of(self.loaded, ALL_TIME, now).deliveries, now, keep=self.held)

    def refresh(self, now: datetime) -> dict[str, list[str]]:
        """Published deliveries whose content changed since (a body, a title, a
        translation): updated on channels that can, listed for a person otherwise.
        Returns {"updated": [ids], "edited": [ids the channel cannot update]}."""
        rows = published_content(self.engine)
        result: dict[str, list[str]] = {"updated": [], "edited": []}
        for row in rows:
            channel = self.channels.get(row.channel)
            if channel is None or not row.content_hash or row.campaign not in self.renderer.campaigns:
                continue
            draft = self.renderer.render(_delivery(row))
            if not isinstance(draft, Draft) or content_hash(draft) == row.content_hash:
                continue
            if Capability.UPDATE not in channel.capabilities:
                result["edited"].append(row.id)
                continue
            try:
                updated = channel.update(Publication(row.remote_id or row.id, row.url), draft)
            except ChannelError as exc:
                log.warning("could not update %s on %s: %s", row.id, row.channel, exc)
                result["edited"].append(row.id)
                continue
            republished(self.engine, row.id, updated.remote_id, updated.url, content_hash(draft))
            result["updated"].append(row.id)
        return result

    def prepare(self, until: datetime) -> int:
        """Render ahead the open deliveries due by `until`, so that when they fall due the
        pass only claims, publishes and records. Returns how many were rendered. The
        drafts live as long as this dispatcher: a reload (files changed) makes a new one."""
        rows = due_by(self.engine, until)
        rendered: list[Draft | Blocked] = []
        for row in rows:
            if (
                row.id in self._drafts
                or row.campaign not in self.renderer.campaigns
                or row.channel not in self.channels
            ):
                continue
            try:
                self._drafts[row.id] = draft = self.renderer.render(_delivery(row))
            except Exception:  # noqa: BLE001 - rendered again when due, where the fault is recorded
                continue
            rendered.append(draft)
        if self.renderer.tracker is not None:  # ahead too, so a wake-up writes nothing before publishing
            register_links(self.engine, [d for d in rendered if isinstance(d, Draft)])
        return len(rendered)

    def publish_due(self, now: datetime | None = None, limit: int = 50) -> DispatchReport:
        """One pass: settle what stopped workers left (leases run out, or held by a process
        of this host that has ended), settle unknowns, mark the missed, then claim and
        publish due deliveries until none is left (or `stopping` is set)."""
        now = now or self.clock()
        report = DispatchReport()
        ended = {owner for owner in holders(self.engine) if owner != self.worker and gone(owner)}
        for owner in sorted(ended):
            event(
                log,
                "taken-back",
                f"taking back the deliveries {owner} was publishing: that process on this host has ended",
                level=logging.WARNING,
                worker=owner,
            )
        requeued, unknown = reap(self.engine, now, [n for n, c in self.channels.items() if c.idempotent], ended)
        report.outcomes.update({"requeued": requeued, "unknown": unknown})
        self._reconcile(report)
        report.outcomes["missed"] += mark_missed(
            self.engine, now, {n: c.grace_period for n, c in self.channels.items()}
        )
        with self._keeping_leases():
            self._claim_and_publish(now, limit, report)
        report.outcomes = Counter({k: v for k, v in report.outcomes.items() if v})
        return report

    @contextlib.contextmanager
    def _keeping_leases(self) -> Iterator[None]:
        """While a pass runs, a heartbeat renews this worker's leases HEARTBEATS times a
        lease, so that a publish longer than a lease is not taken for a stopped worker's.
        Between passes the worker holds no lease: one left by a pass that could not record
        its outcomes runs out, and is settled like any other."""
        done = threading.Event()

        def keep() -> None:
            while not done.wait(self.lease.total_seconds() / HEARTBEATS):
                until = self.clock() + self.lease
                try:
                    renew(self.engine, self.worker, until)
                except Exception:
                    log.warning("could not renew the leases of %s", self.worker, exc_info=True)
                    continue
                self._held_until = until

        keeper = threading.Thread(target=keep, name="kmcomms-leases", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _claim_and_publish(self, now: datetime, limit: int, report: DispatchReport) -> None:
        while not self.stopping:
            start = self.clock()
            rows = claim(self.engine, self.worker, now, self.lease, limit, start=start)
            if not rows or not self._publish_claimed(rows, start + self.lease, now, report):
                break

    def _publish_claimed(
        self, rows: list[LedgerRow], held_until: datetime, now: datetime, report: DispatchReport
    ) -> bool:
        """Publish claimed `rows` (leased until `held_until`), recording outcomes as they
        come. False when the pass must end: a stop was asked, or the leases ran out."""
        self._held_until = held_until
        pending: list[tuple[LedgerRow, Outcome]] = []
        for index, row in enumerate(rows):
            if self.stopping or self._lapsed():  # the rest, untouched, is given back if still ours
                self._record(pending, report)
                release(self.engine, self.worker, [row.id for row in rows[index:]])
                return False
            pending.append((row, self._publish(row, now)))
            if not self._settles_itself(row.channel) or self.clock() - pending[0][1].at >= GROUP_COMMIT:
                self._record(pending, report)
        self._record(pending, report)
        return True

    def _lapsed(self) -> bool:
        """Whether this worker's leases went a whole lease without renewal (the process was
        paused, or the store could not be reached): another worker may have taken them
        over, so publishing on could make a second copy."""
        if self.clock() < self._held_until:
            return False
        event(
            log,
            "leases-lapsed",
            f"the leases of {self.worker} ran out before they could be renewed: the rest of this "
            "pass is left to the next one",
            level=logging.WARNING,
            worker=self.worker,
        )
        return True

    def _settles_itself(self, name: str) -> bool:
        """Whether a crash before this channel's outcome is recorded is settled without a
        person: publishing again is harmless, or the channel can be asked (`find`)."""
        channel = self.channels.get(name)
        return channel is None or channel.idempotent or Capability.FIND in channel.capabilities

    def _record(self, pending: list[tuple[LedgerRow, Outcome]], report: DispatchReport) -> None:
        """Write the outcomes in `pending` in one transaction (a group commit), then empty it."""
        if not pending:
            return
        lost = finish(self.engine, self.worker, [outcome for _, outcome in pending])
        for row, outcome in pending:
            name = str(outcome.state)
            if row.id in lost:
                log.error("lease on %s was lost while publishing: the ledger keeps the other worker's outcome", row.id)
                name = "lease-lost"
            report.outcomes[name] += 1
            if self.on_outcome is not None:
                self.on_outcome(row, name)
        pending.clear()

    def gate(self, campaign: str, message: str, draft: Draft | Blocked, now: datetime) -> str | None:
        """Why a delivery of `message` rendered as `draft` may not go out at `now`, or None:
        placeholder text left in it, a translation, the embargo, or a missing approval."""
        left = self.placeholders.get((campaign, message))
        if left is not None:
            where = Path(left.path)
            where = where.relative_to(self.workspace.root) if where.is_relative_to(self.workspace.root) else where
            return (
                f"placeholder text from `kmcomms new` is left in {where}:{left.line} — write the message's own text "
                "there (`kmcomms validate` lists every placeholder)"
            )
        if isinstance(draft, Blocked):
            return draft.reason
        embargo = self.embargo.get(campaign)
        if embargo and now < embargo:
            return f"embargoed until {embargo:%Y-%m-%d %H:%M} UTC"
        if self.workspace.settings.policy.require_approval and not approved(
            self.engine, campaign, message, message_hash(self.renderer, campaign, message)
        ):
            return f"awaiting approval — run `kmcomms approve {campaign} --message {message} --by NAME`"
        return None

    def _publish(self, row: LedgerRow, now: datetime) -> Outcome:
        """Render (or take the draft rendered ahead), gate and publish one claimed delivery."""
        started = self.clock()
        channel = self.channels.get(row.channel)

        def held(reason: str) -> Outcome:
            return Outcome(row.id, State.BLOCKED, started, reason=reason, counted=False, not_before=now + RECHECK)

        if channel is None or row.campaign not in self.renderer.campaigns:
            return held(
                f'campaign "{row.campaign}" has errors — run `kmcomms validate` and fix them'
                if row.campaign in self.held
                else f'channel "{row.channel}" or campaign "{row.campaign}" is no longer defined'
            )
        draft = self._drafts.pop(row.id, None)
        if draft is None:
            try:
                draft = self.renderer.render(_delivery(row))
            except Exception as exc:  # noqa: BLE001 - a template or settings fault: the delivery waits for a person
                return held(f"cannot render: {exc}")
            if self.renderer.tracker is not None and isinstance(draft, Draft):
                register_links(self.engine, [draft])
        reason = self.gate(row.campaign, row.message, draft, started)
        if reason is not None:
            return held(reason)
        assert isinstance(draft, Draft)
        try:
            publication = channel.publish(draft, row.id)
        except TransientError as exc:
            return self._retry(row, channel, started, str(exc), exc.retry_after)
        except PermanentError as exc:
            return Outcome(row.id, State.FAILED, self.clock(), Attempt(started, "permanent", str(exc)), reason=str(exc))
        except Exception as exc:
            log.exception("channel %s raised while publishing %s", row.channel, row.id)
            if channel.idempotent:
                return self._retry(row, channel, started, f"{type(exc).__name__}: {exc}", None)
            return Outcome(
                row.id,
                State.UNKNOWN,
                self.clock(),
                Attempt(started, "unknown", repr(exc)),
                reason=f"the channel failed mid-publish ({type(exc).__name__}): check it, then `kmcomms resolve`",
            )
        return Outcome(
            row.id,
            State.PUBLISHED,
            self.clock(),
            Attempt(started, "published"),
            remote_id=publication.remote_id,
            url=publication.url,
            content_hash=content_hash(draft),
        )

    def _retry(
        self, row: LedgerRow, channel: Channel, started: datetime, error: str, retry_after: float | None
    ) -> Outcome:
        now = self.clock()
        if row.attempts >= channel.attempt_limit:
            return Outcome(
                row.id,
                State.FAILED,
                now,
                Attempt(started, "transient", error),
                reason=f"gave up after {row.attempts} attempts: {error}",
            )
        wait = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (row.attempts - 1)) * self.rng.uniform(0.8, 1.2)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        return Outcome(
            row.id, State.RETRYING, now, Attempt(started, "transient", error), reason=error, not_before=now + wait
        )

    def _reconcile(self, report: DispatchReport) -> None:
        """Ask channels about `unknown` deliveries: found means published, absent means
        it never went out; a channel that cannot tell leaves it to a person."""
        for row in in_state(self.engine, State.UNKNOWN):
            channel = self.channels.get(row.channel)
            if channel is None or Capability.FIND not in channel.capabilities:
                continue
            try:
                found = channel.find(row.id)
            except TransientError:
                continue
            if found is None:
                report.outcomes["reconciled-unsent"] += reconcile_unsent(self.engine, row.id, self.clock())
            else:
                report.outcomes["reconciled-published"] += reconcile_found(
                    self.engine, row.id, found.remote_id, found.url, self.clock()
                )
