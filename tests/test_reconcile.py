"""``vbcore.operations.reconcile``: the connectors' ledgers, the hub's store and the parking queue
compared; each (document, recipient) that stopped on the way is reported where it stopped, with what
to do. The sources are real (ledger files, a SQLite store, the in-memory broker's parking queue),
written through their own APIs in the states a crash or an outage leaves them in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vbcore.connector.ledger import Ledger
from vbcore.errors import LedgerOwnerUnknown, NotALedger
from vbcore.hub.parked import scan
from vbcore.operations import Gap, Stage, action_line, gap_line, reconcile
from vbcore.store import DocumentRecord, Refusal, SqlStore, StatusEvent, open_store
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

G09, H24, H15 = "000.00.00.G09", "000.00.00.H24", "000.00.00.H15"
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
NAMES = Names()


class Bus:
    """Ledgers of three agencies' connectors, the hub's store, and a parking queue."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.folder = tmp / "ledgers"
        self.store: SqlStore = open_store(f"sqlite:///{tmp / 'hub.db'}")
        self.ledgers: dict[str, Ledger] = {}
        for code in (G09, H24, H15):
            ledger = Ledger(self.folder / f"{code}.sqlite3")
            ledger.claim_agency(code)
            self.ledgers[code] = ledger
        self.broker = InMemoryBroker()
        self.hub = InMemoryTransport(self.broker, NAMES.hub_user, NAMES)
        self.hub.declare_hub([G09, H24, H15])
        self.seq = 0

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()
        self.store.close()

    def doc_id(self, sender: str = G09) -> str:
        self.seq += 1
        return f"{sender},2026/11/24,{self.seq}/VB"

    # --- each leg of the way ---------------------------------------------------------------------
    def sent(self, doc: str, sender: str, recipients: tuple[str, ...], *, confirmed: bool = True) -> None:
        outgoing = f"out-{doc}"
        self.ledgers[sender].record_sending(outgoing, doc, recipients, None, None)
        if confirmed:
            self.ledgers[sender].record_sent(outgoing)

    def accepted(self, doc: str, sender: str, recipients: tuple[str, ...], *, key: str | None = None,
                 business_type: int = 0) -> None:  # fmt: skip
        tracked = key or doc
        self.store.record_document(DocumentRecord(
            tracked, sender, business_type, "V/v kiểm thử", None, f"msg-{tracked}", "ab" * 32, 100, T0,
            edxml_document_id=doc))  # fmt: skip
        for recipient in recipients:
            self.store.claim_pair(tracked, recipient, at=T0, deadline=None)

    def forwarded(self, doc: str, recipient: str) -> None:
        self.store.mark_forwarded(doc, recipient, at=T0)

    def delivered(self, doc: str, sender: str, recipient: str, *, answered: bool = True,
                  refused: str | None = None) -> None:  # fmt: skip
        ledger = self.ledgers[recipient]
        dms_id = None if refused else "dms-1"
        ledger.record_delivered(doc, sender, None, None, dms_id=dms_id, refused_reason=refused)
        if answered:
            ledger.record_answer_sent(sender, doc)

    def status_at_hub(self, doc: str, recipient: str, code: str = "01", description: str | None = None
                      ) -> None:
        self.store.record_status(StatusEvent(doc, recipient, code, description, None, datetime.now(UTC),
                                             recipient))

    def status_at_sender(self, doc: str, sender: str, recipient: str, code: str = "01") -> None:
        self.ledgers[sender].record_status_received(doc, recipient, code)

    def whole_way(self, doc: str, sender: str, recipients: tuple[str, ...]) -> None:
        self.sent(doc, sender, recipients)
        self.accepted(doc, sender, recipients)
        for recipient in recipients:
            self.forwarded(doc, recipient)
            self.delivered(doc, sender, recipient)
            self.status_at_hub(doc, recipient)
            self.status_at_sender(doc, sender, recipient)

    def parks_from_ingress(self, sender: str, message_id: str, doc: str, reason: str, *,
                           kind: str = n.KIND_EDOC) -> None:  # fmt: skip
        agency = InMemoryTransport(self.broker, NAMES.agency_user(sender), NAMES)
        agency.publish(NAMES.ingress_exchange, sender, b"<edXML/>", message_id=message_id,
                       headers={n.KIND: kind, n.DOCUMENT_ID: doc})
        delivery = self.hub.get(NAMES.ingress_queue)
        assert delivery is not None
        self.hub.park([(delivery, reason)])

    # --- reconciling -------------------------------------------------------------------------------
    def operator(self) -> InMemoryTransport:
        return InMemoryTransport(self.broker, NAMES.hub_user, NAMES)

    def reconcile(self, *, parked: bool = False, **options: object) -> list[Gap]:
        seen: list[Gap] = []
        result = reconcile(
            self.store, [self.folder], on_gap=seen.append, names=NAMES, work_dir=self.tmp,
            parked=scan(self.operator, NAMES) if parked else None,
            **options,  # type: ignore[arg-type]
        )  # fmt: skip
        assert result.total == len(seen)
        assert result.gaps == seen
        return seen


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    b = Bus(tmp_path)
    yield b
    b.close()


