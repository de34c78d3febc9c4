"""The command list of `kmcomms --help`, written in `kmcomms.cli.COMMANDS` so that listing
the commands loads none of them: it must stay what the commands themselves say, name
every command there is, and keep `kmcomms --help` free of the heavy libraries."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click
import pytest

import kmcomms.cli
from kmcomms.cli import COMMANDS, cli

#: What `kmcomms --help` may import of kmcomms: the foundation, the group and its options.
MAY_LOAD = {
    "kmcomms",
    "kmcomms.errors",
    "kmcomms.files",
    "kmcomms.logs",
    "kmcomms.__main__",
    "kmcomms.cli",
    "kmcomms.cli.options",
}
#: Libraries that take a tenth of a second or more to import, for commands that use them.
HEAVY = {"sqlalchemy", "pydantic", "jinja2", "requests"}


def defined_commands() -> set[tuple[str, str]]:
    """(module, attribute) of every top-level click command defined in kmcomms/cli/: the
    subcommands of a group it defines aside."""
    found = set()
    for info in pkgutil.iter_modules(kmcomms.cli.__path__):
        module = importlib.import_module(f"kmcomms.cli.{info.name}")
        commands = {
            name: value
            for name, value in vars(module).items()
            if isinstance(value, click.Command) and value.callback.__module__ == module.__name__
        }
        nested = {
            id(sub) for value in commands.values() if isinstance(value, click.Group) for sub in value.commands.values()
        }
        found |= {(info.name, name) for name, value in commands.items() if id(value) not in nested}
    return found


def test_every_command_defined_in_kmcomms_cli_is_in_the_table() -> None:
    listed = {(module, attribute) for module, attribute, _ in COMMANDS.values()}
    assert defined_commands() - listed == set(), "add it to kmcomms.cli.COMMANDS"
    assert listed - defined_commands() == set(), "COMMANDS names a command that is not there"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_short_help_in_the_table_is_the_commands_own(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert COMMANDS[name][2] == command.get_short_help_str(limit=sys.maxsize), (
        f"copy the first sentence of `kmcomms {name}`'s help into kmcomms.cli.COMMANDS"
    )


@pytest.mark.parametrize("width", [60, 80, 100])
def test_the_list_is_what_click_prints_with_every_command_loaded(width: str) -> None:
    # Short help cut to the width as click cuts it, and no hidden command listed.
    ctx = click.Context(cli, terminal_width=width)
    table, loaded = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    cli.format_commands(ctx, table)
    click.Group.format_commands(cli, ctx, loaded)
    assert table.getvalue() == loaded.getvalue()


def test_kmcomms_help_loads_no_command_and_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kmcomms", "--help"], capture_output=True, text=True, check=True
    )
    assert "Commands:" in done.stdout
    imported = {row.rpartition("|")[2].strip() for row in done.stderr.splitlines() if row.startswith("import time:")}
    assert {name for name in imported if name.split(".")[0] in HEAVY} == set()
    assert {name for name in imported if name.split(".")[0] == "kmcomms"} - MAY_LOAD == set()
