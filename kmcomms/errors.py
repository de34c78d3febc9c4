"""Errors and diagnostics.

Every failure kmcomms reports to a person is a `KmcommsError`; the CLI turns it into
one line and an exit code (see `kmcomms.cli.main`). The whole tree, with the module
that defines each class (`tests/architecture/test_error_tree.py` holds the code to it):

    KmcommsError              errors.py               the root; exit 1 unless said
    +-- UsageError            errors.py               wrong use of a command (exit 2)
    +-- InvalidInput          errors.py               files a person wrote have errors; carries the diagnostics
    +-- WorkspaceError        errors.py               the workspace cannot do what the command needs as it stands
    |   +-- NoWorkspace       errors.py               no kmcomms.toml in the folder or above
    |   +-- SettingError      errors.py               a setting cannot be used (an unset ${VAR}, an unknown adapter)
    |   +-- StoreError        errors.py               the store cannot be opened (a bad URL, an unreachable database)
    +-- PdfError              render/pdf.py           this machine cannot make a readable PDF (a font, Pango)
    +-- ChannelError          channels/base.py        a channel could not do what was asked
    |   +-- TransientError    channels/base.py        worth trying again later
    |   |   +-- Uncertain     channels/mail.py        the connection was lost after the message was handed over
    |   +-- PermanentError    channels/base.py        trying again cannot help
    +-- RecipientError        channels/mail.py        the mail server's answer about one recipient
    |   +-- Refused           channels/mail.py        refused for good (5xx); maybe a hard bounce
    |   +-- Deferred          channels/mail.py        not now (4xx); the other recipients may go
    +-- SiteError             channels/site/entry.py  an entry the site cannot take as it is
    +-- ListenError           reach/tracking.py       the tracking server cannot listen where asked

Errors travel up to a boundary that reports them and decides what happens next; code
between catches one only to add meaning (a channel's name, a finding's position) or to
turn it into a result (a diagnostic, a delivery's state). The boundaries:

* the CLI (`kmcomms.cli.main`): one line on stderr and the exit code; the command ends;
* the daemon's passes and jobs (`kmcomms.daemon.service`): a log line, and the daemon
  goes on to the next pass;
* the tracking server's requests (`kmcomms.reach.tracking`): a log line and an error page;
* the dispatcher, per delivery (`kmcomms.publish.dispatch`): a `TransientError` retries,
  a `PermanentError` fails the delivery, and either is recorded in the ledger;
* the collector, per publication (`kmcomms.reach.collect`): the error is recorded
  against that publication and the others are still asked.

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
    "NoWorkspace",
    "SettingError",
    "Severity",
    "StoreError",
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
    """The workspace cannot do what a command needs as it stands (nothing published yet);
    the subclasses say more precisely what is missing."""


class NoWorkspace(WorkspaceError):
    """No `kmcomms.toml` in the folder or above, where a command needs a workspace."""


class SettingError(WorkspaceError):
    """A setting cannot be used as written: an environment variable it reads is unset, it
    names an adapter that is not installed, a section a command needs is missing."""


class StoreError(WorkspaceError):
    """The store (`[store] url`) cannot be opened: not a database URL, or the database
    does not answer."""


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
