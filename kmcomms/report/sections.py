"""A campaign's sections after its summary, and the words they share with it: theory of
change, reach and equity, results by AMEC level, channel performance, influence,
inclusion, learning, methods. Pure functions of a campaign and its evaluation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kmcomms.campaign.models import Campaign, Indicator
from kmcomms.evaluate.model import (
    LEVELS,
    PROJECTION_MIN_DAYS,
    PROJECTION_MIN_SHARE,
    SMALL_NUMBERS,
    CampaignEvaluation,
    RateCell,
    Status,
)
from kmcomms.reach.records import KINDS
from kmcomms.report.model import Chart, Section, Table, format_number
from kmcomms.translations.catalogs import Status as TranslationStatus

__all__ = [
    "COLLECT",
    "PROJECTION_RULE",
    "by_date",
    "channels",
    "count",
    "describe",
    "inclusion",
    "indicator_specs",
    "influence",
    "learning",
    "levels",
    "methods",
    "reach",
    "status_words",
    "theory_of_change",
]

#: What each AMEC level means, for readers who do not know the framework.
LEVEL_MEANING = {
    "output": "Outputs: what was put out and who it reached.",
    "outtake": "Out-takes: what the audiences took out of it and how they reacted.",
    "outcome": "Outcomes: the effects on the audiences (learning, attitude, action).",
    "impact": "Impact: change in policy, practice, services or health.",
}

#: Where reach comes from, for a section that has none yet.
COLLECT = (
    "channels report their reach when the daemon or `kmcomms collect` asks them; record what no channel "
    "sees (leaflets, attendees, sessions) with `kmcomms reach add` or `kmcomms reach import`."
)

#: When a trend is projected, in words (the rule is kmcomms.evaluate's `_status`).
PROJECTION_RULE = (
    f"A trend is projected once at least {PROJECTION_MIN_DAYS} days and {PROJECTION_MIN_SHARE:.0%} of "
    "an indicator's time (from the campaign's start to its deadline) have passed: earlier, a few days' "
    "count carried on to the deadline would be multiplied many times over, so the status is "
    "“too early”."
)

_NO_DELIVERIES = "No deliveries yet: `kmcomms publish` or the daemon plans them from the campaign's messages."
_NO_RATES = (
    "No rates yet: a rate needs two counts of the same delivery (clicks and opens per recipient of a "
    "newsletter, views and likes per published post), which channels report when the daemon or "
    "`kmcomms collect` asks them."
)
_SENTENCE_STATUS = {Status.TOO_EARLY: "too early to project"}


# ------------------------------------------------------------------------------ words


def count(n: int, thing: str, things: str | None = None) -> str:
    """ "1 objective", "3 objectives" ("1 delivery", "2 deliveries" with `things`)."""
    return f"{n} {thing if n == 1 else things or thing + 's'}"


def status_words(counts: Counter[Status]) -> str:
    """ "1 met, 2 no data": each status counted, best first."""
    order = (Status.MET, Status.ON_TRACK, Status.TOO_EARLY, Status.AT_RISK, Status.MISSED, Status.NO_DATA)
    return ", ".join(f"{counts[s]} {_SENTENCE_STATUS.get(s, s.value)}" for s in order if counts[s]) or "none"


def describe(pairs: Iterable[tuple[object, object]], unit: str) -> str:
    """A chart's data in one sentence, for its caption: "parents · en 250; clinicians 9 (views)."."""
    suffix = unit if unit == "%" else ""
    said = "; ".join(
        f"{label} {format_number(value)}{suffix}" if isinstance(value, int | float) else f"{label} {value}"
        for label, value in pairs
    )
    return said + ("." if suffix else f" ({unit}).")


def by_date(c: Campaign, instant: datetime | None) -> date | None:
    """The day of `instant` in the campaign's time zone."""
    return None if instant is None else instant.astimezone(ZoneInfo(c.timezone)).date()


def indicator_specs(c: Campaign) -> dict[tuple[str, str], Indicator]:
    return {(o.id, i.id): i for a in c.aims for o in a.objectives for i in o.indicators}


def _place(audience: str | None, language: str | None) -> str:
    """Where reach was counted, as a label: "parents · en"; a record naming neither is
    the whole campaign's."""
    return " · ".join(part for part in (audience or "whole campaign", language) if part)


