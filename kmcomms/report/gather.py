"""Reports from a workspace and its ledger: read (`ledger_view`, translation status),
evaluate (`evaluate`), build (`kmcomms.report.build`). The CLI and the daemon's scheduled
report share these; `as_of` and `generated_at` are passed in, never read from a clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from kmcomms.campaign.load import LoadedCampaign
from kmcomms.campaign.workspace import Workspace
from kmcomms.evaluate.compute import evaluate
from kmcomms.evaluate.ledger import ledger_view
from kmcomms.evaluate.model import DeliveryRow, EvidenceRow, Sample
from kmcomms.report.build import campaign_part, campaign_report, unit_report
from kmcomms.report.model import Report
from kmcomms.translations.catalogs import translation_status

__all__ = ["end_of_day", "gather_campaign", "gather_unit", "unit_period"]


def end_of_day(day: date, zone: str = "UTC") -> datetime:
    """The last instant of `day` in the IANA `zone`, as aware UTC: "as of 31 March" in
    London includes everything up to midnight there."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone)).astimezone(UTC) - timedelta(
        microseconds=1
    )


def unit_period(
    loaded: Sequence[LoadedCampaign], today: date, first: date | None = None, last: date | None = None
) -> tuple[date, date]:
    """A unit report's period: the days given, the others by default, never contradicting
    each other (two days given are returned as they are, for the caller to check).

    By default the period runs from the earliest start of the campaigns to `today`, or,
    while that start is still ahead, to the latest end: the whole span, all of it
    planned. `first` alone runs to `today` likewise (to the latest end, or `first`
    itself, when it is ahead); `last` alone runs from the earliest start, or from `last`
    itself when every campaign starts after it. With no campaigns, `today`.
    """
    starts = [c.campaign.starts for c in loaded]
    ends = [c.campaign.ends for c in loaded]
    if first is None:
        first = min(starts, default=today) if last is None else min([*starts, last])
    if last is None:
        last = today if today >= first else max([first, *ends])
    return first, last


def gather_campaign(
    workspace: Workspace, loaded: LoadedCampaign, engine: Engine, as_of: datetime, *, generated_at: datetime
) -> Report:
    """One campaign's report as of `as_of` (aware)."""
    campaign = loaded.campaign
    deliveries, samples, evidence = ledger_view(engine, [campaign.id], end=as_of)
    evaluation = evaluate(campaign, deliveries, samples, evidence, as_of)
    part = campaign_part(campaign, evaluation, translation_status(workspace, [loaded]), deliveries)
    return campaign_report(workspace.settings.unit.name, part, evaluation, campaign, generated_at=generated_at)


def gather_unit(
    workspace: Workspace,
    loaded: Sequence[LoadedCampaign],
    engine: Engine,
    period: tuple[date, date],
    as_of: datetime,
    *,
    generated_at: datetime,
) -> Report:
    """The unit's report over `period` (first and last day, UTC): every campaign of
    `loaded` running at some time in it, evaluated as of `as_of` with the deliveries due
    from the period's first day (one ledger read for all of them)."""
    first, last = period
    running = [c for c in loaded if c.campaign.starts <= last and c.campaign.ends >= first]
    start = datetime.combine(first, time(0), UTC)
    deliveries, samples, evidence = ledger_view(engine, [c.campaign.id for c in running], start=start, end=as_of)
    # Rows split by campaign once: `evaluate` would skip the others', but a hundred
    # campaigns would each walk every row.
    rows: dict[str, tuple[list[DeliveryRow], list[Sample], list[EvidenceRow]]] = {
        c.campaign.id: ([], [], []) for c in running
    }
    for delivery in deliveries:
        rows[delivery.campaign][0].append(delivery)
    for sample in samples:
        rows[sample.campaign][1].append(sample)
    for record in evidence:
        rows[record.campaign][2].append(record)
    statuses = translation_status(workspace, running)
    items = []
    for c in running:
        own_deliveries, own_samples, own_evidence = rows[c.campaign.id]
        evaluation = evaluate(c.campaign, own_deliveries, own_samples, own_evidence, as_of)
        part = campaign_part(
            c.campaign,
            evaluation,
            [s for s in statuses if s.campaign == c.campaign.id],
            own_deliveries,
            reach_charts=False,
        )
        items.append((c.campaign, part, evaluation))
    span = (min(c.campaign.starts for c in loaded), max(c.campaign.ends for c in loaded)) if loaded else None
    return unit_report(workspace.settings.unit.name, items, period, as_of.date(), generated_at=generated_at, span=span)
