"""What a connector's ledger records for reconciliation (``vb reconcile``): whose ledger it is, and
every status that came back about a document the agency sent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vbcore.connector.ledger import Ledger
from vbcore.errors import LedgerOfAnotherAgency

G09, H24, H15 = "000.00.00.G09", "000.00.00.H24", "000.00.00.H15"


def test_a_ledger_remembers_whose_it_is_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    assert ledger.agency is None
    ledger.claim_agency(G09)
    ledger.claim_agency(G09)  # the same agency again: nothing to say
    ledger.close()
    assert Ledger(path).agency == G09


def test_a_ledger_of_one_agency_is_refused_to_another(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.claim_agency(G09)
    with pytest.raises(LedgerOfAnotherAgency) as caught:
        ledger.claim_agency(H24)
    assert G09 in str(caught.value)
    assert H24 in str(caught.value)
    assert G09 in caught.value.describe("vi")
    assert "sổ ghi" in caught.value.describe("vi")


def test_statuses_received_are_kept_once_per_document_sender_and_code(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_status_received("D1", H24, "01")
    ledger.record_status_received("D1", H24, "01")  # redelivered: once
    ledger.record_status_received("D1", H24, "03")
    ledger.record_status_received("D1", H15, "01")
    assert sorted(ledger.statuses_received("D1")) == [(H15, "01"), (H24, "01"), (H24, "03")]
    assert ledger.statuses_received("D2") == []


def test_a_ledger_written_before_statuses_were_kept_says_since_when_they_are(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:  # the version-2 schema: no statuses, no owner
        db.executescript("""
            CREATE TABLE delivered (
                sender TEXT NOT NULL, document_id TEXT NOT NULL, code TEXT, promulgation_date TEXT,
                dms_id TEXT, refused_reason TEXT, answer_sent INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL,
                PRIMARY KEY (sender, document_id));
            CREATE TABLE done (key TEXT PRIMARY KEY, value TEXT, at TEXT NOT NULL);
            INSERT INTO delivered VALUES ('000.00.00.G22', 'D', NULL, NULL, 'X', NULL, 1,
                                          '2026-11-24T01:00:00+00:00');
            PRAGMA user_version = 2;
        """)
    ledger = Ledger(path)
    assert ledger.delivered("000.00.00.G22", "D") is not None
    since = ledger.statuses_since
    assert since is not None
    assert since.tzinfo is not None
    ledger.record_status_received("D", H24, "01")
    assert ledger.statuses_received("D") == [(H24, "01")]
    ledger.close()
    assert Ledger(path).statuses_since == since  # kept, not moved on each opening


def test_a_ledger_reads_back_in_bulk_what_reconciliation_compares(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_sending("out-1", "D1", (H24, H15), "1/BNV", None)
    ledger.record_sent("out-1")
    ledger.record_sending("out-2", "D2", (H24,), None, None)
    ledger.record_delivered("E1", H15, None, None, dms_id="dms-1")
    ledger.record_answer_sent(H15, "E1")
    ledger.record_delivered("E2", H15, None, None, dms_id=None, refused_reason="không đọc được")
    ledger.record_status_received("D1", H24, "01")
    sent = {s.outgoing_id: s for s in ledger.all_sent()}
    assert (sent["out-1"].recipients, sent["out-1"].confirmed) == ((H24, H15), True)
    assert (sent["out-2"].document_id, sent["out-2"].confirmed) == ("D2", False)
    assert all(s.at.tzinfo is not None for s in sent.values())
    delivered = {d.document_id: d for d in ledger.all_delivered()}
    assert delivered["E1"].answer_sent
    assert delivered["E1"].refused_reason is None
    assert delivered["E2"].refused_reason == "không đọc được"
    assert not delivered["E2"].answer_sent
    assert [(s.document_id, s.from_agency, s.code) for s in ledger.all_statuses_received()] == [
        ("D1", H24, "01")]


def test_the_runtime_claims_its_ledger_and_records_each_status_that_comes_back(tmp_path: Path) -> None:
    from test_conformance_folder import FolderDms

    from connectors.folder import FolderConnector
    from vbcore.testing.conformance_world import World, status_from_peer

    dms = FolderDms(tmp_path / "dms")
    config = {"root": str(dms.root), "settle_seconds": 0}
    world = World(tmp_path / "world", lambda ctx: FolderConnector.from_config(config, ctx))
    try:
        edoc = world.document(world.agency, world.peer_code)
        dms.put_outgoing(edoc)
        world.pump()
        world.peer_inbox()
        world.peer.client.submit(status_from_peer(world, edoc, "01"))
        world.pump()
        world.crash()
        ledger = Ledger(world.ledger_path)
        assert ledger.agency == world.agency
        assert ledger.statuses_received(edoc.effective_document_id) == [(world.peer_code, "01")]
        ledger.close()
    finally:
        world.close()
