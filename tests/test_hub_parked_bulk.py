"""Parked messages in bulk (``vbcore.hub.parked``), on the in-memory broker: listed as a stream with no
cap, replayed or dropped by reason, sender or id in ONE pass over the parking queue (one connection,
each message taken once), and a pass ends even while the hub parks what it replays again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vbcore.hub.parked import ParkedFilter, scan, settle_many
from vbcore.transport import Delivery, Transport
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

NAMES = Names()
G09, H24, H15 = "000.00.00.G09", "000.00.00.H24", "000.00.00.H15"


class Bus:
    """An in-memory broker with the hub's queues, where the hub parks what agencies send."""

    def __init__(self) -> None:
        self.broker = InMemoryBroker()
        self.hub = self.connect()
        self.hub.declare_hub([G09, H24, H15])
        self.opened = 0

    def connect(self) -> InMemoryTransport:
        return InMemoryTransport(self.broker, NAMES.hub_user, NAMES)

    def opener(self) -> Callable[[], Transport]:
        def open_one() -> Transport:
            self.opened += 1
            return self.connect()

        return open_one

    def agency_parks(self, sender: str, message_id: str, reason: str, *, kind: str = n.KIND_EDOC) -> None:
        """``sender`` publishes to the ingress and the hub parks it with ``reason``."""
        agency = InMemoryTransport(self.broker, NAMES.agency_user(sender), NAMES)
        agency.publish(
            NAMES.ingress_exchange,
            sender,
            f"<{message_id}/>".encode(),
            message_id=message_id,
            headers={n.KIND: kind, n.DOCUMENT_ID: f"{sender},2026/11/24,{message_id}"},
        )
        delivery = self.hub.get(NAMES.ingress_queue)
        assert delivery is not None
        self.hub.park([(delivery, reason)])

    def inbox_parks(self, recipient: str, message_id: str) -> None:
        """A copy the hub forwarded, rejected by the recipient: parked from its inbox."""
        self.hub.publish(
            NAMES.delivery_exchange,
            recipient,
            b"<copy/>",
            message_id=message_id,
            headers={n.KIND: n.KIND_EDOC, n.RECIPIENT: recipient},
        )
        agency = InMemoryTransport(self.broker, NAMES.agency_user(recipient), NAMES)
        delivery = agency.get(NAMES.inbox(recipient))
        assert delivery is not None
        agency.reject(delivery, requeue=False, reason="dms gave up")

    def ingress(self) -> list[Delivery]:
        taken = []
        while (d := self.hub.get(NAMES.ingress_queue)) is not None:
            self.hub.ack(d)
            taken.append(d)
        return taken

    def parked_ids(self) -> list[str]:
        return [p.message_id for p in scan(self.connect, NAMES)]


@pytest.fixture
def bus() -> Bus:
    return Bus()


def test_a_listing_streams_every_parked_message_with_no_cap_and_leaves_them_there(bus: Bus) -> None:
    for i in range(1205):
        bus.agency_parks(G09, f"m{i}", "not-processed: the store was down")
    listed = scan(bus.connect, NAMES)
    first = next(listed)
    assert (first.message_id, first.reason) == ("m0", "not-processed: the store was down")
    assert first.original_user == NAMES.agency_user(G09)
    assert sum(1 for _ in listed) == 1204
    assert len(list(scan(bus.connect, NAMES, limit=10))) == 10
    assert bus.broker.depth(NAMES.parked_queue) == 1205


def test_replay_all_republishes_every_replayable_message_in_one_pass(bus: Bus) -> None:
    for i in range(5):
        bus.agency_parks(G09 if i % 2 else H24, f"m{i}", "not-processed: the store was down")
    bus.inbox_parks(H15, "copy-1")
    skipped: list[str] = []
    report = settle_many(
        bus.opener(),
        NAMES,
        ParkedFilter(),
        replay=True,
        on_skipped=lambda p, err: skipped.append(p.message_id),
    )
    assert bus.opened == 1
    assert (report.settled, report.skipped, report.scanned) == (5, 1, 6)
    assert skipped == ["copy-1"]
    replayed = bus.ingress()
    assert sorted(d.message_id for d in replayed) == [f"m{i}" for i in range(5)]
    by_id = {d.message_id: d for d in replayed}
    assert by_id["m1"].headers[n.ORIGINAL_USER] == NAMES.agency_user(G09)
    assert by_id["m0"].headers[n.ORIGINAL_USER] == NAMES.agency_user(H24)
    assert bus.parked_ids() == ["copy-1"]  # the recipient's refusal stays for the operator


def test_replay_by_reason_and_sender_takes_only_the_matching_messages(bus: Bus) -> None:
    bus.agency_parks(G09, "store-1", "not-processed: the store was down")
    bus.agency_parks(G09, "bad-1", "malformed: not XML")
    bus.agency_parks(H24, "store-2", "not-processed: the store was down")
    which = ParkedFilter(reasons=("not-processed",), senders=(G09,))
    report = settle_many(bus.opener(), NAMES, which, replay=True)
    assert report.settled == 1
    assert [d.message_id for d in bus.ingress()] == ["store-1"]
    assert bus.parked_ids() == ["bad-1", "store-2"]  # the others keep their order


