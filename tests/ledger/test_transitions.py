"""The state diagram is enforced: one table of allowed moves (`TRANSITIONS`), every
operation that changes a delivery's state takes its condition from it, and a move the
diagram does not draw is refused."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import kmcomms.ledger.resolve
from kmcomms.ledger.claims import Outcome, claim, finish
from kmcomms.ledger.ledger import MOVES, TRANSITIONS, State, moving
from kmcomms.ledger.resolve import RESOLVABLE, resolve
from kmcomms.ledger.store import open_store
from kmcomms.ledger.sync import sync
from kmcomms.ledger.tables import deliveries, publications
from kmcomms.plan.deliveries import Delivery

LEDGER = Path(kmcomms.ledger.resolve.__file__).parent
NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
S = State

#: Every move each operation makes: what the code does, written out to be read.
EXPECTED = {
    "claim": {(S.PLANNED, S.SENDING), (S.BLOCKED, S.SENDING), (S.RETRYING, S.SENDING)},
    "finish": {(S.SENDING, to) for to in (S.PUBLISHED, S.RETRYING, S.FAILED, S.UNKNOWN, S.BLOCKED)},
    "release": {(S.SENDING, S.PLANNED)},
    "reap": {(S.SENDING, S.PLANNED), (S.SENDING, S.UNKNOWN)},
    "mark_missed": {(S.PLANNED, S.MISSED), (S.BLOCKED, S.MISSED), (S.RETRYING, S.MISSED)},
    "sync": {(S.PLANNED, S.CANCELLED), (S.BLOCKED, S.CANCELLED), (S.RETRYING, S.CANCELLED), (S.CANCELLED, S.PLANNED)},
    "reconcile_found": {(S.UNKNOWN, S.PUBLISHED)},
    "reconcile_unsent": {(S.UNKNOWN, S.PLANNED)},
    "resolve": {(state, to) for state in RESOLVABLE for to in (S.PUBLISHED, S.PLANNED, S.CANCELLED)},
}


def test_every_move_an_operation_makes_is_in_the_diagram() -> None:
    assert {name: moves for name, moves in MOVES.items()} == EXPECTED
    drawn = {(state, to) for state, targets in TRANSITIONS.items() for to in targets}
    made = set().union(*MOVES.values())
    assert made <= drawn
    assert drawn - made == set(), "the diagram draws a move no operation makes: take it out, or name its operation"
    assert set(TRANSITIONS) == set(State) and TRANSITIONS[S.PUBLISHED] == frozenset()


def test_a_move_the_diagram_does_not_draw_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="published to failed"):
        moving("resolve", (S.PUBLISHED,), S.FAILED)
    with pytest.raises(ValueError, match="cancelled to sending"):
        moving("claim", (S.PLANNED, S.CANCELLED), S.SENDING)
    assert "resolve" in MOVES and (S.PUBLISHED, S.FAILED) not in MOVES["resolve"]


def _conditions(module: ast.Module) -> dict[str, ast.AST]:
    return {
        t.id: node.value
        for node in module.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def _from_diagram(node: ast.AST, names: dict[str, ast.AST], seen: frozenset[str] = frozenset()) -> bool:
    """Whether `node` is (or is built from) a `moving(…)` condition."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "moving":
            return True
        if (
            isinstance(inner, ast.Name)
            and inner.id in names
            and inner.id not in seen
            and _from_diagram(names[inner.id], names, seen | {inner.id})
        ):
            return True
    return False


def _sets_state(values: ast.Call, names: dict[str, ast.AST]) -> bool:
    """Whether `.values(…)` may set `state`: named as a keyword, or in a dict it is given."""
    if any(k.arg == "state" for k in values.keywords):
        return True
    for arg in values.args:
        given = names.get(arg.id) if isinstance(arg, ast.Name) else arg
        if not isinstance(given, ast.Dict) or any(
            isinstance(k, ast.Constant) and k.value == "state" for k in given.keys
        ):
            return True  # a dict built elsewhere: it may
    return False


def test_every_update_of_a_delivery_state_is_conditional_on_the_diagram() -> None:
    checked = 0
    for path in sorted(LEDGER.glob("*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        names = _conditions(module)
        for node in ast.walk(module):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values"):
                continue
            wheres: list[ast.AST] = []
            base = node.func.value
            while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
                if base.func.attr == "where":
                    wheres += base.args
                base = base.func.value
            if not (isinstance(base, ast.Call) and ast.unparse(base) == "update(deliveries)"):
                continue
            if not _sets_state(node, names):
                continue
            checked += 1
            assert any(_from_diagram(w, names) for w in wheres), (
                f"{path.name}:{node.lineno}: an update of deliveries.state whose WHERE does not come from `moving`"
            )
    assert checked >= 10  # claim, finish, release, reap ×2, mark_missed, sync ×2, reconcile ×2, resolve


def _published_delivery(url: str, tmp_path: Path):
    engine = open_store(url, tmp_path)
    sync(
        engine,
        [Delivery("d1", "trial", "launch", "2027-01-11T09:00", ("parents",), "en", "blog", NOW, "Europe/London")],
        NOW,
    )
    [row] = claim(engine, "w1", NOW, timedelta(minutes=1))
    assert (
        finish(engine, "w1", [Outcome(row.id, S.PUBLISHED, NOW, url="https://example.org/p", content_hash="h")])
        == set()
    )
    return engine


def test_a_published_delivery_cannot_be_resolved_again(store_url: str, tmp_path: Path) -> None:
    engine = _published_delivery(store_url, tmp_path)
    try:
        with pytest.raises(ValueError, match="not as failed"):
            resolve(engine, "d1", S.FAILED, NOW)
        for to in (S.CANCELLED, S.PLANNED, S.PUBLISHED):
            assert resolve(engine, "d1", to, NOW, "https://example.org/elsewhere") == (False, "published")
        assert resolve(engine, "nowhere", S.CANCELLED, NOW) == (False, None)
        with engine.connect() as db:
            assert db.execute(select(deliveries.c.state, deliveries.c.reason)).one() == ("published", None)
            assert db.execute(select(publications.c.url)).scalar_one() == "https://example.org/p"
    finally:
        engine.dispose()


def test_finish_refuses_an_outcome_the_diagram_does_not_draw(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    try:
        sync(
            engine,
            [Delivery("d1", "trial", "launch", "2027-01-11T09:00", ("parents",), "en", "blog", NOW, "Europe/London")],
            NOW,
        )
        [row] = claim(engine, "w1", NOW, timedelta(minutes=1))
        for wrong in (S.CANCELLED, S.MISSED, S.PLANNED, S.SENDING):
            with pytest.raises(ValueError, match=f"cannot become {wrong}"):
                finish(engine, "w1", [Outcome(row.id, wrong, NOW)])
        with engine.connect() as db:
            assert db.execute(select(deliveries.c.state, deliveries.c.lease_owner)).one() == ("sending", "w1")
    finally:
        engine.dispose()
