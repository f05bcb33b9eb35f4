"""``transaction(savepoints=False)``: the blocks nested in it make no savepoint each (issue 13: the hub's
per-message block made 9, 18 statements, on PostgreSQL as many round trips), and a failure inside undoes
the whole block, never more: the enclosing transaction goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vbcore.store.api import TraceEvent
from vbcore.store.sql import SqlStore

AT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def trace(n: int) -> TraceEvent:
    return TraceEvent("000.00.00.G22,2026/11/24,1/VB", "vbus.hub", f"event {n}", AT + timedelta(seconds=n))


def statements(store: SqlStore) -> list[str]:
    seen: list[str] = []
    execute = store._db.execute

    def spy(sql: str, params: object = ()) -> int:
        seen.append(sql.split()[0].upper())
        return execute(sql, params)  # type: ignore[arg-type]

    store._db.execute = spy  # type: ignore[method-assign]
    return seen


def test_blocks_nested_in_a_block_without_savepoints_make_none(store: SqlStore) -> None:
    seen = statements(store)
    with store.transaction(), store.transaction(savepoints=False):
        for n in range(3):
            store.record_trace(trace(n))  # each a transaction of its own when called alone
    assert seen.count("SAVEPOINT") == 1  # the block's own, inside the outer transaction
    assert seen.count("INSERT") == 3
    assert len(store.trace(trace(0).document_id)) == 3


def fail_inside(store: SqlStore, events: list[int], *, savepoints: bool) -> None:
    with store.transaction(savepoints=savepoints):
        for n in events:
            store.record_trace(trace(n))
        raise RuntimeError("a refusal")


def test_a_failure_inside_undoes_the_whole_block_and_the_outer_transaction_goes_on(store: SqlStore) -> None:
    with store.transaction():
        store.record_trace(trace(0))
        with pytest.raises(RuntimeError):
            fail_inside(store, [1, 2], savepoints=False)
        store.record_trace(trace(3))
    assert [e.event for e in store.trace(trace(0).document_id)] == ["event 0", "event 3"]
    with store.transaction():  # the flag does not outlive its block: nested blocks have savepoints again
        with pytest.raises(RuntimeError):
            fail_inside(store, [4], savepoints=True)
        store.record_trace(trace(5))
    assert [e.event for e in store.trace(trace(0).document_id)] == ["event 0", "event 3", "event 5"]
