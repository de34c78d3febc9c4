"""`kmcomms translations extract|update|compile|status`: gettext catalogs of campaign text.

Files live under the workspace's `translations/` (see `kmcomms.translations`); nothing
here writes anywhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kmcomms.cli.options import format_option, paths_argument
from kmcomms.errors import Diagnostic, InvalidInput, UsageError, display_path

if TYPE_CHECKING:
    from babel.messages import Catalog as BabelCatalog

    from kmcomms.campaign.load import LoadedCampaign
    from kmcomms.campaign.workspace import Workspace
    from kmcomms.translations.catalogs import Status

__all__ = ["translations"]


@click.group()
def translations() -> None:
    """Keep gettext catalogs of campaign text: one POT per campaign, one PO per language.

    Each title, summary, body paragraph, call to action and briefing point is one entry.
    Translate the PO files with any gettext tool (Poedit, Weblate). Entries flagged
    machine-draft count as not reviewed until a reviewer deletes the flag.
    """


def _campaigns(paths: tuple[Path, ...]) -> list[tuple[LoadedCampaign, Workspace]]:
    """The valid campaigns named, each with its workspace; campaign errors stop here."""
    from kmcomms.campaign.load import load_paths

    result = load_paths(paths)
    result.raise_for_errors()
    if result.diagnostics:
        click.echo(f"{len(result.diagnostics)} warnings: see `kmcomms validate`", err=True)
    found = []
    for loaded in result.campaigns:
        # The deepest workspace above the campaign file is the one load_paths used.
        homes = [w for w in result.workspaces if loaded.source.path.is_relative_to(w.root)]
        found.append((loaded, max(homes, key=lambda w: len(w.root.parts))))
    return found


def _report(path: Path, changed: bool, created: bool, detail: str) -> None:
    verb = "created" if created else "updated" if changed else "unchanged"
    click.echo(f"{display_path(path)}: {verb} ({detail})")


def _fail(problems: list[Diagnostic]) -> int:
    for problem in problems:
        click.echo(str(problem), err=True)
    files = len({p.path for p in problems})
    click.secho(
        f"✗ {files} broken PO file{'s' * (files != 1)}: fix {'them' if files != 1 else 'it'}"
        " in a PO editor or text editor, then run the command again",
        fg="red",
        err=True,
    )
    return 1


def _extract(loaded: LoadedCampaign, workspace: Workspace) -> BabelCatalog:
    from kmcomms.translations.catalogs import pot_path
    from kmcomms.translations.pofiles import po_bytes, template_catalog, write_file

    template = template_catalog(loaded, workspace.root)
    path = pot_path(workspace.translations_dir, loaded.campaign.id)
    created = not path.exists()
    changed = write_file(path, po_bytes(template), workspace.translations_dir)
    _report(path, changed, created, f"{len(template)} strings")
    return template


@translations.command()
@paths_argument
def extract(paths: tuple[Path, ...]) -> int:
    """Write translations/templates/<campaign>.pot for each campaign.

    PATHS are workspaces, campaign folders or campaign.yaml files, as for `validate`
    (default: the workspace around the current folder). The campaigns must be valid.
    """
    for loaded, workspace in _campaigns(paths):
        _extract(loaded, workspace)
    return 0


@translations.command()
@paths_argument
@click.option(
    "--language",
    "-l",
    "languages",
    metavar="LANG",
    multiple=True,
    help="Only this language (repeat for more; default: every language the audiences read).",
)
def update(paths: tuple[Path, ...], languages: tuple[str, ...]) -> int:
    """Extract, then bring every language's PO file up to date with the campaign.

    Creates a PO file for each language the campaign's audiences read (other than the
    campaign's own) and merges the new template into each existing one: a string whose
    source changed becomes fuzzy, with the old source kept (#|) for the translator; a
    string no longer used is kept at the end as obsolete (#~). Nothing is written when a
    PO file is broken.
    """
    from kmcomms.translations.catalogs import Catalog, Status, po_path, target_languages
    from kmcomms.translations.pofiles import merge_catalog, po_bytes, read_po_file, write_file
    from kmcomms.translations.strings import source_messages

    campaigns = _campaigns(paths)
    wanted = set(languages)
    used = {lang for loaded, _ in campaigns for lang in target_languages(loaded.campaign)}
    if wanted and not wanted & used:
        raise UsageError(
            f"no campaign named here has an audience reading {', '.join(sorted(wanted))}"
            f" — languages to translate into: {', '.join(sorted(used)) or 'none'}"
        )
    # Read every PO file before writing anything, so a broken one leaves all as they were.
    plans = []
    problems: list[Diagnostic] = []
    for loaded, workspace in campaigns:
        for language in target_languages(loaded.campaign):
            if wanted and language not in wanted:
                continue
            path = po_path(workspace.translations_dir, loaded.campaign.id, language)
            try:
                existing = read_po_file(path, language) if path.exists() else None
            except InvalidInput as exc:
                problems.extend(exc.diagnostics)
                continue
            plans.append((loaded, workspace, language, path, existing))
    if problems:
        return _fail(problems)
    templates = {loaded.campaign.id: _extract(loaded, workspace) for loaded, workspace in campaigns}
    for loaded, workspace, language, path, existing in plans:
        merged = merge_catalog(templates[loaded.campaign.id], existing, language)
        changed = write_file(path, po_bytes(merged), workspace.translations_dir)
        status = Status.of(loaded.campaign.id, language, Catalog(path, language, merged), source_messages(loaded))
        _report(
            path,
            changed,
            existing is None,
            f"{status.translated} translated, {status.fuzzy} fuzzy, {status.missing} missing",
        )
    return 0


@translations.command("compile")
@paths_argument
def compile_command(paths: tuple[Path, ...]) -> int:
    """Write a .mo file beside each of the campaigns' PO files, for other gettext tools.

    Fuzzy and untranslated entries are left out. A broken PO file is refused with its
    line (exit 1); the others are still compiled.
    """
    from kmcomms.translations.catalogs import mo_path
    from kmcomms.translations.pofiles import mo_bytes, read_po_file, write_file

    problems: list[Diagnostic] = []
    for loaded, workspace in _campaigns(paths):
        for po in sorted(workspace.translations_dir.glob(f"*/LC_MESSAGES/{loaded.campaign.id}.po")):
            try:
                catalog = read_po_file(po)
            except InvalidInput as exc:
                problems.extend(exc.diagnostics)
                continue
            target = mo_path(po)
            created = not target.exists()
            changed = write_file(target, mo_bytes(catalog), workspace.translations_dir)
            entries = [m for m in catalog if m.id]
            kept = sum(1 for m in entries if m.string and not m.fuzzy)
            _report(target, changed, created, f"{kept} of {len(entries)} strings; fuzzy and missing left out")
    return _fail(problems) if problems else 0


def _table(found: list[Status]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = 120
    table = Table(title="Translations (strings per campaign and language)", title_justify="left")
    for column in ("campaign", "language", "strings", "translated", "fuzzy", "missing", "reviewed"):
        table.add_column(column, justify="left" if column in ("campaign", "language") else "right")
    for s in found:
        table.add_row(
            s.campaign,
            s.language,
            str(s.total),
            str(s.translated),
            f"[yellow]{s.fuzzy}[/]" if s.fuzzy else "0",
            f"[red]{s.missing}[/]" if s.missing else "0",
            str(s.reviewed) if s.reviewed == s.translated else f"[yellow]{s.reviewed}[/]",
        )
    console.print(table)
    drafts = sum(s.translated - s.reviewed for s in found)
    if drafts:
        console.print(
            f"[yellow]{drafts} translated {'string is a machine draft' if drafts == 1 else 'strings are machine drafts'}"
            "[/] (flag machine-draft): not yet reviewed by a native speaker"
        )


@translations.command()
@paths_argument
@format_option("table", "json")
def status(paths: tuple[Path, ...], fmt: str) -> int:
    """How far each campaign is translated into each language its audiences read:
    strings translated, fuzzy (source changed since), missing, and reviewed (translated
    and not flagged machine-draft)."""
    from kmcomms.translations.catalogs import translation_status

    by_workspace: dict[Path, tuple[Workspace, list[LoadedCampaign]]] = {}
    for loaded, workspace in _campaigns(paths):
        by_workspace.setdefault(workspace.root, (workspace, []))[1].append(loaded)
    found = [s for workspace, loaded in by_workspace.values() for s in translation_status(workspace, loaded)]
    if fmt == "json":
        click.echo(json.dumps([s.as_dict() for s in found], indent=2, ensure_ascii=False))
    elif found:
        _table(found)
    else:
        click.echo("nothing to translate: every audience reads its campaign's language", err=True)
    return 0
