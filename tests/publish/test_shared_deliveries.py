"""One public item per message occurrence × language × channel on a broadcast channel
(blog, video listing, social), shared by every audience that gets it; one delivery per
audience on a targeted channel (newsletter, briefing). On SQLite and PostgreSQL: planning,
publishing, a ledger planned per audience upgraded without posting again, and reports
counting a shared item once while showing it under each audience."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from conftest import Clock, run_cli
from sqlalchemy import Engine, insert, select
from workspaces import FOLDER_CHANNELS, audience, campaign_yaml, settings_toml

from kmcomms.campaign.load import load_paths
from kmcomms.channels.registry import open_channels
from kmcomms.evaluate.compute import evaluate
from kmcomms.evaluate.ledger import ledger_view
from kmcomms.ledger import store
from kmcomms.ledger.tables import deliveries, metadata, publications, reach_samples
from kmcomms.plan.deliveries import ALL_TIME, delivery_id, plan_of
from kmcomms.publish.dispatch import Dispatcher
from kmcomms.reach.records import ReachRecord, store_reach

LAUNCH = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # 09:00 in London in winter
LATER = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)


def messages(audiences: str = "parents, nurses") -> str:
    return f"""\
  - id: launch
    audiences: [{audiences}]
    at: 2027-01-11 09:00
    title: The films are out
    body: Clinicians answer what parents ask most.
  - id: follow-up
    audiences: [{audiences}]
    channels: [blog]
    at: 2027-01-18 09:00
    title: What parents asked next
    body: More answers.
