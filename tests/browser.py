"""Pages in a real browser, for tests: headless Chromium (Debian package `chromium`).

    chromium = require_chromium()                  # skips, or fails under KMCOMMS_REQUIRE_BROWSER=1
    with serve_folder(site) as served:             # a local HTTP server that logs every response
        page = open_page(served.url("en/index.html"), screenshot=ARTEFACTS / "en.png")
    assert page.console_errors == []
    assert page_problems(page.dom) == []
    assert served.failures() == []                 # nothing the page asked for was missing

Console messages: Chromium started with `--enable-logging=stderr --v=0` prints each one on
stderr as `[…:INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)`, without its level
(error or log). Pages checked here run no script of their own, so any message at all (a
script error, a policy violation) counts. Missing files are not console messages in
Chromium's log: serve the page with `serve_folder` and check `failures()`.

The browser is kept offline: every host name but localhost resolves to nothing, so a test
never depends on the internet (an embedded YouTube player simply stays empty).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

__all__ = ["OFFLINE", "PageResult", "Served", "open_page", "page_problems", "require_chromium", "serve_folder"]

ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artefacts"

#: The switch that keeps Chromium offline: every host name but the loopback resolves to nothing.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"

_CONSOLE = re.compile(r':CONSOLE(?::\d+|\(\d+\))\] "(?P<message>.*)", source: (?P<source>\S*) \((?P<line>\d+)\)')


def require_chromium() -> str:
    """The path of Chromium; without it the test is skipped, or fails when the environment
    says a browser must be there (KMCOMMS_REQUIRE_BROWSER=1, as in CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("KMCOMMS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass(frozen=True)
class PageResult:
    """What the browser made of a page: its DOM after loading (serialised), and every
    console message it printed, as "message (source:line)"."""

    console_errors: list[str]
    dom: str


def open_page(
    url_or_path: str | Path, screenshot: Path | None = None, *, width: int = 1280, height: int = 900
) -> PageResult:
    """Load a page (a URL, or a file) in headless Chromium with a fresh profile; save a
    PNG of the window to `screenshot` when given."""
    chromium = require_chromium()
    url = url_or_path.resolve().as_uri() if isinstance(url_or_path, Path) else url_or_path
    with tempfile.TemporaryDirectory(prefix="km-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            OFFLINE,
            f"--window-size={width},{height}",
            "--dump-dom",
        ]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            command.append(f"--screenshot={screenshot}")
        # The timeout only stops a hung browser from hanging the suite; nothing is timed.
        done = subprocess.run([*command, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium exited with {done.returncode} on {url}:\n{done.stderr[-2000:]}"
    messages = [f"{m['message']} ({m['source']}:{m['line']})" for m in _CONSOLE.finditer(done.stderr)]
    return PageResult(console_errors=messages, dom=done.stdout)


@dataclass
class Served:
    """A folder served over HTTP on 127.0.0.1; `responses` logs (path, status) of every request."""

    base: str
    responses: list[tuple[str, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def failures(self) -> list[tuple[str, int]]:
        """Requests answered with an error (a missing stylesheet, image or video)."""
        return [(path, status) for path, status in self.responses if status >= 400]


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[Served]:
    """Serve `folder` on a free port for the duration of the block."""
    served = Served("")

    class Handler(SimpleHTTPRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            served.responses.append((self.path, int(code)))

        def log_message(self, format: str, *args: object) -> None:  # the base class names it so
            pass  # test output stays readable; responses are kept above

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Outline(HTMLParser):
    """The parts of a page the accessibility basics are about."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_attrs: dict[str, str | None] = {}
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_attrs = values
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self.tags.append((tag, values))


def page_problems(dom: str, landmarks: tuple[str, ...] = ("header", "nav", "main", "footer")) -> list[str]:
    """WCAG basics a page's markup shows, as problems in words (empty: none found): `lang`
    and `dir` on `<html>`, a viewport, one `<h1>` and no skipped heading level, the
    `landmarks`, a skip link first to `<main id="content">`, alt text on every image and a
    title on every frame."""
    outline = _Outline()
    outline.feed(dom)
    outline.close()
    problems = [f"<html> has no {name}" for name in ("lang", "dir") if not outline.html_attrs.get(name)]
    tags = outline.tags
    if not any(tag == "meta" and attrs.get("name") == "viewport" for tag, attrs in tags):
        problems.append('no <meta name="viewport">')
    if outline.headings.count(1) != 1:
        problems.append(f"{outline.headings.count(1)} <h1> elements, not one")
    for before, after in zip(outline.headings, outline.headings[1:], strict=False):
        if after > before + 1:
            problems.append(f"heading level skipped: h{before} then h{after}")
    present = {tag for tag, _ in tags}
    problems += [f"no <{name}> landmark" for name in landmarks if name not in present]
    if not any(tag == "main" and attrs.get("id") == "content" for tag, attrs in tags):
        problems.append('no <main id="content">')
    links = [attrs for tag, attrs in tags if tag == "a"]
    if not links or links[0].get("href") != "#content":
        problems.append("the first link is not a skip link to #content")
    problems += [
        f"<img src={attrs.get('src')!r}> has no alt attribute"
        for tag, attrs in tags
        if tag == "img" and "alt" not in attrs
    ]
    problems += [
        f"<iframe src={attrs.get('src')!r}> has no title"
        for tag, attrs in tags
        if tag == "iframe" and not attrs.get("title")
    ]
    return problems
