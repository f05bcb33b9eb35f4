"""The connector runtime's outgoing batches (issue 13): crash safety at each point of a batch, what is
charged to which item, what is counted once, and the hub's duplicate 02 shown or hidden as before."""

from __future__ import annotations

import os

import pytest
from folder_world import the_dms, the_identities, the_world  # noqa: F401 (fixtures: dms, identities, world)
from test_conformance_folder import FolderDms

from connectors.folder import write_atomically
from vbcore.connector import DmsUnavailable
from vbcore.edxml import write_package
from vbcore.model import Edoc
from vbcore.testing.conformance_world import SimulatedCrash, World, status_from_peer
from vbcore.transport import names as n


def each_reached_the_peer_once(world: World, docs: list[Edoc]) -> None:
    """Every one of ``docs`` reached the peer's inbox, and none twice."""
    got = [i.package.effective_document_id for i in world.peer_inbox() if i.kind == n.KIND_EDOC]
    assert sorted(got) == sorted(d.effective_document_id for d in docs)


def put_in_order(dms: FolderDms, named: list[tuple[str, bytes]]) -> None:
    """Files in the outbox in this order (the folder connector polls by mtime)."""
    outbox = dms.root / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for i, (name, data) in enumerate(named):
        write_atomically(outbox / name, data)
        t = 1_700_000_000 + i
        os.utime(outbox / name, (t, t))


def test_each_document_of_a_batch_is_counted_sent_once_when_the_dms_is_down_for_mark_sent(
    world: World, dms: FolderDms
) -> None:
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(3)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("abc", docs, strict=True)])
    world.fail("mark_sent", lambda: DmsUnavailable("QLVB không phản hồi"))
    runtime = world.runtime()
    first = runtime.step()
    assert first.error is not None  # the lane backs off: the DMS looks down
    world.heal("mark_sent")
    reports = [first, *world.pump()]
    assert [dms.outgoing_state(f"{c}.edxml") for c in "abc"] == ["sent"] * 3
    each_reached_the_peer_once(world, docs)
    counted = [doc_id for r in reports for doc_id in r.sent]
    assert sorted(counted) == sorted(d.effective_document_id for d in docs)  # each counted once


def test_a_dms_outage_for_mark_failed_is_charged_to_one_item_per_round_not_to_each_of_a_batch(
    world: World, dms: FolderDms
) -> None:
    # Two refused items with a good one between: the DMS answers the poll, then fails every
    # mark_failed / mark_sent. One at a time (f3f6c74) the first refusal is charged (the poll got
    # through), the DMS then looks down and the next DmsUnavailable backs the lane off; the other
    # refusal is not charged for the DMS's outage.
    refused = write_package(status_from_peer(world, world.document(world.agency, world.peer_code), "03"))
    good = write_package(world.document(world.agency, world.peer_code))
    put_in_order(dms, [("a.edxml", refused), ("b.edxml", good), ("c.edxml", refused)])
    world.fail("mark_failed", lambda: DmsUnavailable("QLVB không phản hồi"))
    world.fail("mark_sent", lambda: DmsUnavailable("QLVB không phản hồi"))
    runtime = world.runtime()
    report = runtime.step()
    assert report.error is not None
    assert runtime.ledger.failure("out:a.edxml") is not None
    assert runtime.ledger.failure("out:c.edxml") is None  # the outage is not c's fault


def test_a_bug_in_mark_sent_for_one_item_of_a_batch_is_charged_to_it_and_never_resends(
    world: World, dms: FolderDms
) -> None:
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(4)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("abcd", docs, strict=True)])
    world.fail("mark_sent", lambda: KeyError("bug"), document_id=docs[1].effective_document_id)
    runtime = world.runtime()
    reports = world.pump(rounds=5)
    assert [dms.outgoing_state(f"{c}.edxml") for c in "acd"] == ["sent"] * 3
    failure = runtime.ledger.failure("out:b.edxml")
    assert failure is not None
    assert failure.attempts >= 2
    assert all(runtime.ledger.failure(f"out:{c}.edxml") is None for c in "acd")
    world.heal("mark_sent")
    reports += world.pump()
    assert dms.outgoing_state("b.edxml") == "sent"
    each_reached_the_peer_once(world, docs)
    counted = [doc_id for r in reports for doc_id in r.sent]
    assert sorted(counted) == sorted(d.effective_document_id for d in docs)
    sent = runtime.ledger.sent("b.edxml")
    assert sent is not None
    assert sent.attempts == 1


def test_a_refused_item_in_a_batch_does_not_hold_back_the_others(world: World, dms: FolderDms) -> None:
    refused = write_package(status_from_peer(world, world.document(world.agency, world.peer_code), "03"))
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(2)]
    put_in_order(dms, [("a.edxml", write_package(docs[0])), ("b.edxml", refused),
                       ("c.edxml", write_package(docs[1]))])
    world.runtime().step()
    assert [dms.outgoing_state(f"{c}.edxml") for c in "abc"] == ["sent", "failed", "sent"]


def test_a_ledger_error_recording_a_batch_sent_backs_the_lane_off_and_does_not_stop_the_runtime(
    world: World, dms: FolderDms
) -> None:
    import sqlite3

    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(2)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("ab", docs, strict=True)])
    runtime = world.runtime()
    real = runtime.ledger.record_sent

    def locked(outgoing_id: str) -> None:
        runtime.ledger.record_sent = real  # type: ignore[method-assign]
        raise sqlite3.OperationalError("database is locked")

    runtime.ledger.record_sent = locked  # type: ignore[method-assign]
    report = runtime.step()  # one at a time (f3f6c74): the lane backs off ("the connector's ledger failed")
    assert report.error is not None
    assert "ledger" in report.error
    world.pump()
    assert [dms.outgoing_state(f"{c}.edxml") for c in "ab"] == ["sent"] * 2
    each_reached_the_peer_once(world, docs)


