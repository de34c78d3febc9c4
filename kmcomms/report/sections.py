"""A campaign's sections on its plan and its evidence: theory of change, results by AMEC
level, influence, inclusion, methods. Pure functions of a campaign and its evaluation; the
sections on reach are in `kmcomms.report.reach_sections`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from kmcomms.campaign.models import Campaign
from kmcomms.evaluate.model import LEVELS, SMALL_NUMBERS, CampaignEvaluation, IndicatorResult, Status
from kmcomms.reach.records import KINDS
from kmcomms.report.model import Section, Table
from kmcomms.report.words import COLLECT, PROJECTION_RULE, by_date, count, indicator_specs
from kmcomms.translations.catalogs import Status as TranslationStatus

__all__ = ["inclusion", "influence", "levels", "methods", "theory_of_change"]

#: What each AMEC level means, for readers who do not know the framework.
LEVEL_MEANING = {
    "output": "Outputs: what was put out and who it reached.",
    "outtake": "Out-takes: what the audiences took out of it and how they reacted.",
    "outcome": "Outcomes: the effects on the audiences (learning, attitude, action).",
    "impact": "Impact: change in policy, practice, services or health.",
}


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


def levels(c: Campaign, e: CampaignEvaluation) -> Section:
    specs = indicator_specs(c)
    tables = []
    for level in LEVELS:
        found = e.by_level.get(level, ())
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
                note=_projection_note(c, found),
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


def _projection_note(c: Campaign, found: Sequence[IndicatorResult]) -> str | None:
    """What "Projected" means under a level's table, and which indicators are too early
    to project (None when the table shows no projection)."""
    early = [f"{i.id} from {by_date(c, i.projects_from)}" for i in found if i.status is Status.TOO_EARLY]
    if not any(i.projected is not None for i in found) and not early:
        return None
    note = "Projected: the trend so far (a straight line from the baseline at the start) carried on to the deadline."
    if early:
        note += " Too early to project yet: " + "; ".join(early) + "."
    return note


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
