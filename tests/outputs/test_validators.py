"""The validators of tests/validators.py can fail: each is given a known-bad input and must
reject it, and the same kind of input made right must pass."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from browser import serve_folder
from validators import (
    axe_checker,
    axe_violations,
    feed_problems,
    ics_problems,
    msgfmt_problems,
    nu_errors,
    nu_errors_in,
    pdf_info,
)
from weasyprint import HTML

GOOD_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Good</title></head>
<body><main><h1>Good</h1><p>Readable text.</p><img src="data:," alt="A dot"></main></body></html>
"""

# A <div> inside a <p> ends the paragraph, so the </p> closes nothing; an image without
# alt text; grey on white at 1.6:1; a page with no language.
BAD_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Bad</h1>
<p><div>A block in a paragraph.</div></p>
<img src="data:,">
<p style="color: #ccc; background: #fff">Faint text.</p>
</main></body></html>
"""


def test_nu_checker_reports_each_error_with_its_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    (tmp_path / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    errors = nu_errors([tmp_path / "good.html", tmp_path / "bad.html"])
    assert any(e.startswith(f"{tmp_path / 'bad.html'}:4:") and "“p” end tag" in e for e in errors), errors
    assert any(e.startswith(f"{tmp_path / 'bad.html'}:5:") and "“alt”" in e for e in errors), errors
    assert not any("good.html" in e for e in errors)


def test_a_missing_validator_skips_the_test_but_fails_it_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("validators.VNU_JAR", tmp_path / "node_modules" / "vnu.jar")
    monkeypatch.delenv("KMCOMMS_REQUIRE_VALIDATORS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm ci --prefix tests"):
        nu_errors_in({"page": GOOD_PAGE})
    monkeypatch.setenv("KMCOMMS_REQUIRE_VALIDATORS", "1")
    with pytest.raises(pytest.fail.Exception, match="npm ci --prefix tests"):
        nu_errors_in({"page": GOOD_PAGE})


def test_nu_checker_names_html_given_as_text() -> None:
    errors = nu_errors_in({"mail to parents": BAD_PAGE, "mail to nurses": GOOD_PAGE})
    assert errors and all(e.startswith("mail to parents:") for e in errors), errors


def test_axe_finds_missing_alt_text_low_contrast_and_no_language(tmp_path: Path) -> None:
    (tmp_path / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    (tmp_path / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    with axe_checker() as check:
        bad = check(tmp_path / "bad.html")
        good = check(tmp_path / "good.html")
    rules = {line.split(": ")[1].split(" ")[0] for line in bad}
    assert {"image-alt", "color-contrast", "html-has-lang"} <= rules, bad
    assert good == []


def test_axe_looks_inside_frames(tmp_path: Path) -> None:
    framed = GOOD_PAGE.replace(
        "</main>", f'<iframe title="The email" srcdoc="{html.escape(BAD_PAGE)}"></iframe></main>'
    )
    (tmp_path / "framed.html").write_text(framed, encoding="utf-8")
    with axe_checker() as check, serve_folder(tmp_path) as served:
        found = check(served.url("framed.html"))
        # Opened as a file, the frame is another origin: axe says it could not look in.
        unchecked = check(tmp_path / "framed.html")
    assert any("image-alt" in line and "iframe" in line for line in found), found
    assert any("could not look into a frame" in line for line in unchecked), unchecked


def test_axe_finds_a_page_without_a_main_landmark_when_asked(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(GOOD_PAGE.replace("main>", "div>"), encoding="utf-8")
    found = axe_violations(tmp_path / "page.html", tags=["best-practice"])
    assert any("landmark-one-main" in line for line in found), found


GOOD_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ur">
  <id>https://unit.example.org/ur/feed.xml</id><title>Unit</title><updated>2027-01-11T09:00:00Z</updated>
  <entry><id>tag:unit.example.org,2027:1</id><title>Launch</title><updated>2027-01-11T09:00:00Z</updated>
    <link href="https://unit.example.org/ur/launch.html"/></entry>
</feed>
"""


@pytest.mark.parametrize(
    ("feed", "problem"),
    [
        (GOOD_FEED.replace("</feed>", ""), "not a well-formed feed"),
        (GOOD_FEED.replace(' xml:lang="ur"', ""), "names no language"),
        (GOOD_FEED.replace("https://unit.example.org/ur/launch.html", "launch.html"), "not a web address"),
        (GOOD_FEED.replace("<title>Launch</title>", ""), "entry 1 has no title"),
    ],
)
def test_feedparser_rejects_a_broken_feed(tmp_path: Path, feed: str, problem: str) -> None:
    (tmp_path / "good.xml").write_text(GOOD_FEED, encoding="utf-8")
    (tmp_path / "bad.xml").write_text(feed, encoding="utf-8")
    assert feed_problems(tmp_path / "good.xml") == []
    assert any(problem in line for line in feed_problems(tmp_path / "bad.xml")), feed_problems(tmp_path / "bad.xml")


GOOD_CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:a1b2c3\r\n"
    "DTSTAMP:20270101T000000Z\r\nDTSTART:20270111T090000Z\r\nSUMMARY:Launch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.mark.parametrize(
    ("calendar", "problem"),
    [
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "not an iCalendar text"),
        (GOOD_CALENDAR.replace("PRODID:-//test//EN\r\n", ""), "VCALENDAR has no PRODID"),
        (GOOD_CALENDAR.replace("DTSTART:20270111T090000Z\r\n", ""), "event a1b2c3 has no DTSTART"),
        (GOOD_CALENDAR.replace("20270111T090000Z", "tomorrow"), "cannot read"),
    ],
)
def test_icalendar_rejects_a_broken_calendar(calendar: str, problem: str) -> None:
    assert ics_problems(GOOD_CALENDAR) == []
    assert any(problem in line for line in ics_problems(calendar)), ics_problems(calendar)


GOOD_PO = """msgid ""
msgstr ""
"Project-Id-Version: trial 2027-01-11\\n"
"PO-Revision-Date: 2027-01-04 10:00+0000\\n"
"Last-Translator: A Translator <translator@example.org>\\n"
"Language-Team: French <fr@example.org>\\n"
"Language: fr\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

#, python-brace-format
msgid "{count} messages"
msgstr "{count} messages"
"""


def test_msgfmt_rejects_a_translation_that_loses_a_placeholder(tmp_path: Path) -> None:
    (tmp_path / "good.po").write_text(GOOD_PO, encoding="utf-8")
    (tmp_path / "bad.po").write_text(
        GOOD_PO.replace('msgstr "{count} messages"', 'msgstr "{nombre} messages"'), encoding="utf-8"
    )
    assert msgfmt_problems(tmp_path / "good.po") == []
    problems = msgfmt_problems(tmp_path / "bad.po")
    assert any("bad.po:15" in line for line in problems), problems


def test_pdfinfo_tells_an_untagged_pdf(tmp_path: Path) -> None:
    # WeasyPrint tags a PDF only when asked to (kmcomms asks for PDF/UA-1).
    HTML(string="<p>An untagged page</p>").write_pdf(tmp_path / "plain.pdf")
    info = pdf_info(tmp_path / "plain.pdf")
    assert (info["Pages"], info["Tagged"]) == ("1", "no")
    (tmp_path / "not.pdf").write_text("not a PDF", encoding="utf-8")
    with pytest.raises(AssertionError, match="pdfinfo cannot read"):
        pdf_info(tmp_path / "not.pdf")
