"""Pre-flight checks: each fires on a crafted message, none on a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunCli, WriteCampaign
from workspaces import audience, campaign_yaml, write_translation

from kmcomms.campaign.load import load_paths
from kmcomms.campaign.models import Audience
from kmcomms.channels.youtube import YouTube, tags_length
from kmcomms.errors import Severity
from kmcomms.render.checks import check_draft
from kmcomms.render.drafts import Blocked, BlogPost, Newsletter, Problem, SocialPost, VideoListing
from kmcomms.render.preflight import preflight
from kmcomms.render.readability import flesch_kincaid_grade, reading_age

ACK = "Funded by the NIHR."

SIMPLE = (
    "The HPV vaccine helps protect against some cancers. It is offered to children in Year 8 at school. "
    "Most young people only need one dose. If your child missed it, ask the school nurse or your GP about a catch-up dose."
)
ABSTRACT = (
    "This qualitative study explored the determinants of vaccine hesitancy among parents from minority ethnic "
    "communities in England. Semi-structured interviews were conducted and analysed thematically. Participants "
    "expressed considerable uncertainty regarding vaccine safety, frequently contextualised by institutional "
    "mistrust and previous negative experiences of healthcare services. Interventions co-produced with community "
    "organisations may improve acceptability and uptake."
)

#: The messages of a campaign, the second with fields the tests fill in; clean as it stands.
MESSAGES = """\
  - id: other
    audiences: [parents]
    channels: [blog]
    at: 2027-01-11 08:00
    title: Films for parents
    body: Watch the films.
  - id: launch
    audiences: [parents]
    channels: [{channels}]
{schedule}
    title: {title}
    summary: Short films where nurses answer what parents ask.
    body: |
      {body}
    call_to_action:
      text: Find out more
      url: https://www.nhs.uk/vaccinations/hpv-vaccine/
"""


def crafted(
    *,
    body: str = SIMPLE,
    title: str = "The films are out",
    channels: str = "blog, newsletter, video",
    kind: str = "public",
    languages: str = "en",
    schedule: str = "    at: 2027-01-11 09:00",
) -> str:
    parents = audience(
        kind=kind, languages=languages, channels="blog, newsletter, video, social", more="    reading_age: 11\n"
    )
    return campaign_yaml(
        MESSAGES.format(body=body, title=title, channels=channels, schedule=schedule),
        title="Pre-flight",
        audiences=parents,
    )


def add_settings(workspace: Path, text: str) -> None:
    settings = workspace / "kmcomms.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


@pytest.fixture
def ws(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test workspace with a Mastodon channel named "social" (its token in the environment)."""
    monkeypatch.setenv("KM_TEST_PREFLIGHT_TOKEN", "not-a-real-token")
    add_settings(
        workspace,
        '[channels.social]\nadapter = "mastodon"\nurl = "https://mastodon.example.org"\n'
        'token = "${KM_TEST_PREFLIGHT_TOKEN}"\n',
    )
    return workspace