def only(gaps: list[Gap]) -> Gap:
    assert len(gaps) == 1, [gap_line(g, "en") for g in gaps]
    return gaps[0]


def test_documents_that_went_the_whole_way_leave_no_gap(bus: Bus) -> None:
    bus.whole_way(bus.doc_id(), G09, (H24, H15))
    bus.whole_way(bus.doc_id(H24), H24, (G09,))
    bus.status_at_hub(doc := bus.doc_id(), H24)  # a status about an unknown pair moves nothing
    assert doc
    result = reconcile(bus.store, [bus.folder], work_dir=bus.tmp)
    assert (result.total, result.pairs, result.sent, result.delivered) == (0, 3, 3, 3)
    assert {f.agency for f in result.ledgers} == {G09, H24, H15}
    assert result.unledgered == 0


def test_a_sending_the_broker_never_confirmed_is_not_sent(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,), confirmed=False)
    gap = only(bus.reconcile())
    assert (gap.stage, gap.document_id, gap.sender, gap.recipient) == (Stage.NOT_SENT, doc, G09, H24)
    assert "systemctl restart vbus-connector@000.00.00.G09" in action_line(gap, "vi")
    assert action_line(gap, "vi").startswith("  → đề nghị 000.00.00.G09 khởi động lại connector")


def test_a_sending_the_runtime_gave_up_sends_the_operator_to_the_dms(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,), confirmed=False)
    bus.ledgers[G09].mark_done(f"give-up:out:out-{doc}", "gave up")
    gap = only(bus.reconcile())
    assert gap.given_up
    assert "send it again from the DMS" in action_line(gap, "en")


def test_a_document_the_hub_never_tracked_is_not_at_hub(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24, H15))
    gaps = bus.reconcile()
    assert [(g.stage, g.recipient) for g in gaps] == [(Stage.NOT_AT_HUB, H15), (Stage.NOT_AT_HUB, H24)]
    assert gap_line(gaps[0], "vi") == f"[not-at-hub] {doc}  {G09} → {H15}: đã gửi nhưng chưa đến trục"
    assert gap_line(gaps[0], "en") == f"[not-at-hub] {doc}  {G09} → {H15}: sent but never reached the hub"
    assert "vb queues" in action_line(gaps[0], "en")