# --------------------------------------------------------------------------- sections


def theory_of_change(c: Campaign) -> Section:
    objectives = tuple((a.id, o.id, o.statement, ", ".join(o.audiences)) for a in c.aims for o in a.objectives)
    audiences = tuple(
        (key, a.name, a.kind, ", ".join(a.languages), a.intent, ", ".join(a.channels)) for key, a in c.audiences.items()
    )
    paragraphs = [f"Aim {a.id}: {a.statement}" for a in c.aims]
    paragraphs += [f"Assumption: {text}" for text in c.assumptions] or [
        "No assumptions are recorded: list what must hold for the campaign to work under `assumptions:` in "
        "campaign.yaml, so the report can say which were tested."
    ]
    return Section(
        "theory-of-change",
        "Campaign and theory of change",
        tuple(paragraphs),
        (
            Table(
                "toc-objectives",
                "Aims, objectives and the audiences they are for",
                ("Aim", "Objective", "Statement", "Audiences"),
                objectives,
                empty="No objectives: add them under an aim's `objectives:` in campaign.yaml.",
            ),
            Table(
                "toc-audiences",
                "Audiences",
                ("Audience", "Name", "Kind", "Languages", "Intent", "Channels"),
                audiences,
                empty="No audiences: add them under `audiences:` in campaign.yaml.",
            ),
        ),
    )


def reach(e: CampaignEvaluation, with_charts: bool = True) -> Section:
    rows = tuple(
        (c.audience or "whole campaign", c.language or "–", c.channel or "–", c.metric, c.value, c.deliveries)
        for c in e.reach
    )
    unnamed = any(c.language is None or c.channel is None for c in e.reach)
    gaps = tuple((g.audience, g.language or "(all languages)", g.problem, g.deliveries) for g in e.gaps)
    charts, tables = [], []
    for metric in dict.fromkeys(c.metric for c in e.reach):
        totals: dict[str, float] = {}
        for c in e.reach:
            if c.metric == metric:
                place = _place(c.audience, c.language)
                totals[place] = totals.get(place, 0) + c.value
        data = Table(
            f"reach-{metric}",
            f"{metric.capitalize()} by audience and language",
            ("Audience · language", metric.capitalize()),
            tuple(totals.items()),
        )
        if with_charts:
            charts.append(
                Chart(
                    f"reach-{metric}",
                    f"{metric.capitalize()} by audience and language",
                    describe(totals.items(), metric),
                    tuple(totals),
                    tuple(totals.values()),
                    metric,
                    data,
                )
            )
        else:
            tables.append(data)
    paragraphs = [
        "Each figure is the latest running total a channel reported per delivery, plus the manual and "
        "tracking records, which add up."
    ]
    by_cells: dict[str, float] = {}
    for c in e.reach:
        by_cells[c.metric] = by_cells.get(c.metric, 0) + c.value
    if any(by_cells.get(metric, 0) != total for metric, total in e.totals.items()):
        paragraphs.append(
            "A post, video or social item that several audiences share is shown under each of them; the "
            "totals count it once."
        )
    if gaps:
        paragraphs.append(f"{count(len(gaps), 'coverage gap')}: audiences or languages with no deliveries or no reach.")
    return Section(
        "reach",
        "Reach and equity",
        tuple(paragraphs),
        (
            Table(
                "reach",
                "Reach by audience, language and channel",
                ("Audience", "Language", "Channel", "Metric", "Value", "Deliveries"),
                rows,
                note="“whole campaign”, “–”: not named by the record (reach recorded by hand)." if unnamed else None,
                empty=f"No reach yet: {COLLECT}",
            ),
            Table(
                "reach-totals",
                "Total reach per metric, each delivery counted once",
                ("Metric", "Total"),
                tuple(e.totals.items()),
                empty=f"No reach yet: {COLLECT}",
            ),
            *tables,
            Table(
                "gaps",
                "Coverage gaps",
                ("Audience", "Language", "Problem", "Deliveries"),
                gaps,
                empty="No coverage gaps: every audience and language has deliveries with reach.",
            ),
            Table(
                "health",
                "Deliveries by state",
                ("State", "Deliveries"),
                tuple((state, n) for state, n in e.health.items() if n),
                empty=_NO_DELIVERIES,
            ),
        ),
        tuple(charts),
    )


