"""`kmcomms init`: a new workspace that works with no account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from kmcomms.errors import UsageError

SETTINGS_TEMPLATE = """\
# kmcomms workspace settings. Secrets are never written here: write "${{VAR}}" and set VAR
# in the environment. Channel instances below are what campaigns name in `channels:`.

[unit]
id = {unit_id}
name = {unit_name}
# Must appear on every public output (blog, newsletter, briefing).
acknowledgement = "This work is funded by the National Institute for Health and Care Research (NIHR). The views expressed are those of the author(s) and not necessarily those of the NIHR or the Department of Health and Social Care."

[store]
url = "sqlite:///kmcomms.db"          # or "postgresql+psycopg://user@host/db" for several daemons

[policy]
require_approval = false
missing_translation = "block"         # or "source": send the source-language text instead

# Counting clicks, opens and one-click unsubscribes ("kmcomms track", or the daemon, serves
# them): links in deliveries then point at this address, so set it where readers can reach it
# (https, which mail providers require for one-click unsubscribe).
# [tracking]
# base_url = "https://track.example.org"

# Local channels: no account needed. The site is written to ./site (`kmcomms serve` shows it).
[channels.blog]
adapter = "static-site"
path = "site"

# Mail goes to a mail catcher on this machine while you try kmcomms out, e.g.
# `python -m aiosmtpd -n -l 127.0.0.1:8025`. To send for real, name your mail server
# (host, port 587, username) with password = "${{SMTP_PASSWORD}}", and set [tracking] above.
[channels.newsletter]
adapter = "smtp"
host = "127.0.0.1"
port = 8025
sender = {sender}
list = "news"

[channels.video]
adapter = "video-page"
path = "site"

[channels.briefing]
# Briefings (HTML and PDF) on the site, and mailed to the decision makers on "policy-leads".
adapter = "briefing"
list = "policy-leads"
host = "127.0.0.1"
port = 8025
sender = {sender}
"""


def _toml_string(text: str) -> str:
    # JSON's string escapes are valid in a TOML basic string, so any name stays one value.
    return json.dumps(text, ensure_ascii=False)


GITIGNORE = "kmcomms.db*\nsite/\n*.mo\n.kmcomms/\n"


@click.command()
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--unit-id", help="Slug of the research unit (default: from the folder name).")
@click.option("--unit-name", default="Research unit", show_default=True, help="The unit's full name, shown on outputs.")
def init(folder: Path, unit_id: str | None, unit_name: str) -> None:
    """Create a workspace in FOLDER (default: here): kmcomms.toml with local channels and a
    SQLite store, empty campaigns/ and translations/, and campaign.schema.json for editors."""
    from kmcomms.campaign.workspace import SETTINGS_FILE, load_workspace
    from kmcomms.cli.schema import campaign_schema

    settings = folder / SETTINGS_FILE
    if settings.exists():
        raise UsageError(f"{settings} already exists — this folder is a workspace already")
    unit_id = unit_id or re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-") or "unit"
    folder.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        SETTINGS_TEMPLATE.format(
            unit_id=_toml_string(unit_id),
            unit_name=_toml_string(unit_name),
            sender=_toml_string(f"{unit_name} <news@example.org>"),
        ),
        encoding="utf-8",
    )
    for sub in ("campaigns", "translations"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "campaign.schema.json").write_text(campaign_schema(), encoding="utf-8")
    if not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    load_workspace(folder)  # what we wrote must load; a failure here is a bug
    click.echo(f"created a workspace in {folder}: edit {settings.name}, then `kmcomms new`")
