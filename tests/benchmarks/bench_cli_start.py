"""Benchmark: how long `kmcomms --help` takes to start, against `python -c pass` in the same run.

README: `tests/benchmarks/run` (or `.venv/bin/python tests/benchmarks/bench_cli_start.py
[--repeat 20] [--imports]`; `--help` for all) runs each of these as a subprocess, --repeat
times, in turns (one of each, then again), so that a busy machine slows them all alike:

  baseline          `python -c pass`: the interpreter starting and stopping, nothing imported
  -m --help         `python -m kmcomms --help`: the command list, which loads no command
  -m --version      `python -m kmcomms --version`
  script --help     `kmcomms --help` through the console script beside the Python (the venv's
                    bin/kmcomms), as a person types it: it also loads the entry point machinery
  validate --help   `python -m kmcomms validate --help`: one command's module loaded, its
                    help shown

and prints the median and best seconds of each and the median's ratio to the baseline's, against
the goal of at most 3.0x for `--help`. `--imports` adds, from `python -X importtime -m kmcomms
--help`, the packages it spends longest importing. It is a measurement, not a test: it
exits 0 whether or not the goal is met. pytest does not collect it (bench_*.py, not test_*.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 3.0
PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "kmcomms"

#: label → the command line; the first is the baseline the others are measured against.
LINES = {
    "baseline": [PYTHON, "-c", "pass"],
    "-m --help": [PYTHON, "-m", "kmcomms", "--help"],
    "-m --version": [PYTHON, "-m", "kmcomms", "--version"],
    "script --help": [str(SCRIPT), "--help"],
    "validate --help": [PYTHON, "-m", "kmcomms", "validate", "--help"],
}


def seconds(line: list[str]) -> float:
    """Wall time of one run of `line`, output discarded; it must succeed."""
    start = time.perf_counter()
    subprocess.run(line, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def imported_packages(top: int) -> list[tuple[str, float]]:
    """The `top` packages whose modules take longest to import in `kmcomms --help`, each with
    the time its own modules took (seconds, from `python -X importtime`; `kmcomms.cli` apart
    from the rest of kmcomms, whose stages it should not load)."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "kmcomms", "--help"], capture_output=True, text=True, check=True
    )
    packages: dict[str, float] = {}
    for row in done.stderr.splitlines():
        if not row.startswith("import time:"):
            continue  # the help text
        own, _, name = (cell.strip() for cell in row.removeprefix("import time:").split("|"))
        if not own.isdigit():
            continue  # the header row
        package = "kmcomms.cli" if name.startswith("kmcomms.cli") else name.split(".")[0]
        packages[package] = packages.get(package, 0) + int(own) / 1e6
    return sorted(packages.items(), key=lambda item: -item[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command line (default 20)")
    parser.add_argument(
        "--imports", action="store_true", help="also list the packages `kmcomms --help` spends longest importing"
    )
    args, foreign = parser.parse_known_args(argv)
    if foreign:  # tests/benchmarks/run passes every benchmark the same arguments
        print(f"ignoring arguments meant for other benchmarks: {' '.join(foreign)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    lines = {label: line for label, line in LINES.items() if label != "script --help" or SCRIPT.exists()}
    if len(lines) < len(LINES):
        print(f"no console script at {SCRIPT}: `script --help` skipped")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.repeat} runs of each, in turns")

    for line in lines.values():  # once untimed: files into the page cache, bytecode compiled
        seconds(line)
    runs: dict[str, list[float]] = {label: [] for label in lines}
    for _ in range(args.repeat):
        for label, line in lines.items():
            runs[label].append(seconds(line))

    base = statistics.median(runs["baseline"])
    print(f"\n{'':<18}{'median s':>10}{'best s':>9}{'median / baseline':>19}")
    for label, times in runs.items():
        median = statistics.median(times)
        print(f"{label:<18}{median:>10.3f}{min(times):>9.3f}{median / base:>18.1f}x")
    ratio = statistics.median(runs["-m --help"]) / base
    print(
        f"\n`python -m kmcomms --help` = {ratio:.1f}x `python -c pass` — "
        f"{'meets' if ratio <= GOAL else 'misses'} the goal of at most {GOAL:.0f}x"
    )

    if args.imports:
        print("\npackages `kmcomms --help` spends longest importing (their own modules, one run):")
        for name, spent in imported_packages(15):
            print(f"  {spent * 1000:>8.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
