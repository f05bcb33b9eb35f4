"""What is particular to the in-memory transport: threads sharing one broker, closed connections."""

from __future__ import annotations

import threading

import pytest

from vbcore.errors import ConnectionLost, QueueNotFound, TransportError
from vbcore.transport.base import Delivery
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

NAMES = Names(prefix="m")


def hub_and_agency() -> tuple[InMemoryBroker, InMemoryTransport, InMemoryTransport]:
    broker = InMemoryBroker()
    hub = InMemoryTransport(broker, NAMES.hub_user, NAMES)
    hub.declare_hub(["A"])
    return broker, hub, InMemoryTransport(broker, "A", NAMES)


def test_a_draining_consumer_receives_what_another_thread_publishes() -> None:
    _, hub, agency = hub_and_agency()
    got: list[Delivery] = []

    def handler(d: Delivery) -> None:
        got.append(d)
        agency.ack(d)

    agency.consume(NAMES.inbox("A"), handler)

    def publish_all() -> None:
        sender = InMemoryTransport(hub.broker, NAMES.hub_user, NAMES)
        for i in range(200):
            sender.publish(NAMES.delivery_exchange, "A", b"x", message_id=f"m-{i}")

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    while len(got) < 200:
        agency.drain(0.05)
    publisher.join()
    assert [d.message_id for d in got] == [f"m-{i}" for i in range(200)]


def test_a_closed_transport_refuses_to_work() -> None:
    _, hub, _ = hub_and_agency()
    hub.close()
    hub.close()  # closing twice is harmless
    with pytest.raises(ConnectionLost):
        hub.publish(NAMES.delivery_exchange, "A", b"x", message_id="m-1")
    with pytest.raises(ConnectionLost):
        hub.drain(0)


def test_a_delivery_cannot_be_settled_twice() -> None:
    _, hub, _ = hub_and_agency()
    hub.publish(NAMES.delivery_exchange, "A", b"x", message_id="m-1")
    d = hub.get(NAMES.inbox("A"))
    assert d is not None
    hub.ack(d)
    with pytest.raises(TransportError, match="m-1"):
        hub.ack(d)


def test_consuming_a_queue_that_does_not_exist_says_so() -> None:
    _, hub, _ = hub_and_agency()
    with pytest.raises(QueueNotFound):
        hub.consume(NAMES.inbox("nobody"), lambda d: None)
