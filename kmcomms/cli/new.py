"""`kmcomms new`: draft a campaign from a starting point, with placeholders ("[Replace: …]")
where its author's own words go: it loads, plans and previews as drafted, and `kmcomms
validate` lists each placeholder left (nothing with one is published).

Interactive on a terminal (prompts with the defaults shown), or from flags for scripts
(`--yes`, or whenever standard input is not a terminal: it never prompts then). The draft
is written to a temporary folder inside campaigns/, checked with `load_campaign`, and
only then moved into place: a bad flag (an unknown channel, a language Babel does not
know) is reported against the flag and nothing is written.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args
from zoneinfo import ZoneInfo

import click
from pydantic import TypeAdapter, ValidationError

# The starters, field types and audience kinds are imported here, not in the command: the
# options offer and check them, so even the help needs them.
from kmcomms.campaign.drafting import (
    CAMPAIGN_WEEKS,
    FIRST_SEND,
    SHAPES,
    DraftAnswers,
    default_channels,
    default_event_date,
    draft_campaign,
    next_monday,
    slugify,
)
from kmcomms.campaign.fields import LanguageCode, LocalDate, LocalDateTime, Slug, TimeZoneName, close_match
from kmcomms.campaign.models import AudienceKind
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

DEFAULT_TIMEZONE = "Europe/London"


def stdin_is_tty() -> bool:
    """Whether a person is there to answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def _problem(exc: ValidationError) -> str:
    return exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")


def _checker(adapter: TypeAdapter[Any]) -> Callable[[str], Any]:
    """Parse with the model's own validator; a click error (re-prompt, or exit 2) when bad."""

    def check(value: str) -> Any:
        try:
            return adapter.validate_python(value.strip())
        except ValidationError as exc:
            raise click.BadParameter(_problem(exc)) from None

    return check


_wall_time = _checker(TypeAdapter(LocalDateTime))
_day = _checker(TypeAdapter(LocalDate))
_language = TypeAdapter(LanguageCode)
_timezone = TypeAdapter(TimeZoneName)


