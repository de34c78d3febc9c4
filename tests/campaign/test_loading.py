"""Loading files that are right: the example workspace, positions of findings, YAML 1.2
scalars, duplicate keys, inline and file bodies, and `${VAR}` settings that never leak."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import pytest
from conftest import VALID_CAMPAIGN, RunCli, WriteCampaign, write_campaign

from kmcomms.campaign.load import is_body_path, load_campaign, load_paths
from kmcomms.campaign.source import load_yaml, toml_position
from kmcomms.campaign.workspace import expand, load_workspace
from kmcomms.channels.registry import check_channel, open_channels
from kmcomms.errors import InvalidInput, WorkspaceError

REPO = Path(__file__).resolve().parents[2]


def _yaml(text: str) -> object:
    return load_yaml(Path("test.yaml"), text).data


def _json(out: str) -> dict[str, dict[str, object]]:
    """`validate --format json` output keyed by code (each code once)."""
    findings = json.loads(out)
    by_code = {f["code"]: f for f in findings}
    assert len(by_code) == len(findings), findings
    return by_code


def _line_of(text: str, needle: str) -> int:
    """The first line that is not a comment and holds `needle`."""
    return next(
        number
        for number, line in enumerate(text.splitlines(), 1)
        if needle in line and not line.lstrip().startswith("#")
    )


# The example workspace and where campaigns are found


def test_the_example_workspace_validates_clean(kmcomms: RunCli) -> None:
    result = load_paths([REPO])
    assert result.diagnostics == []
    assert {c.campaign.id for c in result.campaigns} == {
        p.parent.name for p in (REPO / "campaigns").glob("*/campaign.yaml")
    }
    assert len(result.campaigns) >= 3
    for loaded in result.campaigns:
        for message in loaded.campaign.messages:
            body = loaded.bodies[message.id]
            assert body.text.strip(), f"{loaded.campaign.id}/{message.id} has an empty body"
            if body.path is not None:
                assert body.path.is_relative_to(loaded.folder)
                assert body.text == body.path.read_text(encoding="utf-8-sig")
    code, out, err = kmcomms("validate", "--no-preflight", REPO)
    assert (code, out) == (0, "") and "0 errors, 0 warnings" in err
    # Pre-flight warns about languages not yet translated, but finds no error.
    code, out, err = kmcomms("validate", REPO)
    assert code == 0 and ": error:" not in out and "(0 errors" in err


def test_the_conftest_campaign_is_valid_with_no_warnings(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign()
    assert kmcomms("validate", "--no-preflight", workspace) == (0, "", "✓ 1 campaign valid (0 errors, 0 warnings)\n")


def test_a_campaign_file_or_folder_is_checked_against_the_workspace_above_it(
    campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    path = campaign(VALID_CAMPAIGN.replace("channels: [blog, newsletter]", "channels: [blog, newsletter, podcast]"))
    for target in (path, path.parent):
        code, out, _ = kmcomms("validate", "--no-preflight", target)
        assert code == 1 and 'no channel "podcast"' in out
    # Loaded with no workspace, there is nothing to check channel names against.
    loaded, found = load_campaign(path, None)
    assert loaded is not None and found == []


def test_the_id_defaults_to_the_folder_name(workspace: Path) -> None:
    write_campaign(workspace, name="from-folder")
    write_campaign(workspace, "id: written-id\n" + VALID_CAMPAIGN, name="other-folder")
    result = load_paths([workspace])
    assert result.errors == []
    assert sorted(c.campaign.id for c in result.campaigns) == ["from-folder", "written-id"]


def test_a_folder_name_that_is_not_an_id_says_where_the_id_came_from(workspace: Path, kmcomms: RunCli) -> None:
    write_campaign(workspace, name="HPV Films")
    code, out, _ = kmcomms("validate", "--no-preflight", workspace)
    assert code == 1
    assert '"HPV Films" is not a valid id' in out and "the id is the folder name" in out and '"hpv-films"' in out


# Positions


POSITIONS = """\
title: Positions
audiences:
  parents:
    languages: [en, ur]
    channels:
      - blog
      - newsletter
messages:
  - id: launch
    at: 2027-01-11 09:00
