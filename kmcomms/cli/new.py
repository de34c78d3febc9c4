"""`kmcomms new`: draft a campaign from a starting point, with placeholders ("[Replace: …]")
where its author's own words go: it loads, plans and previews as drafted, and `kmcomms
validate` lists each placeholder left (nothing with one is published).

Interactive on a terminal (prompts with the defaults shown), or from flags for scripts
(`--yes`, or whenever standard input is not a terminal: it never prompts then). The draft
is written to a temporary folder inside campaigns/, checked with `load_campaign`, and
only then moved into place: a bad flag (an unknown channel, a language Babel does not
know) is reported against the flag and nothing is written. The questions, and the checks
of their answers, are in `kmcomms.cli.new_questions`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

# The starters, field types and audience kinds are imported here, not in the command: the
# options offer and check them, so even the help needs them.
from kmcomms.campaign.drafting import CAMPAIGN_WEEKS, SHAPES, draft_campaign
from kmcomms.campaign.models import AudienceKind
from kmcomms.cli.new_questions import DEFAULT_TIMEZONE, Flags, Questions, day, wall_time
from kmcomms.cli.options import State
from kmcomms.errors import (
    Diagnostic,
    InvalidInput,
    Severity,
    UsageError,
    display_path,
)

if TYPE_CHECKING:
    from kmcomms.campaign.workspace import Workspace

__all__ = ["new", "stdin_is_tty"]


def stdin_is_tty() -> bool:
    """Whether a person is there to answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def _option(check: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    return lambda ctx, param, value: None if value is None else check(value)


def _install(draft: Path, target: Path) -> None:
    """Move the checked draft into place, replacing `target` (only with --force).

    The folder it replaces is first moved beside the draft, inside the scratch folder,
    and moved back if the draft cannot be put in its place.
    """
    old = draft.parent / ".replaced"
    if target.exists():
        target.rename(old)
    try:
        draft.rename(target)
    except OSError:
        if old.exists():
            old.rename(target)
        raise


@click.command()
@click.option("--shape", type=click.Choice(list(SHAPES)), help="The starting point (default: awareness).")
@click.option("--id", "campaign_id", metavar="ID", help="The campaign's id and folder name (default: from the title).")
@click.option("--title", help="The campaign's title.")
@click.option("--audience", "audience_name", metavar="NAME", help="Who the campaign is for, in words.")
@click.option(
    "--audience-kind", type=click.Choice(get_args(AudienceKind)), help="The audience's kind (default: from the shape)."
)
@click.option(
    "--language",
    "languages",
    metavar="L",
    multiple=True,
    help="A language the audience reads (repeat, or separate with commas); the first is the one you write in. Default: en.",
)
@click.option(
    "--channel",
    "channels",
    metavar="C",
    multiple=True,
    help="A channel from kmcomms.toml (repeat, or separate with commas). Default: those that suit the shape.",
)
@click.option(
    "--at",
    "first_at",
    metavar="'YYYY-MM-DD HH:MM'",
    callback=_option(wall_time),
    help="When the first message goes out, local time (default: 09:00 on the start day).",
)
@click.option(
    "--starts", metavar="DATE", callback=_option(day), help="First day (default: the day of --at, else next Monday)."
)
@click.option(
    "--ends",
    metavar="DATE",
    callback=_option(day),
    help=f"Last day (default: {CAMPAIGN_WEEKS} weeks after the start).",
)
@click.option(
    "--event-date",
    metavar="DATE",
    callback=_option(day),
    help="Shape event: the day of the event (default: a Saturday two to three weeks after --at).",
)
@click.option("--timezone", metavar="ZONE", help=f"IANA time zone of the local times (default: {DEFAULT_TIMEZONE}).")
@click.option("--owner", help="Who answers for the campaign (default: the unit's name).")
@click.option(
    "--contact",
    "contacts",
    metavar="'NAME <EMAIL>'",
    multiple=True,
    help="Shape policy-briefing: a person named in the brief for enquiries (default: the owner, if an email).",
)
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take the defaults for anything not given.")
@click.option("--force", is_flag=True, help="Replace an existing campaign folder (its files are deleted).")
@click.pass_obj
def new(state: State, /, yes: bool, force: bool, **flags: Any) -> None:
    """Draft a new campaign in campaigns/ID/: campaign.yaml with a theory of change (aim,
    objective, indicators), audiences and messages, and Markdown bodies, with a placeholder
    ("[Replace: …]") saying what to write wherever your own words go. `kmcomms validate`
    lists each placeholder left; a message that still has one is not published.

    \b
    Starting points (--shape):
      awareness        public awareness in one or more languages: a launch and a
                       fortnightly reminder
      policy-briefing  a briefing to named decision makers: key points, evidence,
                       uncertainty, recommendations, contacts
      event            an event or science-fair activity: announce it, remind on the day

    On a terminal it asks for what the flags do not give, with defaults; with --yes, or
    when input is not a terminal, it asks nothing. Example:

    \b
      kmcomms new -y --shape awareness --title "HPV vaccine: your questions" \\
          --language en,ur,pa --channel video,newsletter --at "2027-01-11 09:00"
    """
    from kmcomms.campaign.workspace import load_workspace, require_workspace

    workspace = load_workspace(require_workspace())
    for warning in workspace.diagnostics:
        click.echo(str(warning), err=True)
    # click passes each option by its name, which is Flags' name for it.
    questions = Questions(Flags(**flags), not yes and stdin_is_tty(), list(workspace.settings.channels))
    spec, title, campaign_id = questions.campaign()
    target = workspace.campaigns_dir / campaign_id
    if target.exists() and not force:
        raise UsageError(f"{display_path(target)} already exists — pick another --id, or add --force to replace it")
    answers = questions.answers(spec, title, campaign_id, workspace.settings.unit.name, state.clock)
    files = draft_campaign(answers, questions.defined)
    _write(workspace, files, target)
    _report(workspace, target, sorted(files), spec.name)


def _write(workspace: Workspace, files: dict[Path, str], target: Path) -> None:
    """Write the drafted `files` into `target`, a campaign folder of `workspace`, once
    they load as a campaign without errors (else `InvalidInput`, and nothing is written).

    Drafted in a hidden scratch folder, one level deeper than campaigns/*/campaign.yaml
    so that nothing (validate, a daemon) takes it for a campaign, and checked there.
    """
    from kmcomms.campaign.load import load_campaign
    from kmcomms.campaign.workspace import CAMPAIGN_FILE

    workspace.campaigns_dir.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=workspace.campaigns_dir))
    try:
        draft = scratch / target.name
        for relative, text in files.items():
            path = draft / Path(relative).relative_to(Path("campaigns", target.name))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        _, found = load_campaign(draft / CAMPAIGN_FILE, workspace)
        errors = [d for d in found if d.severity is Severity.ERROR]
        if errors:  # the flags were checked before, so this is a fault in a starter
            raise InvalidInput(
                [
                    Diagnostic(
                        "kmcomms new",
                        0,
                        0,
                        Severity.ERROR,
                        errors[0].code,
                        f"the draft does not validate ({errors[0].message}) — this is a bug in kmcomms new:"
                        " rerun with --debug and report it",
                    )
                ]
            )
        _install(draft, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report(workspace: Workspace, target: Path, files: list[Path], shape: str) -> None:
    from kmcomms.campaign.load import load_campaign
    from kmcomms.campaign.workspace import CAMPAIGN_FILE

    _, found = load_campaign(target / CAMPAIGN_FILE, workspace)
    for diagnostic in found:
        click.echo(str(diagnostic), err=True)
    click.echo(f"drafted {display_path(target)}/ from the {shape} starting point:")
    for relative in files:
        click.echo(f"  {display_path(workspace.root / relative)}")
    click.echo("next:")
    click.echo('  1. write the text: every "[Replace: …]" in campaign.yaml and messages/')
    click.echo("  2. kmcomms validate (it lists every placeholder left: nothing with one is published)")
    click.echo(f"  3. kmcomms plan {display_path(target)}")
