"""Opening the store: a migration is all or nothing, so a process killed while migrating
(the daemon restarted in a crash loop, say) leaves a store the next start can migrate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from kmcomms.ledger import store
from kmcomms.ledger.store import current_revision, head_revision, open_store


def test_a_migration_cut_short_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade = store.command.upgrade

    def cut_short(config: object, revision: str) -> None:
        upgrade(config, "0003")  # tables made, then the process stops as a SIGKILL would stop it
        raise KeyboardInterrupt

    monkeypatch.setattr(store.command, "upgrade", cut_short)
    with pytest.raises(KeyboardInterrupt):
        open_store(url, tmp_path)
    monkeypatch.undo()

    raw = create_engine(url)
    assert inspect(raw).get_table_names() == [], "a migration cut short left tables behind"
    raw.dispose()
    engine = open_store(url, tmp_path)  # the next start migrates from the beginning
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_store_half_way_up_is_taken_the_rest_of_the_way(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = open_store(url, tmp_path, upgrade=False)
    store.migrate(engine, "0003")
    assert current_revision(engine) == "0003"
    engine.dispose()
    engine = open_store(url, tmp_path)
    assert current_revision(engine) == head_revision()
    assert "deliveries" in inspect(engine).get_table_names()
    engine.dispose()
