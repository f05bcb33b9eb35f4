"""The evidence core (issue 9): entries, links, signed statements, checkpoints, proofs, and the walk
that names the first entry altered, removed, inserted or reordered."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from evidence_world import START, checkpoint_at, entry, hub_key, rows

from vbcore.errors import EvidenceInvalid, SignatureInvalid
from vbcore.evidence.chain import (
    ALTERED,
    CHECKPOINT_INVALID,
    INSERTED,
    REMOVED,
    REORDERED,
    REWRITTEN,
    ChainWalk,
    Proof,
    verify_proof,
)
from vbcore.evidence.checkpoint import Checkpoint, verify_checkpoint
from vbcore.evidence.entry import (
    GENESIS_HASH,
    Entry,
    canonical_json,
    content_hash,
    format_local,
    format_utc,
    link_hash,
    next_instant,
    parse_utc,
)
from vbcore.evidence.statement import Statement, sign_statement, verify_statement
from vbcore.security.detached import sign_bytes, verify_bytes


@pytest.fixture(scope="module")
def hub() -> tuple[object, object]:
    return hub_key()


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "Hà Nội"}) == '{"a":"Hà Nội","b":1}'.encode()


def test_content_hash_covers_every_field_and_the_link_chains_it() -> None:
    first = entry(1)
    for change in ({"seq": 2}, {"kind": "package-refused"}, {"sender": "x"}, {"recipient": "y"},
                   {"body": {"recipients": []}}, {"package_digest": "cd" * 32}):
        assert content_hash(dataclasses.replace(first, **change)) != content_hash(first)
    import hashlib
    expected = hashlib.sha256(bytes(32) + bytes.fromhex(content_hash(first))).hexdigest()
    assert link_hash(GENESIS_HASH, content_hash(first)) == expected


def test_instants_are_unique_and_strictly_increasing_even_when_the_clock_stalls_or_goes_back() -> None:
    t0 = START
    assert next_instant(None, t0) == t0
    assert next_instant(t0, t0) == t0 + timedelta(microseconds=1)
    assert next_instant(t0, t0 - timedelta(seconds=5)) == t0 + timedelta(microseconds=1)
    later = t0 + timedelta(seconds=1)
    assert next_instant(t0, later) == later


def test_times_are_written_in_utc_and_vietnam_time_and_read_back() -> None:
    at = datetime(2026, 11, 30, 20, 30, 0, 5, tzinfo=UTC)
    assert format_utc(at) == "2026-11-30T20:30:00.000005Z"
    assert format_local(at) == "2026-12-01T03:30:00.000005+07:00"
    assert parse_utc(format_utc(at)) == at
    with pytest.raises(EvidenceInvalid):
        parse_utc("2026-11-30T20:30:00+00:00")


def test_entry_round_trips_through_json_and_refuses_extra_or_mistyped_fields() -> None:
    item = entry(3)
    assert Entry.from_dict(json.loads(json.dumps(item.as_dict()))) == item
    with pytest.raises(EvidenceInvalid):
        Entry.from_dict({**item.as_dict(), "extra": 1})
    with pytest.raises(EvidenceInvalid):
        Entry.from_dict({**item.as_dict(), "seq": "3"})


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_detached_signature_verifies_and_one_changed_byte_does_not(key_type: str) -> None:
    key, _trust = hub_key(key_type)
    signature = sign_bytes(key, b"payload")
    verify_bytes(key.certificate, b"payload", signature)
    with pytest.raises(SignatureInvalid):
        verify_bytes(key.certificate, b"payloaD", signature)


def test_statement_round_trips_and_verifies_against_the_trust_store(hub) -> None:
    key, trust = hub
    statement = sign_statement(key, {"type": "t", "at_utc": format_utc(START), "n": "Hà Nội"})
    again = Statement.from_json(statement.to_json())
    assert again == statement
    assert verify_statement(again, trust)["n"] == "Hà Nội"


def test_a_changed_statement_or_a_foreign_signer_is_refused(hub) -> None:
    key, trust = hub
    statement = sign_statement(key, {"type": "t", "at_utc": format_utc(START), "n": 1})
    changed = dataclasses.replace(statement, payload=statement.payload.replace(b'"n":1', b'"n":2'))
    with pytest.raises(EvidenceInvalid, match="does not verify"):
        verify_statement(changed, trust)
    _other_key, other_trust = hub_key()
    with pytest.raises(EvidenceInvalid, match="not trusted"):
        verify_statement(statement, other_trust)
    with pytest.raises(EvidenceInvalid):
        Statement.from_json('{"payload": "{}", "signature": "***", "certificates": []}')


def test_checkpoint_reads_what_it_signed(hub) -> None:
    key, trust = hub
    stored = rows([entry(i) for i in range(1, 4)])
    checkpoint = checkpoint_at(key, stored, 3)
    again = Checkpoint.from_dict(json.loads(json.dumps(checkpoint.as_dict())))
    verify_checkpoint(again, trust)
    assert (again.seq, again.head_hash) == (3, stored[2][2])


def _proof(key, stored, seq: int, at: int) -> Proof:
    prev = GENESIS_HASH if seq == 1 else stored[seq - 2][2]
    links = tuple(row[1] for row in stored[seq:at])
    return Proof(stored[seq - 1][0], prev, links, checkpoint_at(key, stored, at))


def test_a_proof_shows_an_entry_is_in_the_signed_chain(hub) -> None:
    key, trust = hub
    stored = rows([entry(i, document_id=f"doc-{i}") for i in range(1, 11)])
    for seq in (1, 4, 10):
        proof = _proof(key, stored, seq, 10)
        verify_proof(proof, trust)
        verify_proof(Proof.from_dict(json.loads(json.dumps(proof.as_dict()))), trust)


def test_a_proof_of_a_changed_entry_or_links_is_refused_with_the_reason(hub) -> None:
    key, trust = hub
    stored = rows([entry(i, document_id=f"doc-{i}") for i in range(1, 11)])
    proof = _proof(key, stored, 4, 10)
    changed = dataclasses.replace(proof, entry=dataclasses.replace(proof.entry, body={"recipients": []}))
    with pytest.raises(EvidenceInvalid, match="not the one the hub's checkpoint at entry 10 signed"):
        verify_proof(changed, trust)
    with pytest.raises(EvidenceInvalid, match="links were removed or added"):
        verify_proof(dataclasses.replace(proof, links=proof.links[1:]), trust)
    later = START + timedelta(hours=1)
    moved = dataclasses.replace(proof.entry, at_utc=format_utc(later), at_local=format_local(later))
    with pytest.raises(EvidenceInvalid, match="after its checkpoint"):
        verify_proof(dataclasses.replace(proof, entry=moved), trust)
    half_moved = dataclasses.replace(proof.entry, at_utc=format_utc(START))
    with pytest.raises(EvidenceInvalid, match="at_local"):
        verify_proof(dataclasses.replace(proof, entry=half_moved), trust)
    swapped = dataclasses.replace(proof, links=(proof.links[1], proof.links[0], *proof.links[2:]))
    with pytest.raises(EvidenceInvalid, match="not the one"):
        verify_proof(swapped, trust)
    _other, other_trust = hub_key()
    with pytest.raises(EvidenceInvalid, match="checkpoint at entry 10 does not verify"):
        verify_proof(proof, other_trust)


# The walk -----------------------------------------------------------------------------------------

def walk(stored, checkpoints=(), trust=None, head_seq=None):
    chain = ChainWalk(iter(checkpoints), trust)
    for row in stored:
        if chain.feed(*row):
            break
    return chain.finish(head_seq)


def _renumbered(stored, start: int):
    """Rows from ``start`` (0-based) renumbered down by one, their stored hashes kept."""
    return [(dataclasses.replace(e, seq=e.seq - 1) if i >= start else e, c, link)
            for i, (e, c, link) in enumerate(stored)]


def test_an_untouched_log_walks_clean_with_its_checkpoints(hub) -> None:
    key, trust = hub
    stored = rows([entry(i) for i in range(1, 21)])
    chain = ChainWalk(iter([checkpoint_at(key, stored, 10), checkpoint_at(key, stored, 20)]), trust)
    for row in stored:
        assert chain.feed(*row) is None
    assert chain.finish(20) is None
    assert chain.covered == 20
    assert chain.checkpoints_checked == 2


def test_an_altered_entry_is_named() -> None:
    stored = rows([entry(i) for i in range(1, 11)])
    e, c, link = stored[4]
    stored[4] = (dataclasses.replace(e, sender="000.00.00.G99"), c, link)
    finding = walk(stored)
    assert (finding.seq, finding.what) == (5, ALTERED)
    assert "mục 5 bị sửa" in finding.describe("vi")
    assert "entry 5 altered" in finding.describe("en")


def test_a_removed_entry_is_named_whether_or_not_the_later_ones_were_renumbered() -> None:
    stored = rows([entry(i) for i in range(1, 11)])
    gap = stored[:6] + stored[7:]
    assert (walk(gap).seq, walk(gap).what) == (7, REMOVED)
    renumbered = _renumbered(gap, 6)
    assert (walk(renumbered).seq, walk(renumbered).what) == (7, REMOVED)


def test_removed_entries_at_the_end_are_found_by_the_checkpoint_or_the_chain_head(hub) -> None:
    key, _trust = hub
    stored = rows([entry(i) for i in range(1, 11)])
    finding = walk(stored[:8], [checkpoint_at(key, stored, 10)])
    assert (finding.seq, finding.what) == (9, REMOVED)
    finding = walk(stored[:8], head_seq=10)
    assert (finding.seq, finding.what) == (9, REMOVED)


def test_an_inserted_entry_is_named() -> None:
    stored = rows([entry(i) for i in range(1, 11)])
    fake = entry(5, document_id="forged", at=START + timedelta(seconds=4, milliseconds=500))
    # renumbered after the forged row, its own hashes computed properly
    shifted = [(dataclasses.replace(e, seq=e.seq + 1), c, link) for e, c, link in stored[4:]]
    fake_content = content_hash(fake)
    inserted = [*stored[:4], (fake, fake_content, link_hash(stored[3][2], fake_content)), *shifted]
    finding = walk(inserted)
    assert (finding.seq, finding.what) == (5, INSERTED)


def test_two_rows_swapped_with_their_numbers_are_reordered_not_removed() -> None:
    stored = rows([entry(i) for i in range(1, 11)])
    (e3, c3, l3), (e4, c4, l4) = stored[2], stored[3]
    swapped = [*stored[:2], (dataclasses.replace(e4, seq=3), c4, l4),
               (dataclasses.replace(e3, seq=4), c3, l3), *stored[4:]]
    finding = walk(swapped)
    assert (finding.seq, finding.what) == (3, REORDERED)
    assert "swapped" in finding.describe("en")


def test_a_row_appended_past_the_chain_head_is_inserted() -> None:
    stored = rows([entry(i) for i in range(1, 6)])
    finding = walk(stored, head_seq=4)
    assert (finding.seq, finding.what) == (5, INSERTED)


def test_reordered_entries_are_named() -> None:
    stored = rows([entry(i) for i in range(1, 11)])
    # rows 5 and 6 swapped, their numbers, content hashes and links recomputed: only the times betray it
    swapped_entries = [e for e, _, _ in stored]
    swapped_entries[4], swapped_entries[5] = swapped_entries[5], swapped_entries[4]
    renumbered = [dataclasses.replace(e, seq=i + 1) for i, e in enumerate(swapped_entries)]
    finding = walk(rows(renumbered))
    assert (finding.seq, finding.what) == (6, REORDERED)
    # only the links wrong: a row's link does not follow its predecessor
    e5, e6 = stored[4], stored[5]
    moved = dataclasses.replace(e6[0], seq=5)
    relinked = [*stored[:4], (moved, content_hash(moved), e5[2])]
    finding = walk(relinked)
    assert (finding.seq, finding.what) == (5, REORDERED)
    assert "does not follow entry 4" in finding.describe("en")


def test_a_rewrite_with_every_hash_recomputed_is_caught_by_the_signed_checkpoint(hub) -> None:
    key, trust = hub
    original = [entry(i) for i in range(1, 21)]
    stored = rows(original)
    checkpoints = [checkpoint_at(key, stored, 10), checkpoint_at(key, stored, 20)]
    forged = list(original)
    forged[13] = dataclasses.replace(forged[13], recipient="000.00.00.X01")
    finding = walk(rows(forged), checkpoints, trust)
    assert (finding.seq, finding.what) == (11, REWRITTEN)
    assert "11 to 20" in finding.describe("en")


def test_a_forged_checkpoint_is_named(hub) -> None:
    _key, trust = hub
    stored = rows([entry(i) for i in range(1, 11)])
    other_key, _ = hub_key()
    finding = walk(stored, [checkpoint_at(other_key, stored, 10)], trust)
    assert (finding.seq, finding.what) == (10, CHECKPOINT_INVALID)
