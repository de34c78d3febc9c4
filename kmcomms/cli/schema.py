"""`kmcomms schema`: the JSON Schema of campaign.yaml, for editors."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["campaign_schema"]

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def campaign_schema() -> str:
    """The schema as JSON text, stable from run to run."""
    from kmcomms.campaign.models import Campaign

    schema = {"$schema": SCHEMA_URI, **Campaign.model_json_schema(mode="validation")}
    schema["title"] = "kmcomms campaign (campaign.yaml, format version 1)"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@click.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of standard output."
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of campaign.yaml.

    Editors with the YAML language server validate and complete campaign files against
    it: put `# yaml-language-server: $schema=../../campaign.schema.json` on the first line.
    """
    text = campaign_schema()
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
