"""`kmcomms validate`: check workspaces, campaign folders or campaign files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kmcomms.cli.options import format_option, paths_argument
from kmcomms.errors import Severity


@click.command()
@paths_argument
@format_option("text", "json")
@click.option(
    "--no-preflight",
    is_flag=True,
    help="Only read and check the files: skip rendering every delivery for the pre-flight checks "
    "(length limits, reading age, alt text, links, acknowledgement, translations).",
)
def validate(paths: tuple[Path, ...], fmt: str, no_preflight: bool) -> int:
    """Check campaigns and settings (each channel's against its adapter's); print every
    error and warning with its file and line.

    PATHS are workspaces, campaign folders or campaign.yaml files (default: the workspace
    around the current folder). Each valid campaign's deliveries are then rendered and
    pre-flight checked, as before publishing (unless --no-preflight). Exit 0 when there
    are no errors (warnings allowed), 1 when there are errors, 2 on wrong usage.
    """
    from kmcomms.campaign.load import load_paths
    from kmcomms.campaign.placeholders import placeholders
    from kmcomms.channels.registry import check_channels
    from kmcomms.render.preflight import preflight

    result = load_paths(paths)
    found = list(result.diagnostics)
    for workspace in result.workspaces:
        found.extend(d for check in check_channels(workspace) for d in check.diagnostics)
    found.extend(dict.fromkeys(p.diagnostic for loaded in result.campaigns for p in placeholders(loaded)))
    if not no_preflight:
        for workspace in result.workspaces:
            found.extend(preflight(result, workspace))
    found.sort(key=lambda d: (d.path, d.line, d.column))
    errors = sum(d.severity is Severity.ERROR for d in found)
    if fmt == "json":
        click.echo(json.dumps([d.as_dict() for d in found], indent=2, ensure_ascii=False))
    else:
        for diagnostic in found:
            click.echo(str(diagnostic))
        warnings = len(found) - errors
        checked = len(result.campaigns)
        summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        if errors:
            click.secho(f"✗ {summary}", fg="red", err=True)
        else:
            click.secho(f"✓ {checked} campaign{'s' * (checked != 1)} valid ({summary})", fg="green", err=True)
    return 1 if errors else 0
