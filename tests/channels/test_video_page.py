"""The `video-page` adapter: video listings rendered from a real workspace, published to the
site's video library: a local file played with `<video>`, a video on YouTube or PeerTube
shown as a picture of a player that links to it there (the page loads nothing from the
platform), the transcript and the description's links in words."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from browser import page_problems
from conftest import run_cli
from site_fixtures import BASE_URL, SiteCase, make_site_case

from kmcomms.channels.base import PermanentError
from kmcomms.channels.video_page import summary
from kmcomms.render.drafts import VideoListing

ATOM = "{http://www.w3.org/2005/Atom}"
FILM = b"\x00\x00\x00\x18ftypmp42 not really a film"
POSTER = b"\x89PNG\r\n\x1a\n not really a picture"


def local(case: SiteCase, url: str) -> Path:
    assert url.startswith(BASE_URL + "/"), url
    return case.site / url.removeprefix(BASE_URL + "/")


def publish_videos(case: SiteCase, language: str | None = None) -> list[tuple[VideoListing, str]]:
    published = []
    for delivery, draft in case.on("video", language):
        assert isinstance(draft, VideoListing)
        published.append((draft, case.channels["video"].publish(draft, delivery.id).url))
    return published


class _Loads(HTMLParser):
    """What a page makes the browser fetch as it loads (not the links a reader may follow)."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        for name in ("src", "poster", "data", "srcset"):
            if values.get(name):
                self.fetched.append(values[name] or "")
        if tag == "link" and values.get("rel") in ("stylesheet", "icon", "preload", "prefetch", "preconnect"):
            self.fetched.append(values.get("href") or "")


def fetched_from_elsewhere(page: str) -> list[str]:
    """Addresses outside the site that loading `page` fetches (a data: icon is inline)."""
    loads = _Loads()
    loads.feed(page)
    return [url for url in loads.fetched if re.match(r"[a-z][a-z0-9+.-]*:|//", url) and not url.startswith("data:")]


def facade(page: str) -> tuple[str, str]:
    """(address, words) of the link the video's picture is."""
    match = re.search(r'<figure class="km-facade">\s*<a href="([^"]+)">(.*?)</a>', page, re.DOTALL)
    assert match, page
    return match[1], " ".join(re.sub(r"<[^>]+>", " ", match[2]).split())


