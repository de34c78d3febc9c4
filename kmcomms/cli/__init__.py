"""The `kmcomms` command line, and its single error boundary.

Every subcommand lives in its own module here and raises `KmcommsError` for problems a
person can fix; `main` turns those into one line on stderr and an exit code (0 ok,
1 the input or the work has problems, 2 wrong usage). Tracebacks only with `--debug`.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from kmcomms import __version__
from kmcomms.cli.options import parse_instant
from kmcomms.errors import KmcommsError, one_line

__all__ = ["State", "cli", "main"]


@dataclass
class State:
    """What the top-level options set for every subcommand."""

    debug: bool = False
    now: datetime | None = None

    def clock(self) -> datetime:
        """The current time, aware UTC (fixed by --now for reproducible output)."""
        return self.now or datetime.now(UTC)


_DEBUG_HELP = "Show tracebacks for errors (also KMCOMMS_DEBUG=1)."


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kmcomms")
@click.option("--debug", is_flag=True, envvar="KMCOMMS_DEBUG", help=_DEBUG_HELP)
@click.option("--now", metavar="TIME", callback=parse_instant, expose_value=True, hidden=True,
              help="Pretend the time is TIME (ISO 8601, UTC if no offset); for tests and demos.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, now: datetime | None) -> None:
    """Plan, publish and evaluate knowledge-mobilisation campaigns."""
    state = ctx.ensure_object(State)
    state.debug = state.debug or debug
    state.now = now


def _debug_anywhere(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).debug = True


def _accept_debug_after(group: click.Group) -> None:
    """Give every subcommand a `--debug` of its own, so that it may come after the
    subcommand too (`kmcomms validate --debug`), where a person adds it to the line that failed."""
    for command in group.commands.values():
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, hidden=True,
                                           callback=_debug_anywhere, help=_DEBUG_HELP))
        if isinstance(command, click.Group):
            _accept_debug_after(command)


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


# Subcommands register themselves on `cli` when imported.
from kmcomms.cli import (  # noqa: E402,F401
    approve,
    channels,
    contacts,
    daemon,
    demo,
    evidence,
    init,
    new,
    plan,
    preview,
    publish,
    reach,
    report,
    resolve,
    schema,
    serve,
    status,
    track,
    translations,
    validate,
)

_accept_debug_after(cli)
