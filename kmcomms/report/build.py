"""The report's data, made from evaluations (kmcomms.evaluate): the sections of the outline
in domain-km.md §8, in words, tables and charts. Pure: no database, no clock, no files.

    part = campaign_part(campaign, evaluation, translations, deliveries)
    report = campaign_report(unit_name, part, evaluation, campaign, generated_at=now)
    report = unit_report(unit_name, [(campaign, part, evaluation), …], period, as_of, generated_at=now)

`kmcomms.report.gather` does the reading and evaluating around these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from kmcomms.evaluate import (
    LEVELS,
    SMALL_NUMBERS,
    CampaignEvaluation,
    DeliveryRow,
    IndicatorResult,
    RateCell,
    Status,
)
from kmcomms.models import Campaign, Indicator
from kmcomms.report.model import (
    Chart,
    IndicatorValue,
    Part,
    ReachValue,
    Report,
    Section,
    Table,
)
from kmcomms.translations import Status as TranslationStatus

__all__ = ["campaign_part", "campaign_report", "indicator_values", "reach_values", "unit_report"]

#: What each AMEC level means, for readers who do not know the framework.
LEVEL_MEANING = {
    "output": "Outputs: what was put out and who it reached.",
    "outtake": "Out-takes: what the audiences took out of it and how they reacted.",
    "outcome": "Outcomes: the effects on the audiences (learning, attitude, action).",
    "impact": "Impact: change in policy, practice, services or health.",
}
ALL = "(whole campaign)"  # a reach record tied to no delivery


def campaign_part(campaign: Campaign, evaluation: CampaignEvaluation, translations: Sequence[TranslationStatus],
                  deliveries: Iterable[DeliveryRow], *, reach_charts: bool = True) -> Part:
    """One campaign's sections. `translations`: its `translation_status`; `deliveries`:
    its ledger rows (for the languages actually published). `reach_charts`: each reach
    metric by audience and language as a chart (with its table), or as a table only, as
    in a unit report, where a hundred campaigns would make hundreds of charts that only
    repeat their tables; the progress chart stays."""
    published = Counter(d.language for d in deliveries if d.state == "published")
    sections = (
        _summary(evaluation),
        _theory_of_change(campaign),
        _reach(evaluation, reach_charts),
        _levels(campaign, evaluation),
        _channels(evaluation),
        _influence(evaluation),
        _inclusion(campaign, translations, published),
        _learning(evaluation),
        _methods(evaluation),
    )
    return Part(evaluation.campaign, evaluation.title, sections)


def campaign_report(unit: str, part: Part, evaluation: CampaignEvaluation, campaign: Campaign, *,
                    generated_at: datetime, notes: Sequence[str] = ()) -> Report:
    """The report of one campaign."""
    return Report(
        title=f"{evaluation.title}: evaluation report", unit=unit, language=campaign.language,
        generated_at=generated_at, as_of=evaluation.as_of.date(), period=None, overview=None, parts=(part,),
        indicators=indicator_values(campaign, evaluation), reach=reach_values(evaluation), notes=tuple(notes))


def unit_report(unit: str, items: Sequence[tuple[Campaign, Part, CampaignEvaluation]], period: tuple[date, date],
                as_of: date, *, generated_at: datetime, notes: Sequence[str] = ()) -> Report:
    """The unit's report over `period`: an overview across campaigns, then each campaign."""
    rows = []
    for _campaign, _part, evaluation in items:
        statuses = Counter(o.status for o in evaluation.objectives)
        evidence = sum(len(records) for records in evaluation.evidence.values())
        rows.append((evaluation.title, len(evaluation.objectives), *(statuses[s] for s in _STATUS_ORDER),
                     evaluation.health.get("published", 0), evidence))
    table = Table("campaigns", "Objectives by status, deliveries published and evidence records, per campaign",
                  ("Campaign", "Objectives", *(s.value for s in _STATUS_ORDER), "Published", "Evidence"), tuple(rows))
    chart_table = Table("published", "Deliveries published per campaign", ("Campaign", "Published"),
                        tuple((r[0], r[-2]) for r in rows))
    chart = Chart("published", "Deliveries published per campaign",
                  _describe(chart_table.rows, "deliveries published"), tuple(r[0] for r in rows),
                  tuple(float(r[-2]) for r in rows), "deliveries published", chart_table)
    total = Counter(o.status for _, _, e in items for o in e.objectives)
    overview = Section("overview", "Unit overview", (
        f"{len(items)} campaign{'s' * (len(items) != 1)} active between {period[0]} and {period[1]}, "
        f"with {sum(total.values())} objectives: " + _status_words(total) + ".",), (table,), (chart,) if rows else ())
    language = Counter(c.language for c, _, _ in items).most_common(1)
    return Report(
        title=f"{unit}: campaign evaluation, {period[0]} to {period[1]}", unit=unit,
        language=language[0][0] if language else "en", generated_at=generated_at, as_of=as_of, period=period,
        overview=overview, parts=tuple(part for _, part, _ in items),
        indicators=tuple(v for c, _, e in items for v in indicator_values(c, e)),
        reach=tuple(v for _, _, e in items for v in reach_values(e)), notes=tuple(notes))


