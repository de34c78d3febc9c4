"""kmcomms.testing is the kit a third party tests an adapter with. It needs pytest only
where a fixture or a pytest check is made, so `RecordingChannel`, the drafts and the fake
API base serve outside pytest too; and one built-in adapter, Mastodon, is tested with it
exactly as a third party would (as tests/testing/test_third_party_adapter.py is), so the
kit cannot quietly fall short of what kmcomms's own tests need."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_only_the_contract_needs_pytest() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kmcomms.testing.recording, kmcomms.testing.drafts, kmcomms.testing.fake_api; "
            "print(sorted(m for m in ('pytest', '_pytest') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def helpers_from_tests(tree: ast.Module) -> set[str]:
    """The modules of tests/ (conftest, workspaces, fakes…) a module imports by bare name."""
    names = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return {name for name in names if (TESTS / f"{name}.py").exists()}


def bases(tree: ast.Module, name: str) -> tuple[list[str], set[str]]:
    """The base classes of class `name` and the names its body defines."""
    (found,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name]
    defined = {
        target.id
        for node in found.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    defined |= {node.name for node in found.body if isinstance(node, ast.FunctionDef)}
    return [ast.unparse(base) for base in found.bases], defined


def test_mastodon_is_tested_with_the_kit_as_a_third_party_would() -> None:
    tests = ast.parse((TESTS / "channels" / "test_mastodon.py").read_text(encoding="utf-8"))
    fake = ast.parse((TESTS / "fake_mastodon.py").read_text(encoding="utf-8"))
    # Its own fake platform is all it takes from tests/; the fake takes nothing from there.
    assert helpers_from_tests(tests) == {"fake_mastodon"}
    assert helpers_from_tests(fake) == set()
    # The contract class uses only the documented hooks; the fake, only the documented base.
    assert bases(tests, "TestMastodonContract") == (["ChannelContract"], {"adapter", "harness"})
    assert bases(fake, "FakeMastodon")[0] == ["FakeApi"]
