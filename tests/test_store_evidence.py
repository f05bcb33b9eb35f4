"""The evidence log in the tracking store (migration 8): appended in the transaction of the state change
it records, one chain for several processes on one store (PostgreSQL's row lock on the chain head),
checkpoints, proofs."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from evidence_world import HUB_CODE, hub_key

from vbcore.evidence.chain import ChainWalk, verify_proof
from vbcore.evidence.checkpoint import make_checkpoint
from vbcore.evidence.entry import (
    GENESIS_HASH,
    PACKAGE_ACCEPTED,
    STATUS_RECEIVED,
    EvidenceDraft,
    content_hash,
    link_hash,
    parse_utc,
)
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.store import DocumentRecord, SqlStore, open_store

T0 = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture(scope="module")
def hub() -> tuple[SigningKey, TrustStore]:
    return hub_key()


def draft(document_id: str, kind: str = PACKAGE_ACCEPTED) -> EvidenceDraft:
    body = {"recipients": ["000.00.00.H53"]}
    return EvidenceDraft(kind, "000.00.00.G22", document_id, None, "ab" * 32, body)


def document(document_id: str) -> DocumentRecord:
    return DocumentRecord(document_id, "000.00.00.G22", 0, None, None, f"m-{document_id}", "ab" * 32, 1, T0)


def signer(key: SigningKey):
    return lambda seq, head, at: make_checkpoint(key, seq=seq, head_hash=head, at_utc=at, hub_id=HUB_CODE)


def assert_one_chain(store: SqlStore, expected: int) -> None:
    walk = ChainWalk(store.evidence_checkpoints())
    count = 0
    for row in store.evidence_rows():
        assert walk.feed(*row) is None, walk.finding
        count += 1
    assert walk.finish(store.evidence_head()[0]) is None, walk.finding
    assert count == expected


def test_entries_are_numbered_dated_and_linked_from_the_genesis(store: SqlStore) -> None:
    assert store.evidence_head() == (0, GENESIS_HASH, None)
    with store.transaction():
        store.record_document(document("doc-1"))
        first = store.append_evidence([draft("doc-1"), draft("doc-1", STATUS_RECEIVED)], now=T0)
    later = store.append_evidence([draft("doc-2")], now=T0 - timedelta(seconds=5))  # the clock went back
    assert [e.seq for e in [*first, *later]] == [1, 2, 3]
    instants = [parse_utc(e.at_utc) for e in [*first, *later]]
    assert instants[0] == T0
    assert instants[1] == T0 + timedelta(microseconds=1)
    assert instants[2] == T0 + timedelta(microseconds=2)
    head = GENESIS_HASH
    for entry in [*first, *later]:
        head = link_hash(head, content_hash(entry))
    assert store.evidence_head()[:2] == (3, head)
    assert [e.kind for e in store.evidence_entries("doc-1")] == [PACKAGE_ACCEPTED, STATUS_RECEIVED]
    assert_one_chain(store, 3)


def test_a_state_change_rolled_back_takes_its_entries_with_it(store: SqlStore) -> None:
    store.append_evidence([draft("doc-0")], now=T0)
    def failing_batch() -> None:
        with store.transaction():
            store.record_document(document("doc-1"))
            store.append_evidence([draft("doc-1")], now=T0)
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert store.get_document("doc-1") is None
    assert store.evidence_head()[0] == 1
    assert store.append_evidence([draft("doc-2")], now=T0)[0].seq == 2
    assert_one_chain(store, 2)


def test_checkpoints_come_at_the_interval_and_proofs_verify(
    store: SqlStore, hub: tuple[SigningKey, TrustStore]
) -> None:
    key, trust = hub
    sign = signer(key)
    assert store.checkpoint_evidence(sign, now=T0) is None  # nothing to sign yet
    store.append_evidence([draft(f"doc-{i}") for i in range(1, 6)], now=T0)
    assert store.checkpoint_evidence(sign, now=T0, every_entries=10, every_seconds=60) is None
    assert store.checkpoint_evidence(sign, now=T0, every_entries=5) is not None
    store.append_evidence([draft("doc-6")], now=T0)
    assert store.checkpoint_evidence(sign, now=T0 + timedelta(seconds=30), every_seconds=60) is None
    made = store.checkpoint_evidence(sign, now=T0 + timedelta(seconds=61), every_seconds=60)
    assert made is not None
    assert made.seq == 6
    assert store.evidence_proof(7) is None
    store.append_evidence([draft("doc-7")], now=T0)
    assert store.evidence_proof(7) is None  # after the last checkpoint: not provable yet
    store.checkpoint_evidence(sign, now=T0)  # forced (shutdown)
    for seq in (1, 3, 5, 6, 7):
        proof = store.evidence_proof(seq)
        assert proof is not None
        verify_proof(proof, trust)
    assert store.evidence_proof(3).checkpoint.seq == 5
    store.set_checkpoint_token(7, "dG9rZW4=")
    assert store.last_checkpoint().tsa_token == "dG9rZW4="
    assert_one_chain(store, 7)


# --- PostgreSQL: two hub processes on one store keep one chain -----------------------------------------

def _waiting_on_a_lock(dsn: str, pid: int) -> bool:
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchall()
    return bool(rows) and rows[0][0] == "Lock"


@pytest.mark.postgres
def test_two_writers_on_postgresql_interleave_into_one_chain(pg_dsn: str) -> None:
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    url = f"{pg_dsn}?schema={schema}"
    first, second = open_store(url), open_store(url)
    try:
        [(pid,)] = second._db.query("SELECT pg_backend_pid()")
        done: list[int] = []

        def second_writer() -> None:
            with second.transaction():
                second.record_document(document("doc-b"))
                done.extend(e.seq for e in second.append_evidence([draft("doc-b"), draft("doc-b")], now=T0))

        with first.transaction():
            first.record_document(document("doc-a"))
            first.append_evidence([draft("doc-a")], now=T0)
            thread = threading.Thread(target=second_writer)
            thread.start()
            deadline = time.monotonic() + 10
            while not _waiting_on_a_lock(pg_dsn, int(str(pid))) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _waiting_on_a_lock(pg_dsn, int(str(pid))), "the second writer waits on the head's lock"
            assert not done
            first.append_evidence([draft("doc-a", STATUS_RECEIVED)], now=T0)
        thread.join(10)
        assert done == [3, 4]  # numbered after the first's commit, linked to its last entry
        assert_one_chain(first, 4)

        # and many interleaved transactions of two processes, some rolled back, still make one chain
        def writer(store: SqlStore, name: str) -> None:
            for i in range(25):
                try:
                    with store.transaction():
                        store.record_document(document(f"{name}-{i}"))
                        store.append_evidence([draft(f"{name}-{i}"), draft(f"{name}-{i}", STATUS_RECEIVED)],
                                              now=datetime.now(UTC))
                        if i % 7 == 3:
                            raise RuntimeError("rolled back")
                except RuntimeError:
                    pass

        threads = [threading.Thread(target=writer, args=(s, n)) for s, n in ((first, "p1"), (second, "p2"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        committed = 2 * (25 - len([i for i in range(25) if i % 7 == 3]))
        assert_one_chain(first, 4 + 2 * committed)
        documents = [e.document_id for e in (r[0] for r in first.evidence_rows(4))]
        assert all(documents[i] == documents[i + 1] for i in range(0, len(documents), 2))  # pairs together
    finally:
        first.close()
        second.close()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_an_operator_action_is_recorded_with_its_evidence_entry(store: SqlStore) -> None:
    from vbcore.evidence.entry import OPERATOR_ACTION
    from vbcore.store.accounts import Accounts, OperatorAction

    action = OperatorAction(at=T0, actor="alice", action="replay", message_id="m-1", document_id="doc-1",
                            sender="000.00.00.G22", reason="not-processed", outcome="done",
                            package_digest="cd" * 32)
    Accounts(store).record_action(action)
    [entry] = store.evidence_entries("doc-1")
    assert entry.kind == OPERATOR_ACTION
    assert entry.body == {"actor": "alice", "action": "replay", "message_id": "m-1",
                          "reason": "not-processed", "outcome": "done"}
    assert entry.package_digest == "cd" * 32
