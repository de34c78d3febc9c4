"""The `kmcomms` command line, and its single error boundary.

Every subcommand lives in its own module here and raises `KmcommsError` for problems a
person can fix; `main` turns those into one line on stderr and an exit code (0 ok,
1 the input or the work has problems, 2 wrong usage). Tracebacks only with `--debug`.

A command's module is imported only when that command runs (or shows its help), and it
imports the stages it uses inside the command, unless its options offer their words:
`kmcomms --help` lists the commands from `COMMANDS` and loads none of them, so it starts
in a few hundredths of a second. Commands take `State` and shared options from
`kmcomms.cli.options`, never from here (which would be a cycle). May import every stage
but `testing`.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime

import click

from kmcomms import __version__
from kmcomms.cli.options import State, parse_instant
from kmcomms.errors import KmcommsError, one_line

__all__ = ["COMMANDS", "cli", "main"]

#: Every command: its name → (the module in kmcomms.cli that defines it, the variable holding
#: it there, its short help as `kmcomms --help` lists it). The short help is written here so
#: that listing the commands loads none of them; a test checks it against each command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "approve": (
        "approve",
        "approve",
        "Approve a campaign's messages (all, or those named) as they render now, in every language.",
    ),
    "channels": ("channels", "channels", "The channel adapters installed, and the channel instances of the workspace."),
    "collect": (
        "reach",
        "collect_command",
        "Ask every channel, once, for the reach of what it published, and append it to the ledger (the daemon "
        "does this on each channel's `collect_minutes`).",
    ),
    "contacts": (
        "contacts",
        "contacts",
        "The people lists send to (personal data: kept in the store, never in campaign files).",
    ),
    "daemon": ("daemon", "daemon", "Publish every due delivery once, on time, until stopped."),
    "demo": ("demo", "demo", "Publish the example campaigns for real, on this machine, in under a minute."),
    "evidence": ("evidence", "evidence", "Outcomes and impact of campaigns, in Researchfish's words."),
    "init": (
        "init",
        "init",
        "Create a workspace in FOLDER (default: here): kmcomms.toml with local channels and a SQLite store, "
        "empty campaigns/ and translations/, and campaign.schema.json for editors.",
    ),
    "new": (
        "new",
        "new",
        "Draft a new campaign in campaigns/ID/: campaign.yaml with a theory of change (aim, objective, "
        'indicators), audiences and messages, and Markdown bodies, with a placeholder ("[Replace: …]") saying '
        "what to write wherever your own words go.",
    ),
    "plan": (
        "plan",
        "plan_command",
        "Show every delivery the campaigns will make: due time, campaign, message, audience, language and "
        "channel, with stable delivery ids.",
    ),
    "preview": (
        "preview",
        "preview",
        "Show a delivery of CAMPAIGN (an id or folder) exactly as its channel would get it: translated, "
        "sanitised, links tagged.",
    ),
    "publish": (
        "publish",
        "publish",
        "Sync the ledger with the campaigns, then publish every due delivery once through its channel and "
        "exit: the daemon's work in one pass, for cron.",
    ),
    "reach": (
        "reach",
        "reach",
        "Reach no API sees: leaflets handed out, event attendees, radio broadcasts, survey results.",
    ),
    "report": (
        "report",
        "report",
        "Evaluate CAMPAIGN (or, with --unit, the unit's campaigns) against its theory of change: status per "
        "objective, reach and gaps, results by AMEC level, channel performance, influence, inclusion, "
        "learning, methods.",
    ),
    "resolve": (
        "resolve",
        "resolve",
        "Settle a delivery that needs a person (unknown, failed, missed) or is blocked: record that it was "
        "published at URL, send it again now, or cancel it.",
    ),
    "schema": ("schema", "schema", "Print the JSON Schema of campaign.yaml."),
    "serve": (
        "serve",
        "serve",
        "Serve the workspace's static site (blog, video library, briefings) over HTTP until Ctrl-C.",
    ),
    "status": (
        "status",
        "status",
        "Deliveries per state, the next ones due, and every one that needs a person (unknown, failed, "
        "missed) or is blocked, with the reason.",
    ),
    "track": ("track", "track", "Serve the tracking addresses until stopped (SIGTERM or Ctrl-C)."),
    "translations": (
        "translations",
        "translations",
        "Keep gettext catalogs of campaign text: one POT per campaign, one PO per language.",
    ),
    "validate": (
        "validate",
        "validate",
        "Check campaigns and settings (each channel's against its adapter's); print every error and warning "
        "with its file and line.",
    ),
}

_DEBUG_HELP = "Show tracebacks for errors (also KMCOMMS_DEBUG=1)."


def _debug_anywhere(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).debug = True


def _accept_debug_after(command: click.Command) -> None:
    """Give a subcommand (and its own subcommands) a `--debug` of its own, so that it may come
    after the subcommand too (`kmcomms validate --debug`), where a person adds it to the line that failed."""
    command.params.append(
        click.Option(
            ["--debug"], is_flag=True, expose_value=False, hidden=True, callback=_debug_anywhere, help=_DEBUG_HELP
        )
    )
    if isinstance(command, click.Group):
        for each in command.commands.values():
            _accept_debug_after(each)


class _Commands(click.Group):
    """The top-level group: commands listed from `COMMANDS`, each module imported when its
    command is asked for (click's lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            module, attribute, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"kmcomms.cli.{module}"), attribute)
            _accept_debug_after(command)
            self.add_command(command, cmd_name)
        return self.commands[cmd_name]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # "did you mean" from every command, not only those loaded
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=COMMANDS, ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list as click writes it, from the short help in `COMMANDS`."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # Each cut to the width as click cuts a command's help: through a stand-in with that help.
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kmcomms")
@click.option("--debug", is_flag=True, envvar="KMCOMMS_DEBUG", help=_DEBUG_HELP)
@click.option(
    "--now",
    metavar="TIME",
    callback=parse_instant,
    expose_value=True,
    hidden=True,
    help="Pretend the time is TIME (ISO 8601, UTC if no offset); for tests and demos.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, now: datetime | None) -> None:
    """Plan, publish and evaluate knowledge-mobilisation campaigns."""
    state = ctx.ensure_object(State)
    state.debug = state.debug or debug
    state.now = now


def _debug_in_environment() -> bool:
    """KMCOMMS_DEBUG read as click reads the option's variable: "1", "yes", "true" … (not "0")."""
    try:
        return bool(click.BOOL.convert(os.environ.get("KMCOMMS_DEBUG") or "0", None, None))
    except click.BadParameter:
        return False  # click says what is wrong with it when it parses the line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Known before the line is parsed, for errors that come before the option is read.
    state = State(debug="--debug" in args or _debug_in_environment())
    try:
        result = cli.main(args=args, prog_name="kmcomms", standalone_mode=False, obj=state)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("kmcomms: aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KmcommsError as exc:
        if state.debug:
            traceback.print_exc()
        click.echo(f"kmcomms: error: {one_line(str(exc))}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("kmcomms: interrupted", err=True)
        return 130
    except Exception as exc:  # the boundary: anything else is a bug, reported in one line
        if state.debug:
            raise
        click.echo(f"kmcomms: internal error: {type(exc).__name__}: {exc} — rerun with --debug and report it", err=True)
        return 70