"""


@pytest.mark.parametrize(
    ("loc", "key", "where"),
    [
        ((), False, (1, 1)),
        (("title",), False, (1, 8)),
        (("title",), True, (1, 1)),
        (("audiences", "parents"), True, (3, 3)),
        (("audiences", "parents", "languages"), False, (4, 16)),
        (("audiences", "parents", "languages", 1), False, (4, 21)),
        (("audiences", "parents", "channels", 1), False, (7, 9)),
        (("messages", 0, "at"), False, (10, 9)),
        (("messages", 0, "at"), True, (10, 5)),
        # Deeper than the file goes (a missing key): the deepest node that exists.
        (("messages", 0, "title"), False, (9, 5)),
        (("messages", 5, "at"), False, (9, 3)),
        (("nowhere", "at", "all"), False, (1, 1)),
    ],
)
def test_positions_are_one_based_lines_and_columns(
    loc: tuple[str | int, ...], key: bool, where: tuple[int, int]
) -> None:
    assert load_yaml(Path("p.yaml"), POSITIONS).position(loc, key) == where


def test_columns_count_characters_not_bytes() -> None:
    text = 'names: ["Ürdü 👪", x]\n'  # 6 characters before x that are 11 bytes in UTF-8
    assert load_yaml(Path("p.yaml"), text).position(("names", 1)) == (1, text.index("x") + 1)


def test_an_unknown_key_points_at_the_key_and_a_bad_value_at_the_value(
    campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    text = VALID_CAMPAIGN.replace("    intent: act\n", "    intent: act\n    colour: blue\n").replace(
        "kind: public", "kind: publik"
    )
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", campaign(text))
    findings = _json(out)
    assert code == 1 and set(findings) == {"unknown-key", "bad-choice"}
    assert (findings["unknown-key"]["line"], findings["unknown-key"]["column"]) == (_line_of(text, "colour:"), 5)
    assert (findings["bad-choice"]["line"], findings["bad-choice"]["column"]) == (
        _line_of(text, "kind:"),
        len("    kind: ") + 1,
    )


def test_a_missing_key_points_at_the_block_that_needs_it(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    text = VALID_CAMPAIGN.replace("    title: Has your child had the vaccine?\n", "")
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", campaign(text))
    [finding] = json.loads(out)
    assert code == 1 and finding["code"] == "missing-key"
    assert (finding["line"], finding["column"]) == (_line_of(text, "- id: reminder"), 5)
    assert finding["message"] == 'messages[1] needs the key "title" — add it'


def test_windows_line_endings_and_a_byte_order_mark_keep_positions(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    text = VALID_CAMPAIGN.replace("kind: public", "kind: publik")
    path = campaign(text)
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", path)
    finding = _json(out)["bad-choice"]
    assert code == 1 and (finding["line"], finding["column"]) == (_line_of(text, "kind:"), 11)


def test_findings_are_sorted_by_file_and_position(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    text = VALID_CAMPAIGN.replace("kind: public", "kind: publik").replace("owner: comms@example.org", "owner: [a]")
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", campaign(text))
    positions = [(f["line"], f["column"]) for f in json.loads(out)]
    assert code == 1 and len(positions) == 2 and positions == sorted(positions)


# YAML 1.2 scalars and duplicate keys


def test_yaml_1_2_scalars() -> None:
    data = _yaml(
        "on: [tuesday]\nat: 18:30\nearly: 9:05\nanswers: [yes, no, on, off, y, n]\nstarts: 2027-01-11\n"
        "when: 2027-01-11 09:00\ncount: 12\nnegative: -3\nshare: 0.5\nflags: [true, false]\nnothing: ~\nempty:\n"
        "grouped: 1_000\nsixty: 1:30:00\nquoted: '18:30'\n"
    )
    assert data == {
        "on": ["tuesday"],  # YAML 1.1 would read the key `on` as True
        "at": "18:30",  # … and this as 1110 (base 60)
        "early": "9:05",
        "answers": ["yes", "no", "on", "off", "y", "n"],
        "starts": "2027-01-11",  # dates stay text for the models to check
        "when": "2027-01-11 09:00",
        "count": 12,
        "negative": -3,
        "share": 0.5,
        "flags": [True, False],
        "nothing": None,
        "empty": None,
        "grouped": "1_000",
        "sixty": "1:30:00",
        "quoted": "18:30",
    }


def test_unquoted_times_and_weekdays_load_into_the_campaign(campaign: WriteCampaign) -> None:
    path = campaign(VALID_CAMPAIGN.replace("      at: 18:30", "      at: 9:05"))
    loaded, found = load_campaign(path, load_workspace(path.parents[2]))
    assert found == [] and loaded is not None
    repeat = loaded.campaign.messages[1].repeat
    assert repeat is not None and repeat.on == ["tuesday"] and repeat.at == time(9, 5)
    assert loaded.campaign.starts == date(2027, 1, 11)
    assert loaded.campaign.messages[0].at == datetime(2027, 1, 11, 9, 0)


@pytest.mark.parametrize(
    ("text", "line", "column", "key"),
    [
        ("title: a\nowner: b\ntitle: c\n", 3, 1, "title"),
        ("audiences:\n  parents:\n    name: a\n    kind: public\n    name: b\n", 5, 5, "name"),
        ("messages:\n  - {id: a, title: x, id: b}\n", 2, len("  - {id: a, title: x, ") + 1, "id"),
    ],
)
def test_a_duplicate_key_is_refused_at_its_second_occurrence(text: str, line: int, column: int, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_yaml(Path("dup.yaml"), text)
    [finding] = caught.value.diagnostics
    assert (finding.line, finding.column, finding.code) == (line, column, "yaml-syntax")
    assert f"the key '{key}' appears twice" in finding.message and "keep one" in finding.message


def test_the_same_key_in_different_mappings_is_fine() -> None:
    assert _yaml("a:\n  id: x\nb:\n  id: x\nc: [{id: x}, {id: x}]\n") == {
        "a": {"id": "x"},
        "b": {"id": "x"},
        "c": [{"id": "x"}, {"id": "x"}],
    }


def test_a_small_alias_is_fine_and_only_expansion_counts() -> None:
    # Anchors and aliases are legitimate YAML; only their expanded size is limited.
    data = _yaml("base: &langs [en, ur]\nother: *langs\n")
    assert data == {"base": ["en", "ur"], "other": ["en", "ur"]}


# Bodies


@pytest.mark.parametrize(
    ("body", "is_path"),
    [
        ("messages/launch.md", True),
        ("  messages/launch.MARKDOWN \n", True),
        ("launch.md", True),
        ("The films are out.", False),
        ("# Launch\n\nRead messages/launch.md", False),
        ("messages/launch.txt", False),
    ],
)
def test_a_one_line_body_ending_in_md_is_a_file(body: str, is_path: bool) -> None:
    assert is_body_path(body) is is_path


def test_inline_and_file_bodies(campaign: WriteCampaign) -> None:
    path = campaign(files={"messages/launch.md": "\ufeff# The films are out\n\nClinicians answer.\n"})
    loaded, found = load_campaign(path, load_workspace(path.parents[2]))
    assert found == [] and loaded is not None
    from_file, inline = loaded.bodies["launch"], loaded.bodies["reminder"]
    assert from_file.path == (path.parent / "messages" / "launch.md").resolve()
    assert from_file.text == "# The films are out\n\nClinicians answer.\n"  # the byte order mark is not text
    assert inline.path is None and inline.text == "It is not too late.\n\nAsk your school nurse or GP.\n"


def test_an_empty_body_file_is_a_warning(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    code, out, _ = kmcomms(
        "validate", "--no-preflight", "--format", "json", campaign(files={"messages/launch.md": "  \n"})
    )
    finding = _json(out)["empty-body"]
    assert code == 0 and finding["severity"] == "warning" and finding["path"].endswith("messages/launch.md")


def test_a_body_path_the_file_system_cannot_use_is_an_error_not_a_crash(
    campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    # A NUL byte (written as an escape) and a name longer than file systems allow.
    for body in ('"messages/a\\0b.md"', "messages/" + "a" * 300 + ".md"):
        code, out, err = kmcomms(
            "validate",
            "--no-preflight",
            "--format",
            "json",
            campaign(VALID_CAMPAIGN.replace("body: messages/launch.md", f"body: {body}")),
        )
        assert code == 1 and "internal error" not in err
        finding = _json(out)["bad-path"]
        assert (finding["line"], finding["column"]) == (_line_of(VALID_CAMPAIGN, "body: messages/launch.md"), 11)
        assert "is not a usable file name" in finding["message"]


# Messages stay one line


def test_a_value_with_a_newline_or_escape_stays_on_one_line(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    code, out, _ = kmcomms(
        "validate",
        "--no-preflight",
        campaign(VALID_CAMPAIGN.replace("timezone: Europe/London", 'timezone: "Europe/London\\n\\e[31mred"')),
    )
    assert code == 1 and len(out.splitlines()) == 1
    assert "\x1b" not in out and "Europe/London\\n\\x1b[31mred" in out


# Settings: ${VAR} and positions


def test_expand_reads_variables_from_the_environment() -> None:
    env = {"SMTP_USER": "news", "SMTP_PASSWORD": "hunter2"}
    assert expand("${SMTP_USER}:${SMTP_PASSWORD}@host", env) == "news:hunter2@host"
    assert expand("no variables, $SMTP_USER or {SMTP_USER}", env) == "no variables, $SMTP_USER or {SMTP_USER}"


def test_expand_names_a_missing_variable_and_never_a_value() -> None:
    with pytest.raises(WorkspaceError) as caught:
        expand("${SMTP_USER}:${SMTP_PASSWORD}", {"SMTP_USER": "news-sekrit"})
    assert "SMTP_PASSWORD is not set" in str(caught.value) and "sekrit" not in str(caught.value)


def test_expand_uses_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMCOMMS_TEST_TOKEN", "t0ken")
    monkeypatch.delenv("KMCOMMS_TEST_UNSET", raising=False)
    assert expand("${KMCOMMS_TEST_TOKEN}") == "t0ken"
    with pytest.raises(WorkspaceError, match="KMCOMMS_TEST_UNSET"):
        expand("${KMCOMMS_TEST_UNSET}")


def test_a_password_from_the_environment_is_never_stored_or_printed(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = workspace / "kmcomms.toml"
    settings_file.write_text(
        settings_file.read_text().replace('list = "news"', 'list = "news"\npassword = "${KMCOMMS_TEST_PASSWORD}"')
    )
    campaign()
    monkeypatch.setenv("KMCOMMS_TEST_PASSWORD", "correct-horse-battery")
    settings = load_workspace(workspace).settings
    assert settings.channels["newsletter"].options["password"] == "${KMCOMMS_TEST_PASSWORD}"
    for args in (
        ["validate", "--no-preflight", workspace],
        ["validate", "--no-preflight", "--format", "json", workspace],
        ["plan", "--all", "--format", "json", workspace],
    ):
        code, out, err = kmcomms(*args)
        assert code == 0 and "correct-horse-battery" not in out + err
    monkeypatch.delenv("KMCOMMS_TEST_PASSWORD")
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", workspace)
    finding = _json(out)["env-unset"]
    assert code == 0 and finding["severity"] == "warning" and "${KMCOMMS_TEST_PASSWORD}" in finding["message"]
    assert (finding["line"], finding["column"]) == (_line_of(settings_file.read_text(), "password ="), 1)


def test_any_string_setting_may_read_the_environment(
    workspace: Path, kmcomms: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One kmcomms.toml for staging and production: the site's address comes from the
    # environment, and is read before the adapter checks it is an http(s) address.
    settings_file = workspace / "kmcomms.toml"
    text = settings_file.read_text().replace(
        'adapter = "static-site"\npath = "site"\n',
        'adapter = "static-site"\npath = "site"\nbase_url = "${KM_TEST_SITE_URL}"\n',
    )
    settings_file.write_text(text)
    line = _line_of(text, "base_url =")
    monkeypatch.setenv("KM_TEST_SITE_URL", "https://staging.unit.example.org/")
    assert kmcomms("validate", "--no-preflight", workspace)[:2] == (0, "")
    check = check_channel(load_workspace(workspace), "blog")
    assert check.usable and check.settings is not None and check.settings.base_url == "https://staging.unit.example.org"
    assert kmcomms("channels", "check", "blog", "-w", workspace)[:2] == (0, "✓ blog (static-site): ready\n")

    monkeypatch.setenv("KM_TEST_SITE_URL", "ftp://files.unit.example.org")  # refused at its line, never quoted
    code, out, err = kmcomms("validate", "--no-preflight", "--format", "json", workspace)
    finding = _json(out)["bad-value"]
    assert code == 1 and (finding["path"], finding["line"], finding["column"]) == (str(settings_file), line, 1)
    assert finding["message"] == 'base_url: "${KM_TEST_SITE_URL}" is not an http:// or https:// address'
    code, out, err = kmcomms("channels", "check", "-w", workspace)
    assert code == 1 and "files.unit.example.org" not in out + err

    monkeypatch.delenv("KM_TEST_SITE_URL")  # not set: named at its line; the channel cannot be used
    code, out, _ = kmcomms("validate", "--no-preflight", "--format", "json", workspace)
    finding = _json(out)["env-unset"]
    assert code == 0 and (finding["severity"], finding["line"]) == ("warning", line)
    assert finding["message"] == (
        "channels.blog.base_url reads ${KM_TEST_SITE_URL}, which is not set — the channel cannot be used until it is"
    )
    code, out, _ = kmcomms("channels", "check", "blog", "-w", workspace)
    assert code == 1 and "✗ blog (static-site):" in out and "reads ${KM_TEST_SITE_URL}, which is not set" in out
    with pytest.raises(InvalidInput, match=f"kmcomms.toml:{line}:1: error: channels.blog.base_url reads"):
        open_channels(load_workspace(workspace))


def test_a_secret_is_read_from_the_environment_only_when_used(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = workspace / "kmcomms.toml"
    settings_file.write_text(
        settings_file.read_text().replace(
            'list = "news"',
            'list = "news"\npassword = "${KM_TEST_SMTP_PASSWORD}"\nusername = "${KM_TEST_SMTP_USER}"',
            1,
        )
    )
    monkeypatch.setenv("KM_TEST_SMTP_USER", "news")
    monkeypatch.setenv("KM_TEST_SMTP_PASSWORD", "correct-horse-battery")
    check = check_channel(load_workspace(workspace), "newsletter")
    assert check.usable and check.settings is not None
    assert check.settings.username == "news"
    assert check.settings.password.get_secret_value() == "${KM_TEST_SMTP_PASSWORD}"
    monkeypatch.delenv("KM_TEST_SMTP_PASSWORD")
    check = check_channel(load_workspace(workspace), "newsletter")
    assert not check.usable and [d.code for d in check.diagnostics] == ["env-unset"]
    assert "newsletter" in open_channels(
        load_workspace(workspace)
    )  # the daemon still starts; sending says what is missing


def test_toml_positions_follow_tables_and_quoted_keys() -> None:
    text = '[unit]\nid = "x"\n\n[channels."unit-blog"]\nadapter = "wordpress"\n  "pass-word" = "x"  # comment\n[channels.mail.auth]\ntoken = 1\n'
    assert toml_position(text, ("unit", "id")) == (2, 1)
    assert toml_position(text, ("channels", "unit-blog")) == (4, 1)
    assert toml_position(text, ("channels", "unit-blog", "pass-word")) == (6, 3)
    assert toml_position(text, ("channels", "mail", "auth", "token")) == (8, 1)
    assert toml_position(text, ("store", "url")) == (1, 1)


def test_hidden_folders_under_campaigns_are_not_campaigns(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign()
    hidden = workspace / "campaigns" / ".draft"
    hidden.mkdir()
    (hidden / "campaign.yaml").write_text("title: [broken\n")
    assert kmcomms("validate", "--no-preflight", workspace)[0] == 0
    assert kmcomms("validate", "--no-preflight", workspace / "campaigns")[0] == 0


def test_a_bad_youtube_id_says_where_to_find_one(campaign: WriteCampaign, kmcomms: RunCli) -> None:
    path = campaign(
        VALID_CAMPAIGN.replace(
            "    body: messages/launch.md\n",
            "    body: messages/launch.md\n    video:\n      youtube_id: https://youtu.be/x\n",
            1,
        )
    )
    code, out, _ = kmcomms("validate", "--no-preflight", path)
    assert code == 1 and 'is not a YouTube video id — copy the 11 characters after "v="' in out
