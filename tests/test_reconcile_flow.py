"""Reconciliation of a real flow: a hub, a connector's runtime with its ledger and a peer agency, on the
in-memory broker; what a crash or a stopped connector leaves is found, and nothing once it healed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_conformance_folder import FolderDms

from connectors.folder import FolderConnector
from vbcore.operations import Stage, reconcile
from vbcore.testing.conformance_world import SimulatedCrash, World, status_from_peer


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    dms = FolderDms(tmp_path / "dms")
    config = {"root": str(dms.root), "settle_seconds": 0}
    w = World(tmp_path / "world", lambda ctx: FolderConnector.from_config(config, ctx))
    w.dms = dms  # type: ignore[attr-defined]
    yield w
    w.close()


def stages(world: World) -> list[tuple[str, str | None]]:
    result = reconcile(world.hub.store, [world.ledger_path], work_dir=world.tmp)
    return [(g.stage, g.recipient) for g in result.gaps]


def test_a_round_trip_leaves_no_gap_and_a_stopped_connector_is_found(world: World) -> None:
    edoc = world.document(world.agency, world.peer_code)
    world.dms.put_outgoing(edoc)  # type: ignore[attr-defined]
    world.pump()
    world.peer_inbox()
    world.peer.client.submit(status_from_peer(world, edoc, "01"))
    world.pump()
    assert stages(world) == []  # the peer has no ledger: its side is not judged

    incoming = world.document(world.peer_code, world.agency)
    world.peer_sends(incoming)
    world.hub_transport.drain(0)  # the hub forwards; the agency's connector is not running
    assert stages(world) == [(Stage.NOT_DELIVERED, world.agency)]
    world.pump()
    assert stages(world) == []


def test_a_connector_that_crashed_while_delivering_is_found_until_it_restarts(world: World) -> None:
    incoming = world.document(world.peer_code, world.agency)
    world.peer_sends(incoming)

    def crash() -> None:
        raise SimulatedCrash

    world.once("after:deliver", crash)
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()  # the DMS has it, the ledger does not: the runtime delivers again (idempotent)
    assert stages(world) == [(Stage.NOT_DELIVERED, world.agency)]
    world.pump()
    assert stages(world) == []