def test_drop_by_reason_deletes_only_the_matching_messages(bus: Bus) -> None:
    bus.agency_parks(G09, "bad-1", "malformed: not XML")
    bus.agency_parks(G09, "keep", "not-processed: the store was down")
    bus.agency_parks(H24, "bad-2", "malformed: not XML")
    report = settle_many(bus.opener(), NAMES, ParkedFilter(reasons=("malformed",)), replay=False)
    assert report.settled == 2
    assert bus.parked_ids() == ["keep"]
    assert bus.ingress() == []


def test_several_ids_are_settled_in_one_pass_and_missing_ones_are_named(bus: Bus) -> None:
    for i in range(4):
        bus.agency_parks(G09, f"m{i}", "not-processed: the store was down")
    report = settle_many(
        bus.opener(), NAMES, ParkedFilter(message_ids=frozenset({"m1", "m3", "nope"})), replay=True
    )
    assert (report.settled, bus.opened) == (2, 1)
    assert report.missing == ("nope",)
    assert sorted(d.message_id for d in bus.ingress()) == ["m1", "m3"]


def test_a_pass_ends_while_the_hub_parks_what_it_replays_again(bus: Bus) -> None:
    for i in range(3):
        bus.agency_parks(G09, f"bad-{i}", "malformed: not XML")

    def hub_refuses_again(done: int, total: int) -> None:
        # The hub, running meanwhile, takes each replay and parks it again (as the operator's replay).
        while (d := bus.hub.get(NAMES.ingress_queue)) is not None:
            bus.hub.park([(d, "malformed: not XML")])

    report = settle_many(
        bus.opener(), NAMES, ParkedFilter(), replay=True, batch=1, progress=hub_refuses_again
    )
    assert (report.settled, report.scanned) == (3, 3)
    hub_refuses_again(0, 0)
    again = list(scan(bus.connect, NAMES))
    assert sorted(p.message_id for p in again) == ["bad-0", "bad-1", "bad-2"]
    assert {p.original_user for p in again} == {NAMES.agency_user(G09)}  # still the agency's, never the hub's


def test_a_filter_names_what_it_matches(bus: Bus) -> None:
    bus.agency_parks(G09, "m1", "not-processed: the store was down")
    bus.inbox_parks(H15, "copy-1")
    parked = {p.message_id: p for p in scan(bus.connect, NAMES)}
    assert ParkedFilter(senders=(G09,)).matches(parked["m1"], NAMES)
    assert ParkedFilter(senders=(NAMES.agency_user(G09),)).matches(parked["m1"], NAMES)
    assert not ParkedFilter(senders=(H24,)).matches(parked["m1"], NAMES)
    assert ParkedFilter(reasons=("dead-lettered by the broker",)).matches(parked["copy-1"], NAMES)
    assert parked["copy-1"].recipient == H15
    assert ParkedFilter(document_ids=frozenset({f"{G09},2026/11/24,m1"})).matches(parked["m1"], NAMES)


def test_a_documents_parked_messages_read_with_the_command_that_settles_each(bus: Bus) -> None:
    from vbcore.cli.parked_lookup import parked_about, parked_json, parked_lines

    doc = f"{G09},2026/11/24,m1"
    bus.agency_parks(G09, "m1", "not-processed: the store was down")
    bus.agency_parks(H24, "other", "malformed: not XML")
    bus.inbox_parks(H15, "copy-1")
    bus.hub.publish(NAMES.dead_letter_exchange, "x", b"<x/>", message_id="nobody",
                    headers={n.DOCUMENT_ID: doc, n.PARK_REASON: "sender-unknown: no user_id",
                             n.PARKED_FROM: NAMES.ingress_queue})  # fmt: skip
    found = parked_about((bus.connect, NAMES), {doc})
    assert [p.message_id for p in found] == ["m1", "nobody"]
    lines = parked_lines(found, NAMES, "vi")
    assert lines[0] == "  Bị giữ lại trong hàng đợi giữ lại:"
    assert lines[1].startswith(f"    m1  edoc từ {G09}: not-processed: ")
    assert lines[2] == "      → gửi lại: vb parked replay m1"
    assert lines[3].startswith("    nobody  ? từ (không có cơ quan gửi được xác thực): sender-unknown: ")
    assert lines[4].startswith(
        "      → không gửi lại được (Không gửi lại được gói tin đang lưu giữ: nobody không kèm"
    )
    assert lines[4].endswith("khi đã xử lý: vb parked drop nobody")
    english = parked_lines(found[:1], NAMES, "en")
    assert english[2] == "      → replay: vb parked replay m1"
    assert [row["replayable"] for row in parked_json(found, NAMES)] == [True, False]


def test_a_message_id_an_agency_chose_cannot_forge_a_line_of_the_operators_view(bus: Bus) -> None:
    from vbcore.cli.parked_lookup import parked_lines

    bus.agency_parks(G09, "m1\n      → gửi lại: vb parked replay other", "not-processed: x")
    lines = parked_lines(list(scan(bus.connect, NAMES)), NAMES, "vi")
    assert len(lines) == 3
    assert lines[1].startswith("    m1\\n      → gửi lại: vb parked replay other  edoc từ ")
