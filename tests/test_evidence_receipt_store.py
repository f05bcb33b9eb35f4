"""The hub's receipts as the store keeps them (migration 9), on SQLite and PostgreSQL: stamped on the
drafts, sealed and kept in the transaction that appends the entries, read back verifiable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.evidence_world import HUB_CODE, hub_key
from vbcore.evidence.entry import COPY_DELIVERED, PACKAGE_ACCEPTED, EvidenceDraft, content_hash, link_hash
from vbcore.evidence.receipt import ACCEPTED, DELIVERED, verify_receipt
from vbcore.hub.config import HubConfig
from vbcore.hub.receipts import ReceiptDesk
from vbcore.store import SqlStore


def test_receipts_are_kept_with_their_entries_and_read_back_verifiable(store: SqlStore) -> None:
    key, trust = hub_key()
    desk = ReceiptDesk(store, key, lambda: HubConfig(hub_id=HUB_CODE))
    drafts = [
        EvidenceDraft(
            PACKAGE_ACCEPTED, "000.00.00.G22", "doc", None, "ab" * 32, {"recipients": ["000.00.00.H24"]}
        ),
        EvidenceDraft(COPY_DELIVERED, "000.00.00.G22", "doc", "000.00.00.H24", "ab" * 32, {}),
        EvidenceDraft(PACKAGE_ACCEPTED, "000.00.00.G09", "other", None, "cd" * 32, {"recipients": []}),
    ]
    with store.transaction():
        entries = store.append_evidence(desk.stamp(drafts), now=datetime.now(UTC))
        issued = desk.issue(entries)
    assert len({r.seal_id for r in issued}) == 1
    assert [e.body["receipt"] for e in entries] == [r.id for r in issued]
    kept = store.receipts("doc")
    assert [(r.kind, r.recipient) for r in kept] == [(ACCEPTED, None), (DELIVERED, "000.00.00.H24")]
    head = "00" * 32
    for entry, receipt in zip(entries, issued, strict=True):
        head = link_hash(head, content_hash(entry))
        assert receipt.payload["entry_hash"] == head  # the entry's link in the chain
    for receipt in kept:
        assert verify_receipt(receipt, trust)["document_id"] == "doc"
    assert store.receipts("doc", kind=DELIVERED, recipient="000.00.00.H24") == kept[1:]
    store.record_receipts(issued)  # write-once: the same receipts again change nothing
    assert len(store.receipts("doc")) == 2


def test_a_rolled_back_append_leaves_no_receipt(store: SqlStore) -> None:
    key, _ = hub_key()
    desk = ReceiptDesk(store, key, lambda: HubConfig(hub_id=HUB_CODE))
    draft = EvidenceDraft(PACKAGE_ACCEPTED, "000.00.00.G22", "doc", None, "ab" * 32, {"recipients": []})
    def batch() -> None:
        with store.transaction():
            desk.issue(store.append_evidence(desk.stamp([draft]), now=datetime.now(UTC)))
            raise RuntimeError("the batch failed after its entries")

    with pytest.raises(RuntimeError):
        batch()
    assert store.receipts("doc") == []
    assert store.evidence_entries("doc") == []
