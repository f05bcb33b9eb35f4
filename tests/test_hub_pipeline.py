"""The hub pipeline end to end on the in-memory transport and a SQLite store: deliveries, receipts,
every refusal kind, revoke/update/replace, and recovery after a crash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hub_support import (
    CLOSED_QUANG_NAM,
    G09,
    G12,
    G22,
    H15,
    H24,
    H56,
    HUB_ID,
    World,
    edoc,
    status,
)

from vbcore.edxml import write_package
from vbcore.errors import ConnectionLost, StoreError
from vbcore.model import Business, BusinessDocumentInfo, Receiver, ReplacementInfo, StatusPackage
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import BusinessDocType, ReceiverType, StatusCode
from vbcore.store.api import DeliveryState
from vbcore.transport import Delivery
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def refusals_to(world: World, code: str) -> list[StatusPackage]:
    found = []
    for incoming in world.inbox(code):
        assert incoming.kind == n.KIND_REFUSAL
        assert isinstance(incoming.package, StatusPackage)
        assert incoming.signer == HUB_ID
        found.append(incoming.package)
    return found


# --- deliveries and receipts ----------------------------------------------------------------------


def test_a_document_reaches_its_recipient_as_the_bytes_the_sender_signed(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    [got] = world.inbox(H24)
    assert got.kind == n.KIND_EDOC
    assert got.signer == G22
    assert got.package == doc
    assert got.headers[n.HUB_ID] == HUB_ID
    assert got.headers[n.DOCUMENT_ID] == doc.effective_document_id
    assert got.delivery.message_id == f"{doc.effective_document_id}|{H24}"
    assert world.store.pairs(doc.effective_document_id)[0].state == DeliveryState.FORWARDED


def test_the_forwarded_bytes_are_exactly_the_signed_bytes(world: World, keys: dict[str, SigningKey]) -> None:
    signed = sign_package(write_package(edoc(G22, [H24])), keys[G22])
    world.client(G22).submit_signed(signed, kind=n.KIND_EDOC)
    world.pump()
    [got] = world.inbox(H24)
    assert got.raw == signed


def test_a_document_to_many_recipients_reaches_each_once(world: World) -> None:
    doc = edoc(G22, [G09, G12, H24, H15, H56])
    world.client(G22).submit(doc)
    world.pump()
    for code in (G09, G12, H24, H15, H56):
        assert [i.package for i in world.inbox(code)] == [doc]
    states = {p.recipient: p.state for p in world.store.pairs(doc.effective_document_id)}
    assert states == dict.fromkeys((G09, G12, H24, H15, H56), DeliveryState.FORWARDED)
    assert all(p.deadline is not None for p in world.store.pairs(doc.effective_document_id))


def test_receipts_travel_back_to_the_sender_and_move_the_pair(world: World) -> None:
    doc = edoc(G22, [H24, H56])
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    for code in (StatusCode.ARRIVED, StatusCode.REGISTERED):
        world.client(H24).submit(status(H24, doc, code))
    world.pump()
    got = world.inbox(G22)
    assert [i.kind for i in got] == [n.KIND_STATUS, n.KIND_STATUS]
    assert [i.package.status_code for i in got if isinstance(i.package, StatusPackage)] == [
        StatusCode.ARRIVED,
        StatusCode.REGISTERED,
    ]
    assert got[0].signer == H24
    pairs = {p.recipient: p for p in world.store.pairs(doc.effective_document_id)}
    assert pairs[H24].state == "03"
    assert pairs[H56].state == DeliveryState.FORWARDED
    assert [e.code for e in world.store.statuses(doc.effective_document_id)] == ["01", "03"]


# --- refusals -------------------------------------------------------------------------------------


def test_a_malformed_package_is_parked_and_answered_and_the_hub_keeps_going(world: World) -> None:
    world.client(G22).submit_signed(b"<edXML><unclosed></edXML>", kind=n.KIND_EDOC, message_id="bad-1")
    good = edoc(G22, [H24])
    world.client(G22).submit(good)
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert refusal.status_code is StatusCode.REFUSED
    assert "(dòng 1, cột " in (refusal.description or "")
    assert world.parked() == 1
    [record] = world.store.refusals(sender=G22)
    assert record.message_id == "bad-1"
    assert record.reason == "malformed"
    assert [i.package for i in world.inbox(H24)] == [good]


def test_an_unsigned_package_is_refused(world: World) -> None:
    world.client(G22).submit_signed(write_package(edoc(G22, [H24])), kind=n.KIND_EDOC)
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert world.store.refusals()[0].reason == "signature-missing"
    assert "gói tin không có chữ ký XML-DSig" in (refusal.description or "")
    assert world.inbox(H24) == []
    assert world.parked() == 1


def test_a_package_changed_after_signing_is_refused(world: World, keys: dict[str, SigningKey]) -> None:
    signed = sign_package(write_package(edoc(G22, [H24], subject="Công văn gốc")), keys[G22])
    tampered = signed.replace("Công văn gốc".encode(), "Công văn giả".encode())
    assert tampered != signed
    world.client(G22).submit_signed(tampered, kind=n.KIND_EDOC)
    world.pump()
    refusals_to(world, G22)
    assert world.store.refusals()[0].reason == "signature-invalid"
    assert world.inbox(H24) == []
    assert world.parked() == 1


def test_an_agency_cannot_send_in_another_agencys_name_even_with_its_key(world: World) -> None:
    # H24's broker connection, G22's package signed with G22's (stolen) key: the broker user gives it away.
    world.client(H24, key_of=G22).submit(edoc(G22, [H56]))
    world.pump()
    [refusal] = refusals_to(world, H24)
    assert world.store.refusals()[0].reason == "sender-not-authorised"
    assert H24 in (refusal.description or "")
    assert G22 in (refusal.description or "")
    assert world.inbox(H56) == []
    assert world.inbox(G22) == []
    assert world.parked() == 1


def test_a_package_signed_with_another_agencys_certificate_is_refused(world: World) -> None:
    world.client(G22, key_of=H24).submit(edoc(G22, [H56]))
    world.pump()
    refusals_to(world, G22)
    assert world.store.refusals()[0].reason == "signer-mismatch"
    assert world.inbox(H56) == []


def test_a_certificate_from_an_untrusted_ca_is_refused(world: World, tmp_path: Path) -> None:
    rogue = init_dev_pki(tmp_path / "rogue", [(G22, "Văn phòng Chính phủ (giả)")])
    world.keys["rogue"] = SigningKey.from_files(rogue.key_path(G22), rogue.cert_path(G22))
    world.client(G22, key_of="rogue").submit(edoc(G22, [H24]))
    world.pump()
    refusals_to(world, G22)
    assert world.store.refusals()[0].reason == "untrusted-certificate"
    assert world.inbox(H24) == []


def test_an_unknown_recipient_is_refused_by_name(world: World) -> None:
    doc = edoc(G22, ["000.00.00.G99"])
    world.client(G22).submit(doc)
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert "000.00.00.G99" in (refusal.description or "")
    assert refusal.response_for.document_id == doc.effective_document_id
    [record] = world.store.refusals()
    assert (record.reason, record.recipient) == ("unknown-agency", "000.00.00.G99")
    assert world.parked() == 1


def test_a_closed_code_is_refused_naming_its_successor(world: World) -> None:
    world.client(G22).submit(edoc(G22, [CLOSED_QUANG_NAM]))
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert CLOSED_QUANG_NAM in (refusal.description or "")
    assert H15 in (refusal.description or "")
    assert "Đà Nẵng" in (refusal.description or "")
    # The clerk reads Vietnamese first, then the precise detail.
    assert (refusal.description or "").startswith("Mã định danh cơ quan đã ngừng sử dụng: ")
    assert world.store.refusals()[0].reason == "closed-agency"
    assert world.store.refusals()[0].detail == refusal.description  # what the operator sees, the sender got
    assert world.parked() == 1


def test_the_other_recipients_still_get_a_document_with_one_closed_addressee(world: World) -> None:
    doc = edoc(G22, [CLOSED_QUANG_NAM, H24])
    world.client(G22).submit(doc)
    world.pump()
    assert [i.package for i in world.inbox(H24)] == [doc]
    [refusal] = refusals_to(world, G22)
    assert H15 in (refusal.description or "")
    states = {p.recipient: p.state for p in world.store.pairs(doc.effective_document_id)}
    assert states == {CLOSED_QUANG_NAM: DeliveryState.REFUSED_BY_HUB, H24: DeliveryState.FORWARDED}
    assert world.parked() == 0


def test_the_same_document_again_is_not_delivered_twice_and_the_answer_carries_its_state(
    world: World,
) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, doc, StatusCode.ARRIVED))
    world.pump()
    world.inbox(G22)
    world.client(G22).submit(doc)  # a new message with the same document
    world.pump()
    assert world.inbox(H24) == []
    [refusal] = refusals_to(world, G22)
    assert "đã được chuyển đến" in (refusal.description or "")
    assert "01" in (refusal.description or "")
    assert world.store.refusals()[0].reason == "duplicate"
    assert world.parked() == 1


def test_a_status_for_an_unknown_document_is_refused(world: World) -> None:
    world.client(H24).submit(status(H24, edoc(G22, [H24], "999"), StatusCode.ARRIVED))
    world.pump()
    [refusal] = refusals_to(world, H24)
    assert world.store.refusals()[0].reason == "unknown-document"
    assert "999/VB" in (refusal.description or "")
    assert world.inbox(G22) == []
    assert world.parked() == 1


def test_a_status_from_an_agency_that_did_not_receive_the_document_is_refused(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    world.client(H56).submit(status(H56, doc, StatusCode.DONE))
    world.pump()
    refusals_to(world, H56)
    assert world.store.refusals()[0].reason == "status-not-allowed"
    assert world.inbox(G22) == []


def test_a_store_outage_requeues_instead_of_refusing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> bool:
        raise StoreError("database is locked")

    monkeypatch.setattr(world.store, "record_document", down)
    world.client(G22).submit(edoc(G22, [H24]))
    assert world.hub is not None
    [_] = [
        world.hub.process(d) for d in [world.hub.transport.get(world.names.ingress_queue)] if d is not None
    ]
    assert world.store.refusals() == []
    assert world.parked() == 0
    monkeypatch.undo()
    world.pump()
    assert len(world.inbox(H24)) == 1


# --- revoke, update, replace ----------------------------------------------------------------------


def test_a_revoke_goes_to_the_original_recipients_and_is_tracked_as_related(world: World) -> None:
    original = edoc(G12, [H24, H56], "88")
    world.client(G12).submit(original)
    world.pump()
    revoke = edoc(
        G12,
        [H24],
        "88b",
        business=Business(BusinessDocType.REVOKE, document_id=original.effective_document_id),
    )
    world.client(G12).submit(revoke)
    world.pump()
    for code in (H24, H56):
        got = world.inbox(code)
        assert [i.package.business_type for i in got if not isinstance(i.package, StatusPackage)] == [
            BusinessDocType.NEW,
            BusinessDocType.REVOKE,
        ]
    record = world.store.get_document(revoke.effective_document_id)
    assert record is not None
    assert record.related_document_id == original.effective_document_id
    assert record.business_type == 1
    world.client(H24).submit(status(H24, revoke, StatusCode.CHANGE_ACCEPTED))
    world.pump()
    [answer] = world.inbox(G12)
    assert isinstance(answer.package, StatusPackage)
    assert answer.package.status_code is StatusCode.CHANGE_ACCEPTED


def test_a_revoke_status_13_from_the_sender_reaches_every_recipient(world: World) -> None:
    original = edoc(G22, [H24, H56])
    world.client(G22).submit(original)
    world.pump()
    for code in (H24, H56):
        world.inbox(code)
    world.client(G22).submit(status(G22, original, StatusCode.REVOKE, "Lấy lại do sai sót"))
    world.pump()
    for code in (H24, H56):
        [got] = world.inbox(code)
        assert isinstance(got.package, StatusPackage)
        assert got.package.status_code is StatusCode.REVOKE


def test_only_the_sender_may_revoke(world: World) -> None:
    original = edoc(G22, [H24])
    world.client(G22).submit(original)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, original, StatusCode.REVOKE))
    world.pump()
    refusals_to(world, H24)
    assert world.store.refusals()[0].reason == "status-not-allowed"


def test_an_update_also_reaches_the_receivers_it_adds_and_removes(world: World) -> None:
    original = edoc(G22, [H24, H56])
    world.client(G22).submit(original)
    world.pump()
    update = edoc(
        G22, [H24], "101u",
        business=Business(
            BusinessDocType.UPDATE, document_id=original.effective_document_id,
            business_document_info=BusinessDocumentInfo(
                receivers=(Receiver(H56, ReceiverType.REMOVED), Receiver(H15, ReceiverType.ADDED)),
            ),
        ),
    )  # fmt: skip
    world.client(G22).submit(update)
    world.pump()
    for code in (H24, H56, H15):
        got = [i.package for i in world.inbox(code) if not isinstance(i.package, StatusPackage)]
        assert update.effective_document_id in [p.effective_document_id for p in got]
    record = world.store.get_document(update.effective_document_id)
    assert record is not None
    assert record.related_document_id == original.effective_document_id


def test_a_replace_relates_to_the_document_it_replaces(world: World) -> None:
    original = edoc(G22, [H24])
    world.client(G22).submit(original)
    world.pump()
    replace = edoc(
        G22, [H24], "102",
        business=Business(
            BusinessDocType.REPLACE,
            replacement_info=(ReplacementInfo(original.effective_document_id, (H24,)),),
        ),
    )  # fmt: skip
    world.client(G22).submit(replace)
    world.pump()
    assert [i.package for i in world.inbox(H24)] == [original, replace]
    record = world.store.get_document(replace.effective_document_id)
    assert record is not None
    assert record.related_document_id == original.effective_document_id


def test_a_revoke_of_a_document_the_hub_never_carried_is_refused(world: World) -> None:
    revoke = edoc(
        G22, [H24], "7", business=Business(BusinessDocType.REVOKE, document_id="000.00.00.G22,x,1/Y")
    )
    world.client(G22).submit(revoke)
    world.pump()
    refusals_to(world, G22)
    assert world.store.refusals()[0].reason == "unknown-document"
    assert world.inbox(H24) == []


def test_an_agency_cannot_revoke_another_agencys_document(world: World) -> None:
    original = edoc(G22, [H24])
    world.client(G22).submit(original)
    world.pump()
    revoke = edoc(
        H56, [H24], "7", business=Business(BusinessDocType.REVOKE, document_id=original.effective_document_id)
    )
    world.client(H56).submit(revoke)
    world.pump()
    refusals_to(world, H56)
    assert world.store.refusals()[0].reason == "sender-not-authorised"


# --- crash recovery -------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dies here (not an Exception: the pipeline must not catch it)."""


