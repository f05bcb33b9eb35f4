"""The axis bridge passes the conformance kit against the axis stand-in, in memory and on RabbitMQ.

The "DMS" of the kit is the remote agency on the other axis: its clerk posts documents and statuses
with ``sendEdoc`` from its own system, and reads what the bridge posted to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.axis_bridge import AxisBridgeConnector
from connectors.axis_client import AxisClient
from connectors.axis_standin import AxisStandIn, Message, StandInAgency
from vbcore.connector import ConnectorContext
from vbcore.edxml import read_package, write_package
from vbcore.model import Edoc, Organization, ResponseFor, StatusPackage
from vbcore.status import BusinessDocType, StatusCode
from vbcore.testing.conformance import ConnectorConformance
from vbcore.testing.conformance_world import Identities

BRIDGE, REMOTE = "vbus-bridge", "remote-dms"
SECRETS = {BRIDGE: "bridge-secret", REMOTE: "remote-secret"}


class RemoteAgencyDms:
    """The remote agency's DMS on the stand-in axis (``DmsDriver`` of the conformance kit)."""

    def __init__(self, axis: AxisStandIn, code: str) -> None:
        self.axis, self.code = axis, code
        self.client = AxisClient(axis.url, system_id=REMOTE, secret=SECRETS[REMOTE], timeout=5)

    def _posted_to_me(self, messagetype: str) -> list[tuple[Message, Edoc | StatusPackage]]:
        found = self.axis.mailbox(REMOTE, messagetype, pending_only=False)
        return [(m, read_package(m.package).package) for m in found]

    def put_outgoing(self, edoc: Edoc) -> str:
        return self.client.send_edoc(write_package(edoc), from_=self.code, to=list(edoc.recipients))

    def _sent(self, outgoing_id: str) -> Message:
        return next(m for m in self.axis.messages if m.doc_id == outgoing_id)

    def outgoing_state(self, outgoing_id: str) -> str:
        state = self._sent(outgoing_id).states[BRIDGE]
        return {"done": "sent", "fail": "failed"}.get(state, "pending")

    def failure_reason(self, outgoing_id: str) -> str | None:
        return self._sent(outgoing_id).reasons.get(BRIDGE)

    def delivered(self) -> list[str]:
        registered = (BusinessDocType.NEW, BusinessDocType.REPLACE)
        return [p.effective_document_id for _, p in self._posted_to_me("edoc")
                if isinstance(p, Edoc) and p.business_type in registered]

    def delivered_attachments(self, document_id: str) -> dict[str, bytes]:
        for _, p in self._posted_to_me("edoc"):
            if isinstance(p, Edoc) and p.effective_document_id == document_id:
                return {a.name: a.content.read_bytes() for a in p.attachments}
        raise KeyError(document_id)

    def emit_event(self, document_id: str, code: str, description: str | None = None) -> None:
        status = StatusPackage(
            from_=Organization(self.code), response_for=ResponseFor("vbus", document_id=document_id),
            status_code=StatusCode(code), description=description,
        )
        self.client.send_edoc(write_package(status), from_=self.code, to=["vbus"], messagetype="status")

    def statuses(self, document_id: str) -> list[tuple[str, str]]:
        return [(p.status_code.value, p.from_.organ_id) for _, p in self._posted_to_me("status")
                if isinstance(p, StatusPackage) and p.document_id == document_id]


@pytest.fixture
def axis(vbus_conformance_identities: Identities) -> Iterator[AxisStandIn]:
    remote = StandInAgency(vbus_conformance_identities.agency, REMOTE, "Cơ quan trên trục kia (kiểm thử)")
    with AxisStandIn(SECRETS, [remote], default_system=BRIDGE) as axis:
        yield axis


def bridge_factory(axis: AxisStandIn, state_dir: Path) -> Callable[[ConnectorContext], AxisBridgeConnector]:
    config = {"url": axis.url, "system_id": BRIDGE, "secret": SECRETS[BRIDGE], "timeout": 5.0,
              "state": str(state_dir / "bridge.sqlite3")}
    return lambda context: AxisBridgeConnector.from_config(config, context)


class TestAxisBridge(ConnectorConformance):
    @pytest.fixture
    def dms(self, axis: AxisStandIn, vbus_conformance_identities: Identities) -> RemoteAgencyDms:
        return RemoteAgencyDms(axis, vbus_conformance_identities.agency)

    @pytest.fixture
    def connector_factory(
        self, axis: AxisStandIn, tmp_path: Path
    ) -> Callable[[ConnectorContext], AxisBridgeConnector]:
        return bridge_factory(axis, tmp_path)


@pytest.mark.rabbitmq
class TestAxisBridgeOnRabbitMQ(TestAxisBridge):
    transport = "rabbitmq"