def _option(check: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    return lambda ctx, param, value: None if value is None else check(value)


def _split(values: Sequence[str] | str) -> list[str]:
    """`("en,ur", "pa")` or `"en, ur, pa"` → `["en", "ur", "pa"]`, in order, once each."""
    parts = [values] if isinstance(values, str) else list(values)
    return list(dict.fromkeys(p.strip() for part in parts for p in part.split(",") if p.strip()))


def _check_languages(languages: list[str]) -> list[str]:
    if not languages:
        raise ValueError("name at least one language, e.g. en")
    for code in languages:
        try:
            _language.validate_python(code)
        except ValidationError as exc:
            raise ValueError(_problem(exc)) from None
    return languages


def _check_channels(channels: list[str], defined: list[str]) -> list[str]:
    unknown = [c for c in channels if c not in defined]
    if unknown:
        known = (
            f"use one that kmcomms.toml defines: {', '.join(defined)}"
            if defined
            else "kmcomms.toml defines no channels: add one there"
        )
        raise ValueError(f'no channel "{unknown[0]}"{close_match(unknown[0], defined)} — {known}')
    return channels


def _prompted(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """A prompt's value_proc: a failed check asks again."""

    def proc(value: str) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return proc


def _flag_error(flag: str, message: str, code: str = "bad-value") -> InvalidInput:
    return InvalidInput([Diagnostic(flag, 0, 0, Severity.ERROR, code, message)])


def _check_answers(a: DraftAnswers, defined: list[str]) -> None:
    """Refuse a bad flag value, naming the flag, before anything is drafted."""
    for flag, check in (
        ("--language", lambda: _check_languages(list(a.languages))),
        ("--channel", lambda: _check_channels(list(a.channels), defined)),
        ("--timezone", lambda: _timezone.validate_python(a.timezone)),
    ):
        try:
            check()
        except ValidationError as exc:
            raise _flag_error(flag, _problem(exc)) from None
        except ValueError as exc:
            raise _flag_error(flag, str(exc), "unknown-channel" if flag == "--channel" else "bad-value") from None
    if a.ends < a.starts:
        raise _flag_error(
            "--ends", f"the campaign ends ({a.ends}) before it starts ({a.starts}) — change --ends or --starts"
        )
    if not a.starts <= a.at.date() <= a.ends:
        raise _flag_error(
            "--at",
            f"{a.at:%Y-%m-%d %H:%M} is outside the campaign ({a.starts} to {a.ends}) — change --at, --starts or --ends",
        )
    if a.event_date is not None and not a.starts <= a.event_date <= a.ends:
        raise _flag_error(
            "--event-date",
            f"the event ({a.event_date}) is outside the campaign ({a.starts} to {a.ends}) — change --event-date or --ends",
        )


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
    callback=_option(_wall_time),
    help="When the first message goes out, local time (default: 09:00 on the start day).",
)
@click.option(
    "--starts", metavar="DATE", callback=_option(_day), help="First day (default: the day of --at, else next Monday)."
)
@click.option(
    "--ends",
    metavar="DATE",
    callback=_option(_day),
    help=f"Last day (default: {CAMPAIGN_WEEKS} weeks after the start).",
)
@click.option(
    "--event-date",
    metavar="DATE",
    callback=_option(_day),
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
def new(
    state: State,
    shape: str | None,
    campaign_id: str | None,
    title: str | None,
    audience_name: str | None,
    audience_kind: str | None,
    languages: tuple[str, ...],
    channels: tuple[str, ...],
    first_at: datetime | None,
    starts: date | None,
    ends: date | None,
    event_date: date | None,
    timezone: str | None,
    owner: str | None,
    contacts: tuple[str, ...],
    yes: bool,
    force: bool,
) -> None:
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
    from kmcomms.campaign.load import load_campaign
    from kmcomms.campaign.workspace import CAMPAIGN_FILE, load_workspace, require_workspace

    workspace = load_workspace(require_workspace())
    for warning in workspace.diagnostics:
        click.echo(str(warning), err=True)
    defined = list(workspace.settings.channels)
    ask = not yes and stdin_is_tty()

    # The order of questions: each default may depend on the answers before it.
    if shape is None:
        if ask:
            click.echo("Starting points:")
            for spec in SHAPES.values():
                click.echo(f"  {spec.name:<16} {spec.summary}")
        shape = click.prompt("Shape", type=click.Choice(list(SHAPES)), default="awareness") if ask else "awareness"
    spec = SHAPES[shape]
    for flag, value, wanted in (("--event-date", event_date, "event"), ("--contact", contacts, "policy-briefing")):
        if value and shape != wanted:
            raise UsageError(f"{flag} is for --shape {wanted}, not {shape} — drop it or change the shape")
    if title is None:
        title = click.prompt("Title", default=spec.title) if ask else spec.title
    title = title.strip() or spec.title
    campaign_id = (campaign_id or slugify(title)).strip()
    try:
        TypeAdapter(Slug).validate_python(campaign_id)
    except ValidationError as exc:
        raise InvalidInput([Diagnostic("--id", 0, 0, Severity.ERROR, "bad-value", _problem(exc))]) from None
    target = workspace.campaigns_dir / campaign_id
    if target.exists() and not force:
        raise UsageError(f"{display_path(target)} already exists — pick another --id, or add --force to replace it")
    if owner is None:
        owner = workspace.settings.unit.name
        if ask:
            owner = click.prompt("Owner (who answers for it)", default=owner)
    if audience_name is None:
        audience_name = (
            click.prompt("Audience (who it is for)", default=spec.audience_name) if ask else spec.audience_name
        )
    if languages:
        language_list = _split(languages)
    elif ask:
        language_list = click.prompt(
            "Languages (comma-separated; the first is the one you write in)",
            default="en",
            value_proc=_prompted(lambda v: _check_languages(_split(v))),
        )
    else:
        language_list = ["en"]
    if channels:
        channel_list = _split(channels)
    elif ask:
        channel_list = click.prompt(
            f"Channels (comma-separated; kmcomms.toml defines {', '.join(defined) or 'none'})",
            default=", ".join(default_channels(shape, defined)),
            value_proc=_prompted(lambda v: _check_channels(_split(v), defined)),
        )
    else:
        channel_list = default_channels(shape, defined)

    zone_name = (timezone or DEFAULT_TIMEZONE).strip()
    try:
        zone: Any = ZoneInfo(zone_name)
    except (ValueError, LookupError):
        zone = None  # reported against --timezone by _check_answers
    today = state.clock().astimezone(zone).date() if zone else state.clock().date()
    default_at = datetime.combine(starts or next_monday(today), FIRST_SEND)
    if first_at is None:
        first_at = default_at
        if ask:
            first_at = click.prompt(
                f"First message (YYYY-MM-DD HH:MM, {zone_name} time)",
                default=f"{default_at:%Y-%m-%d %H:%M}",
                value_proc=_wall_time,
            )
    starts = starts or first_at.date()
    ends = ends or starts + timedelta(weeks=CAMPAIGN_WEEKS)
    if shape == "event":
        if event_date is None:
            default_day = default_event_date(first_at)
            event_date = default_day
            if ask:
                event_date = click.prompt("Day of the event (YYYY-MM-DD)", default=str(default_day), value_proc=_day)
        if event_date <= first_at.date():
            raise UsageError(
                f"the event ({event_date}) must be after the first message ({first_at:%Y-%m-%d})"
                " — change --event-date or --at"
            )

    answers = DraftAnswers(
        shape=shape,
        id=campaign_id,
        title=title,
        owner=owner.strip() or workspace.settings.unit.name,
        timezone=zone_name,
        languages=tuple(language_list),
        channels=tuple(channel_list),
        starts=starts,
        ends=ends,
        at=first_at,
        audience_name=audience_name.strip() or spec.audience_name,
        audience_kind=audience_kind or spec.audience_kind,
        event_date=event_date,
        contacts=tuple(c.strip() for c in contacts if c.strip()),
    )
    _check_answers(answers, defined)
    files = draft_campaign(answers, defined)

    # Drafted in a hidden scratch folder, one level deeper than campaigns/*/campaign.yaml
    # so that nothing (validate, a daemon) takes it for a campaign, and checked there.
    workspace.campaigns_dir.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=workspace.campaigns_dir))
    try:
        draft = scratch / campaign_id
        for relative, text in files.items():
            path = draft / Path(relative).relative_to(Path("campaigns", campaign_id))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        _, found = load_campaign(draft / CAMPAIGN_FILE, workspace)
        errors = [d for d in found if d.severity is Severity.ERROR]
        if errors:  # the flags were checked above, so this is a fault in a starter
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
    _report(workspace, target, sorted(files), shape)


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
