"""Every page of a published site opened in headless Chromium: no console messages, nothing
it asks for missing, the accessibility basics in its DOM, text contrast at least 4.5:1, and
right-to-left pages laid out right to left. Screenshots are kept in
build/test-artefacts/site/ for a person to look at.

How layout is checked without comparing pictures: a test-only copy of each page gets a
script that writes what the browser computed (the body's direction, where the site name
and the first and last navigation links are, the colours of every piece of text) into
the DOM, which `--dump-dom` then returns. The pages themselves run no script.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser import (
    ARTEFACTS,
    PageResult,
    Served,
    open_page,
    page_problems,
    require_chromium,
    serve_folder,
)
from site_fixtures import SiteCase, make_site_case

from kmcomms.channels.site.entry import Entry

SHOTS = ARTEFACTS / "site"

PROBE = """<script>
(function () {
  function box(el) { if (!el) return null; var r = el.getBoundingClientRect(); return [r.left, r.right]; }
  function background(el) {
    for (; el; el = el.parentElement) {
      var c = getComputedStyle(el).backgroundColor;
      if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  }
  var links = document.querySelectorAll(".km-header nav a"), text = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var own = [].some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (own && el.getClientRects().length && el.tagName !== "SCRIPT")
      text.push([el.tagName, getComputedStyle(el).color, background(el), el.textContent.trim().slice(0, 30)]);
  });
  var out = document.createElement("pre");
  out.id = "km-probe";
  out.textContent = JSON.stringify({
    direction: getComputedStyle(document.body).direction, width: document.documentElement.clientWidth,
    site: box(document.querySelector(".km-site a")), first: box(links[0]), last: box(links[links.length - 1]),
    text: text});
  document.body.appendChild(out);
})();
</script>"""


#: Right-to-left languages of the site below.
RTL = ("ur", "ar", "yi")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SiteCase:
    """A site with posts and videos in English, Urdu and Arabic, published through the
    adapters, and a post in Yiddish (Hebrew script) added to the site as it is."""
    require_chromium()
    case = make_site_case(tmp_path_factory.mktemp("browser") / "unit")
    for delivery, draft in case.drafts:
        case.channels[delivery.channel].publish(draft, delivery.id)
    title = "קלינִיקן אין די שולן"
    case.channels["blog"].site.add(
        Entry(
            section="posts",
            key="yiddish",
            language="yi",
            direction="rtl",
            slug="clinics",
            title=title,
            summary="",
            html=f'<article lang="yi" dir="rtl"><h1>{title}</h1><p>די קלינִיקן זײַנען אָפֿן.</p></article>',
            published=datetime(2027, 2, 1, tzinfo=UTC),
            acknowledgement="",
        )
    )
    return case


def pages(site: Path) -> list[str]:
    found = sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if not p.name.endswith(".probe.html"))
    assert len(found) >= 18, (
        found
    )  # the home page, 3 × (index, video library), 6 posts, 3 videos (en shared by two audiences), yi: index and post
    return found


def shot(path: str) -> Path:
    return SHOTS / (path.replace("/", "_").removesuffix(".html") + ".png")


def test_a_broken_page_is_caught(tmp_path: Path) -> None:
    """The checks below can fail: a script error and bad markup are reported."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><h1>One</h1><h3>Skipped</h3><h1>Two</h1><img src="x.png">'
        '<script>console.error("deliberately broken")</script></body></html>',
        encoding="utf-8",
    )
    with serve_folder(tmp_path) as served:
        result = open_page(served.url("broken.html"))
    assert result.console_errors == [f"deliberately broken ({served.url('broken.html')}:1)"]
    assert "<h1>One</h1>" in result.dom
    assert ("x.png", 404) in [(path.lstrip("/"), status) for path, status in served.failures()]
    assert page_problems(result.dom) == [
        "<html> has no lang",
        "<html> has no dir",
        'no <meta name="viewport">',
        "2 <h1> elements, not one",
        "heading level skipped: h1 then h3",
        "no <header> landmark",
        "no <nav> landmark",
        "no <main> landmark",
        "no <footer> landmark",
        'no <main id="content">',
        "the first link is not a skip link to #content",
        "<img src='x.png'> has no alt attribute",
    ]


def test_every_page_renders_cleanly(built: SiteCase) -> None:
    problems: dict[str, list[str]] = {}
    with serve_folder(built.site) as served:
        for path in pages(built.site):
            result = open_page(served.url(path), screenshot=shot(path))
            found = [f"console: {message}" for message in result.console_errors] + page_problems(result.dom)
            rtl = path.split("/")[0] in RTL
            if not re.search(rf'<html lang="[a-z]+" dir="{"rtl" if rtl else "ltr"}">', result.dom):
                found.append("the DOM's <html> has the wrong dir")
            if found:
                problems[path] = found
            assert shot(path).stat().st_size > 0
        assert served.failures() == [], "files the pages asked for are missing"
        assert any(p.endswith("assets/site.css") and status == 200 for p, status in served.responses)
    assert problems == {}


def _probe(served: Served, site: Path, path: str) -> dict:
    """Open a copy of the page at `path` with the probe script in it; what the script saw."""
    copy = site / path.replace(".html", ".probe.html")
    copy.write_text((site / path).read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        result: PageResult = open_page(served.url(str(copy.relative_to(site))))
    finally:
        copy.unlink()
    assert result.console_errors == [], result.console_errors
    match = re.search(r'<pre id="km-probe">(.*?)</pre>', result.dom, re.DOTALL)
    assert match, result.dom[-500:]
    return json.loads(html.unescape(match[1]))


def _luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two CSS rgb() colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula() -> None:
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 2) == 21.0
    assert round(contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)"), 2) == 4.54  # the classic AA grey


def test_pages_lay_out_in_their_direction_with_readable_text(built: SiteCase) -> None:
    problems: dict[str, list[str]] = {}
    with serve_folder(built.site) as served:
        for path in pages(built.site):
            seen = _probe(served, built.site, path)
            found = []
            rtl = path.split("/")[0] in RTL
            if seen["direction"] != ("rtl" if rtl else "ltr"):
                found.append(f"computed direction {seen['direction']}")
            left, right = seen["site"]
            start_gap, end_gap = (seen["width"] - right, left) if rtl else (left, seen["width"] - right)
            if not start_gap < end_gap:
                found.append(
                    f"the site name is not at the {'right' if rtl else 'left'}: {seen['site']} of {seen['width']}"
                )
            if seen["first"] and seen["last"] != seen["first"] and (seen["first"][0] > seen["last"][0]) != rtl:
                found.append(f"navigation runs the wrong way: first {seen['first']}, last {seen['last']}")
            found += [
                f"contrast {contrast(fg, bg):.2f} for {tag} {text!r}"
                for tag, fg, bg, text in seen["text"]
                if contrast(fg, bg) < 4.5
            ]
            if found:
                problems[path] = found
    assert problems == {}


def test_a_local_video_is_served_from_the_site(tmp_path: Path) -> None:
    require_chromium()
    case = make_site_case(
        tmp_path / "unit", video="      file: films/launch.mp4", files={"films/launch.mp4": b"\x00" * 2048}
    )
    [(delivery, draft)] = case.on("video", "ur")
    url = case.channels["video"].publish(draft, delivery.id).url
    path = url.split("/", 3)[3]
    with serve_folder(case.site) as served:
        result = open_page(served.url(path), screenshot=SHOTS / "ur_local_video.png")
        assert served.failures() == []
    assert result.console_errors == [] and page_problems(result.dom) == []
    assert '<video controls="" preload="metadata" src="hpv-films-launch.mp4">' in result.dom
