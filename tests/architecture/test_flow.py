"""The folder tree reads as the flow: each module imports only its own stage and the stages
before it (campaign → plan → translations → render → ledger → channels → publish → reach →
evaluate → report → daemon → cli), and no modules import each other in a circle."""

from __future__ import annotations

import textwrap
from pathlib import Path

import imports
from imports import STAGES, cycles, graph, modules, stage, upward


def test_every_import_runs_down_the_flow() -> None:
    found = upward(graph())
    assert not found, "imports against the flow (move the code down, or pass it in):\n" + "\n".join(found)


def test_no_modules_import_each_other_in_a_circle() -> None:
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" → ".join(group) for group in found)


def test_every_package_is_a_stage_and_says_what_it_owns_and_may_import() -> None:
    packages = {path.parent for path in modules().values() if path.name == "__init__.py"}
    for package in packages:
        name = ".".join(package.relative_to(modules()["kmcomms"].parent.parent).parts)
        assert stage(name) in STAGES, f"{name} is in no stage: add it to STAGES in tests/architecture/imports.py"
        text = (package / "__init__.py").read_text(encoding="utf-8")
        if name.count(".") == 1:  # a stage's own package
            assert "May import" in text or "may import" in text, f"{name}/__init__.py does not say what it may import"
    for name in STAGES:
        assert name in {stage(m) for m in modules()}, f"the stage {name} has no module: remove it from STAGES"


def test_the_checks_find_an_upward_import_and_a_cycle(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "kmcomms"
    for folder in ("campaign", "report"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text('"""A stage."""\n')
    (package / "__init__.py").write_text("")
    (package / "campaign" / "load.py").write_text(
        textwrap.dedent("""\
        from kmcomms.report.build import build
        from kmcomms.campaign import again
        """)
    )
    (package / "campaign" / "again.py").write_text("from kmcomms.campaign.load import x\n")
    (package / "report" / "build.py").write_text("from kmcomms.campaign.load import x\n")
    monkeypatch.setattr(imports, "PACKAGE", package)
    edges = graph()
    assert upward(edges) == [
        "kmcomms/campaign/load.py:1: kmcomms.campaign.load (campaign) imports kmcomms.report.build (report)"
    ]
    assert cycles(edges) == [["kmcomms.campaign.again", "kmcomms.campaign.load", "kmcomms.report.build"]]
