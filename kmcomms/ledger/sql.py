"""What the ledger's operations share: a transaction on an engine or inside a caller's,
and the INSERT … ON CONFLICT of the database in use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite


@contextlib.contextmanager
def transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection to write with: given an Engine, in a transaction of its own (committed
    at the end); given a Connection, inside the caller's transaction, which the caller ends."""
    if isinstance(bind, Engine):
        with bind.begin() as db:
            yield db
    else:
        yield bind


def upsert(bind: Engine | Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """`INSERT` into `table` that can end `.on_conflict_do_nothing()` or
    `.on_conflict_do_update(…)`: PostgreSQL's and SQLite's, which are spelt alike."""
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
