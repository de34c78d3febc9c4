"""The translatable strings of a campaign: paragraph-level messages with their msgctxt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kmcomms.campaign.load import Body, LoadedCampaign
from kmcomms.campaign.models import Message

Location = tuple[str | int, ...]

# ---------------------------------------------------------------------- paragraphs

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _blocks(markdown: str) -> list[tuple[int, str]]:
    """(1-based line where it starts, text without trailing spaces) of each translatable block."""
    blocks: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 0
    fence = ""  # the opening fence while inside a fenced code block

    def close() -> None:
        # Leading spaces stay: four of them make an indented code block.
        text = "\n".join(line.rstrip() for line in lines)
        if text.strip():
            blocks.append((start, text))
        lines.clear()

    for number, line in enumerate(markdown.splitlines(), 1):
        if not fence and not line.strip():
            close()
            continue
        if not lines:
            start = number
        lines.append(line)
        opened = _FENCE.match(line)
        if fence:
            # A closing fence: the same character, at least as long, nothing after it.
            if (
                opened
                and opened[1][0] == fence[0]
                and len(opened[1]) >= len(fence)
                and not line.strip().strip(fence[0])
            ):
                fence = ""
        elif opened and not (opened[1][0] == "`" and "`" in line[opened.end() :]):
            fence = opened[1]  # (a backtick fence's info string may not hold a backtick)
    close()
    return blocks


def paragraphs(markdown: str) -> list[str]:
    """The translatable blocks of a Markdown body: split on blank lines, trailing spaces
    dropped (leading ones kept: they can make a code block), empty blocks dropped. A fenced code block (``` or ~~~) stays one block even
    with blank lines inside; an unclosed fence runs to the end, as in CommonMark.

    The renderer translates each block and joins the results with "\\n\\n".
    """
    return [text for _, text in _blocks(markdown)]


# ------------------------------------------------------------------ source strings


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """One translatable string: msgctxt `"<message id>/<field>"` and the source text."""

    context: str
    text: str


@dataclass(frozen=True, slots=True)
class LocatedString:
    """A source string and where it came from, for the POT's comments."""

    message: SourceMessage
    comment: str
    loc: Location  # where in campaign.yaml (a key, or a list item)
    file: Path | None = None  # a body file, when the string is one of its paragraphs
    line: int = 0  # the paragraph's line in that file

    def location(self, loaded: LoadedCampaign, root: Path) -> tuple[str, int]:
        if self.file is not None:
            return _relative(self.file, root), self.line
        line, _ = loaded.source.position(self.loc, key=not isinstance(self.loc[-1], int))
        return _relative(loaded.source.path, root), line


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


_MARKDOWN = re.compile(r"[\[\]*_`#>|]|^\s*(?:[-+*]|\d+[.)])\s", re.MULTILINE)


def _fields(message: Message, body: Body | None) -> Iterator[tuple[str, str | None, str, Location, Path | None, int]]:
    """(field, text, what it is, where in campaign.yaml, body file, line) in file order."""
    yield "title", message.title, "title", ("title",), None, 0
    yield "summary", message.summary, "summary", ("summary",), None, 0
    if body is not None:
        blocks = _blocks(body.text)
        for k, (line, text) in enumerate(blocks, 1):
            what = f"body, paragraph {k} of {len(blocks)}"
            if _MARKDOWN.search(text):
                what += " (Markdown: keep the marks and link addresses)"
            yield "body", text, what, ("body",), body.path, line
    if message.call_to_action:
        yield "call_to_action", message.call_to_action.text, "call to action", ("call_to_action", "text"), None, 0
    b = message.briefing
    if b:
        yield "briefing.summary", b.summary, "briefing summary", ("briefing", "summary"), None, 0
        for j, point in enumerate(b.key_points):
            yield "briefing.key_points", point, f"briefing key point {j + 1}", ("briefing", "key_points", j), None, 0
        yield "briefing.evidence", b.evidence, "briefing: how strong the evidence is", ("briefing", "evidence"), None, 0
        yield "briefing.uncertainty", b.uncertainty, "briefing: what is not known", ("briefing", "uncertainty"), None, 0
        for j, point in enumerate(b.recommendations):
            yield (
                "briefing.recommendations",
                point,
                f"briefing recommendation {j + 1}",
                ("briefing", "recommendations", j),
                None,
                0,
            )


def located_strings(loaded: LoadedCampaign, message_id: str | None) -> Iterator[LocatedString]:
    if message_id is not None and all(m.id != message_id for m in loaded.campaign.messages):
        raise KeyError(f'campaign "{loaded.campaign.id}" has no message "{message_id}"')
    for i, message in enumerate(loaded.campaign.messages):
        if message_id is not None and message.id != message_id:
            continue
        for field, text, what, loc, file, line in _fields(message, loaded.bodies.get(message.id)):
            if text and text.strip():  # msgid "" is the PO header: never a message
                yield LocatedString(
                    SourceMessage(f"{message.id}/{field}", text),
                    f'message "{message.id}": {what}',
                    ("messages", i, *loc),
                    file,
                    line,
                )


def source_messages(loaded: LoadedCampaign, message_id: str | None = None) -> list[SourceMessage]:
    """Every translatable string of the campaign (or of one message) in file order,
    each (context, text) once.

    Contexts are `"<message id>/<field>"`, field one of `title`, `summary`, `body` (one
    entry per paragraph), `call_to_action`, `briefing.summary`, `briefing.key_points`,
    `briefing.evidence`, `briefing.uncertainty`, `briefing.recommendations`. Raises
    `KeyError` for a message id the campaign does not have.
    """
    return list(dict.fromkeys(f.message for f in located_strings(loaded, message_id)))
