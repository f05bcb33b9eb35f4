"""Client headers never reach the broker's dead-lettering: on a RabbitMQ node of this module's own.

On RabbitMQ 3.10 a message whose ``x-death`` is not a list of tables, once dead-lettered from a quorum
queue, crashes the broker's dead-letter worker, and every quorum queue with dead-lettering declared
afterwards on that node starts ``down`` (docs/measurements.md). Should the hub's fix regress, these tests
would do exactly that: so they never run on the shared broker (``own_rabbitmq``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pika
import pytest
from own_rabbitmq import OwnNode
from test_hub_support import G22, H24, HUB_ID, edoc, make_pki

from vbcore.directory import Directory
from vbcore.edxml import write_package
from vbcore.hub.config import HubConfig
from vbcore.security.pki import DevPki
from vbcore.security.signing import sign_package
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys
from vbcore.transport import Delivery
from vbcore.transport import names as h
from vbcore.transport.amqp_wire import work_queue_arguments
from vbcore.transport.kombu_transport import KombuTransport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: starts a node (about 4 s)

POISON = {"x-death": ["junk"], "x-first-death-queue": 5}
PASSWORD = "poison-test"


def publish_raw(url: str, exchange: str, key: str, body: bytes, headers: dict[str, object], *,
                user_id: str | None = None, message_id: str = "m-poison") -> None:
    """As any AMQP client may: headers of its choice (pika's blocking channel, confirmed)."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        properties = pika.BasicProperties(headers=headers, user_id=user_id, message_id=message_id,
                                          delivery_mode=2)
        channel.basic_publish(exchange, key, body, properties, mandatory=True)