# ------------------------------------------------------------------------ tidy tables


def indicator_values(campaign: Campaign, evaluation: CampaignEvaluation) -> tuple[IndicatorValue, ...]:
    """indicators.csv's rows: one per indicator."""
    specs = _indicator_specs(campaign)
    return tuple(
        IndicatorValue(evaluation.campaign, r.aim, r.objective, r.id, r.metric, r.level, r.baseline, r.target,
                       specs[(r.objective, r.id)].by, r.value, r.projected, r.status.value, r.observations,
                       evaluation.as_of.date())
        for o in evaluation.objectives for r in o.indicators)


def reach_values(evaluation: CampaignEvaluation) -> tuple[ReachValue, ...]:
    """reach.csv's rows: one per audience × language × channel × metric."""
    return tuple(ReachValue(evaluation.campaign, c.audience, c.language, c.channel, c.metric, c.value, c.deliveries)
                 for c in evaluation.reach)


# --------------------------------------------------------------------------- sections

_STATUS_ORDER = (Status.MET, Status.ON_TRACK, Status.AT_RISK, Status.MISSED, Status.NO_DATA)


def _summary(e: CampaignEvaluation) -> Section:
    statuses = Counter(o.status for o in e.objectives)
    rows = tuple((o.id, o.statement, o.status.value, "; ".join(_progress(i) for i in o.indicators) or "no indicators")
                 for o in e.objectives)
    published, total = e.health.get("published", 0), sum(e.health.values())
    trouble = ", ".join(f"{e.health[s]} {s}" for s in ("failed", "missed", "blocked", "unknown") if e.health.get(s))
    paragraphs = [
        f"{len(e.objectives)} objective{'s' * (len(e.objectives) != 1)}: {_status_words(statuses)}.",
        f"{published} of {total} deliveries published" + (f"; {trouble}." if trouble else "."),
    ]
    # Headline results: the highest AMEC levels first, as those are closest to impact.
    measured = [i for level in reversed(LEVELS) for i in e.by_level.get(level, ()) if i.value is not None]
    paragraphs += [f"Headline: {_progress(i)} ({i.status.value})." for i in measured[:5]]
    table = Table("objectives", "Status of each objective (the worst of its indicators)",
                  ("Objective", "Statement", "Status", "Indicators"), rows)
    charted = [i for o in e.objectives for i in o.indicators if i.value is not None]
    charts = ()
    if charted:
        data = Table("progress", "Progress from baseline to target, per indicator",
                     ("Indicator", "Value", "Target", "Progress (%)"),
                     tuple((i.id, i.value, i.target, round(_percent(i), 1)) for i in charted))
        charts = (Chart("progress", "Progress towards each target",
                        "Each bar is an indicator's way from its baseline (0%) to its target (the dashed line at 100%): "
                        + _describe(((r[0], r[3]) for r in data.rows), "%"),
                        tuple(i.id for i in charted), tuple(_percent(i) for i in charted), "% of the way to target",
                        data, reference=100.0),)
    return Section("summary", "Summary", tuple(paragraphs), (table,), charts)


def _theory_of_change(c: Campaign) -> Section:
    objectives = tuple((a.id, o.id, o.statement, ", ".join(o.audiences)) for a in c.aims for o in a.objectives)
    audiences = tuple((key, a.name, a.kind, ", ".join(a.languages), a.intent, ", ".join(a.channels))
                      for key, a in c.audiences.items())
    paragraphs = [f"Aim {a.id}: {a.statement}" for a in c.aims]
    paragraphs += [f"Assumption: {text}" for text in c.assumptions] or ["No assumptions are recorded in the campaign file."]
    return Section("theory-of-change", "Campaign and theory of change", tuple(paragraphs), (
        Table("toc-objectives", "Aims, objectives and the audiences they are for",
              ("Aim", "Objective", "Statement", "Audiences"), objectives),
        Table("toc-audiences", "Audiences", ("Audience", "Name", "Kind", "Languages", "Intent", "Channels"), audiences),
    ))


