"""The axis bridge in a real world (hub, peer, runtime) against a stand-in axis that misbehaves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_conformance_axis_bridge import BRIDGE, REMOTE, SECRETS, RemoteAgencyDms, bridge_factory

from connectors.axis_bridge import AxisBridgeConnector
from connectors.axis_standin import AxisStandIn, StandInAgency
from vbcore.connector import ConnectorContext
from vbcore.edxml import read_package, write_package
from vbcore.model import StatusPackage
from vbcore.testing.conformance_world import Identities, SimulatedCrash, World, status_from_peer

AXIS_CODE = "REMOTE-01"  # the remote agency's code on its own axis; edXML knows it by its code102


@pytest.fixture
def axis(vbus_conformance_identities: Identities) -> Iterator[AxisStandIn]:
    remote = StandInAgency(
        AXIS_CODE, REMOTE, "Cơ quan trên trục kia", code102=vbus_conformance_identities.agency
    )
    with AxisStandIn(SECRETS, [remote], default_system=BRIDGE) as axis:
        yield axis


@pytest.fixture
def world(tmp_path: Path, axis: AxisStandIn, vbus_conformance_identities: Identities) -> Iterator[World]:
    w = World(tmp_path / "world", bridge_factory(axis, tmp_path), identities=vbus_conformance_identities)
    yield w
    w.close()


@pytest.fixture
def remote(axis: AxisStandIn, world: World) -> RemoteAgencyDms:
    return RemoteAgencyDms(axis, AXIS_CODE)


def codes_at_peer(world: World, document_id: str) -> list[str]:
    statuses = [i.package for i in world.peer_inbox() if isinstance(i.package, StatusPackage)]
    return [p.status_code.value for p in statuses if p.document_id == document_id]


def statuses_posted_to_remote(axis: AxisStandIn) -> list[StatusPackage]:
    found = [read_package(m.package).package for m in axis.mailbox(REMOTE, "status")]
    return [p for p in found if isinstance(p, StatusPackage)]


def test_a_document_goes_out_addressed_by_the_axis_code_with_the_signed_bytes_unchanged(
    world: World, axis: AxisStandIn
) -> None:
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    world.pump()
    [posted] = axis.mailbox(REMOTE, "edoc")
    assert posted.to == (AXIS_CODE,)
    assert posted.from_ == world.peer_code
    assert posted.package == world.sent_raw[doc_id]  # the sender's signature travels on
    assert codes_at_peer(world, doc_id) == ["01"]


def test_5xx_answers_are_retried_with_backoff_and_the_document_is_posted_once(
    world: World, axis: AxisStandIn
) -> None:
    axis.fail_next(1, status=503, operation="sendEdoc")
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    reports = world.pump()
    assert any(r.waiting and "HTTP 503" in (r.error or "") for r in reports)
    assert len(axis.mailbox(REMOTE, "edoc")) == 1
    assert codes_at_peer(world, doc_id) == ["01"]


def test_a_timeout_is_retried_and_the_document_still_arrives(
    tmp_path: Path, axis: AxisStandIn, vbus_conformance_identities: Identities
) -> None:
    config = {
        "url": axis.url,
        "system_id": BRIDGE,
        "secret": SECRETS[BRIDGE],
        "timeout": 0.2,
        "attempts": 1,
        "state": str(tmp_path / "bridge.sqlite3"),
    }
    w = World(
        tmp_path / "world",
        lambda c: AxisBridgeConnector.from_config(config, c),
        identities=vbus_conformance_identities,
    )
    try:
        axis.stall_next(1, seconds=1.0)
        doc_id = w.peer_sends(w.document(w.peer_code, w.agency))
        reports = w.pump()
        assert any(r.waiting and "no answer within" in (r.error or "") for r in reports)
        assert codes_at_peer(w, doc_id) == ["01"]
        assert len(axis.mailbox(REMOTE, "edoc")) == 1
    finally:
        w.close()


def test_a_wrong_secret_holds_the_document_until_the_operator_fixes_it(
    tmp_path: Path, axis: AxisStandIn, vbus_conformance_identities: Identities
) -> None:
    secret = {"value": "not-the-secret"}

    def factory(context: ConnectorContext) -> AxisBridgeConnector:
        return AxisBridgeConnector.from_config(
            {
                "url": axis.url,
                "system_id": BRIDGE,
                "secret": secret["value"],
                "state": str(tmp_path / "b.db"),
            },
            context,
        )

    w = World(tmp_path / "world", factory, identities=vbus_conformance_identities)
    try:
        doc_id = w.peer_sends(w.document(w.peer_code, w.agency))
        reports = w.pump(rounds=5)
        assert all(r.waiting for r in reports[1:])
        assert any("HTTP 401" in (r.error or "") for r in reports)
        assert codes_at_peer(w, doc_id) == []  # neither 01 nor a refusal: the document waits
        secret["value"] = SECRETS[BRIDGE]
        w.crash()  # the operator fixes the configuration and restarts the bridge
        w.pump()
        assert codes_at_peer(w, doc_id) == ["01"]
    finally:
        w.close()


def test_a_4xx_refusal_reaches_the_sender_as_02_with_the_axis_reason(world: World, axis: AxisStandIn) -> None:
    axis.fail_next(1, status=413, operation="sendEdoc")
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    world.pump()
    answers = [i for i in world.peer_inbox() if i.kind != "edoc"]
    assert [(a.package.document_id, a.package.status_code.value) for a in answers] == [(doc_id, "02")]  # type: ignore[union-attr]
    assert "HTTP 413" in (answers[0].package.description or "")  # type: ignore[union-attr]
    assert axis.mailbox(REMOTE, "edoc") == []


def test_a_4xx_on_a_list_call_is_waited_out_not_turned_into_a_refusal(
    world: World, axis: AxisStandIn
) -> None:
    axis.fail_next(1, status=400, operation="getReceivedEdocList")
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    reports = world.pump()
    assert any(r.waiting and "HTTP 400" in (r.error or "") for r in reports)
    assert codes_at_peer(world, doc_id) == ["01"]


def test_a_document_from_the_other_axis_reaches_vbus_signed_by_the_bridge_and_is_acknowledged(
    world: World, axis: AxisStandIn, remote: RemoteAgencyDms, tmp_path: Path
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    axis_id = remote.put_outgoing(edoc)
    world.pump()
    [got] = [i for i in world.peer_inbox() if i.kind == "edoc"]
    assert got.signer == world.agency
    assert got.package.effective_document_id == edoc.effective_document_id  # type: ignore[union-attr]
    assert remote.outgoing_state(axis_id) == "sent"
    kept = world.runtime().connector.inner.db.query(  # type: ignore[attr-defined]
        "SELECT package FROM bridge_taken WHERE axis_doc_id = ?", (axis_id,)
    )
    assert bytes(kept[0][0]) == write_package(edoc)  # the package as the other axis had it, as evidence


def test_a_package_that_is_not_edxml_is_acknowledged_fail_with_the_reason(
    world: World, axis: AxisStandIn, remote: RemoteAgencyDms
) -> None:
    axis_id = remote.client.send_edoc(b"not xml at all", from_=AXIS_CODE, to=[world.peer_code])
    world.pump()
    assert remote.outgoing_state(axis_id) == "failed"
    assert "not an edXML package" in (remote.failure_reason(axis_id) or "")
    assert world.peer_inbox() == []


def test_a_status_from_the_other_axis_reaches_the_vbus_sender_from_the_remote_agency(
    world: World, axis: AxisStandIn, remote: RemoteAgencyDms
) -> None:
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    world.pump()
    remote.emit_event(doc_id, "03", "Đã vào sổ văn bản đến")
    world.pump()
    answers = [(i.package, i.signer) for i in world.peer_inbox() if isinstance(i.package, StatusPackage)]
    assert [(p.status_code.value, signer) for p, signer in answers] == [
        ("01", world.agency),
        ("03", world.agency),
    ]
    assert answers[1][0].description == "Đã vào sổ văn bản đến"
    assert axis.mailbox(BRIDGE, "status") == []  # acknowledged done


def test_a_status_from_vbus_goes_back_to_the_remote_sender_once_across_a_crash(
    world: World, axis: AxisStandIn, remote: RemoteAgencyDms
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    remote.put_outgoing(edoc)
    world.pump()
    world.peer_inbox()

    def die() -> None:
        raise SimulatedCrash("killed after posting the status, before the ledger heard of it")

    world.once("after:on_status", die)
    world.peer.client.submit(status_from_peer(world, edoc, "03", "Đã vào sổ"))
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()  # the status is redelivered to the restarted bridge, which posted it already
    [posted] = statuses_posted_to_remote(axis)
    assert (posted.status_code.value, posted.from_.organ_id, posted.description) == (
        "03",
        world.peer_code,
        "Đã vào sổ",
    )
    assert posted.document_id == edoc.effective_document_id
