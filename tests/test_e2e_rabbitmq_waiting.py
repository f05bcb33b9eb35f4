"""Two hubs on one ingress of the real broker, one store: a sender's revoke (13) taken by one hub while
the other still holds the document it revokes waits for it, and is forwarded once it is committed
(``vbcore.hub.waiting``). It used to be refused at once: a genuine 13 came back to its sender as a 02."""

from __future__ import annotations

import threading
import time

from test_e2e_rabbitmq import A1, B1, HUB_ID, Bus, bus, dev, pki  # noqa: F401
from test_hub_support import edoc, status

from vbcore.directory import Directory
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.hub.runner import StopFlag, run
from vbcore.model import Edoc, StatusPackage
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.transport import Delivery
from vbcore.transport import names as n
from vbcore.transport.rabbitmq import RabbitMQTransport


def hub_of(bus: Bus) -> Hub:  # noqa: F811
    transport = RabbitMQTransport(bus.hub_url, names=bus.names)
    config = HubConfig(hub_id=HUB_ID, names=bus.names)
    return bus.dev.hub(transport, open_store(bus.store_url), config, Directory.default())


def revoke_behind_a_document_in_hand(bus: Bus, number: str) -> tuple[Edoc, Hub, Delivery]:  # noqa: F811
    """A1 sends a document and its revoke; a first hub takes the document alone (no consumer) and holds
    it, not processed: the document, that hub, and its delivery."""
    doc = edoc(A1, [B1], number)
    bus.client(A1).submit(doc)
    bus.client(A1).submit(status(A1, doc, StatusCode.REVOKE))
    first = hub_of(bus)
    first.transport.declare_hub([])
    [document] = first.transport.get_many(bus.names.ingress_queue, 1)
    assert document.headers[n.KIND] == n.KIND_EDOC
    return doc, first, document


def test_a_revoke_overtaking_its_document_on_another_hub_waits_for_it_on_the_real_broker(
    bus: Bus,  # noqa: F811
) -> None:
    doc, first, document = revoke_behind_a_document_in_hand(bus, "waited-for")
    second, stop = hub_of(bus), StopFlag()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            run(second, stop, tick=0.01)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not second.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(second.waiting) == 1  # the revoke: neither refused nor forwarded
        assert bus.client(A1).fetch(timeout=0.5) is None  # no 02
        first.process_batch([document])
        got = bus.collect(B1, 2, timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
        first.transport.close()
        first.store.close()
    assert not errors, errors
    assert got[0].package.effective_document_id == doc.effective_document_id
    assert isinstance(got[1].package, StatusPackage)
    assert got[1].package.status_code is StatusCode.REVOKE
    assert bus.client(A1).fetch(timeout=0.5) is None  # still no 02
    assert list(open_store(bus.store_url).refusals()) == []


def test_a_revoke_waiting_on_a_connection_lost_is_let_go_taken_again_and_forwarded_once(
    bus: Bus,  # noqa: F811
) -> None:
    # The revoke waits in the second hub; its connection is lost: the broker gives the revoke again, to
    # the new consumer. The one in hand from the lost connection must be let go (its record in the
    # waiting room too), not tried again beside the new copy, nor acked on a dead channel.
    doc, first, document = revoke_behind_a_document_in_hand(bus, "waited-across-a-reconnect")
    second = hub_of(bus)
    second.start(prefetch=16, batch=True)
    transport = second.transport
    assert isinstance(transport, RabbitMQTransport)
    try:
        deadline = time.monotonic() + 30
        while not second.waiting and time.monotonic() < deadline:
            transport.drain(0.05)
            second.flush()
        [old] = second.waiting.waiting()
        transport._conn.close()  # the connection lost under the hub
        transport._reconnect(None)
        while (not second.waiting or second.waiting.waiting() == [old]) and time.monotonic() < deadline:
            transport.drain(0.05)
            second.gather(0.01)
            second.flush()
        assert len(second.waiting) == 1  # the copy given again, waiting: the lost one let go
        assert second.waiting.waiting() != [old]
        assert second._in_hand == len(old.body)
        first.process_batch([document])
        while second.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
            transport.drain(0.05)
            second.flush()
        assert not second.waiting
        assert second._in_hand == 0
        got = bus.collect(B1, 2, timeout=30)
        assert bus.collect(B1, 1, timeout=1) == []  # nothing twice
    finally:
        second.transport.close()
        second.store.close()
        first.transport.close()
        first.store.close()
    assert got[0].package.effective_document_id == doc.effective_document_id
    assert isinstance(got[1].package, StatusPackage)
    assert bus.client(A1).fetch(timeout=0.5) is None  # no 02
    assert list(open_store(bus.store_url).refusals()) == []