def test_a_youtube_video_is_a_picture_linking_to_it_and_the_page_loads_nothing_from_youtube(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit")
    published = publish_videos(case)
    assert len(published) == 3  # launch: en (parents and clinicians share it), ur, ar
    for draft, url in published:
        assert url.startswith(f"{BASE_URL}/{draft.language}/videos/launch")
        page = local(case, url).read_text(encoding="utf-8")
        assert f'<html lang="{draft.language}" dir="{draft.direction}">' in page
        assert fetched_from_elsewhere(page) == [], "nothing third-party is loaded with the page"
        assert "<iframe" not in page and "youtube-nocookie" not in page and "ytimg" not in page
        address, words = facade(page)
        assert address == "https://www.youtube.com/watch?v=M7lc1UVf-VE"
        assert draft.title.replace("&", "&amp;") in words and "YouTube" in words
        assert draft.transcript and draft.transcript.startswith("https://example.org/transcripts/launch?")
        assert re.search(rf'<a href="{re.escape(draft.transcript.replace("&", "&amp;"))}">[^<>h]+</a>', page), (
            "the transcript link has words, not its address"
        )
        assert "Watch the films &amp; tell a friend." in page, "the body, escaped"
        assert page_problems(page) == []
    ur_page = local(case, next(url for d, url in published if d.language == "ur")).read_text(encoding="utf-8")
    assert ">تحریری متن</a>" in ur_page, "the transcript link in Urdu"
    assert "YouTube پر دیکھیں" in facade(ur_page)[1], "the picture's words in Urdu"
    assert "Watch on" not in ur_page and "Nothing is loaded" not in ur_page


def test_the_library_lists_each_languages_videos(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit")
    published = publish_videos(case)
    for language in ("en", "ur", "ar"):
        library = (case.site / language / "videos" / "index.html").read_text(encoding="utf-8")
        titles = re.findall(r'<h2><a href="([^"]+)">([^<]+)</a></h2>', library)
        mine = [(d, url) for d, url in published if d.language == language]
        assert len(titles) == len(mine)
        assert {f"{BASE_URL}/{language}/videos/{href}" for href, _ in titles} == {url for _, url in mine}
        assert '<a href="index.html" aria-current="page">' in library
        assert page_problems(library) == []
        assert '<a href="videos/index.html">' in (case.site / language / "index.html").read_text(encoding="utf-8")
    feed = ElementTree.parse(case.site / "ur" / "feed.xml").getroot()
    [item] = feed.findall(f"{ATOM}entry")
    assert item.find(f"{ATOM}content") is None, "a player does not travel in a feed: summary and link only"
    assert item.findtext(f"{ATOM}summary").startswith("اردو میں")


def test_a_peertube_video_links_to_its_instance_which_must_be_set(tmp_path: Path) -> None:
    video = "      peertube_id: 9c9de5e8-0a1e-484a-b099-e80766180a6d"
    case = make_site_case(
        tmp_path / "with", video=video, video_settings='peertube_url = "https://peertube.example.org/"'
    )
    [(draft, url), *_] = publish_videos(case, "en")
    page = local(case, url).read_text(encoding="utf-8")
    address, words = facade(page)
    assert address == "https://peertube.example.org/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d"
    assert words.endswith("Watch on peertube.example.org")
    assert fetched_from_elsewhere(page) == []
    assert draft.transcript is None and "Transcript" not in page
    bare = make_site_case(tmp_path / "without", video=video)
    [(delivery, listing), *_] = bare.on("video")
    with pytest.raises(PermanentError, match="no peertube_url"):
        bare.channels["video"].publish(listing, delivery.id)
    assert not bare.site.exists()


def test_a_poster_is_copied_into_the_site_and_shown_in_the_picture(tmp_path: Path) -> None:
    case = make_site_case(
        tmp_path / "unit",
        video="      youtube_id: M7lc1UVf-VE\n      poster: films/launch.png",
        files={"films/launch.png": POSTER},
    )
    [(_, url)] = publish_videos(case, "ar")
    page = local(case, url).read_text(encoding="utf-8")
    assert (case.site / "ar" / "videos" / "hpv-films-launch.png").read_bytes() == POSTER
    assert '<img src="hpv-films-launch.png" alt="">' in page, (
        "a picture inside a link that has words: no alt of its own"
    )
    assert fetched_from_elsewhere(page) == []


def test_validate_refuses_a_poster_outside_the_campaign_folder(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit", video="      youtube_id: M7lc1UVf-VE\n      poster: films/launch.png")
    campaign = case.root / "campaigns" / "hpv" / "campaign.yaml"
    campaign.write_text(
        campaign.read_text(encoding="utf-8").replace("films/launch.png", "../../still.png"), encoding="utf-8"
    )
    code, out, _ = run_cli("validate", case.root)
    line = campaign.read_text(encoding="utf-8").splitlines().index("      poster: ../../still.png") + 1
    assert code == 1
    assert f"campaign.yaml:{line}:" in out and "the video's poster is outside the campaign folder" in out
    assert "[path-outside-campaign]" in out


def test_local_file_is_copied_once_and_played_with_the_video_element(tmp_path: Path) -> None:
    case = make_site_case(
        tmp_path / "unit",
        video="      file: films/launch.mp4\n      poster: films/launch.png",
        files={"films/launch.mp4": FILM, "films/launch.png": POSTER},
    )
    published = publish_videos(case)
    en = [(d, url) for d, url in published if d.language == "en"]
    assert len(en) == 1
    copy = case.site / "en" / "videos" / "hpv-films-launch.mp4"
    assert copy.read_bytes() == FILM
    assert sorted(p.name for p in (case.site / "en" / "videos").iterdir()) == sorted(
        ["index.html", "hpv-films-launch.mp4", "hpv-films-launch.png", *(url.rsplit("/", 1)[1] for _, url in en)]
    )
    for _, url in en:
        page = local(case, url).read_text(encoding="utf-8")
        assert '<video controls preload="metadata" src="hpv-films-launch.mp4" poster="hpv-films-launch.png">' in page
        assert 'class="km-facade"' not in page and fetched_from_elsewhere(page) == []
    assert (case.site / "ur" / "videos" / "hpv-films-launch.mp4").read_bytes() == FILM
    video = case.channels["video"]
    [(listing, _)] = en
    again = dataclasses.replace(listing, delivery="0123456789ab", message="again")  # another message, the same film
    video.publish(again, again.delivery)
    first, second = video.find(listing.delivery), video.find(again.delivery)
    video.withdraw(first)
    assert copy.exists(), "the other English listing still plays it"
    video.withdraw(second)
    assert not copy.exists() and not (case.site / "en" / "videos").exists()


def test_a_missing_file_or_no_video_at_all_is_refused(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit", video="      file: films/missing.mp4")
    [(delivery, draft), *_] = case.on("video")
    with pytest.raises(PermanentError, match="missing.mp4 is missing"):
        case.channels["video"].publish(draft, delivery.id)
    with pytest.raises(
        PermanentError, match=r"the poster image .*still.png is missing — put it there or fix video.poster"
    ):
        case.channels["video"].publish(
            dataclasses.replace(draft, file=None, youtube_id="M7lc1UVf-VE", poster="still.png"), delivery.id
        )
    bare = dataclasses.replace(draft, file=None)
    with pytest.raises(PermanentError, match="the message has no video"):
        case.channels["video"].publish(bare, delivery.id)


def test_update_replaces_the_listing(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit")
    [(delivery, draft)] = case.on("video", "ar")
    video = case.channels["video"]
    publication = video.publish(draft, delivery.id)
    edited = dataclasses.replace(draft, youtube_id="dQw4w9WgXcQ", html="<p>بالعربية وصف جديد</p>")
    assert video.update(publication, edited) == publication
    page = local(case, publication.url).read_text(encoding="utf-8")
    assert "watch?v=dQw4w9WgXcQ" in page and "M7lc1UVf-VE" not in page
    assert "<p>بالعربية وصف جديد</p>" in page
    assert video.find(delivery.id) == publication


def test_the_summary_is_the_first_paragraph_in_words() -> None:
    note = '<p class="km-note" lang="ur" dir="rtl">ترجمہ</p>\n'
    body = '<div class="km-body">\n<p>Read <a href="http://127.0.0.1:8750/r/abc.def.sig">the study</a> &amp; more.</p>\n</div>'
    assert summary(note + body) == "Read the study & more.", "links in words, never their address"
    assert summary('<p class="km-summary"><strong>First.</strong></p>' + body) == "First."
    long = "word " * 60
    assert summary(f"<p>{long}</p>") == ("word " * 39).strip() + "…"
    assert summary("") == ""
