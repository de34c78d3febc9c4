"""Text that `kmcomms new` leaves for a person to write, found so that it is never published.

The starting points (`kmcomms/starters/`) mark each such place in a way real text does not
start a bracket: "[Replace: …]" for a value in campaign.yaml, "[Replace this paragraph: …]"
and "[Notes for you, to delete: …]" in a Markdown body; a value that must keep its form (a
YouTube id) is `REPLACEME` and digits (`REPLACEME01`). `kmcomms validate` reports each as an
error at its file and line, and the dispatcher holds back every delivery of a message
that still has one.

A draft with placeholders still loads, plans and previews, so its author can look at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kmcomms.campaign.load import LoadedCampaign
from kmcomms.errors import Diagnostic, Severity

__all__ = ["MARK", "Placeholder", "first_placeholders", "placeholders"]

#: Where a placeholder starts.
MARK = re.compile(r"\[(?:Replace|Notes for you)\b[^\]\n]*?:|\bREPLACEME\d*\b")
#: How much of a placeholder a finding quotes, to tell it from the others.
_QUOTED = 48


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One placeholder: the message it is in (None when elsewhere in the campaign), and
    the finding that says where it is."""

    message: str | None
    diagnostic: Diagnostic


def _strings(value: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def _finding(path: str, line: int, column: int, text: str, message: str | None) -> Diagnostic:
    shown = text if len(text) <= _QUOTED else text[: _QUOTED - 1].rstrip() + "…"
    fix = (
        "delete this note"
        if text.startswith("[Notes")
        else "write your own text in its place"
        if text.startswith("[")
        else "put the real value in its place"
    )
    held = f"; until then, message {message} is not published" if message else ""
    return Diagnostic(
        path,
        line,
        column,
        Severity.ERROR,
        "placeholder",
        f'"{shown}" is placeholder text from `kmcomms new` — {fix}{held}',
    )


def placeholders(loaded: LoadedCampaign) -> list[Placeholder]:
    """Every placeholder in the campaign's file and its Markdown body files, in file order."""
    found: list[Placeholder] = []
    source = loaded.source
    lines = source.text.splitlines()
    data = loaded.campaign.model_dump(mode="json", exclude_unset=True)
    for loc, text in _strings(data):
        marks = list(MARK.finditer(text))
        if not marks:
            continue  # the usual case: no position is looked up (that builds the file's node tree)
        message = loaded.campaign.messages[loc[1]].id if loc[0] == "messages" else None
        line, column = source.position(loc)
        for mark in marks:
            # A value over several lines (an inline body): the line the placeholder is on.
            start = text.count("\n", 0, mark.start())
            snippet = text[mark.start() :].split("\n", 1)[0]
            at = next((n for n in range(line - 1 + start, len(lines)) if snippet[:20] in lines[n]), None)
            where = (at + 1, lines[at].index(snippet[:20]) + 1) if at is not None else (line, column)
            found.append(Placeholder(message, _finding(str(source.path), *where, snippet, message)))
    # A body file two messages share is reported for each: each message is held back.
    for message in loaded.campaign.messages:
        body = loaded.bodies.get(message.id)
        if body is None or body.path is None:
            continue  # inline: a value of campaign.yaml, above
        for number, text in enumerate(body.text.splitlines(), 1):
            for mark in MARK.finditer(text):
                diagnostic = _finding(str(body.path), number, mark.start() + 1, text[mark.start() :], message.id)
                found.append(Placeholder(message.id, diagnostic))
    return found


def first_placeholders(campaigns: Iterable[LoadedCampaign]) -> dict[tuple[str, str], Diagnostic]:
    """(campaign, message) → the first placeholder left in that message, for each message
    that has one."""
    first: dict[tuple[str, str], Diagnostic] = {}
    for loaded in campaigns:
        for found in placeholders(loaded):
            if found.message is not None:
                first.setdefault((loaded.campaign.id, found.message), found.diagnostic)
    return first
