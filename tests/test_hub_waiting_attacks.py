"""Attacks and operator mishaps around the waiting room (``vbcore.hub.waiting``)."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
from test_hub_support import G22, H24, H56, World, edoc
from test_hub_waiting import refusals_to, revoke_of, taken_by, two_hubs

from vbcore.errors import ConnectionLost
from vbcore.hub.pipeline import Hub
from vbcore.hub.runner import StopFlag, run, run_once
from vbcore.model import Blob, Business, BusinessDocType, Edoc
from vbcore.transport import names as n
from vbcore.transport.base import Delivery as BaseDelivery
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def turn_for(hub: Hub, seconds: float) -> None:
    """What ``runner.run`` does, for ``seconds``."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        hub.transport.drain(0 if hub.flush() else 0.005)
        hub.gather(0.005)


def test_a_budget_of_one_package_is_not_stopped_for_the_whole_wait_by_one_bogus_revoke(world: World) -> None:
    # inflight_bytes == max_bytes: the consumer holds one delivery; a revoke of a document never sent
    # waits in it. The letter behind must not wait the revoke's 30 s.
    _, b = two_hubs(world, inflight_bytes=world.config.max_bytes)
    assert b._consumed == 1
    world.client(G22).submit(revoke_of("never", [H24]))
    letter = edoc(H56, [H24], "behind")
    world.client(H56).submit(letter)
    turn_for(b, 1.0)
    assert [i.package for i in world.inbox(H24)] == [letter]


def padded_update(number: str, size: int) -> Edoc:
    """An update of a document never sent, carrying ``size`` bytes of attachment."""
    about = edoc(G22, [H24], f"never-{number}")
    update = Business(BusinessDocType.UPDATE, document_id=about.effective_document_id, paper=0)
    letter = edoc(G22, [H24], number, business=update)
    [attachment] = letter.attachments
    padded = dataclasses.replace(attachment, content=Blob(os.urandom(size)))
    return dataclasses.replace(letter, attachments=(padded,))


