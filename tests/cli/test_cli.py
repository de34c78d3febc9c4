"""The command line as a user types it: init, validate, plan, schema; exit codes and output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from icalendar import Calendar

from kmcomms.cli import COMMANDS, cli, main
from kmcomms.cli.schema import campaign_schema

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-27T12:00Z"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--now", NOW, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_makes_a_workspace_that_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", str(tmp_path / "unit"), "--unit-name", "HPRU in Vaccines")
    assert code == 0 and "created a workspace" in out
    folder = tmp_path / "unit"
    settings = (folder / "kmcomms.toml").read_text()
    assert 'url = "sqlite:///kmcomms.db"' in settings and 'adapter = "static-site"' in settings
    assert 'id = "unit"' in settings and "HPRU in Vaccines" in settings
    assert (folder / "campaigns").is_dir() and (folder / "translations").is_dir()
    assert json.loads((folder / "campaign.schema.json").read_text())["title"].startswith("kmcomms campaign")
    code, _, err = run(capsys, "validate", str(folder))
    assert code == 0 and "0 errors" in err


def test_a_fresh_workspace_passes_its_own_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `kmcomms init` writes, as it stands, is what a new user checks first.
    run(capsys, "init", str(tmp_path / "unit"))
    monkeypatch.chdir(tmp_path / "unit")
    code, out, err = run(capsys, "validate")
    assert (code, out) == (0, ""), out + err
    code, out, err = run(capsys, "channels", "check")
    assert code == 0, out + err
    assert out.splitlines() == [
        f"✓ {name} ({adapter}): ready"
        for name, adapter in (
            ("blog", "static-site"),
            ("newsletter", "smtp"),
            ("video", "video-page"),
            ("briefing", "briefing"),
        )
    ]
    code, out, err = run(capsys, "publish", "--due", "--dry-run")
    assert (code, out, err) == (0, "", "0 due; nothing was changed (--dry-run)\n")


def test_init_refuses_an_existing_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", str(tmp_path))[0] == 0
    code, _, err = run(capsys, "init", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and "a workspace already" in err


def test_the_repository_is_a_valid_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(REPO), "--format", "json")
    findings = json.loads(out)
    assert code == 0, findings
    assert [f for f in findings if f["severity"] == "error"] == []
    assert set(findings[0]) == {"path", "line", "column", "severity", "code", "message"} if findings else True


def test_validate_json_reports_errors_with_positions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init", str(tmp_path))
    folder = tmp_path / "campaigns" / "broken"
    folder.mkdir()
    (folder / "campaign.yaml").write_text("title: x\ntitel: y\n")
    code, out, _ = run(capsys, "validate", str(tmp_path), "--format", "json")
    assert code == 1
    findings = json.loads(out)
    typo = next(f for f in findings if f["code"] == "unknown-key")
    assert typo["path"].endswith("campaigns/broken/campaign.yaml")
    assert (typo["line"], typo["column"], typo["severity"]) == (2, 1, "error")
    assert 'did you mean "title"' in typo["message"]


def test_validate_with_a_missing_path_is_wrong_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope"))
    assert code == 2 and "no such file or folder" in err


def test_plan_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", str(REPO), "--format", "json")
    assert code == 0
    deliveries = json.loads(out)
    assert deliveries, "the example campaigns plan deliveries in 2027"
    assert {"id", "campaign", "message", "occurrence", "audiences", "language", "channel", "due"} <= set(deliveries[0])
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["due"]) for d in deliveries)
    assert len({d["id"] for d in deliveries}) == len(deliveries)
    assert [d["due"] for d in deliveries] == sorted(d["due"] for d in deliveries)
    campaigns = {d["campaign"] for d in deliveries}
    assert campaigns == {p.name for p in (REPO / "campaigns").iterdir() if (p / "campaign.yaml").exists()}


def test_plan_window_limits_deliveries(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "plan", str(REPO), "--format", "json")
    everything = json.loads(out)
    _, out, _ = run(capsys, "plan", str(REPO), "--format", "json", "--from", "2027-02-01", "--to", "2027-03-01")
    february = json.loads(out)
    assert 0 < len(february) < len(everything)
    assert all("2027-02-01" <= d["due"] < "2027-03-01" for d in february)
    _, out, _ = run(capsys, "plan", str(REPO), "--format", "json", "--to", "2026-01-01")
    assert json.loads(out) == []


def test_plan_ics_is_a_calendar_of_the_deliveries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.ics"
    assert run(capsys, "plan", str(REPO), "--format", "ics", "-o", str(target))[0] == 0
    _, out, _ = run(capsys, "plan", str(REPO), "--format", "json")
    deliveries = {d["id"]: d for d in json.loads(out)}
    calendar = Calendar.from_ical(target.read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == len(deliveries)
    for event in events:
        delivery = deliveries[str(event["uid"]).removesuffix("@kmcomms")]
        assert event.decoded("dtstart").strftime("%Y-%m-%dT%H:%M:%SZ") == delivery["due"]
        assert delivery["channel"] in str(event["summary"])


def test_plan_table_lists_deliveries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", str(REPO), "--to", "2027-01-12")
    assert code == 0
    assert re.search(r"\d+ deliveries", out)
    assert "2027-01-11" in out and "hpv-conversations" in out


def test_plan_refuses_an_invalid_campaign_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init", str(tmp_path))
    (tmp_path / "campaigns" / "bad").mkdir()
    (tmp_path / "campaigns" / "bad" / "campaign.yaml").write_text("title: [unclosed\n")
    code, out, err = run(capsys, "plan", str(tmp_path))
    assert code == 1 and out == ""
    assert err.startswith("kmcomms: error: campaigns/bad/campaign.yaml:") or "campaign.yaml:2" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_schema_matches_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert {"id", "title", "timezone", "aims", "audiences", "messages"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    committed = (REPO / "campaign.schema.json").read_text()
    assert committed == campaign_schema(), "run `kmcomms schema -o campaign.schema.json` and commit it"


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "kmcomms", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "kmcomms" in done.stdout


def test_debug_shows_the_traceback_and_default_does_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", str(tmp_path))
    code, _, err = run(capsys, "init", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    code, _, err = run(capsys, "--debug", "init", str(tmp_path))
    assert code == 2 and "Traceback" in err


@pytest.mark.parametrize(
    "line",
    [
        ["init", "{folder}", "--debug"],
        ["--debug", "init", "{folder}"],
        ["channels", "check", "nosuch", "--debug", "-w", "{folder}"],
    ],
)
def test_debug_may_come_anywhere_on_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: list[str]
) -> None:
    # Added to the line that failed: after the subcommand is where a person types it.
    run(capsys, "init", str(tmp_path))
    code, _, err = run(capsys, *(part.format(folder=tmp_path) for part in line))
    assert code in (1, 2) and "Traceback" in err and "no such option" not in err


@pytest.mark.parametrize(
    ("value", "traceback"), [("1", True), ("yes", True), ("0", False), ("false", False), ("", False)]
)
def test_kmcomms_debug_in_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str, traceback: bool
) -> None:
    run(capsys, "init", str(tmp_path))
    monkeypatch.setenv("KMCOMMS_DEBUG", value)
    code, _, err = run(capsys, "init", str(tmp_path))
    assert code == 2 and ("Traceback" in err) is traceback


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_and_a_readme_entry(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Usage: kmcomms" in out
    loaded = cli.get_command(click.Context(cli), command)
    assert loaded is not None and loaded.help, f"{command} has no help text"
    assert f"kmcomms {command}" in (REPO / "README.md").read_text(), f"README.md does not document `kmcomms {command}`"
