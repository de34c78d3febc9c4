"""Broken files: each gives one clear line `path:LINE:COL: error: what — how to fix [code]`,
exit 1, and never a traceback.

The corpus is `tests/badinput/`: a workspace whose every folder under `campaigns/` is a
valid campaign but for one mistake, and `workspaces/<case>/`, whole workspaces with a broken
`kmcomms.toml` (or two campaigns sharing an id). `CASES` below says what each must report.
The 50 MB file is made at test time; it is never committed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import VALID_CAMPAIGN, make_workspace, run_cli, write_campaign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmcomms.campaign.fields import parse_every
from kmcomms.campaign.source import MAX_FILE_BYTES, load_yaml

CORPUS = Path(__file__).resolve().parents[1] / "badinput"

#: One finding as `kmcomms validate` prints it.
LINE = re.compile(
    r"^(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): (?P<message>.+) \[(?P<code>[a-z0-9-]+)\]$"
)


@dataclass(frozen=True)
class Case:
    folder: str
    """What to validate, relative to tests/badinput."""
    file: str
    """The file the finding is in, relative to tests/badinput."""
    line: int
    column: int
    code: str
    says: tuple[str, ...]
    """Text the message must contain: what is wrong, and how to fix it."""
    severity: str = "error"

    @property
    def exit_code(self) -> int:
        return 1 if self.severity == "error" else 0


def _campaign(
    name: str, line: int, column: int, code: str, *says: str, severity: str = "error", file: str = "campaign.yaml"
) -> Case:
    return Case(f"campaigns/{name}", f"campaigns/{name}/{file}", line, column, code, says, severity)


def _settings(name: str, line: int, column: int, code: str, *says: str) -> Case:
    return Case(f"workspaces/{name}", f"workspaces/{name}/kmcomms.toml", line, column, code, says)


CASES = [
    # YAML syntax and encoding
    _campaign(
        "yaml-unclosed-list", 28, 9, "yaml-syntax", "did not find expected ',' or ']'", "the [ list opened on line 27"
    ),
    _campaign("yaml-unclosed-quote", 32, 12, "yaml-syntax", "the quote opened here is never closed", "close it"),
    # Closed only by the next line's opening quote: the parser stumbles on line 3, the quote to close is on line 2.
    _campaign(
        "yaml-quote-runs-on", 2, 8, "yaml-syntax", "the quote opened here runs on to line 3", "close it on this line"
    ),
    _campaign(
        "yaml-colon-in-value",
        32,
        15,
        "yaml-syntax",
        "mapping values are not allowed",
        "put quotes around a value that contains ': '",
    ),
    _campaign("yaml-tab-indent", 24, 1, "yaml-syntax", "tab", "indent with spaces"),
    _campaign("yaml-duplicate-key", 6, 1, "yaml-syntax", "the key 'language' appears twice", "keep one"),
    _campaign("yaml-undefined-alias", 30, 16, "yaml-syntax", "undefined alias", "define the anchor"),
    _campaign("yaml-bad-tag", 19, 21, "yaml-syntax", "'lots' cannot be read as !!int", "remove the tag"),
    _campaign("yaml-python-tag", 32, 12, "yaml-syntax", "python/object/apply:os.system", "remove the tag"),
    _campaign("yaml-two-documents", 34, 1, "yaml-syntax", "another document", "remove the `---` line"),
    _campaign("yaml-too-deep", 32, 1009, "yaml-syntax", "nesting depth"),
    _campaign("yaml-control-character", 32, 21, "yaml-syntax", "U+0000 is a control character", "delete it"),
    _campaign("not-utf8", 23, 30, "not-utf8", "byte 0xe9 is not UTF-8", "save the file as UTF-8"),
    _campaign("empty-file", 1, 1, "empty-file", "the file is empty", "kmcomms new"),
    _campaign("only-comments", 1, 1, "not-a-mapping", "holds nothing"),
    _campaign("not-a-mapping", 1, 1, "not-a-mapping", "holds a list", "mapping of keys"),
    _campaign("alias-bomb", 2, 1, "alias-bomb", "more than 100,000 values", "fewer nested aliases"),
    # Wrong types, unknown and missing keys
    _campaign("wrong-type-list", 25, 16, "wrong-type", "languages must be a list", "[a, b]", "not 'en'"),
    _campaign("wrong-type-number", 19, 21, "wrong-type", "target must be a number", "not 'lots'"),
    _campaign("wrong-type-text", 32, 12, "wrong-type", "title must be text", "not a list"),
    _campaign("wrong-type-empty", 3, 7, "wrong-type", "owner must be text", "not empty"),
    _campaign(
        "unknown-key-typo", 2, 1, "unknown-key", 'unknown key "titel"', 'did you mean "title"', "fix its spelling"
    ),
    _campaign(
        "unknown-key-nested",
        13,
        9,
        "unknown-key",
        'unknown key "statment" in aims[0].objectives[0]',
        'did you mean "statement"',
    ),
    _campaign("unknown-key-far", 27, 5, "unknown-key", 'unknown key "colour" in audiences.parents', "remove it"),
    _campaign("missing-key", 23, 5, "missing-key", 'audiences.parents needs the key "intent"', "add it"),
    _campaign("number-out-of-range", 27, 18, "out-of-range", "reading_age must be at least 5, not 3"),
    _campaign(
        "no-schedule", 29, 5, "bad-value", "messages[0]: a message needs exactly one schedule", "`at`", "`repeat`"
    ),
    # Dates, times, zones, choices
    _campaign("bad-date", 6, 9, "bad-value", 'starts: "2027-02-30" is not a real date', "YYYY-MM-DD"),
    _campaign("bad-date-format", 7, 7, "bad-value", "'31/03/2027' is not a date", "YYYY-MM-DD"),
    _campaign("bad-datetime-offset", 31, 9, "bad-value", "is not a local date and time", "without an offset"),
    _campaign("bad-time-unquoted", 33, 11, "bad-value", "1830 is not a time", 'quote it: "HH:MM"'),
    _campaign("bad-interval", 32, 14, "bad-value", '"00 days" is not an interval', "N from 1 to"),
    _campaign(
        "bad-zone", 4, 11, "bad-value", '"Europe/Londn" is not an IANA time zone', 'did you mean "Europe/London"'
    ),
    _campaign("bad-zone-folder", 4, 11, "bad-value", '"Europe" is not an IANA time zone'),
    _campaign("bad-choice", 24, 11, "bad-choice", '"publik" is not allowed', 'did you mean "public"', "use one of"),
    _campaign("bad-weekday", 33, 12, "bad-choice", 'on[0]: "tusday"', 'did you mean "tuesday"'),
    _campaign("bad-language", 25, 17, "bad-value", 'languages[0]: "english" is not a language code'),
    _campaign("bad-audience-key", 22, 3, "bad-value", 'audiences: "Parents" is not a valid id', '"parents"'),
    # Cross-checks
    _campaign("unknown-audience", 30, 17, "unknown-audience", 'no audience "parnets"', 'did you mean "parents"'),
    _campaign(
        "unknown-objective-audience", 14, 21, "unknown-audience", 'no audience "parent"', 'did you mean "parents"'
    ),
    _campaign("unknown-channel", 27, 16, "unknown-channel", 'no channel "blgo"', 'did you mean "blog"', "kmcomms.toml"),
    _campaign(
        "unknown-workspace-channel", 31, 22, "unknown-channel", 'no channel "podcast"', "defined in kmcomms.toml"
    ),
    _campaign("unknown-indicator-channel", 19, 24, "unknown-channel", 'no channel "tv"'),
    _campaign("duplicate-message-id", 34, 9, "duplicate-id", 'message id "launch" is used twice (first on line 29)'),
    _campaign(
        "duplicate-indicator-id", 21, 17, "duplicate-id", 'indicator id "views" is used twice (first on line 16)'
    ),
    _campaign(
        "schedule-after-end",
        31,
        9,
        "outside-campaign",
        "2027-05-11 09:00 is outside the campaign (2027-01-11 to 2027-03-31)",
    ),
    _campaign("schedule-before-start", 31, 9, "outside-campaign", "2027-01-04 09:00 is outside the campaign"),
    _campaign(
        "schedule-before-embargo", 32, 9, "before-embargo", "before the embargo (2027-01-12 00:01)", "move it after"
    ),
    _campaign("repeat-until-after-end", 34, 14, "outside-campaign", "repeat until 2027-04-30 is outside the campaign"),
    _campaign(
        "repeat-before-embargo", 35, 11, "before-embargo", "first repeat (2027-01-12 18:30) is before the embargo"
    ),
    _campaign("repeat-too-many", 32, 7, "too-many-occurrences", "more than 10,000 times"),
    _campaign("ends-before-starts", 7, 7, "ends-before-starts", "ends (2026-03-31) before it starts (2027-01-11)"),
    _campaign(
        "audience-without-channel",
        27,
        15,
        "audience-without-channel",
        'audience "parents" has no channel',
        severity="warning",
    ),
    _campaign(
        "objective-without-indicator",
        12,
        9,
        "objective-without-indicator",
        'objective "parents-hear" has no indicator',
        severity="warning",
    ),
    # Body files
    _campaign(
        "body-outside-folder",
        33,
        11,
        "path-outside-campaign",
        'body "../shared-body.md" is outside the campaign folder',
    ),
    _campaign("body-missing", 33, 11, "missing-body", 'body file "messages/launch.md" does not exist'),
    _campaign(
        "body-misspelt",
        33,
        11,
        "missing-body",
        'body file "messages/lauch.md" does not exist',
        'did you mean "messages/launch.md"',
    ),
    _campaign("body-not-utf8", 3, 4, "not-utf8", "byte 0xe9 is not UTF-8", file="messages/launch.md"),
    # Workspaces
    Case(
        "workspaces/duplicate-campaign-id",
        "workspaces/duplicate-campaign-id/campaigns/second/campaign.yaml",
        1,
        5,
        "duplicate-id",
        ('campaign id "launch-films" is also used by first/',),
    ),
    _settings("toml-syntax", 6, 15, "toml-syntax", "TOML syntax", "Expected ']'"),
    _settings("toml-unterminated-string", 9, 34, "toml-syntax", "TOML syntax", "check quotes"),
    _settings("toml-unknown-key", 2, 1, "unknown-key", 'unknown key "nmae" in unit', 'did you mean "name"'),
    _settings("toml-unknown-table", 10, 1, "unknown-key", 'unknown key "stor"', 'did you mean "store"'),
    _settings("toml-bad-choice", 11, 1, "bad-choice", '"blok" is not allowed', 'did you mean "block"'),
    _settings("toml-wrong-type", 11, 1, "wrong-type", "require_approval must be true or false"),
    _settings("toml-missing-unit", 1, 1, "missing-key", 'needs the key "unit"'),
    _settings("toml-empty", 1, 1, "missing-key", 'needs the key "unit"'),
    _settings("toml-not-utf8", 3, 13, "not-utf8", "byte 0xe9 is not UTF-8"),
    _settings("toml-bad-channel-name", 6, 1, "bad-value", 'channels: "Blog" is not a valid id', '"blog"'),
    _settings(
        "toml-secret-literal",
        13,
        1,
        "secret-in-file",
        "channels.newsletter.password holds a secret",
        '"${NEWSLETTER_PASSWORD}"',
    ),
    _settings(
        "toml-secret-number", 12, 1, "secret-in-file", "channels.unit-blog.token holds a secret", '"${UNIT_BLOG_TOKEN}"'
    ),
    _settings("toml-secret-nested", 15, 1, "secret-in-file", "channels.newsletter.auth.password holds a secret"),
    # Channel settings, checked against each adapter's own settings
    _settings(
        "toml-channel-unknown-setting", 8, 1, "unknown-key", 'unknown key "pth" in channels.blog', 'did you mean "path"'
    ),
    _settings("toml-channel-wrong-type", 9, 1, "wrong-type", "port must be a whole number, not 'eighty'"),
    _settings(
        "toml-channel-bad-kind", 8, 1, "bad-choice", 'kind: "blgo" is not allowed', 'did you mean "blog"', "use one of"
    ),
    _settings(
        "toml-channel-missing-setting", 6, 1, "missing-key", 'channels.newsletter needs the key "sender"', "add it"
    ),
    # Reported at its `adapter =` line, once: the campaign that uses the channel is not blamed.
    _settings(
        "toml-channel-unknown-adapter",
        7,
        1,
        "unknown-adapter",
        'no channel adapter "statc-site"',
        'did you mean "static-site"',
    ),
]

#: Secrets written in the corpus settings files; no output may ever contain them.
SECRETS = ("hunter2", "8675309")


def _findings(out: str) -> list[dict[str, str]]:
    found = []
    for line in out.splitlines():
        match = LINE.match(line)
        assert match, f"not a `path:line:col: severity: message [code]` line: {line!r}"
        found.append(match.groupdict())
    return found


def _is(path: str, case: Case) -> bool:
    return Path(path).resolve() == (CORPUS / case.file).resolve()


def test_every_corpus_folder_has_a_case() -> None:
    folders = {str(p.parent.relative_to(CORPUS)) for p in CORPUS.glob("campaigns/*/campaign.yaml")}
    folders |= {str(p.relative_to(CORPUS)) for p in CORPUS.glob("workspaces/*") if p.is_dir()}
    assert folders == {case.folder for case in CASES}


def test_the_corpus_files_are_what_they_claim() -> None:
    assert (CORPUS / "campaigns/empty-file/campaign.yaml").read_bytes() == b""
    for name in (
        "campaigns/not-utf8/campaign.yaml",
        "campaigns/body-not-utf8/messages/launch.md",
        "workspaces/toml-not-utf8/kmcomms.toml",
    ):
        with pytest.raises(UnicodeDecodeError):
            (CORPUS / name).read_bytes().decode("utf-8")
    bomb = CORPUS / "campaigns/alias-bomb/campaign.yaml"
    assert bomb.stat().st_size < 1024 and bomb.read_text().count("*") >= 70
    assert b"\x00" in (CORPUS / "campaigns/yaml-control-character/campaign.yaml").read_bytes()
    assert (CORPUS / "campaigns/shared-body.md").is_file(), (
        "the escaping body must exist, so only the path check refuses it"
    )
    assert not (CORPUS / "campaigns/body-missing/messages").exists()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.folder)
def test_each_broken_file_gives_its_one_line_error(case: Case) -> None:
    code, out, err = run_cli("validate", CORPUS / case.folder)
    assert code == case.exit_code, out + err
    assert "Traceback" not in out + err
    findings = _findings(out)
    expected = [f for f in findings if f["code"] == case.code and _is(f["path"], case)]
    assert len(expected) == 1, out
    found = expected[0]
    assert (int(found["line"]), int(found["column"]), found["severity"]) == (case.line, case.column, case.severity), out
    for text in case.says:
        assert text in found["message"], found["message"]
    # What is wrong, then how to fix it (a type error's fix is the type it names).
    assert " — " in found["message"] or " must be " in found["message"], found["message"]
    # One mistake, one error: nothing else in the file is broken.
    assert len([f for f in findings if f["severity"] == "error"]) == (1 if case.severity == "error" else 0), out
    assert len(err.splitlines()) == 1, "stderr holds only the summary line"
    assert all(secret not in out + err for secret in SECRETS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.folder)
def test_json_findings_have_exactly_the_promised_keys(case: Case) -> None:
    code, out, _ = run_cli("validate", "--format", "json", CORPUS / case.folder)
    assert code == case.exit_code
    findings = json.loads(out)
    assert isinstance(findings, list) and findings
    for finding in findings:
        assert set(finding) == {"path", "line", "column", "severity", "code", "message"}
        assert isinstance(finding["line"], int) and finding["line"] >= 1 and finding["column"] >= 1
        assert finding["severity"] in ("error", "warning")
    assert [
        (f["line"], f["column"], f["severity"]) for f in findings if f["code"] == case.code and _is(f["path"], case)
    ] == [(case.line, case.column, case.severity)]
    assert all(secret not in out for secret in SECRETS)


SUBPROCESS_CASES = [
    "yaml-unclosed-list",
    "not-utf8",
    "alias-bomb",
    "bad-interval",
    "bad-zone-folder",
    "toml-secret-literal",
]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.folder.split("/")[1] in SUBPROCESS_CASES], ids=lambda c: c.folder
)
def test_a_real_process_exits_1_with_the_line_and_no_traceback(case: Case) -> None:
    # bad-interval ("00 days") once looped forever: the timeout turns a hang into a failure.
    done = subprocess.run(
        [sys.executable, "-m", "kmcomms", "validate", str(CORPUS / case.folder)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
        cwd=CORPUS,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout and "Traceback" not in done.stderr
    where = f"{case.file}:{case.line}:{case.column}: error: "  # relative to the working directory
    assert any(line.startswith(where) for line in done.stdout.splitlines()), done.stdout
    assert all(secret not in done.stdout + done.stderr for secret in SECRETS)


@pytest.mark.parametrize(
    "folder", ["campaigns/yaml-unclosed-list", "campaigns/unknown-key-typo", "workspaces/toml-secret-literal"]
)
def test_plan_refuses_broken_input_in_one_line(folder: str) -> None:
    case = next(c for c in CASES if c.folder == folder)
    code, out, err = run_cli("plan", CORPUS / folder)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("kmcomms: error: ")
    assert f"{case.file}:{case.line}:{case.column}: error: " in err
    assert "Traceback" not in err and all(secret not in err for secret in SECRETS)


def test_debug_is_the_only_way_to_a_traceback() -> None:
    code, _, err = run_cli("--debug", "plan", CORPUS / "campaigns/not-utf8")
    assert code == 1 and "Traceback" in err and "not UTF-8" in err


def test_a_50_mb_campaign_is_refused_unread(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "unit")
    target = write_campaign(root, b"", name="huge")
    with target.open("wb") as handle:  # 50 MB of valid-looking YAML, written in chunks
        handle.write(b"title: huge\nassumptions:\n")
        chunk = b"  - " + b"x" * 1019 + b"\n"
        for _ in range(50 * 1024):
            handle.write(chunk)
    assert target.stat().st_size > 50 * 1024 * 1024
    code, out, err = run_cli("validate", root)
    assert code == 1 and "Traceback" not in out + err
    [finding] = _findings(out)
    assert finding["path"].endswith("campaigns/huge/campaign.yaml")
    assert (finding["line"], finding["column"], finding["code"]) == ("1", "1", "file-too-large")
    assert "50.0 MB, over the 2 MB limit" in finding["message"] and "split" in finding["message"]


def test_a_body_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, VALID_CAMPAIGN, files={"messages/launch.md": "word " * (MAX_FILE_BYTES // 5 + 1)})
    code, out, _ = run_cli("validate", root)
    assert code == 1
    [finding] = _findings(out)
    assert finding["path"].endswith("messages/launch.md") and finding["code"] == "file-too-large"
    assert finding["message"].startswith("body file is ")


def test_a_body_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "unit")
    (tmp_path / "private.md").write_text("Not for publication.\n")
    path = write_campaign(root, files={})
    (path.parent / "messages").mkdir()
    (path.parent / "messages" / "launch.md").symlink_to(tmp_path / "private.md")
    code, out, _ = run_cli("validate", root)
    [finding] = _findings(out)
    assert code == 1 and finding["code"] == "path-outside-campaign"
    assert int(finding["line"]) == VALID_CAMPAIGN.splitlines().index("    body: messages/launch.md") + 1
    assert "Not for publication" not in out


def test_a_secret_in_settings_never_reaches_any_output(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "unit")
    settings_file = root / "kmcomms.toml"
    settings_file.write_text(
        settings_file.read_text() + '\n[channels.mail]\nadapter = "smtp"\napi-key = "s3cr3t-value"\n'
    )
    write_campaign(root)
    for args in (["validate", root], ["validate", "--format", "json", root], ["plan", root], ["--debug", "plan", root]):
        code, out, err = run_cli(*args)
        assert code == 1
        assert "s3cr3t-value" not in out + err
        assert "channels.mail.api-key holds a secret" in out + err


def test_interval_zero_is_refused_without_planning() -> None:
    # "00 days" passed the old `== "0"` check and made planning loop forever on one day.
    for text in ("0 days", "00 days", "000 weeks", "1000 weeks", "99999999999 days"):
        with pytest.raises(ValueError, match="is not an interval"):
            parse_every(text)
    assert parse_every("999 days") == (999, "days") and parse_every("week") == (1, "weeks")


# Property tests: whatever the file holds, validate answers in lines of the promised form.

_PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_workspace(tmp_path_factory.mktemp("fuzz") / "unit")
    write_campaign(root)  # the body file the valid campaign names
    return root


def _check_any_input(root: Path, content: str | bytes) -> None:
    target = root / "campaigns" / "example" / "campaign.yaml"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8", errors="surrogatepass")
    code, out, err = run_cli("validate", target.parent)
    assert code in (0, 1), err
    assert "Traceback" not in out + err and "internal error" not in err
    findings = _findings(out)  # every line is `path:line:col: severity: message [code]`
    assert all(int(f["line"]) >= 1 and int(f["column"]) >= 1 for f in findings)
    assert (code == 1) == any(f["severity"] == "error" for f in findings)
    assert len(err.splitlines()) == 1


@_PROPERTY
@given(content=st.binary(max_size=2000))
def test_any_bytes_give_positioned_errors_never_a_traceback(fuzz_workspace: Path, content: bytes) -> None:
    _check_any_input(fuzz_workspace, content)


@_PROPERTY
@given(content=st.text(max_size=2000))
def test_any_text_gives_positioned_errors_never_a_traceback(fuzz_workspace: Path, content: str) -> None:
    _check_any_input(fuzz_workspace, content)


_LINES = VALID_CAMPAIGN.splitlines(keepends=True)


@st.composite
def _edited_campaign(draw: st.DrawFn) -> str:
    """The valid campaign with a few lines replaced, cut or added to: near misses that get
    past the YAML parser far more often than random text."""
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        junk = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
        edit = draw(st.sampled_from(["replace-value", "insert", "cut", "duplicate"]))
        if edit == "replace-value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ": " + junk + "\n"
        elif edit == "insert":
            lines[i] = lines[i][: len(lines[i]) // 2] + junk + lines[i][len(lines[i]) // 2 :]
        elif edit == "cut":
            del lines[i]
        else:
            lines.insert(i, lines[i])
    return "".join(lines)


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _retyped_campaign(draw: st.DrawFn) -> str:
    """The valid campaign with one value anywhere in it replaced by a value of any type."""
    data = load_yaml(Path("campaign.yaml"), VALID_CAMPAIGN).data  # YAML 1.2: times stay text
    parent, key, node = None, None, data
    while True:  # walk down to a random value
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys or (parent is not None and draw(st.booleans())):
            break
        key = draw(st.sampled_from(keys))
        parent, node = node, node[key]
    assert parent is not None
    parent[key] = draw(_values)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@_PROPERTY
@given(content=_edited_campaign())
def test_edited_campaigns_give_positioned_errors_never_a_traceback(fuzz_workspace: Path, content: str) -> None:
    _check_any_input(fuzz_workspace, content)


@_PROPERTY
@given(content=_retyped_campaign())
def test_values_of_any_type_give_positioned_errors_never_a_traceback(fuzz_workspace: Path, content: str) -> None:
    _check_any_input(fuzz_workspace, content)
