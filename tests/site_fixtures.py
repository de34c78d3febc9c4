"""A workspace whose blog and video channels publish to one static site, with a campaign
translated into Urdu and Arabic (right to left), rendered to real drafts. Shared by the
site tests (test_static_site, test_video_page, test_site_browser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from workspaces import audience, campaign_yaml, write_translations

from kmcomms.campaign import load_paths
from kmcomms.channels.base import Channel
from kmcomms.channels.registry import open_channels
from kmcomms.plan import Delivery, Window
from kmcomms.render import Draft, Renderer

NOW = datetime(2027, 1, 1, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:8760"
UNIT = "Site Test Unit"
ACKNOWLEDGEMENT = "This work is funded by the NIHR. The views expressed are those of the authors."
ACKNOWLEDGEMENT_UR = "یہ کام NIHR کی مالی اعانت سے ہے۔"

SETTINGS = '''\
[unit]
id = "site-unit"
name = "{unit}"
acknowledgement = "{acknowledgement}"
acknowledgements = {{ ur = "{acknowledgement_ur}" }}

[channels.blog]
adapter = "static-site"
path = "site"
base_url = "{base_url}"

[channels.video]
adapter = "video-page"
path = "site"
base_url = "{base_url}"
{video_settings}
'''

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
      Nurses visit every school in February.

      Ask at the school office.
"""

#: Parents in English, Urdu and Arabic, school nurses in English, both on the blog and the videos.
AUDIENCES = (audience(languages="en, ur, ar", channels="blog, video")
             + audience("clinicians", name="School nurses", kind="clinicians", channels="blog, video"))

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
        return [(d, draft) for d, draft in self.drafts
                if d.channel == channel and language in (None, d.language)]


def make_site_case(root: Path, *, video: str = VIDEO_YOUTUBE, video_settings: str = "",
                   files: dict[str, bytes] | None = None) -> SiteCase:
    """Write the workspace (the launch message's `video:` lines and the video channel's
    extra settings given), translate it into Urdu and Arabic, render every delivery."""
    folder = root / "campaigns" / "hpv"
    (folder / "messages").mkdir(parents=True)
    (root / "kmcomms.toml").write_text(SETTINGS.format(
        unit=UNIT, acknowledgement=ACKNOWLEDGEMENT, acknowledgement_ur=ACKNOWLEDGEMENT_UR, base_url=BASE_URL,
        video_settings=video_settings), encoding="utf-8")
    (folder / "campaign.yaml").write_text(campaign_yaml(MESSAGES.format(video=video), title="HPV conversations",
                                                        audiences=AUDIENCES, reached="parents, clinicians"), encoding="utf-8")
    (folder / "messages" / "launch.md").write_text(LAUNCH_BODY, encoding="utf-8")
    for name, content in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    write_translations(root, PREFIXES)
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    drafts = []
    for delivery in result.plan(Window(start=NOW), NOW).deliveries:
        draft = renderer.render(delivery)
        assert isinstance(draft, Draft), draft
        drafts.append((delivery, draft))
    return SiteCase(root, open_channels(workspace), drafts)
