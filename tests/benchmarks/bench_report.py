"""Benchmark: a unit report over 100 campaigns and 1,000,000 reach samples in SQLite, against
the same totals computed by one SQL GROUP BY query, in the same run.

README: `.venv/bin/python tests/benchmarks/bench_report.py [--campaigns 100] [--samples 1000000]
[--repeat 3] [--profile]`.

A workspace made by `kmcomms init` gets N campaigns (two audiences in English and Urdu on the
blog and the newsletter, five messages each: 40 deliveries per campaign, all published). The
ledger (a fresh SQLite file) gets the samples spread evenly over the deliveries: per blog
delivery a running total of views read again and again (channel API) and tracked clicks
(events of 1, which add up); per newsletter delivery recipients once, a running total of
opens, and tracked clicks. Inserting is untimed.

Timed, best of --repeat:
  (a)  baseline  one SQL query: per campaign and metric, the sum over deliveries of each
       running total's largest reading (they only grow) and of every additive record,
       by GROUP BY
  (b)  report    `gather_unit` (ledger read, evaluation, report data) for every campaign,
       then the report rendered as Markdown (tables only) and as HTML (with the charts)
Reported: each time and (b)/(a) against the goal of under 5x; the per-campaign totals of
(a) and of the report's reach are compared and must be equal (it fails loudly if not).

It is a measurement, not a test: it exits 0 whether or not the goal is met.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without an installed package
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # for workspaces.py, as pytest puts it there for the tests

from sqlalchemy import Engine, insert, text
from workspaces import audience, campaign_yaml

from kmcomms.campaign.load import load_paths
from kmcomms.campaign.workspace import load_workspace
from kmcomms.cli import main as kmcomms_main
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries
from kmcomms.report.gather import end_of_day, gather_unit
from kmcomms.report.html import html
from kmcomms.report.markdown import markdown

GOAL = 5.0
CHANNELS = ("blog", "newsletter")
LANGUAGES = ("en", "ur")
AUDIENCES = ("parents", "carers")
MESSAGES = 5
START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
PERIOD = (date(2027, 1, 1), date(2027, 3, 31))

MESSAGE = """\
  - id: m{n}
    audiences: [parents, carers]
    at: 2027-01-{day:02d} 09:00
    title: Message {n}
    body: Clinicians answer what parents ask most.
