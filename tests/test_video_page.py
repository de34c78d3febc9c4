"""The `video-page` adapter: video listings rendered from a real workspace, published to the
site's video library with a YouTube, PeerTube or local-file player, a transcript link and
the description as escaped paragraphs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from browser import page_problems
from site_fixtures import BASE_URL, SiteCase, make_site_case

from kmcomms.channels.base import PermanentError
from kmcomms.channels.video_page import paragraphs
from kmcomms.render import VideoListing

ATOM = "{http://www.w3.org/2005/Atom}"
FILM = b"\x00\x00\x00\x18ftypmp42 not really a film"


def local(case: SiteCase, url: str) -> Path:
    assert url.startswith(BASE_URL + "/"), url
    return case.site / url.removeprefix(BASE_URL + "/")


def publish_videos(case: SiteCase, language: str | None = None) -> list[tuple[VideoListing, str]]:
    published = []
    for delivery, draft in case.on("video", language):
        assert isinstance(draft, VideoListing)
        published.append((draft, case.channels["video"].publish(draft, delivery.id).url))
    return published


def test_youtube_listing_embeds_without_cookies_and_links_the_transcript(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit")
    published = publish_videos(case)
    assert len(published) == 3  # launch: en (parents and clinicians share it), ur, ar
    for draft, url in published:
        assert url.startswith(f"{BASE_URL}/{draft.language}/videos/launch")
        page = local(case, url).read_text(encoding="utf-8")
        assert f'<html lang="{draft.language}" dir="{draft.direction}">' in page
        [iframe] = re.findall(r"<iframe [^>]*>", page)
        assert 'src="https://www.youtube-nocookie.com/embed/M7lc1UVf-VE"' in iframe
        assert f'title="{draft.title}"' in iframe
        assert draft.transcript and draft.transcript.startswith("https://example.org/transcripts/launch?")
        assert f'<a href="{draft.transcript.replace("&", "&amp;")}">' in page
        assert "Watch the films &amp; tell a friend." in page, "the description, escaped"
        assert page_problems(page) == []
    ur_page = local(case, next(url for d, url in published if d.language == "ur")).read_text(encoding="utf-8")
    assert ">تحریری متن</a>" in ur_page, "the transcript link in Urdu"


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


def test_peertube_listing_needs_the_instance(tmp_path: Path) -> None:
    video = "      peertube_id: 9c9de5e8-0a1e-484a-b099-e80766180a6d"
    case = make_site_case(tmp_path / "with", video=video, video_settings='peertube_url = "https://peertube.example.org/"')
    [(draft, url), *_] = publish_videos(case, "en")
    page = local(case, url).read_text(encoding="utf-8")
    assert ('<iframe src="https://peertube.example.org/videos/embed/9c9de5e8-0a1e-484a-b099-e80766180a6d" '
            f'title="{draft.title}"') in page
    assert draft.transcript is None and "Transcript" not in page
    bare = make_site_case(tmp_path / "without", video=video)
    [(delivery, listing), *_] = bare.on("video")
    with pytest.raises(PermanentError, match="no peertube_url"):
        bare.channels["video"].publish(listing, delivery.id)
    assert not bare.site.exists()


def test_local_file_is_copied_once_and_played_with_the_video_element(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit", video="      file: films/launch.mp4", files={"films/launch.mp4": FILM})
    published = publish_videos(case)
    en = [(d, url) for d, url in published if d.language == "en"]
    assert len(en) == 1
    copy = case.site / "en" / "videos" / "hpv-films-launch.mp4"
    assert copy.read_bytes() == FILM
    assert sorted(p.name for p in (case.site / "en" / "videos").iterdir()) == sorted(
        ["index.html", "hpv-films-launch.mp4", *(url.rsplit("/", 1)[1] for _, url in en)])
    for _, url in en:
        page = local(case, url).read_text(encoding="utf-8")
        assert '<video controls preload="metadata" src="hpv-films-launch.mp4">' in page
        assert "<iframe" not in page
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
    bare = dataclasses.replace(draft, file=None)
    with pytest.raises(PermanentError, match="the message has no video"):
        case.channels["video"].publish(bare, delivery.id)


def test_update_replaces_the_listing(tmp_path: Path) -> None:
    case = make_site_case(tmp_path / "unit")
    [(delivery, draft)] = case.on("video", "ar")
    video = case.channels["video"]
    publication = video.publish(draft, delivery.id)
    edited = dataclasses.replace(draft, youtube_id="dQw4w9WgXcQ", description="بالعربية وصف جديد")
    assert video.update(publication, edited) == publication
    page = local(case, publication.url).read_text(encoding="utf-8")
    assert "embed/dQw4w9WgXcQ" in page and "M7lc1UVf-VE" not in page
    assert "<p>بالعربية وصف جديد</p>" in page
    assert video.find(delivery.id) == publication


def test_description_paragraphs_are_escaped_and_addresses_linked() -> None:
    text = "A & B <script>alert(1)</script>\nsecond line\n\n\nSee https://example.org/a?b=1&c=2. Then \"https://x.org\"."
    assert paragraphs(text) == [
        "A &amp; B &lt;script&gt;alert(1)&lt;/script&gt;<br>\nsecond line",
        ('See <a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>. Then &#34;'
         '<a href="https://x.org">https://x.org</a>&#34;.'),
    ]
    assert paragraphs("javascript:alert(1) ftp://x.org") == ["javascript:alert(1) ftp://x.org"]
