"""The report's data, made from evaluations (kmcomms.evaluate): the sections of the outline
in domain-km.md §8, in words, tables and charts. Pure: no database, no clock, no files.

    part = campaign_part(campaign, evaluation, translations, deliveries)
    report = campaign_report(unit_name, part, evaluation, campaign, generated_at=now)
    report = unit_report(unit_name, [(campaign, part, evaluation), …], period, as_of, generated_at=now)

`kmcomms.report.gather` does the reading and evaluating around these. Every sentence that
counts something counts the rows of the table beside it, so the two always agree; a table
with no rows says what would fill it (`Table.empty`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from kmcomms.campaign.models import Campaign
from kmcomms.evaluate.model import LEVELS, CampaignEvaluation, DeliveryRow, IndicatorResult, Status
from kmcomms.report.model import (
    Chart,
    IndicatorValue,
    Part,
    ReachValue,
    Report,
    Section,
    Table,
    format_number,
)
from kmcomms.report.reach_sections import channels, learning, reach
from kmcomms.report.sections import inclusion, influence, levels, methods, theory_of_change
from kmcomms.report.words import COLLECT, by_date, count, describe, indicator_specs, status_words
from kmcomms.translations.catalogs import Status as TranslationStatus

__all__ = ["STATUS_ORDER", "campaign_part", "campaign_report", "indicator_values", "reach_values", "unit_report"]

#: Statuses from best to worst, as the unit overview's columns list them.
STATUS_ORDER = (Status.MET, Status.ON_TRACK, Status.TOO_EARLY, Status.AT_RISK, Status.MISSED, Status.NO_DATA)


def campaign_part(
    campaign: Campaign,
    evaluation: CampaignEvaluation,
    translations: Sequence[TranslationStatus],
    deliveries: Iterable[DeliveryRow],
    *,
    reach_charts: bool = True,
) -> Part:
    """One campaign's sections. `translations`: its `translation_status`; `deliveries`:
    its ledger rows (for the languages actually published). `reach_charts`: each reach
    metric by audience and language as a chart (with its table), or as a table only, as
    in a unit report, where a hundred campaigns would make hundreds of charts that only
    repeat their tables; the progress chart stays."""
    published = Counter(d.language for d in deliveries if d.state == "published")
    sections = (
        _summary(campaign, evaluation),
        theory_of_change(campaign),
        reach(evaluation, reach_charts),
        levels(campaign, evaluation),
        channels(evaluation),
        influence(campaign, evaluation),
        inclusion(campaign, translations, published),
        learning(evaluation),
        methods(evaluation),
    )
    return Part(evaluation.campaign, evaluation.title, sections)


def campaign_report(
    unit: str,
    part: Part,
    evaluation: CampaignEvaluation,
    campaign: Campaign,
    *,
    generated_at: datetime,
    notes: Sequence[str] = (),
) -> Report:
    """The report of one campaign."""
    return Report(
        title=f"{evaluation.title}: evaluation report",
        unit=unit,
        language=campaign.language,
        generated_at=generated_at,
        as_of=evaluation.as_of.date(),
        period=None,
        overview=None,
        parts=(part,),
        indicators=indicator_values(campaign, evaluation),
        reach=reach_values(evaluation),
        notes=tuple(notes),
    )


def unit_report(
    unit: str,
    items: Sequence[tuple[Campaign, Part, CampaignEvaluation]],
    period: tuple[date, date],
    as_of: date,
    *,
    generated_at: datetime,
    notes: Sequence[str] = (),
    span: tuple[date, date] | None = None,
) -> Report:
    """The unit's report over `period`: an overview across campaigns, then each campaign.
    `span`: the first start and last end of all the workspace's campaigns, to say where
    to look when none runs in `period`."""
    language = Counter(c.language for c, _, _ in items).most_common(1)
    return Report(
        title=f"{unit}: campaign evaluation, {period[0]} to {period[1]}",
        unit=unit,
        language=language[0][0] if language else "en",
        generated_at=generated_at,
        as_of=as_of,
        period=period,
        overview=_overview(items, period, as_of, span),
        parts=tuple(part for _, part, _ in items),
        indicators=tuple(v for c, _, e in items for v in indicator_values(c, e)),
        reach=tuple(v for _, _, e in items for v in reach_values(e)),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------ tidy tables


def indicator_values(campaign: Campaign, evaluation: CampaignEvaluation) -> tuple[IndicatorValue, ...]:
    """indicators.csv's rows: one per indicator."""
    specs = indicator_specs(campaign)
    return tuple(
        IndicatorValue(
            evaluation.campaign,
            r.aim,
            r.objective,
            r.id,
            r.metric,
            r.level,
            r.baseline,
            r.target,
            specs[(r.objective, r.id)].by,
            r.value,
            r.projected,
            r.status.value,
            r.observations,
            evaluation.as_of.date(),
        )
        for o in evaluation.objectives
        for r in o.indicators
    )