def test_a_document_parked_at_the_ingress_names_the_message_to_replay(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.parks_from_ingress(G09, "msg-7", doc, "not-processed: the store was down")
    gap = only(bus.reconcile(parked=True))
    assert (gap.stage, gap.parked_id, gap.replayable) == (Stage.PARKED, "msg-7", True)
    assert gap.reason == "not-processed: the store was down"
    assert action_line(gap, "en") == "  → once the cause is fixed: vb parked replay msg-7"
    assert "bị giữ lại (not-processed" in gap_line(gap, "vi")


def test_a_document_the_hub_refused_says_why_and_where_its_parked_copy_is(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.store.record_refusal(Refusal("msg-9", G09, doc, None, "signature-invalid", "Chữ ký không hợp lệ", T0))
    bus.parks_from_ingress(G09, "msg-9", doc, "signature-invalid: digest mismatch")
    gap = only(bus.reconcile(parked=True))
    assert (gap.stage, gap.reason, gap.parked_id) == (Stage.REFUSED, "signature-invalid", "msg-9")
    assert "vb parked drop msg-9" in action_line(gap, "en")


def test_a_recipient_the_hub_refused_is_reported_with_the_reason(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24, "000.00.00.H47"))
    bus.accepted(doc, G09, (H24, "000.00.00.H47"))
    bus.store.set_pair_state(doc, "000.00.00.H47", "refused-by-hub", at=T0)
    bus.store.record_refusal(Refusal("m", G09, doc, "000.00.00.H47", "closed-agency", "Mã đã đóng", T0))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24)
    bus.status_at_hub(doc, H24)
    bus.status_at_sender(doc, G09, H24)
    gap = only(bus.reconcile())
    assert (gap.stage, gap.recipient, gap.reason) == (Stage.REFUSED, "000.00.00.H47", "closed-agency")
    assert "closed-agency: " in gap_line(gap, "vi")


