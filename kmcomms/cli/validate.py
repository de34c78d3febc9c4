"""`kmcomms validate`: check workspaces, campaign folders or campaign files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kmcomms.campaign import load_paths
from kmcomms.cli import cli
from kmcomms.cli.options import format_option, paths_argument


@cli.command()
@paths_argument
@format_option("text", "json")
def validate(paths: tuple[Path, ...], fmt: str) -> int:
    """Check campaigns and settings; print every error and warning with its file and line.

    PATHS are workspaces, campaign folders or campaign.yaml files (default: the workspace
    around the current folder). Exit 0 when there are no errors (warnings allowed), 1 when
    there are errors, 2 on wrong usage.
    """
    result = load_paths(paths)
    found = sorted(result.diagnostics, key=lambda d: (d.path, d.line, d.column))
    if fmt == "json":
        click.echo(json.dumps([d.as_dict() for d in found], indent=2, ensure_ascii=False))
    else:
        for diagnostic in found:
            click.echo(str(diagnostic))
        errors = len(result.errors)
        warnings = len(found) - errors
        checked = len(result.campaigns)
        summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        if errors:
            click.secho(f"✗ {summary}", fg="red", err=True)
        else:
            click.secho(f"✓ {checked} campaign{'s' * (checked != 1)} valid ({summary})", fg="green", err=True)
    return 1 if result.errors else 0