def test_a_crash_between_publish_and_mark_forwarded_loses_nothing_and_delivers_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = edoc(G22, [H24, H56])
    world.client(G22).submit(doc)

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(world.store, "mark_forwarded", crash)
    with pytest.raises(Crash):
        world.pump()
    assert world.hub is not None
    world.hub.transport.close()  # the process is gone: its unacked ingress delivery goes back
    monkeypatch.undo()
    states = {p.recipient: p.state for p in world.store.pairs(doc.effective_document_id)}
    assert states == dict.fromkeys((H24, H56), DeliveryState.ACCEPTED)

    world.start_hub()  # a new process on the same store
    world.pump()
    for code in (H24, H56):
        assert [i.package for i in world.inbox(code)] == [doc]  # published twice, seen once
    states = {p.recipient: p.state for p in world.store.pairs(doc.effective_document_id)}
    assert states == dict.fromkeys((H24, H56), DeliveryState.FORWARDED)
    assert world.broker.depth(world.names.ingress_queue) == 0
    assert world.parked() == 0
    assert world.store.refusals() == []


def test_a_redelivered_message_whose_pairs_were_forwarded_is_not_published_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    assert world.hub is not None
    transport = world.hub.transport

    def crash(delivery: object) -> None:
        raise Crash

    monkeypatch.setattr(transport, "ack", crash)
    with pytest.raises(Crash):
        world.pump()
    monkeypatch.undo()
    transport.close()
    world.start_hub()
    world.pump()
    assert world.broker.depth(world.names.inbox(H24)) == 1
    assert world.store.refusals() == []


