"""The `static-site` adapter and the site it builds: real drafts rendered from a workspace
in English, Urdu and Arabic, published into real files; the Atom feeds and the sitemap
parsed; re-publishing, updating, withdrawing; two processes publishing at once; and
`kmcomms serve` run as a process."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from browser import page_problems
from site_fixtures import (
    ACKNOWLEDGEMENT,
    ACKNOWLEDGEMENT_UR,
    BASE_URL,
    PURPOSE,
    PURPOSE_UR,
    UNIT,
    Reading,
    SiteCase,
    make_site_case,
)

from kmcomms.campaign.load import load_paths
from kmcomms.channels.base import PermanentError, Publication
from kmcomms.channels.site.about import About
from kmcomms.channels.site.entry import Entry, SiteError
from kmcomms.channels.site.site import Site
from kmcomms.channels.static_site import StaticSite
from kmcomms.cli.serve import site_folder
from kmcomms.render.drafts import BlogPost

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
T0 = datetime(2027, 1, 11, 9, tzinfo=UTC)


@pytest.fixture
def case(tmp_path: Path) -> SiteCase:
    return make_site_case(tmp_path / "unit")


def publish_posts(case: SiteCase) -> dict[str, tuple[BlogPost, Publication]]:
    """Publish every blog draft through the adapter; by delivery id."""
    blog = case.channels["blog"]
    published = {}
    for delivery, draft in case.on("blog"):
        assert isinstance(draft, BlogPost)
        published[delivery.id] = (draft, blog.publish(draft, delivery.id))
    return published


def local(case: SiteCase, url: str) -> Path:
    assert url.startswith(BASE_URL + "/"), url
    return case.site / url.removeprefix(BASE_URL + "/")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def html_attrs(page: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert match, page[:200]
    return match[1], match[2]


def list_titles(page: str) -> list[str]:
    """The titles a list page shows, in order (html-escaped as written)."""
    return re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', page)


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def entry(key: str, *, language: str = "en", published: datetime = T0, slug: str = "post", **changes: object) -> Entry:
    fields: dict[str, object] = {
        "section": "posts",
        "key": key,
        "language": language,
        "direction": "rtl" if language in ("ur", "ar") else "ltr",
        "slug": slug,
        "title": f"Title {key}",
        "summary": f"Summary of {key}",
        "html": f"<article><h1>Title {key}</h1></article>",
        "published": published,
        "acknowledgement": "Funded by the NIHR.",
    }
    return Entry(**{**fields, **changes})


# ============================================================================ pages


def test_posts_in_three_languages_become_pages(case: SiteCase) -> None:
    published = publish_posts(case)
    assert len(published) == 6  # launch: en (parents and clinicians share it), ur, ar; clinics: en, ur, ar
    for draft, publication in published.values():
        page = read(local(case, publication.url))
        assert html_attrs(page) == (draft.language, draft.direction)
        assert draft.html in page, "the article is on its page whole"
        assert f"<title>{escaped(draft.title)} · {UNIT}</title>" in page
        footer = page.split('<footer class="km-footer">')[1]
        assert escaped(draft.acknowledgement) not in footer, "the article carries it: said once"
        assert page.count(escaped(draft.acknowledgement)) == 1
        assert page_problems(page) == []
    ur = [draft for draft, _ in published.values() if draft.language == "ur"]
    assert ur and all(d.direction == "rtl" and d.acknowledgement == ACKNOWLEDGEMENT_UR for d in ur)
    assert all(d.acknowledgement == ACKNOWLEDGEMENT for d, _ in published.values() if d.language == "en")
    assert {d.language for d, _ in published.values()} == {"en", "ur", "ar"}


def test_a_message_for_two_audiences_is_one_post_that_reaches_both(case: SiteCase) -> None:
    published = publish_posts(case)
    launch_en = [(d, p.url) for d, p in published.values() if d.language == "en" and d.slug == "launch"]
    assert [(d.audiences, url) for d, url in launch_en] == [(("parents", "clinicians"), f"{BASE_URL}/en/launch.html")]
    assert len(list(case.site.glob("en/launch*.html"))) == 1
    assert len(list_titles(read(case.site / "en" / "index.html"))) == 2
    feed = read(case.site / "en" / "feed.xml")
    assert feed.count("<entry>") == 2


def test_the_chooser_links_each_language_in_its_own_words(case: SiteCase) -> None:
    publish_posts(case)
    home = read(case.site / "index.html")
    assert html_attrs(home) == ("en", "ltr"), "written in the language most entries are in (on a tie, the campaigns')"
    links = re.findall(r'<a href="([^"]+)" hreflang="([^"]+)" lang="([^"]+)" dir="([^"]+)">([^<]+)</a>', home)
    assert links == [
        ("en/index.html", "en", "en", "ltr", "English"),
        ("ar/index.html", "ar", "ar", "rtl", "العربية"),
        ("ur/index.html", "ur", "ur", "rtl", "اردو"),
    ], "the page's own language first"
    for href, *_ in links:
        assert (case.site / href).is_file()
    assert page_problems(home) == []


def test_language_index_lists_its_posts_only_and_links_the_videos(case: SiteCase) -> None:
    published = publish_posts(case)
    ur_index = read(case.site / "ur" / "index.html")
    assert html_attrs(ur_index) == ("ur", "rtl")
    assert sorted(list_titles(ur_index)) == sorted(
        escaped(d.title) for d, _ in published.values() if d.language == "ur"
    )
    assert "videos/index.html" not in ur_index, "no video library link before there are videos"
    assert "مواد پر جائیں" in ur_index, "the skip link is in Urdu"
    [(delivery, video)] = case.on("video", "ur")
    case.channels["video"].publish(video, delivery.id)
    assert '<a href="videos/index.html">ویڈیوز</a>' in read(case.site / "ur" / "index.html")


def publish_all(case: SiteCase) -> None:
    for delivery, draft in case.drafts:
        case.channels[delivery.channel].publish(draft, delivery.id)


def pages_of(site: Path) -> dict[str, str]:
    return {str(path.relative_to(site)): read(path) for path in sorted(site.rglob("*.html"))}


#: The words of the site's templates in English: none may be left on a page in another language.
ENGLISH = (
    "Posts",
    "Videos",
    "Briefings",
    "Languages",
    "Atom feed",
    "All posts",
    "All videos",
    "Skip to content",
    "Published on",
    "Watch on",
    "Watch the video",
    "Transcript",
    "Nothing is loaded",
    "Read more",
)


@pytest.mark.parametrize("language", ["ur", "ar"])
def test_every_fixed_word_is_in_the_pages_language(case: SiteCase, language: str) -> None:
    publish_all(case)
    found = {}
    for path, page in pages_of(case.site).items():
        if path.startswith(f"{language}/"):
            english = [
                text
                for text in Reading(page).texts
                for word in ENGLISH
                if word in text and "Watch the films" not in text
            ]
            if english:
                found[path] = english
    assert found == {}


def test_the_acknowledgement_is_said_once_on_every_page_in_the_pages_language(case: SiteCase) -> None:
    publish_all(case)
    said = {ACKNOWLEDGEMENT: "en", ACKNOWLEDGEMENT_UR: "ur"}
    for path, page in pages_of(case.site).items():
        language = html_attrs(page)[0]
        counts = {text: page.count(escaped(text)) for text in said}
        assert sum(counts.values()) == 1, (path, counts)
        [text] = [text for text, count in counts.items() if count]
        # Urdu has its own; Arabic has none, so the English one stands, marked as English,
        # in a paragraph that keeps the page's direction.
        assert said[text] == ("ur" if language == "ur" else "en"), path
        if language == "ar":
            assert (
                f'<p><span lang="en" dir="ltr">{escaped(text)}</span></p>' in page
                or f'<p class="km-acknowledgement"><span lang="en" dir="ltr">{escaped(text)}</span></p>' in page
            ), path


def test_the_home_page_shows_the_unit_and_each_languages_newest_entries(case: SiteCase) -> None:
    publish_all(case)
    home = read(case.site / "index.html")
    assert html_attrs(home) == ("en", "ltr")
    assert f"<h1>{UNIT}</h1>" in home and f'<p class="km-purpose">{PURPOSE}</p>' in home
    sections = dict(
        re.findall(r'<section class="km-language" lang="([a-z]+)" dir="[a-z]+"[^>]*>(.*?)</section>', home, re.DOTALL)
    )
    assert sorted(sections) == ["ar", "en", "ur"]
    for language, section in sections.items():
        links = Reading(section).links
        shown = [words for href, words in links if href.endswith(".html") and not href.endswith("index.html")]
        # At most three of each section: every post and video here (English has three posts).
        assert sorted(shown) == sorted(draft.title for _, draft in case.drafts if draft.language == language), language
        headings = re.findall(r"<h3>([^<]+)</h3>", section)
        assert (
            headings
            == {"en": ["Posts", "Videos"], "ur": ["تحریریں", "ویڈیوز"], "ar": ["المقالات", "الفيديوهات"]}[language]
        )
        for href, _ in links:
            assert (case.site / href).is_file(), href
        assert (f"{language}/feed.xml", {"en": "Atom feed", "ur": "ایٹم فیڈ", "ar": "موجز Atom"}[language]) in links
        assert (
            f"{language}/videos/index.html",
            {"en": "All videos", "ur": "تمام ویڈیوز", "ar": "كل الفيديوهات"}[language],
        ) in links
    assert '<link rel="alternate" type="application/atom+xml" hreflang="ur" href="ur/feed.xml"' in home
    ur_home = read(case.site / "ur" / "index.html")
    assert f'<p class="km-purpose">{PURPOSE_UR}</p>' in ur_home, "each language's home says the purpose in it"
    assert f'<p class="km-purpose"><span lang="en" dir="ltr">{PURPOSE}</span></p>' in read(
        case.site / "ar" / "index.html"
    )
    assert page_problems(home) == []


def test_the_home_page_lists_only_the_newest_three_of_a_section(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    for day in range(5):
        site.add(entry(f"k{day}", slug=f"p{day}", published=T0 + timedelta(days=day)))
    home = read(tmp_path / "site" / "index.html")
    assert [words for href, words in Reading(home).links if href.startswith("en/p")] == [
        "Title k4",
        "Title k3",
        "Title k2",
    ]
    assert ("en/index.html", "All posts") in Reading(home).links


def test_no_link_shows_an_address_and_every_link_has_words(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit", tracking=True)
    publish_all(case)
    found = {}
    for path, page in pages_of(case.site).items():
        reading = Reading(page)
        problems = [f"link {href} has no words" for href, words in reading.links if not words]
        problems += [f"text shows an address: {text}" for text in reading.texts if re.search(r"https?://|www\.", text)]
        if problems:
            found[path] = problems
    assert found == {}
    assert any("127.0.0.1:8750/r/" in page for page in pages_of(case.site).values()), (
        "links go through the tracking server"
    )


def test_a_site_without_the_units_settings_says_the_entries_acknowledgement(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    site.add(entry("a", section="briefings", html="<article><h1>Brief</h1></article>"))
    page = read(tmp_path / "site" / "en" / "briefings" / "post.html")
    assert '<p class="km-acknowledgement">Funded by the NIHR.</p>' in page
    about = About(acknowledgement="Funded by the NIHR.", acknowledgements={"pl": "Finansowane przez NIHR."})
    site = Site(tmp_path / "site", BASE_URL, "Unit", about)
    site.add(entry("b", language="pl", html="<article><h1>Wpis</h1></article>"))
    assert '<p class="km-acknowledgement">Finansowane przez NIHR.</p>' in read(tmp_path / "site" / "pl" / "post.html")


def test_index_is_newest_first_whatever_order_entries_came_in(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    for key, days in (("b", 2), ("a", 0), ("d", 3), ("c", 1)):
        site.add(entry(key, slug=key, published=T0 + timedelta(days=days)))
    index = read(tmp_path / "site" / "en" / "index.html")
    assert list_titles(index) == ["Title d", "Title b", "Title c", "Title a"]
    feed = ElementTree.parse(tmp_path / "site" / "en" / "feed.xml").getroot()
    assert [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")] == [
        "Title d",
        "Title b",
        "Title c",
        "Title a",
    ]


# ============================================================================ feeds, sitemap


def test_atom_feed_per_language(case: SiteCase) -> None:
    published = publish_posts(case)
    for language in ("en", "ur", "ar"):
        feed = ElementTree.parse(case.site / language / "feed.xml").getroot()
        assert feed.tag == f"{ATOM}feed"
        assert feed.get(XML_LANG) == language
        assert feed.findtext(f"{ATOM}title") == UNIT
        links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
        assert links == {"self": f"{BASE_URL}/{language}/feed.xml", "alternate": f"{BASE_URL}/{language}/index.html"}
        expected = {p.url: d for d, p in published.values() if d.language == language}
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == len(expected)
        ids = set()
        for item in entries:
            [link] = item.findall(f"{ATOM}link")
            draft = expected[link.get("href")]
            assert item.findtext(f"{ATOM}title") == draft.title
            assert item.findtext(f"{ATOM}summary") == draft.excerpt
            assert item.findtext(f"{ATOM}content") == draft.html
            assert datetime.fromisoformat(item.findtext(f"{ATOM}published")).tzinfo is not None
            ids.add(item.findtext(f"{ATOM}id"))
        assert len(ids) == len(entries) and all(i.startswith("tag:127.0.0.1,") for i in ids)


def test_sitemap_lists_every_page(case: SiteCase) -> None:
    published = publish_posts(case)
    root = ElementTree.parse(case.site / "sitemap.xml").getroot()
    locations = [url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")]
    expected = (
        {p.url for _, p in published.values()}
        | {f"{BASE_URL}/index.html"}
        | {f"{BASE_URL}/{lang}/index.html" for lang in ("en", "ur", "ar")}
    )
    assert sorted(locations) == sorted(expected)
    for url in root.findall(f"{SITEMAP}url"):
        assert datetime.fromisoformat(url.findtext(f"{SITEMAP}lastmod")).tzinfo is not None
        assert local(case, url.findtext(f"{SITEMAP}loc")).is_file()


# ============================================================================ publish again, update, withdraw, find


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publishing_again_changes_nothing(case: SiteCase) -> None:
    published = publish_posts(case)
    before = snapshot(case.site)
    again = publish_posts(case)
    assert {k: p for k, (_, p) in again.items()} == {k: p for k, (_, p) in published.items()}
    assert snapshot(case.site) == before, "same key, same draft: not a byte changes (no duplicate, no new date)"


def test_update_replaces_the_page_and_keeps_its_address_and_first_date(case: SiteCase) -> None:
    published = publish_posts(case)
    draft, publication = next(v for v in published.values() if v[0].language == "ar")
    feed_path = case.site / "ar" / "feed.xml"

    def feed_entry() -> ElementTree.Element:
        feed = ElementTree.parse(feed_path).getroot()
        return next(e for e in feed.iter(f"{ATOM}entry") if e.find(f"{ATOM}link").get("href") == publication.url)

    first = feed_entry()
    edited = dataclasses.replace(
        draft, title="بالعربية عنوان جديد", html=draft.html.replace(draft.title, "بالعربية عنوان جديد")
    )
    assert case.channels["blog"].update(publication, edited) == publication
    page = read(local(case, publication.url))
    assert "عنوان جديد" in page and escaped(draft.title) not in page
    assert "عنوان جديد" in read(case.site / "ar" / "index.html")
    after = feed_entry()
    assert after.findtext(f"{ATOM}title") == "بالعربية عنوان جديد"
    assert after.findtext(f"{ATOM}id") == first.findtext(f"{ATOM}id")
    assert after.findtext(f"{ATOM}published") == first.findtext(f"{ATOM}published")
    assert after.findtext(f"{ATOM}updated") >= first.findtext(f"{ATOM}updated")
    assert len(list(case.site.joinpath("_data", "entries").glob("*.json"))) == len(published)


def test_an_entry_whose_slug_changes_moves_and_leaves_no_page_behind(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    assert site.add(entry("k", slug="old")) == f"{BASE_URL}/en/old.html"
    assert site.add(entry("k", slug="new", language="ur")) == f"{BASE_URL}/ur/new.html"
    assert not (tmp_path / "site" / "en").exists()
    assert (tmp_path / "site" / "ur" / "new.html").is_file()
    assert site.find("k") == f"{BASE_URL}/ur/new.html"


def test_find_and_withdraw(case: SiteCase) -> None:
    published = publish_posts(case)
    blog = case.channels["blog"]
    for key, (_, publication) in published.items():
        assert blog.find(key) == publication
    assert blog.find("0123456789ab") is None
    assert blog.find("../../kmcomms") is None
    ur = [(key, p) for key, (d, p) in published.items() if d.language == "ur"]
    for key, publication in ur[:-1]:
        blog.withdraw(publication)
        assert not local(case, publication.url).exists()
        assert blog.find(key) is None
    assert len(list_titles(read(case.site / "ur" / "index.html"))) == 1
    blog.withdraw(ur[-1][1])
    assert not (case.site / "ur").exists(), "the last Urdu entry gone, the Urdu pages and feed go too"
    assert 'hreflang="ur"' not in read(case.site / "index.html")
    assert f"{BASE_URL}/ur/" not in read(case.site / "sitemap.xml")
    blog.withdraw(ur[-1][1])  # withdrawing again is harmless


def test_withdrawing_everything_leaves_only_the_records_folder(case: SiteCase) -> None:
    published = publish_posts(case)
    for _, publication in published.values():
        case.channels["blog"].withdraw(publication)
    assert sorted(p.name for p in case.site.iterdir()) == ["_data"]


# ============================================================================ files, bad entries


def test_files_beside_the_page_shared_only_when_equal(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    site.add(entry("a", slug="a", section="briefings", files={"brief.pdf": b"%PDF-1 same"}))
    site.add(entry("b", slug="b", section="briefings", files={"brief.pdf": b"%PDF-1 same"}))
    pdf = tmp_path / "site" / "en" / "briefings" / "brief.pdf"
    assert pdf.read_bytes() == b"%PDF-1 same"
    with pytest.raises(SiteError, match='"a" and "c" publish different files as en/briefings/brief.pdf'):
        site.add(entry("c", slug="c", section="briefings", files={"brief.pdf": b"%PDF-1 other"}))
    with pytest.raises(SiteError, match="would be both a page and a file"):
        site.add(entry("d", slug="d", section="briefings", files={"index.html": b"<p>"}))
    with pytest.raises(SiteError, match="would be both a page and a file"):
        site.add(entry("e", slug="brief", section="briefings", files={"brief.html": b"<p>"}))
    with pytest.raises(SiteError, match='en/briefings/a.html would be both a page and a file of "f"'):
        site.add(entry("f", slug="f", section="briefings", files={"a.html": b"<p>"}))
    assert pdf.read_bytes() == b"%PDF-1 same"
    site.add(entry("g", slug="g", section="briefings", files={"notes.html": b"<p>notes"}))
    with pytest.raises(SiteError, match='en/briefings/notes.html would be both a page and a file of "g"'):
        site.add(entry("h", slug="notes", section="briefings"))
    assert [site.find(key) for key in "cdefh"] == [None] * 5
    assert site.remove("a")
    assert pdf.exists(), "still b's"
    assert site.remove("b")
    assert not pdf.exists() and not site.remove("b")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "../escape", "slug": "x"}, "key"),
        ({"language": "en/../x"}, "language"),
        ({"direction": "up"}, "direction"),
        ({"section": "pages"}, "section"),
        ({"files": {"../x.pdf": b""}}, "file name"),
        ({"published": datetime(2027, 1, 1)}, "aware"),
    ],
)
def test_entries_that_would_break_the_site_are_refused(tmp_path: Path, changes: dict, message: str) -> None:
    site = Site(tmp_path / "site", BASE_URL, "Unit")
    with pytest.raises(SiteError, match=message):
        site.add(entry(**{"key": "k", **changes}))
    assert not (tmp_path / "site" / "index.html").exists()


def test_the_adapter_refuses_other_drafts_and_reports_its_settings(case: SiteCase, tmp_path: Path) -> None:
    [(delivery, video), *_] = case.on("video")
    with pytest.raises(PermanentError, match="publishes blog drafts, not video"):
        case.channels["blog"].publish(video, delivery.id)
    assert case.channels["blog"].check() == []
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    channel = StaticSite("blog", StaticSite.Settings(adapter="static-site", path=str(blocked)), tmp_path)
    assert channel.check() == [f"{blocked} is not a folder — set `path` to a folder for the site"]
    with pytest.raises(ValueError, match="not an http"):
        StaticSite.Settings(adapter="static-site", base_url="ftp://example.org")
    with pytest.raises(ValueError, match="Extra inputs"):
        StaticSite.Settings(adapter="static-site", folder="site")
    assert channel.site.title == "blog", "with no kmcomms.toml to name the unit, the channel's name"


# ============================================================================ two processes

WRITER = textwrap.dedent("""\
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from kmcomms.channels.site.entry import Entry
    from kmcomms.channels.site.site import Site

    site = Site(Path(sys.argv[1]), "http://127.0.0.1:8760", "Unit")
    name, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        key = f"{name}{i:03d}"
        site.add(Entry(section="posts", key=key, language="en", direction="ltr", slug="same",
                       title=f"Post {key}", summary="", html=f"<article><h1>Post {key}</h1></article>",
                       published=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=i), acknowledgement="NIHR"))
