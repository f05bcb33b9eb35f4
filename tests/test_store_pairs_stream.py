"""Every delivery pair, streamed with its document a page at a time: what ``vb reconcile`` reads of a
large store without holding it in memory."""

from __future__ import annotations

from datetime import timedelta

from test_store import SENDER, T0, document

from vbcore.store import SqlStore

RECIPIENTS = ("000.00.00.H15", "000.00.00.H24", "000.00.00.H29")


def test_every_pair_is_listed_once_with_its_document_across_pages(store: SqlStore) -> None:
    with store.transaction():
        for i in range(700):
            store.record_document(document(f"doc-{i:05d}", at=T0 + timedelta(seconds=i)))
            for recipient in RECIPIENTS:
                store.claim_pair(f"doc-{i:05d}", recipient, at=T0 + timedelta(seconds=i), deadline=None)
        # A pair whose document's own record is missing (the hub records no foreign keys).
        store.claim_pair("orphan", RECIPIENTS[0], at=T0, deadline=None)
    listed = list(store.delivery_pairs())
    assert len(listed) == 700 * 3 + 1
    keys = [(p.document_id, p.recipient) for p, _ in listed]
    assert len(set(keys)) == len(keys)
    by_key = {(p.document_id, p.recipient): d for p, d in listed}
    doc = by_key[("doc-00042", RECIPIENTS[1])]
    assert doc is not None
    assert (doc.document_id, doc.sender, doc.business_type) == ("doc-00042", SENDER, 0)
    assert by_key[("orphan", RECIPIENTS[0])] is None


def test_pairs_are_chosen_by_when_the_hub_accepted_them(store: SqlStore) -> None:
    with store.transaction():
        for i in range(10):
            store.record_document(document(f"doc-{i}", at=T0 + timedelta(minutes=i)))
            store.claim_pair(f"doc-{i}", RECIPIENTS[0], at=T0 + timedelta(minutes=i), deadline=None)
    window = store.delivery_pairs(
        accepted_since=T0 + timedelta(minutes=3), accepted_before=T0 + timedelta(minutes=6)
    )
    assert sorted(p.document_id for p, _ in window) == ["doc-3", "doc-4", "doc-5"]
