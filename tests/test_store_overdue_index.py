"""``vb track --overdue`` reads only the pairs nobody answered (issue 13: 200,000 documents with their
receipts): the partial index of migration 10, on SQLite and PostgreSQL. Its speed: bench/bench_track.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vbcore.store.api import DeliveryState, DocumentRecord, StatusEvent
from vbcore.store.sql import OVERDUE, SqlStore

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def fill(store: SqlStore, count: int, unanswered_every: int) -> list[str]:
    late = []
    with store.transaction():
        for i in range(count):
            doc, at = f"000.00.00.G22,2026/11/24,{i}/VB", T0 + timedelta(seconds=i)
            record = DocumentRecord(doc, "000.00.00.G22", 0, "V/v", f"{i}/VB", f"m-{i}", "ab" * 32, 100, at,
                                    edxml_document_id=doc)  # fmt: skip
            store.record_document(record)
            store.claim_pair(doc, "000.00.00.H24", at=at, deadline=at + timedelta(hours=1))
            store.mark_forwarded(doc, "000.00.00.H24", at=at)
            if i % unanswered_every:
                store.record_status(StatusEvent(doc, "000.00.00.H24", "01", None, None, at, "000.00.00.H24"))
            else:
                late.append(doc)
    return late


def plan(store: SqlStore, now: datetime) -> str:
    sql = "SELECT document_id FROM pairs " + OVERDUE + " ORDER BY deadline, document_id, recipient"
    params = (now, DeliveryState.ACCEPTED, DeliveryState.FORWARDED)
    if store.dialect == "sqlite":
        return " ".join(str(r[-1]) for r in store.select("EXPLAIN QUERY PLAN " + sql, params))
    with store.transaction():
        store.execute("SET LOCAL enable_seqscan = off")  # the tables are small: it would scan them whole
        return " ".join(str(r[0]) for r in store.select("EXPLAIN " + sql, params))


def test_overdue_reads_only_the_pairs_nobody_answered_through_their_index(store: SqlStore) -> None:
    late = fill(store, 300, unanswered_every=50)
    now = T0 + timedelta(days=1)
    assert [p.document_id for p in store.overdue(now)] == late
    assert store.overdue_summary(now).count == len(late)
    assert "pairs_unanswered" in plan(store, now)
