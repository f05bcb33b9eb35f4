"""A package about a document this hub does not know yet waits a while for it (``vbcore.hub.waiting``).

With several hubs on one ingress, a sender's revoke (13) published right behind its document could be
taken by one hub while another still had the document in hand: it was refused at once as about an
unknown document, and a genuine revoke came back to its sender as a 02. Now it waits, in hand, and is
tried again; after ``HubConfig.document_wait`` seconds it is refused as before. Here two hubs share one
in-memory broker and one store; ``test_e2e_rabbitmq_waiting.py`` does it on the real broker.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from test_hub_support import G22, H24, H56, World, edoc, status

from vbcore.errors import StoreError
from vbcore.hub import waiting as w
from vbcore.hub.pipeline import Hub
from vbcore.hub.runner import run_once
from vbcore.model import Business, BusinessDocType, ResponseFor, StatusPackage
from vbcore.status import StatusCode
from vbcore.transport import names as n
from vbcore.transport.base import Delivery as BaseDelivery

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def two_hubs(world: World, **config: object) -> tuple[Hub, Hub]:
    """Two batching hubs on the world's broker and store (the world's own hub closed)."""
    assert world.hub is not None
    world.hub.transport.close()
    world.config = dataclasses.replace(world.config, **config)  # type: ignore[arg-type]
    return world.start_hub(batch=True), world.start_hub(batch=True)


def refusals_to(world: World, code: str) -> list[str]:
    return [i.headers[n.REFUSAL_REASON] for i in world.inbox(code) if i.kind == n.KIND_REFUSAL]


def taken_by(hub: Hub, count: int = 1) -> list[BaseDelivery]:
    """``count`` deliveries from the ingress into ``hub``'s hands, not processed yet."""
    return hub.transport.get_many(hub.config.names.ingress_queue, count)


def revoke_of(doc_number: str, to: list[str]) -> StatusPackage:
    return status(G22, edoc(G22, to, doc_number), StatusCode.REVOKE)


def test_a_revoke_taken_while_another_hub_holds_its_document_waits_for_it_and_is_forwarded(
    world: World,
) -> None:
    a, b = two_hubs(world)
    doc = edoc(G22, [H24], "7")
    world.client(G22).submit(doc)
    world.client(G22).submit(revoke_of("7", [H24]))
    [in_a] = taken_by(a)  # the document: in the other hub's hands, not committed yet
    assert b.transport.drain(0) == 1  # the revoke
    assert b.flush() == 0  # it waits: neither refused nor forwarded
    assert len(b.waiting) == 1
    assert list(world.store.refusals()) == []
    assert world.broker.depth(world.names.parked_queue) == 0
    a.process_batch([in_a])
    assert b.flush() == 0  # not tried again before its pause (0.25 s) is over
    time.sleep(w.FIRST_RETRY + 0.05)
    assert b.flush() == 1
    assert len(b.waiting) == 0
    assert list(world.store.refusals()) == []
    assert refusals_to(world, G22) == []
    got = [i.package for i in world.inbox(H24)]
    assert got[0] == doc
    assert isinstance(got[1], StatusPackage)
    assert got[1].status_code is StatusCode.REVOKE
    assert world.broker.depth(world.names.ingress_queue) == 0


def test_a_replacement_overtaking_its_document_on_another_hub_waits_for_it(world: World) -> None:
    a, b = two_hubs(world)
    doc = edoc(G22, [H24], "8")
    replaces = Business(BusinessDocType.REPLACE, document_id=doc.document_id, paper=0)
    replacement = edoc(G22, [H24], "8b", business=replaces)
    world.client(G22).submit(doc)
    world.client(G22).submit(replacement)
    [in_a] = taken_by(a)
    b.transport.drain(0)
    assert b.flush() == 0
    a.process_batch([in_a])
    time.sleep(w.FIRST_RETRY + 0.05)
    assert b.flush() == 1
    assert refusals_to(world, G22) == []
    assert [i.package.effective_document_id for i in world.inbox(H24)] == [
        doc.effective_document_id, replacement.effective_document_id]  # fmt: skip


