"""`kmcomms approve CAMPAIGN --by NAME`: sign off messages as they render now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kmcomms.cli.options import State, format_option, workspace_option
from kmcomms.errors import KmcommsError, UsageError

if TYPE_CHECKING:
    from kmcomms.campaign.load import LoadResult
    from kmcomms.campaign.models import Campaign
    from kmcomms.campaign.workspace import Workspace


def _campaign(loaded: LoadResult, workspace: Workspace, campaign_id: str) -> Campaign:
    """The campaign `campaign_id` as loaded; a `KmcommsError` saying why when it cannot be approved."""
    from kmcomms.campaign.fields import close_match
    from kmcomms.publish.dispatch import held_campaigns

    found = {c.campaign.id: c for c in loaded.campaigns}
    if campaign_id in found:
        return found[campaign_id].campaign
    if campaign_id in held_campaigns(loaded, workspace):
        raise KmcommsError(f"campaign {campaign_id} has errors — run `kmcomms validate` and fix them before approving")
    names = sorted(found)
    raise KmcommsError(
        f'no campaign "{campaign_id}"{close_match(campaign_id, names)} — campaigns: {", ".join(names) or "none"}'
    )


@click.command()
@click.argument("campaign_id", metavar="CAMPAIGN")
@click.option(
    "--message", "messages", multiple=True, metavar="ID", help="Approve this message (repeatable; default: all)."
)
@click.option("--by", "by", required=True, metavar="NAME", help="Who approves (recorded with the approval).")
@workspace_option
@format_option("text", "json")
@click.pass_obj
def approve(state: State, campaign_id: str, messages: tuple[str, ...], by: str, path: Path | None, fmt: str) -> None:
    """Approve a campaign's messages (all, or those named) as they render now, in every
    language. With `require_approval = true` a delivery goes out only while its message
    is unchanged since it was approved: an edit to the text or a translation needs a
    new approval. `kmcomms preview` shows what you approve."""
    from kmcomms.campaign.fields import close_match
    from kmcomms.ledger.store import open_store
    from kmcomms.publish.approvals import approve as record_approval
    from kmcomms.publish.dispatch import message_hash
    from kmcomms.publish.runtime import load_here
    from kmcomms.render.renderer import Renderer
    from kmcomms.translations.catalogs import target_languages

    if not by.strip():
        raise UsageError("--by needs the name of who approves")
    workspace, loaded = load_here(path)
    campaign = _campaign(loaded, workspace, campaign_id)
    ids = [m.id for m in campaign.messages]
    for message in messages:
        if message not in ids:
            raise UsageError(
                f'campaign {campaign_id} has no message "{message}"{close_match(message, ids)} — messages: {", ".join(ids)}'
            )
    chosen = list(dict.fromkeys(messages)) or ids
    renderer = Renderer(workspace, loaded.campaigns)
    now = state.clock()
    engine = open_store(workspace.settings.store.url, workspace.root)
    try:
        record_approval(engine, renderer, campaign_id, chosen, by.strip(), now)
    finally:
        engine.dispose()
    languages = [campaign.language, *target_languages(campaign)]
    rows = [
        {
            "campaign": campaign_id,
            "message": m,
            "title": next(x.title for x in campaign.messages if x.id == m),
            "content_hash": message_hash(renderer, campaign_id, m),
            "languages": list(dict.fromkeys(languages)),
            "by": by.strip(),
            "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for m in chosen
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f'approved {row["campaign"]}/{row["message"]} "{row["title"]}" as it renders now '
            f"({', '.join(row['languages'])}; content {row['content_hash'][:12]}) by {row['by']}"
        )
    if not workspace.settings.policy.require_approval:
        click.echo("note: [policy] require_approval is false in kmcomms.toml, so nothing waits for approvals", err=True)
