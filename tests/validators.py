"""kmcomms's outputs checked by the tools the world uses, for tests.

    assert nu_errors(site.rglob("*.html")) == []          # W3C Nu HTML checker, one JVM for all
    assert nu_errors_in({"mail to ur": body}) == []       # HTML held in a string (an email body)
    with axe_checker() as check:                          # Debian's Chromium through Playwright
        assert check(url) == []                           # axe-core, WCAG 2.x A and AA rules
    assert feed_problems(site / "en" / "feed.xml") == []  # feedparser
    assert ics_problems(calendar_text) == []              # icalendar
    assert msgfmt_problems(po) == []                      # GNU msgfmt -c
    assert pdf_info(pdf)["Tagged"] == "yes"               # poppler's pdfinfo

Each checker gives problems as lines of text (empty: none), so a failing test shows them.

Where the tools come from: the Nu checker (`vnu-jar`) and axe-core are npm packages pinned in
tests/package.json and tests/package-lock.json (`npm ci --prefix tests --ignore-scripts`:
the scripts would only fetch a Java runtime from the internet, and the machine's Java is
used), Java, `msgfmt` (gettext) and `pdfinfo` (poppler-utils) are Debian packages,
Chromium is Debian's, driven by Playwright for Python (the `test` extra) at its own path:
no browser is ever downloaded. A missing tool skips the test, or fails it where the
environment says every validator must be there (KMCOMMS_REQUIRE_VALIDATORS=1, as `.ci/run`
sets; Chromium follows KMCOMMS_REQUIRE_BROWSER, as in tests/browser.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

import feedparser
import icalendar
import pytest
from browser import OFFLINE, require_chromium
from playwright.sync_api import Browser, Page, sync_playwright

__all__ = [
    "WCAG_AA",
    "axe_checker",
    "axe_violations",
    "chromium",
    "feed_problems",
    "ics_problems",
    "msgfmt_problems",
    "nu_errors",
    "nu_errors_in",
    "pdf_info",
]

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
_NPM = "npm ci --prefix tests --ignore-scripts"

#: axe-core's tags for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

#: A quiet, offline browser: no sandbox (CI runs as root), no GPU, no updates or sync, and
#: every host name but the loopback resolving to nothing, so no test needs the internet.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    OFFLINE,
)


def _missing(reason: str) -> NoReturn:
    if os.environ.get("KMCOMMS_REQUIRE_VALIDATORS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _command(name: str, package: str) -> str:
    """The path of the program `name`, else a skip (or a failure under CI)."""
    found = shutil.which(name)
    if found is None:
        _missing(f"`{name}` is not installed (Debian: apt-get install {package})")
    return found


def _npm_file(path: Path) -> Path:
    if not path.is_file():
        _missing(f"{path} is missing: run `{_NPM}` in the repository")
    return path


# ---------------------------------------------------------------------------- W3C Nu HTML checker


def nu_errors(paths: Iterable[Path]) -> list[str]:
    """Every error the Nu HTML checker finds in the HTML files `paths`, as
    "file:line:column: message", in one run of the checker (one start of Java, a few
    seconds, whatever the number of files)."""
    return _nu({str(Path(p).resolve()): str(p) for p in paths})


def nu_errors_in(documents: Mapping[str, str]) -> list[str]:
    """`nu_errors` for HTML held in strings (email bodies): {name: HTML}; each error is
    named "name:line:column: message"."""
    with tempfile.TemporaryDirectory(prefix="km-nu-") as folder:
        names = {}
        for number, (name, text) in enumerate(documents.items()):
            path = Path(folder, f"{number}.html")
            path.write_text(text, encoding="utf-8")
            names[str(path)] = name
        return _nu(names)


def _nu(files: Mapping[str, str]) -> list[str]:
    """The Nu checker over {absolute path: name for people}."""
    assert files, "no HTML to check"
    java = _command("java", "default-jre-headless")
    # A run is short: the quick compiler alone starts it in half the time (and needs the
    # larger stack the checker asks for).
    command = [
        java,
        "-Xss2m",
        "-XX:TieredStopAtLevel=1",
        "-jar",
        str(_npm_file(VNU_JAR)),
        "--errors-only",
        "--format",
        "json",
        "--stdout",
        *files,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        messages = json.loads(done.stdout)["messages"]
    except (json.JSONDecodeError, KeyError):
        raise AssertionError(
            f"the Nu checker gave no report (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        ) from None
    errors = []
    for message in messages:
        if message.get("type") == "info":  # warnings: --errors-only leaves none, but never count one
            continue
        url = message.get("url", "")
        where = files.get(unquote(urlsplit(url).path), url)
        line, column = message.get("lastLine", message.get("firstLine", 0)), message.get("firstColumn", 0)
        errors.append(f"{where}:{line}:{column}: {message.get('message', message)}")
    return errors


# ---------------------------------------------------------------------------- axe-core in Chromium


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless and offline, started once for the pages of a test
    through Playwright (`executable_path`: Playwright's own browsers are never used)."""
    path = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