def test_a_status_about_a_document_that_never_comes_is_refused_once_its_wait_is_over(world: World) -> None:
    _, b = two_hubs(world, document_wait=0.6)
    world.client(G22).submit(revoke_of("9", [H24]))  # never sent
    b.transport.drain(0)
    started = time.monotonic()
    assert b.flush() == 0
    while b.waiting and time.monotonic() - started < 5:
        time.sleep(0.05)
        b.flush()
    assert not b.waiting
    assert 0.6 <= time.monotonic() - started < 1.5
    [refusal] = world.store.refusals()
    assert refusal.reason == "unknown-document"
    assert refusals_to(world, G22) == ["unknown-document"]
    assert world.parked() == 1
    assert world.broker.depth(world.names.ingress_queue) == 0


def test_a_status_that_names_no_document_is_refused_at_once(world: World) -> None:
    _, b = two_hubs(world)
    empty = dataclasses.replace(revoke_of("9", [H24]), response_for=ResponseFor(organ_id=G22))
    world.client(G22).submit(empty)
    b.transport.drain(0)
    assert b.flush() == 1
    assert not b.waiting
    assert refusals_to(world, G22) == ["no-document-named"]


def test_one_sender_holds_at_most_its_share_of_the_waiting_room_and_others_still_wait(world: World) -> None:
    _, b = two_hubs(world)
    for i in range(w.WAITING_PER_PUBLISHER + 2):
        world.client(G22).submit(revoke_of(f"x{i}", [H24]))
    world.client(H56).submit(status(H56, edoc(G22, [H56], "y"), StatusCode.ARRIVED))
    while world.broker.depth(world.names.ingress_queue):
        b.transport.drain(0)
        b.gather(0.01)
        b.flush()
    assert len(b.waiting) == w.WAITING_PER_PUBLISHER + 1  # G22's eight, and H56's one
    assert refusals_to(world, G22) == ["unknown-document"] * 2  # refused at once: its share was full
    assert refusals_to(world, H56) == []


def test_waiting_deliveries_holding_every_slot_of_the_consumer_do_not_stop_the_traffic_behind_them(
    world: World,
) -> None:
    # The consumer may hold ``inflight_bytes // max_bytes`` deliveries unacknowledged: here 2, both
    # waiting. Nothing more comes by it, so ``gather`` asks for gets: the letter behind goes through.
    _, b = two_hubs(world, inflight_bytes=2 * world.config.max_bytes)
    assert b._consumed == 2
    world.client(G22).submit(revoke_of("p", [H24]))
    world.client(G22).submit(revoke_of("q", [H24]))
    b.transport.drain(0)
    assert b.flush() == 0
    assert len(b.waiting) == 2
    letter = edoc(G22, [H56], "behind")
    world.client(G22).submit(letter)
    assert b.transport.drain(0) == 0  # the consumer is full
    b.gather(0.01)
    assert b.flush() == 1
    assert [i.package for i in world.inbox(H56)] == [letter]
    assert len(b.waiting) == 2


def test_vb_hub_run_once_settles_what_waits_before_it_exits(world: World) -> None:
    _, b = two_hubs(world, document_wait=0.5)
    world.client(G22).submit(revoke_of("never", [H24]))
    started = time.monotonic()
    report = run_once(b, idle=0.05)
    assert time.monotonic() - started >= 0.5
    assert (report.processed, report.requeued) == (1, 0)
    assert refusals_to(world, G22) == ["unknown-document"]


