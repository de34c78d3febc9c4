"""One error tree, drawn complete in `kmcomms/errors.py`'s docstring; its boundaries the only catchers.

Every exception class kmcomms defines derives from `KmcommsError` and stands in the
drawing under its real parent, with the module that defines it: a new error cannot be
added without the drawing saying where it belongs. A handler that catches everything
(`Exception`, `BaseException`, `KmcommsError`, a bare `except`) stands only at a boundary
the docstring names, or is listed below with the reason it turns errors into a result.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import kmcomms
import kmcomms.errors
from kmcomms.errors import KmcommsError

PACKAGE = Path(kmcomms.__file__).parent

#: Modules never imported here, and why; `test_the_modules_not_imported_define_no_class` holds them to it.
NOT_IMPORTED = {
    "kmcomms.__main__": "runs the CLI when imported",
    "kmcomms.ledger.migrations": "Alembic's scripts, run only inside Alembic",
}

#: Where a catch-all is the boundary that reports the error and decides what happens next
#: (the modules the errors.py docstring names).
BOUNDARIES = {
    "kmcomms.cli",
    "kmcomms.daemon.service",
    "kmcomms.reach.tracking",
    "kmcomms.publish.dispatch",
    "kmcomms.reach.collect",
}

_ADAPTER_IMPORT = "a third party's adapter may fail to import in any way: the failure becomes a finding"
#: Catch-alls elsewhere, by (module, function), with what they turn the error into.
RESULTS = {
    ("kmcomms.campaign.adapters", "adapter_fact"): _ADAPTER_IMPORT,
    ("kmcomms.channels.registry", "check_channel"): _ADAPTER_IMPORT,
    ("kmcomms.cli.channels", "_adapters"): _ADAPTER_IMPORT,
    ("kmcomms.cli.channels", "check_command"): "`channels check` shows a check that could not be made as its result",
    ("kmcomms.render.preflight", "_render"): "a delivery that cannot be rendered is itself a pre-flight finding",
    ("kmcomms.logs", "Redactor.filter"): "a log record with a broken format string is still logged",
    ("kmcomms.publish.leases", "heartbeat.keep"): "a failed lease renewal is logged; the next heartbeat tries again",
}

_BROAD = {"Exception", "BaseException", "KmcommsError"}
_DRAWN = re.compile(r"^(?P<lead>[ |]*(?:\+-- )?)(?P<name>\w+)\s+(?P<module>[\w/]+\.py)\b")


def _skipped(name: str) -> bool:
    return any(name == s or name.startswith(f"{s}.") for s in NOT_IMPORTED)


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def kmcomms_exceptions() -> list[type[BaseException]]:
    """Every exception class defined in kmcomms (each module imported)."""
    for module in pkgutil.walk_packages(kmcomms.__path__, "kmcomms."):
        if not _skipped(module.name):
            importlib.import_module(module.name)

    def below(cls: type[BaseException]) -> Iterator[type[BaseException]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    # kmcomms.testing is test code for adapter authors: its exceptions answer inside a fake
    # platform and never reach a person.
    found = {
        c
        for c in below(BaseException)
        if c.__module__.split(".")[0] == "kmcomms" and not c.__module__.startswith("kmcomms.testing")
    }
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def drawing(docstring: str) -> dict[str, tuple[str, str | None]]:
    """The tree drawn in `docstring`: class name → (module, drawn parent)."""
    drawn: dict[str, tuple[str, str | None]] = {}
    open_at: list[tuple[int, str]] = []  # the classes whose children may follow, by column
    for line in docstring.splitlines():
        match = _DRAWN.match(line.strip("\n").removeprefix("    "))
        if not match:
            continue
        column = len(match["lead"])
        while open_at and open_at[-1][0] >= column:
            open_at.pop()
        drawn[match["name"]] = (match["module"], open_at[-1][1] if open_at else None)
        open_at.append((column, match["name"]))
    return drawn


def tree_problems(classes: Iterable[type[BaseException]], docstring: str) -> list[str]:
    """What is wrong between the classes and the tree drawn in `docstring`."""
    drawn = drawing(docstring)
    problems = []
    names = set()
    for cls in classes:
        file = Path(inspect.getfile(cls))
        name, module = cls.__name__, str(file.relative_to(PACKAGE) if file.is_relative_to(PACKAGE) else file)
        names.add(name)
        parent = cls.__base__.__name__ if cls is not KmcommsError and cls.__base__ is not None else None
        if not issubclass(cls, KmcommsError):
            problems.append(f"{module}: {name} does not derive from KmcommsError — put it in the tree")
        if name not in drawn:
            problems.append(f"{module}: {name} is not drawn in errors.py's tree — draw it under {parent}")
        elif drawn[name] != (module, parent):
            problems.append(f"{module}: {name} (a {parent}) is drawn as {drawn[name]} — draw it as it is")
    problems += [f"errors.py draws {name}, which kmcomms does not define" for name in drawn.keys() - names]
    return problems


def _catches(node: ast.AST, within: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """(function, line) of each handler below `node` that catches everything and does not
    re-raise (a clean-up that re-raises catches nothing)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        within = (*within, node.name)
    if isinstance(node, ast.ExceptHandler):
        caught = [] if node.type is None else node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        names = {getattr(c, "id", None) or getattr(c, "attr", None) for c in caught}
        last = node.body[-1]
        if (node.type is None or names & _BROAD) and not (isinstance(last, ast.Raise) and last.exc is None):
            yield ".".join(within), node.lineno
    for child in ast.iter_child_nodes(node):
        yield from _catches(child, within)


