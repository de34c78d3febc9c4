"""The import graph of kmcomms, read with `ast`: which module imports which, and the stage
each module belongs to. Shared by the architecture tests and `python tests/architecture/imports.py`,
which prints the upward imports and cycles it finds."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kmcomms"

#: The stages in the order data flows; a module may import its own stage and those before it.
#: The foundation (errors, files, logs, the package itself) comes first, cli last.
STAGES = (
    "kmcomms",
    "errors",
    "files",
    "logs",
    "plugins",
    "campaign",
    "plan",
    "translations",
    "render",
    "ledger",
    "channels",
    "publish",
    "reach",
    "evaluate",
    "report",
    "daemon",
    "cli",
    "testing",
    "__main__",
)


def modules() -> dict[str, Path]:
    """Every module of kmcomms by dotted name (packages by their own name), migrations aside:
    Alembic loads those by path."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def stage(module: str) -> str:
    """The stage a module belongs to: its first name after `kmcomms`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "kmcomms"


def _imported(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if not (target == "kmcomms" or target.startswith("kmcomms.")):
                continue
            while target not in known and "." in target:  # `from m import name`: the module m
                target = target.rpartition(".")[0]
            if target != module:
                yield target, node.lineno


def graph() -> dict[str, dict[str, int]]:
    """module → {module it imports: the line of the first such import}."""
    known = modules()
    edges: dict[str, dict[str, int]] = {}
    for module, path in known.items():
        edges[module] = {}
        for target, line in _imported(module, path, known):
            edges[module].setdefault(target, line)
    return edges


def upward(edges: dict[str, dict[str, int]]) -> list[str]:
    """Imports against the flow, as `path:line: a imports b`."""
    order = {name: i for i, name in enumerate(STAGES)}
    known = modules()
    found = []
    for module, targets in edges.items():
        for target, line in targets.items():
            if order[stage(target)] > order[stage(module)]:
                path = known[module].relative_to(PACKAGE.parent)
                found.append(f"{path}:{line}: {module} ({stage(module)}) imports {target} ({stage(target)})")
    return sorted(found)


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


if __name__ == "__main__":
    edges = graph()
    for line in upward(edges):
        print(line)
    for group in cycles(edges):
        print("cycle:", " → ".join(group))
