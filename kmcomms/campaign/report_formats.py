"""The report formats installed, asked by name from the stages before `kmcomms.report`.

A report format is a `kmcomms.report.formats.ReportFormat` registered under the
entry-point group `kmcomms.report_formats` (kmcomms's own in its pyproject.toml, as its
channel adapters are), so a new format is one module and its entry point, and a plugin
adds one with `pip install`. The workspace settings check `[report] format` through this
module: they are loaded before `kmcomms.report` exists in the flow and must not import it,
and a list of names kept here by hand would be a second place to edit for each format.
"""

from __future__ import annotations

from typing import Any

from kmcomms import plugins

__all__ = ["GROUP", "find_format", "format_names", "scheduled_format_names"]

#: The entry-point group report formats register under, built-in and third-party alike.
GROUP = "kmcomms.report_formats"


def format_names() -> list[str]:
    """The names of the installed report formats, sorted."""
    return plugins.names(GROUP)


def find_format(name: str) -> Any:
    """The object the entry point `name` names (a `ReportFormat`, unchecked), or None when
    no installed format has that name. Raises whatever importing it raises."""
    return plugins.load(GROUP, name)


def scheduled_format_names() -> list[str]:
    """The formats `[report]` may ask for: those that say they are `scheduled` (one
    document the daemon mails or files for people)."""
    return [name for name in format_names() if getattr(find_format(name), "scheduled", False) is True]
