"""A connector runtime's metrics: what it settled, each retry of a document the DMS fails on, the one it
gave up, the backlog it holds, its inbox's depth, and its readiness while a lane backs off."""

from __future__ import annotations

import pytest
from folder_world import the_dms, the_identities, the_world  # noqa: F401 (fixtures: dms, identities, world)
from test_conformance_folder import FolderDms

from connectors.folder import FolderConnector
from vbcore.connector import DmsUnavailable, IncomingDocument
from vbcore.testing.conformance_world import World


def value(world: World, name: str, **labels: str) -> float:
    found = world.runtime().metrics.registry.value(name, labels)
    return 0.0 if found is None else found


def test_documents_delivered_and_sent_are_counted(world: World, dms: FolderDms) -> None:
    for _ in range(3):
        world.peer_sends(world.document(world.peer_code, world.agency))
    dms.put_outgoing(world.document(world.agency, world.peer_code))
    world.pump()
    assert value(world, "vbus_connector_items_total", outcome="delivered") == 3
    assert value(world, "vbus_connector_items_total", outcome="statuses_sent") == 3  # their 01s
    assert value(world, "vbus_connector_items_total", outcome="sent") == 1
    assert value(world, "vbus_connector_dms_retries_total", lane="incoming") == 0


def test_a_document_the_dms_keeps_failing_counts_its_retries_then_one_given_up(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = world.document(world.peer_code, world.agency)
    real = FolderConnector.deliver

    def deliver(self: FolderConnector, doc: IncomingDocument):  # type: ignore[no-untyped-def]
        if doc.document_id == first.effective_document_id:
            raise KeyError("bug in the vendor's code")
        return real(self, doc)

    monkeypatch.setattr(FolderConnector, "deliver", deliver)
    world.peer_sends(first)
    world.peer_sends(world.document(world.peer_code, world.agency))
    world.hub_transport.drain(0)  # the hub forwards both
    world.runtime().step()
    assert value(world, "vbus_connector_held_items", lane="incoming") == 1  # the backlog it leaves
    world.pump(60)
    assert value(world, "vbus_connector_dms_retries_total", lane="incoming") == world.retry.attempts
    assert value(world, "vbus_connector_given_up_total", lane="incoming") == 1
    assert value(world, "vbus_connector_items_total", outcome="parked") == 1
    assert value(world, "vbus_connector_items_total", outcome="delivered") == 1
    assert value(world, "vbus_connector_held_items", lane="incoming") == 0


def test_a_dms_down_for_everything_makes_the_lane_back_off_and_the_runtime_unready(world: World) -> None:
    world.fail("poll_outgoing", lambda: DmsUnavailable("máy chủ QLVB không phản hồi"))
    runtime = world.runtime()
    runtime.metrics.beat()
    runtime.step()
    readiness = runtime.metrics.readiness()
    assert readiness.reasons == ("outgoing-lane-down",)
    assert value(world, "vbus_connector_lane_down", lane="outgoing") == 1
    assert value(world, "vbus_connector_lane_failures_total", lane="outgoing") == 1
    assert value(world, "vbus_connector_given_up_total", lane="outgoing") == 0  # an outage is no item's fault
    world.heal("poll_outgoing")
    world.clock.advance(3600)
    runtime.step()
    assert runtime.metrics.readiness().ready
    assert value(world, "vbus_connector_lane_down", lane="outgoing") == 0


def test_the_inbox_depth_is_the_backlog_waiting_at_the_hub(world: World) -> None:
    runtime = world.runtime()
    for _ in range(4):
        world.peer_sends(world.document(world.peer_code, world.agency))
    world.hub_transport.drain(0)
    assert runtime.check_inbox() == 4
    assert value(world, "vbus_connector_inbox_messages") == 4
    world.pump()
    assert runtime.check_inbox() == 0
    assert value(world, "vbus_connector_inbox_messages") == 0


def test_a_runtime_before_its_first_round_is_not_ready(world: World) -> None:
    assert world.runtime().metrics.readiness().reasons == ("not-started", "stalled")


def test_a_runtime_idle_for_a_long_interval_still_beats_and_stops_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from vbcore.connector import runtime as runtime_module

    monkeypatch.setattr(runtime_module, "IDLE_BEAT_SECONDS", 0.05)
    runtime = world.runtime()
    runtime.metrics.heartbeat.clock = time.monotonic
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,), kwargs={"interval": 3600}, daemon=True)
    thread.start()
    time.sleep(0.5)
    runtime.metrics.heartbeat._last = time.monotonic() - 100  # as if the last beat were long ago...
    time.sleep(0.3)
    assert runtime.metrics.heartbeat.fresh(1.0)  # ...the idle wait beat again meanwhile
    assert runtime.metrics.readiness().ready
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1