def _reach(e: CampaignEvaluation, with_charts: bool = True) -> Section:
    rows = tuple((c.audience or ALL, c.language or "–", c.channel or "–", c.metric, c.value, c.deliveries) for c in e.reach)
    gaps = tuple((g.audience, g.language or "(all languages)", g.problem, g.deliveries) for g in e.gaps)
    charts, tables = [], []
    for metric in dict.fromkeys(c.metric for c in e.reach):
        totals: Counter[str] = Counter()
        for c in e.reach:
            if c.metric == metric:
                totals[f"{c.audience or ALL} · {c.language or '–'}"] += c.value
        data = Table(f"reach-{metric}", f"{metric.capitalize()} by audience and language",
                     ("Audience · language", metric.capitalize()), tuple(totals.items()))
        if with_charts:
            charts.append(Chart(f"reach-{metric}", f"{metric.capitalize()} by audience and language",
                                _describe(totals.items(), metric), tuple(totals), tuple(totals.values()), metric, data))
        else:
            tables.append(data)
    paragraphs = (("Each figure is the latest running total a channel reported per delivery, plus the manual and "
                  "tracking records, which add up."),
                  f"{len(e.gaps)} coverage gap{'s' * (len(e.gaps) != 1)}: audiences or languages with no deliveries or "
                  "no reach." if e.gaps else "No coverage gaps: every audience and language has deliveries with reach.")
    return Section("reach", "Reach and equity", paragraphs, (
        Table("reach", "Reach by audience, language and channel",
              ("Audience", "Language", "Channel", "Metric", "Value", "Deliveries"), rows),
        *tables,
        Table("gaps", "Coverage gaps", ("Audience", "Language", "Problem", "Deliveries"), gaps),
        Table("health", "Deliveries by state", ("State", "Deliveries"),
              tuple((state, n) for state, n in e.health.items() if n)),
    ), tuple(charts))


def _levels(c: Campaign, e: CampaignEvaluation) -> Section:
    specs = _indicator_specs(c)
    tables = tuple(
        Table(f"level-{level}", LEVEL_MEANING[level],
              ("Indicator", "Objective", "Metric", "Baseline", "Target", "By", "Value", "Projected", "Status", "Samples"),
              tuple((i.id, i.objective, i.metric, i.baseline, i.target, specs[(i.objective, i.id)].by.isoformat(),
                     i.value, i.projected, i.status.value, i.observations) for i in e.by_level.get(level, ())),
              note="Projected: the trend so far carried on to the deadline." if e.by_level.get(level) else None)
        for level in LEVELS)
    return Section("results", "Results by AMEC level", (
        ("Indicators from outputs to impact (AMEC Integrated Evaluation Framework), each against its baseline and "
        "target. Status: met, on track or at risk (by the projected trend), missed (deadline passed short of target), "
        "no data (nothing measured yet)."),), tables)


def _rate_table(key: str, caption: str, rates: Iterable[RateCell]) -> Table:
    return Table(key, caption, (caption.split(" ")[-1].capitalize(), "Rate", "Count", "Of", "Value", "Deliveries",
                                "Sample"),
                 tuple((r.group, r.rate, r.numerator_value, r.denominator_value, round(r.value, 4), r.deliveries,
                        "small numbers" if r.small_numbers else "") for r in rates),
                 note=f"“small numbers”: fewer than {SMALL_NUMBERS} in the denominator, so a difference says little.")


def _channels(e: CampaignEvaluation) -> Section:
    states = sorted({s for by_state in e.health_by_channel.values() for s in by_state})
    health = Table("channel-health", "Deliveries per channel and state", ("Channel", *states),
                   tuple((channel, *(by_state.get(s, 0) for s in states))
                         for channel, by_state in sorted(e.health_by_channel.items())))
    rates = _rate_table("channel-rates", "Rates by channel", (r for r in e.rates if r.dimension == "channel"))
    caveats = tuple(f"Data caveat: {q}." for q in e.quality)
    return Section("channels", "Channel performance", caveats, (rates, health))


def _influence(e: CampaignEvaluation) -> Section:
    rows = tuple((kind.replace("-", " "), r.happened_on.date().isoformat(), r.title, r.source, r.url, r.notes)
                 for kind, records in e.evidence.items() for r in records)
    count = len(rows)
    return Section("influence", "Policy and practice influence", (
        f"{count} evidence record{'s' * (count != 1)} of influence on policy, practice, patients and the public "
        "(Researchfish types)." if count else "No evidence records yet: add them with `kmcomms evidence add`.",),
        (Table("evidence", "Evidence records by Researchfish type", ("Type", "Date", "Title", "Source", "URL", "Notes"),
               rows),))


