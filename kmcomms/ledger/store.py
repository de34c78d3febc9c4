"""Opening the ledger: an SQLAlchemy engine, migrated to the newest schema.

SQLite (the default, one file beside kmcomms.toml) runs in WAL mode so readers never
block the daemon; PostgreSQL is the same URL setting and lets several daemons share one
ledger safely.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from kmcomms.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["current_revision", "head_revision", "migrate", "open_store", "store_url"]

_MIGRATIONS = str(Path(__file__).parent / "migrations")


def store_url(url: str, root: Path) -> str:
    """The URL with a relative SQLite path made relative to the workspace `root`."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f'[store] url "{parsed_safe(url)}" is not a database URL — e.g. sqlite:///kmcomms.db') from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            parsed = parsed.set(database=str(root / path))
    return parsed.render_as_string(hide_password=False)


def parsed_safe(url: str) -> str:
    """A URL fit for an error message: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # WAL: readers (status, reports) never block the daemon's writes; busy_timeout makes a
    # second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    return config


#: Key of the PostgreSQL advisory lock that serialises migrations between processes.
_MIGRATION_LOCK = 0x6B6D636F6D6D73  # "kmcomms"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (Alembic); a no-op when it is there already.
    All of it or none of it: a process killed while migrating leaves the schema as it was,
    for the next start to migrate again. On PostgreSQL, several processes starting at once
    (two daemons) take turns: the first migrates, the others then find the schema up to date."""
    config = _config(engine)
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection, _sqlite_transaction(connection):
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _sqlite_transaction(connection: Connection) -> Iterator[None]:
    """One SQLite transaction around DDL: Python's sqlite3 opens a transaction only before
    INSERT, UPDATE and DELETE, so CREATE TABLE would otherwise commit on its own, and a kill
    half-way through a migration would leave tables behind for the next start to trip on.
    IMMEDIATE: a second process migrating at once waits (busy_timeout) instead of failing."""
    raw = connection.connection.dbapi_connection
    assert raw is not None  # an open connection has its DB-API connection
    legacy = raw.isolation_level
    raw.isolation_level = None  # sqlite3 leaves the transaction to us
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        raw.isolation_level = legacy


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(_MIGRATIONS).get_current_head() or ""


def open_store(url: str, root: Path, *, upgrade: bool = True) -> Engine:
    """An engine on the ledger at `url` (relative SQLite paths from `root`), migrated."""
    engine = create_engine(store_url(url, root), pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if upgrade and current_revision(engine) != head_revision():
            migrate(engine)
    except OperationalError as exc:
        raise StoreError(
            f"cannot open the store {parsed_safe(url)}: {exc.orig} — check [store] url in kmcomms.toml"
        ) from exc
    return engine
