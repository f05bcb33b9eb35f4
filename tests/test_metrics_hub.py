"""The hub's metrics count what its pipeline settled, and its readiness follows outages: the in-memory
world and a SQLite store, read through the hub's own registry as Prometheus would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_hub_support import CLOSED_QUANG_NAM, G22, H24, H56, World, edoc, status

from vbcore.errors import StoreError
from vbcore.hub.gauges import Gauges
from vbcore.hub.metrics import HubMetrics
from vbcore.status import StatusCode

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def value(world: World, name: str, **labels: str) -> float:
    assert world.hub is not None
    found = world.hub.metrics.registry.value(name, labels)
    return 0.0 if found is None else found


def test_a_letter_to_two_agencies_is_counted_received_forwarded_and_copied_twice(world: World) -> None:
    world.client(G22).submit(edoc(G22, [H24, H56]))
    world.pump()
    assert value(world, "vbus_hub_received_total", kind="edoc") == 1
    assert value(world, "vbus_hub_forwarded_total", kind="edoc") == 1
    assert value(world, "vbus_hub_copies_total", kind="edoc") == 2
    assert value(world, "vbus_hub_pipeline_seconds_count") == 1
    assert value(world, "vbus_hub_refused_total", reason="closed-agency") == 0


def test_statuses_are_counted_by_code(world: World) -> None:
    doc = edoc(G22, [H24, H56])
    world.client(G22).submit(doc)
    world.pump()
    world.client(H24).submit(status(H24, doc, StatusCode.ARRIVED))
    world.client(H56).submit(status(H56, doc, StatusCode.ARRIVED))
    world.client(H24).submit(status(H24, doc, StatusCode.REGISTERED))
    world.pump()
    assert value(world, "vbus_hub_statuses_total", code="01") == 2
    assert value(world, "vbus_hub_statuses_total", code="03") == 1
    assert value(world, "vbus_hub_received_total", kind="status") == 3


def test_refusals_are_counted_by_reason_for_a_whole_package_and_for_one_recipient(world: World) -> None:
    world.client(G22).submit(edoc(G22, [H24, CLOSED_QUANG_NAM]))  # one recipient's code is closed
    world.client(G22, key_of=H24).submit(edoc(G22, [H24], "102"))  # signed with another agency's key
    world.pump()
    assert value(world, "vbus_hub_refused_total", reason="closed-agency") == 1
    refused = {r.reason for r in world.store.refusals()} - {"closed-agency"}
    [whole] = refused
    assert value(world, "vbus_hub_refused_total", reason=whole) == 1
    assert value(world, "vbus_hub_forwarded_total", kind="edoc") == 1  # the first, to H24
    assert value(world, "vbus_hub_received_total", kind="edoc") == 1
    assert value(world, "vbus_hub_received_total", kind="unknown") == 1  # refused before it was read


def test_a_store_outage_holds_the_batch_makes_the_hub_unready_and_is_counted_once_when_it_ends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.hub is not None
    world.hub.transport.close()
    hub = world.start_hub(batch=True)
    hub.metrics.beat()
    assert hub.metrics.readiness().ready

    def down(*args: object, **kwargs: object) -> bool:
        raise StoreError("database is locked")

    monkeypatch.setattr(world.store, "record_document", down)
    world.client(G22).submit(edoc(G22, [H24]))
    hub.transport.drain(0)
    hub.flush()
    readiness = hub.metrics.readiness()
    assert not readiness.ready
    assert readiness.reasons == ("outage-hold", "store-unavailable")
    assert value(world, "vbus_hub_outage_held_messages") == 1
    assert value(world, "vbus_hub_store_errors_total") == 1
    assert value(world, "vbus_hub_received_total", kind="edoc") == 0  # not settled yet
    monkeypatch.undo()
    hub.outage.retry_at = 0.0  # the pause is over
    assert hub.flush() == 1
    assert hub.metrics.readiness().ready
    assert value(world, "vbus_hub_outage_held_messages") == 0
    assert value(world, "vbus_hub_received_total", kind="edoc") == 1
    assert value(world, "vbus_hub_outages_total") == 1


def test_a_hub_that_does_not_consume_or_whose_loop_stalled_is_not_ready() -> None:
    clock = [100.0]
    metrics = HubMetrics()
    metrics.heartbeat.clock = lambda: clock[0]
    assert metrics.readiness().reasons == ("not-consuming", "stalled")
    metrics.consuming(True)
    metrics.beat()
    assert metrics.readiness().ready
    clock[0] += 61
    assert metrics.readiness().reasons == ("stalled",)


def test_the_gauges_read_parked_and_ingress_depths_and_the_overdue_pairs_with_how_late(
    world: World,
) -> None:
    assert world.hub is not None
    hub = world.hub
    world.client(G22).submit(edoc(G22, [H24, H56]))
    world.client(G22, key_of=H24).submit(edoc(G22, [H24], "102"))  # refused: parked
    world.pump()
    world.client(G22).submit(edoc(G22, [H24], "103"))  # waits in the ingress
    accepted = world.store.pairs(edoc(G22, [H24, H56]).effective_document_id)[0].accepted_at
    deadline = world.store.pairs(edoc(G22, [H24, H56]).effective_document_id)[0].deadline
    assert deadline is not None
    assert accepted < deadline
    hub.config = _clock_at(hub.config, deadline + timedelta(hours=3))
    Gauges(hub).refresh()
    assert value(world, "vbus_hub_parked_messages") == 1
    assert value(world, "vbus_hub_ingress_messages") == 1
    assert value(world, "vbus_hub_overdue_pairs") == 2
    assert value(world, "vbus_hub_overdue_oldest_seconds") == 3 * 3600


def test_a_store_that_fails_the_overdue_count_makes_the_hub_unready_until_it_answers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.hub is not None
    hub = world.hub
    hub.metrics.beat()

    def down(now: datetime) -> object:
        raise StoreError("connection refused")

    monkeypatch.setattr(world.store, "overdue_summary", down)
    gauges = Gauges(hub, clock=lambda: 0.0)
    gauges.refresh()
    assert hub.metrics.readiness().reasons == ("store-unavailable",)
    monkeypatch.undo()
    gauges.read_overdue()
    assert hub.metrics.readiness().ready
    assert value(world, "vbus_hub_overdue_pairs") == 0


def test_the_overdue_summary_of_the_sql_store_agrees_with_the_list(world: World, tmp_path: Path) -> None:
    for number in ("1", "2", "3"):
        world.client(G22).submit(edoc(G22, [H24, H56], number))
    world.pump()
    later = datetime(2027, 1, 1, tzinfo=UTC)
    pairs = world.store.overdue(later)
    summary = world.store.overdue_summary(later)
    assert summary.count == len(pairs) == 6
    assert summary.oldest_deadline == min(p.deadline for p in pairs if p.deadline is not None)
    assert world.store.overdue_summary(datetime(2020, 1, 1, tzinfo=UTC)).count == 0


def _clock_at(config, at: datetime):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(config, clock=lambda: at)
