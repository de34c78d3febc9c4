"""Report formats: each one module that lays a `Report` out and declares itself.

A format module ends with

    FORMAT = ReportFormat("html", ".html", "text/html", render=html, scheduled=True)

and is registered under the entry-point group `kmcomms.report_formats` by its name, as
kmcomms's own are in its pyproject.toml:

    [project.entry-points."kmcomms.report_formats"]
    html = "kmcomms.report.html:FORMAT"

`kmcomms report --format` offers every registered format, and `[report] format` in
kmcomms.toml accepts those that are `scheduled`: nothing else needs an edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kmcomms.campaign.report_formats import GROUP, find_format, format_names
from kmcomms.errors import WorkspaceError
from kmcomms.report.model import Report

__all__ = ["DEFAULT", "ReportFormat", "report_format", "report_formats"]

#: The format of a report when none is asked for.
DEFAULT = "html"


@dataclass(frozen=True, slots=True)
class ReportFormat:
    """One way to lay a report out: one document (`render`), or a folder of files
    (`write_folder`)."""

    name: str
    """What people ask for it by: `--format NAME`, `format = "NAME"` in [report]."""
    suffix: str
    """Of the file it is written to (".html"); of each file, for a folder."""
    media_type: str
    """Of that file ("text/html"): a mailed report is attached as it."""
    render: Callable[[Report], str] | None = None
    """The report as one document; None for a folder of files."""
    write_folder: Callable[[Report, Path], list[Path]] | None = None
    """Write the report into a folder (made if missing); returns the files written."""
    folder_of: str = ""
    """For a folder: what it holds, to a person who gave none ("two files (a.csv, b.csv)")."""
    scheduled: bool = False
    """Whether `[report]` may ask for it: one document the daemon mails or files for people."""

    def __post_init__(self) -> None:
        if (self.render is None) == (self.write_folder is None):
            raise ValueError(
                f"report format {self.name}: give render (one document) or write_folder (a folder), one of them"
            )
        if self.scheduled and self.render is None:
            raise ValueError(f"report format {self.name}: only one document can be scheduled (mailed, filed)")


def report_format(name: str) -> ReportFormat:
    """The installed format called `name`. Raises `WorkspaceError` when there is none, or
    its entry point names no `ReportFormat` of that name."""
    found = find_format(name)
    if not isinstance(found, ReportFormat) or found.name != name:
        raise WorkspaceError(f'no report format "{name}" in {GROUP} — installed: {", ".join(format_names())}')
    return found


def report_formats() -> dict[str, ReportFormat]:
    """Every installed format by name, the default first (as `--format` lists them)."""
    names = sorted(format_names(), key=lambda name: name != DEFAULT)
    return {name: report_format(name) for name in names}