def levels(c: Campaign, e: CampaignEvaluation) -> Section:
    specs = indicator_specs(c)
    tables = []
    for level in LEVELS:
        found = e.by_level.get(level, ())
        early = [f"{i.id} from {by_date(c, i.projects_from)}" for i in found if i.status is Status.TOO_EARLY]
        note = None
        if any(i.projected is not None for i in found) or early:
            note = (
                "Projected: the trend so far (a straight line from the baseline at the start) carried on to the "
                "deadline."
            )
            if early:
                note += " Too early to project yet: " + "; ".join(early) + "."
        tables.append(
            Table(
                f"level-{level}",
                LEVEL_MEANING[level],
                (
                    "Indicator",
                    "Objective",
                    "Metric",
                    "Baseline",
                    "Target",
                    "By",
                    "Value",
                    "Projected",
                    "Status",
                    "Samples",
                ),
                tuple(
                    (
                        i.id,
                        i.objective,
                        i.metric,
                        i.baseline,
                        i.target,
                        specs[(i.objective, i.id)].by.isoformat(),
                        i.value,
                        i.projected,
                        i.status.value,
                        i.observations,
                    )
                    for i in found
                ),
                note=note,
                empty=f"No {level} indicators: add one to an objective's `indicators:` in campaign.yaml with "
                f"`level: {level}`.",
            )
        )
    return Section(
        "results",
        "Results by AMEC level",
        (
            "Indicators from outputs to impact (AMEC Integrated Evaluation Framework), each against its baseline and "
            "target. Status: met; on track or at risk, by the trend projected to the deadline; too early (measured, but "
            "too soon to project); missed (deadline passed short of target); no data (nothing measured yet).",
            PROJECTION_RULE,
        ),
        tuple(tables),
    )


def _rate_table(key: str, caption: str, rates: Iterable[RateCell], empty: str = _NO_RATES) -> Table:
    rows = tuple(
        (
            r.group,
            r.rate,
            r.numerator_value,
            r.denominator_value,
            round(r.value, 4),
            r.deliveries,
            "small numbers" if r.small_numbers else "",
        )
        for r in rates
    )
    return Table(
        key,
        caption,
        (caption.split(" ")[-1].capitalize(), "Rate", "Count", "Of", "Value", "Deliveries", "Sample"),
        rows,
        note=f"“small numbers”: fewer than {SMALL_NUMBERS} in the denominator, so a difference says little."
        if any(r[-1] for r in rows)
        else None,
        empty=empty,
    )


def channels(e: CampaignEvaluation) -> Section:
    states = sorted({s for by_state in e.health_by_channel.values() for s in by_state})
    health = Table(
        "channel-health",
        "Deliveries per channel and state",
        ("Channel", *states),
        tuple(
            (channel, *(by_state.get(s, 0) for s in states))
            for channel, by_state in sorted(e.health_by_channel.items())
        ),
        empty=_NO_DELIVERIES,
    )
    rates = _rate_table("channel-rates", "Rates by channel", (r for r in e.rates if r.dimension == "channel"))
    caveats = tuple(f"Data caveat: {q}." for q in e.quality)
    return Section("channels", "Channel performance", caveats, (rates, health))


def influence(c: Campaign, e: CampaignEvaluation) -> Section:
    rows = tuple(
        (
            KINDS[kind].researchfish if kind in KINDS else kind.replace("-", " "),
            r.happened_on.date().isoformat(),
            r.title,
            r.source,
            r.url,
            r.notes,
        )
        for kind, records in e.evidence.items()
        for r in records
    )
    paragraphs = (
        (
            f"{count(len(rows), 'evidence record')} of influence on policy, practice, patients and the public "
            "(Researchfish types).",
        )
        if rows
        else ()
    )
    return Section(
        "influence",
        "Policy and practice influence",
        paragraphs,
        (
            Table(
                "evidence",
                "Evidence records by Researchfish type",
                ("Type", "Date", "Title", "Source", "URL", "Notes"),
                rows,
                empty="No evidence records yet: record each outcome or impact (a guideline or policy citing the "
                "work, evidence given to a review, a talk) with "
                f"`kmcomms evidence add --campaign {c.id} --kind KIND --title TITLE --date YYYY-MM-DD`.",
            ),
        ),
    )


