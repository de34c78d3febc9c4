"""Errors and diagnostics.

Every failure kmcomms reports to a person is a `KmcommsError`; the CLI turns it into
one line and an exit code (see `kmcomms.cli.main`). The tree:

* KmcommsError
  + UsageError              wrong use of a command (exit 2)
  + WorkspaceError          no workspace where one is needed
  + InvalidInput            files a person wrote have errors; carries the diagnostics

A `Diagnostic` is one finding about one place in one file. Validation collects them
instead of stopping at the first, so a researcher sees everything in one run.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

__all__ = [
    "Diagnostic",
    "InvalidInput",
    "KmcommsError",
    "Severity",
    "UsageError",
    "WorkspaceError",
    "display_path",
    "one_line",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with control characters (a newline in a quoted value, a terminal escape)
    written as escapes: a finding quotes what people wrote, and must stay one line that
    cannot drive the terminal."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def display_path(path: Path | str) -> str:
    """The path as a person typed it: relative to the working directory where possible."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: where (`path:line:column`, 1-based), how bad, a stable code, and a
    message that says what is wrong and how to fix it."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        where = display_path(self.path)
        if self.line:
            where += f":{self.line}:{self.column}"
        return one_line(f"{where}: {self.severity}: {self.message} [{self.code}]")

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["path"] = display_path(self.path)
        data["severity"] = str(self.severity)
        return data


class KmcommsError(Exception):
    """The root of every error kmcomms reports to a person."""

    exit_code = 1


class UsageError(KmcommsError):
    """A command was used wrongly (a bad option value, a path that is not a workspace)."""

    exit_code = 2


class WorkspaceError(KmcommsError):
    """No workspace was found where a command needs one."""


class InvalidInput(KmcommsError):
    """Files a person wrote (campaigns, settings) have errors.

    `diagnostics` holds every finding, errors and warnings; the message is the first error.
    """

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        first = errors[0] if errors else diagnostics[0]
        more = f" (and {len(errors) - 1} more errors; run `kmcomms validate`)" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}")
