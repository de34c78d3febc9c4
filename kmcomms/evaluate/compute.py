"""`evaluate`: a campaign's indicators, reach, gaps, delivery health, rates and evidence
from plain rows, as of a given instant. No database, no clock."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kmcomms.campaign.models import Campaign, Indicator, Objective
from kmcomms.evaluate.model import (
    ADDITIVE_SOURCES,
    LEVELS,
    PROJECTION_MIN_DAYS,
    PROJECTION_MIN_SHARE,
    SMALL_NUMBERS,
    CampaignEvaluation,
    CoverageGap,
    DeliveryRow,
    EvidenceRow,
    IndicatorResult,
    ObjectiveResult,
    RateCell,
    ReachCell,
    Sample,
    Status,
)

__all__ = ["RATES", "STATES", "evaluate", "projects_from", "reduce_samples"]

#: Every delivery state, in the order delivery health lists them.
STATES = ("published", "planned", "blocked", "sending", "retrying", "failed", "unknown", "missed", "cancelled")

#: Denominator meaning "published deliveries" rather than a metric.
LISTINGS = "listings"

#: What worked: (name, numerator metric, denominator metric or LISTINGS).
RATES: tuple[tuple[str, str, str], ...] = (
    ("clicks per recipient", "clicks", "recipients"),
    ("opens per recipient", "opens", "recipients"),
    ("views per listing", "views", LISTINGS),
    ("likes per post", "likes", LISTINGS),
)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a reduced sample belongs: its delivery's audiences (several when they share
    the item), language and channel; for a campaign-wide sample, its own (no audience,
    or None, when it names none); nothing for a sample tied to a delivery that is not
    among the rows."""

    sample: Sample
    audiences: tuple[str, ...]
    language: str | None
    channel: str | None
    linked: bool = False
    """Tied to a delivery among the rows."""


_Attributes = tuple[str | None, str | None, str | None, str | None]


def _attributes(s: Sample) -> _Attributes:
    """What a sample names (a campaign-wide one; a delivery's name nothing: they are
    placed by their delivery), as the reduction groups by it."""
    return (s.message, s.audience, s.language, s.channel)


def reduce_samples(samples: Iterable[Sample], campaign: str, as_of: datetime) -> list[Sample]:
    """One row per (delivery, metric, source) of `campaign` (for samples tied to no
    delivery, per message, audience, language and channel too), from samples observed up
    to `as_of` (later ones are late data, ignored): duplicates (same group, observed_at
    and value: a re-sent reading, a CSV imported twice) count once; additive sources are
    summed, running totals give their latest reading (the larger value on a tie). The
    quality note kept is the greatest one of the group (the notes are per source and
    metric in practice). `ledger_view` does the same in SQL."""
    seen: dict[tuple[object, ...], Sample] = {}
    notes: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for s in samples:
        if s.campaign == campaign and s.observed_at <= as_of:
            group = (s.delivery_id, s.metric, s.source, _attributes(s))
            seen.setdefault((*group, s.observed_at, s.value), s)
            if s.quality is not None:
                notes[group].add(s.quality)
    groups: dict[tuple[str | None, str, str, _Attributes], list[Sample]] = defaultdict(list)
    for s in seen.values():
        groups[(s.delivery_id, s.metric, s.source, _attributes(s))].append(s)
    reduced = []
    for (delivery, metric, source, attributes), rows in groups.items():
        latest = max(rows, key=lambda r: (r.observed_at, r.value))
        value = sum(r.value for r in rows) if source in ADDITIVE_SOURCES else latest.value
        note = max(notes[(delivery, metric, source, attributes)], default=None)
        counted = sum(r.observations for r in rows) if source in ADDITIVE_SOURCES else 1
        reduced.append(
            Sample(campaign, metric, value, latest.observed_at, source, delivery, note, counted, *attributes)
        )
    return reduced


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def projects_from(start: datetime, deadline: datetime) -> datetime:
    """When an indicator's trend is first projected: `PROJECTION_MIN_DAYS` after `start`,
    or `PROJECTION_MIN_SHARE` of the way from `start` to `deadline` if that is later."""
    return start + max(timedelta(days=PROJECTION_MIN_DAYS), (deadline - start) * PROJECTION_MIN_SHARE)


def _status(
    value: float | None, baseline: float, target: float, start: datetime, deadline: datetime, as_of: datetime
) -> tuple[Status, float | None, datetime | None]:
    """The status rule, in this order:

    1. no sample matched → "no data" (even past the deadline: nothing shows it was missed);
    2. value ≥ target (≤ when the target is below the baseline) → "met";
    3. deadline passed → "missed";
    4. before `projects_from` (too little of the time has passed for a trend) → "too early";
    5. otherwise the trend, a straight line from the baseline at the campaign's start to
       the value now, is extended to the deadline: projected ≥ target (≤ when
       decreasing) → "on track", else "at risk".
    Returns the status, the projection (None unless step 5 made one) and, for "too
    early", when a projection will first be made."""
    decreasing = target < baseline
    if value is None:
        return Status.NO_DATA, None, None
    if (value <= target) if decreasing else (value >= target):
        return Status.MET, None, None
    if as_of >= deadline:
        return Status.MISSED, None, None
    first = projects_from(start, deadline)
    if as_of < first:
        return Status.TOO_EARLY, None, first
    projected = baseline + (value - baseline) * ((deadline - start) / (as_of - start))
    good = projected <= target if decreasing else projected >= target
    return (Status.ON_TRACK if good else Status.AT_RISK), projected, None