#: Whether the frame at a selector shows this page's own content (srcdoc, or its origin).
_OWN_FRAME = """selector => {
  const frame = document.querySelector(selector);
  return !frame.getAttribute("src") || new URL(frame.src, location.href).origin === location.origin;
}"""


@functools.cache
def _axe_source() -> str:
    return _npm_file(AXE_JS).read_text(encoding="utf-8")


@contextlib.contextmanager
def axe_checker(tags: Iterable[str] = WCAG_AA) -> Iterator[Callable[[str | Path], list[str]]]:
    """`check(url)` for many pages in one browser tab (twice as fast as a tab each): what
    axe-core finds in the page at `url` (a URL or a file) against the rules of `tags`
    (default: WCAG 2.x A and AA) once loaded, one line per rule and element, "page: rule
    (impact): what is wrong — element", and each frame of its own it could not look into."""
    with chromium() as browser:
        # The pages' Content-Security-Policy forbids scripts; axe is the test's, not the page's.
        page = browser.new_context(bypass_csp=True).new_page()
        yield functools.partial(_axe, page, list(tags))


def axe_violations(url: str | Path, *, tags: Iterable[str] = WCAG_AA) -> list[str]:
    """`axe_checker`'s check of one page, in a browser of its own."""
    with axe_checker(tags) as check:
        return check(url)


def _axe(page: Page, tags: list[str], url: str | Path) -> list[str]:
    address = url.resolve().as_uri() if isinstance(url, Path) else url
    response = page.goto(address, wait_until="load")
    assert response is None or response.ok, f"{address}: HTTP {response.status}"
    source = _axe_source()
    for frame in page.frames:  # axe checks inside frames only where it runs too
        frame.evaluate(source)
    # frame-tested (not a WCAG rule) tells of a frame axe could not look into. Those of
    # other sites (an embedded player) are theirs; any other must be checked.
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " rules: {'frame-tested': {enabled: true}}, resultTypes: ['violations']})",
        tags,
    )
    unchecked = [
        f"{url}: axe could not look into a frame (one in a file cannot be: serve the page over HTTP) — "
        f"{' '.join(map(str, node['target']))}"
        for rule in result["incomplete"]
        if rule["id"] == "frame-tested"
        for node in rule["nodes"]
        if page.evaluate(_OWN_FRAME, node["target"][0])
    ]
    return unchecked + [
        f"{url}: {rule['id']} ({rule['impact']}): {rule['help']} — {' '.join(map(str, node['target']))}"
        for rule in result["violations"]
        for node in rule["nodes"]
    ]


# ---------------------------------------------------------------------------- feeds, calendars, catalogs, PDFs


def feed_problems(path: Path) -> list[str]:
    """What feedparser finds wrong with the feed at `path`: not well-formed, no language,
    no entries, an entry without a title, id or absolute web link."""
    parsed = feedparser.parse(str(path))
    problems = [f"{path}: not a well-formed feed: {parsed.get('bozo_exception')}"] if parsed.bozo else []
    if not parsed.feed.get("language"):
        problems.append(f"{path}: the feed names no language (xml:lang)")
    if not parsed.entries:
        problems.append(f"{path}: no entries")
    for number, entry in enumerate(parsed.entries, 1):
        problems += [f"{path}: entry {number} has no {key}" for key in ("title", "id") if not entry.get(key)]
        if urlsplit(entry.get("link", "")).scheme not in ("http", "https"):
            problems.append(f"{path}: entry {number} links to {entry.get('link')!r}, not a web address")
    return problems


def ics_problems(text: str) -> list[str]:
    """What the icalendar parser finds wrong with an iCalendar text: a line it cannot read,
    a calendar without VERSION or PRODID, no events, an event without UID, DTSTAMP,
    DTSTART or SUMMARY."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        return [f"not an iCalendar text: {exc}"]
    problems = [f"{component.name}: cannot read {error}" for component in calendar.walk() for error in component.errors]
    problems += [f"VCALENDAR has no {key}" for key in ("VERSION", "PRODID") if key not in calendar]
    events = calendar.walk("VEVENT")
    if not events:
        problems.append("no events")
    problems += [
        f"event {event.get('UID', number)} has no {key}"
        for number, event in enumerate(events, 1)
        for key in ("UID", "DTSTAMP", "DTSTART", "SUMMARY")
        if key not in event
    ]
    return problems


def msgfmt_problems(po: Path) -> list[str]:
    """What GNU `msgfmt -c` (format strings, header, plural forms) says is wrong with a
    `.po` file, one line each; nothing is written."""
    msgfmt = _command("msgfmt", "gettext")
    done = subprocess.run(
        [msgfmt, "-c", "-o", os.devnull, str(po)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0 and not problems:
        problems.append(f"{po}: msgfmt exited with {done.returncode}")
    return problems


def pdf_info(path: Path) -> dict[str, str]:
    """What poppler's `pdfinfo` says of a PDF: {"Pages": "2", "Tagged": "yes", "Title": …}."""
    pdfinfo = _command("pdfinfo", "poppler-utils")
    done = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"pdfinfo cannot read {path}: {done.stderr.strip()}"
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in done.stdout.splitlines())}