"""


def write(root: Path, url: str, audiences: str = "parents, nurses") -> Path:
    """Parents read English and Urdu, nurses English; both on the blog and the newsletter."""
    (root / "campaigns" / "trial").mkdir(parents=True, exist_ok=True)
    policy = '[policy]\nmissing_translation = "source"\n'
    (root / "kmcomms.toml").write_text(settings_toml(url, policy=policy, channels=FOLDER_CHANNELS), encoding="utf-8")
    people = audience(languages="en, ur", channels="blog, news") + audience(
        "nurses", name="School nurses", kind="clinicians", channels="blog, news"
    )
    (root / "campaigns" / "trial" / "campaign.yaml").write_text(
        campaign_yaml(messages(audiences), audiences=people, reached="parents, nurses", starts="2027-01-04"),
        encoding="utf-8",
    )
    return root


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.dispose()


def dispatcher(root: Path, clock: Clock, engines: list[Engine]) -> Dispatcher:
    result = load_paths([root])
    result.raise_for_errors()
    [workspace] = result.workspaces
    engine = store.open_store(workspace.settings.store.url, workspace.root)
    engines.append(engine)
    return Dispatcher(engine, workspace, result, open_channels(workspace), worker="w1", clock=clock)


def rows(engine: Engine) -> dict[tuple[str, str, str, str], tuple[str, str]]:
    """(message, audiences, language, channel) → (id, state) of every delivery."""
    with engine.connect() as db:
        return {
            (r.message, r.audiences, r.language, r.channel): (r.id, r.state) for r in db.execute(select(deliveries))
        }


def test_a_message_for_two_audiences_is_one_post_and_two_newsletters(tmp_path: Path) -> None:
    root = write(tmp_path, "sqlite:///kmcomms.db")
    result = load_paths([root])
    launch = [d for d in plan_of(result, ALL_TIME, LAUNCH).deliveries if d.message == "launch"]
    assert sorted((d.channel, d.language, d.audiences) for d in launch) == [
        ("blog", "en", ("parents", "nurses")),  # one post both audiences read
        ("blog", "ur", ("parents",)),
        ("news", "en", ("nurses",)),  # each audience its own recipients
        ("news", "en", ("parents",)),
        ("news", "ur", ("parents",)),
    ]
    [shared] = [d for d in launch if d.channel == "blog" and d.language == "en"]
    assert shared.id == delivery_id("trial", "launch", LAUNCH, "", "en", "blog")


def test_a_shared_post_goes_out_once_and_keeps_its_id_when_an_audience_is_added(
    tmp_path: Path, store_url: str, engines: list[Engine]
) -> None:
    root = write(tmp_path, store_url, audiences="parents")
    clock = Clock(LAUNCH + timedelta(seconds=5))
    d = dispatcher(root, clock, engines)
    d.sync(clock.now)
    assert d.publish_due().outcomes["published"] == 4  # blog en, blog ur, news en, news ur
    before = rows(d.engine)
    write(root, store_url)  # the nurses are added after the launch went out
    d = dispatcher(root, clock, engines)
    report = d.sync(clock.now)
    after = rows(d.engine)
    # The English post now reaches both audiences: the same delivery, not a new one.
    assert after[("launch", "parents nurses", "en", "blog")] == before[("launch", "parents", "en", "blog")]
    # Only the nurses' newsletter is new: the follow-up's English post, planned already,
    # now reaches the nurses as well.
    assert report.added == 1
    assert after[("follow-up", "parents nurses", "en", "blog")] == before[("follow-up", "parents", "en", "blog")]
    assert d.publish_due().outcomes["published"] == 1  # only the nurses' newsletter
    assert sorted(p.name for p in (root / "out" / "blog").iterdir()) == sorted(
        f"{after[key][0]}.json" for key in after if key[0] == "launch" and key[3] == "blog"
    )
    clock.now = LATER + timedelta(seconds=5)
    assert d.publish_due().outcomes == {"published": 2}  # the follow-up: en shared, ur for parents
    assert len(list((root / "out" / "blog").iterdir())) == 4


def _insert_as_at_0005(engine: Engine, table: str, values: list[dict[str, object]]) -> None:
    """Rows written with the columns a ledger at revision 0005 had."""
    types = {c.name: c.type for c in metadata.tables[table].c}
    old = sqlalchemy.table(table, *(sqlalchemy.column(name, types.get(name)) for name in values[0]))
    with engine.begin() as db:
        db.execute(insert(old), values)


def test_a_ledger_planned_per_audience_upgrades_without_posting_anything_again(
    tmp_path: Path, store_url: str, engines: list[Engine]
) -> None:
    """Before 0006 a message for parents and nurses made two identical posts. A ledger
    where the launch went out that way (twice) and the follow-up is still planned per
    audience upgrades: the two launch posts keep their rows, publications and reach; no
    shared launch post is made; the follow-up goes out once, shared."""
    root = write(tmp_path, store_url)
    url = store.store_url(store_url, root)
    old = sqlalchemy.create_engine(url)
    engines.append(old)
    store.migrate(old, "0005")
    t = LAUNCH - timedelta(days=3)
    legacy: dict[tuple[str, str], str] = {}
    values = []
    for message, due, state in (("launch", LAUNCH, "published"), ("follow-up", LATER, "planned")):
        for who in ("parents", "nurses"):
            legacy[(message, who)] = key = delivery_id("trial", message, due, who, "en", "blog")
            values.append(
                {
                    "id": key,
                    "campaign": "trial",
                    "message": message,
                    "occurrence": f"{due:%Y-%m-%d}T09:00",
                    "audience": who,
                    "language": "en",
                    "channel": "blog",
                    "due_at": due,
                    "timezone": "Europe/London",
                    "state": state,
                    "attempts": int(state == "published"),
                    "planned_at": t,
                    "updated_at": t,
                }
            )
    _insert_as_at_0005(old, "deliveries", values)
    launched = [legacy[("launch", who)] for who in ("parents", "nurses")]
    _insert_as_at_0005(
        old,
        "publications",
        [
            {
                "delivery_id": key,
                "remote_id": key,
                "url": f"https://example.org/{key}",
                "published_at": LAUNCH,
                "content_hash": "ab" * 32,
            }
            for key in launched
        ],
    )
    _insert_as_at_0005(
        old,
        "reach_samples",
        [
            {
                "delivery_id": key,
                "campaign": "trial",
                "metric": "views",
                "value": 10.0 + i,
                "observed_at": LAUNCH + timedelta(days=1),
                "source": "channel:folder",
                "quality": None,
            }
            for i, key in enumerate(launched)
        ],
    )
    old.dispose()

    clock = Clock(LAUNCH + timedelta(minutes=1))
    d = dispatcher(root, clock, engines)  # opening the store upgrades it to head
    assert store.current_revision(d.engine) == store.head_revision()
    shared_launch = delivery_id("trial", "launch", LAUNCH, "", "en", "blog")
    code, out, err = run_cli(
        "--now", f"{clock.now:%Y-%m-%dT%H:%M:%SZ}", "publish", "--due", "--dry-run", "--format", "json", "-w", root
    )
    assert code == 0, err
    would = {row["id"]: row["would"] for row in json.loads(out)}
    assert shared_launch not in would and len(would) == 4, "the dry run says what the pass does"
    d.sync(clock.now)
    assert d.publish_due().outcomes.get("published", 0) == 4  # launch: blog ur, news × 3 — never the English post
    with d.engine.connect() as db:
        kept = {
            r.id: (r.audiences, r.state) for r in db.execute(select(deliveries).where(deliveries.c.id.in_(launched)))
        }
        assert kept == {
            legacy[("launch", "parents")]: ("parents", "published"),
            legacy[("launch", "nurses")]: ("nurses", "published"),
        }
        assert (
            db.execute(
                select(sqlalchemy.func.count())
                .select_from(publications)
                .where(publications.c.delivery_id.in_(launched))
            ).scalar()
            == 2
        )
        assert sorted(db.execute(select(reach_samples.c.value)).scalars()) == [10.0, 11.0]
    assert shared_launch not in {key for key, _ in rows(d.engine).values()}
    assert not (root / "out" / "blog" / f"{shared_launch}.json").exists()

    clock.now = LATER + timedelta(seconds=5)
    d.sync(clock.now)
    assert d.publish_due().outcomes == {"published": 2}  # the follow-up: en once for both, ur for parents
    now = rows(d.engine)
    assert now[("follow-up", "parents nurses", "en", "blog")][1] == "published"
    assert {now[("follow-up", who, "en", "blog")][1] for who in ("parents", "nurses")} == {"cancelled"}
    assert d.sync(clock.now).added == 0, "settled: the next sync changes nothing"


def test_reports_count_a_shared_post_once_and_show_it_under_each_audience(
    tmp_path: Path, store_url: str, engines: list[Engine]
) -> None:
    root = write(tmp_path, store_url)
    clock = Clock(LAUNCH + timedelta(seconds=5))
    d = dispatcher(root, clock, engines)
    d.sync(clock.now)
    d.publish_due()
    [(shared, _)] = [v for k, v in rows(d.engine).items() if k == ("launch", "parents nurses", "en", "blog")]
    with d.engine.begin() as db:
        db.execute(
            insert(reach_samples),
            [
                {
                    "delivery_id": shared,
                    "campaign": "trial",
                    "metric": "views",
                    "value": 120.0,
                    "observed_at": LAUNCH + timedelta(days=2),
                    "source": "channel:folder",
                }
            ],
        )
    # A manual count naming the shared post's message, language and channel (no audience) is placed on it.
    [loaded] = d.loaded.campaigns
    stored = store_reach(
        d.engine,
        [ReachRecord("trial", "views", 30.0, (LAUNCH + timedelta(days=3)).date(), "launch", None, "en", "blog")],
    )
    assert stored.linked == 1
    rows_, samples, evidence = ledger_view(d.engine, ["trial"])
    result = evaluate(loaded.campaign, rows_, samples, evidence, LAUNCH + timedelta(days=10))
    [views] = [i for o in result.objectives for i in o.indicators if i.metric == "views"]
    assert views.value == 150.0, "counted once towards the objective of parents and nurses"
    assert result.totals == {"views": 150.0}
    cells = {(c.audience, c.language, c.channel): (c.value, c.deliveries) for c in result.reach if c.metric == "views"}
    assert cells == {("parents", "en", "blog"): (150.0, 1), ("nurses", "en", "blog"): (150.0, 1)}
    assert result.health["published"] == 5  # blog en (shared), blog ur, news × 3
    assert not any(g.audience == "nurses" for g in result.gaps), "the nurses were reached by the shared post"
    # The report shows the post under each audience and counts it once in the total.
    code, out, err = run_cli("--now", "2027-01-21T12:00Z", "report", "trial", "--format", "json", "-w", root)
    assert code == 0, err
    report = json.loads(out)
    [reach] = [s for s in report["parts"][0]["sections"] if s["key"] == "reach"]
    tables = {t["key"]: t for t in reach["tables"]}
    assert tables["reach-totals"]["rows"] == [["views", 150.0]]
    assert [r for r in tables["reach"]["rows"] if r[3] == "views"] == [
        ["nurses", "en", "blog", "views", 150.0, 1],
        ["parents", "en", "blog", "views", 150.0, 1],
    ]
    assert any("the totals count it once" in p for p in reach["paragraphs"])