# --- operator replay, statuses again --------------------------------------------------------------


def test_a_message_replayed_by_the_operator_is_handled_as_from_its_original_sender(
    world: World, keys: dict[str, SigningKey]
) -> None:
    assert world.hub is not None
    signed = sign_package(write_package(edoc(G22, [H24])), keys[G22])
    world.hub.transport.publish(
        world.names.ingress_exchange, G22, signed, message_id="replayed", headers={n.ORIGINAL_USER: G22}
    )
    world.pump()
    [got] = world.inbox(H24)
    assert got.signer == G22


def test_a_replayed_message_still_cannot_claim_a_sender_other_than_its_signer(
    world: World, keys: dict[str, SigningKey]
) -> None:
    assert world.hub is not None
    signed = sign_package(write_package(edoc(G22, [H24])), keys[G22])
    world.hub.transport.publish(
        world.names.ingress_exchange, H56, signed, message_id="r2", headers={n.ORIGINAL_USER: H56}
    )
    world.pump()
    assert world.inbox(H24) == []
    assert world.store.refusals()[0].reason == "sender-not-authorised"


def test_a_refusal_16_of_an_update_reaches_the_sender(world: World) -> None:
    original = edoc(G22, [H24])
    world.client(G22).submit(original)
    world.pump()
    update = edoc(
        G22,
        [H24],
        "101u",
        business=Business(BusinessDocType.UPDATE, document_id=original.effective_document_id),
    )
    world.client(G22).submit(update)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, update, StatusCode.CHANGE_REFUSED, "Không đồng ý cập nhật"))
    world.pump()
    [answer] = world.inbox(G22)
    assert isinstance(answer.package, StatusPackage)
    assert answer.package.status_code is StatusCode.CHANGE_REFUSED
    assert [e.code for e in world.store.statuses(update.effective_document_id)] == ["16"]


