"""PostgreSQL only: what the store does when the server drops its connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from vbcore.errors import StoreError
from vbcore.store import DocumentRecord, SqlStore, open_store

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@pytest.fixture
def pg_store(pg_dsn: str) -> Iterator[tuple[SqlStore, str]]:
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    store = open_store(f"{pg_dsn}?schema={schema}")
    yield store, pg_dsn
    store.close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def document(document_id: str) -> DocumentRecord:
    return DocumentRecord(document_id, "000.00.00.G12", 0, None, None, f"m-{document_id}", "ab" * 32, 1, T0)


def drop_connection_of(store: SqlStore, dsn: str) -> None:
    """What a server restart does to the store's session."""
    [(pid,)] = store._db.query("SELECT pg_backend_pid()")  # type: ignore[attr-defined]
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_after_the_server_drops_the_connection_the_next_read_and_write_reconnect(
    pg_store: tuple[SqlStore, str],
) -> None:
    store, dsn = pg_store
    store.record_document(document("doc-1"))
    drop_connection_of(store, dsn)
    assert store.get_document("doc-1") == document("doc-1")
    drop_connection_of(store, dsn)
    assert store.record_document(document("doc-2")) is True
    assert store.get_document("doc-2") is not None


def test_a_transaction_cut_by_a_dropped_connection_fails_and_leaves_nothing(
    pg_store: tuple[SqlStore, str],
) -> None:
    store, dsn = pg_store

    def cut_in_the_middle() -> None:
        with store.transaction():
            store.record_document(document("doc-1"))
            drop_connection_of(store, dsn)
            store.claim_pair("doc-1", "000.00.00.H15", at=T0, deadline=None)

    with pytest.raises(StoreError):
        cut_in_the_middle()
    assert store.get_document("doc-1") is None
    assert store.claim_pair("doc-1", "000.00.00.H15", at=T0, deadline=None).created is True
