"""What only a real RabbitMQ can show: queue types, persistence, user_id validation, restarts."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pika
import pytest
from test_transport_support import (  # noqa: F401 (fixtures)
    PASSWORD,
    BrokerEnv,
    amqp_url_for,
    collect,
    get_eventually,
    rabbit_env_fixture,
)

from vbcore.errors import AccessRefused
from vbcore.transport import names as h
from vbcore.transport.base import Delivery, Outgoing
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = pytest.mark.rabbitmq


def url_of(env: BrokerEnv, amqp_url: str, user: str, password: str = PASSWORD) -> str:
    return amqp_url_for(amqp_url, user, password, env.names.prefix)


def test_every_queue_is_a_durable_quorum_queue_and_only_inboxes_dead_letter_through_the_broker(
    rabbit_env: BrokerEnv,
) -> None:
    n = rabbit_env.names
    rabbit_env.add_agency(f"{n.prefix}a")
    rabbit_env.hub().declare_hub([f"{n.prefix}a"])
    assert rabbit_env.admin is not None
    for queue in (n.ingress_queue, n.inbox(f"{n.prefix}a"), n.parked_queue):
        args = rabbit_env.admin.queue_arguments(queue)
        assert (args["type"], args["durable"]) == ("quorum", True), queue
    inbox = rabbit_env.admin.queue_arguments(n.inbox(f"{n.prefix}a"))
    assert inbox["x-dead-letter-exchange"] == n.dead_letter_exchange
    assert inbox["x-delivery-limit"] == h.DELIVERY_LIMIT
    assert inbox["x-dead-letter-strategy"] == "at-least-once"
    # What agencies publish never meets the broker's dead-lettering: the hub parks clean copies.
    ingress = rabbit_env.admin.queue_arguments(n.ingress_queue)
    assert not {"x-dead-letter-exchange", "x-delivery-limit"} & set(ingress)


def test_messages_are_persistent_and_carry_the_publishing_user(rabbit_env: BrokerEnv, amqp_url: str) -> None:
    n = rabbit_env.names
    a = f"{n.prefix}a"
    rabbit_env.add_agency(a)
    rabbit_env.hub().declare_hub([a])
    rabbit_env.agency(a).publish(n.ingress_exchange, a, b"x", message_id="m-1")

    with pika.BlockingConnection(pika.URLParameters(url_of(rabbit_env, amqp_url, n.hub_user))) as conn:
        method, properties, _ = conn.channel().basic_get(n.ingress_queue, auto_ack=True)
    assert method is not None
    assert (properties.delivery_mode, properties.message_id) == (2, "m-1")
    assert properties.user_id == n.agency_user(a)


def test_the_broker_refuses_a_publish_that_claims_another_user(rabbit_env: BrokerEnv, amqp_url: str) -> None:
    n = rabbit_env.names
    a, b = f"{n.prefix}a", f"{n.prefix}b"
    rabbit_env.add_agency(a)
    rabbit_env.add_agency(b)
    hub = rabbit_env.hub()
    hub.declare_hub([a, b])

    # Logs in as a, claims b.
    spoofer = RabbitMQTransport(url_of(rabbit_env, amqp_url, n.agency_user(a)), n, user=n.agency_user(b))
    try:
        with pytest.raises(AccessRefused, match="user_id"):
            spoofer.publish(n.ingress_exchange, b, b"forged", message_id="m-forged")
    finally:
        spoofer.close()
    assert hub.get(n.ingress_queue) is None


def test_wrong_credentials_are_refused_at_once(rabbit_env: BrokerEnv, amqp_url: str) -> None:
    with pytest.raises(AccessRefused):
        RabbitMQTransport(url_of(rabbit_env, amqp_url, rabbit_env.names.hub_user, "wrong"), rabbit_env.names)


def test_an_agency_rejection_is_parked_by_the_broker_with_where_it_came_from(rabbit_env: BrokerEnv) -> None:
    # An agency may not publish to the dead-letter exchange, so its reject goes through the broker's
    # own dead-lettering: the parked message says where it came from and that it was rejected.
    n = rabbit_env.names
    a = f"{n.prefix}a"
    rabbit_env.add_agency(a)
    hub = rabbit_env.hub()
    hub.declare_hub([a])
    hub.publish(n.delivery_exchange, a, b"tampered", message_id="m-1")
    agency = rabbit_env.agency(a)
    [d] = collect(agency, n.inbox(a), want=1, ack=False)
    agency.reject(d, requeue=False, reason="signature-invalid")

    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert parked.message_id == "m-1"
    assert parked.headers[h.PARKED_FROM] == n.inbox(a)
    assert "rejected" in parked.headers[h.PARK_REASON]
    assert parked.headers[h.ORIGINAL_USER] == n.hub_user


def test_a_consumer_whose_channel_the_broker_closed_consumes_again(rabbit_env: BrokerEnv) -> None:
    n = rabbit_env.names
    a = f"{n.prefix}a"
    rabbit_env.add_agency(a)
    hub = rabbit_env.hub()
    hub.declare_hub([a])
    agency = rabbit_env.agency(a)
    seen: list[str] = []

    def handler(d: Delivery) -> None:
        seen.append(d.message_id)
        agency.ack(d)
        if d.message_id == "m-1":
            agency.ack(d)  # a double ack: the broker closes the consumer's channel

    agency.consume(n.inbox(a), handler, prefetch=1)
    hub.publish(n.delivery_exchange, a, b"x", message_id="m-1")
    for _ in range(10):
        agency.drain(0.1)
    hub.publish(n.delivery_exchange, a, b"y", message_id="m-2")
    deadline = time.monotonic() + 10
    while "m-2" not in seen and time.monotonic() < deadline:
        agency.drain(0.1)
    assert "m-2" in seen


def _restart_broker(done: threading.Event) -> None:
    try:
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
        time.sleep(1.0)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True)
    finally:
        done.set()


@pytest.mark.slow
def test_confirmed_messages_survive_a_broker_restart_and_the_transports_reconnect(
    rabbit_env: BrokerEnv,
) -> None:
    # sender -> ingress -> a forwarding "hub" (publish, then ack, in its handler) -> inbox -> recipient,
    # all interleaved in this thread while another thread restarts the broker.
    assert shutil.which("rabbitmqctl"), "this test restarts the local broker with rabbitmqctl"
    n = rabbit_env.names
    a, b = f"{n.prefix}a", f"{n.prefix}b"
    rabbit_env.add_agency(a)
    rabbit_env.add_agency(b)
    hub = rabbit_env.hub()
    hub.declare_hub([a, b])
    sender, recipient = rabbit_env.agency(a), rabbit_env.agency(b)
    transports = [hub, sender, recipient]
    assert all(isinstance(t, RabbitMQTransport) for t in transports)

    def forward(d: Delivery) -> None:
        hub.publish(n.delivery_exchange, b, d.body, message_id=d.message_id, headers={h.SENDER: a})
        hub.ack(d)  # a no-op for a delivery of a lost connection: it comes again, and is forwarded again

    seen: set[str] = set()

    def receive(d: Delivery) -> None:
        seen.add(d.message_id)
        recipient.ack(d)

    hub.consume(n.ingress_queue, forward, prefetch=20)
    recipient.consume(n.inbox(b), receive, prefetch=20)
    confirmed: list[str] = []

    def step(k: int) -> None:
        batch = [Outgoing(n.ingress_exchange, a, b"x" * 1000, f"m-{k}-{i}") for i in range(10)]
        sender.publish_many(batch)  # returns only when all ten are confirmed (after reconnecting)
        confirmed.extend(m.message_id for m in batch)
        hub.drain(0.0)
        recipient.drain(0.0)

    for k in range(5):
        step(k)
    done = threading.Event()
    restarter = threading.Thread(target=_restart_broker, args=(done,))
    restarter.start()
    k = 5
    while not done.is_set():
        step(k)
        k += 1
    restarter.join()
    for k2 in range(k, k + 5):
        step(k2)

    deadline = time.monotonic() + 60
    while not set(confirmed) <= seen and time.monotonic() < deadline:
        hub.drain(0.1)
        recipient.drain(0.1)
    assert set(confirmed) <= seen, f"{len(set(confirmed) - seen)} confirmed messages were lost"
    assert len(confirmed) >= 100
    assert all(t.reconnects >= 1 for t in transports if isinstance(t, RabbitMQTransport))
