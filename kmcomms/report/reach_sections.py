"""The sections that count what the deliveries reached: reach and equity, channel
performance, and learning (what worked, by the rates of each language and audience)."""

from __future__ import annotations

from collections.abc import Iterable

from kmcomms.evaluate.model import SMALL_NUMBERS, CampaignEvaluation, RateCell, Status
from kmcomms.report.model import Chart, Section, Table
from kmcomms.report.words import COLLECT, count, describe

__all__ = ["channels", "learning", "reach"]

_NO_DELIVERIES = "No deliveries yet: `kmcomms publish` or the daemon plans them from the campaign's messages."
_NO_RATES = (
    "No rates yet: a rate needs two counts of the same delivery (clicks and opens per recipient of a "
    "newsletter, views and likes per published post), which channels report when the daemon or "
    "`kmcomms collect` asks them."
)


def _place(audience: str | None, language: str | None) -> str:
    """Where reach was counted, as a label: "parents · en"; a record naming neither is
    the whole campaign's."""
    return " · ".join(part for part in (audience or "whole campaign", language) if part)


def reach(e: CampaignEvaluation, with_charts: bool = True) -> Section:
    rows = tuple(
        (c.audience or "whole campaign", c.language or "–", c.channel or "–", c.metric, c.value, c.deliveries)
        for c in e.reach
    )
    unnamed = any(c.language is None or c.channel is None for c in e.reach)
    gaps = tuple((g.audience, g.language or "(all languages)", g.problem, g.deliveries) for g in e.gaps)
    charts, tables = _by_place(e, with_charts)
    return Section(
        "reach",
        "Reach and equity",
        _reach_paragraphs(e),
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


def _by_place(e: CampaignEvaluation, with_charts: bool) -> tuple[list[Chart], list[Table]]:
    """Each reach metric by audience and language: charts (each with its table) when
    `with_charts`, else tables."""
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
    return charts, tables


def _reach_paragraphs(e: CampaignEvaluation) -> tuple[str, ...]:
    """How to read the reach tables: what a figure is, shared items, the coverage gaps."""
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
    if e.gaps:
        paragraphs.append(
            f"{count(len(e.gaps), 'coverage gap')}: audiences or languages with no deliveries or no reach."
        )
    return tuple(paragraphs)


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