def test_a_status_redelivered_after_a_crash_is_recorded_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, doc, StatusCode.ARRIVED))
    assert world.hub is not None
    transport = world.hub.transport

    def crash(delivery: object) -> None:
        raise Crash

    monkeypatch.setattr(transport, "ack", crash)
    with pytest.raises(Crash):
        world.pump()
    monkeypatch.undo()
    transport.close()
    world.start_hub()
    world.pump()
    assert [e.code for e in world.store.statuses(doc.effective_document_id)] == ["01"]
    assert len(world.inbox(G22)) == 1  # forwarded twice, handed over once


# --- batches --------------------------------------------------------------------------------------


def take_all(world: World) -> list[Delivery]:
    assert world.hub is not None
    taken = []
    while (d := world.hub.transport.get(world.names.ingress_queue)) is not None:
        taken.append(d)
    return taken


def test_a_batch_settles_each_message_on_its_own(world: World) -> None:
    first, second = edoc(G22, [H24], "1"), edoc(G22, [H56], "2")
    world.client(G22).submit(first)
    world.client(G22).submit_signed(b"<edXML>broken", kind=n.KIND_EDOC)
    world.client(G22).submit(second)
    world.client(G22).submit(first)  # the same document again, in the same batch
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert [a.outcome for a in attempts] == ["forwarded", "refused", "forwarded", "refused"]
    assert [i.package for i in world.inbox(H24)] == [first]
    assert [i.package for i in world.inbox(H56)] == [second]
    assert sorted(r.reason for r in world.store.refusals()) == ["duplicate", "malformed"]
    assert world.parked() == 2
    assert world.broker.depth(world.names.ingress_queue) == 0