def test_a_document_accepted_and_never_forwarded_sends_the_operator_to_the_hub(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    gap = only(bus.reconcile())
    assert gap.stage == Stage.NOT_FORWARDED
    assert "systemctl restart 'vbus-hub@*'" in action_line(gap, "en")


def test_a_forwarded_document_missing_from_the_recipients_ledger_is_not_delivered(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    gap = only(bus.reconcile())
    assert (gap.stage, gap.recipient) == (Stage.NOT_DELIVERED, H24)
    assert "vbus-connector@000.00.00.H24" in action_line(gap, "vi")


def test_a_delivery_whose_01_was_never_confirmed_is_not_answered(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24, answered=False)
    assert only(bus.reconcile()).stage == Stage.NOT_ANSWERED


def test_a_01_the_hub_never_recorded_is_found_parked_when_it_is(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24)
    assert only(bus.reconcile()).stage == Stage.ANSWER_NOT_AT_HUB
    bus.parks_from_ingress(H24, "status-1", doc, "not-processed: the store was down", kind=n.KIND_STATUS)
    gap = only(bus.reconcile(parked=True))
    assert (gap.stage, gap.parked_id, gap.recipient) == (Stage.ANSWER_NOT_AT_HUB, "status-1", H24)
    assert "vb parked replay status-1" in action_line(gap, "en")


def test_a_01_recorded_at_the_hub_and_missing_from_the_senders_ledger_is_reported(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24)
    bus.status_at_hub(doc, H24, "03")
    gap = only(bus.reconcile())
    assert (gap.stage, gap.code) == (Stage.ANSWER_NOT_AT_SENDER, "03")
    assert "trục đã ghi nhận 03 nhưng bên gửi chưa nhận được" in gap_line(gap, "vi")
    bus.status_at_sender(doc, G09, H24, "03")
    assert bus.reconcile() == []


def test_without_the_recipients_ledger_a_missing_01_is_reported_as_no_answer(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.ledgers.pop(H24).close()
    (bus.folder / f"{H24}.sqlite3").unlink()
    result = reconcile(bus.store, [bus.folder], work_dir=bus.tmp)
    assert [g.stage for g in result.gaps] == [Stage.NO_ANSWER]
    assert (result.unledgered, result.unledgered_shown) == (1, (H24,))


def test_a_refusal_by_the_recipient_is_reported_with_its_reason(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24, refused="Thiếu tệp đính kèm")
    bus.status_at_hub(doc, H24, "02", "Thiếu tệp đính kèm")
    bus.status_at_sender(doc, G09, H24, "02")
    gap = only(bus.reconcile())
    assert (gap.stage, gap.reason) == (Stage.REFUSED_BY_RECIPIENT, "Thiếu tệp đính kèm")
    assert gap_line(gap, "vi").endswith("bên nhận từ chối (02: Thiếu tệp đính kèm)")


def test_a_delivery_the_store_has_no_record_of_is_not_tracked(bus: Bus) -> None:
    bus.delivered(doc := bus.doc_id(H15), H15, H24)
    gap = only(bus.reconcile())
    assert (gap.stage, gap.document_id, gap.sender, gap.recipient) == (Stage.NOT_TRACKED, doc, H15, H24)


def test_a_revoke_is_checked_as_far_as_its_forwarding_only(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.whole_way(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,), key=f"{doc}#revoke-ab12", business_type=1)
    bus.forwarded(f"{doc}#revoke-ab12", H24)
    assert bus.reconcile() == []  # its 15/16 may rightly wait


def test_a_document_id_without_the_senders_code_is_matched_under_the_hubs_key(bus: Bus) -> None:
    uuid = "3f2b8c1e-uuid-written-by-a-dms"
    bus.sent(uuid, G09, (H24,))
    bus.accepted(uuid, G09, (H24,), key=f"{G09}|{uuid}")
    bus.forwarded(f"{G09}|{uuid}", H24)
    bus.delivered(uuid, G09, H24)
    bus.status_at_hub(f"{G09}|{uuid}", H24)
    bus.status_at_sender(uuid, G09, H24)
    assert bus.reconcile() == []


def test_parked_messages_no_gap_explains_are_gaps_of_their_own(bus: Bus) -> None:
    bus.parks_from_ingress(H15, "garbage-1", "whatever", "malformed: not XML")
    gap = only(bus.reconcile(parked=True))
    assert (gap.stage, gap.parked_id, gap.sender) == (Stage.PARKED, "garbage-1", H15)
    assert "vb parked drop garbage-1" in action_line(gap, "en")


def test_a_window_checks_only_what_started_in_it(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    later = datetime.now(UTC) + timedelta(hours=1)
    assert bus.reconcile(since=later) == []
    assert [g.stage for g in bus.reconcile(until=later)] == [Stage.NOT_AT_HUB]


def test_statuses_before_a_senders_ledger_kept_them_are_not_judged(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    bus.delivered(doc, G09, H24)
    bus.store.record_status(StatusEvent(doc, H24, "01", None, None, datetime(2020, 1, 1, tzinfo=UTC), H24))
    assert bus.reconcile() == []


def test_a_file_named_as_a_ledger_that_is_none_is_refused_and_skipped_in_a_folder(bus: Bus) -> None:
    with pytest.raises(NotALedger):
        reconcile(bus.store, [bus.tmp / "hub.db"])
    (bus.folder / "notes.db").write_bytes(b"not sqlite at all")
    assert reconcile(bus.store, [bus.folder]).total == 0


def test_an_old_ledger_is_known_by_its_file_name_and_an_unnamed_one_is_refused(
    bus: Bus, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    ledger = Ledger(old / f"{H15}.sqlite3")  # never claimed: as a ledger written before 0.3
    ledger.close()
    assert [f.agency for f in reconcile(bus.store, [old]).ledgers] == [H15]
    Ledger(old / "ledger.sqlite3").close()
    with pytest.raises(LedgerOwnerUnknown):
        reconcile(bus.store, [old])


def test_ids_an_agency_chose_are_printed_on_one_line_whatever_they_hold(bus: Bus) -> None:
    bus.parks_from_ingress(H15, "evil\n[not-at-hub] forged\x1b[2J", "doc\r\nline", "not-processed: x\ny")
    gap = only(bus.reconcile(parked=True))
    for line in (gap_line(gap, "vi"), action_line(gap, "en")):
        assert "\n" not in line
        assert "\r" not in line
        assert "\x1b" not in line
    assert "evil\\n[not-at-hub] forged\\x1b[2J" in action_line(gap, "en")