def reach_values(evaluation: CampaignEvaluation) -> tuple[ReachValue, ...]:
    """reach.csv's rows: one per audience × language × channel × metric."""
    return tuple(
        ReachValue(evaluation.campaign, c.audience, c.language, c.channel, c.metric, c.value, c.deliveries)
        for c in evaluation.reach
    )


# ---------------------------------------------------------------------------- summary


def _overview(
    items: Sequence[tuple[Campaign, Part, CampaignEvaluation]],
    period: tuple[date, date],
    as_of: date,
    span: tuple[date, date] | None,
) -> Section:
    names: list[str] = []
    counts: list[tuple[int, ...]] = []  # per campaign: objectives, one per status, published, evidence
    for _campaign, _part, evaluation in items:
        statuses = Counter(o.status for o in evaluation.objectives)
        evidence = sum(len(records) for records in evaluation.evidence.values())
        names.append(evaluation.title)
        counts.append(
            (
                len(evaluation.objectives),
                *(statuses[s] for s in STATUS_ORDER),
                evaluation.health.get("published", 0),
                evidence,
            )
        )
    where = f"between {period[0]} and {period[1]}"
    elsewhere = f"No campaign runs {where}." + (
        f" The workspace's campaigns run from {span[0]} to {span[1]}: give `--from` and `--to` within that span."
        if span
        else ""
    )
    table = Table(
        "campaigns",
        "Objectives by status, deliveries published and evidence records, per campaign",
        ("Campaign", "Objectives", *(s.value for s in STATUS_ORDER), "Published", "Evidence"),
        tuple((name, *r) for name, r in zip(names, counts, strict=True)),
        empty=elsewhere,
    )
    if not names:
        return Section("overview", "Unit overview", (), (table,))
    # The sentence adds up the table's own columns, so the two cannot disagree.
    total = Counter({s: sum(r[1 + k] for r in counts) for k, s in enumerate(STATUS_ORDER)})
    published = tuple((name, r[-2]) for name, r in zip(names, counts, strict=True))
    chart_table = Table("published", "Deliveries published per campaign", ("Campaign", "Published"), published)
    chart = Chart(
        "published",
        "Deliveries published per campaign",
        describe(published, "deliveries published"),
        tuple(names),
        tuple(float(r[-2]) for r in counts),
        "deliveries published",
        chart_table,
    )
    paragraphs = [
        f"{count(len(names), 'campaign')} active {where}, "
        f"with {count(sum(r[0] for r in counts), 'objective')}: {status_words(total)}."
    ]
    if as_of < period[0]:
        paragraphs.append(
            f"The period has not begun: as of {as_of} nothing in it can be measured yet, so the report "
            "shows what is planned."
        )
    return Section("overview", "Unit overview", tuple(paragraphs), (table,), (chart,))