def test_the_waiting_room_backs_off_and_bounds_its_wait() -> None:
    room = w.WaitingRoom()
    d = BaseDelivery("ingress", b"x", {}, "m")
    assert room.hold(d, "s", 100.0, wait=3.0)
    assert room.take_due(100.2) == []
    assert room.take_due(100.25) == [d]
    assert room.waiting() == []  # taken into a batch: in hand there
    assert room.take_due(200.0) == []
    assert room.hold(d, "s", 100.3, wait=3.0)  # next try 0.5 s later
    assert room.take_due(100.79) == []
    assert room.take_due(100.8) == [d]
    assert room.hold(d, "s", 100.8, wait=3.0)  # 1 s
    assert room.hold(d, "s", 101.8, wait=3.0)  # 2 s, but no later than its wait's end
    assert room.take_due(102.99) == []
    assert room.take_due(103.0) == [d]
    assert not room.hold(d, "s", 103.0, wait=3.0)  # waited its 3 s: refused now
    room.after_batch([])  # settled: let go
    assert len(room) == 0
    assert not room.hold(d, "s", 0.0, wait=0.0)  # no waiting at all


def test_the_waiting_room_is_shared_out_between_senders() -> None:
    room = w.WaitingRoom()

    def delivery(i: int) -> BaseDelivery:
        return BaseDelivery("ingress", b"x", {}, f"m{i}")

    held = [delivery(i) for i in range(w.WAITING_AT_MOST + 1)]
    assert all(room.hold(d, "s", 0.0, wait=30.0) for d in held[: w.WAITING_PER_PUBLISHER])
    assert not room.hold(held[w.WAITING_PER_PUBLISHER], "s", 0.0, wait=30.0)
    others = held[w.WAITING_PER_PUBLISHER :]
    room_left = others[: w.WAITING_AT_MOST - w.WAITING_PER_PUBLISHER]
    assert all(room.hold(d, f"o{i}", 0.0, wait=30.0) for i, d in enumerate(room_left))
    assert not room.hold(others[-1], "late", 0.0, wait=30.0)  # the room is full
    room.release(held[:1])
    assert room.hold(others[-1], "late", 0.0, wait=30.0)


def test_a_waiting_revoke_in_a_batch_an_outage_holds_is_held_once_and_forwarded_once_after_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_hubs(world, outage_pause=0.0)
    doc, letter = edoc(G22, [H24], "held"), edoc(G22, [H56], "beside")
    world.client(G22).submit(doc)
    world.client(G22).submit(revoke_of("held", [H24]))
    [in_a] = taken_by(a)
    b.transport.drain(0)
    assert b.flush() == 0
    world.client(G22).submit(letter)
    b.transport.drain(0)
    time.sleep(w.FIRST_RETRY + 0.05)

    def down(*args: object, **kwargs: object) -> None:
        raise StoreError("could not connect to server")

    # The revoke waits again (planned, its document still unknown), then the batch's commit fails.
    monkeypatch.setattr(world.store, "append_evidence", down)
    assert b.flush() == 2  # both held by the outage
    assert len(b._held) == 2
    assert len(b.waiting) == 1
    assert b.waiting.waiting() == []  # in hand once: with the held batch
    assert b._in_hand == sum(len(d.body) for d in b._held)
    monkeypatch.undo()
    a.process_batch([in_a])
    assert b.flush() == 2
    assert not b.waiting
    assert b._held == []
    assert b._in_hand == 0
    assert refusals_to(world, G22) == []
    assert [i.kind for i in world.inbox(H24)] == [n.KIND_EDOC, n.KIND_STATUS]
    assert [i.package for i in world.inbox(H56)] == [letter]


def test_the_waiting_room_holds_at_most_its_bytes_whatever_the_budget() -> None:
    # Each try checks a package again: an agency's large bogus updates would make the hub check up to
    # its whole budget nine times over each wait. Beyond 16 MiB waiting, one is refused at once.
    room = w.WaitingRoom()
    big = [BaseDelivery("ingress", bytes(6 * 1024 * 1024), {}, f"big{i}") for i in range(3)]
    assert room.hold(big[0], "a", 0.0, wait=30.0, most_bytes=10**12)
    assert room.hold(big[1], "b", 0.0, wait=30.0, most_bytes=10**12)
    assert not room.hold(big[2], "c", 0.0, wait=30.0, most_bytes=10**12)  # 18 MiB > 16 MiB
    assert room.bytes() <= w.WAITING_BYTES_AT_MOST
