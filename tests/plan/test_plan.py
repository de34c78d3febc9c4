"""Planning: stable ids, UTC due instants, DST gaps and folds, time zones, repeats, windows."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from kmcomms.campaign.models import Campaign
from kmcomms.campaign.schedule import occurrences
from kmcomms.plan.deliveries import Window, delivery_id, plan

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EVERYTHING = Window(start=datetime(2000, 1, 1, tzinfo=UTC))

BASE = {
    "id": "trial",
    "title": "Trial",
    "owner": "comms@example.org",
    "timezone": "Europe/London",
    "language": "en",
    "starts": "2027-01-04",
    "ends": "2027-12-31",
    "aims": [
        {
            "id": "a",
            "statement": "s",
            "objectives": [
                {
                    "id": "o",
                    "statement": "s",
                    "audiences": ["parents"],
                    "indicators": [{"id": "i", "metric": "views", "level": "output", "target": 10, "by": "2027-12-31"}],
                }
            ],
        }
    ],
    "audiences": {
        "parents": {
            "name": "Parents",
            "kind": "public",
            "languages": ["en", "ur"],
            "intent": "act",
            "channels": ["blog", "newsletter"],
        },
    },
    "messages": [{"id": "launch", "audiences": ["parents"], "at": "2027-01-11 09:00", "title": "T", "body": "B"}],
}


def campaign(**changes: object) -> Campaign:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return Campaign.model_validate(data)


def message(**fields: object) -> dict[str, object]:
    return {"id": "m", "audiences": ["parents"], "title": "T", "body": "B", **fields}


def test_one_message_fans_out_over_languages_and_channels() -> None:
    result = plan([campaign()], EVERYTHING, NOW)
    pairs = {(d.language, d.channel) for d in result.deliveries}
    assert pairs == {("en", "blog"), ("en", "newsletter"), ("ur", "blog"), ("ur", "newsletter")}
    assert {d.due for d in result.deliveries} == {datetime(2027, 1, 11, 9, 0, tzinfo=UTC)}
    assert all(d.due.tzinfo is UTC for d in result.deliveries)


def test_ids_are_stable_and_distinct() -> None:
    first = plan([campaign()], EVERYTHING, NOW).deliveries
    again = plan([campaign()], EVERYTHING, NOW).deliveries
    assert [d.id for d in first] == [d.id for d in again]
    assert len({d.id for d in first}) == len(first)
    d = first[0]
    assert d.id == delivery_id(d.campaign, d.message, d.due, *d.audiences, d.language, d.channel)
    moved = plan([campaign(messages=[message(id="launch", at="2027-01-11 10:00")])], EVERYTHING, NOW).deliveries
    assert not {x.id for x in moved} & {x.id for x in first}


def test_summer_time_is_honoured() -> None:
    result = plan([campaign(messages=[message(at="2027-06-01 09:00")])], EVERYTHING, NOW)
    assert {d.due for d in result.deliveries} == {datetime(2027, 6, 1, 8, 0, tzinfo=UTC)}
    assert {d.occurrence for d in result.deliveries} == {"2027-06-01T09:00"}


def test_time_in_a_dst_gap_moves_forward_and_says_so() -> None:
    result = plan([campaign(messages=[message(at="2027-03-28 01:30")])], EVERYTHING, NOW)
    assert {d.due for d in result.deliveries} == {datetime(2027, 3, 28, 1, 0, tzinfo=UTC)}
    assert len(result.notes) == 1
    assert "does not exist in Europe/London" in result.notes[0].text
    assert "02:00 BST" in result.notes[0].text


def test_ambiguous_time_takes_the_first_occurrence() -> None:
    result = plan([campaign(messages=[message(at="2027-10-31 01:30")])], EVERYTHING, NOW)
    # 01:30 happens first in BST (UTC+1), so 00:30 UTC, not 01:30 UTC.
    assert {d.due for d in result.deliveries} == {datetime(2027, 10, 31, 0, 30, tzinfo=UTC)}
    assert "happens twice" in result.notes[0].text


def test_audience_time_zone_overrides_the_campaign_zone() -> None:
    audiences = copy.deepcopy(BASE["audiences"])
    audiences["nyc"] = {
        "name": "NYC clinicians",
        "kind": "clinicians",
        "languages": ["en"],
        "intent": "understand",
        "timezone": "America/New_York",
        "channels": ["blog"],
    }
    c = campaign(audiences=audiences, messages=[message(audiences=["parents", "nyc"], at="2027-01-11 09:00")])
    due = {d.audiences: d.due for d in plan([c], EVERYTHING, NOW).deliveries}
    assert due == {("parents",): datetime(2027, 1, 11, 9, tzinfo=UTC), ("nyc",): datetime(2027, 1, 11, 14, tzinfo=UTC)}
    # On a broadcast channel, audiences reached at different instants get an item each.
    shared = plan([c], EVERYTHING, NOW, broadcast={"blog"}).deliveries
    assert {d.audiences: d.due for d in shared} == due


def test_fortnightly_repeat_keeps_local_time_across_the_clock_change() -> None:
    c = campaign(
        messages=[
            message(
                repeat={
                    "every": "2 weeks",
                    "on": ["tuesday"],
                    "at": "18:30",
                    "starts": "2027-03-01",
                    "until": "2027-04-30",
                }
            )
        ]
    )
    walls = list(occurrences(c, c.messages[0]))
    assert [w.date() for w in walls] == [
        date(2027, 3, 2),
        date(2027, 3, 16),
        date(2027, 3, 30),
        date(2027, 4, 13),
        date(2027, 4, 27),
    ]
    dues = sorted({d.due for d in plan([c], EVERYTHING, NOW).deliveries})
    assert dues[0] == datetime(2027, 3, 2, 18, 30, tzinfo=UTC)  # GMT
    assert dues[2] == datetime(2027, 3, 30, 17, 30, tzinfo=UTC)  # BST: same wall time, an hour earlier in UTC


def test_weekly_repeat_on_several_days_and_default_weekday() -> None:
    c = campaign(
        messages=[
            message(
                repeat={
                    "every": "1 week",
                    "on": ["friday", "monday"],
                    "at": "08:00",
                    "starts": "2027-01-06",
                    "until": "2027-01-20",
                }
            )
        ]
    )
    assert [w.date() for w in occurrences(c, c.messages[0])] == [
        date(2027, 1, 8),
        date(2027, 1, 11),
        date(2027, 1, 15),
        date(2027, 1, 18),
    ]
    c = campaign(
        messages=[message(repeat={"every": "week", "at": "08:00", "starts": "2027-01-06", "until": "2027-01-20"})]
    )
    assert [w.date() for w in occurrences(c, c.messages[0])] == [date(2027, 1, 6), date(2027, 1, 13), date(2027, 1, 20)]


def test_daily_repeat_defaults_to_the_campaign_range() -> None:
    c = campaign(ends="2027-01-10", messages=[message(repeat={"every": "3 days", "at": "07:00"})])
    assert [w.date() for w in occurrences(c, c.messages[0])] == [date(2027, 1, 4), date(2027, 1, 7), date(2027, 1, 10)]


def test_message_channels_are_limited_to_the_audiences_channels() -> None:
    c = campaign(messages=[message(at="2027-02-01 09:00", channels=["newsletter", "video"])])
    assert {d.channel for d in plan([c], EVERYTHING, NOW).deliveries} == {"newsletter"}


def test_window_defaults_to_now_and_end_is_exclusive() -> None:
    c = campaign(
        messages=[message(repeat={"every": "1 day", "at": "09:00", "starts": "2027-01-04", "until": "2027-01-08"})]
    )
    later = datetime(2027, 1, 6, 12, tzinfo=UTC)
    assert {d.due.day for d in plan([c], Window(), later).deliveries} == {7, 8}
    window = Window(start=datetime(2027, 1, 5, 9, tzinfo=UTC), end=datetime(2027, 1, 7, 9, tzinfo=UTC))
    assert {d.due.day for d in plan([c], window, NOW).deliveries} == {5, 6}


def test_deliveries_are_sorted_by_due_time() -> None:
    c = campaign(messages=[message(id="late", at="2027-05-01 09:00"), message(id="early", at="2027-02-01 09:00")])
    dues = [d.due for d in plan([c], EVERYTHING, NOW).deliveries]
    assert dues == sorted(dues) and dues[0] < dues[-1] - timedelta(days=80)


def test_plan_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan([campaign()], EVERYTHING, datetime(2027, 1, 1))