""")


def test_two_processes_publishing_at_once_lose_nothing(tmp_path: Path) -> None:
    count = 20
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "site"), name, str(count)])
        for name in ("a", "b")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    keys = {f"{name}{i:03d}" for name in "ab" for i in range(count)}
    index = read(tmp_path / "site" / "en" / "index.html")
    assert sorted(list_titles(index)) == sorted(f"Post {k}" for k in keys)
    feed = ElementTree.parse(tmp_path / "site" / "en" / "feed.xml").getroot()
    assert len(feed.findall(f"{ATOM}entry")) == len(keys)
    pages = {p.name for p in (tmp_path / "site" / "en").glob("same*.html")}
    assert len(pages) == len(keys), "every entry kept a page of its own (one slug, suffixed by key)"
    built = set(json.loads((tmp_path / "site" / "_data" / "built.json").read_bytes()))
    assert {f"en/{page}" for page in pages} <= built


# ============================================================================ kmcomms serve


def test_serve_shows_the_site_and_stops_cleanly_on_ctrl_c(case: SiteCase) -> None:
    publish_posts(case)
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "kmcomms", "serve", "--port", "0", "-w", str(case.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/) ", line)
        assert match, (line, server.stderr.read() if server.poll() is not None else "")
        assert line.startswith(f"Serving {case.site} at ")
        with urllib.request.urlopen(match[1] + "ur/index.html") as response:
            assert 'lang="ur" dir="rtl"' in response.read().decode()
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        types = {}
        for path in ("ur/feed.xml", "sitemap.xml", "assets/site.css"):
            with urllib.request.urlopen(match[1] + path) as response:
                types[path] = response.headers["Content-Type"]
                assert response.read()
        assert types == {
            "ur/feed.xml": "application/atom+xml",
            "sitemap.xml": "application/xml",
            "assets/site.css": "text/css; charset=utf-8",
        }
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(match[1] + "_data/built.json")
        assert missing.value.code == 404, "records are not served"
        missing.value.close()
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert out.strip() == "stopped"


def test_serve_says_what_is_wrong_in_one_line(case: SiteCase, tmp_path: Path) -> None:
    run = [sys.executable, "-m", "kmcomms", "serve", "-w", str(case.root)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    expected = f"kmcomms: error: {case.site} does not exist yet — publish something first (kmcomms publish --due)\n"
    assert (done.returncode, done.stderr) == (1, expected)
    done = subprocess.run([*run, "--channel", "nope"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "site channels: blog (" in done.stderr and "video (" in done.stderr
    (case.root / "kmcomms.toml").write_text(
        read(case.root / "kmcomms.toml").replace('path = "site"\nbase_url', 'path = "other"\nbase_url', 1)
    )
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "several sites" in done.stderr and "--channel" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_reads_a_site_folder_written_as_a_variable(case: SiteCase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any string setting may be `${VAR}`: `serve` finds the folder the channel publishes to."""
    settings = case.root / "kmcomms.toml"
    settings.write_text(read(settings).replace('path = "site"', 'path = "${KMCOMMS_TEST_SITE}"'), encoding="utf-8")
    monkeypatch.setenv("KMCOMMS_TEST_SITE", "site")
    [workspace] = load_paths([case.root]).workspaces
    assert site_folder(workspace, None) == case.site
