"""A workspace whose blog and video channels publish to one static site, with a campaign
translated into Urdu and Arabic (right to left), rendered to real drafts. Shared by the
site tests (test_static_site, test_video_page, test_site_browser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from workspaces import audience, campaign_yaml, write_translations

from kmcomms.campaign.load import load_paths
from kmcomms.channels.base import Channel
from kmcomms.channels.registry import open_channels
from kmcomms.plan.deliveries import Delivery, Window, plan_of
from kmcomms.render.drafts import Draft
from kmcomms.render.renderer import Renderer
from kmcomms.render.tracking import Tracker

NOW = datetime(2027, 1, 1, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:8760"
UNIT = "Site Test Unit"
ACKNOWLEDGEMENT = "This work is funded by the NIHR. The views expressed are those of the authors."
ACKNOWLEDGEMENT_UR = "یہ کام NIHR کی مالی اعانت سے ہے۔"
PURPOSE = "We find out how to protect children from infections, and tell families what we learn."
PURPOSE_UR = "ہم بچوں کو انفیکشن سے بچانے کے طریقے تلاش کرتے ہیں۔"
#: The tracking server's address when a case is made with tracking on.
TRACKING = "http://127.0.0.1:8750"

SETTINGS = """\
[unit]
id = "site-unit"
name = "{unit}"
acknowledgement = "{acknowledgement}"
acknowledgements = {{ ur = "{acknowledgement_ur}" }}
purpose = "{purpose}"
purposes = {{ ur = "{purpose_ur}" }}
{tracking}

[channels.blog]
adapter = "static-site"
path = "site"
base_url = "{base_url}"

[channels.video]
adapter = "video-page"
path = "site"
base_url = "{base_url}"
{video_settings}
"""

VIDEO_YOUTUBE = """\
      youtube_id: M7lc1UVf-VE
      transcript: https://example.org/transcripts/launch"""

MESSAGES = """\
  - id: launch
    audiences: [parents, clinicians]
    at: 2027-01-11 09:00
    title: Your questions about the vaccine, answered
    summary: Clinicians answer what parents ask most.
    body: messages/launch.md
    call_to_action:
      text: Find out more
      url: https://www.nhs.uk/vaccinations/hpv-vaccine/
    video:
{video}
  - id: clinics
    audiences: [parents]
    channels: [blog]
    at: 2027-02-01 09:00
    title: School clinics open in February
    body: |
      Nurses visit [every school](https://example.org/schools) in February.

      Ask at the school office.
"""

#: Parents in English, Urdu and Arabic, school nurses in English, both on the blog and the videos.
AUDIENCES = audience(languages="en, ur, ar", channels="blog, video") + audience(
    "clinicians", name="School nurses", kind="clinicians", channels="blog, video"
)

LAUNCH_BODY = "Clinicians answer the questions parents ask most.\n\nWatch the films & tell a friend.\n"

#: A prefix in each right-to-left language, so translated text reads right to left.
PREFIXES = {"ur": "اردو میں ", "ar": "بالعربية "}


@dataclass
class SiteCase:
    """The workspace at `root`, its channels, and every delivery rendered."""

    root: Path
    channels: dict[str, Channel]
    drafts: list[tuple[Delivery, Draft]]

    @property
    def site(self) -> Path:
        return self.root / "site"

    def on(self, channel: str, language: str | None = None) -> list[tuple[Delivery, Draft]]:
        return [(d, draft) for d, draft in self.drafts if d.channel == channel and language in (None, d.language)]


def make_site_case(
    root: Path,
    *,
    video: str = VIDEO_YOUTUBE,
    video_settings: str = "",
    files: dict[str, bytes] | None = None,
    tracking: bool = False,
) -> SiteCase:
    """Write the workspace (the launch message's `video:` lines and the video channel's
    extra settings given), translate it into Urdu and Arabic, render every delivery (with
    links through the tracking server at TRACKING when `tracking`)."""
    folder = root / "campaigns" / "hpv"
    (folder / "messages").mkdir(parents=True)
    (root / "kmcomms.toml").write_text(
        SETTINGS.format(
            unit=UNIT,
            acknowledgement=ACKNOWLEDGEMENT,
            acknowledgement_ur=ACKNOWLEDGEMENT_UR,
            purpose=PURPOSE,
            purpose_ur=PURPOSE_UR,
            tracking=f'[tracking]\nbase_url = "{TRACKING}"\n' if tracking else "",
            base_url=BASE_URL,
            video_settings=video_settings,
        ),
        encoding="utf-8",
    )
    (folder / "campaign.yaml").write_text(
        campaign_yaml(
            MESSAGES.format(video=video), title="HPV conversations", audiences=AUDIENCES, reached="parents, clinicians"
        ),
        encoding="utf-8",
    )
    (folder / "messages" / "launch.md").write_text(LAUNCH_BODY, encoding="utf-8")
    for name, content in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    write_translations(root, PREFIXES)
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    tracker = Tracker(TRACKING, "a secret for the tests") if tracking else None
    renderer = Renderer(workspace, result.campaigns, tracker)
    drafts = []
    for delivery in plan_of(result, Window(start=NOW), NOW).deliveries:
        draft = renderer.render(delivery)
        assert isinstance(draft, Draft), draft
        drafts.append((delivery, draft))
    return SiteCase(root, open_channels(workspace), drafts)


class Reading(HTMLParser):
    """What a reader meets on a page: its text (and the words screen readers read from
    `aria-label`, `alt` and `title` attributes), and each link's address and words."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._link: list[str] | None = None
        self._href = ""
        self._hidden = 0
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        self.texts += [value for name, value in attrs if name in ("aria-label", "alt", "title") and value]
        if tag == "a":
            self._link, self._href = [], values.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        if tag == "a" and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._link is not None:
            self._link.append(data)
        if data.strip():
            self.texts.append(" ".join(data.split()))