def findings(kmcomms: RunCli, workspace: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    code, out, err = kmcomms("validate", workspace, "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def codes(found: list[dict[str, object]]) -> list[str]:
    return [str(f["code"]) for f in found]


def message_position(path: Path, message: str = "launch") -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() == f"- id: {message}":
            return number, line.index("id:") + 1
    raise AssertionError(f"no message {message} in {path}")


# --- reading age -------------------------------------------------------------------------


def test_flesch_kincaid_follows_the_formula() -> None:
    # 6 words, 1 sentence, 6 syllables: 0.39 × 6 + 11.8 × 1 − 15.59
    assert flesch_kincaid_grade("The cat sat on the mat.") == pytest.approx(-1.45)
    assert reading_age("The cat sat on the mat.") == pytest.approx(3.55)
    # im-mu-ni-sa-tion (5) is (1) im-por-tant (3): 0.39 × 3 + 11.8 × 9/3 − 15.59
    assert flesch_kincaid_grade("Immunisation is important.") == pytest.approx(20.98)


def syllables_per_word(sentence: str) -> float:
    """The syllables a word of a one-sentence `sentence`, read back from its grade."""
    words = len(sentence.split())
    return (flesch_kincaid_grade(sentence) - 0.39 * words + 15.59) / 11.8


@pytest.mark.parametrize(
    ("sentence", "syllables"),
    [
        ("People wanted tables.", 6),  # pyphen's default margins count each as one
        ("Many are very easy.", 7),  # hyphenation leaves ma-ny, ve-ry and ea-sy whole
        ("Your video about the area.", 10),  # a first y is no vowel; vi-de-o, ar-e-a
        ("Makes places asked agreed.", 6),  # silent -es and -ed, but pla-ces and a-greed
    ],
)
def test_syllables(sentence: str, syllables: int) -> None:
    assert syllables_per_word(sentence) * len(sentence.split()) == pytest.approx(syllables)


def test_initialisms_are_spelled_out() -> None:
    # An initialism is read letter by letter: N-H-S.
    assert flesch_kincaid_grade("Ask the NHS.") == pytest.approx(0.39 * 3 + 11.8 * 5 / 3 - 15.59)


def test_reading_age_of_known_texts() -> None:
    assert 8 <= reading_age(SIMPLE) <= 10
    assert (
        8
        <= reading_age(
            "Measles spreads very easily. It can make children very ill. Two doses of the vaccine keep your child safe."
        )
        <= 10
    )
    assert reading_age(ABSTRACT) > 16


def test_blank_lines_end_sentences_and_addresses_are_not_words() -> None:
    heading = "Key points\n\nThe cat sat on the mat."
    assert flesch_kincaid_grade(heading) == pytest.approx(0.39 * 4 + 11.8 * 8 / 8 - 15.59)  # 2 sentences, 8 words
    assert reading_age("The cat sat on the mat. https://example.org/a-very-long-address?utm_source=x") == pytest.approx(
        3.55
    )
    assert reading_age("") == 5.0


# --- check_draft on its own --------------------------------------------------------------

COMMON = {
    "delivery": "0123456789ab",
    "campaign": "c",
    "message": "launch",
    "audiences": ("parents",),
    "channel": "x",
    "language": "en",
    "direction": "ltr",
    "fallback": False,
    "title": "The films are out",
    "acknowledgement": ACK,
    "links": (),
}
PUBLIC = Audience(name="Parents", kind="public", languages=["en"], intent="act", reading_age=11, channels=["x"])


#: The rules of the platform a video listing is checked against (the channel's adapter's).
YOUTUBE = YouTube.draft_problems


def video(**changes: object) -> VideoListing:
    fields = {
        **COMMON,
        "description": f"Watch the films.\n\n{ACK}",
        "tags": ("c", "parents"),
        "youtube_id": None,
        "peertube_id": None,
        "file": None,
        "transcript": None,
        **changes,
    }
    return VideoListing(**fields)


def blog(html: str, **changes: object) -> BlogPost:
    fields = {
        **COMMON,
        "slug": "launch",
        "excerpt": "",
        "tags": (),
        **changes,
        "html": f"<article><h1>The films are out</h1>{html}<footer><p>{ACK}</p></footer></article>",
    }
    return BlogPost(**fields)


def test_a_clean_draft_has_no_problems() -> None:
    assert check_draft(video(), PUBLIC, ACK, YOUTUBE) == []
    assert check_draft(blog("<p>Watch the films.</p>"), PUBLIC, ACK) == []


def test_youtube_limits() -> None:
    assert [p.code for p in check_draft(video(title="x" * 101), PUBLIC, ACK, YOUTUBE)] == ["video-title-too-long"]
    assert check_draft(video(title="x" * 100), PUBLIC, ACK, YOUTUBE) == []
    # 2 bytes a letter: 2600 letters are 5200 bytes, though only 2600 characters.
    long = check_draft(video(description=f"{'ب' * 2600}\n\n{ACK}", language="ur"), PUBLIC, ACK, YOUTUBE)
    assert [p.code for p in long] == ["video-description-too-long"]
    assert "5000" in long[0].message
    brackets = check_draft(video(title="A <b>bold</b> title"), PUBLIC, ACK, YOUTUBE)
    assert [(p.severity, p.code) for p in brackets] == [(Severity.ERROR, "video-angle-brackets")]


def test_youtube_counts_tags_with_commas_and_quotes() -> None:
    assert tags_length(["hpv", "two words"]) == 3 + 1 + 11
    assert tags_length([]) == 0
    many = tuple(f"tag number {i}" for i in range(40))  # 12 or 13 characters, quoted, with commas
    assert tags_length(many) > 500
    assert [p.code for p in check_draft(video(tags=many), PUBLIC, ACK, YOUTUBE)] == ["video-tags-too-long"]


def test_social_post_over_its_limit() -> None:
    post = SocialPost(**{**COMMON, "text": "x" * 301, "limit": 300})
    assert [(p.severity, p.code) for p in check_draft(post, PUBLIC, ACK)] == [(Severity.ERROR, "post-too-long")]
    assert check_draft(SocialPost(**{**COMMON, "text": "x" * 300, "limit": 300}), PUBLIC, ACK) == []


def test_newsletter_acknowledgement_is_checked_in_both_parts() -> None:
    letter = Newsletter(
        **{
            **COMMON,
            "subject": "Hello",
            "preheader": "",
            "html": f"<p>Hi</p><p>{ACK}</p>",
            "text": "Hi",
        }
    )
    problems = check_draft(letter, PUBLIC, ACK)
    assert [p.code for p in problems] == ["acknowledgement-missing"]
    assert "plain-text part" in problems[0].message and "newsletter.txt.j2" in problems[0].message


def test_a_blocked_delivery_is_a_warning_naming_the_fix() -> None:
    [problem] = check_draft(Blocked("0123456789ab", "no translation into ur"), PUBLIC, ACK)
    assert problem.severity is Severity.WARNING and problem.code == "translation-blocked"
    assert "0123456789ab" in problem.message and "no translation into ur" in problem.message
    assert 'missing_translation = "source"' in problem.message and "kmcomms translations status" in problem.message


def test_problems_are_errors_first() -> None:
    problems = check_draft(blog(f'<p>{ABSTRACT}</p><img src="a.png">'), PUBLIC, ACK)
    assert [p.code for p in problems] == ["image-alt", "reading-age"]
    assert all(isinstance(p, Problem) for p in problems)


# --- through `kmcomms validate` ----------------------------------------------------------


def test_a_clean_campaign_has_no_findings(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(channels="blog, newsletter, video, social"))
    code, found = findings(kmcomms, ws)
    assert (code, found) == (0, [])


def test_reading_age_above_the_audience_target(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    path = campaign(crafted(body=ABSTRACT, channels="blog"))
    code, found = findings(kmcomms, ws)
    assert code == 0  # a warning
    [finding] = found
    assert finding["code"] == "reading-age" and finding["severity"] == "warning"
    message = str(finding["message"])
    assert message.startswith("launch → parents, en, blog (delivery ")
    assert "above the audience's 11" in message and "the NHS aims for 9 to 11" in message
    age = float(message.split("reading age is ")[1].split(" ")[0])
    assert age > 16
    assert (finding["line"], finding["column"]) == message_position(path)


@pytest.mark.parametrize("kind", ["clinicians", "policy", "researchers"])
def test_reading_age_is_only_for_the_public_and_patients(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign, kind: str
) -> None:
    campaign(crafted(body=ABSTRACT, channels="blog", kind=kind))
    assert findings(kmcomms, ws) == (0, [])


def test_reading_age_is_only_for_english(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(
        crafted(body=ABSTRACT, channels="blog")
        .replace("language: en", "language: fr")
        .replace("languages: [en]", "languages: [fr]")
    )
    assert findings(kmcomms, ws) == (0, [])


def test_patients_get_the_reading_age_check(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body=ABSTRACT, channels="newsletter", kind="patients"))
    assert codes(findings(kmcomms, ws)[1]) == ["reading-age"]


def test_long_video_title_is_an_error_and_long_subject_a_warning(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign
) -> None:
    title = (
        "Your questions about the HPV vaccine, answered by the nurses and doctors who give it in schools and clinics"
    )
    assert len(title) > 100
    campaign(crafted(title=f'"{title}"', channels="video, newsletter"))
    code, found = findings(kmcomms, ws)
    assert code == 1
    assert sorted(codes(found)) == ["long-subject", "video-title-too-long"]
    error = next(f for f in found if f["code"] == "video-title-too-long")
    assert f"video title is {len(title)} characters, over YouTube's 100 — shorten the title" in str(error["message"])
    assert str(error["message"]).startswith("launch → parents, en, video (delivery ")


def test_long_video_description(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body="The cat sat on the mat. " * 220, channels="video"))
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (1, ["video-description-too-long"])


def test_social_post_over_the_mastodon_limit(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    # The renderer shortens a summary, never the title: a 520-character title cannot fit.
    campaign(crafted(title="x" * 520, channels="social"))
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (1, ["post-too-long"])
    assert "over the channel's 500" in str(found[0]["message"])


def test_image_without_alt_text(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body=f"{SIMPLE}\n\n      ![](uptake-chart.png)", channels="blog"))
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (1, ["image-alt"])
    assert "uptake-chart.png has no alt text" in str(found[0]["message"])


def test_image_with_alt_text_passes(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body=f"{SIMPLE}\n\n      ![Uptake rose each term](uptake-chart.png)", channels="blog"))
    assert findings(kmcomms, ws) == (0, [])


def test_http_link_is_a_warning_once_per_message(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    body = f"{SIMPLE} Read [the study](http://example.org/study) or [write to us](mailto:team@example.org)."
    schedule = '    repeat:\n      every: 2 weeks\n      at: "09:00"'
    campaign(crafted(body=body, channels="blog, newsletter", schedule=schedule))
    code, found = findings(kmcomms, ws)
    assert code == 0
    [finding] = found  # one finding for two channels and six occurrences
    assert finding["code"] == "insecure-link"
    message = str(finding["message"])
    assert "link http://example.org/study is not https — link to https://example.org/study" in message
    assert message.startswith("launch → parents, en, blog/newsletter (2 deliveries, first ")
    assert "mailto" not in message


def test_template_dropping_the_acknowledgement(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    (ws / "templates").mkdir()
    (ws / "templates" / "blog.html.j2").write_text(
        '<article><h1>{{ title }}</h1>{{ body_html | safe }}<p><a href="http://unit.example.org/">Our unit</a></p></article>\n'
    )
    path = campaign(crafted(channels="blog, newsletter"))
    code, found = findings(kmcomms, ws)
    assert code == 1
    # Both messages go to the blog; the newsletter keeps its acknowledgement.
    assert sorted((f["code"], f["line"]) for f in found) == sorted(
        [
            ("acknowledgement-missing", message_position(path, "other")[0]),
            ("acknowledgement-missing", message_position(path)[0]),
            ("insecure-link", message_position(path, "other")[0]),
            ("insecure-link", message_position(path)[0]),
        ]
    )
    assert all(", blog (delivery " in str(f["message"]) for f in found)
    assert any("templates/blog.html.j2" in str(f["message"]) for f in found if f["code"] == "acknowledgement-missing")


def test_an_untranslated_language_is_blocked(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    path = campaign(crafted(languages="en, ur", channels="blog"))
    code, found = findings(kmcomms, ws)
    assert code == 0
    assert codes(found) == ["translation-blocked", "translation-blocked"]  # messages "other" and "launch"
    assert [f["line"] for f in found] == [message_position(path, "other")[0], message_position(path)[0]]
    assert all(", ur, blog (delivery " in str(f["message"]) for f in found)


def test_under_the_source_policy_an_untranslated_language_falls_back(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign
) -> None:
    settings = ws / "kmcomms.toml"
    settings.write_text(settings.read_text().replace('missing_translation = "block"', 'missing_translation = "source"'))
    campaign(crafted(languages="en, ur", channels="blog"))
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (0, ["translation-fallback", "translation-fallback"])
    assert "goes out in the source language (en)" in str(found[0]["message"])


def write_urdu(workspace: Path, fuzzy: str | None = None) -> None:
    """Translate every string of the example campaign into Urdu (one entry fuzzy when named)."""
    write_translation(workspace, "ur", lambda text: f"ترجمہ {text}", fuzzy=fuzzy)


def test_a_complete_translation_passes_and_a_stale_one_is_blocked(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign
) -> None:
    campaign(crafted(languages="en, ur", channels="blog"))
    write_urdu(ws)
    assert findings(kmcomms, ws) == (0, [])
    (ws / "translations").rename(ws / "old")
    write_urdu(ws, fuzzy="launch/title")
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (0, ["translation-blocked"])
    assert str(found[0]["message"]).startswith("launch → parents, ur, blog (delivery ")
    assert "fuzzy" in str(found[0]["message"])


def test_a_channel_whose_adapter_is_unknown_is_one_error_in_kmcomms_toml_not_one_per_message(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign
) -> None:
    add_settings(ws, '[channels.print]\nadapter = "carrier-pigeon"\npath = "print"\n')
    campaign(
        crafted(channels="print").replace("channels: [blog, newsletter, video, social]", "channels: [blog, print]")
    )
    code, found = findings(kmcomms, ws)
    assert (code, codes(found)) == (1, ["unknown-adapter"])  # its messages cannot render, and are not blamed for it
    assert str(found[0]["path"]).endswith("kmcomms.toml") and 'no channel adapter "carrier-pigeon"' in str(
        found[0]["message"]
    )


def test_text_output_names_the_message_line(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    path = campaign(crafted(body=f"{SIMPLE}\n\n      ![](chart.png)", channels="blog"))
    line, column = message_position(path)
    code, out, err = kmcomms("validate", ws)
    assert code == 1 and "1 error, 0 warnings" in err
    [printed] = out.splitlines()
    assert f"example/campaign.yaml:{line}:{column}: error: launch → parents, en, blog (delivery " in printed
    assert printed.endswith("[image-alt]")


def test_no_preflight_skips_the_checks(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body=f"{SIMPLE}\n\n      ![](chart.png)", channels="blog"))
    assert findings(kmcomms, ws)[0] == 1
    assert findings(kmcomms, ws, "--no-preflight") == (0, [])


def test_a_campaign_with_load_errors_is_not_rendered(kmcomms: RunCli, ws: Path, campaign: WriteCampaign) -> None:
    campaign(crafted(body=f"{SIMPLE}\n\n      ![](chart.png)", channels="blog"), name="good")
    campaign(crafted(channels="blog").replace("Watch the films.", "messages/missing.md"), name="broken")
    code, found = findings(kmcomms, ws)
    assert code == 1
    assert sorted((Path(str(f["path"])).parent.name, f["code"]) for f in found) == [
        ("broken", "missing-body"),
        ("good", "image-alt"),
    ]


def test_preflight_returns_positioned_diagnostics(ws: Path, campaign: WriteCampaign) -> None:
    path = campaign(crafted(body=f"{SIMPLE} See <http://example.org/x>.", channels="blog"))
    result = load_paths([ws])
    assert result.diagnostics == []
    [workspace] = result.workspaces
    [diagnostic] = preflight(result, workspace)
    assert (diagnostic.path, (diagnostic.line, diagnostic.column)) == (str(path.resolve()), message_position(path))
    assert diagnostic.severity is Severity.WARNING and diagnostic.code == "insecure-link"
    assert "http://example.org/x" in diagnostic.message


def test_a_broken_workspace_template_is_an_error_not_a_crash(
    kmcomms: RunCli, ws: Path, campaign: WriteCampaign
) -> None:
    (ws / "templates").mkdir()
    (ws / "templates" / "blog.html.j2").write_text("<article>{{ title }</article>\n")
    campaign(crafted(channels="blog, newsletter"))
    code, found = findings(kmcomms, ws)
    assert code == 1
    assert set(codes(found)) == {"template-error"}
    assert all(", blog (" in str(f["message"]) and "templates/blog.html.j2" in str(f["message"]) for f in found)


def test_an_escaped_or_rewrapped_acknowledgement_counts() -> None:
    acknowledgement = "Funded by the NIHR's <Programme> & partners."
    escaped = "Funded by the NIHR&#39;s &lt;Programme&gt; &amp; partners."
    post = BlogPost(
        **{**COMMON, "slug": "s", "excerpt": "", "tags": (), "html": f"<p>Hi.</p><footer><p>{escaped}</p></footer>"}
    )
    assert check_draft(post, PUBLIC, acknowledgement) == []
    letter = Newsletter(
        **{
            **COMMON,
            "subject": "Hi",
            "preheader": "",
            "html": f"<p>{escaped}</p>",
            "text": "Hi.\n\n--\nFunded by the NIHR's <Programme>\n& partners.",
        }
    )
    assert check_draft(letter, PUBLIC, acknowledgement) == []
    listing = video(description="Watch.\n\nFunded by the NIHR's ‹Programme› & partners.")
    assert check_draft(listing, PUBLIC, acknowledgement) == []
    assert [p.code for p in check_draft(listing, PUBLIC, "Funded by someone else.")] == ["acknowledgement-missing"]
