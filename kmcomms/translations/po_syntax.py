"""PO syntax, read line by line as msgfmt reads it: `syntax_problem` finds the first thing
msgfmt would refuse that Babel lets through (or reports with a poorer position), with its
line and column, so that a translator hand-editing a file is told exactly where."""

from __future__ import annotations

import re

from babel.messages.pofile import unescape

__all__ = ["KEYWORD", "string_problem", "syntax_problem"]

#: A PO line's keyword: msgctxt, msgid, msgid_plural, msgstr or msgstr[N].
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)(?=[\s\"]|$)")
_ESCAPES = set('\\"abfnrtv')


def string_problem(text: str) -> tuple[int, str] | None:
    """(0-based column, reason) when `text` is not exactly one C string, else None."""
    if not text.startswith('"'):
        return 0, 'the text must be in double quotes: "…"'
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                break
            if text[i + 1] not in _ESCAPES:
                return i, f'"\\{text[i + 1]}" is not an escape PO files know — write "\\\\" for a backslash'
            i += 2
            continue
        if char == '"':
            if text[i + 1 :].strip():
                return i, 'a " inside the text must be written \\" (or the line has text after its closing quote)'
            return None
        i += 1
    return len(text), 'the quoted text is not closed — end it with "'


_Problem = tuple[int, int, str]  # (1-based line, 1-based column, reason)


class _Scanner:
    """Reads a PO file line by line as msgfmt does, remembering the open entry, so that
    `line` can say the first thing msgfmt would refuse."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str | None, str], int] = {}
        self.state = "start"  # start | msgctxt | msgid | plural | msgstr
        self.context: list[str] | None = None
        self.msgid: list[str] = []
        self.current: list[str] = []
        self.entry_line = 0  # where the open entry's msgid is
        self.number = 0  # the line being read

    def finish(self) -> _Problem | None:
        """Close the open entry: a problem when it has no msgstr or repeats an earlier one."""
        if self.state in ("msgctxt", "msgid", "plural"):
            return (
                self.entry_line or self.number,
                1,
                'this entry has no msgstr — add a msgstr line (msgstr "" when not yet translated)',
            )
        if self.state == "msgstr":
            # msgfmt refuses a repeated entry, obsolete (#~) ones included.
            key = (None if self.context is None else "".join(self.context), "".join(self.msgid))
            if key in self.seen:
                what = f'msgctxt "{key[0]}"' if key[0] is not None else f'msgid "{key[1][:40]}"'
                return (
                    self.entry_line,
                    1,
                    f"a second entry for {what} (the first is on line {self.seen[key]}) — keep one",
                )
            self.seen[key] = self.entry_line
        self.state, self.context = "start", None
        self.msgid.clear()
        return None

    def line(self, number: int, raw: str) -> _Problem | None:
        """Read one line of the file."""
        self.number = number
        line = raw.strip()
        if not line:
            return None
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            return number, 1, "a merge conflict marker — resolve the conflict (keep one version of each entry)"
        if line.startswith("#-"):
            return number, 1, "a msgcat conflict marker — choose one translation and delete the markers"
        if line.startswith("#~"):
            line = line[2:].strip()
            if not line or line.startswith("|"):
                return None
        elif line.startswith("#"):
            return self.finish()
        column = raw.find(line) + 1
        if keyword := KEYWORD.match(line):
            return self._keyword(keyword[1], line[keyword.end() :].strip(), line, column)
        if line.startswith('"'):
            problem = string_problem(line)
            if problem:
                return number, column + problem[0], problem[1]
            if self.state == "start":
                return number, column, "a quoted line must continue a msgctxt, msgid or msgstr"
            self.current.append(unescape(line))
            return None
        word = line.split()[0][:30]
        return (
            number,
            column,
            (
                f'"{word}" is not a PO keyword: each line is a # comment, msgctxt, msgid,'
                " msgstr or a quoted continuation"
            ),
        )

    def _keyword(self, word: str, rest: str, line: str, column: int) -> _Problem | None:
        number, state = self.number, self.state
        offset = line.index(rest) if rest else len(line)
        problem = string_problem(rest)
        if problem:
            return number, column + offset + problem[0], f"{word}: {problem[1]}"
        value = unescape(rest)
        starts_entry = word == "msgctxt" or (word == "msgid" and state != "msgctxt")
        if starts_entry and (unfinished := self.finish()) is not None:
            return unfinished
        if word == "msgctxt":
            self.context = self.current = [value]
        elif word == "msgid":
            self.msgid.append(value)
            self.current, self.entry_line = self.msgid, number
        elif word == "msgid_plural":
            if state != "msgid":
                return number, column, "msgid_plural must follow a msgid"
            self.current = []
            word = "plural"
        elif (word == "msgstr" and state != "msgid") or (word != "msgstr" and state not in ("plural", "msgstr")):
            if state in ("msgid", "plural"):
                return (
                    number,
                    column,
                    f"{word} does not match the msgid: msgstr for one msgid, msgstr[N] after msgid_plural",
                )
            return number, column, f'{word} without a msgid before it — each entry is msgid "…" then msgstr "…"'
        else:
            self.current, word = [], "msgstr"
        self.state = word
        return None


def syntax_problem(lines: list[str]) -> _Problem | None:
    """The first thing msgfmt would refuse that Babel lets through (or reports with a
    poorer position): (1-based line, 1-based column, reason), or None."""
    scanner = _Scanner()
    for number, raw in enumerate(lines, 1):
        if (problem := scanner.line(number, raw)) is not None:
            return problem
    return scanner.finish()