def test_a_true_duplicate_is_still_shown_to_the_clerk_after_a_batch_stopped_before_its_publish(
    world: World, dms: FolderDms
) -> None:
    # The agency already sent D elsewhere (`vb send`): the DMS's copy is a true duplicate and the
    # hub's 02 must reach the clerk. A DMS blip on the refused items behind D stops the batch after
    # D was recorded "sending" but before any publish: D must not look like a resend.
    edoc = world.document(world.agency, world.peer_code)
    world.agency_sends_elsewhere(edoc)
    world.pump()
    world.peer_inbox()
    refused = write_package(status_from_peer(world, world.document(world.agency, world.peer_code), "03"))
    put_in_order(dms, [("a.edxml", write_package(edoc)), ("b.edxml", refused), ("c.edxml", refused)])
    world.fail("mark_failed", lambda: DmsUnavailable("QLVB không phản hồi"))
    report = world.runtime().step()
    assert report.error is not None
    world.heal("mark_failed")
    world.pump()
    assert dms.statuses(edoc.effective_document_id) == [("02", world.hub_id)]  # as one at a time


def test_a_crash_in_the_middle_of_telling_the_dms_of_a_batch_sends_each_once_and_tells_each(
    world: World, dms: FolderDms
) -> None:
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(4)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("abcd", docs, strict=True)])
    told: list[int] = []

    def crash_on_third() -> None:
        told.append(1)
        if len(told) == 3:
            raise SimulatedCrash("killed in the middle of the mark_sent loop")
        world.once("before:mark_sent", crash_on_third)

    world.once("before:mark_sent", crash_on_third)
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()
    assert [dms.outgoing_state(f"{c}.edxml") for c in "abcd"] == ["sent"] * 4
    each_reached_the_peer_once(world, docs)
    assert dms.statuses(docs[0].effective_document_id) == []


def test_a_crash_after_some_of_a_batch_were_recorded_sending_sends_each_once(
    world: World, dms: FolderDms
) -> None:
    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(4)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("abcd", docs, strict=True)])
    runtime = world.runtime()
    real = runtime.ledger.record_sending
    calls: list[str] = []

    def die(outgoing_id: str, *args: object) -> None:
        calls.append(outgoing_id)
        if len(calls) == 3:
            raise SimulatedCrash("killed while preparing the batch")
        real(outgoing_id, *args)  # type: ignore[arg-type]

    runtime.ledger.record_sending = die  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()
    assert [dms.outgoing_state(f"{c}.edxml") for c in "abcd"] == ["sent"] * 4
    each_reached_the_peer_once(world, docs)
    assert all(dms.statuses(d.effective_document_id) == [] for d in docs)


def test_a_held_item_behind_a_fresh_one_that_shows_the_dms_works_is_retried_in_the_same_round(
    world: World, dms: FolderDms
) -> None:
    # Two held items x and c, a fresh b between. x's retry meets a DMS blip (suspect: only the first
    # held item due is retried), then b's mark_sent shows the DMS works: one at a time (f3f6c74) c is
    # retried in the same round; batched, c's should_try ran before b went, and c waits a round.
    refused = write_package(status_from_peer(world, world.document(world.agency, world.peer_code), "03"))
    world.fail("mark_failed", lambda: KeyError("bug"))
    put_in_order(dms, [("x.edxml", refused), ("c.edxml", refused)])
    runtime = world.runtime()
    runtime.step()
    assert {"out:x.edxml", "out:c.edxml"} <= set(runtime.lanes.outgoing.held)
    world.heal("mark_failed")
    world.fail("mark_failed", lambda: DmsUnavailable("QLVB chập chờn"), document_id="x.edxml")
    world.clock.advance(3600)
    good = world.document(world.agency, world.peer_code)
    outbox = dms.root / "outbox"
    write_atomically(outbox / "b.edxml", write_package(good))
    for i, name in enumerate(["x.edxml", "b.edxml", "c.edxml"]):
        os.utime(outbox / name, (1_700_000_000 + i, 1_700_000_000 + i))
    runtime.step()
    assert dms.outgoing_state("b.edxml") == "sent"
    assert dms.outgoing_state("c.edxml") == "failed"


def test_a_connection_lost_after_part_of_a_batch_was_confirmed_sends_each_once_and_hides_the_02(
    world: World, dms: FolderDms
) -> None:
    from typing import Any

    from vbcore.errors import ConnectionLost

    docs = [world.document(world.agency, world.peer_code, subject=f"Văn bản {i}") for i in range(4)]
    put_in_order(dms, [(f"{c}.edxml", write_package(d)) for c, d in zip("abcd", docs, strict=True)])
    transport = world.runtime().client.transport
    real = transport.publish_many
    lost: list[bool] = []

    def publish_many(messages: list[Any]) -> None:  # two confirmed, then the connection drops
        if lost:
            return real(messages)
        lost.append(True)
        real(messages[:2])
        raise ConnectionLost("publishing: the connection kept dropping")

    transport.publish_many = publish_many  # type: ignore[method-assign]
    first = world.runtime().step()
    assert first.error is not None
    assert "broker unavailable" in first.error
    reports = [first, *world.pump()]
    assert [dms.outgoing_state(f"{c}.edxml") for c in "abcd"] == ["sent"] * 4
    each_reached_the_peer_once(world, docs)
    assert all(dms.statuses(d.effective_document_id) == [] for d in docs)  # the resends' 02 hidden
    counted = [doc_id for r in reports for doc_id in r.sent]
    assert sorted(counted) == sorted(d.effective_document_id for d in docs)
