"""The trial workspace the ledger and resolve/approve tests share: one campaign with a
launch on the blog and the newsletter, then the newsletter weekly, on folder channels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workspaces import FOLDER_CHANNELS, audience, campaign_yaml, settings_toml

CHANNELS = FOLDER_CHANNELS + "grace_minutes = 120\n"

MESSAGES = """\
  - id: launch
    audiences: [parents]
    at: 2027-01-11 09:00
    title: Launch
    body: Hello.
  - id: weekly
    audiences: [parents]
    channels: [news]
    repeat: {every: 1 week, on: [monday], at: "10:00", starts: 2027-01-11, until: 2027-02-28}
    title: Weekly
    body: Again.
"""


def trial(languages: str = "en") -> str:
    """The campaign: a launch on the blog and the newsletter, then the newsletter weekly."""
    return campaign_yaml(
        MESSAGES, audiences=audience(languages=languages, channels="blog, news"), starts="2027-01-04", ends="2027-06-30"
    )


LAUNCH = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)


def make(root: Path, url: str, *, languages: str = "en", approval: str = "false", campaign: str | None = None) -> Path:
    (root / "campaigns" / "trial").mkdir(parents=True, exist_ok=True)
    policy = f'[policy]\nrequire_approval = {approval}\nmissing_translation = "block"\n'
    (root / "kmcomms.toml").write_text(settings_toml(url, policy=policy, channels=CHANNELS), encoding="utf-8")
    text = campaign if campaign is not None else trial(languages)
    (root / "campaigns" / "trial" / "campaign.yaml").write_text(text, encoding="utf-8")
    return root
