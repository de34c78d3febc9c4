"""`kmcomms channels list|check`, and the rule that every registered remote adapter runs
the shared contract (kmcomms.testing.contract).

The convention for the second: each adapter's test module defines
`class Test<Name>Contract(ChannelContract)` with the class attribute
`adapter = "<its entry-point name>"`, and a `harness` fixture that builds that adapter.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
from conftest import VALID_CAMPAIGN, RunCli, write_campaign
from fake_bluesky import FakeBluesky
from fake_mastodon import FakeMastodon

from kmcomms import plugins
from kmcomms.campaign.adapters import GROUP
from kmcomms.channels import registry
from kmcomms.testing.contract import ChannelContract

TESTS = Path(__file__).resolve().parents[1]

#: Adapters that need no remote platform, so no contract server: files and mail on this
#: machine (their own tests prove them), and `webhook`, a bridge to an endpoint the unit
#: runs, which has no reach to collect (proven in test_proofs.py).
LOCAL = {"folder", "static-site", "video-page", "smtp", "briefing", "webhook"}

MASTODON_TOKEN = "cli-mastodon-s3cret"
BLUESKY_PASSWORD = "cli-bsky-app-password"


def contract_adapters() -> dict[str, list[str]]:
    """Adapter name → the test classes that hold it to the contract, found in tests/*/test_*.py."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if "ChannelContract" not in path.read_text(encoding="utf-8"):
            continue  # only modules that can hold a contract class are imported
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))  # as pytest's own import mode does for a test folder
        module = importlib.import_module(path.stem)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ChannelContract) and value is not ChannelContract:
                found.setdefault(getattr(value, "adapter", "(no adapter attribute)"), []).append(
                    f"{path.name}::{value.__name__}"
                )
    return found


def missing_contracts(names: list[str]) -> list[str]:
    covered = contract_adapters()
    return [name for name in names if name not in LOCAL and name not in covered]


def test_every_registered_remote_adapter_runs_the_contract() -> None:
    registered = sorted({ep.name for ep in entry_points(group=GROUP)})
    missing = missing_contracts(registered)
    assert not missing, (
        f"registered remote adapters with no ChannelContract subclass (class attribute "
        f'adapter = "<name>") in tests/*/test_*.py: {", ".join(missing)}'
    )
    unnamed = contract_adapters().get("(no adapter attribute)")
    assert not unnamed, f'contract classes that do not say which adapter they hold (adapter = "<name>"): {unnamed}'


def test_the_contract_scan_finds_contract_classes_and_reports_the_missing() -> None:
    covered = contract_adapters()
    assert covered["mastodon"] == ["test_mastodon.py::TestMastodonContract"]
    assert covered["bluesky"] == ["test_bluesky.py::TestBlueskyContract"]
    assert missing_contracts(["smtp", "mastodon", "bluesky", "made-up-platform"]) == ["made-up-platform"]


