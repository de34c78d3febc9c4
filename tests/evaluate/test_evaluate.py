"""Evaluation on a constructed ledger whose right answers are worked out by hand here,
and the ledger loader on SQLite and PostgreSQL giving the same evaluation.

The campaign "c" runs in Europe/London from 2027-01-01 (00:00 GMT = 00:00 UTC); every
test evaluates as of 2027-02-01 00:00 UTC, 31 days in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from kmcomms.campaign.models import Campaign
from kmcomms.evaluate.compute import evaluate, reduce_samples
from kmcomms.evaluate.ledger import ledger_view
from kmcomms.evaluate.model import CoverageGap, DeliveryRow, EvidenceRow, RateCell, ReachCell, Sample, Status
from kmcomms.ledger import tables
from kmcomms.ledger.store import open_store

AS_OF = datetime(2027, 2, 1, tzinfo=UTC)
MACHINE = "opens include machine opens"


def at(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


LAUNCH = at(11, 9)


def indicator(id: str, metric: str, target: float, by: str, level: str = "output", **filters: object) -> dict:
    return {"id": id, "metric": metric, "level": level, "target": target, "by": by, **filters}


def campaign(objectives: list[dict], audiences: dict | None = None) -> Campaign:
    return Campaign.model_validate(
        {
            "id": "c",
            "title": "Vaccines explained",
            "owner": "comms@example.org",
            "timezone": "Europe/London",
            "language": "en",
            "starts": "2027-01-01",
            "ends": "2027-03-31",
            "aims": [{"id": "uptake", "statement": "More children vaccinated", "objectives": objectives}],
            "audiences": audiences
            or {
                "parents": {
                    "name": "Parents",
                    "kind": "public",
                    "languages": ["en", "ur", "pl", "so"],
                    "intent": "act",
                    "channels": ["newsletter", "blog"],
                },
                "gps": {
                    "name": "GPs",
                    "kind": "clinicians",
                    "languages": ["en"],
                    "intent": "act",
                    "channels": ["briefing"],
                },
                "council": {
                    "name": "Council",
                    "kind": "policy",
                    "languages": ["en"],
                    "intent": "act",
                    "channels": ["briefing"],
                },
            },
            "messages": [
                {"id": "launch", "audiences": ["parents"], "at": "2027-01-11 09:00", "title": "Out", "body": "Hi"}
            ],
        }
    )


#: Deadline 2027-03-01 ends at 2027-03-02 00:00 GMT: 60 days after the start; at AS_OF
#: 31 days have passed, so a value v (baseline 0) projects to v × 60 / 31.
CAMPAIGN = campaign(
    [
        {
            "id": "parents-hear",
            "statement": "Parents hear",
            "audiences": ["parents"],
            "indicators": [
                indicator("views", "views", 100, "2027-03-01"),
                indicator("leaflets", "leaflets", 1000, "2027-03-31"),
            ],
        },
        {
            "id": "parents-click",
            "statement": "Parents click",
            "audiences": ["parents"],
            "indicators": [
                indicator("clicks", "clicks", 50, "2027-01-20", level="outtake"),
                indicator("views-ur", "views", 100, "2027-03-01", languages=["ur"]),
            ],
        },
        {
            "id": "gps-act",
            "statement": "GPs download",
            "audiences": ["gps"],
            "indicators": [
                indicator("downloads", "downloads", 10, "2027-03-31", level="outcome"),
            ],
        },
    ]
)


def delivery(
    id: str,
    language: str,
    channel: str,
    state: str = "published",
    audience: str = "parents",
    due: datetime = LAUNCH,
    campaign_id: str = "c",
) -> DeliveryRow:
    return DeliveryRow(id, campaign_id, "launch", (audience,), language, channel, due, state)


DELIVERIES = [
    delivery("d1", "en", "newsletter"),
    delivery("d2", "ur", "newsletter"),
    delivery("d3", "en", "blog"),
    delivery("d4", "ur", "blog"),
    delivery("d5", "en", "briefing", audience="gps"),  # a channel with no data at all
    delivery("d6", "en", "blog", state="cancelled"),
    delivery("d7", "ur", "newsletter", state="failed"),
    delivery("d8", "en", "newsletter", state="planned", due=at(15, 9, month=2)),
    delivery("d9", "pl", "blog"),  # published, never seen
    delivery("x1", "en", "blog", campaign_id="other"),
]


def sample(
    delivery_id: str | None,
    metric: str,
    value: float,
    when: datetime,
    source: str = "api",
    quality: str | None = None,
    campaign_id: str = "c",
) -> Sample:
    return Sample(campaign_id, metric, value, when, source, delivery_id, quality)


SAMPLES = [
    # d3's views, running totals from the channel: the latest up to AS_OF is 55
    sample("d3", "views", 10, at(10)),
    sample("d3", "views", 40, at(20)),
    sample("d3", "views", 40, at(20)),
    sample("d3", "views", 55, at(25)),
    sample("d3", "views", 500, at(5, month=2)),  # late: ignored
    sample("d4", "views", 5, at(12)),
    sample("d4", "views", 20, at(22)),
    # clicks on d1: tracking events add up (2, the duplicate once) and the channel's
    # running total takes its latest (4): 6; on d2, 3 tracking events
    sample("d1", "clicks", 1, at(12, 10), "tracking"),
    sample("d1", "clicks", 1, at(12, 10), "tracking"),
    sample("d1", "clicks", 1, at(13), "tracking"),
    sample("d1", "clicks", 3, at(14)),
    sample("d1", "clicks", 4, at(15)),
    sample("d2", "clicks", 1, at(14), "tracking"),
    sample("d2", "clicks", 1, at(15), "tracking"),
    sample("d2", "clicks", 1, at(16), "tracking"),
    sample("d1", "opens", 1, at(12), "tracking", MACHINE),
    sample("d1", "recipients", 40, at(11)),
    sample("d2", "recipients", 10, at(11)),
    sample("d2", "recipients", 12, at(12)),
    # manual records for the whole campaign add up: 600 + 500 (the CSV imported twice)
    sample(None, "leaflets", 600, at(15), "manual"),
    sample(None, "leaflets", 500, at(20), "manual"),
    sample(None, "leaflets", 500, at(20), "manual"),
    sample(None, "leaflets", 9000, at(2, month=2), "manual"),  # late: ignored
    sample("x1", "views", 777, at(20), campaign_id="other"),
]

EVIDENCE = [
    EvidenceRow("c", "policy-citation", "Cited by the JCVI", at(25), "Overton", "https://example.org/jcvi"),
    EvidenceRow("c", "policy-citation", "Cited by the council", at(5)),
    EvidenceRow("c", "media-coverage", "Local radio", at(10)),
    EvidenceRow("c", "media-coverage", "Evening news", at(10, month=2)),  # after AS_OF
    EvidenceRow("other", "media-coverage", "Not ours", at(10)),
]


@pytest.fixture(scope="module")
def result():
    return evaluate(CAMPAIGN, DELIVERIES, SAMPLES, EVIDENCE, AS_OF)


def indicators(result) -> dict:
    return {i.id: i for o in result.objectives for i in o.indicators}


def test_running_totals_take_the_latest_and_late_data_is_ignored(result):
    views = indicators(result)["views"]
    assert views.value == 55 + 20
    assert views.status is Status.ON_TRACK
    assert views.projected == pytest.approx(75 * 60 / 31)  # 145.2 ≥ 100
    assert views.observations == 2  # one reading each of d3 and d4


def test_projection_short_of_the_target_is_at_risk(result):
    views_ur = indicators(result)["views-ur"]
    assert views_ur.value == 20
    assert views_ur.projected == pytest.approx(20 * 60 / 31)  # 38.7 < 100
    assert views_ur.status is Status.AT_RISK


def test_manual_records_add_up_and_duplicates_count_once(result):
    leaflets = indicators(result)["leaflets"]
    assert leaflets.value == 600 + 500
    assert leaflets.status is Status.MET
    assert leaflets.projected is None
    assert leaflets.sources == ("manual",)


def test_deadline_passed_short_of_the_target_is_missed(result):
    clicks = indicators(result)["clicks"]
    assert clicks.value == (1 + 1) + 4 + 3
    assert clicks.deadline == datetime(2027, 1, 21, tzinfo=UTC)
    assert clicks.status is Status.MISSED
    assert clicks.sources == ("api", "tracking")


def test_a_channel_with_no_data_has_no_data(result):
    downloads = indicators(result)["downloads"]
    assert downloads.value is None and downloads.status is Status.NO_DATA
    # the deadline, end of 31 March in London: clocks went forward on the 28th (BST)
    assert downloads.deadline == datetime(2027, 3, 31, 23, tzinfo=UTC)


def test_objective_takes_its_worst_indicator(result):
    statuses = {o.id: o.status for o in result.objectives}
    assert statuses == {"parents-hear": Status.ON_TRACK, "parents-click": Status.MISSED, "gps-act": Status.NO_DATA}
    assert [i.id for i in result.by_level["output"]] == ["views", "leaflets", "views-ur"]
    assert [i.id for i in result.by_level["outtake"]] == ["clicks"]
    assert [i.id for i in result.by_level["outcome"]] == ["downloads"]
    assert result.by_level["impact"] == ()


def test_reach_by_audience_language_and_channel(result):
    assert result.reach == (
        ReachCell("parents", "en", "blog", "views", 55, 1),
        ReachCell("parents", "en", "newsletter", "clicks", 6, 1),
        ReachCell("parents", "en", "newsletter", "opens", 1, 1),
        ReachCell("parents", "en", "newsletter", "recipients", 40, 1),
        ReachCell("parents", "ur", "blog", "views", 20, 1),
        ReachCell("parents", "ur", "newsletter", "clicks", 3, 1),
        ReachCell("parents", "ur", "newsletter", "recipients", 12, 1),
        ReachCell(None, None, None, "leaflets", 1100, 0),
    )


def test_coverage_gaps(result):
    assert result.gaps == (
        CoverageGap("parents", "pl", "no reach", 1),  # d9 published, never seen
        CoverageGap("parents", "so", "no deliveries", 0),
        CoverageGap("gps", None, "no reach", 1),  # d5: its channel has no data
        CoverageGap("council", None, "no deliveries", 0),
    )


def test_delivery_health(result):
    assert result.health == {
        "published": 6,
        "planned": 1,
        "blocked": 0,
        "sending": 0,
        "retrying": 0,
        "failed": 1,
        "unknown": 0,
        "missed": 0,
        "cancelled": 1,
    }
    assert result.health_by_channel["newsletter"] == {"failed": 1, "planned": 1, "published": 2}


def test_rates_show_their_denominators_and_flag_small_numbers(result):
    rates = {(r.rate, r.dimension, r.group): r for r in result.rates}
    # clicks per recipient: d1 6 of 40, d2 3 of 12
    assert rates["clicks per recipient", "channel", "newsletter"] == RateCell(
        "clicks per recipient", "clicks", "recipients", "channel", "newsletter", 9, 52, 9 / 52, 2, False
    )
    assert rates["clicks per recipient", "language", "en"].value == 6 / 40
    assert not rates["clicks per recipient", "language", "en"].small_numbers  # 40 ≥ 30
    assert rates["clicks per recipient", "language", "ur"].value == 3 / 12
    assert rates["clicks per recipient", "language", "ur"].small_numbers  # 12 < 30
    # opens: only d1 has any, so d2's recipients are not counted against them
    assert rates["opens per recipient", "channel", "newsletter"].denominator_value == 40
    # views per listing: two blog listings with views (d9 has none, so is left out)
    blog = rates["views per listing", "channel", "blog"]
    assert (blog.numerator_value, blog.denominator_value, blog.value, blog.small_numbers) == (75, 2, 37.5, True)
    assert ("views per listing", "channel", "briefing") not in rates
    assert not [r for r in result.rates if r.rate == "likes per post"]


def test_evidence_by_kind_and_methods(result):
    assert {k: [e.title for e in v] for k, v in result.evidence.items()} == {
        "media-coverage": ["Local radio"],
        "policy-citation": ["Cited by the council", "Cited by the JCVI"],
    }
    # samples counted: api the latest of d3 and d4 views, d1 clicks, d1 and d2 recipients;
    # tracking 2 + 3 clicks, 1 open; manual 600 and 500
    assert result.sources == {"api": 5, "manual": 2, "tracking": 6}
    assert result.quality == (MACHINE,)
    assert result.unlinked == 2


def test_decreasing_indicator_and_status_before_any_time_passed():
    # a target below the baseline: success is going down; 40 after 31 of 60 days
    # projects to 100 + (40 − 100) × 60 / 31 = −16.1 ≤ 30: on track; 80 projects to 61.3: at risk
    c = campaign(
        [
            {
                "id": "fewer",
                "statement": "Fewer",
                "audiences": ["parents"],
                "indicators": [indicator("complaints", "complaints", 30, "2027-03-01", baseline=100)],
            }
        ]
    )
    rows = [delivery("d1", "en", "blog")]
    for value, status in ((40, Status.ON_TRACK), (80, Status.AT_RISK), (30, Status.MET)):
        [r] = evaluate(c, rows, [sample("d1", "complaints", value, at(20))], [], AS_OF).objectives[0].indicators
        assert (r.decreasing, r.status) == (True, status)


#: One indicator of 400 attendees by 31 March (deadline 2027-03-31 23:00 UTC, BST): the
#: campaign starts 2027-01-01 00:00 UTC, so its time is 89 days 23 hours; a quarter of it
#: (22 days 11 h 45 min) is longer than 14 days, so a trend is first projected at
#: 2027-01-23 11:45 UTC.
ATTENDEES = campaign(
    [
        {
            "id": "come",
            "statement": "Families come",
            "audiences": ["parents"],
            "indicators": [indicator("attendees", "attendees", 400, "2027-03-31", level="outcome")],
        }
    ]
)
FIRST_PROJECTION = datetime(2027, 1, 23, 11, 45, tzinfo=UTC)


def attendees(value: float, recorded: datetime, as_of: datetime):
    record = Sample("c", "attendees", value, recorded, "manual", None, None, 1, None, "parents")
    [objective] = evaluate(ATTENDEES, [], [record], [], as_of).objectives
    [result] = objective.indicators
    return result


def test_one_day_of_data_is_too_early_to_project():
    # 42 attendees recorded on the first day: the old straight line made 42 × 90 days ÷
    # 13 hours = 6,978 of 400 "on track"; nothing can be said yet
    early = attendees(42, at(1), at(1, 13))
    assert (early.value, early.status, early.projected) == (42, Status.TOO_EARLY, None)
    assert early.projects_from == FIRST_PROJECTION
    # a second before the first projection: still too early; from then on, a trend
    assert attendees(42, at(1), FIRST_PROJECTION - timedelta(seconds=1)).status is Status.TOO_EARLY
    later = attendees(42, at(1), FIRST_PROJECTION)
    assert later.status is Status.AT_RISK and later.projects_from is None
    assert later.projected == pytest.approx(42 * 4)  # a quarter of the time: the factor is 4
    # met is met however early; missed once the deadline has passed
    assert attendees(400, at(1), at(1, 13)).status is Status.MET
    assert attendees(42, at(1), datetime(2027, 4, 1, tzinfo=UTC)).status is Status.MISSED


def test_a_short_indicator_waits_the_minimum_days():
    # 50 clicks by 20 January (deadline 21 January 00:00 UTC, 20 days): a quarter is 5
    # days, less than the 14 that must pass first
    c = campaign(
        [
            {
                "id": "click",
                "statement": "Click",
                "audiences": ["parents"],
                "indicators": [indicator("clicks", "clicks", 50, "2027-01-20")],
            }
        ]
    )
    for as_of, status in ((at(14, 23), Status.TOO_EARLY), (at(15), Status.AT_RISK)):
        [r] = evaluate(c, [], [sample(None, "clicks", 10, at(2), "manual")], [], as_of).objectives[0].indicators
        assert r.status is status
    assert r.projected == pytest.approx(10 * 20 / 14)


def test_too_early_ranks_between_no_data_and_on_track():
    assert [s.value for s in sorted(Status, key=lambda s: s.rank)] == [
        "missed",
        "at risk",
        "no data",
        "too early",
        "on track",
        "met",
    ]
    c = campaign(
        [
            {
                "id": "measured",
                "statement": "One met, one too early",
                "audiences": ["parents"],
                "indicators": [
                    indicator("views", "views", 10, "2027-03-31"),
                    indicator("clicks", "clicks", 100, "2027-03-31"),
                ],
            },
            {
                "id": "half",
                "statement": "One too early, one not measured",
                "audiences": ["parents"],
                "indicators": [
                    indicator("opens", "opens", 100, "2027-03-31"),
                    indicator("shares", "shares", 100, "2027-03-31"),
                ],
            },
        ]
    )
    samples = [
        sample(None, metric, value, at(2), "manual") for metric, value in (("views", 10), ("clicks", 5), ("opens", 5))
    ]
    statuses = {o.id: o.status for o in evaluate(c, [], samples, [], at(3)).objectives}
    assert statuses == {"measured": Status.TOO_EARLY, "half": Status.NO_DATA}


def test_naive_as_of_is_refused():
    with pytest.raises(ValueError, match="aware"):
        evaluate(CAMPAIGN, DELIVERIES, SAMPLES, EVIDENCE, AS_OF.replace(tzinfo=None))


# ------------------------------------------------------------------------------ ledger


def _store(url: str, tmp_path: Path):
    engine = open_store(url, tmp_path)
    with engine.begin() as db:
        db.execute(
            insert(tables.deliveries),
            [
                {
                    "id": d.id,
                    "campaign": d.campaign,
                    "message": d.message,
                    "occurrence": "2027-01-11T09:00",
                    "audiences": " ".join(d.audiences),
                    "language": d.language,
                    "channel": d.channel,
                    "due_at": d.due_at,
                    "timezone": "Europe/London",
                    "state": d.state,
                    "attempts": 0,
                    "planned_at": at(1),
                    "updated_at": at(1),
                }
                for d in DELIVERIES
            ],
        )
        db.execute(
            insert(tables.reach_samples),
            [
                {
                    "delivery_id": s.delivery_id,
                    "campaign": s.campaign,
                    "metric": s.metric,
                    "value": s.value,
                    "observed_at": s.observed_at,
                    "source": s.source,
                    "quality": s.quality,
                }
                for s in SAMPLES
            ],
        )
        db.execute(
            insert(tables.evidence),
            [
                {
                    "campaign": e.campaign,
                    "kind": e.kind,
                    "title": e.title,
                    "happened_on": e.happened_on,
                    "source": e.source,
                    "url": e.url,
                    "notes": e.notes,
                }
                for e in EVIDENCE
            ],
        )
    return engine


def _key(s: Sample) -> tuple:
    return (s.delivery_id or "", s.metric, s.source)


def test_ledger_view_gives_the_evaluation_of_the_rows(store_url: str, tmp_path: Path, result) -> None:
    engine = _store(store_url, tmp_path)
    try:
        deliveries, samples, evidence = ledger_view(engine, ["c"], end=AS_OF)
    finally:
        engine.dispose()
    # reduced in SQL: one row per delivery, metric and source, as reduce_samples does
    assert sorted(samples, key=_key) == sorted(reduce_samples(SAMPLES, "c", AS_OF), key=_key)
    assert len(samples) == 9  # d3, d4 views; d1 clicks ×2 sources; d2 clicks; d1 opens; d1, d2 recipients; leaflets
    assert {d.id for d in deliveries} == {d.id for d in DELIVERIES if d.campaign == "c"}
    assert evaluate(CAMPAIGN, deliveries, samples, evidence, AS_OF) == result


def test_ledger_view_from_a_start(store_url: str, tmp_path: Path) -> None:
    engine = _store(store_url, tmp_path)
    try:
        deliveries, samples, evidence = ledger_view(engine, ["c", "other"], start=at(1, month=2), end=at(28, month=2))
    finally:
        engine.dispose()
    # from 1 February: d8 (due 15 February), the campaign-wide record of 2 February and the
    # evidence of 10 February; d8 has no samples
    assert [d.id for d in deliveries] == ["d8"]
    assert [(s.metric, s.value) for s in samples] == [("leaflets", 9000)]
    assert [e.title for e in evidence] == ["Evening news"]


# ------------------------------------------------------- campaign-wide records that name where


#: Manual records for "launch", which goes to parents in en on print twice (a repeat: no
#: record names exactly one delivery, so none is linked) and once on the newsletter (p3).
#: The records keep the audience, language and channel they name.
NAMED_CAMPAIGN = campaign(
    [
        {
            "id": "hand-out",
            "statement": "Leaflets reach parents and GPs",
            "audiences": ["parents", "gps"],
            "indicators": [
                indicator("parents", "leaflets", 1000, "2027-03-31", audiences=["parents"]),
                indicator("gps", "leaflets", 1000, "2027-03-31", audiences=["gps"]),
                indicator("print", "leaflets", 1000, "2027-03-31", channels=["print"]),
                indicator("en", "leaflets", 1000, "2027-03-31", languages=["en"]),
                indicator("all", "leaflets", 1000, "2027-03-31"),
            ],
        }
    ],
    audiences={
        "parents": {
            "name": "Parents",
            "kind": "public",
            "languages": ["en"],
            "intent": "act",
            "channels": ["print", "newsletter"],
        },
        "gps": {"name": "GPs", "kind": "clinicians", "languages": ["en"], "intent": "act", "channels": ["print"]},
    },
)
NAMED_DELIVERIES = [
    delivery("p1", "en", "print"),
    delivery("p2", "en", "print", due=at(18, 9)),
    delivery("p3", "en", "newsletter"),
]


def named(
    value: float,
    when: datetime,
    audience: str | None,
    language: str | None,
    channel: str | None,
    delivery_id: str | None = None,
) -> Sample:
    return Sample(
        "c",
        "leaflets",
        value,
        when,
        "manual",
        delivery_id,
        None,
        1,
        "launch" if audience else None,
        audience,
        language,
        channel,
    )


NAMED_SAMPLES = [
    named(300, at(15), "parents", "en", "print"),
    named(300, at(15), "parents", "en", "print"),  # the CSV imported twice: once
    named(300, at(15), "gps", "en", "print"),  # same day and value, another audience: not a duplicate
    named(50, at(16), "gps", None, None),  # names an audience only
    named(10, at(12), None, None, None, "p3"),  # linked: p3 decides where
    named(5, at(13), None, None, None, "p3"),
]


def test_a_campaign_wide_record_counts_where_it_names() -> None:
    result = evaluate(NAMED_CAMPAIGN, NAMED_DELIVERIES, NAMED_SAMPLES, [], AS_OF)
    values = {i.id: i.value for i in indicators(result).values()}
    assert values == {
        "parents": 300 + 15,  # the gps records are not the parents'
        "gps": 300 + 50,
        "print": 300 + 300,  # the record naming no channel counts for no channel filter
        "en": 300 + 300 + 15,  # nor the one naming no language for a language filter
        "all": 300 + 300 + 50 + 15,
    }
    assert indicators(result)["parents"].observations == 1 + 2
    assert result.reach == (
        ReachCell("gps", "en", "print", "leaflets", 300, 0),
        ReachCell("gps", None, None, "leaflets", 50, 0),
        ReachCell("parents", "en", "newsletter", "leaflets", 15, 1),
        ReachCell("parents", "en", "print", "leaflets", 300, 0),
    )
    assert result.unlinked == 3  # the three distinct campaign-wide records
    assert result.gaps == (CoverageGap("gps", None, "no deliveries", 0),)  # leaflets are no delivery


def test_a_record_naming_nothing_still_counts_only_without_filters() -> None:
    result = evaluate(NAMED_CAMPAIGN, NAMED_DELIVERIES, [named(7, at(15), None, None, None)], [], AS_OF)
    assert {i.id: i.value for i in indicators(result).values()} == {
        "parents": None,
        "gps": None,
        "print": None,
        "en": None,
        "all": 7,
    }
    assert result.reach == (ReachCell(None, None, None, "leaflets", 7, 0),)


def _attributed_key(s: Sample) -> tuple:
    return (s.delivery_id or "", s.metric, s.source, s.audience or "", s.language or "", s.channel or "")


def test_ledger_view_groups_campaign_wide_records_by_what_they_name(store_url: str, tmp_path: Path) -> None:
    engine = open_store(store_url, tmp_path)
    try:
        with engine.begin() as db:
            db.execute(
                insert(tables.deliveries),
                [
                    {
                        "id": d.id,
                        "campaign": d.campaign,
                        "message": d.message,
                        "occurrence": d.id,
                        "audiences": " ".join(d.audiences),
                        "language": d.language,
                        "channel": d.channel,
                        "due_at": d.due_at,
                        "timezone": "Europe/London",
                        "state": d.state,
                        "attempts": 0,
                        "planned_at": at(1),
                        "updated_at": at(1),
                    }
                    for d in NAMED_DELIVERIES
                ],
            )
            db.execute(
                insert(tables.reach_samples),
                [
                    {
                        "delivery_id": s.delivery_id,
                        "campaign": s.campaign,
                        "metric": s.metric,
                        "value": s.value,
                        "observed_at": s.observed_at,
                        "source": s.source,
                        "quality": s.quality,
                        "message": s.message,
                        "audience": s.audience,
                        "language": s.language,
                        "channel": s.channel,
                    }
                    for s in NAMED_SAMPLES
                ],
            )
        deliveries, samples, _ = ledger_view(engine, ["c"], end=AS_OF)
    finally:
        engine.dispose()
    expected = reduce_samples(NAMED_SAMPLES, "c", AS_OF)
    assert len(expected) == 4  # parents/en/print, gps/en/print, gps, p3 (its two records in one row)
    assert sorted(samples, key=_attributed_key) == sorted(expected, key=_attributed_key)
    assert evaluate(NAMED_CAMPAIGN, deliveries, samples, [], AS_OF) == evaluate(
        NAMED_CAMPAIGN, NAMED_DELIVERIES, NAMED_SAMPLES, [], AS_OF
    )
