"""Rendering: golden files per channel kind × language, link tagging, channel limits,
translation policy, template overrides and the acknowledgement.

Golden files: `tests/golden/workspace/` is a fixed workspace (one campaign, a channel of
every kind, Polish and Arabic catalogs). Each kind × language is rendered and every field
of its draft (as `kmcomms.render.preview.draft_json` gives it) compared exactly with
`tests/golden/<kind>-<lang>.json`. After an intended change, regenerate them with

    KMCOMMS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/render/test_render.py

and read the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from conftest import WriteCampaign
from workspaces import audience, campaign_yaml, write_translation

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.load import load_paths
from kmcomms.plan.deliveries import Delivery, Window, plan_of
from kmcomms.render.drafts import Blocked, BlogPost, Briefing, Draft, Newsletter, SocialPost, VideoListing
from kmcomms.render.preview import draft_json
from kmcomms.render.renderer import Renderer
from kmcomms.translations.words import words

TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "golden"
GOLDEN_WORKSPACE = GOLDEN / "workspace"
UPDATE = os.environ.get("KMCOMMS_UPDATE_GOLDEN") == "1"

NOW = datetime(2027, 1, 1, tzinfo=UTC)
SOURCE_NOTE = "Sent in the source language: the translation is not complete."


def render_all(root: Path) -> list[tuple[Delivery, Draft | Blocked]]:
    """Every delivery of the workspace at `root` from NOW on, rendered, in plan order."""
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    return [(d, renderer.render(d)) for d in plan_of(result, Window(start=NOW), NOW).deliveries]


def by_channel(root: Path, language: str = "en", message: str | None = None) -> dict[str, Draft | Blocked]:
    found = {}
    for delivery, draft in render_all(root):
        if delivery.language == language and message in (None, delivery.message):
            assert delivery.channel not in found, "one delivery per channel expected"
            found[delivery.channel] = draft
    return found


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value is not None]


def hrefs(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.hrefs


_WEB = re.compile(r"https?://[^\s()<>\"]+")


def web_addresses(draft: Draft) -> list[str]:
    """Every http(s) address a reader of `draft` can follow: hrefs in its HTML, addresses
    written in its text parts."""
    found = hrefs(draft.html) if hasattr(draft, "html") else []
    for name in ("text", "description", "transcript"):
        found += _WEB.findall(getattr(draft, name, None) or "")
    return [a for a in found if a.startswith(("http://", "https://"))]


# =========================================================================== golden files

LANGUAGES = ("en", "pl", "ar")
CASES = [(kind, language) for kind in Kind for language in LANGUAGES]


def golden_path(kind: Kind, language: str) -> Path:
    return GOLDEN / f"{kind}-{language}.json"


@pytest.fixture(scope="module")
def golden_drafts() -> dict[tuple[Kind, str], Draft]:
    result = load_paths([GOLDEN_WORKSPACE])
    assert result.diagnostics == [], result.diagnostics  # no errors, no warnings: every language translated
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    drafts: dict[tuple[Kind, str], Draft] = {}
    for delivery in plan_of(result, Window(start=NOW), NOW).deliveries:
        draft = renderer.render(delivery)
        assert isinstance(draft, Draft), draft
        key = (renderer.kind(delivery), delivery.language)
        assert key not in drafts
        drafts[key] = draft
    assert sorted(drafts) == sorted(CASES)
    return drafts


@pytest.mark.parametrize(("kind", "language"), CASES, ids=[f"{k}-{lang}" for k, lang in CASES])
def test_golden(golden_drafts: dict[tuple[Kind, str], Draft], kind: Kind, language: str) -> None:
    actual = draft_json(golden_drafts[(kind, language)])
    path = golden_path(kind, language)
    if UPDATE:
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.is_file(), f"{path.name} is missing — run with KMCOMMS_UPDATE_GOLDEN=1 to write it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert list(actual) == list(expected), "the draft's fields changed"
    for field in expected:
        assert actual[field] == expected[field], f"{path.name}: field {field!r} differs"


def test_every_golden_file_belongs_to_a_case() -> None:
    expected = {golden_path(kind, language).name for kind, language in CASES}
    present = {p.name for p in GOLDEN.glob("*.json")}
    assert present - expected == set(), "golden files that no case compares — delete them or add the case"
    assert expected - present == set(), "cases without a golden file — run with KMCOMMS_UPDATE_GOLDEN=1"


def test_golden_drafts_are_in_their_own_language(golden_drafts: dict[tuple[Kind, str], Draft]) -> None:
    for (kind, language), draft in golden_drafts.items():
        assert (draft.language, draft.fallback) == (language, False), (kind, language)
        assert draft.direction == ("rtl" if language == "ar" else "ltr"), (kind, language)
    assert golden_drafts[(Kind.BLOG, "pl")].title == "Bezpłatne punkty szczepień przeciw grypie tej zimy"
    assert golden_drafts[(Kind.BLOG, "ar")].title == "عيادات مجانية للتطعيم ضد الإنفلونزا هذا الشتاء"


#: Template words (msgid, Arabic) of kmcomms's own Arabic catalog, by the kind whose output carries them.
ARABIC_WORDS = {
    Kind.BLOG: [("Published on {date}", "نُشر في")],
    Kind.NEWSLETTER: [("Unsubscribe", "إلغاء الاشتراك")],
    Kind.BRIEFING: [
        ("Summary", "ملخص"),
        ("Key points", "النقاط الرئيسية"),
        ("Recommendations", "التوصيات"),
        ("Policy briefing", "موجز سياسات"),
    ],
    Kind.VIDEO: [("Transcript", "النص المكتوب")],
}


def _document(draft: Draft) -> str:
    return draft.description if isinstance(draft, VideoListing) else draft.html


def test_the_right_to_left_drafts_are_marked_and_use_arabic_template_words(
    golden_drafts: dict[tuple[Kind, str], Draft],
) -> None:
    for kind in (Kind.BLOG, Kind.NEWSLETTER, Kind.BRIEFING):
        assert 'dir="rtl"' in golden_drafts[(kind, "ar")].html and 'lang="ar"' in golden_drafts[(kind, "ar")].html
        assert 'dir="rtl"' not in golden_drafts[(kind, "en")].html and 'dir="ltr"' in golden_drafts[(kind, "en")].html
        assert 'dir="ltr"' in golden_drafts[(kind, "pl")].html
    for kind, pairs in ARABIC_WORDS.items():
        arabic, english = _document(golden_drafts[(kind, "ar")]), _document(golden_drafts[(kind, "en")])
        for msgid, word in pairs:
            assert word in words("ar").gettext(msgid, date="", unit=""), f"the Arabic catalog changed for {msgid!r}"
            assert word in arabic and word not in english, (kind, word)
            assert msgid.split(" {")[0] in english and msgid.split(" {")[0] not in arabic, (kind, msgid)
    assert "12 stycznia 2027" in golden_drafts[(Kind.BRIEFING, "pl")].html
    assert "Opublikowano" in golden_drafts[(Kind.BLOG, "pl")].html


# ==================================================================================== links

LINK_MESSAGE = """\
  - id: launch
    audiences: [parents]
    at: 2027-01-12 09:00
    title: {title}
    summary: {summary}
    body: messages/launch.md
    call_to_action:
      text: Book now
      url: https://example.org/book
    video:
      youtube_id: dQw4w9WgXcQ
      transcript: https://example.org/transcript
    briefing:
      key_points: [Clinics in every school]