def _counts(indicator: Indicator, objective: Objective, where: _Where) -> bool:
    """Whether a sample counts towards the indicator. It must match the metric and each
    filter of the indicator, by its delivery's audience, language and channel (for a
    campaign-wide sample, its own). A filter matches only a sample naming one of its
    values: a sample naming no channel (no language) counts only towards indicators with
    no channel (language) filter. Audiences default to the objective's for a sample
    naming an audience (a shared delivery's sample: one of its audiences, and it counts
    once); one naming none counts only if the indicator names no audiences."""
    if where.sample.metric != indicator.metric:
        return False
    if not where.audiences:
        audience_ok = indicator.audiences is None
    else:
        wanted = indicator.audiences or objective.audiences
        audience_ok = any(audience in wanted for audience in where.audiences)
    return (
        audience_ok
        and (indicator.channels is None or (where.channel is not None and where.channel in indicator.channels))
        and (indicator.languages is None or (where.language is not None and where.language in indicator.languages))
    )


def _indicator(
    campaign: Campaign,
    aim: str,
    objective: Objective,
    indicator: Indicator,
    placed: list[_Where],
    start: datetime,
    as_of: datetime,
) -> IndicatorResult:
    matched = [w.sample for w in placed if _counts(indicator, objective, w)]
    value = sum(s.value for s in matched) if matched else None
    deadline = _local_midnight(indicator.by + timedelta(days=1), campaign.timezone)
    status, projected, first = _status(value, indicator.baseline, indicator.target, start, deadline, as_of)
    return IndicatorResult(
        aim=aim,
        objective=objective.id,
        id=indicator.id,
        metric=indicator.metric,
        level=indicator.level,
        channels=None if indicator.channels is None else tuple(indicator.channels),
        audiences=tuple(indicator.audiences or objective.audiences),
        languages=None if indicator.languages is None else tuple(indicator.languages),
        baseline=indicator.baseline,
        target=indicator.target,
        deadline=deadline,
        decreasing=indicator.target < indicator.baseline,
        value=value,
        projected=projected,
        status=status,
        observations=sum(s.observations for s in matched),
        sources=tuple(sorted({s.source for s in matched})),
        quality=tuple(sorted({s.quality for s in matched if s.quality})),
        projects_from=first,
    )


def _reach(placed: list[_Where]) -> tuple[ReachCell, ...]:
    values: dict[tuple[str | None, str | None, str | None, str], float] = defaultdict(float)
    deliveries: dict[tuple[str | None, str | None, str | None, str], set[str]] = defaultdict(set)
    for w in placed:
        for audience in w.audiences or (None,):
            key = (audience, w.language, w.channel, w.sample.metric)
            values[key] += w.sample.value
            if w.linked and w.sample.delivery_id is not None:
                deliveries[key].add(w.sample.delivery_id)
    order = sorted(values, key=lambda k: tuple((part is None, part or "") for part in k))
    return tuple(ReachCell(*key, value=values[key], deliveries=len(deliveries[key])) for key in order)


def _gaps(campaign: Campaign, deliveries: Sequence[DeliveryRow], placed: list[_Where]) -> tuple[CoverageGap, ...]:
    """Each audience with no deliveries (cancelled ones aside) or none reached; then,
    within an audience that was reached, each of its languages likewise."""
    sent: dict[tuple[str, str], int] = Counter(
        (audience, d.language) for d in deliveries if d.state != "cancelled" for audience in d.audiences
    )
    reached = {(audience, w.language) for w in placed if w.sample.value > 0 for audience in w.audiences}
    gaps = []
    for name, audience in campaign.audiences.items():
        count = sum(n for (a, _), n in sent.items() if a == name)
        if count == 0 or not any(a == name for a, _ in reached):
            gaps.append(CoverageGap(name, None, "no reach" if count else "no deliveries", count))
            continue
        for language in audience.languages:
            n = sent.get((name, language), 0)
            if n == 0 or (name, language) not in reached:
                gaps.append(CoverageGap(name, language, "no reach" if n else "no deliveries", n))
    return tuple(gaps)