def test_an_agency_sending_large_updates_of_documents_never_sent_does_not_stop_the_hub(world: World) -> None:
    # The default proportions (80 MiB packages, 512 MiB budget: a consumer of 6), scaled down. Six
    # bogus updates near the size limit fill every slot of the consumer and, waiting, the budget: no
    # get fits beside them. Everyone else's traffic stopped for their 30 s, again and again.
    max_bytes = 400_000
    _, b = two_hubs(world, max_bytes=max_bytes, inflight_bytes=512 * max_bytes // 80)
    assert b._consumed == 6
    for i in range(6):
        world.client(G22).submit(padded_update(f"u{i}", max_bytes * 7 // 10))
    letter = edoc(H56, [H24], "behind")
    world.client(H56).submit(letter)
    turn_for(b, 1.5)
    assert letter in [i.package for i in world.inbox(H24)]


def test_vb_hub_run_once_with_every_consumer_slot_waiting_still_takes_the_document_behind(
    world: World,
) -> None:
    # Hub a took the document and gave it back (it crashed, or stopped): the document is now behind
    # its revoke, which waits in b with another, filling b's consumer (2 slots). ``vb hub run --once``
    # never asked for more: the revoke was refused (a 02 for a genuine 13) before the document came.
    a, _ = two_hubs(world, inflight_bytes=2 * world.config.max_bytes, document_wait=1.0)
    b = world.dev.hub(InMemoryTransport(world.broker, world.names.hub_user, world.names), world.store,
                      world.config, world.directory)  # fmt: skip
    doc = edoc(G22, [H24], "back")
    world.client(G22).submit(doc)
    world.client(G22).submit(revoke_of("back", [H24]))
    world.client(G22).submit(revoke_of("never", [H24]))
    taken_by(a)
    flush, given_back = b.flush, []

    def flush_then_give_back() -> int:
        done = flush()
        if len(b.waiting) == 2 and not given_back:
            a.transport.close()  # the document back in the queue, behind them
            given_back.append(True)
        return done

    b.flush = flush_then_give_back  # type: ignore[method-assign]
    report = run_once(b, idle=0.05)
    assert report.requeued == 0
    assert refusals_to(world, G22) == ["unknown-document"]  # the revoke of "never" only
    assert [i.kind for i in world.inbox(H24)] == [n.KIND_EDOC, n.KIND_STATUS]


def test_a_consumer_whose_every_slot_waits_does_not_poll_an_empty_queue_with_a_burst_of_gets(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One agency's bogus revokes fill the consumer (8 may wait; the consumer has 6 slots at the
    # defaults). With the ingress empty, each ``gather`` every other ``linger`` asked the broker for as
    # many messages as the budget holds: up to 16 ``basic.get`` (a quorum queue's dequeue, a Raft
    # command) each 50 ms, for the wait's 30 s, on every hub. One get tells whether anything is there.
    _, b = two_hubs(world)
    assert b._consumed == 6
    for i in range(6):
        world.client(G22).submit(revoke_of(f"p{i}", [H24]))
    b.transport.drain(0)
    assert b.flush() == 0
    asked: list[int] = []
    get_many = b.transport.get_many

    def counted(queue: str, limit: int) -> list[BaseDelivery]:
        asked.append(limit)
        return get_many(queue, limit)

    monkeypatch.setattr(b.transport, "get_many", counted)
    turn_for(b, 0.3)
    assert asked  # it does look
    assert max(asked) == 1


class StopAfter(StopFlag):
    """Set once ``turns`` turns of ``run`` are over."""

    def __init__(self, turns: int) -> None:
        super().__init__()
        self.turns = turns

    def __bool__(self) -> bool:
        self.turns -= 1
        return self.turns < 0


def test_a_hub_stopped_while_a_revoke_waits_gives_it_back_unsettled(world: World) -> None:
    _, b = two_hubs(world)
    world.client(G22).submit(revoke_of("stopped", [H24]))
    run(b, StopAfter(20), tick=0.005)
    assert len(b.waiting) == 1  # it waited until the stop
    assert refusals_to(world, G22) == []
    assert world.parked() == 0
    assert world.broker.depth(world.names.ingress_queue) == 1  # back in the queue, for another hub


def test_a_revoke_whose_wait_ended_in_a_batch_an_outage_held_does_not_wait_all_over_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its wait over, the revoke is refused (recorded, committed) and the batch's publish fails: held.
    # Tried again after the outage, it started a new wait of its own (the room had let go of it): the
    # document coming meanwhile, a package the store says was refused was forwarded too.
    _, b = two_hubs(world, document_wait=0.3, outage_pause=0.0)
    world.client(G22).submit(revoke_of("outage", [H24]))
    b.transport.drain(0)
    assert b.flush() == 0
    time.sleep(0.35)  # its wait is over: the next try refuses it
    publish_many = b.transport.publish_many

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionLost("broker away")

    monkeypatch.setattr(b.transport, "publish_many", down)
    assert b.flush() == 1  # held by the outage
    assert len(b._held) == 1
    monkeypatch.setattr(b.transport, "publish_many", publish_many)
    assert b.flush() == 1  # refused now: its wait was over
    assert not b.waiting
    assert refusals_to(world, G22) == ["unknown-document"]
    assert world.parked() == 1


def test_a_waiting_revoke_tried_in_the_batch_its_document_comes_in_goes_out_after_it(world: World) -> None:
    a, b = two_hubs(world)
    doc = edoc(G22, [H24], "later-batch")
    world.client(G22).submit(doc)
    world.client(G22).submit(revoke_of("later-batch", [H24]))
    taken_by(a)
    b.transport.drain(0)
    assert b.flush() == 0
    a.transport.close()  # the document given back: b's next batch, with the revoke's next try
    time.sleep(0.3)
    b.transport.drain(0)
    assert len(b._pending) == 1
    assert b.flush() == 2
    assert [i.kind for i in world.inbox(H24)] == [n.KIND_EDOC, n.KIND_STATUS]
    assert refusals_to(world, G22) == []
    assert not b.waiting
    assert b._in_hand == 0
