"""Benchmark: validate + plan 1,000 campaigns (about 100,000 deliveries) against a parse-only baseline.

README: `tests/benchmarks/run` (or `.venv/bin/python tests/benchmarks/bench_validate_plan.py
[--campaigns 1000] [--repeat 5] [--seed 1] [--no-cli] [--profile] [--keep DIR]`; `--help` for all)
generates a workspace of varied, valid campaigns in a temporary folder (the repository's
kmcomms.toml; 1-4 audiences, 1-6 languages, one-off and repeating messages, Markdown body files
and inline bodies, aims, objectives and indicators), then times, best of --repeat runs, with
every kmcomms functools cache (`kmcomms.campaign.schedule.to_utc` above all) cleared before each:

  baseline  read every campaign.yaml and parse it with `yaml.load(text, Loader=yaml.CSafeLoader)`
  validate  `kmcomms.campaign.load_paths([workspace])` (models, cross-checks, body files)
  plan      `plan_of(result, Window(start=2000-01-01), now)`
  cli       `kmcomms validate WORKSPACE` through `kmcomms.cli.main`, output captured (for information)

and prints the ratio (validate + plan) / baseline against the goal of 3.0x, with the part of
each time spent in Python's cyclic garbage collector (what keeping many objects alive costs:
cProfile charges it to whichever function happened to allocate when a collection ran). It is a
measurement, not a test: it exits 0 whether or not the goal is met (but fails loudly if the
generated campaigns do not validate). pytest does not collect it (bench_*.py, not test_*.py).
`--profile` adds a cProfile of one validate + plan, sorted by cumulative and own time
(`--profile-no-gc`: the same with the cyclic collector off, for a cleaner attribution).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import gc
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without an installed package
    sys.path.insert(0, str(REPO))

import yaml

from kmcomms.campaign.load import load_paths
from kmcomms.cli import main as cli_main
from kmcomms.plan.deliveries import Window, plan_of

GOAL = 3.0
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WINDOW = Window(start=datetime(2000, 1, 1, tzinfo=UTC))

# ---------------------------------------------------------------------------------------
# Generating a workspace
# ---------------------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Zones whose DST changes happen at night, so the 06:00-21:00 times used here never fall in
# a gap or a fold (no daylight-saving warnings).
ZONES = ["Europe/London"] * 6 + [
    "Europe/Dublin",
    "Europe/Berlin",
    "Europe/Warsaw",
    "Europe/Bucharest",
    "America/New_York",
    "America/Toronto",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Australia/Sydney",
    "Pacific/Auckland",
]
COMMUNITY_LANGUAGES = [
    "ur",
    "pa",
    "pl",
    "ro",
    "so",
    "ar",
    "yi",
    "bn",
    "gu",
    "tr",
    "pt",
    "es",
    "fr",
    "zh",
    "cy",
    "lt",
    "ta",
    "fa",
    "ti",
    "am",
    "sw",
    "yo",
    "hi",
    "uk",
]
# kind -> (channel choices, how many languages it usually needs, reading age?)
KINDS: dict[str, tuple[list[list[str]], tuple[int, int]]] = {
    "public": (
        [
            ["video", "newsletter", "blog"],
            ["blog", "newsletter"],
            ["print"],
            ["video", "blog"],
            ["newsletter", "print"],
            ["video", "newsletter", "blog", "print"],
        ],
        (1, 6),
    ),
    "patients": ([["newsletter", "print"], ["blog", "newsletter"], ["print"], ["video", "print"]], (1, 6)),
    "community": ([["newsletter"], ["newsletter", "print"], ["print", "video"]], (1, 4)),
    "clinicians": ([["newsletter"], ["newsletter", "blog"], ["newsletter", "video"]], (1, 2)),
    "policy": ([["briefing"], ["briefing", "newsletter"]], (1, 2)),
    "researchers": ([["blog"], ["blog", "newsletter"]], (1, 1)),
}
AUDIENCE_NAMES = {
    "public": ["parents", "carers", "young-people", "families", "older-adults", "students", "public"],
    "patients": ["patients", "pregnant-women", "people-with-diabetes", "transplant-patients"],
    "community": ["partners", "faith-leaders", "community-groups", "youth-workers"],
    "clinicians": ["clinicians", "gps", "school-nurses", "pharmacists", "midwives", "health-visitors"],
    "policy": ["commissioners", "policy-leads", "committee", "councillors"],
    "researchers": ["researchers", "evaluators"],
}
NEEDS = ["offline", "easy-read", "large-print", "audio", "bsl"]
METRICS = {
    "video": ["views", "watch-minutes"],
    "newsletter": ["opens", "clicks", "recipients"],
    "blog": ["views", "clicks"],
    "print": ["leaflets", "attendees"],
    "briefing": ["recipients", "opens", "downloads", "citations"],
}
TOPICS = [
    "HPV",
    "MMR",
    "flu",
    "COVID-19",
    "RSV",
    "pertussis",
    "shingles",
    "pneumococcal",
    "meningitis B",
    "hepatitis B",
    "rotavirus",
    "BCG",
    "polio",
    "chickenpox",
]
WORDS = [
    "vaccine",
    "uptake",
    "parents",
    "clinicians",
    "families",
    "community",
    "trust",
    "questions",
    "answers",
    "language",
    "clinic",
    "school",
    "nurse",
    "evidence",
    "access",
    "convenience",
    "information",
    "leaflet",
    "film",
    "reminder",
    "dose",
    "catch-up",
    "appointment",
    "consent",
    "season",
    "local",
    "services",
    "barriers",
    "research",
    "findings",
    "plain",
    "briefing",
    "commissioners",
    "partners",
    "offline",
    "print",
    "health",
    "visitors",
    "GP",
    "practice",
    "pharmacy",
    "children",
    "young",
    "people",
    "older",
    "adults",
    "pregnancy",
    "protection",
    "risk",
    "safety",
    "side",
    "effects",
]


def _sentence(rng: random.Random, low: int = 6, high: int = 16) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _q(text: str) -> str:
    """A YAML scalar as a person would write it: plain where that is safe, else double-quoted."""
    if any(c in text for c in ":#'\"[]{},&*!|>%@`") or text[:1] in "-?" or text != text.strip():
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


@dataclass
class _Audience:
    id: str
    kind: str
    languages: list[str]
    channels: list[str]
    timezone: str | None


@dataclass
class _Campaign:
    """Counts what the generator expects planning to produce, for a cross-check."""

    deliveries: int = 0
    messages: int = 0
    repeats: int = 0
    body_files: int = 0
    lines: list[str] = field(default_factory=list)


#: The repository's channels whose items are public, shared by the audiences that get them
#: at the same instant in the same language (kmcomms.toml: static-site, video-page, folder).
BROADCAST = {"blog", "video", "print"}


def _same_clock(zone: str) -> tuple[timedelta | None, ...]:
    """The zone's offsets in winter and summer: zones of ZONES that share both change
    their clocks on the same days, so their local times are the same instants."""
    return tuple(datetime(2027, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() for month in (1, 7))


def _per_occurrence(audiences: list[_Audience], channels: list[str] | None, zone: str) -> int:
    """Deliveries per occurrence of a message: one per audience and language on a targeted
    channel, one per instant and language on a broadcast channel."""
    targeted, shared = 0, set()
    for a in audiences:
        reached = a.channels if channels is None else [c for c in channels if c in a.channels]
        clock = _same_clock(a.timezone or zone)
        for channel in reached:
            if channel in BROADCAST:
                shared.update((clock, language, channel) for language in a.languages)
            else:
                targeted += len(a.languages)
    return targeted + len(shared)


def _occurrences(first: date, last: date, every: int, unit: str, on: list[str] | None) -> int:
    """How many times a repeat fires (the format's rule: weeks counted from the Monday of the first)."""
    if unit == "days":
        return max(0, (last - first).days // every + 1)
    weekdays = sorted(WEEKDAYS.index(d) for d in on) if on else [first.weekday()]
    count, monday = 0, first - timedelta(days=first.weekday())
    while monday <= last:
        count += sum(1 for w in weekdays if first <= monday + timedelta(days=w) <= last)
        monday += timedelta(weeks=every)
    return count


def _campaign(rng: random.Random, index: int, folder: Path, target: int) -> _Campaign:
    """Write campaigns/<id>/campaign.yaml (and messages/*.md) aiming at about `target` deliveries."""
    topic = rng.choice(TOPICS)
    cid = f"c{index:04d}-{topic.lower().replace(' ', '-').replace('/', '-')}-{rng.choice(['uptake', 'awareness', 'evidence', 'catch-up', 'trust'])}"
    zone = rng.choice(ZONES)
    starts = date(2027, 1, 4) + timedelta(days=rng.randint(0, 540))
    ends = starts + timedelta(weeks=rng.randint(6, 30))
    days = (ends - starts).days
    out = _Campaign()
    w = out.lines.append

    # Audiences: 1-4, each with its channels and 1-6 languages.
    kinds = rng.sample(list(KINDS), k=rng.choices([1, 2, 3, 4], weights=[2, 4, 3, 2])[0])
    audiences: list[_Audience] = []
    used_ids: set[str] = set()
    for kind in kinds:
        name = rng.choice([n for n in AUDIENCE_NAMES[kind] if n not in used_ids])
        used_ids.add(name)
        channel_sets, (lo, hi) = KINDS[kind]
        count = rng.randint(lo, hi)
        languages = ["en", *rng.sample(COMMUNITY_LANGUAGES, k=count - 1)]
        audiences.append(
            _Audience(
                name,
                kind,
                languages,
                list(rng.choice(channel_sets)),
                rng.choice(ZONES) if rng.random() < 0.15 else None,
            )
        )

    w("# yaml-language-server: $schema=../../campaign.schema.json")
    w(f"# Generated for the validate + plan benchmark: {topic} vaccination, campaign {index}.")
    w(f"id: {cid}")
    w(f"title: {_q(f'{topic} vaccine: ' + _sentence(rng, 4, 8).rstrip('.').lower())}")
    w(f"owner: comms+{index}@unit.example.ac.uk")
    w(f"timezone: {zone}")
    w("language: en")
    w(f"starts: {starts.isoformat()}")
    w(f"ends: {ends.isoformat()}")
    if rng.random() < 0.4:
        w(f"embargo: {starts.isoformat()}T00:01            # the study is public from this minute")
    if rng.random() < 0.7:
        w("outputs:")
        for n in range(rng.randint(1, 3)):
            w(f"  - doi: 10.5555/hpru-vi.{rng.randint(2025, 2027)}.{index:04d}{n}")
            w(f"    title: {_q(_sentence(rng, 8, 18).rstrip('.'))}")
            if rng.random() < 0.6:
                w("    award: NIHR200929")

    # Theory of change: aims -> objectives (every audience in one) -> indicators.
    w("")
    w("aims:")
    n_objectives = rng.randint(max(1, len(audiences) // 2), 4)
    if n_objectives >= len(audiences):  # one objective per audience, and some for several
        objective_audiences = [[a] for a in audiences]
        while len(objective_audiences) < n_objectives:
            objective_audiences.append(rng.sample(audiences, k=rng.randint(1, len(audiences))))
    else:  # fewer objectives than audiences: share the audiences out
        objective_audiences = [audiences[i::n_objectives] for i in range(n_objectives)]
    n_aims = rng.randint(1, min(3, len(objective_audiences)))
    for a in range(n_aims):
        w(f"  - id: aim-{a + 1}")
        w(f"    statement: {_q(_sentence(rng, 8, 16).rstrip('.'))}")
        w("    objectives:")
        for o, members in enumerate(objective_audiences[a::n_aims]):
            w(f"      - id: objective-{a + 1}-{o + 1}")
            w(f"        statement: {_q(_sentence(rng, 10, 22).rstrip('.'))}")
            w(f"        audiences: {_flow([m.id for m in members])}")
            w("        indicators:")
            reach = sorted({c for m in members for c in m.channels})
            for i in range(rng.randint(1, 3)):
                channel = rng.choice(reach)
                w(f"          - id: ind-{a + 1}-{o + 1}-{i + 1}")
                w(f"            metric: {rng.choice(METRICS[channel])}")
                w(f"            level: {rng.choice(['output', 'outtake', 'outcome', 'impact'])}")
                if rng.random() < 0.7:
                    w(f"            channels: [{channel}]")
                langs = sorted({lang for m in members for lang in m.languages})
                if len(langs) > 1 and rng.random() < 0.3:
                    w(f"            languages: {_flow(rng.sample(langs, k=rng.randint(1, len(langs) - 1)))}")
                if rng.random() < 0.5:
                    w("            baseline: 0")
                w(f"            target: {rng.choice([5, 40, 150, 1500, 20000])}")
                w(f"            by: {(starts + timedelta(days=rng.randint(7, days))).isoformat()}")
    if rng.random() < 0.8:
        w("assumptions:")
        for _ in range(rng.randint(1, 5)):
            w(f"  - {_q(_sentence(rng, 8, 20).rstrip('.'))}")

    w("")
    w("audiences:")
    for a in audiences:
        w(f"  {a.id}:")
        w(f"    name: {_q(_sentence(rng, 4, 10).rstrip('.'))}")
        w(f"    kind: {a.kind}")
        w(f"    languages: {_flow(a.languages)}")
        w(f"    intent: {rng.choice(['aware', 'understand', 'act'])}")
        if a.kind in ("public", "patients") and rng.random() < 0.5:
            w(f"    reading_age: {rng.choice([9, 11, 12, 14])}")
        if a.timezone:
            w(f"    timezone: {a.timezone}")
        if "print" in a.channels:
            w(f"    needs: {_flow(['offline', *rng.sample(NEEDS[1:], k=rng.randint(0, 2))])}")
        w(f"    channels: {_flow(a.channels)}")

    # Messages: every audience addressed at least once; one-offs and repeats until the
    # campaign reaches about `target` deliveries.
    w("")
    w("messages:")
    (folder / "messages").mkdir(parents=True)
    pending = list(audiences)
    while pending or out.deliveries < target or out.messages < 2:
        n = out.messages + 1
        if pending:
            first = pending.pop(0)
            others = [a for a in audiences if a is not first and a in pending]
            members = [first, *rng.sample(others, k=min(len(others), rng.choice([0, 0, 1])))]
            for m in members[1:]:
                pending.remove(m)
        else:
            members = rng.sample(audiences, k=rng.choice([1, 1, 1, 2]) if len(audiences) > 1 else 1)
        union = list(dict.fromkeys(c for m in members for c in m.channels))
        channels: list[str] | None = None
        if rng.random() < 0.6:  # name channels: at least one that reaches each audience
            picked = {rng.choice(m.channels) for m in members}
            picked |= {c for c in union if rng.random() < 0.3}
            channels = [c for c in union if c in picked]
        per = _per_occurrence(members, channels, zone)
        remaining = target - out.deliveries
        repeat = out.messages >= 1 and not pending and remaining > 3 * per and rng.random() < 0.5
        mid = f"m{n}-{rng.choice(['launch', 'reminder', 'update', 'film', 'leaflet', 'brief', 'blog'])}"
        w(f"  - id: {mid}")
        w(f"    audiences: {_flow([m.id for m in members])}")
        if channels is not None:
            w(f"    channels: {_flow(channels)}")
        hour = f"{rng.randint(6, 20):02d}:{rng.choice(['00', '15', '30', '45'])}"
        if repeat:
            unit = rng.choice(["days", "weeks", "weeks"])
            every = rng.choice([3, 7, 10, 14]) if unit == "days" else rng.choice([1, 1, 2, 2, 3, 4])
            on = (
                sorted(rng.sample(WEEKDAYS[:5], k=rng.randint(1, 2)), key=WEEKDAYS.index)
                if unit == "weeks" and rng.random() < 0.7
                else None
            )
            first_day = starts + timedelta(days=rng.randint(0, min(14, days)))
            # Stop when about the remaining deliveries are planned (or at the campaign's end).
            until = first_day
            while until < ends and _occurrences(first_day, until, every, unit, on) * per < remaining:
                until += timedelta(days=1)
            count = _occurrences(first_day, until, every, unit, on)
            if count == 0:  # too short for a weekday in range: fall back to one day
                on = None
                count = _occurrences(first_day, until, every, unit, on)
            w("    repeat:")
            w(f"      every: {every} {unit if every != 1 else unit[:-1]}")
            if on:
                w(f"      on: {_flow(on)}")
            w(f'      at: "{hour}"')
            if first_day != starts or rng.random() < 0.3:
                w(f"      starts: {first_day.isoformat()}")
            if until != ends or rng.random() < 0.3:
                w(f"      until: {until.isoformat()}")
            out.repeats += 1
        else:
            count = 1
            day = starts + timedelta(days=rng.randint(0, days))
            w(f"    at: {day.isoformat()} {hour}")
        out.deliveries += count * per
        out.messages += 1
        w(f"    title: {_q(_sentence(rng, 4, 10).rstrip('.'))}")
        if rng.random() < 0.7:
            w(f"    summary: {_q(_sentence(rng, 8, 20))}")
        if rng.random() < 0.55:
            body = f"messages/{mid}.md"
            (folder / body).write_text(
                "\n\n".join(_paragraph(rng) for _ in range(rng.randint(2, 6))) + "\n", encoding="utf-8"
            )
            w(f"    body: {body}")
            out.body_files += 1
        else:
            w("    body: |")
            for p, paragraph in enumerate(_paragraph(rng) for _ in range(rng.randint(1, 3))):
                if p:
                    w("")
                w(f"      {paragraph}")
        if rng.random() < 0.6:
            w("    call_to_action:")
            w(f"      text: {_q(_sentence(rng, 3, 7).rstrip('.'))}")
            w(f"      url: https://unit.example.ac.uk/{cid}/{mid}/")
        if "video" in (channels or union) and rng.random() < 0.6:
            w("    video:")
            w(f"      youtube_id: {''.join(rng.choices('abcdefghijkLMNOPQRSTUVWXYZ0123456789_-', k=10))}A")
            if rng.random() < 0.5:
                w(f"      transcript: https://unit.example.ac.uk/{cid}/{mid}/transcript/")
        if any(m.kind == "policy" for m in members) and rng.random() < 0.8:
            w("    briefing:")
            w(f"      summary: {_q(_sentence(rng, 12, 24))}")
            w("      key_points:")
            for _ in range(rng.randint(1, 4)):
                w(f"        - {_q(_sentence(rng))}")
            w("      recommendations:")
            for _ in range(rng.randint(1, 3)):
                w(f"        - {_q(_sentence(rng))}")
            w('      contacts: ["Dr A. Researcher <a.researcher@unit.example.ac.uk>"]')
    (folder / "campaign.yaml").write_text("\n".join(out.lines) + "\n", encoding="utf-8")
    return out


@dataclass
class Generated:
    root: Path
    campaigns: int
    expected_deliveries: int
    messages: int
    repeats: int
    body_files: int
    yaml_bytes: int


def generate(root: Path, campaigns: int, per_campaign: int, seed: int) -> Generated:
    """A workspace at `root`: the repository's kmcomms.toml and `campaigns` campaigns."""
    rng = random.Random(seed)
    shutil.copy(REPO / "kmcomms.toml", root / "kmcomms.toml")
    totals = Generated(root, campaigns, 0, 0, 0, 0, 0)
    for i in range(campaigns):
        # Small and large campaigns, averaging about `per_campaign` deliveries.
        target = max(4, round(rng.triangular(0.15, 2.2, 0.65) * per_campaign))
        folder = root / "campaigns" / f"campaign-{i:04d}"
        folder.mkdir(parents=True)
        made = _campaign(rng, i, folder, target)
        totals.expected_deliveries += made.deliveries
        totals.messages += made.messages
        totals.repeats += made.repeats
        totals.body_files += made.body_files
        totals.yaml_bytes += (folder / "campaign.yaml").stat().st_size
    return totals


# ---------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------


def clear_caches() -> list[str]:
    """Clear every functools cache in kmcomms (`kmcomms.campaign.schedule.to_utc` above all), so a
    repetition does not profit from the one before it."""
    cleared = []
    for name, module in sorted(sys.modules.items()):
        if name != "kmcomms" and not name.startswith("kmcomms."):
            continue
        for attr, value in vars(module).items():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()
                cleared.append(f"{name}.{attr}")
    return cleared


class _GcClock:
    """Seconds spent in the cyclic garbage collector (through `gc.callbacks`)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


GC_CLOCK = _GcClock()


def timed(fn: Callable[[], object]) -> tuple[float, object, float]:
    """Wall seconds of `fn()`, its value, and the seconds of that spent in cyclic GC."""
    gc.collect()
    in_gc = GC_CLOCK.seconds
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value, GC_CLOCK.seconds - in_gc


def baseline(root: Path) -> int:
    count = 0
    for path in sorted((root / "campaigns").glob("*/campaign.yaml")):
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        count += 1
    return count


def validate(root: Path):  # -> LoadResult
    return load_paths([root])


def cli_validate(root: Path) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["validate", str(root)])
    if code != 0:
        raise SystemExit(f"`kmcomms validate` exited {code}:\n{out.getvalue()[-2000:]}{err.getvalue()[-2000:]}")
    return code


def profile(root: Path, top: int, collect: bool) -> None:
    clear_caches()
    gc.collect()
    if not collect:
        gc.disable()
    in_gc = GC_CLOCK.seconds
    profiler = cProfile.Profile()
    profiler.enable()
    result = validate(root)
    plan_of(result, WINDOW, NOW)
    profiler.disable()
    gc.enable()
    if collect:
        print(
            f"\ncyclic GC ran for {GC_CLOCK.seconds - in_gc:.2f}s of the profiled run; cProfile charges that to"
            " whatever was allocating at the time (--profile-no-gc profiles with the collector off)"
        )
    else:
        print("\nprofiled with the cyclic garbage collector off (--profile-no-gc)")
    for key in ("cumulative", "tottime"):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        print(f"\n=== cProfile of one validate + plan, sorted by {key} (top {top}) ===")
        text = stream.getvalue()
        print(text[text.find("   ncalls") :] if "   ncalls" in text else text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=1000, help="campaigns to generate (default 1000)")
    parser.add_argument(
        "--deliveries-per-campaign",
        type=int,
        default=100,
        metavar="N",
        help="average planned deliveries per campaign (default 100)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; the best is reported (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the generated campaigns (default 1)")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the `kmcomms validate` command")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one validate + plan")
    parser.add_argument(
        "--profile-no-gc",
        action="store_true",
        help="profile with the cyclic garbage collector off, so its time is not charged to other functions",
    )
    parser.add_argument("--profile-top", type=int, default=30, metavar="N", help="profile rows to print (default 30)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="generate into DIR (must not exist) and keep it")
    # tests/benchmarks/run passes the same options to every benchmark: ignore the others'.
    args, others = parser.parse_known_args(argv)
    if others:
        print(f"(ignoring options for other benchmarks: {' '.join(others)})")
    if args.campaigns < 1 or args.repeat < 1:
        parser.error("--campaigns and --repeat must be at least 1")

    with contextlib.ExitStack() as stack:
        if args.keep:
            root = args.keep.resolve()
            root.mkdir(parents=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kmcomms-bench-")))
        started = time.perf_counter()
        gen = generate(root, args.campaigns, args.deliveries_per_campaign, args.seed)
        print(
            f"generated {gen.campaigns:,} campaigns in {time.perf_counter() - started:.1f}s at {root}: "
            f"{gen.messages:,} messages ({gen.repeats:,} repeating), {gen.body_files:,} body files, "
            f"{gen.yaml_bytes / 1e6:.1f} MB of YAML"
        )

        # Check once, untimed: the campaigns are valid and plan as the generator expects.
        checked = validate(root)
        errors = checked.errors
        warnings = len(checked.diagnostics) - len(errors)
        if errors or len(checked.campaigns) != gen.campaigns:
            for d in errors[:20]:
                print(f"  {d}", file=sys.stderr)
            raise SystemExit(
                f"generated campaigns are not valid: {len(errors)} errors, "
                f"{len(checked.campaigns)} of {gen.campaigns} campaigns loaded"
            )
        deliveries = len(plan_of(checked, WINDOW, NOW).deliveries)
        note = "" if deliveries == gen.expected_deliveries else f" (the generator expected {gen.expected_deliveries:,})"
        print(
            f"validated: {len(checked.campaigns):,} campaigns, 0 errors, {warnings} warnings; "
            f"planned {deliveries:,} deliveries{note}"
        )
        del checked
        print(f"caches cleared between runs: {', '.join(clear_caches()) or 'none found'}")

        runs: dict[str, list[float]] = {"baseline": [], "validate": [], "plan": []}
        if not args.no_cli:
            runs["cli validate"] = []
        in_gc: dict[str, list[float]] = {name: [] for name in runs}
        print(
            f"\n{'run':>4} " + " ".join(f"{name:>13}" for name in runs) + "  (seconds; in brackets: of which cyclic GC)"
        )
        for n in range(1, args.repeat + 1):
            clear_caches()
            seconds, parsed, collecting = timed(lambda: baseline(root))
            assert parsed == gen.campaigns
            runs["baseline"].append(seconds)
            in_gc["baseline"].append(collecting)
            clear_caches()
            seconds, result, collecting = timed(lambda: validate(root))
            assert not result.errors and len(result.campaigns) == gen.campaigns
            runs["validate"].append(seconds)
            in_gc["validate"].append(collecting)
            seconds, planned, collecting = timed(functools.partial(plan_of, result, WINDOW, NOW))
            assert len(planned.deliveries) == deliveries
            runs["plan"].append(seconds)
            in_gc["plan"].append(collecting)
            del result, planned
            if not args.no_cli:
                clear_caches()
                seconds, _, collecting = timed(lambda: cli_validate(root))
                runs["cli validate"].append(seconds)
                in_gc["cli validate"].append(collecting)
            print(f"{n:>4} " + " ".join(f"{runs[name][-1]:>6.3f} ({in_gc[name][-1]:>4.2f})" for name in runs))

        best = {name: min(values) for name, values in runs.items()}
        best_gc = {name: in_gc[name][values.index(best[name])] for name, values in runs.items()}
        total = best["validate"] + best["plan"]
        ratio = total / best["baseline"]
        files = gen.campaigns
        print(f"\nbest of {args.repeat}: {files:,} campaign files, {deliveries:,} deliveries")
        print(f"{'':<16}{'seconds':>9}{'(in GC)':>9}{'files/s':>11}{'deliveries/s':>14}{'x baseline':>12}")
        rows = [
            ("baseline (parse)", best["baseline"], best_gc["baseline"]),
            ("validate", best["validate"], best_gc["validate"]),
            ("plan", best["plan"], best_gc["plan"]),
            ("validate + plan", total, best_gc["validate"] + best_gc["plan"]),
        ]
        if "cli validate" in best:
            rows.append(("cli validate", best["cli validate"], best_gc["cli validate"]))
        for name, seconds, collecting in rows:
            per_delivery = f"{deliveries / seconds:>14,.0f}" if name in ("plan", "validate + plan") else f"{'':>14}"
            print(
                f"{name:<16}{seconds:>9.3f}{collecting:>9.3f}{files / seconds:>11,.0f}{per_delivery}{seconds / best['baseline']:>11.2f}x"
            )
        verdict = "meets" if ratio < GOAL else "misses"
        print(f"\n(validate + plan) / baseline = {ratio:.2f}x — {verdict} the goal of under {GOAL:.1f}x")

        if args.profile or args.profile_no_gc:
            profile(root, args.profile_top, collect=not args.profile_no_gc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