def test_a_document_and_its_receipt_in_one_batch_are_both_handled(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, doc, StatusCode.ARRIVED))
    later = edoc(G22, [H24], "2")
    world.client(G22).submit(later)
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert [a.kind for a in attempts] == [n.KIND_STATUS, n.KIND_EDOC]
    assert [i.kind for i in world.inbox(G22)] == [n.KIND_STATUS]
    assert [i.package for i in world.inbox(H24)] == [later]


def test_a_revoke_and_a_replacement_before_their_document_in_one_batch_go_after_it(world: World) -> None:
    # The gets that fill a batch bring it in the queue's order only as far as the broker's counts tell:
    # a connector catching up sends a document and, right behind it, its 13 or its replacement. Planned
    # first, those were refused as about a document this hub did not know.
    original = edoc(G22, [H24], "1")
    replacement = edoc(G22, [H24], "2", business=Business(
        BusinessDocType.REPLACE, document_id=None,
        replacement_info=(ReplacementInfo(original.effective_document_id, (H24,)),)))  # fmt: skip
    revoke = status(G22, original, StatusCode.REVOKE, "Lấy lại do sai sót")
    for package in (revoke, replacement, original):
        world.client(G22).submit(package)
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert [(a.kind, a.outcome) for a in attempts] == [
        (n.KIND_EDOC, "forwarded"), (n.KIND_STATUS, "forwarded"), (n.KIND_EDOC, "forwarded")]  # fmt: skip
    assert world.store.refusals() == []
    got = [i.package for i in world.inbox(H24)]
    assert got[0] == original  # before what revokes or replaces it
    assert {type(p) for p in got[1:]} == {StatusPackage, type(original)}
    assert len(got) == 3
    assert world.inbox(G22) == []  # no 02


