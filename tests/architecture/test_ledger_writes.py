"""The ledger is the only writer of its tables: outside `kmcomms/ledger/`, no module builds
an INSERT, UPDATE or DELETE on a table of `kmcomms.ledger.tables` (sqlalchemy's
`insert`/`update`/`delete`, a dialect's `insert`, a table's own `.insert()`…, any
`.on_conflict_do_*`), nor runs textual SQL that changes data or schema (`text(…)`, or a
string given to `execute`). Read with `ast`, so a write cannot hide in a line a grep misses.

`python tests/architecture/test_ledger_writes.py` prints what it finds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kmcomms"
LEDGER = PACKAGE / "ledger"
TABLES_MODULE = "kmcomms.ledger.tables"
#: Names in `kmcomms.ledger.tables` that are not tables.
NOT_TABLES = {"UTCDateTime", "metadata", "MetaData", "Table", "Column", "TypeDecorator"}
WRITES = {"insert", "update", "delete"}
#: Where sqlalchemy's statement builders come from.
SQLALCHEMY = (
    "sqlalchemy",
    "sqlalchemy.sql",
    "sqlalchemy.sql.expression",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.sqlite",
)
#: Methods that run a string as SQL.
EXECUTES = {"execute", "exec_driver_sql", "executemany", "executescript"}
_WRITING_SQL = re.compile(
    r"^\s*(?:--[^\n]*\n\s*)*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|MERGE|TRUNCATE|CREATE|DROP|ALTER)\b"
    r"|^\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b",
    re.IGNORECASE | re.DOTALL,
)


class _Checker:
    """What the names of one module stand for, then which of its calls write."""

    def __init__(self, tree: ast.Module) -> None:
        self.tables: set[str] = set()  # names bound to a ledger table
        self.table_modules: set[str] = set()  # names bound to kmcomms.ledger.tables
        self.builders: set[str] = set()  # names bound to sqlalchemy's insert/update/delete
        self.texts: set[str] = set()  # names bound to sqlalchemy.text
        self.strings: dict[str, str] = {}  # module-level NAME = "..." constants
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.table_modules |= {a.asname for a in node.names if a.name == TABLES_MODULE and a.asname}
            elif isinstance(node, ast.ImportFrom):
                self._imported(node.module or "", node.names)
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                self.strings |= {t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)}

    def _imported(self, module: str, names: list[ast.alias]) -> None:
        for alias in names:
            name = alias.asname or alias.name
            if module == TABLES_MODULE and alias.name not in NOT_TABLES:
                self.tables.add(name)
            elif module == "kmcomms.ledger" and alias.name == "tables":
                self.table_modules.add(name)
            elif module in SQLALCHEMY and alias.name in WRITES:
                self.builders.add(name)
            elif module in SQLALCHEMY and alias.name == "text":
                self.texts.add(name)

    def _is_table(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.tables
        if isinstance(node, ast.Attribute):  # tables.deliveries, or kmcomms.ledger.tables.deliveries
            return node.attr not in NOT_TABLES and (
                ast.unparse(node.value) == TABLES_MODULE
                or (isinstance(node.value, ast.Name) and node.value.id in self.table_modules)
            )
        return False

    def _sql(self, node: ast.AST) -> str | None:
        """The SQL text `node` holds, as far as it can be told without running anything."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, a stand-in for each value
            return "".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values)
        if isinstance(node, ast.Name):
            return self.strings.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return self._sql(node.left)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return self._sql(node.func.value)
        return None

    def write(self, node: ast.Call) -> str | None:
        """What `node` writes to the ledger, or None."""
        func = node.func
        first = node.args[0] if node.args else None
        if isinstance(func, ast.Name) and func.id in self.builders and first is not None and self._is_table(first):
            return f"{func.id}({ast.unparse(first)})"
        if isinstance(func, ast.Attribute):
            if func.attr in WRITES and first is not None and self._is_table(first):
                return f"{ast.unparse(func)}({ast.unparse(first)})"  # sqlalchemy.update(t), postgresql.insert(t)
            if func.attr in WRITES and self._is_table(func.value):
                return f"{ast.unparse(func)}()"  # deliveries.update()
            if func.attr.startswith("on_conflict_do_"):
                return f".{func.attr}()"
        is_text = (isinstance(func, ast.Name) and func.id in self.texts) or (
            isinstance(func, ast.Attribute) and func.attr == "text" and ast.unparse(func.value) in ("sqlalchemy", "sa")
        )
        runs = isinstance(func, ast.Attribute) and func.attr in EXECUTES
        if (is_text or runs) and first is not None and (sql := self._sql(first)) and (match := _WRITING_SQL.match(sql)):
            return f"SQL {(match[1] or match[2]).upper()} in {ast.unparse(func)}(…)"
        return None