# ---------------------------------------------------------------------------- the commands


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """mastodon and bluesky installed (as the lead's pyproject lines will), and a third-party
    adapter whose package is broken."""
    real = plugins.entry_points
    extra = [
        EntryPoint("mastodon", "kmcomms.channels.mastodon:Mastodon", GROUP),
        EntryPoint("bluesky", "kmcomms.channels.bluesky:Bluesky", GROUP),
        EntryPoint("broken", "kmcomms_no_such_package.channel:Broken", GROUP),
    ]

    def entry_points_with_extra(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        return found + [ep for ep in extra if group == GROUP and ep.name not in {e.name for e in found}]

    monkeypatch.setattr(plugins, "entry_points", entry_points_with_extra)
    plugins.load.cache_clear()  # found before with the real entry points, or found here
    yield
    plugins.load.cache_clear()


@pytest.fixture
def servers() -> Iterator[tuple[FakeMastodon, FakeBluesky]]:
    with FakeMastodon(MASTODON_TOKEN) as mastodon, FakeBluesky("unit.bsky.test", BLUESKY_PASSWORD) as bluesky:
        yield mastodon, bluesky
    assert mastodon.problems == [] and bluesky.problems == []


@pytest.fixture
def social(
    workspace: Path, servers: tuple[FakeMastodon, FakeBluesky], installed: None, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The `kmcomms init` workspace with a Mastodon and a Bluesky channel on the fakes."""
    mastodon, bluesky = servers
    monkeypatch.setenv("KM_CLI_MASTODON_TOKEN", MASTODON_TOKEN)
    monkeypatch.setenv("KM_CLI_BLUESKY_PASSWORD", BLUESKY_PASSWORD)
    with (workspace / "kmcomms.toml").open("a", encoding="utf-8") as settings:
        settings.write(f'''
[channels.toots]
adapter = "mastodon"
url = "{mastodon.url}"
token = "${{KM_CLI_MASTODON_TOKEN}}"

[channels.sky]
adapter = "bluesky"
handle = "unit.bsky.test"
app_password = "${{KM_CLI_BLUESKY_PASSWORD}}"
service = "{bluesky.url}"
appview = "{bluesky.url}"
''')
    return workspace


def add_channel(workspace: Path, text: str) -> None:
    with (workspace / "kmcomms.toml").open("a", encoding="utf-8") as settings:
        settings.write(text)


def test_list_outside_a_workspace_shows_the_installed_adapters(
    kmcomms: RunCli, installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = kmcomms("channels", "list", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    adapters = {a["name"]: a for a in report["adapters"]}
    assert report["channels"] is None
    assert {"folder", "static-site", "smtp", "webhook", "mastodon", "bluesky", "broken"} <= set(adapters)
    assert adapters["mastodon"] == {
        "name": "mastodon",
        "kind": "social",
        "loads": True,
        "problem": None,
        "capabilities": ["find", "update", "withdraw"],
    }
    assert adapters["smtp"]["kind"] == "newsletter" and adapters["webhook"]["kind"].startswith("any")
    assert not adapters["broken"]["loads"] and "ModuleNotFoundError" in adapters["broken"]["problem"]
    code, out, _ = kmcomms("channels", "list")
    assert code == 0 and "bluesky" in out and "not in a workspace" in out
    code, _, err = kmcomms("channels", "list", "-w", tmp_path)
    assert code == 1 and "no kmcomms.toml" in err and "Traceback" not in err


def test_list_in_a_workspace_says_which_channels_are_usable_and_why_not(
    kmcomms: RunCli, social: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KM_CLI_BLUESKY_PASSWORD")
    add_channel(
        social,
        """
[channels.far]
adapter = "mastodon"
url = "http://mastodon.example.org"
token = "${KM_CLI_MASTODON_TOKEN}"

[channels.typo]
adapter = "mastodn"

[channels.plugin]
adapter = "broken"
""",
    )
    code, out, err = kmcomms("channels", "list", "-w", social, "--format", "json")
    assert code == 0, err
    rows = {c["name"]: c for c in json.loads(out)["channels"]}
    assert list(rows) == ["blog", "newsletter", "video", "briefing", "toots", "sky", "far", "typo", "plugin"]
    assert all(rows[n]["usable"] for n in ("blog", "newsletter", "video", "briefing", "toots"))
    assert rows["toots"] == {"name": "toots", "adapter": "mastodon", "kind": "social", "usable": True, "problems": []}
    # Each problem is a finding positioned in kmcomms.toml, as `kmcomms validate` shows it.
    settings = social / "kmcomms.toml"
    lines = settings.read_text().splitlines()

    def at(text: str) -> str:
        return f"{settings}:{lines.index(text) + 1}:1: "

    assert rows["sky"]["usable"] is False
    assert rows["sky"]["problems"] == [
        at('app_password = "${KM_CLI_BLUESKY_PASSWORD}"') + "warning: channels.sky.app_password "
        "reads ${KM_CLI_BLUESKY_PASSWORD}, which is not set — the channel cannot be used "
        "until it is [env-unset]"
    ]
    (far,) = rows["far"]["problems"]
    assert (
        far.startswith(at('url = "http://mastodon.example.org"') + "error: url: ")
        and "only allowed on this machine" in far
    )
    installed = ", ".join(registry.adapter_names())
    assert rows["typo"]["problems"] == [
        at('adapter = "mastodn"') + 'error: no channel adapter "mastodn" (did you mean '
        f'"mastodon"?) — installed: {installed} [unknown-adapter]'
    ]
    (plugin,) = rows["plugin"]["problems"]
    assert plugin.startswith(
        at('adapter = "broken"') + 'error: the adapter "broken" cannot be loaded (ModuleNotFoundError'
    )
    code, out, err = kmcomms("channels", "list", "-w", social)
    assert code == 0, err
    far_row = next(line for line in out.splitlines() if line.startswith("│ far "))
    assert "no: " in far_row and "error: url:" in far_row  # shown as written, not taken for markup
    # `validate` finds the same, each at its line, whatever the adapter's package does on
    # import; a campaign on the broken channel is not blamed for it.
    write_campaign(social, VALID_CAMPAIGN.replace("channels: [blog, newsletter]", "channels: [blog, plugin]"))
    code, out, err = kmcomms("validate", "--format", "json", social)
    assert code == 1 and "Traceback" not in err
    found = json.loads(out)
    assert {(f["line"], f["code"]) for f in found if f["path"] == str(settings)} == {
        (lines.index('app_password = "${KM_CLI_BLUESKY_PASSWORD}"') + 1, "env-unset"),
        (lines.index('url = "http://mastodon.example.org"') + 1, "bad-value"),
        (lines.index('adapter = "mastodn"') + 1, "unknown-adapter"),
        (lines.index('adapter = "broken"') + 1, "adapter-broken"),
    }
    assert [f for f in found if f["path"] != str(settings) and f["severity"] == "error"] == []


def test_check_calls_each_platform_and_passes_when_all_is_well(
    kmcomms: RunCli, social: Path, servers: tuple[FakeMastodon, FakeBluesky]
) -> None:
    mastodon, bluesky = servers
    code, out, err = kmcomms("channels", "check", "toots", "-w", social)
    assert (code, out) == (0, "✓ toots (mastodon): ready\n"), err
    assert [s.path for s in mastodon.seen] == ["/api/v1/accounts/verify_credentials", "/api/v2/instance"]
    code, out, err = kmcomms("channels", "check", "sky", "-w", social, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [{"name": "sky", "ok": True, "problems": []}] and bluesky.sessions == 1


def test_check_names_every_problem_and_exits_1_without_showing_a_secret(
    kmcomms: RunCli, social: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KM_CLI_MASTODON_TOKEN", "a-revoked-token")
    monkeypatch.setenv("KM_CLI_BLUESKY_PASSWORD", "a-wrong-password")
    add_channel(social, '\n[channels.typo]\nadapter = "mastodn"\n\n[channels.plugin]\nadapter = "broken"\n')
    code, out, err = kmcomms("channels", "check", "-w", social)
    assert code == 1, err
    assert "✓ blog (static-site): ready" in out and "✓ newsletter (smtp): ready" in out  # a mail catcher here
    assert (
        "✗ toots (mastodon):\n  - [channels.toots] checking the token: refused (401): The access token is invalid"
        in out
    )
    assert "✗ sky (bluesky):\n  - [channels.sky] logging in to" in out and "Invalid identifier or password" in out
    settings = social / "kmcomms.toml"
    assert f"✗ typo (mastodn):\n  - {settings}:" in out and ': error: no channel adapter "mastodn"' in out
    assert (
        f"✗ plugin (broken):\n  - {settings}:" in out
        and 'error: the adapter "broken" cannot be loaded (ModuleNotFoundError' in out
    )
    assert "a-revoked-token" not in out + err and "a-wrong-password" not in out + err


def test_every_adapter_refuses_a_setting_it_does_not_know() -> None:
    # A misspelt setting is an error with a did-you-mean (`kmcomms validate`), never ignored.
    for name in registry.adapter_names():
        assert registry.adapter_class(name).Settings.model_config.get("extra") == "forbid", name


def test_check_of_an_unknown_channel_or_outside_a_workspace_is_one_line(
    kmcomms: RunCli, social: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = kmcomms("channels", "check", "tots", "-w", social)
    assert code == 2 and 'no channel "tots" (did you mean "toots"?)' in err and err.count("\n") == 1
    monkeypatch.chdir(tmp_path)
    code, _, err = kmcomms("channels", "check")
    assert code == 1 and "no kmcomms.toml" in err and err.count("\n") == 1
