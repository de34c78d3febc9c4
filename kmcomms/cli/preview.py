"""`kmcomms preview`: a delivery as its channel would get it, or a preview site of them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kmcomms.cli.options import State, format_option
from kmcomms.errors import UsageError

if TYPE_CHECKING:
    from kmcomms.plan.deliveries import Delivery
    from kmcomms.render.renderer import Renderer


def _campaign_path(campaign: str) -> Path:
    from kmcomms.campaign.workspace import find_workspace

    given = Path(campaign)
    if given.exists():
        return given
    root = find_workspace(Path.cwd())
    if root is None or not (root / "campaigns" / campaign).is_dir():
        raise UsageError(f'no campaign "{campaign}" here — name a campaign id of this workspace or a campaign folder')
    return root / "campaigns" / campaign


@click.command()
@click.argument("campaign")
@click.option("--message", help="Only this message id.")
@click.option("--audience", help="Only this audience.")
@click.option("--language", help="Only this language.")
@click.option("--channel", help="Only this channel.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a browsable preview site of every matching delivery into DIR (index.html).",
)
@format_option("text", "json")
@click.pass_obj
def preview(
    state: State,
    campaign: str,
    message: str | None,
    audience: str | None,
    language: str | None,
    channel: str | None,
    out: Path | None,
    fmt: str,
) -> None:
    """Show a delivery of CAMPAIGN (an id or folder) exactly as its channel would get it:
    translated, sanitised, links tagged. Nothing is sent.

    Without --out it shows the first delivery that matches the filters; with --out it
    writes every matching delivery of the whole plan as a site to open in a browser.
    """
    from kmcomms.campaign.load import load_paths
    from kmcomms.plan.deliveries import ALL_TIME, plan_of
    from kmcomms.render.preview import write_site
    from kmcomms.render.renderer import Renderer

    result = load_paths([_campaign_path(campaign)])
    result.raise_for_errors()
    workspace = result.workspaces[0]
    wanted = {"message": message, "language": language, "channel": channel}
    plan = plan_of(result, ALL_TIME, state.clock())
    deliveries = [
        d
        for d in plan.deliveries
        if all(v is None or getattr(d, k) == v for k, v in wanted.items())
        and (audience is None or audience in d.audiences)
    ]
    if not deliveries:
        raise UsageError("no delivery matches — see `kmcomms plan --all` for what there is")
    renderer = Renderer(workspace, result.campaigns)
    if out:
        count = write_site(renderer, deliveries, out)
        click.echo(f"wrote {count} deliveries: open {out / 'index.html'}")
        return
    _show(deliveries[0], renderer, fmt)
    if len(deliveries) > 1:
        click.echo(
            f"({len(deliveries) - 1} more deliveries match: narrow with --message, --audience, --language,"
            " --channel, or write them all with --out DIR)",
            err=True,
        )


def _show(delivery: Delivery, renderer: Renderer, fmt: str) -> None:
    """Print `delivery` as `renderer` renders it for its channel: JSON, or field by field."""
    from kmcomms.render.drafts import Blocked
    from kmcomms.render.preview import draft_fields, draft_json
    from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

    draft = renderer.render(delivery)
    if fmt == "json":
        click.echo(json.dumps(draft_json(draft), indent=2, ensure_ascii=False))
    elif isinstance(draft, Blocked):
        click.echo(f"delivery {delivery.id} is blocked: {draft.reason}")
    else:
        click.echo(f"delivery {delivery.id}: {delivery.due:%Y-%m-%d %H:%M} UTC")
        fields = draft_fields(draft)
        for name, value in fields:
            click.echo(f"\n── {name} ──\n{value}" if "\n" in value or len(value) > 80 else f"{name}: {value}")
        if any(UNSUBSCRIBE_PLACEHOLDER in value for _, value in fields):
            click.echo(
                f"({UNSUBSCRIBE_PLACEHOLDER} stands for each recipient's own unsubscribe address, put in when it"
                " is sent)",
                err=True,
            )