def test_a_status_about_a_document_this_hub_never_carried_is_refused_once_in_a_batch(world: World) -> None:
    unknown = status(G22, edoc(G22, [H24], "9"), StatusCode.REVOKE)
    world.client(G22).submit(unknown)
    world.client(G22).submit(edoc(G22, [H24], "1"))
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert [(a.kind, a.outcome) for a in attempts] == [(n.KIND_EDOC, "forwarded"), (n.KIND_STATUS, "refused")]
    [refusal] = world.store.refusals()
    assert refusal.reason == "unknown-document"
    [answer] = [i.package for i in world.inbox(G22)]
    assert isinstance(answer, StatusPackage)
    assert answer.status_code is StatusCode.REFUSED


def test_a_transient_failure_requeues_the_whole_batch_and_nothing_is_lost(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [edoc(G22, [H24], str(i)) for i in range(3)]
    for doc in docs:
        world.client(G22).submit(doc)
    assert world.hub is not None
    transport = world.hub.transport

    def broker_down(messages: object) -> None:
        raise ConnectionLost("broker restarting")

    monkeypatch.setattr(transport, "publish_many", broker_down)
    attempts = world.hub.process_batch(take_all(world))
    assert {a.outcome for a in attempts} == {"requeued"}
    monkeypatch.undo()
    world.pump()
    assert [i.package for i in world.inbox(H24)] == docs
    assert world.store.refusals() == []


def test_a_batching_hub_processes_what_each_drain_collected(world: World) -> None:
    assert world.hub is not None
    world.hub.transport.close()
    hub = world.start_hub(batch=True)
    docs = [edoc(G22, [H24], str(i)) for i in range(5)]
    for doc in docs:
        world.client(G22).submit(doc)
    hub.transport.drain(0)
    assert hub.flush() == 5
    hub.transport.drain(0)
    assert hub.flush() == 0
    assert [i.package for i in world.inbox(H24)] == docs


def test_a_revoke_that_reuses_the_originals_document_id_is_delivered_and_related(world: World) -> None:
    original = edoc(G22, [H24, H56])
    world.client(G22).submit(original)
    world.pump()
    revoke = dataclasses.replace(
        edoc(G22, [H24, H56], subject="Thu hồi văn bản"),
        business=Business(BusinessDocType.REVOKE, document_id=original.effective_document_id),
    )
    world.client(G22).submit(revoke)
    world.pump()
    for code in (H24, H56):
        assert [
            i.package.business_type for i in world.inbox(code) if not isinstance(i.package, StatusPackage)
        ] == [
            BusinessDocType.NEW,
            BusinessDocType.REVOKE,
        ]
    assert world.store.refusals() == []
    [related] = world.store.related_documents(original.effective_document_id)
    assert related.business_type == 1
    assert related.document_id.startswith(original.effective_document_id + "#revoke-")


def test_a_revoke_package_answered_about_the_original_is_not_left_overdue(world: World) -> None:
    original = edoc(G12, [H24], "90")
    world.client(G12).submit(original)
    world.pump()
    world.client(H24).submit(status(H24, original, StatusCode.ARRIVED))
    world.pump()
    business = Business(BusinessDocType.REVOKE, document_id=original.effective_document_id)
    revoke = edoc(G12, [H24], "90b", business=business)
    world.client(G12).submit(revoke)
    world.pump()
    later = datetime(2026, 12, 31, tzinfo=UTC)
    assert [p.document_id for p in world.store.overdue(later)] == [revoke.effective_document_id]
    # The receiver answers about the document the revoke names, as QCVN 102 receivers do.
    world.client(H24).submit(status(H24, original, StatusCode.CHANGE_ACCEPTED))
    world.pump()
    assert world.store.overdue(later) == []
    answered = world.store.get_pair(revoke.effective_document_id, H24)
    assert answered is not None
    assert answered.change == "revoked"