"""

BASELINE = """
SELECT campaign, metric, SUM(total) FROM (
    SELECT campaign, delivery_id, metric,
           CASE WHEN source IN ('manual', 'tracking') THEN SUM(value) ELSE MAX(value) END AS total
    FROM reach_samples GROUP BY campaign, delivery_id, metric, source
) GROUP BY campaign, metric
"""


def make_workspace(folder: Path, campaigns: int) -> Path:
    assert kmcomms_main(["init", str(folder)]) == 0
    audiences = "".join(audience(a, languages=", ".join(LANGUAGES), channels=", ".join(CHANNELS)) for a in AUDIENCES)
    messages = "".join(MESSAGE.format(n=n, day=12 + n) for n in range(MESSAGES))
    for c in range(campaigns):
        target = folder / "campaigns" / f"c{c:03d}" / "campaign.yaml"
        target.parent.mkdir(parents=True)
        target.write_text(
            campaign_yaml(messages, title=f"Campaign {c}", audiences=audiences, reached="parents, carers")
        )
    return folder


def fill_ledger(engine: Engine, campaigns: int, samples: int) -> None:
    rows = []
    for c in range(campaigns):
        for m in range(MESSAGES):
            for a in AUDIENCES:
                for lang in LANGUAGES:
                    for ch in CHANNELS:
                        due = START + timedelta(days=1 + m)
                        rows.append(
                            {
                                "id": f"c{c}-{m}-{a}-{lang}-{ch}",
                                "campaign": f"c{c:03d}",
                                "message": f"m{m}",
                                "occurrence": "o",
                                "audiences": a,
                                "language": lang,
                                "channel": ch,
                                "due_at": due,
                                "timezone": "Europe/London",
                                "state": "published",
                                "attempts": 1,
                                "planned_at": due,
                                "updated_at": due,
                            }
                        )
    with engine.begin() as db:
        db.execute(insert(deliveries), rows)
    per = samples // len(rows)
    batch = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for row in rows:
            base = row["due_at"].replace(tzinfo=None)
            for k in range(per):
                at = (base + timedelta(minutes=k)).strftime("%Y-%m-%d %H:%M:%S.%f")
                if row["channel"] == "newsletter" and k == 0:
                    sample = ("recipients", 200.0, at, "api")
                elif k % 2:
                    sample = ("views" if row["channel"] == "blog" else "opens", float(k), at, "api")  # running total
                else:
                    sample = ("clicks", 1.0, at, "tracking")
                batch.append((row["id"], row["campaign"], *sample))
            if len(batch) >= 50_000:
                cursor.executemany(
                    "INSERT INTO reach_samples (delivery_id, campaign, metric, value, observed_at, source)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    batch,
                )
                batch.clear()
        cursor.executemany(
            "INSERT INTO reach_samples (delivery_id, campaign, metric, value, observed_at, source)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            batch,
        )
        raw.commit()
    finally:
        raw.close()


def best(repeat: int, work):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="Profile one report with cProfile.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="km-bench-report-") as tmp:
        root = make_workspace(Path(tmp) / "unit", args.campaigns)
        workspace = load_workspace(root)
        engine = open_store(workspace.settings.store.url, workspace.root)
        started = time.perf_counter()
        fill_ledger(engine, args.campaigns, args.samples)
        with engine.connect() as db:
            count = db.execute(text("SELECT COUNT(*) FROM reach_samples")).scalar_one()
        print(
            f"ledger: {count:,} reach samples, {args.campaigns * MESSAGES * 8:,} deliveries "
            f"(inserted in {time.perf_counter() - started:.1f} s, untimed)"
        )
        started = time.perf_counter()
        loaded = load_paths([root])
        print(
            f"loading {len(loaded.campaigns)} campaigns: {time.perf_counter() - started:.2f} s (not in the comparison)"
        )
        as_of = end_of_day(PERIOD[1])
        now = datetime(2027, 4, 1, tzinfo=UTC)

        def baseline() -> dict[tuple[str, str], float]:
            with engine.connect() as db:
                return {(c, m): v for c, m, v in db.execute(text(BASELINE))}

        def report() -> tuple[object, str, str]:
            made = gather_unit(workspace, loaded.campaigns, engine, PERIOD, as_of, generated_at=now)
            return made, markdown(made), html(made)

        base_time, totals = best(args.repeat, baseline)
        data_time, _ = best(
            args.repeat, lambda: gather_unit(workspace, loaded.campaigns, engine, PERIOD, as_of, generated_at=now)
        )
        report_time, (made, md, page) = best(args.repeat, report)
        found: dict[tuple[str, str], float] = defaultdict(float)
        for r in made.reach:
            found[(r.campaign, r.metric)] += r.value
        if dict(found) != totals:
            print("MISMATCH: the report's reach totals differ from the GROUP BY query's", file=sys.stderr)
            return 1
        print(f"(a) baseline GROUP BY query:            {base_time:8.3f} s")
        print(f"    report data (read, evaluate, build): {data_time:8.3f} s  ({data_time / base_time:.1f}x)")
        print(
            f"(b) whole report (data + md + html):     {report_time:8.3f} s  ({report_time / base_time:.1f}x, "
            f"goal under {GOAL:g}x: {'met' if report_time / base_time < GOAL else 'NOT met'})"
        )
        md_time, _ = best(args.repeat, lambda: markdown(made))
        html_time, _ = best(args.repeat, lambda: html(made))
        print(f"    of which markdown {md_time:.3f} s, html with charts {html_time:.3f} s (best of --repeat, apart)")
        print(
            f"    html {len(page) / 1e6:.1f} MB, {page.count('<svg')} charts; markdown {len(md) / 1e6:.1f} MB; "
            f"totals agree on {len(totals)} campaign × metric pairs"
        )
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(report)
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
