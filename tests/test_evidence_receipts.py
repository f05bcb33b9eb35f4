"""The hub's receipts (``vbcore.evidence.receipt``): sealed by the batch, each checkable alone."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.evidence_world import HUB_CODE, entry, hub_key
from vbcore.errors import EvidenceInvalid
from vbcore.evidence.entry import COPY_DELIVERED, PACKAGE_ACCEPTED
from vbcore.evidence.merkle import root_and_paths, root_from
from vbcore.evidence.receipt import (
    ACCEPTED,
    DELIVERED,
    REFUSED,
    Receipt,
    receipt_payload,
    seal,
    verify_receipt,
)

HASH = "cd" * 32


def _payloads(n: int) -> list[dict[str, object]]:
    out = [receipt_payload(ACCEPTED, "r0", entry(1, kind=PACKAGE_ACCEPTED), HASH, HUB_CODE,
                           recipients=["000.00.00.H53", "000.00.00.H24"])]
    for i in range(1, n):
        delivered = dataclasses.replace(entry(i + 1, kind=COPY_DELIVERED), recipient=f"000.00.{i:02d}.H53")
        out.append(receipt_payload(DELIVERED, f"r{i}", delivered, HASH, HUB_CODE))
    return out


def test_one_signature_seals_a_batch_and_each_receipt_verifies_alone() -> None:
    key, trust = hub_key()
    receipts = seal(key, HUB_CODE, _payloads(7))
    assert len({r.seal.signature for r in receipts}) == 1
    for r in receipts:
        again = Receipt.from_json(r.to_json())
        assert verify_receipt(again, trust) == r.payload
    assert receipts[3].recipient == "000.00.03.H53"
    assert receipts[0].kind == ACCEPTED
    assert receipts[0].payload["recipients"][1] == "000.00.00.H24"


def test_a_changed_field_does_not_lead_to_the_sealed_root() -> None:
    key, trust = hub_key()
    r = seal(key, HUB_CODE, _payloads(3))[1]
    for field, value in (("at_utc", "2020-01-01T00:00:00.000000Z"), ("recipient", "000.00.00.G09"),
                         ("document_id", "another"), ("seq", 99)):
        edited = Receipt({**r.payload, field: value}, r.path, r.seal)
        with pytest.raises(EvidenceInvalid, match="not one the hub sealed"):
            verify_receipt(edited, trust)


def test_a_receipt_with_the_seal_of_another_batch_is_refused() -> None:
    key, trust = hub_key()
    first, other = seal(key, HUB_CODE, _payloads(2)), seal(key, HUB_CODE, _payloads(3))
    with pytest.raises(EvidenceInvalid, match="not one the hub sealed"):
        verify_receipt(Receipt(first[0].payload, first[0].path, other[0].seal), trust)


def test_a_seal_by_an_untrusted_key_is_refused() -> None:
    key, _ = hub_key()
    _, other_trust = hub_key()
    with pytest.raises(EvidenceInvalid, match="seal of the accepted receipt"):
        verify_receipt(seal(key, HUB_CODE, _payloads(1))[0], other_trust)


def test_a_refused_receipt_names_the_reason() -> None:
    key, trust = hub_key()
    payload = receipt_payload(REFUSED, "r9", entry(1), HASH, HUB_CODE, reason="signature-invalid")
    said = verify_receipt(seal(key, HUB_CODE, [payload])[0], trust)
    assert (said["reason"], said["recipient"]) == ("signature-invalid", None)


def test_malformed_receipts_are_named() -> None:
    key, trust = hub_key()
    r = seal(key, HUB_CODE, _payloads(2))[0]
    with pytest.raises(EvidenceInvalid, match="exactly receipt, path and seal"):
        Receipt.from_json(json.dumps({"receipt": {}}))
    with pytest.raises(EvidenceInvalid, match="not JSON"):
        Receipt.from_json(b"\xff")
    sealed_extra = seal(key, HUB_CODE, [{**r.payload, "note": "added"}])[0]
    with pytest.raises(EvidenceInvalid, match="does not have the fields"):
        verify_receipt(sealed_extra, trust)
    with pytest.raises(EvidenceInvalid, match="malformed path"):
        verify_receipt(Receipt(r.payload, ("Xzz",), r.seal), trust)


def test_merkle_paths_lead_every_leaf_to_the_root() -> None:
    for n in (1, 2, 3, 5, 8, 13, 100):
        leaves = [str(i).encode() for i in range(n)]
        root, paths = root_and_paths(leaves)
        assert all(root_from(leaf, path) == root for leaf, path in zip(leaves, paths, strict=True))
        assert max(len(p) for p in paths) <= max(1, (n - 1).bit_length())
        if n > 1:
            assert root_from(b"other", paths[0]) != root