def inclusion(c: Campaign, translations: Sequence[TranslationStatus], published: Counter[str]) -> Section:
    rows = tuple(
        (t.language, t.total, t.translated, t.reviewed, t.fuzzy, t.missing, published[t.language]) for t in translations
    )
    audiences = tuple(
        (key, ", ".join(a.languages), a.reading_age, ", ".join(a.needs) or "none") for key, a in c.audiences.items()
    )
    return Section(
        "inclusion",
        "Accessibility and inclusion",
        (
            f"Written in {c.language}; {count(published[c.language], 'delivery', 'deliveries')} published in it.",
            (
                "Reading age is checked against each audience's target for English text before anything is scheduled; "
                "translations count as reviewed once a native speaker has cleared the machine-draft flag."
            ),
        ),
        (
            Table(
                "translations",
                "Translations: strings translated and reviewed, deliveries published",
                ("Language", "Strings", "Translated", "Reviewed", "Fuzzy", "Missing", "Published"),
                rows,
                empty=f"No translations: every audience reads {c.language}. Add a language to an audience's "
                "`languages:`, then `kmcomms translations update` makes its catalog to translate.",
            ),
            Table(
                "audience-needs",
                "Reading age targets and accessibility needs per audience",
                ("Audience", "Languages", "Reading age", "Needs"),
                audiences,
                empty="No audiences: add them under `audiences:` in campaign.yaml.",
            ),
        ),
    )


def learning(e: CampaignEvaluation) -> Section:
    lines = []
    for rate in dict.fromkeys(r.rate for r in e.rates):
        for dimension in ("channel", "language", "audience"):
            solid = sorted(
                (r for r in e.rates if r.rate == rate and r.dimension == dimension and not r.small_numbers),
                key=lambda r: r.value,
                reverse=True,
            )
            if len(solid) >= 2:
                lines.append(
                    f"{rate.capitalize()} by {dimension}: highest {solid[0].group} ({solid[0].value:.2f}), "
                    f"lowest {solid[-1].group} ({solid[-1].value:.2f})."
                )
    lines += [
        f"Did not work yet: objective {o.id} is {o.status.value}."
        for o in e.objectives
        if o.status in (Status.MISSED, Status.AT_RISK)
    ]
    lines = lines or [
        "Too little data yet to compare what worked: a comparison needs rates of two or more channels, "
        f"languages or audiences, each on at least {SMALL_NUMBERS}."
    ]
    later = "No rates yet: they come from the same counts as the rates by channel (see “Channel performance”)."
    return Section(
        "learning",
        "Learning: what worked",
        tuple(lines),
        (
            _rate_table(
                "language-rates", "Rates by language", (r for r in e.rates if r.dimension == "language"), later
            ),
            _rate_table(
                "audience-rates", "Rates by audience", (r for r in e.rates if r.dimension == "audience"), later
            ),
        ),
    )


def methods(e: CampaignEvaluation) -> Section:
    paragraphs = [
        f"Figures as of {e.as_of:%Y-%m-%d %H:%M} UTC.",
        (
            "Channel figures are running totals: the latest per delivery and metric counts. Manual records (leaflets, "
            "events, broadcasts, surveys) and tracked clicks count what happened on their date and add up."
        ),
        PROJECTION_RULE,
        f"Rates on fewer than {SMALL_NUMBERS} are labelled “small numbers”.",
        "The report shows contribution, not attribution: other things happening at the same time may explain changes.",
    ]
    if e.unlinked:
        paragraphs.insert(
            2,
            f"{count(e.unlinked, 'record')} tied to no delivery (made by hand with `kmcomms reach "
            "add` or `import`) count for the audience, language and channel they name, or for the "
            "whole campaign when they name none.",
        )
    paragraphs += [f"Data quality: {q}." for q in e.quality]
    return Section(
        "methods",
        "Methods, data sources and limitations",
        tuple(paragraphs),
        (
            Table(
                "sources",
                "Samples counted per data source",
                ("Source", "Samples"),
                tuple(sorted(e.sources.items())),
                empty=f"No samples counted yet: {COLLECT}",
            ),
        ),
    )