def _inclusion(c: Campaign, translations: Sequence[TranslationStatus], published: Counter[str]) -> Section:
    rows = tuple((t.language, t.total, t.translated, t.reviewed, t.fuzzy, t.missing, published[t.language])
                 for t in translations)
    audiences = tuple((key, ", ".join(a.languages), a.reading_age, ", ".join(a.needs) or "none")
                      for key, a in c.audiences.items())
    return Section("inclusion", "Accessibility and inclusion", (
        f"Written in {c.language}; {published[c.language]} deliveries published in it.",
        ("Reading age is checked against each audience's target for English text before anything is scheduled; "
        "translations count as reviewed once a native speaker has cleared the machine-draft flag."),
    ), (
        Table("translations", "Translations: strings translated and reviewed, deliveries published",
              ("Language", "Strings", "Translated", "Reviewed", "Fuzzy", "Missing", "Published"), rows),
        Table("audience-needs", "Reading age targets and accessibility needs per audience",
              ("Audience", "Languages", "Reading age", "Needs"), audiences),
    ))


def _learning(e: CampaignEvaluation) -> Section:
    lines = []
    for rate in dict.fromkeys(r.rate for r in e.rates):
        for dimension in ("channel", "language", "audience"):
            solid = sorted((r for r in e.rates if r.rate == rate and r.dimension == dimension and not r.small_numbers),
                           key=lambda r: r.value, reverse=True)
            if len(solid) >= 2:
                lines.append(f"{rate.capitalize()} by {dimension}: highest {solid[0].group} ({solid[0].value:.2f}), "
                             f"lowest {solid[-1].group} ({solid[-1].value:.2f}).")
    lines += [f"Did not work yet: objective {o.id} is {o.status.value}." for o in e.objectives
              if o.status in (Status.MISSED, Status.AT_RISK)]
    lines = lines or ["Too little data yet to compare what worked (or every comparison rests on small numbers)."]
    small = tuple(r for r in e.rates if r.dimension != "channel")
    return Section("learning", "Learning: what worked", tuple(lines), (
        _rate_table("language-rates", "Rates by language", (r for r in small if r.dimension == "language")),
        _rate_table("audience-rates", "Rates by audience", (r for r in small if r.dimension == "audience")),
    ))


def _methods(e: CampaignEvaluation) -> Section:
    paragraphs = [
        f"Figures as of {e.as_of:%Y-%m-%d %H:%M} UTC.",
        ("Channel figures are running totals: the latest per delivery and metric counts. Manual records (leaflets, "
        "events, broadcasts, surveys) and tracked clicks count what happened on their date and add up."),
        f"{e.unlinked} sample{'s' * (e.unlinked != 1)} tied to no delivery count towards the campaign as a whole only.",
        f"Rates on fewer than {SMALL_NUMBERS} are labelled “small numbers”.",
        "The report shows contribution, not attribution: other things happening at the same time may explain changes.",
    ]
    paragraphs += [f"Data quality: {q}." for q in e.quality]
    return Section("methods", "Methods, data sources and limitations", tuple(paragraphs), (
        Table("sources", "Samples counted per data source", ("Source", "Samples"), tuple(sorted(e.sources.items()))),))


# ---------------------------------------------------------------------------- helpers


def _indicator_specs(c: Campaign) -> dict[tuple[str, str], Indicator]:
    return {(o.id, i.id): i for a in c.aims for o in a.objectives for i in o.indicators}


def _percent(i: IndicatorResult) -> float:
    """How far from baseline (0) to target (100) the value is; works for falling targets too."""
    assert i.value is not None
    if i.target == i.baseline:
        return 100.0 if i.value == i.target else 0.0
    return 100.0 * (i.value - i.baseline) / (i.target - i.baseline)


def _progress(i: IndicatorResult) -> str:
    value = "no data" if i.value is None else f"{i.value:,.0f}"
    return f"{i.id} {value} of {i.target:,.0f}"


def _status_words(counts: Counter[Status]) -> str:
    return ", ".join(f"{counts[s]} {s.value}" for s in _STATUS_ORDER if counts[s]) or "none"


def _describe(pairs: Iterable[tuple[object, object]], unit: str) -> str:
    """A chart's data in one sentence, for its caption."""
    return "; ".join(f"{label} {value:,.0f}" if isinstance(value, int | float) else f"{label} {value}"
                     for label, value in pairs) + f" ({unit})."
