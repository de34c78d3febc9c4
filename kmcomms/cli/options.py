"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["format_option", "paths_argument"]

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


def format_option(*choices: str) -> click.Option:
    """`--format` with the first choice as default."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True,
        help="Output format.",
    )