def _rates(deliveries: Sequence[DeliveryRow], placed: list[_Where]) -> tuple[RateCell, ...]:
    """Each rate of `RATES` per channel, language and audience, over the deliveries of
    the group that have a denominator above 0 and a sample of the numerator metric."""
    per: dict[tuple[str, str], float] = defaultdict(float)
    for w in placed:
        if w.linked and w.sample.delivery_id is not None:
            per[(w.sample.delivery_id, w.sample.metric)] += w.sample.value
    cells = []
    for name, top, bottom in RATES:
        for dimension in ("channel", "language", "audience"):
            sums: dict[str, list[float]] = {}
            for d in deliveries:
                if (d.id, top) not in per:
                    continue
                below = (1.0 if d.state == "published" else 0.0) if bottom == LISTINGS else per.get((d.id, bottom), 0.0)
                if below <= 0:
                    continue
                # A shared delivery is in the group of each of its audiences.
                for group in d.audiences if dimension == "audience" else (getattr(d, dimension),):
                    acc = sums.setdefault(group, [0.0, 0.0, 0])
                    acc[0] += per[(d.id, top)]
                    acc[1] += below
                    acc[2] += 1
            for group in sorted(sums):
                up, down, n = sums[group]
                cells.append(
                    RateCell(name, top, bottom, dimension, group, up, down, up / down, int(n), down < SMALL_NUMBERS)
                )
    return tuple(cells)


def _placed(samples: Iterable[Sample], own: Sequence[DeliveryRow]) -> list[_Where]:
    """Where each sample counts: its delivery's audiences, language and channel (`own`: the
    campaign's deliveries), or those it names itself when tied to no delivery."""
    by_id = {d.id: d for d in own}
    placed = []
    for s in samples:
        if s.delivery_id is None:
            placed.append(_Where(s, (s.audience,) if s.audience else (), s.language, s.channel))
        elif (d := by_id.get(s.delivery_id)) is not None:
            placed.append(_Where(s, d.audiences, d.language, d.channel, linked=True))
        else:
            placed.append(_Where(s, (), None, None))
    return placed


def _objectives(campaign: Campaign, placed: list[_Where], as_of: datetime) -> list[ObjectiveResult]:
    """Each objective with its indicators' results; its status is the worst of theirs."""
    start = _local_midnight(campaign.starts, campaign.timezone)
    objectives = []
    for aim in campaign.aims:
        for objective in aim.objectives:
            results = tuple(
                _indicator(campaign, aim.id, objective, i, placed, start, as_of) for i in objective.indicators
            )
            status = min((r.status for r in results), key=lambda s: s.rank, default=Status.NO_DATA)
            objectives.append(
                ObjectiveResult(aim.id, objective.id, objective.statement, tuple(objective.audiences), status, results)
            )
    return objectives


def evaluate(
    campaign: Campaign,
    deliveries: Sequence[DeliveryRow],
    samples: Sequence[Sample],
    evidence: Sequence[EvidenceRow],
    as_of: datetime,
) -> CampaignEvaluation:
    """What `campaign` achieved as of `as_of` (aware), from the ledger's rows.

    Rows of other campaigns are ignored, so one `ledger_view` can serve many campaigns.
    Samples: see `reduce_samples` (late data ignored, duplicates once, additive sources
    summed, running totals latest). An indicator's value is the sum of the reduced
    samples that count towards it (see `_counts`); its status follows `_status`; an
    objective's status is the worst of its indicators'. Evidence after `as_of` is
    ignored too.
    """
    if as_of.tzinfo is None:
        raise ValueError("evaluate() needs an aware `as_of`")
    own = [d for d in deliveries if d.campaign == campaign.id]
    placed = _placed(reduce_samples(samples, campaign.id, as_of), own)
    objectives = _objectives(campaign, placed, as_of)
    indicators = [r for o in objectives for r in o.indicators]
    health = dict.fromkeys(STATES, 0) | Counter(d.state for d in own)
    by_channel: dict[str, dict[str, int]] = defaultdict(dict)
    for (channel, state), n in sorted(Counter((d.channel, d.state) for d in own).items()):
        by_channel[channel][state] = n
    records: dict[str, list[EvidenceRow]] = defaultdict(list)
    for e in sorted(evidence, key=lambda e: (e.happened_on, e.title)):
        if e.campaign == campaign.id and e.happened_on <= as_of:
            records[e.kind].append(e)
    sources: Counter[str] = Counter()
    totals: dict[str, float] = defaultdict(float)
    for w in placed:
        sources[w.sample.source] += w.sample.observations
        totals[w.sample.metric] += w.sample.value
    return CampaignEvaluation(
        campaign=campaign.id,
        title=campaign.title,
        as_of=as_of,
        objectives=tuple(objectives),
        by_level={level: tuple(r for r in indicators if r.level == level) for level in LEVELS},
        reach=_reach(placed),
        totals=dict(sorted(totals.items())),
        gaps=_gaps(campaign, own, placed),
        health=health,
        health_by_channel=dict(by_channel),
        rates=_rates(own, placed),
        evidence={kind: tuple(rows) for kind, rows in sorted(records.items())},
        sources=dict(sorted(sources.items())),
        quality=tuple(sorted({w.sample.quality for w in placed if w.sample.quality})),
        unlinked=sum(w.sample.observations for w in placed if not w.linked),
    )
