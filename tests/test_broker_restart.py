"""A broker restart in the middle of the traffic, on a RabbitMQ node of this module's own.

Restarting the shared broker stops every other test run using it, and on RabbitMQ 3.10 a restart while
other runs delete their vhosts has left its quorum dead-letter supervisor dead (every quorum queue with
dead-lettering declared afterwards starts ``down`` until the next restart). So these tests restart only
a node they started themselves (``own_rabbitmq``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from own_rabbitmq import OwnNode
from test_e2e_rabbitmq import A1, AGENCY_PASSWORD, B1, HUB_PASSWORD, Bus, HubThread
from test_hub_support import HUB_ID, edoc, make_pki
from test_transport_support import BrokerEnv, rabbit_env_on

from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.testing.devworld import DevKeys
from vbcore.transport import names as h
from vbcore.transport.base import Delivery, Outgoing
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: starts and restarts a node


def restart(node: OwnNode, done: threading.Event | None = None) -> None:
    try:
        node.ctl("stop_app")
        time.sleep(1.0)
        node.ctl("start_app")
        node.ctl("await_startup")
    finally:
        if done is not None:
            done.set()


@pytest.fixture
def env(own_rabbitmq: OwnNode, unique_prefix: str) -> Iterator[BrokerEnv]:
    yield from rabbit_env_on(own_rabbitmq.url, unique_prefix, "rabbitmq", own_rabbitmq.management_url)


def test_confirmed_messages_survive_a_broker_restart_and_the_transports_reconnect(
    env: BrokerEnv, own_rabbitmq: OwnNode
) -> None:
    # sender -> ingress -> a forwarding "hub" (publish, then ack, in its handler) -> inbox -> recipient,
    # all interleaved in this thread while another thread restarts the broker.
    n = env.names
    a, b = f"{n.prefix}a", f"{n.prefix}b"
    env.add_agency(a)
    env.add_agency(b)
    hub = env.hub()
    hub.declare_hub([a, b])
    sender, recipient = env.agency(a), env.agency(b)
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
    restarter = threading.Thread(target=restart, args=(own_rabbitmq, done))
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


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    pki: DevPki = make_pki(tmp_path_factory.mktemp("pki"))
    pki = init_dev_pki(pki.directory, [(A1, A1), (B1, B1)])
    return DevKeys.load(pki, {*pki.agencies, HUB_ID})


@pytest.fixture
def bus(own_rabbitmq: OwnNode, unique_prefix: str, dev: DevKeys, tmp_path: Path) -> Iterator[Bus]:
    names = Names(prefix="vbus", hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-")
    admin = BrokerAdmin(own_rabbitmq.management_url, vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(HUB_PASSWORD)
    b = Bus(own_rabbitmq.url, unique_prefix, names, admin, dev, f"sqlite:///{tmp_path / 'hub.db'}")
    b.add_agencies([A1, B1])
    try:
        yield b
    finally:
        for client in b.clients.values():
            client.transport.close()
        admin.delete_vhost()


def test_a_broker_restart_mid_stream_loses_nothing_and_delivers_nothing_twice(
    bus: Bus, own_rabbitmq: OwnNode
) -> None:
    assert AGENCY_PASSWORD  # the agencies' users, as the e2e tests provision them
    hub = HubThread(bus)
    try:
        docs = [edoc(A1, [B1], str(i)) for i in range(60)]
        for doc in docs[:30]:
            bus.client(A1).submit(doc)
        restart(own_rabbitmq)
        for doc in docs[30:]:
            bus.client(A1).submit(doc)
        got = bus.collect(B1, len(docs), timeout=120)
        assert sorted(i.package.effective_document_id for i in got) == sorted(
            d.effective_document_id for d in docs
        )
        assert bus.client(B1).fetch(timeout=2.0) is None
    finally:
        hub.close()
