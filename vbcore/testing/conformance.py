"""Conformance kit for connector plugins: the scenarios the reference connectors pass, for yours.

A pytest plugin that a project enables explicitly (it never loads into other pytest runs):
``pytest -p vbcore.testing.conformance``, or in the project's top ``conftest.py``::

    pytest_plugins = ["vbcore.testing.conformance"]

Its fixtures are prefixed so that they cannot collide with a project's own: ``vbus_world``,
``vbus_amqp_url`` and ``vbus_conformance_identities``. This module imports only pytest and the standard
library; the machinery loads when a scenario runs. Subclass :class:`ConnectorConformance` in a test
module and provide two fixtures::

    from vbcore.testing.conformance import ConnectorConformance

    class TestMyDms(ConnectorConformance):
        @pytest.fixture
        def dms(self, tmp_path):
            return MyDmsDriver(tmp_path / "dms")          # see DmsDriver below

        @pytest.fixture
        def connector_factory(self, dms):
            # called again after a simulated crash: the new connector must see the same DMS
            return lambda context: MyConnector.from_config({"url": dms.url}, context)

    class TestMyDmsOnRabbitMQ(TestMyDms):
        transport = "rabbitmq"                             # uses the ``vbus_amqp_url`` fixture

Each scenario builds a real world (``vbcore.testing.conformance_world``): a hub with its store, a peer
agency, and the runtime driving your connector, all signing and verifying with a development PKI.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from vbcore.agency import Incoming
    from vbcore.model import Edoc
    from vbcore.testing.conformance_world import Identities, World


class DmsDriver(Protocol):
    """What the kit needs to drive and inspect the DMS side of a connector (written by the vendor)."""

    def put_outgoing(self, edoc: Edoc) -> str:
        """Queue ``edoc`` in the DMS for sending, as a clerk would; return the DMS's id for it."""

    def outgoing_state(self, outgoing_id: str) -> str:
        """``"pending"``, ``"sent"`` or ``"failed"``."""

    def failure_reason(self, outgoing_id: str) -> str | None:
        """The reason the DMS shows for a failed outgoing document."""

    def delivered(self) -> list[str]:
        """DocumentIds registered in the DMS, in arrival order, one entry per registration."""

    def delivered_attachments(self, document_id: str) -> dict[str, bytes]:
        """The attachment files of a registered document, by name."""

    def emit_event(self, document_id: str, code: str, description: str | None = None) -> None:
        """A clerk acts on a document (03 registered, 02 refused, ..., 13 take back, 15/16 answer)."""

    def statuses(self, document_id: str) -> list[tuple[str, str]]:
        """``(code, from agency)`` of the statuses received about a document this DMS sent."""


