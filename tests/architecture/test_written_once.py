"""Logic written once: the atomic file write (`kmcomms.files.write_atomic`) and the
"no kmcomms.toml here" refusal (`kmcomms.campaign.workspace.require_workspace`) have one
home each; a copy elsewhere fails here."""

from __future__ import annotations

import ast
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import kmcomms
from kmcomms.campaign.workspace import require_workspace
from kmcomms.errors import NoWorkspace
from kmcomms.files import write_atomic

PACKAGE = Path(kmcomms.__file__).parent

#: What only the one home may call or say: a temporary file, a move into place, the refusal.
TEMPORARY = {"mkstemp", "NamedTemporaryFile", "rename"}
NO_WORKSPACE = " or above — run `kmcomms init`"
#: Renaming a draft folder into place (`kmcomms new`) moves a folder, not a file's bytes.
FOLDER_MOVES = {"cli/new.py"}


def _file_moves(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, receiver = node.func.attr, node.func.value
            # `replace` only as os.replace: str.replace and dataclasses.replace move no file.
            if name in TEMPORARY or (name == "replace" and isinstance(receiver, ast.Name) and receiver.id == "os"):
                yield name, node.lineno


def _refusals(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            said = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if any(NO_WORKSPACE in text for text in said):
                yield node.lineno


def copies(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if where != "files.py":
            found += [
                f"{where}:{line}: {name}() — write with kmcomms.files.write_atomic" for name, line in _file_moves(tree)
            ]
        if where != "campaign/workspace.py":
            found += [f"{where}:{line}: a no-workspace refusal — call require_workspace" for line in _refusals(tree)]
    return found


def test_the_atomic_write_and_the_workspace_refusal_are_written_once() -> None:
    assert [c for c in copies() if c.split(":")[0] not in FOLDER_MOVES] == []


def test_the_check_finds_a_copy(tmp_path: Path) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "copy.py").write_text(
        "import os\n\ndef save(t, d):\n    os.replace(t, d)\n\n"
        "def root(found):\n    if found is None:\n        raise OSError(f'no kmcomms.toml in here or above — run `kmcomms init`')\n"
    )
    assert [c.split(" — ")[0] for c in copies(tmp_path)] == [
        "report/copy.py:4: replace()",
        "report/copy.py:8: a no-workspace refusal",
    ]


def test_write_atomic_writes_text_bytes_and_copies_whole_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.md"
    write_atomic(target, "Reach: 1 200 — café")
    assert target.read_text(encoding="utf-8") == "Reach: 1 200 — café"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    source = tmp_path / "poster.png"
    source.write_bytes(b"png" * 1000)
    write_atomic(target, source)
    assert target.read_bytes() == b"png" * 1000
    assert stat.S_IMODE(target.stat().st_mode) == 0o644, "a report, a page or a catalogue is meant to be read"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"], "no temporary file left"


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_text("old")
    with pytest.raises(FileNotFoundError):
        write_atomic(target, tmp_path / "missing.png")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_require_workspace_finds_the_workspace_above_or_refuses(tmp_path: Path) -> None:
    (tmp_path / "kmcomms.toml").write_text("")
    (tmp_path / "campaigns" / "flu").mkdir(parents=True)
    assert require_workspace(tmp_path / "campaigns" / "flu") == tmp_path.resolve()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-not-a-workspace"
    elsewhere.mkdir()
    with pytest.raises(NoWorkspace, match=r"no kmcomms.toml in .* or above — run `kmcomms init`"):
        require_workspace(elsewhere)
