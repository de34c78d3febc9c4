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

import dataclasses
import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable
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
from kmcomms.ledger.claims import Outcome, claim, finish, holders, mark_missed, reap, release, republished
from kmcomms.ledger.ledger import State
from kmcomms.ledger.queries import due_by, in_state, published_content
from kmcomms.ledger.resolve import reconcile_found, reconcile_unsent
from kmcomms.ledger.sync import SyncReport, sync
from kmcomms.ledger.tables import LedgerRow
from kmcomms.ledger.tracking import register_links
from kmcomms.logs import event
from kmcomms.plan.deliveries import ALL_TIME, Delivery, plan_of
from kmcomms.publish import outcomes
from kmcomms.publish.leases import heartbeat, lapsed
from kmcomms.publish.workers import gone
from kmcomms.render.drafts import Blocked, Draft
from kmcomms.render.renderer import Renderer
from kmcomms.render.tracking import Tracker
from kmcomms.translations.catalogs import load_catalog, target_languages
from kmcomms.translations.strings import source_messages

__all__ = ["LEASE", "DispatchReport", "Dispatcher", "content_hash", "held_campaigns", "message_hash"]

log = logging.getLogger("kmcomms.dispatch")

#: How long a claim holds without a heartbeat: a worker that stopped on another host (or in
#: another container) loses its claims this long after its last renewal.
LEASE = timedelta(seconds=60)
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
        #: When the leases this worker holds run out unless renewed (see `leases.lapsed`).
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
        # Between passes the worker holds no lease: one left by a pass that could not
        # record its outcomes runs out, and is settled like any other.
        with heartbeat(self.engine, self.worker, self.lease, self.clock, self._renewed):
            self._claim_and_publish(now, limit, report)
        report.outcomes = Counter({k: v for k, v in report.outcomes.items() if v})
        return report

    def _renewed(self, until: datetime) -> None:
        """The heartbeat renewed this worker's leases until `until`."""
        self._held_until = until

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
            # A stop, or leases run out: the rest, untouched, is given back if still ours.
            if self.stopping or lapsed(self.worker, self._held_until, self.clock()):
                self._record(pending, report)
                release(self.engine, self.worker, [row.id for row in rows[index:]])
                return False
            pending.append((row, self._publish(row, now)))
            if not self._settles_itself(row.channel) or self.clock() - pending[0][1].at >= GROUP_COMMIT:
                self._record(pending, report)
        self._record(pending, report)
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
        if channel is None or row.campaign not in self.renderer.campaigns:
            return outcomes.held(
                row,
                started,
                now,
                f'campaign "{row.campaign}" has errors — run `kmcomms validate` and fix them'
                if row.campaign in self.held
                else f'channel "{row.channel}" or campaign "{row.campaign}" is no longer defined',
            )
        draft = self._drafts.pop(row.id, None)
        if draft is None:
            try:
                draft = self.renderer.render(_delivery(row))
            except Exception as exc:  # noqa: BLE001 - a template or settings fault: the delivery waits for a person
                return outcomes.held(row, started, now, f"cannot render: {exc}")
            if self.renderer.tracker is not None and isinstance(draft, Draft):
                register_links(self.engine, [draft])
        reason = self.gate(row.campaign, row.message, draft, started)
        if reason is not None:
            return outcomes.held(row, started, now, reason)
        assert isinstance(draft, Draft)
        try:
            publication = channel.publish(draft, row.id)
        except TransientError as exc:
            return outcomes.retrying(row, channel, started, self.clock(), str(exc), exc.retry_after, self.rng)
        except PermanentError as exc:
            return outcomes.failed(row, started, self.clock(), str(exc))
        except Exception as exc:
            log.exception("channel %s raised while publishing %s", row.channel, row.id)
            if channel.idempotent:
                error = f"{type(exc).__name__}: {exc}"
                return outcomes.retrying(row, channel, started, self.clock(), error, None, self.rng)
            return outcomes.uncertain(row, started, self.clock(), exc)
        return outcomes.published(row, started, self.clock(), publication, content_hash(draft))

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