def ledger_writes(source: str, where: str = "<source>") -> list[str]:
    """The writes to ledger tables in Python `source`, each as `where:line: what`."""
    tree = ast.parse(source)
    checker = _Checker(tree)
    calls = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Call)),
        key=lambda node: (node.lineno, node.col_offset, node.end_col_offset or 0),
    )
    return [f"{where}:{node.lineno}: {what}" for node in calls if (what := checker.write(node))]


def outside_ledger(root: Path = PACKAGE) -> dict[str, list[str]]:
    """Every module of `root` outside its ledger package that writes ledger tables, with
    what it writes."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(root / "ledger"):
            continue
        where = str(path.relative_to(root.parent))
        if writes := ledger_writes(path.read_text(encoding="utf-8"), where):
            found[where] = writes
    return found


def test_only_the_ledger_writes_its_tables() -> None:
    found = outside_ledger()
    assert not found, "ledger tables written outside kmcomms/ledger/ — make it a ledger operation:\n" + "\n".join(
        line for lines in found.values() for line in lines
    )


def test_every_kind_of_write_is_found() -> None:
    source = """
import sqlalchemy
import kmcomms.ledger.tables as t
from sqlalchemy import delete, insert, text, update as change
from sqlalchemy.dialects import postgresql
from kmcomms.ledger.tables import deliveries, recipients as people
from kmcomms.ledger import tables

RESET = "DELETE FROM recipients"

def write(db, dialect):
    db.execute(change(deliveries).values(state="published"))
    db.execute(insert(people).values(email="a@example.org"))
    db.execute(delete(tables.publications))
    db.execute(dialect.insert(people).on_conflict_do_nothing())
    db.execute(postgresql.insert(t.contacts))
    db.execute(sqlalchemy.update(deliveries))
    db.execute(deliveries.update().values(state="failed"))
    db.execute(text("UPDATE deliveries SET state = 'failed'"))
    db.execute(sqlalchemy.text("  insert into approvals values (1)"))
    db.exec_driver_sql(f"DROP TABLE {name}")
    db.execute(RESET)
    db.executescript("-- tidy up\\nALTER TABLE contacts ADD x")
"""
    found = ledger_writes(source, "fake.py")
    assert [line.split(": ", 1)[1] for line in found] == [
        "change(deliveries)",
        "insert(people)",
        "delete(tables.publications)",
        "dialect.insert(people)",
        ".on_conflict_do_nothing()",
        "postgresql.insert(t.contacts)",
        "sqlalchemy.update(deliveries)",
        "deliveries.update()",
        "SQL UPDATE in text(…)",
        "SQL INSERT in sqlalchemy.text(…)",
        "SQL DROP in db.exec_driver_sql(…)",
        "SQL DELETE in db.execute(…)",
        "SQL ALTER in db.executescript(…)",
    ]


def test_what_is_not_a_write_is_not_found() -> None:
    source = """
import hashlib
from sqlalchemy import select, text, update
from kmcomms.ledger.tables import deliveries

def fine(db, channel, publication, draft, env, seen: set, other_table):
    found = {}
    found.update(a=1)
    env.filters.update(q=str)
    channel.update(publication, draft)
    hashlib.sha256().update(b"x")
    seen.update({1, 2})
    [].insert(0, deliveries)
    db.execute(select(deliveries).where(deliveries.c.state == "sent"))
    db.execute(text("SELECT count(*) FROM deliveries WHERE reason LIKE '%update%'"))
    db.exec_driver_sql("PRAGMA synchronous = NORMAL")
    db.execute(update(other_table))
"""
    assert ledger_writes(source, "fine.py") == []


if __name__ == "__main__":
    for lines in outside_ledger().values():
        print("\n".join(lines))
