"""The reach collector: every published delivery's channel asked, each running total
appended as a sample (never overwritten), one channel's failure kept to itself, a rate
limit stopping only that channel's round."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import RunCli, write_campaign
from sqlalchemy import Engine, insert, select

from kmcomms.channels.base import (
    ChannelOptions,
    PermanentError,
    Publication,
    TransientError,
)
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, publications, reach_samples
from kmcomms.reach.collect import collect, collect_channel, collect_interval
from kmcomms.testing.recording import RecordingChannel

NOW = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
OPTIONS = ChannelOptions(adapter="recording")


class Counting(RecordingChannel):
    """Reports `totals[remote id]`, or raises `fails[remote id]`; keeps what it was asked."""

    reach_notes: ClassVar[dict[str, str]] = {"opens": "opens include machine opens"}

    def __init__(
        self, name: str, totals: dict[str, dict[str, float]], fails: dict[str, Exception] | None = None
    ) -> None:
        super().__init__(name, OPTIONS, Path("."))
        self.totals, self.fails, self.asked = totals, fails or {}, []

    def collect(self, publication: Publication) -> dict[str, float]:
        self.asked.append(publication.remote_id)
        if publication.remote_id in self.fails:
            raise self.fails[publication.remote_id]
        return self.totals[publication.remote_id]


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Engine:
    engine = open_store(store_url, tmp_path)
    yield engine
    engine.dispose()


def publish(
    engine: Engine,
    delivery_id: str,
    channel: str,
    *,
    campaign: str = "flu",
    remote_id: str | None = "",
    state: str = "published",
    minutes: int = 0,
) -> None:
    """A delivery of `campaign` on `channel` in `state`; published ones get a publication
    whose remote id is `r-<delivery id>` (or `remote_id`, None for one published by hand)."""
    due = datetime(2027, 1, 11, 9, tzinfo=UTC) + timedelta(minutes=minutes)
    with engine.begin() as db:
        db.execute(
            insert(deliveries).values(
                id=delivery_id,
                campaign=campaign,
                message="launch",
                occurrence=delivery_id,
                audiences="parents",
                language="en",
                channel=channel,
                due_at=due,
                timezone="Europe/London",
                state=state,
                attempts=1,
                planned_at=due,
                updated_at=due,
            )
        )
        if state == "published":
            db.execute(
                insert(publications).values(
                    delivery_id=delivery_id,
                    remote_id=f"r-{delivery_id}" if remote_id == "" else remote_id,
                    url=None,
                    published_at=due,
                    content_hash="x",
                )
            )


def samples(engine: Engine) -> list[tuple]:
    with engine.connect() as db:
        return [
            tuple(r)
            for r in db.execute(
                select(
                    reach_samples.c.delivery_id,
                    reach_samples.c.campaign,
                    reach_samples.c.metric,
                    reach_samples.c.value,
                    reach_samples.c.observed_at,
                    reach_samples.c.source,
                    reach_samples.c.quality,
                ).order_by(reach_samples.c.id)
            )
        ]


def test_each_total_is_appended_as_a_sample_and_a_second_round_adds_never_overwrites(engine: Engine) -> None:
    publish(engine, "b1", "blog")
    publish(engine, "b2", "blog", minutes=1)
    publish(engine, "b3", "blog", remote_id=None)  # published by hand: nothing to ask
    publish(engine, "b4", "blog", state="failed")
    publish(engine, "b5", "blog", campaign="other", minutes=2)
    blog = Counting("blog", {"r-b1": {"views": 10, "opens": 4}, "r-b2": {"views": 3}, "r-b5": {}})
    report = collect(engine, {"blog": blog}, NOW)
    assert [r.as_dict() for r in report.channels] == [
        {"channel": "blog", "asked": 3, "samples": 3, "errors": [], "stopped": False, "retry_after": None}
    ]
    assert blog.asked == ["r-b1", "r-b2", "r-b5"] and not report.failed
    source = "channel:recording"
    first = [
        ("b1", "flu", "views", 10.0, NOW, source, None),
        ("b1", "flu", "opens", 4.0, NOW, source, "opens include machine opens"),
        ("b2", "flu", "views", 3.0, NOW, source, None),
    ]
    assert samples(engine) == first
    blog.totals["r-b1"] = {"views": 25, "opens": 4}
    assert collect(engine, {"blog": blog}, LATER, campaign="flu").samples == 3
    assert samples(engine) == [
        *first,
        ("b1", "flu", "views", 25.0, LATER, source, None),
        ("b1", "flu", "opens", 4.0, LATER, source, "opens include machine opens"),
        ("b2", "flu", "views", 3.0, LATER, source, None),
    ]


def test_a_failing_channel_or_publication_never_stops_the_others(engine: Engine) -> None:
    for delivery, channel, minutes in (
        ("n1", "news", 0),
        ("n2", "news", 1),
        ("v1", "video", 0),
        ("v2", "video", 1),
        ("v3", "video", 2),
        ("x1", "broken", 0),
        ("b1", "blog", 0),
        ("g1", "gone", 0),
    ):
        publish(engine, delivery, channel, minutes=minutes)
    news = Counting("news", {"r-n2": {"recipients": 120.0}}, {"r-n1": PermanentError("campaign 7 was deleted", "news")})
    video = Counting(
        "video", {"r-v1": {"views": 50}}, {"r-v2": TransientError("quota used up", "video", retry_after=120)}
    )
    broken = Counting("broken", {}, {"r-x1": RuntimeError("adapter bug")})
    blog = Counting("blog", {"r-b1": {"views": 7}})
    report = collect(engine, {"news": news, "video": video, "broken": broken, "blog": blog}, NOW)
    assert {r.channel: r.as_dict() for r in report.channels} == {
        "blog": {"channel": "blog", "asked": 1, "samples": 1, "errors": [], "stopped": False, "retry_after": None},
        "broken": {
            "channel": "broken",
            "asked": 1,
            "samples": 0,
            "stopped": False,
            "retry_after": None,
            "errors": [{"delivery": "x1", "error": "RuntimeError: adapter bug"}],
        },
        "gone": {
            "channel": "gone",
            "asked": 0,
            "samples": 0,
            "stopped": False,
            "retry_after": None,
            "errors": [
                {
                    "delivery": None,
                    "error": "1 published deliveries are on channel gone, which kmcomms.toml no "
                    "longer has — add it back to collect their reach",
                }
            ],
        },
        # A permanent error is that publication's; the next one is still asked.
        "news": {
            "channel": "news",
            "asked": 2,
            "samples": 1,
            "stopped": False,
            "retry_after": None,
            "errors": [{"delivery": "n1", "error": "campaign 7 was deleted"}],
        },
        # A rate limit ends the channel's round: v3 is not asked, v1's sample is kept.
        "video": {
            "channel": "video",
            "asked": 2,
            "samples": 1,
            "stopped": True,
            "retry_after": 120,
            "errors": [{"delivery": "v2", "error": "quota used up"}],
        },
    }
    assert video.asked == ["r-v1", "r-v2"] and report.failed
    assert sorted(s[:4] for s in samples(engine)) == [
        ("b1", "flu", "views", 7.0),
        ("n2", "flu", "recipients", 120.0),
        ("v1", "flu", "views", 50.0),
    ]


@pytest.mark.parametrize(
    "answer", [{"views": -1}, {"views": float("nan")}, {"views": "12"}, {"": 3}, [("views", 1)], {"views": True}]
)
def test_an_answer_that_is_not_running_totals_is_an_error_not_a_sample(engine: Engine, answer: object) -> None:
    publish(engine, "b1", "blog")
    result = collect_channel(engine, Counting("blog", {"r-b1": answer}), NOW)
    assert (result.asked, result.samples, len(result.errors)) == (1, 0, 1)
    assert result.errors[0][1].startswith(("ValueError: collect() gave", "TypeError: collect() gave"))
    assert samples(engine) == []


def test_collect_channel_asks_only_its_own_publications(engine: Engine) -> None:
    publish(engine, "b1", "blog")
    publish(engine, "n1", "news")
    blog = Counting("blog", {"r-b1": {"views": 1}})
    assert collect_channel(engine, blog, NOW).as_dict() == {
        "channel": "blog",
        "asked": 1,
        "samples": 1,
        "errors": [],
        "stopped": False,
        "retry_after": None,
    }
    assert blog.asked == ["r-b1"] and [s[0] for s in samples(engine)] == ["b1"]


def test_the_interval_is_the_channel_setting_or_an_hour() -> None:
    class Minutes(ChannelOptions):
        collect_minutes: int | None = None

    assert collect_interval(RecordingChannel("a", OPTIONS, Path("."))) == timedelta(hours=1)
    assert collect_interval(RecordingChannel("a", Minutes(adapter="x", collect_minutes=15), Path("."))) == timedelta(
        minutes=15
    )


def test_the_command_asks_the_workspace_channels_once(workspace: Path, kmcomms: RunCli) -> None:
    write_campaign(workspace)
    engine = open_store("sqlite:///kmcomms.db", workspace)
    try:
        publish(engine, "b1", "blog", campaign="example")  # the static site reports no reach of its own
    finally:
        engine.dispose()
    code, out, err = kmcomms("--now", NOW.isoformat(), "collect", "-w", workspace, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "observed_at": NOW.isoformat(),
        "samples": 0,
        "channels": [
            {"channel": "blog", "asked": 1, "samples": 0, "errors": [], "stopped": False, "retry_after": None}
        ],
    }
    code, out, err = kmcomms("collect", "-w", workspace, "--campaign", "exampel")
    assert (code, out) == (2, "")
    assert err == 'kmcomms: error: --campaign "exampel" is not a campaign of this workspace (did you mean "example"?)\n'