"""

LINK_BODY = """\
Read [the guide](https://example.org/guide) and [the guide again](https://example.org/guide).

See [a page part](http://example.org/page?x=1#part) and [the reference][ref].

<a href="https://example.org/raw">Raw HTML link</a>, [mail us](mailto:team@example.org?subject=Clinic%20times)
and [a tagged one](https://example.org/tagged?utm_source=Partner&utm_campaign=Spring).

[ref]: https://example.org/reference
"""

SOCIAL_CHANNELS = """
[channels.social]
adapter = "mastodon"
"""


def link_campaign(languages: str = "en", title: str = "Free clinics", summary: str = "Nurses run free clinics.") -> str:
    message = LINK_MESSAGE.format(
        title=json.dumps(title, ensure_ascii=False), summary=json.dumps(summary, ensure_ascii=False)
    )
    # A named owner: no tag on any link may carry their name or address.
    return campaign_yaml(
        message,
        title="Links",
        owner="owner.person@example.org",
        audiences=audience(languages=languages, channels="blog, newsletter, video, briefing, social"),
    )


def add_settings(root: Path, text: str) -> None:
    with (root / "kmcomms.toml").open("a", encoding="utf-8") as settings:
        settings.write(text)


@pytest.fixture
def ws(workspace: Path) -> Path:
    """The `workspace` fixture with a social channel too: one channel of every kind."""
    add_settings(workspace, SOCIAL_CHANNELS)
    return workspace


def set_policy(root: Path, policy: str) -> None:
    settings = root / "kmcomms.toml"
    text = settings.read_text(encoding="utf-8")
    assert 'missing_translation = "block"' in text
    settings.write_text(
        text.replace('missing_translation = "block"', f'missing_translation = "{policy}"'), encoding="utf-8"
    )


MEDIUM = {
    Kind.BLOG: "referral",
    Kind.NEWSLETTER: "email",
    Kind.VIDEO: "video",
    Kind.BRIEFING: "email",
    Kind.SOCIAL: "social",
}
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_id")


def test_every_web_link_is_tagged_with_its_delivery(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    checked = 0
    for delivery, draft in render_all(ws):
        assert isinstance(draft, Draft)
        addresses = web_addresses(draft)
        assert addresses, delivery.channel
        for address in addresses:
            tags = parse_qs(urlsplit(address).query)
            assert all(len(tags.get(key, [])) == 1 for key in UTM), address
            assert tags["utm_id"] == [delivery.id]
            if "utm_source=Partner" in address:
                continue  # the author's own tags; see the next test
            assert tags["utm_source"] == [delivery.channel]
            assert tags["utm_medium"] == [MEDIUM[draft.kind]]
            assert tags["utm_campaign"] == ["example"]
            assert tags["utm_content"] == [f"parents-{delivery.language}"]
            ours = [tags[key][0] for key in UTM]
            # Lowercase, and nothing about a person: no address, no name, only slugs and ids.
            assert all(re.fullmatch(r"[a-z0-9._-]+", value) for value in ours), ours
            assert "owner" not in address and "@" not in address
            checked += 1
        # Each followable address is one of the draft's registered links.
        assert set(addresses) <= {link.url for link in draft.links}, delivery.channel
    assert checked >= 5 * 2  # every kind has at least the call to action and one body link


def test_the_authors_own_utm_tags_are_kept(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws)
    blog = drafts["blog"]
    [tagged] = [a for a in hrefs(blog.html) if "/tagged" in a]
    query = parse_qsl(urlsplit(tagged).query)
    assert [k for k, _ in query] == ["utm_source", "utm_campaign", "utm_medium", "utm_content", "utm_id"]
    assert dict(query) == {
        "utm_source": "Partner",
        "utm_campaign": "Spring",
        "utm_medium": "referral",
        "utm_content": "parents-en",
        "utm_id": blog.delivery,
    }


def test_an_address_keeps_its_fragment_after_the_tags(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    blog = by_channel(ws)["blog"]
    [page] = [a for a in hrefs(blog.html) if "/page" in a]
    parts = urlsplit(page)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("http", "example.org", "/page", "part")
    assert parse_qsl(parts.query)[0] == ("x", "1")


def test_the_authors_query_string_is_kept_as_written(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": "[search](https://example.org/search?flag&q=a%20b&r=%7E)\n"})
    blog = by_channel(ws)["blog"]
    [search] = [a for a in hrefs(blog.html) if "/search" in a]
    assert search.startswith("https://example.org/search?flag&q=a%20b&r=%7E&utm_source=blog&")


def test_utm_tags_are_lowercase(ws: Path, campaign: WriteCampaign) -> None:
    # A language code may hold capitals (pt-BR); a tag never does. The source policy sends
    # the untranslated message so the delivery renders.
    set_policy(ws, "source")
    campaign(link_campaign(languages="en, pt-BR"), files={"messages/launch.md": LINK_BODY})
    newsletter = by_channel(ws, language="pt-BR")["newsletter"]
    assert newsletter.fallback
    [book] = [a for a in hrefs(newsletter.html) if "/book" in a]
    assert parse_qs(urlsplit(book).query)["utm_content"] == ["parents-pt-br"]
    assert all(
        link.url.split("?", 1)[1] == link.url.split("?", 1)[1].lower()
        for link in newsletter.links
        if "utm_source=Partner" not in link.url
    )


def test_link_ids_are_stable_per_delivery_and_address(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY + "\nAgain: [book](https://example.org/book).\n"})
    first = by_channel(ws)
    blog = first["blog"]
    originals = [link.original for link in blog.links]
    assert len(originals) == len(set(originals)), "an address is registered once per delivery"
    ids = {link.original: link.id for link in blog.links}
    assert len(set(ids.values())) == len(ids), "different addresses have different ids"
    # The same address twice in the body, and in the body and the call to action: one link, one tagged URL.
    assert len([a for a in hrefs(blog.html) if a.startswith("https://example.org/guide?")]) == 2
    assert len({a for a in hrefs(blog.html) if a.startswith("https://example.org/guide?")}) == 1
    assert len({a for a in hrefs(blog.html) if a.startswith("https://example.org/book?")}) == 1
    assert re.fullmatch(r"[0-9a-f]{10}", ids["https://example.org/guide"])
    # Rendering again (a new renderer, as a later run would) gives the same ids.
    again = by_channel(ws)
    assert [(link.id, link.original, link.url) for link in again["blog"].links] == [
        (link.id, link.original, link.url) for link in blog.links
    ]
    # Another delivery of the same message gives the same address another id.
    newsletter_ids = {link.original: link.id for link in first["newsletter"].links}
    assert newsletter_ids["https://example.org/guide"] != ids["https://example.org/guide"]
    assert set(newsletter_ids.values()).isdisjoint(ids.values())


def test_mailto_links_are_left_as_written(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws)
    for channel in ("blog", "newsletter", "briefing"):
        mail = [a for a in hrefs(drafts[channel].html) if a.startswith("mailto:")]
        assert mail == ["mailto:team@example.org?subject=Clinic%20times"], channel
        assert all(not link.original.startswith("mailto:") for link in drafts[channel].links)
    assert "(mailto:team@example.org?subject=Clinic%20times)" in drafts["newsletter"].text


def test_a_draft_registers_only_the_links_it_carries(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    for channel, draft in by_channel(ws).items():
        assert {link.url for link in draft.links} == set(web_addresses(draft)), channel


def test_every_other_kind_registers_only_the_links_it_carries(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws)
    for channel in ("blog", "newsletter", "video", "briefing"):
        assert {link.url for link in drafts[channel].links} == set(web_addresses(drafts[channel])), channel
    assert len(drafts["blog"].links) == 6  # guide, page, reference, raw, tagged, book


def test_an_autolink_is_tagged_in_html(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": "See <https://example.org/auto>.\n"})
    drafts = by_channel(ws)
    for channel in ("blog", "newsletter", "briefing"):
        [link] = [link for link in drafts[channel].links if link.original == "https://example.org/auto"]
        assert (
            f'<a href="{link.url.replace("&", "&amp;")}" rel="noopener noreferrer">https://example.org/auto</a>'
            in drafts[channel].html
        )
        assert f"utm_id={drafts[channel].delivery}" in link.url


def test_an_autolink_is_written_once_and_tagged_in_text_parts(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": "See <https://example.org/auto>.\n"})
    drafts = by_channel(ws)
    for channel, part in (("newsletter", "text"), ("video", "description")):
        [link] = [link for link in drafts[channel].links if link.original == "https://example.org/auto"]
        assert f"See {link.url}." in getattr(drafts[channel], part), channel


# =============================================================================== channels


def test_video_listings_have_no_angle_brackets(ws: Path, campaign: WriteCampaign) -> None:
    body = "Children <5 years & parents > 30 can ask.\n\n`if a < b` and &lt;b&gt;bold&lt;/b&gt;.\n"
    campaign(
        link_campaign(title="Vaccines <for> parents & carers", summary="Ages <5 and >11"),
        files={"messages/launch.md": body},
    )
    drafts = by_channel(ws)
    video = drafts["video"]
    assert isinstance(video, VideoListing)
    assert video.title == "Vaccines ‹for› parents & carers"
    assert "<" not in video.description and ">" not in video.description
    assert "Ages ‹5 and ›11" in video.description
    assert "Children ‹5 years & parents › 30 can ask." in video.description
    assert "if a ‹ b" in video.description and "‹b›bold‹/b›" in video.description
    assert (video.youtube_id, video.transcript.split("?")[0]) == ("dQw4w9WgXcQ", "https://example.org/transcript")
    # A title is plain text everywhere: what looks like a tag is made inert for every kind.
    assert drafts["blog"].title == "Vaccines ‹for› parents & carers"
    assert "Vaccines ‹for› parents &amp; carers" in drafts["blog"].html


LONG_SUMMARY = " ".join(["Nurses answer the questions parents ask most about the vaccine."] * 16)  # ~1000 characters


@pytest.mark.parametrize(("adapter", "limit"), [("mastodon", 500), ("bluesky", 300)])
def test_a_long_social_post_is_shortened_but_keeps_its_title_and_link(
    workspace: Path, campaign: WriteCampaign, adapter: str, limit: int
) -> None:
    add_settings(workspace, f'\n[channels.social]\nadapter = "{adapter}"\n')
    campaign(
        link_campaign(title="Free flu clinics for every child this winter", summary=LONG_SUMMARY),
        files={"messages/launch.md": LINK_BODY},
    )
    post = by_channel(workspace)["social"]
    assert isinstance(post, SocialPost)
    assert post.limit == limit
    assert len(post.text) <= limit
    assert len(post.text) >= limit - 20, "shortened no more than needed"
    assert post.text.startswith("Free flu clinics for every child this winter\n\nNurses answer")
    [book] = [link.url for link in post.links if link.original == "https://example.org/book"]
    assert post.text.endswith(f"Book now: {book}")
    summary = post.text.split("\n\n")[1]
    assert summary.endswith("…") and LONG_SUMMARY.startswith(summary[:-1])


def test_a_short_social_post_is_sent_whole(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    post = by_channel(ws)["social"]
    [book] = [link.url for link in post.links if link.original == "https://example.org/book"]
    assert post.text == f"Free clinics\n\nNurses run free clinics.\n\nBook now: {book}"


# ============================================================================ translations


def write_po(
    root: Path, language: str, *, fuzzy: str | None = None, missing: str | None = None, prefix: str = "ترجمة"
) -> None:
    """Translate every string of the campaign into `language` ("<prefix> <source>"),
    with the entry of context `fuzzy` marked fuzzy and that of `missing` left empty."""
    write_translation(root, language, lambda text: f"{prefix} {text}", fuzzy=fuzzy, missing=missing)


def test_a_language_without_a_catalog_is_blocked(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws, language="ar")
    assert set(drafts) == {"blog", "newsletter", "video", "briefing", "social"}
    for draft in drafts.values():
        assert isinstance(draft, Blocked)
        assert "no translation into ar" in draft.reason and "no PO file" in draft.reason
    assert all(isinstance(d, Draft) for d in by_channel(ws, language="en").values())


@pytest.mark.parametrize(
    ("fuzzy", "missing", "why"),
    [
        ("launch/title", None, "1 fuzzy"),
        (None, "launch/call_to_action", "1 missing"),
    ],
)
def test_a_fuzzy_or_missing_entry_blocks_the_language(
    ws: Path, campaign: WriteCampaign, fuzzy: str | None, missing: str | None, why: str
) -> None:
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    write_po(ws, "ar", fuzzy=fuzzy, missing=missing)
    for draft in by_channel(ws, language="ar").values():
        assert isinstance(draft, Blocked)
        assert why in draft.reason and "into ar" in draft.reason and draft.delivery


def test_a_complete_catalog_is_used(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    write_po(ws, "ar")
    drafts = by_channel(ws, language="ar")
    for draft in drafts.values():
        assert isinstance(draft, Draft)
        assert (draft.language, draft.direction, draft.fallback, draft.title) == (
            "ar",
            "rtl",
            False,
            "ترجمة Free clinics",
        )
    assert "ترجمة Read" in drafts["blog"].html and SOURCE_NOTE not in drafts["blog"].html


def test_under_the_source_policy_the_source_text_goes_out_with_a_note(ws: Path, campaign: WriteCampaign) -> None:
    set_policy(ws, "source")
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    write_po(ws, "ar", fuzzy="launch/title")  # stale: as good as none
    drafts = by_channel(ws, language="ar")
    for draft in drafts.values():
        assert isinstance(draft, Draft)
        assert (draft.language, draft.direction, draft.fallback, draft.title) == ("en", "ltr", True, "Free clinics")
        # Nothing of the stale catalog ("ترجمة <source>") is used.
        assert not re.search(r"ترجمة [A-Za-z]", json.dumps(draft_json(draft), ensure_ascii=False)), draft.channel
    # The note is for the reader, so it is in the reader's language.
    for document in (
        drafts["blog"].html,
        drafts["newsletter"].html,
        drafts["newsletter"].text,
        drafts["briefing"].html,
    ):
        assert words("ar").gettext(SOURCE_NOTE) in document and SOURCE_NOTE not in document
    # The delivery keeps its own language in its tags: it is the Arabic readers' copy.
    assert all("utm_content=parents-ar" in link.url for link in drafts["blog"].links)
    for draft in by_channel(ws, language="en").values():
        assert not draft.fallback and SOURCE_NOTE not in json.dumps(draft_json(draft))


def test_the_fallback_note_is_in_the_readers_language(ws: Path, campaign: WriteCampaign) -> None:
    set_policy(ws, "source")
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    blog = by_channel(ws, language="ar")["blog"]
    assert words("ar").gettext(SOURCE_NOTE) in blog.html


class _NoteElement(HTMLParser):
    """The attributes of the innermost element around `text` (lang and dir inherited)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.stack, self.found = text, [{}], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "br", "img", "hr", "link"):
            inherited = {k: v for k, v in self.stack[-1].items() if k in ("lang", "dir")}
            self.stack.append({**inherited, **{k: v for k, v in attrs if k in ("lang", "dir")}})

    def handle_endtag(self, tag: str) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.text in data and self.found is None:
            self.found = dict(self.stack[-1])


def test_the_fallback_note_carries_its_own_language_and_direction(ws: Path, campaign: WriteCampaign) -> None:
    set_policy(ws, "source")
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws, language="ar")
    note = words("ar").gettext(SOURCE_NOTE)
    for channel in ("blog", "newsletter", "briefing"):
        parser = _NoteElement(note)
        parser.feed(drafts[channel].html)
        assert parser.found == {"lang": "ar", "dir": "rtl"}, channel


def test_an_indented_code_block_stays_a_code_block(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": "Intro.\n\n    code line 1\n    code line 2\n\nAfter.\n"})
    assert "<pre><code>code line 1\ncode line 2\n</code></pre>" in by_channel(ws)["blog"].html


def test_a_fenced_code_block_stays_a_code_block(ws: Path, campaign: WriteCampaign) -> None:
    campaign(
        link_campaign(), files={"messages/launch.md": "Intro.\n\n```\ncode line 1\n\ncode line 3\n```\n\nAfter.\n"}
    )
    assert "<pre><code>code line 1\n\ncode line 3\n</code></pre>" in by_channel(ws)["blog"].html


# ============================================================================== templates


def test_a_workspace_template_overrides_the_built_in_one(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    built_in = by_channel(ws)
    (ws / "templates").mkdir()
    (ws / "templates" / "blog.html.j2").write_text(
        '<article class="unit-post" dir="{{ direction }}"><h1>{{ title }}</h1>{{ body_html | safe }}'
        "<footer>{{ acknowledgement }}</footer></article>\n",
        encoding="utf-8",
    )
    drafts = by_channel(ws)
    blog = drafts["blog"]
    assert blog.html.startswith('<article class="unit-post" dir="ltr"><h1>Free clinics</h1><p>Read ')
    assert 'class="km-post"' in built_in["blog"].html and 'class="km-post"' not in blog.html
    # Autoescaping still applies to a workspace's .html.j2 template.
    campaign(link_campaign(title="Fish & chips > 3"), files={"messages/launch.md": LINK_BODY})
    assert "<h1>Fish &amp; chips &gt; 3</h1>" in by_channel(ws)["blog"].html
    # Only that template is replaced.
    assert drafts["newsletter"].html == built_in["newsletter"].html


# ========================================================================= acknowledgement

ACK = "This work is funded by the National Institute for Health and Care Research (NIHR)."  # what `kmcomms init` writes, in part
ARABIC_ACK = "هذا العمل ممول من المعهد الوطني لأبحاث الصحة والرعاية (NIHR)."


def public_parts(drafts: dict[str, Draft | Blocked]) -> Iterator[tuple[str, str]]:
    """(where, text) of every public output that must carry the acknowledgement."""
    yield "blog html", drafts["blog"].html
    yield "newsletter html", drafts["newsletter"].html
    yield "newsletter text", drafts["newsletter"].text
    yield "briefing html", drafts["briefing"].html
    yield "video description", drafts["video"].description


def test_the_acknowledgement_is_on_every_public_kind(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws)
    [acknowledgement] = {d.acknowledgement for d in drafts.values()}
    assert acknowledgement.startswith(ACK[:-1])
    assert [where for where, text in public_parts(drafts) if acknowledgement not in text] == []


def test_a_translated_acknowledgement_is_used_in_its_language(ws: Path, campaign: WriteCampaign) -> None:
    settings = ws / "kmcomms.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text.replace(
            "\n[store]", f"acknowledgements = {{ ar = {json.dumps(ARABIC_ACK, ensure_ascii=False)} }}\n\n[store]", 1
        ),
        encoding="utf-8",
    )
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    write_po(ws, "ar")
    arabic, english = by_channel(ws, language="ar"), by_channel(ws, language="en")
    assert {d.acknowledgement for d in arabic.values()} == {ARABIC_ACK}
    assert [where for where, text in public_parts(arabic) if ARABIC_ACK not in text] == []
    assert [where for where, text in public_parts(arabic) if ACK[:40] in text] == []
    assert [where for where, text in public_parts(english) if ARABIC_ACK in text or ACK[:40] not in text] == []


def test_without_a_translation_the_acknowledgement_stays_in_the_source_language(
    ws: Path, campaign: WriteCampaign
) -> None:
    campaign(link_campaign(languages="en, ar"), files={"messages/launch.md": LINK_BODY})
    write_po(ws, "ar")
    arabic = by_channel(ws, language="ar")
    assert [where for where, text in public_parts(arabic) if ACK[:40] not in text] == []


def test_kinds_render_to_their_draft_classes(ws: Path, campaign: WriteCampaign) -> None:
    campaign(link_campaign(), files={"messages/launch.md": LINK_BODY})
    drafts = by_channel(ws)
    assert {channel: type(draft) for channel, draft in drafts.items()} == {
        "blog": BlogPost,
        "newsletter": Newsletter,
        "video": VideoListing,
        "briefing": Briefing,
        "social": SocialPost,
    }
