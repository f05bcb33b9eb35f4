"""The connector runtime's policy, beyond the conformance scenarios: signing ready edXML, backoff
without sleeping, resends after a crash, connector bugs, the ledger across restarts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from folder_world import the_dms, the_identities, the_world  # noqa: F401 (fixtures: dms, identities, world)
from test_conformance_folder import FolderDms

from connectors.folder import write_atomically
from vbcore.connector import DmsUnavailable
from vbcore.connector.ledger import Ledger
from vbcore.edxml import write_package
from vbcore.errors import PublishNotConfirmed
from vbcore.security.signing import sign_package
from vbcore.testing.conformance_world import SimulatedCrash, World, status_from_peer
from vbcore.transport import names as n


def test_an_unsigned_edxml_from_the_dms_is_signed_with_the_agencys_key(world: World, dms: FolderDms) -> None:
    edoc = world.document(world.agency, world.peer_code)
    (dms.root / "outbox").mkdir(parents=True)
    write_atomically(dms.root / "outbox" / "cv.edxml", write_package(edoc))
    world.pump()
    [got] = world.peer_inbox()
    assert got.signer == world.agency
    assert dms.outgoing_state("cv.edxml") == "sent"


def test_an_edxml_the_dms_signed_itself_is_sent_byte_for_byte(world: World, dms: FolderDms) -> None:
    edoc = world.document(world.agency, world.peer_code)
    signed = sign_package(write_package(edoc), world.keys[world.agency])
    (dms.root / "outbox").mkdir(parents=True)
    write_atomically(dms.root / "outbox" / "signed.edxml", signed)
    world.pump()
    [got] = world.peer_inbox()
    assert got.raw == signed


def test_a_status_package_in_the_outbox_is_marked_failed(world: World, dms: FolderDms) -> None:
    status = status_from_peer(world, world.document(world.agency, world.peer_code), "03")
    (dms.root / "outbox").mkdir(parents=True)
    write_atomically(dms.root / "outbox" / "status.edxml", write_package(status))
    world.pump()
    assert dms.outgoing_state("status.edxml") == "failed"
    assert (dms.failure_reason("status.edxml") or "").startswith(
        "Không phải gói tin edXML: gói tin trạng thái không gửi được như một văn bản")


def test_a_document_from_another_agency_is_refused_to_the_clerk_in_one_language(
    world: World, dms: FolderDms
) -> None:
    dms_id = dms.put_outgoing(world.document("000.00.00.G12", world.peer_code))
    world.pump()
    reason = dms.failure_reason(dms_id) or ""
    assert reason.startswith("Cơ quan gửi không được phép gửi thay cơ quan khác: "
                             "From/OrganId là 000.00.00.G12")
    assert "connector sends as" not in reason


def test_a_dms_that_is_down_is_not_called_again_before_the_backoff_expires(world: World) -> None:
    calls: list[str] = []

    def down() -> None:
        calls.append("poll")
        raise DmsUnavailable("máy chủ QLVB không phản hồi")

    world.once("before:poll_outgoing", down)
    runtime = world.runtime()
    first = runtime.step()
    assert first.waiting
    assert "không phản hồi" in (first.error or "")
    assert runtime.step().waiting  # clock not moved: still waiting, the connector is not called
    assert calls == ["poll"]
    world.clock.advance(runtime.lanes.outgoing.backoff.delay() + 0.01)
    assert not runtime.step().waiting


def test_backoff_grows_while_the_dms_stays_down(world: World) -> None:
    runtime = world.runtime()
    delays = []
    for _ in range(4):
        world.once("before:poll_outgoing", lambda: (_ for _ in ()).throw(DmsUnavailable("down")))
        runtime.step()
        delays.append(runtime.lanes.outgoing.backoff.retry_at - world.clock())
        world.clock.advance(delays[-1])
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_a_connector_bug_is_retried_and_nothing_is_lost(world: World, dms: FolderDms) -> None:
    edoc = world.document(world.agency, world.peer_code)
    dms.put_outgoing(edoc)
    world.pump()
    world.peer_inbox()

    def bug() -> None:
        raise KeyError("bug in the vendor's code")

    world.once("before:on_status", bug)
    world.peer.client.submit(status_from_peer(world, edoc, "03"))
    reports = world.pump()
    assert any("KeyError" in (r.error or "") for r in reports)
    assert dms.statuses(edoc.effective_document_id) == [("03", world.peer_code)]


def test_a_resend_after_a_crash_does_not_show_the_hubs_duplicate_refusal_to_the_dms(
    world: World, dms: FolderDms
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    dms_id = dms.put_outgoing(edoc)
    runtime = world.runtime()
    real = runtime.ledger.record_sent

    def die(outgoing_id: str) -> None:
        runtime.ledger.record_sent = real  # type: ignore[method-assign]
        raise SimulatedCrash("killed after the publish, before the ledger noted it")

    runtime.ledger.record_sent = die  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()  # sends again: the hub refuses the duplicate with a 02 to this agency
    assert len([i for i in world.peer_inbox() if i.kind == "edoc"]) == 1
    assert dms.statuses(edoc.effective_document_id) == []
    assert dms.outgoing_state(dms_id) == "sent"
    with sqlite3.connect(world.ledger_path) as db:  # the hub did refuse the resend, and it was recognised
        assert db.execute("SELECT count(*) FROM done WHERE value = 'duplicate-resend'").fetchone() == (1,)


def test_the_ledger_remembers_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.record_delivered("D", "000.00.00.G22", "7/VP", None, dms_id="X")
    ledger.record_answer_sent("000.00.00.G22", "D")
    ledger.record_sending("cv.json", "E", ("000.00.00.G22",), "1/UB", None)
    ledger.record_sending("cv.json", "E", ("000.00.00.G22",), "1/UB", None)
    ledger.mark_done("event:1")
    ledger.close()
    again = Ledger(path)
    delivered = again.delivered("000.00.00.G22", "D")
    assert delivered is not None
    assert (delivered.dms_id, delivered.answer_sent) == ("X", True)
    sent = again.sent_document("E")
    assert sent is not None
    assert (sent.outgoing_id, sent.attempts, sent.confirmed) == ("cv.json", 2, False)
    assert again.is_done("event:1")
    assert not again.is_done("event:2")


def test_a_status_event_for_an_unknown_document_goes_to_events_failed_with_the_reason(
    world: World, dms: FolderDms
) -> None:
    dms.emit_event("KHONG-CO-VAN-BAN", "03")
    world.pump()
    assert world.peer_inbox() == []
    assert list((dms.root / "events" / "sent").iterdir()) == []
    [event] = (dms.root / "events" / "failed").glob("*.json")
    assert json.loads(event.read_text())["code"] == "03"
    reason = (dms.root / "events" / "failed" / f"{event.name}.reason.txt").read_text(encoding="utf-8")
    assert "KHONG-CO-VAN-BAN" in reason
    assert "chưa nhận" in reason


def test_run_loops_over_steps_until_stopped_and_closes_the_connector(world: World, dms: FolderDms) -> None:
    import threading

    stop = threading.Event()
    edoc = world.document(world.agency, world.peer_code)
    dms.put_outgoing(edoc)
    world.once("after:mark_sent", stop.set)
    closed: list[bool] = []
    world.once("after:close", lambda: closed.append(True))
    world.runtime().run(stop, interval=0.01)
    assert closed == [True]
    world.hub_transport.drain(0)
    assert [i.kind for i in world.peer_inbox()] == ["edoc"]


def test_an_edxml_that_breaks_the_schema_is_marked_failed_naming_the_element(
    world: World, dms: FolderDms
) -> None:
    xml = write_package(world.document(world.agency, world.peer_code))
    bad = xml.replace(b"<edXML:Subject>", b"<edXML:Bogus>1</edXML:Bogus><edXML:Subject>")
    (dms.root / "outbox").mkdir(parents=True)
    write_atomically(dms.root / "outbox" / "bad.edxml", bad)
    world.pump()
    assert dms.outgoing_state("bad.edxml") == "failed"
    assert "Bogus" in (dms.failure_reason("bad.edxml") or "")
    assert world.peer_inbox() == []


# --- the ledger keys documents by (sender, DocumentId) -------------------------------------------


def squatted_copy(world: World, document_id: str) -> bytes:
    """Another agency's letter under ``document_id`` (here signed by the hub's identity), signed."""
    edoc = world.document(world.hub_id, world.agency, subject="Thư mạo danh", document_id=document_id)
    return sign_package(write_package(edoc), world.keys[world.hub_id])


def test_another_agencys_letter_with_the_same_document_id_is_not_swallowed_as_a_duplicate(
    world: World, dms: FolderDms
) -> None:
    real = world.document(world.peer_code, world.agency)
    doc_id = real.effective_document_id
    # The squatter's copy reaches the inbox first (straight into it: the receiver must not rely on
    # the hub refusing a DocumentId that is not the sender's).
    world.hub_transport.publish(
        world.names.delivery_exchange, world.agency, squatted_copy(world, doc_id),
        message_id=f"squat|{world.agency}",
        headers={n.KIND: n.KIND_EDOC, n.SENDER: world.hub_id, n.DOCUMENT_ID: doc_id},
    )  # fmt: skip
    world.pump()
    world.peer_sends(real)
    world.pump()
    senders = sorted(str(d["sender"]) for d in dms._documents() if d["document_id"] == doc_id)
    assert senders == sorted([world.hub_id, world.peer_code])
    assert [i.package.status_code.value for i in world.peer_inbox()] == ["01"]  # type: ignore[union-attr]


# --- statuses about documents this connector did not send ------------------------------------------


def test_a_status_about_a_document_sent_with_vb_send_reaches_the_dms_without_an_outgoing_id(
    world: World, dms: FolderDms
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    transport = world._connect(world.names.agency_user(world.agency))
    elsewhere = world.dev.client(transport, world.agency, world.names)
    elsewhere.submit(edoc)  # `vb send`, or the same agency's other machine: not this connector
    elsewhere.transport.close()
    world.pump()
    assert len(world.peer_inbox()) == 1
    world.peer.client.submit(status_from_peer(world, edoc, "03", "Đã vào sổ văn bản đến"))
    world.pump()
    assert dms.statuses(edoc.effective_document_id) == [("03", world.peer_code)]
    record = json.loads(next((dms.root / "statuses").glob("*.json")).read_text(encoding="utf-8"))
    assert record["outgoing_id"] is None


def test_an_event_about_a_document_id_two_senders_used_must_name_its_sender(
    world: World, dms: FolderDms
) -> None:
    real = world.document(world.peer_code, world.agency)
    doc_id = world.peer_sends(real)
    world.hub_copy_to_agency(
        world.document(world.hub_id, world.agency, subject="Thư mạo danh", document_id=doc_id),
        world.hub_id, f"squat|{world.agency}",
    )  # fmt: skip
    world.pump()
    world.peer_inbox()
    dms.emit_event(doc_id, "03", "Đã vào sổ")
    world.pump()
    [event] = (dms.root / "events" / "failed").glob("*.json")
    reason = (dms.root / "events" / "failed" / f"{event.name}.reason.txt").read_text(encoding="utf-8")
    assert world.peer_code in reason
    assert world.hub_id in reason
    assert world.peer_inbox() == []
    write_atomically(dms.root / "events" / "named.json", json.dumps(
        {"document_id": doc_id, "code": "03", "sender": world.peer_code}).encode())
    world.pump()
    [answer] = world.peer_inbox()
    assert answer.package.status_code.value == "03"  # type: ignore[union-attr]
    assert answer.package.response_for.organ_id == world.peer_code  # type: ignore[union-attr]


def test_a_ledger_written_by_vbus_0_1_is_migrated_and_keeps_what_it_knew(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:  # the 0.1 schema, keyed by DocumentId alone
        db.executescript("""
            CREATE TABLE delivered (document_id TEXT PRIMARY KEY, sender TEXT NOT NULL, code TEXT,
                promulgation_date TEXT, dms_id TEXT, refused_reason TEXT,
                answer_sent INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL);
            CREATE TABLE done (key TEXT PRIMARY KEY, value TEXT, at TEXT NOT NULL);
            INSERT INTO delivered VALUES ('D', '000.00.00.G22', '7/VP', '2026-11-24', 'X', NULL, 1,
                                          '2026-11-24T01:00:00+00:00');
            INSERT INTO done VALUES ('event:1', NULL, 'now');
        """)
    ledger = Ledger(path)
    known = ledger.delivered("000.00.00.G22", "D")
    assert known is not None
    assert (known.dms_id, known.answer_sent, known.code) == ("X", True, "7/VP")
    assert ledger.delivered("000.00.00.G12", "D") is None  # another sender's D is another document
    assert ledger.is_done("event:1")
    ledger.record_delivered("D", "000.00.00.G12", None, None, dms_id="Y")
    assert [d.sender for d in ledger.delivered_with_id("D")] == ["000.00.00.G22", "000.00.00.G12"]
    ledger.close()
    assert Ledger(path).delivered("000.00.00.G12", "D") is not None  # opened again: not migrated twice


def test_a_take_back_of_a_document_sent_elsewhere_reaches_the_recipient_and_one_never_sent_is_refused(
    world: World, dms: FolderDms
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    doc_id = world.agency_sends_elsewhere(edoc)
    world.pump()
    assert len(world.peer_inbox()) == 1
    dms.emit_event(doc_id, "13", "Ban hành nhầm")
    dms.emit_event("KHONG-CO-VAN-BAN", "13", "Lấy lại")
    world.pump()
    [revoke] = world.peer_inbox()
    assert (revoke.package.document_id, revoke.package.status_code.value) == (doc_id, "13")  # type: ignore[union-attr]
    assert dms.statuses("KHONG-CO-VAN-BAN") == [("02", world.hub_id)]  # the hub knows whose it is


# --- a backlog goes out in batches ------------------------------------------------------------------


def test_a_backlog_goes_out_in_batches_each_with_one_wait_for_the_broker(
    world: World, dms: FolderDms
) -> None:
    # Issue 13: a connector catching up after a day offline waited for each document's confirm in turn;
    # batched, the hub carried 231-272 documents/s against 201-211 one at a time on the bench host.
    from vbcore.connector.runtime import OUTGOING_BATCH

    count = OUTGOING_BATCH + 8
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(count)]
    ids = [dms.put_outgoing(doc) for doc in docs]
    transport = world.runtime().client.transport
    published: list[int] = []
    real = transport.publish_many

    def publish_many(messages: list[Any]) -> None:
        published.append(len(messages))
        real(messages)

    transport.publish_many = publish_many  # type: ignore[method-assign]
    world.pump()
    assert published == [OUTGOING_BATCH, 8]
    assert [dms.outgoing_state(i) for i in ids] == ["sent"] * len(ids)
    got = [i.package.effective_document_id for i in world.peer_inbox() if i.kind == n.KIND_EDOC]
    assert sorted(got) == sorted(d.effective_document_id for d in docs)  # each once


def test_those_of_a_batch_the_broker_confirmed_are_sent_and_the_others_go_again(
    world: World, dms: FolderDms
) -> None:
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(5)]
    ids = [dms.put_outgoing(doc) for doc in docs]
    transport = world.runtime().client.transport
    real = transport.publish_many
    refused: list[str] = []

    def publish_many(messages: list[Any]) -> None:  # the broker nacks the third of the first batch
        if refused:
            return real(messages)
        refused.append(messages[2].message_id)
        real([m for m in messages if m.message_id not in refused])
        raise PublishNotConfirmed("nacked", message_ids=tuple(refused))

    transport.publish_many = publish_many  # type: ignore[method-assign]
    first = world.runtime().step()
    assert first.error is not None
    assert "broker unavailable" in first.error  # the lane backs off
    states = [dms.outgoing_state(i) for i in ids]
    assert states.count("sent") == 4  # the confirmed ones: recorded sent, and the DMS told
    unsent = ids[states.index(next(s for s in states if s != "sent"))]
    sending = world.runtime().ledger.sent(unsent)
    assert sending is not None
    assert not sending.confirmed  # "sending": it goes again
    world.pump()
    assert [dms.outgoing_state(i) for i in ids] == ["sent"] * 5
    got = [i.package.effective_document_id for i in world.peer_inbox() if i.kind == n.KIND_EDOC]
    assert sorted(got) == sorted(d.effective_document_id for d in docs)  # each once


def test_a_crash_before_the_dms_hears_of_a_batch_sends_each_document_once(
    world: World, dms: FolderDms
) -> None:
    def crash() -> None:
        raise SimulatedCrash("killed after the batch was published, before the DMS heard of it")

    world.once("before:mark_sent", crash)
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(6)]
    ids = [dms.put_outgoing(doc) for doc in docs]
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()  # every one of the batch was recorded sent before the DMS was told of any
    assert [dms.outgoing_state(i) for i in ids] == ["sent"] * 6
    got = [i.package.effective_document_id for i in world.peer_inbox() if i.kind == n.KIND_EDOC]
    assert sorted(got) == sorted(d.effective_document_id for d in docs)
