"""Every kind of file kmcomms writes for people, made as a new user makes them and checked by
the tools the world uses (tests/validators.py).

The repository's example campaigns (three campaigns in eight languages, left to right and
right to left, in 2027) are copied into a workspace whose mail goes to an SMTP server on
loopback. Then, as a person would, at a `--now` after the campaigns: contacts imported, translations
updated, `kmcomms publish --due` (the static site with posts, videos and briefings; newsletters and
briefings mailed), reach and evidence recorded, `kmcomms preview --out`, `kmcomms report
--format html` for each campaign and the unit, `kmcomms plan --format ics`, and the
tracking server's unsubscribe pages fetched from a mail's own unsubscribe link.

Every HTML file passes the W3C Nu HTML checker with no errors (one run of the checker for
all of them); the pages a person opens pass axe-core's WCAG 2.x A and AA rules in Chromium;
feeds go through feedparser, the calendar through icalendar, every translation catalog
through `msgfmt -c`, the briefing PDFs through pdfinfo.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from browser import serve_folder
from conftest import run_cli
from smtp_inbox import Inbox, start
from validators import axe_checker, feed_problems, ics_problems, msgfmt_problems, nu_errors, pdf_info

from kmcomms.daemon.demo import free_port, write_contacts
from kmcomms.publish.runtime import open_runtime
from kmcomms.reach.tracking import start_for

REPO = Path(__file__).resolve().parents[2]
#: After the last delivery of the example campaigns (June 2027): everything due is published.
NOW = "2027-07-01T09:00Z"
CAMPAIGNS = ("hpv-conversations", "mmr-charedi-community", "policy-briefing-uptake")

REACH = """\
campaign,message,audience,language,channel,metric,value,date,note
hpv-conversations,launch,parents,en,blog,views,3400,2027-01-20,
hpv-conversations,launch,parents,ur,video,views,1200,2027-01-20,
hpv-conversations,launch,parents,ar,video,views,800,2027-02-03,
hpv-conversations,,parents,,,consent-forms,120,2027-03-01,school returns
mmr-charedi-community,leaflet-extra-clinics,families,yi,print,leaflets,2500,2027-02-15,handed out at clinics
mmr-charedi-community,leaflet-extra-clinics,families,en,print,leaflets,600,2027-02-15,
policy-briefing-uptake,,commissioners,,,meetings,3,2027-04-01,
"""


@dataclass
class Outputs:
    """The workspace at `root` after a season of use, and what it wrote, by kind."""

    root: Path
    html: dict[str, list[Path]] = field(default_factory=dict)
    #: Pages to open in a browser, by kind: (the folder to serve, pages in it).
    pages: dict[str, tuple[Path, list[Path]]] = field(default_factory=dict)
    calendar: str = ""
    deliveries: int = 0


def cli(*args: str | Path) -> str:
    code, out, err = run_cli("--now", NOW, *args)
    assert code == 0, f"kmcomms {' '.join(map(str, args))} exited with {code}:\n{out}{err}"
    return out


def copy_examples(root: Path, smtp_port: int, tracking_port: int) -> None:
    """The repository's workspace, with mail to `smtp_port` and tracking on `tracking_port`,
    and channels that publish what is overdue (this test publishes the season in one pass)."""
    for folder in ("campaigns", "translations"):
        shutil.copytree(REPO / folder, root / folder)
    settings = (REPO / "kmcomms.toml").read_text(encoding="utf-8")
    settings = settings.replace("port = 8025", f"port = {smtp_port}").replace(
        "http://127.0.0.1:8750", f"http://127.0.0.1:{tracking_port}"
    )
    settings = re.sub(r"^(adapter = .*)$", r"\1\ngrace_minutes = 1000000", settings, flags=re.MULTILINE)
    (root / "kmcomms.toml").write_text(settings, encoding="utf-8")


def mail_bodies(inbox: Inbox, folder: Path) -> dict[str, list[Path]]:
    """Each message's HTML part written to `folder`, by kind: "newsletter emails" and
    "briefing emails" (the briefing's list)."""
    found: dict[str, list[Path]] = {"newsletter emails": [], "briefing emails": []}
    folder.mkdir()
    for number, received in enumerate(inbox.received):
        message = received.message
        body = message.get_body(preferencelist=("html",))
        assert body is not None, f"message {number} to {received.recipients} has no HTML part"
        kind = "briefing emails" if "policy-leads" in message["List-Id"] else "newsletter emails"
        path = folder / f"{number:03d}-{received.recipients[0]}.html"
        path.write_text(body.get_content(), encoding="utf-8")
        found[kind].append(path)
    assert all(found.values()), {kind: len(paths) for kind, paths in found.items()}
    return found


def tracking_pages(root: Path, inbox: Inbox, folder: Path) -> list[Path]:
    """The pages a reader meets from a newsletter's unsubscribe link: the page asking them
    to confirm, and the one after they did (served by the tracking server kmcomms runs)."""
    address = inbox.received[0].message["List-Unsubscribe"].strip("<>")
    clock = lambda: datetime.fromisoformat(NOW)  # noqa: E731 - the moment of the whole test
    runtime = open_runtime(root, clock=clock)
    server = start_for(runtime, clock)
    assert server is not None
    try:
        pages = [folder / "unsubscribe.html", folder / "unsubscribed.html"]
        with urllib.request.urlopen(address, timeout=10) as asked:
            pages[0].write_bytes(asked.read())
        request = urllib.request.Request(address, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(request, timeout=10) as done:
            pages[1].write_bytes(done.read())
    finally:
        server.shutdown()
        runtime.close()
    return pages


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    base = tmp_path_factory.mktemp("outputs")
    root = base / "unit"
    root.mkdir()
    inbox = Inbox()
    controller = start(inbox)
    try:
        copy_examples(root, inbox.port, free_port())
        for contact_list, path in write_contacts(root, date(2027, 1, 1)).items():
            cli("contacts", "import", path, "--list", contact_list, "-w", root)
        cli("translations", "update", root)
        cli("publish", "--due", "-w", root)
    finally:
        controller.stop()
    (base / "reach.csv").write_text(REACH, encoding="utf-8")
    cli("reach", "import", base / "reach.csv", "-w", root)
    cli(
        "evidence",
        "add",
        "--campaign",
        "policy-briefing-uptake",
        "--kind",
        "policy-citation",
        "--title",
        "Local vaccination strategy 2027",
        "--date",
        "2027-05-10",
        "-w",
        root,
    )

    found = Outputs(root)
    site = root / "site"
    found.html["site"] = sorted(site.rglob("*.html"))
    for campaign in CAMPAIGNS:
        cli("preview", root / "campaigns" / campaign, "--out", base / "preview" / campaign)
    found.html["previews"] = sorted((base / "preview").rglob("*.html"))
    reports = base / "reports"
    reports.mkdir()
    for campaign in CAMPAIGNS:
        cli("report", campaign, "--format", "html", "-o", reports / f"{campaign}.html", "-w", root)
    found.html["campaign reports"] = [reports / f"{campaign}.html" for campaign in CAMPAIGNS]
    cli("report", "--unit", "--format", "html", "-o", reports / "unit.html", "-w", root)
    found.html["unit report"] = [reports / "unit.html"]
    found.html |= mail_bodies(inbox, base / "mail")
    found.html["tracking pages"] = tracking_pages(root, inbox, base)
    found.calendar = cli("plan", root, "--all", "--format", "ics")
    found.deliveries = len(json.loads(cli("plan", root, "--all", "--format", "json")))

    found.pages = {
        "site": (site, one_per_shape(found.html["site"], site_shape)),
        "previews": (base / "preview", one_per_shape(found.html["previews"], preview_shape)),
        "campaign reports": (reports, found.html["campaign reports"]),
        "unit report": (reports, found.html["unit report"]),
        "tracking pages": (base, found.html["tracking pages"]),
    }
    yield found


def one_per_shape(pages: list[Path], shape: Callable[[Path], Hashable]) -> list[Path]:
    """The first of `pages` of each shape. The browser checks pages that differ in their
    template, direction or state, not in their words: every page is checked by the Nu
    checker, and a browser takes a second a page."""
    chosen: dict[Hashable, Path] = {}
    for page in pages:
        chosen.setdefault(shape(page), page)
    return list(chosen.values())


def _rtl(page: Path) -> bool:
    return re.search(r'<html[^>]* dir="rtl"', page.read_text(encoding="utf-8")) is not None


def site_shape(page: Path) -> Hashable:
    """A site page's place ("posts", "videos", "briefings"), whether it is the list of
    its section, and its direction."""
    parts = page.parts[page.parts.index("site") + 1 :]
    return len(parts), parts[1] if len(parts) > 2 else "posts", parts[-1] == "index.html", _rtl(page)


def preview_shape(page: Path) -> Hashable:
    """How a preview page shows its delivery (the list of them all; blocked; an email or
    a briefing in a frame; a post's article; the fields of a video or social post) and
    its direction."""
    text = page.read_text(encoding="utf-8")
    framed = re.search(r'<iframe [^>]*title="The (\w+) as sent"', text)
    if page.name == "index.html":
        return "index", False
    if "km-blocked" in text:
        return "blocked", False
    return framed[1] if framed else "article" if "<article" in text else "fields", _rtl(page)


@pytest.fixture(scope="module")
def nu_report(outputs: Outputs) -> dict[str, list[str]]:
    """The Nu checker's errors by kind of output, from one run over every HTML file."""
    errors = nu_errors([path for paths in outputs.html.values() for path in paths])
    by_path = {str(path): kind for kind, paths in outputs.html.items() for path in paths}
    report: dict[str, list[str]] = {kind: [] for kind in outputs.html}
    for error in errors:
        found = next((kind for path, kind in by_path.items() if error.startswith(path + ":")), None)
        for kind in [found] if found else report:  # an error of no file given counts against every kind
            report[kind].append(error)
    return report


@pytest.fixture(scope="module")
def axe(outputs: Outputs) -> Iterator[Callable[[str], list[str]]]:
    with axe_checker() as check:
        yield check


HTML_KINDS = (
    "site",
    "previews",
    "campaign reports",
    "unit report",
    "newsletter emails",
    "briefing emails",
    "tracking pages",
)
PAGE_KINDS = ("site", "previews", "campaign reports", "unit report", "tracking pages")


def test_every_kind_of_html_is_made(outputs: Outputs) -> None:
    assert set(outputs.html) == set(HTML_KINDS)
    site = {str(p.relative_to(outputs.root / "site")) for p in outputs.html["site"]}
    assert {
        "index.html",
        "en/index.html",
        "ur/launch.html",
        "ar/launch.html",
        "ar/videos/index.html",
        "en/briefings/commissioner-brief.html",
    } <= site, sorted(site)


@pytest.mark.parametrize("kind", HTML_KINDS)
def test_html_passes_the_nu_checker(nu_report: dict[str, list[str]], kind: str) -> None:
    assert nu_report[kind] == []


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_pages_pass_axe(outputs: Outputs, axe: Callable[[str], list[str]], kind: str) -> None:
    folder, pages = outputs.pages[kind]
    with serve_folder(folder) as served:
        found = [line for page in pages for line in axe(served.url(str(page.relative_to(folder))))]
    # Pages name no icon, so the browser asks for /favicon.ico: that is not the page's.
    assert [failure for failure in served.failures() if failure[0] != "/favicon.ico"] == []
    assert found == []


def test_feeds_read_in_feedparser(outputs: Outputs) -> None:
    feeds = sorted((outputs.root / "site").rglob("feed.xml"))
    assert len(feeds) >= 4
    assert [problem for feed in feeds for problem in feed_problems(feed)] == []


def test_the_plan_reads_as_a_calendar(outputs: Outputs) -> None:
    assert ics_problems(outputs.calendar) == []
    assert outputs.calendar.count("BEGIN:VEVENT") == outputs.deliveries > 0


def _translated(po: Path) -> bool:
    with po.open("rb") as handle:
        return any(message.id and message.string for message in read_po(handle))


def test_every_translation_catalog_passes_msgfmt(outputs: Outputs) -> None:
    shipped = sorted((REPO / "kmcomms" / "locale").glob("*/LC_MESSAGES/*.po"))
    workspace = sorted((outputs.root / "translations").glob("*/LC_MESSAGES/*.po"))
    assert len(shipped) >= 7 and len(workspace) >= 7
    problems = [
        line
        for po in shipped + workspace
        for line in msgfmt_problems(po)
        # A catalog nobody has translated yet keeps the header `translations update`
        # gives a new one (as `pybabel init` does) until a translator's editor fills it.
        if _translated(po) or "still has the initial default value" not in line
    ]
    assert problems == []


def test_briefing_pdfs_are_tagged(outputs: Outputs) -> None:
    pdfs = sorted((outputs.root / "site").rglob("*.pdf"))
    assert len(pdfs) == 2
    info = {pdf.name: pdf_info(pdf) for pdf in pdfs}
    assert all(int(found["Pages"]) >= 1 for found in info.values()), info
    assert {name: found["Tagged"] for name, found in info.items()} == dict.fromkeys(info, "yes")
