"""`kmcomms contacts`: import the people a list sends to, see how many there are, and
suppress an address (unsubscribed by mail, bounced)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kmcomms.campaign.workspace import find_workspace, load_workspace

# Imported here, not in the commands: --reason offers REASONS, so any help of this command
# loads the contacts stage.
from kmcomms.channels.contacts import addresses, import_contacts, summary
from kmcomms.channels.letters import address_problem
from kmcomms.cli.options import State, console, format_option, refuse, workspace_option
from kmcomms.cli.resolve import with_ledger
from kmcomms.errors import InvalidInput, UsageError
from kmcomms.ledger.contacts import REASONS, normal_address, suppress


@click.group()
def contacts() -> None:
    """The people lists send to (personal data: kept in the store, never in campaign files)."""


def _lists_sent_to(path: Path | None) -> list[str]:
    root = find_workspace(path or Path.cwd())
    settings = load_workspace(root).settings if root else None
    return sorted(
        {str(c.options["list"]) for c in settings.channels.values() if "list" in c.options} if settings else []
    )


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--list", "contact_list", required=True, metavar="NAME", help="The list to import into (a channel's `list`)."
)
@workspace_option
@format_option("text", "json")
@click.pass_obj
def import_command(state: State, file: Path, contact_list: str, path: Path | None, fmt: str) -> int:
    """Add or update the contacts in FILE, a CSV with the columns
    email,name,language,audience,consent_date. Every row is checked first: a file with any
    bad row is refused whole, each bad row named with its line. Addresses not in FILE are
    left as they are; an unsubscribed or bounced address stays suppressed."""
    try:
        report = with_ledger(path, lambda engine: import_contacts(engine, file, contact_list, state.clock()))
    except InvalidInput as exc:
        return refuse(exc, fmt, "nothing was imported")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "list": report.list,
                    "added": report.added,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "suppressed": report.suppressed,
                },
                indent=2,
            )
        )
    else:
        click.echo(
            f"{report.list}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
            + (
                f"; {report.suppressed} suppressed (unsubscribed or bounced): kept, never sent to"
                if report.suppressed
                else ""
            )
        )
    known = _lists_sent_to(path)
    if contact_list not in known:
        click.echo(
            f'note: no channel in kmcomms.toml sends to the list "{contact_list}" (lists: '
            f"{', '.join(known) or 'none'})",
            err=True,
        )
    return 0


@contacts.command("list")
@click.option("--list", "contact_list", metavar="NAME", help="Only this list.")
@click.option("--show-addresses", is_flag=True, help="List every contact with address and name (personal data).")
@workspace_option
@format_option("table", "json")
def list_command(contact_list: str | None, show_addresses: bool, path: Path | None, fmt: str) -> None:
    """How many contacts each list has per audience and language, and how many of them
    are suppressed. No addresses unless --show-addresses."""
    from rich.table import Table

    rows = with_ledger(path, lambda engine: (addresses if show_addresses else summary)(engine, contact_list))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(
            "no contacts"
            + (f' on the list "{contact_list}"' if contact_list else "")
            + " — import some with `kmcomms contacts import FILE --list NAME`"
        )
        return
    table = Table()
    for column in rows[0]:
        table.add_column(
            column, justify="right" if column in ("contacts", "suppressed") and not show_addresses else "left"
        )
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row.values()))
    console().print(table)


@contacts.command("suppress")
@click.argument("email")
@click.option("--reason", type=click.Choice(REASONS), required=True, help="Why it is never written to again.")
@click.option("--detail", metavar="TEXT", help="A note kept with it (e.g. where the request came from).")
@workspace_option
@click.pass_obj
def suppress_command(state: State, email: str, reason: str, detail: str | None, path: Path | None) -> None:
    """Never send anything to EMAIL again, on any list (an unsubscribe request that came
    by mail, a bounce seen by hand)."""
    problem = address_problem(email.strip())
    if problem:
        raise UsageError(f'"{email}" is not an e-mail address: {problem}')
    added = with_ledger(path, lambda engine: suppress(engine, email, reason, detail, state.clock()))
    address = normal_address(email)
    click.echo(
        f"suppressed {address} ({reason}): never sent anything again"
        if added
        else f"{address} was suppressed already; nothing changed"
    )