def _summary(c: Campaign, e: CampaignEvaluation) -> Section:
    rows = tuple(
        (
            o.id,
            o.statement,
            o.status.value,
            f"{sum(i.value is not None for i in o.indicators)} of {len(o.indicators)}",
            "; ".join(_progress(i) for i in o.indicators) or "no indicators",
        )
        for o in e.objectives
    )
    indicators = [i for o in e.objectives for i in o.indicators]
    measured = [i for i in indicators if i.value is not None]
    # Counted from the table's Status column: the sentence and the table say the same.
    paragraphs = [
        f"{count(len(rows), 'objective')}: {status_words(Counter(Status(r[2]) for r in rows))}; "
        f"{len(measured)} of {count(len(indicators), 'indicator')} measured so far."
    ]
    published, total = e.health.get("published", 0), sum(e.health.values())
    trouble = ", ".join(f"{e.health[s]} {s}" for s in ("failed", "missed", "blocked", "unknown") if e.health.get(s))
    paragraphs.append(
        f"{published} of {count(total, 'delivery', 'deliveries')} published" + (f"; {trouble}." if trouble else ".")
        if total
        else "No deliveries yet: `kmcomms publish` or the daemon plans them from the campaign's messages."
    )
    # Headline results: the highest AMEC levels first, as those are closest to impact.
    headline = [i for level in reversed(LEVELS) for i in e.by_level.get(level, ()) if i.value is not None]
    paragraphs += [f"Headline: {_headline(c, i)}." for i in headline[:5]]
    if not measured:
        paragraphs.append(f"No indicator has data yet: {COLLECT}")
    table = Table(
        "objectives",
        "Status of each objective: the worst of its indicators, so “no data” while any of them is not measured",
        ("Objective", "Statement", "Status", "Measured", "Indicators"),
        rows,
        empty="No objectives: add them under an aim's `objectives:` in campaign.yaml.",
    )
    charts: tuple[Chart, ...] = ()
    if measured:
        data = Table(
            "progress",
            "Progress from baseline to target, per indicator",
            ("Indicator", "Value", "Target", "Progress (%)"),
            tuple((i.id, i.value, i.target, round(_percent(i), 1)) for i in measured),
        )
        charts = (
            Chart(
                "progress",
                "Progress towards each target",
                "Each bar is an indicator's way from its baseline (0%) to its target (the dashed line at "
                "100%): " + describe(((r[0], r[3]) for r in data.rows), "%"),
                tuple(i.id for i in measured),
                tuple(_percent(i) for i in measured),
                "% of the way to target",
                data,
                reference=100.0,
                suffix="%",
            ),
        )
    return Section("summary", "Summary", tuple(paragraphs), (table,), charts)


def _percent(i: IndicatorResult) -> float:
    """How far from baseline (0) to target (100) the value is; works for falling targets too."""
    assert i.value is not None
    if i.target == i.baseline:
        return 100.0 if i.value == i.target else 0.0
    return 100.0 * (i.value - i.baseline) / (i.target - i.baseline)


def _progress(i: IndicatorResult) -> str:
    if i.value is None:
        return f"{i.id} no data yet (target {format_number(i.target)})"
    return f"{i.id} {format_number(i.value)} of {format_number(i.target)} ({i.status.value})"


def _headline(c: Campaign, i: IndicatorResult) -> str:
    """One measured indicator's result, with what its status rests on."""
    assert i.value is not None
    by = indicator_specs(c)[(i.objective, i.id)].by
    said = {
        Status.MET: "met",
        Status.MISSED: f"missed: the deadline was {by}",
        Status.TOO_EARLY: f"too early to project; a trend is projected from {by_date(c, i.projects_from)}",
        Status.ON_TRACK: f"on track: projected {format_number(i.projected or 0)} by {by}",
        Status.AT_RISK: f"at risk: projected {format_number(i.projected or 0)} by {by}",
    }[i.status]
    return f"{i.id} {format_number(i.value)} of {format_number(i.target)} ({said})"