def _port_open(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def vbus_amqp_url() -> str:
    """A RabbitMQ URL (``VBUS_TEST_AMQP_URL``); skipped without a broker, failed in CI (``CI`` set).

    A project may override it with a ``vbus_amqp_url`` fixture of its own (conftest.py).
    """
    url = os.environ.get("VBUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    if not _port_open(url):
        message = f"RabbitMQ is not reachable at {url} (set VBUS_TEST_AMQP_URL)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def vbus_conformance_identities(tmp_path_factory: pytest.TempPathFactory) -> Identities:
    """Agency codes and keys for the conformance worlds, made once per session."""
    from vbcore.testing.conformance_world import Identities

    return Identities.create(tmp_path_factory.mktemp("vbus-conformance-pki"))


def _codes(received: list[Incoming], document_id: str) -> list[str]:
    """Status codes the peer received about ``document_id``, in order."""
    return [getattr(i.package, "status_code").value for i in received  # noqa: B009 - statuses only
            if i.kind != "edoc" and getattr(i.package, "document_id", None) == document_id]


class ConnectorConformance:
    """The scenarios; subclass it and provide ``connector_factory`` and ``dms`` fixtures."""

    transport: ClassVar[str] = "memory"  # or "rabbitmq"

    @pytest.fixture
    def vbus_world(
        self,
        tmp_path: Any,
        connector_factory: Any,
        vbus_conformance_identities: Identities,
        request: pytest.FixtureRequest,
    ) -> Iterator[World]:
        from vbcore.testing.conformance_world import World

        url = request.getfixturevalue("vbus_amqp_url") if self.transport == "rabbitmq" else None
        w = World(tmp_path / "world", connector_factory, transport=self.transport, amqp_url=url,
                  identities=vbus_conformance_identities)
        try:
            yield w
        finally:
            w.close()

    # --- the contract, called directly ----------------------------------------------------------
    def test_deliver_is_idempotent_by_document_id(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.testing.conformance_world import incoming_document

        edoc = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc = incoming_document(vbus_world, edoc)
        connector = vbus_world.runtime().connector
        connector.start()
        first = connector.deliver(doc)
        again = connector.deliver(doc)
        assert dms.delivered() == [doc.document_id]
        assert again.dms_id == first.dms_id

    def test_a_document_from_another_sender_under_the_same_id_is_not_taken_for_a_duplicate(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.connector import DmsRefused
        from vbcore.testing.conformance_world import incoming_document

        edoc = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = edoc.effective_document_id
        squatter = vbus_world.document(
            vbus_world.hub_id, vbus_world.agency, subject="Thư mạo danh", document_id=doc_id
        )
        connector = vbus_world.runtime().connector
        connector.start()
        first = connector.deliver(incoming_document(vbus_world, edoc))
        try:
            second = connector.deliver(incoming_document(vbus_world, squatter, signer=vbus_world.hub_id))
        except DmsRefused:  # a DMS that holds one document per DocumentId refuses the second (a 02)
            assert dms.delivered() == [doc_id]
            return
        assert not second.already_delivered  # never the first one's receipt
        assert second.dms_id != first.dms_id
        assert dms.delivered() == [doc_id, doc_id]

    def test_an_outgoing_document_is_offered_until_it_is_marked(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        connector = vbus_world.runtime().connector
        connector.start()
        dms_id = dms.put_outgoing(vbus_world.document(vbus_world.agency, vbus_world.peer_code))
        assert [o.id for o in connector.poll_outgoing()] == [dms_id]
        assert [o.id for o in connector.poll_outgoing()] == [dms_id]
        connector.mark_sent(dms_id, "doc-1")
        assert list(connector.poll_outgoing()) == []
        assert dms.outgoing_state(dms_id) == "sent"

    # --- sending -------------------------------------------------------------------------------
    def test_a_document_from_the_dms_reaches_the_recipient_signed_by_the_agency(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        edoc = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        dms_id = dms.put_outgoing(edoc)
        vbus_world.pump()
        got = [i for i in vbus_world.peer_inbox() if i.kind == "edoc"]
        assert len(got) == 1
        assert got[0].signer == vbus_world.agency
        assert got[0].package.effective_document_id == edoc.effective_document_id  # type: ignore[union-attr]
        assert got[0].package.subject == edoc.subject  # type: ignore[union-attr]
        contents = [a.content.read_bytes() for a in got[0].package.attachments]  # type: ignore[union-attr]
        assert contents == [a.content.read_bytes() for a in edoc.attachments]
        assert dms.outgoing_state(dms_id) == "sent"

    def test_a_document_from_another_agency_is_marked_failed_with_the_reason(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        dms_id = dms.put_outgoing(vbus_world.document("000.00.00.G12", vbus_world.peer_code))
        vbus_world.pump()
        assert dms.outgoing_state(dms_id) == "failed"
        assert vbus_world.agency in (dms.failure_reason(dms_id) or "")
        assert vbus_world.peer_inbox() == []

    def test_statuses_about_a_sent_document_reach_the_dms(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.testing.conformance_world import status_from_peer

        edoc = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        dms.put_outgoing(edoc)
        vbus_world.pump()
        assert len(vbus_world.peer_inbox()) == 1
        for code in ("01", "03", "04", "05", "06"):
            vbus_world.peer.client.submit(status_from_peer(vbus_world, edoc, code))
            vbus_world.pump()
        assert dms.statuses(edoc.effective_document_id) == [
            (c, vbus_world.peer_code) for c in ("01", "03", "04", "05", "06")
        ]

    def test_a_crash_before_mark_sent_sends_the_document_once(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.testing.conformance_world import SimulatedCrash

        def crash() -> None:
            raise SimulatedCrash("killed after the publish, before the DMS heard of it")

        vbus_world.once("before:mark_sent", crash)
        edoc = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        dms_id = dms.put_outgoing(edoc)
        with pytest.raises(SimulatedCrash):
            vbus_world.pump()
        vbus_world.crash()
        vbus_world.pump()  # poll_outgoing offers it again: the ledger knows it left
        assert dms.outgoing_state(dms_id) == "sent"
        assert [i.package.effective_document_id for i in vbus_world.peer_inbox()  # type: ignore[union-attr]
                if i.kind == "edoc"] == [edoc.effective_document_id]

    def test_a_status_about_a_document_sent_elsewhere_reaches_the_dms(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.testing.conformance_world import status_from_peer

        edoc = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        doc_id = vbus_world.agency_sends_elsewhere(edoc)  # `vb send`, another machine, before a lost ledger
        vbus_world.pump()
        assert len(vbus_world.peer_inbox()) == 1
        vbus_world.peer.client.submit(status_from_peer(vbus_world, edoc, "03"))
        vbus_world.pump()
        assert dms.statuses(doc_id) == [("03", vbus_world.peer_code)]
        assert [(s.code.value, s.outgoing_id) for s in vbus_world.status_updates] == [("03", None)]

    def test_the_recipients_the_hub_refuses_reach_the_dms_named_in_one_02(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        import dataclasses

        from vbcore.model import Organization

        closed = ("000.00.00.H47", "000.00.00.H23")  # Quảng Nam, Hà Nam: closed on 1 July 2025
        edoc = vbus_world.document(vbus_world.agency, closed[0])
        edoc = dataclasses.replace(edoc, to=tuple(Organization(code) for code in closed))
        dms.put_outgoing(edoc)
        vbus_world.pump()
        assert dms.statuses(edoc.effective_document_id) == [("02", vbus_world.hub_id)]
        [update] = vbus_world.status_updates
        assert sorted(update.recipients) == sorted(closed)

    def test_a_refusal_by_the_hub_reaches_the_dms_as_02(self, vbus_world: World, dms: DmsDriver) -> None:
        closed = "000.00.00.H47"  # Quảng Nam, closed on 1 July 2025: its successor is Đà Nẵng (H15)
        edoc = vbus_world.document(vbus_world.agency, closed)
        dms.put_outgoing(edoc)
        vbus_world.pump()
        assert dms.statuses(edoc.effective_document_id) == [("02", vbus_world.hub_id)]

    def test_a_revoke_by_the_clerk_reaches_the_recipient_as_13(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        edoc = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        dms.put_outgoing(edoc)
        vbus_world.pump()
        dms.emit_event(edoc.effective_document_id, "13", "Ban hành nhầm, xin lấy lại")
        vbus_world.pump()
        statuses = [i for i in vbus_world.peer_inbox() if i.kind == "status"]
        assert [s.package.status_code.value for s in statuses] == ["13"]  # type: ignore[union-attr]
        assert statuses[0].package.description == "Ban hành nhầm, xin lấy lại"  # type: ignore[union-attr]

    # --- receiving -----------------------------------------------------------------------------
    def test_an_arriving_document_is_delivered_with_its_attachments_and_answered_01(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        edoc = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(edoc)
        vbus_world.pump()
        assert dms.delivered() == [doc_id]
        assert list(dms.delivered_attachments(doc_id).values()) == [edoc.attachments[0].content.read_bytes()]
        answers = vbus_world.peer_inbox()
        assert _codes(answers, doc_id) == ["01"]
        status = answers[0].package
        assert status.response_for.organ_id == vbus_world.peer_code  # type: ignore[union-attr]
        assert answers[0].signer == vbus_world.agency

    def test_clerk_events_reach_the_sender_as_statuses_in_order(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        vbus_world.pump()
        for code in ("03", "04", "05", "06"):
            dms.emit_event(doc_id, code, f"bước {code}")
            vbus_world.pump()
        assert _codes(vbus_world.peer_inbox(), doc_id) == ["01", "03", "04", "05", "06"]

    def test_a_crash_before_mark_event_sent_sends_the_status_once(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.testing.conformance_world import SimulatedCrash

        def crash() -> None:
            raise SimulatedCrash("killed after the status left, before the DMS heard of it")

        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        vbus_world.pump()
        vbus_world.once("before:mark_event_sent", crash)
        dms.emit_event(doc_id, "03", "Đã vào sổ")
        with pytest.raises(SimulatedCrash):
            vbus_world.pump()
        vbus_world.crash()
        vbus_world.pump()  # poll_events offers the event again: the ledger knows its status left
        assert _codes(vbus_world.peer_inbox(), doc_id) == ["01", "03"]

    def test_a_clerk_refusal_reaches_the_sender_as_02_with_the_reason(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        vbus_world.pump()
        dms.emit_event(doc_id, "02", "Văn bản không thuộc thẩm quyền")
        vbus_world.pump()
        answers = vbus_world.peer_inbox()
        assert _codes(answers, doc_id) == ["01", "02"]
        assert answers[-1].package.description == "Văn bản không thuộc thẩm quyền"  # type: ignore[union-attr]

    def test_a_document_the_dms_refuses_is_answered_02_with_the_reason(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.connector import DmsRefused

        def refuse() -> None:
            raise DmsRefused("the incoming register is closed", vi="sổ văn bản đến đã khóa")

        vbus_world.once("before:deliver", refuse)
        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        vbus_world.pump()
        assert dms.delivered() == []
        answers = vbus_world.peer_inbox()
        assert _codes(answers, doc_id) == ["02"]
        assert "sổ văn bản đến đã khóa" in (answers[0].package.description or "")  # type: ignore[union-attr]

    def test_a_redelivered_document_is_delivered_once(self, vbus_world: World, dms: DmsDriver) -> None:
        edoc = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(edoc)
        vbus_world.pump()
        vbus_world.crash()  # a restarted process has no memory of message ids, only its ledger
        vbus_world.republish_to_agency(doc_id)
        vbus_world.pump()
        assert dms.delivered() == [doc_id]
        assert _codes(vbus_world.peer_inbox(), doc_id) == ["01"]

    def test_a_crash_after_deliver_delivers_once_and_sends_01_once(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.testing.conformance_world import SimulatedCrash

        def crash() -> None:
            raise SimulatedCrash("killed after the DMS write")

        vbus_world.once("after:deliver", crash)
        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        with pytest.raises(SimulatedCrash):
            vbus_world.pump()
        vbus_world.crash()
        vbus_world.pump()
        assert dms.delivered() == [doc_id]
        assert _codes(vbus_world.peer_inbox(), doc_id) == ["01"]

    def test_a_crash_after_the_01_before_the_ack_sends_01_once(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.testing.conformance_world import SimulatedCrash

        doc_id = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        vbus_world.hub_transport.drain(0.0 if vbus_world.kind == "memory" else 0.3)
        runtime = vbus_world.runtime()

        def ack_then_die(incoming: Any) -> None:
            raise SimulatedCrash("killed before the ack")

        runtime.client.ack = ack_then_die  # type: ignore[method-assign]
        with pytest.raises(SimulatedCrash):
            vbus_world.pump()
        vbus_world.crash()
        vbus_world.pump()
        assert dms.delivered() == [doc_id]
        assert _codes(vbus_world.peer_inbox(), doc_id) == ["01"]

    def test_a_dms_that_is_down_is_retried_without_loss_or_reordering(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.connector import DmsUnavailable

        def down() -> None:
            raise DmsUnavailable("connection refused")

        for _ in range(3):
            vbus_world.once("before:deliver", down)
        first = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        second = vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
        reports = vbus_world.pump()
        assert any(r.waiting for r in reports)
        assert dms.delivered() == [first, second]
        answers = vbus_world.peer_inbox()
        assert [(a.package.document_id, a.package.status_code.value) for a in answers] == [  # type: ignore[union-attr]
            (first, "01"), (second, "01")
        ]

    def test_a_document_the_dms_keeps_failing_on_is_parked_with_a_02_and_the_rest_flows(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        poison = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        vbus_world.fail("deliver", lambda: RuntimeError("the DMS crashes on this document"),
                   document_id=poison.effective_document_id)
        poisoned = vbus_world.peer_sends(poison)
        behind = [
            vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
            for _ in range(2)
        ]
        vbus_world.pump(60)
        assert dms.delivered() == behind
        answers = vbus_world.peer_inbox()
        assert [_codes(answers, d) for d in behind] == [["01"], ["01"]]
        assert _codes(answers, poisoned) == ["02"]
        refusal = next(a for a in answers if getattr(a.package, "document_id", None) == poisoned)
        assert "RuntimeError" in (getattr(refusal.package, "description", None) or "")
        assert [m for m, _ in vbus_world.parked()] == [f"{poisoned}|{vbus_world.agency}"]

    def test_a_dms_down_for_everything_holds_everything_and_parks_nothing(
        self, vbus_world: World, dms: DmsDriver
    ) -> None:
        from vbcore.connector import DmsUnavailable

        arriving = [
            vbus_world.peer_sends(vbus_world.document(vbus_world.peer_code, vbus_world.agency))
            for _ in range(2)
        ]
        outgoing = vbus_world.document(vbus_world.agency, vbus_world.peer_code)
        dms_id = dms.put_outgoing(outgoing)
        methods = ("poll_outgoing", "mark_sent", "mark_failed", "deliver", "poll_events", "mark_event_sent",
                   "mark_event_failed", "on_status", "on_change")
        for method in methods:
            vbus_world.fail(method, lambda: DmsUnavailable("connection refused"))
        reports = vbus_world.pump(3 * (vbus_world.retry.attempts or 3) + 5)  # well past the retry limit
        assert all(r.waiting for r in reports)
        for method in methods:
            vbus_world.heal(method)
        vbus_world.pump()
        assert dms.delivered() == arriving
        answers = vbus_world.peer_inbox()
        assert [_codes(answers, d) for d in arriving] == [["01"], ["01"]]
        assert dms.outgoing_state(dms_id) == "sent"
        assert vbus_world.parked() == []

    # --- the sender changes its mind -----------------------------------------------------------
    def _answer(self, vbus_world: World, dms: DmsDriver, about: str, seen: tuple[str, ...] = ()) -> list[str]:
        """Codes 15/16 the peer got about ``about``; a pending decision is answered 15 by the clerk."""
        vbus_world.pump()
        answers = [c for c in (*seen, *_codes(vbus_world.peer_inbox(), about)) if c in ("15", "16")]
        if not answers:
            dms.emit_event(about, "15", "Đồng ý")
            vbus_world.pump()
            answers = [c for c in _codes(vbus_world.peer_inbox(), about) if c in ("15", "16")]
        return answers

    def test_a_revoke_is_answered_15_or_16_once(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.status import BusinessDocType

        original = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(original)
        vbus_world.pump()
        vbus_world.peer_inbox()
        vbus_world.peer_sends(vbus_world.change(original, BusinessDocType.REVOKE, "Ban hành nhầm"))
        assert len(self._answer(vbus_world, dms, doc_id)) == 1
        assert dms.delivered() == [doc_id]

    def test_a_revoke_status_13_is_answered_15_or_16_once(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.testing.conformance_world import status_from_peer

        original = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(original)
        vbus_world.pump()
        vbus_world.peer_inbox()
        vbus_world.peer.client.submit(status_from_peer(vbus_world, original, "13"))
        assert len(self._answer(vbus_world, dms, doc_id)) == 1

    def test_an_update_is_answered_15_or_16_once(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.status import BusinessDocType

        original = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(original)
        vbus_world.pump()
        vbus_world.peer_inbox()
        vbus_world.peer_sends(vbus_world.change(original, BusinessDocType.UPDATE, "Sửa trích yếu"))
        assert len(self._answer(vbus_world, dms, doc_id)) == 1

    def test_a_replacement_is_delivered_and_answered_once(self, vbus_world: World, dms: DmsDriver) -> None:
        from vbcore.status import BusinessDocType

        original = vbus_world.document(vbus_world.peer_code, vbus_world.agency)
        doc_id = vbus_world.peer_sends(original)
        vbus_world.pump()
        vbus_world.peer_inbox()
        replacement = vbus_world.change(original, BusinessDocType.REPLACE, "Thay thế văn bản ban hành nhầm")
        new_id = vbus_world.peer_sends(replacement)
        vbus_world.pump()
        assert dms.delivered() == [doc_id, new_id]
        codes = tuple(_codes(vbus_world.peer_inbox(), new_id))
        assert codes[:1] == ("01",)
        assert len(self._answer(vbus_world, dms, new_id, codes)) == 1