def broad_catches(package: Path = PACKAGE) -> Iterator[tuple[str, str, int]]:
    """(module, function, line) of every catch-all handler in `package`."""
    for path in sorted(package.rglob("*.py")):
        for function, line in _catches(ast.parse(path.read_text(encoding="utf-8"))):
            yield _module_name(path, package), function, line


def test_every_kmcomms_exception_is_in_the_drawn_tree() -> None:
    classes = kmcomms_exceptions()
    assert KmcommsError in classes and len(classes) > 10
    assert tree_problems(classes, kmcomms.errors.__doc__ or "") == []


def test_the_check_fails_for_a_class_left_out_of_the_tree() -> None:
    class Stray(KmcommsError):
        """Not drawn."""

    class Loose(Exception):
        """Outside the tree."""

    found = tree_problems([*kmcomms_exceptions(), Stray, Loose], kmcomms.errors.__doc__ or "")
    assert any("Stray is not drawn" in p for p in found)
    assert any("Loose does not derive from KmcommsError" in p for p in found)
    moved = (kmcomms.errors.__doc__ or "").replace(
        "SiteError             channels/site/entry.py", "SiteError             channels/base.py      "
    )
    assert any(
        "SiteError (a KmcommsError) is drawn as ('channels/base.py'" in p
        for p in tree_problems(kmcomms_exceptions(), moved)
    )


def test_the_modules_not_imported_define_no_class() -> None:
    for path in PACKAGE.rglob("*.py"):
        if _skipped(_module_name(path)):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert not any(isinstance(n, ast.ClassDef) for n in ast.walk(tree)), path


def test_only_the_boundaries_catch_everything() -> None:
    stray = [
        f"{module}.{function} (line {line})"
        for module, function, line in broad_catches()
        if module not in BOUNDARIES and (module, function) not in RESULTS
    ]
    assert stray == [], "catch a precise error, or let it travel to a boundary (see errors.py)"
    listed = {(module, function) for module, function, _ in broad_catches()}
    assert set(RESULTS) <= listed, "a catch listed in RESULTS is gone: take it off the list"


def test_the_boundary_check_finds_a_catch_all(tmp_path: Path) -> None:
    sneaky = tmp_path / "kmcomms" / "plan" / "sneaky.py"
    sneaky.parent.mkdir(parents=True)
    sneaky.write_text(
        "def swallow():\n    try:\n        pass\n    except KmcommsError:\n        return None\n\n"
        "def tidy():\n    try:\n        pass\n    except BaseException:\n        raise\n"
    )
    assert list(broad_catches(tmp_path / "kmcomms")) == [("kmcomms.plan.sneaky", "swallow", 4)]
