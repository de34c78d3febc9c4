"""Report formats are a registry: a new format is one module (and its entry point).

A format made here, registered as a plugin would register it, is offered by `kmcomms
report --format`, accepted by `[report] format` in kmcomms.toml and delivered by the
daemon's scheduled report, with no edit anywhere else.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from conftest import RunCli, write_campaign
from smtp_inbox import Inbox, inbox_fixture  # noqa: F401 - the `inbox` fixture

from kmcomms import plugins
from kmcomms.campaign import report_formats as installed
from kmcomms.campaign.load import load_paths
from kmcomms.campaign.workspace import load_workspace
from kmcomms.errors import InvalidInput
from kmcomms.ledger.store import open_store
from kmcomms.report.formats import DEFAULT, ReportFormat, report_format, report_formats
from kmcomms.report.model import Report
from kmcomms.report.schedule import deliver

ROOT = Path(__file__).resolve().parents[2]


def tab_separated(report: Report) -> str:
    """The indicators, one a line: the whole of a format besides its declaration."""
    return "".join(f"{i.indicator}\t{i.value}\n" for i in report.indicators) or "no indicators\n"


TSV = ReportFormat("tsv", ".tsv", "text/tab-separated-values", render=tab_separated, scheduled=True)


@pytest.fixture
def with_tsv(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TSV registered under the entry-point group, as a plugin's pyproject.toml would."""
    real = plugins.entry_points

    def entry_points_with_tsv(*, group: str) -> list[EntryPoint]:
        extra = [EntryPoint("tsv", f"{__name__}:TSV", group)] if group == installed.GROUP else []
        return [*real(group=group), *extra]

    monkeypatch.setattr(plugins, "entry_points", entry_points_with_tsv)
    plugins.load.cache_clear()
    yield
    plugins.load.cache_clear()


def test_the_registry_is_what_pyproject_registers() -> None:
    registered = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert set(report_formats()) == set(registered[installed.GROUP]) == {"html", "md", "csv", "json"}
    assert next(iter(report_formats())) == DEFAULT
    assert installed.scheduled_format_names() == ["html", "md"]
    for name, layout in report_formats().items():
        assert layout.name == name and layout.suffix.startswith(".") and "/" in layout.media_type, name
    assert report_format("csv").render is None and report_format("csv").write_folder is not None


def test_a_format_is_one_document_or_one_folder_and_only_a_document_is_scheduled() -> None:
    with pytest.raises(ValueError, match="one of them"):
        ReportFormat("both", ".x", "text/plain", render=tab_separated, write_folder=lambda r, p: [])
    with pytest.raises(ValueError, match="one of them"):
        ReportFormat("neither", ".x", "text/plain")
    with pytest.raises(ValueError, match="only one document can be scheduled"):
        ReportFormat("folder", ".x", "text/plain", write_folder=lambda r, p: [], scheduled=True)


def test_a_registered_format_is_offered_by_the_command(kmcomms: RunCli, workspace: Path, with_tsv: None) -> None:
    code, out, _ = kmcomms("report", "--help")
    assert code == 0 and "tsv" in out
    write_campaign(workspace)
    code, out, err = kmcomms("report", "example", "--format", "tsv", "-w", workspace)
    assert code == 0, err
    assert out.endswith("\n") and "\t" in out
    code, _, err = kmcomms("report", "example", "--format", "pdf", "-w", workspace)
    assert code == 2 and "'pdf' is not one of 'html', 'csv', 'json', 'md', 'tsv'" in err


def test_a_registered_format_can_be_scheduled(inbox: Inbox, workspace: Path, with_tsv: None) -> None:
    settings = workspace / "kmcomms.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\n[report]\nevery = "monday 08:00"\nformat = "tsv"\n'
        f'folder = "reports"\nemail = "lead@unit.example.ac.uk"\nsmtp_port = {inbox.port}\n',
        encoding="utf-8",
    )
    loaded = load_workspace(workspace)
    assert loaded.settings.report is not None and loaded.settings.report.format == "tsv"
    engine = open_store(loaded.settings.store.url, workspace)
    try:
        done = deliver(loaded, load_paths([workspace]).campaigns, engine, datetime(2027, 1, 18, 8, tzinfo=UTC))
    finally:
        engine.dispose()
    assert done.path == workspace / "reports" / "unit-2027-01-18.tsv"
    [attachment] = list(inbox.received[0].message.iter_attachments())
    assert attachment.get_content_type() == "text/tab-separated-values"
    assert attachment.get_content() == done.path.read_text(encoding="utf-8")


def test_a_format_that_is_not_installed_is_refused_naming_those_that_are(workspace: Path, with_tsv: None) -> None:
    settings = workspace / "kmcomms.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\n[report]\nevery = "monday 08:00"\nformat = "tvs"\n'
        'folder = "reports"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        load_workspace(workspace)
    [found] = caught.value.diagnostics
    assert (found.code, found.message) == (
        "bad-choice",
        'format: "tvs" is not allowed (did you mean "tsv"?) — use one of html, md, tsv',
    )