def assert_healthy(node: OwnNode) -> None:
    """A NEW quorum queue with at-least-once dead-lettering works: publish, consume, dead-letter."""
    assert "rabbit_dead_letter" not in node.log_text
    q, dlx, parked = (f"health-{uuid.uuid4().hex[:8]}{s}" for s in ("", ".dlx", ".parked"))
    names = Names(prefix=q)
    with pika.BlockingConnection(pika.URLParameters(node.url)) as conn:
        channel = conn.channel()
        channel.exchange_declare(dlx, "fanout")
        channel.queue_declare(parked, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(parked, dlx)
        channel.queue_declare(q, durable=True, arguments={**work_queue_arguments(names),
                                                          "x-dead-letter-exchange": dlx})
        channel.confirm_delivery()
        channel.basic_publish("", q, b"still alive", pika.BasicProperties(delivery_mode=2))
        method, _, body = channel.basic_get(q)
        assert (method is not None, body) == (True, b"still alive")
        channel.basic_reject(method.delivery_tag, requeue=False)
        deadline = time.monotonic() + 10
        while (got := channel.basic_get(parked, auto_ack=True))[0] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert got[2] == b"still alive", "the node's dead-lettering no longer works"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def names(own_rabbitmq: OwnNode) -> Iterator[Names]:
    """An installation of its own on the node: the hub as guest, G22 and H24 as agency users."""
    names = Names(prefix=f"p{uuid.uuid4().hex[:8]}", hub_user="guest", user_prefix="test-")
    admin = BrokerAdmin(names=names)
    for code in (G22, H24):
        p = admin.agency_permissions(code)
        own_rabbitmq.add_user(names.agency_user(code), PASSWORD, p.configure, p.write, p.read)
    yield names
    for code in (G22, H24):
        own_rabbitmq.ctl("delete_user", names.agency_user(code))


def agency_url(node: OwnNode, names: Names, code: str) -> str:
    return node.url.replace("guest:guest", f"{names.agency_user(code)}:{PASSWORD}")


@pytest.mark.parametrize("transport", [RabbitMQTransport, KombuTransport])
def test_a_consumer_reads_a_malformed_x_death_without_crashing(
    own_rabbitmq: OwnNode, transport: type[RabbitMQTransport | KombuTransport]
) -> None:
    queue = f"plain-{uuid.uuid4().hex[:8]}"
    with pika.BlockingConnection(pika.URLParameters(own_rabbitmq.url)) as conn:
        conn.channel().queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    publish_raw(own_rabbitmq.url, "", queue, b"x", {h.KIND: "edoc", **POISON})
    got: list[Delivery] = []
    with transport(own_rabbitmq.url) as consumer:
        consumer.consume(queue, got.append, prefetch=1)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            consumer.drain(0.1)
        assert len(got) == 1
        assert got[0].headers == {h.KIND: "edoc"}
        consumer.ack(got[0])


def test_a_poisoned_message_on_the_ingress_is_parked_clean_and_the_broker_stays_healthy(
    own_rabbitmq: OwnNode, names: Names, pki: DevPki, tmp_path: object
) -> None:
    dev = DevKeys.load(pki)
    hub_transport = RabbitMQTransport(own_rabbitmq.url, names)
    hub = dev.hub(hub_transport, open_store("sqlite://"), HubConfig(hub_id=HUB_ID, names=names),
                  Directory.default())
    try:
        hub.start([G22, H24])
        sender = agency_url(own_rabbitmq, names, G22)
        user = names.agency_user(G22)
        # Garbage, and a genuine letter, both with a poisoned x-death.
        publish_raw(sender, names.ingress_exchange, G22, b"not xml", POISON, user_id=user,
                    message_id="garbage")
        letter = sign_package(write_package(edoc(G22, [H24])), dev.keys[G22])
        publish_raw(sender, names.ingress_exchange, G22, letter, POISON, user_id=user, message_id="letter")
        deadline = time.monotonic() + 20
        while hub_transport.queue_depth(names.parked_queue) < 1 and time.monotonic() < deadline:
            hub_transport.drain(0.2)
        hub_transport.drain(0.5)

        parked = hub_transport.get(names.parked_queue)
        assert parked is not None
        assert parked.message_id == "garbage"
        assert set(parked.headers) == {h.PARK_REASON, h.PARKED_FROM, h.ORIGINAL_USER}
        hub_transport.ack(parked)
        # The recipient refuses the forwarded letter: an inbox is dead-lettered by the broker, and
        # what it holds the hub published, with headers of its own.
        with RabbitMQTransport(agency_url(own_rabbitmq, names, H24), names) as recipient:
            forwarded = recipient.get(names.inbox(H24))
            assert forwarded is not None
            assert "x-death" not in forwarded.headers
            recipient.reject(forwarded, requeue=False, reason="refused by the DMS")
        deadline = time.monotonic() + 10
        while (again := hub_transport.get(names.parked_queue)) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert again is not None
        assert again.headers[h.PARKED_FROM] == names.inbox(H24)
        hub_transport.ack(again)
    finally:
        hub_transport.close()
        hub.store.close()
    assert_healthy(own_rabbitmq)


def test_a_poisoned_message_that_keeps_coming_back_is_parked_by_the_hub_never_by_the_broker(
    own_rabbitmq: OwnNode, names: Names, pki: DevPki
) -> None:
    dev = DevKeys.load(pki)
    hub_transport = RabbitMQTransport(own_rabbitmq.url, names)
    hub = dev.hub(hub_transport, open_store("sqlite://"), HubConfig(hub_id=HUB_ID, names=names),
                  Directory.default())
    try:
        hub_transport.declare_hub([G22, H24])
        user = names.agency_user(G22)
        publish_raw(agency_url(own_rabbitmq, names, G22), names.ingress_exchange, G22, b"<edXML/>", POISON,
                    user_id=user, message_id="crash-loop")
        with pika.BlockingConnection(pika.URLParameters(own_rabbitmq.url)) as conn:
            channel = conn.channel()
            for _ in range(h.DELIVERY_LIMIT + 2):  # hub processes that die holding it, and more
                method, _, _ = channel.basic_get(names.ingress_queue)
                assert method is not None, "the broker must never take it off the ingress by itself"
                channel.basic_reject(method.delivery_tag, requeue=True)
        hub.start([G22, H24])
        deadline = time.monotonic() + 20
        while hub_transport.queue_depth(names.parked_queue) < 1 and time.monotonic() < deadline:
            hub_transport.drain(0.2)
        parked = hub_transport.get(names.parked_queue)
        assert parked is not None
        assert parked.headers[h.PARK_REASON].startswith("not-processed")
        assert set(parked.headers) == {h.PARK_REASON, h.PARKED_FROM, h.ORIGINAL_USER}
        hub_transport.ack(parked)
        [record] = hub.store.refusals()
        assert (record.reason, record.sender) == ("not-processed", G22)
        answer = hub_transport.get(names.inbox(G22))
        assert answer is not None
        assert answer.headers[h.REFUSAL_REASON] == "not-processed"
    finally:
        hub_transport.close()
        hub.store.close()
    assert_healthy(own_rabbitmq)
