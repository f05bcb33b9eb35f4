"""Shared by the transport tests: one broker "environment" per test, in memory or on RabbitMQ.

``BrokerEnv`` gives a hub transport and agency transports. On RabbitMQ each test gets its own vhost
and its own (globally unique) users, all deleted at the end; the hub user is provisioned with the
same permissions ``BrokerAdmin.add_hub_user`` gives in production, agencies with ``add_agency``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from vbcore.transport.base import Delivery, Transport
from vbcore.transport.kombu_transport import KombuTransport
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

PASSWORD = "test-password"


def management_url(amqp_url: str) -> str:
    """The management API of the broker at ``amqp_url``: ``VBUS_TEST_MANAGEMENT_URL`` (with
    ``VBUS_TEST_AMQP_URL``, to run against another broker), else port 15672 of the same host."""
    host = urlsplit(amqp_url).hostname or "127.0.0.1"
    return os.environ.get("VBUS_TEST_MANAGEMENT_URL", f"http://guest:guest@{host}:15672")


def amqp_url_for(amqp_url: str, user: str, password: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5672}"
    return urlunsplit(("amqp", netloc, "/" + quote(vhost, safe=""), "", ""))


@dataclass
class BrokerEnv:
    kind: str
    names: Names
    connect: Callable[[str, bool], Transport]  # (user, stamp user_id) -> transport
    add_agency: Callable[[str], None]
    admin: BrokerAdmin | None = None
    opened: list[Transport] = field(default_factory=list)

    def hub(self) -> Transport:
        return self._open(self.names.hub_user)

    def agency(self, code: str, *, stamp_user_id: bool = True) -> Transport:
        """``stamp_user_id=False``: a publisher that leaves ``user_id`` unset (any AMQP client may)."""
        return self._open(self.names.agency_user(code), stamp_user_id)

    def _open(self, user: str, stamp_user_id: bool = True) -> Transport:
        t = self.connect(user, stamp_user_id)
        self.opened.append(t)
        return t

    def close_all(self) -> None:
        for t in self.opened:
            t.close()


def names_for_test(prefix: str) -> Names:
    """A test's own names: its hub user and agency users are under its prefix, never a real agency's
    (broker users are broker-wide); inbox names carry a token, as in production."""
    return Names(prefix=prefix, hub_user=f"{prefix}-hub", user_prefix=f"{prefix}-",
                 inbox_secret=f"inbox secret of {prefix}")


def memory_env(prefix: str) -> BrokerEnv:
    broker = InMemoryBroker()
    names = names_for_test(prefix)
    def connect(user: str, stamp_user_id: bool) -> Transport:
        return InMemoryTransport(broker, user, names, stamp_user_id=stamp_user_id)

    return BrokerEnv("memory", names, connect, lambda code: None)


def rabbit_env_on(
    amqp_url: str, prefix: str, kind: str, management: str | None = None
) -> Iterator[BrokerEnv]:
    """A vhost of its own on RabbitMQ; ``kind`` "rabbitmq" connects with pika, "kombu" with kombu;
    ``management``: the broker's management API (default: port 15672 of the AMQP URL's host)."""
    names = names_for_test(prefix)
    admin = BrokerAdmin(management or management_url(amqp_url), vhost=prefix, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(PASSWORD)
    users = [names.hub_user]

    def add_agency(code: str) -> None:
        admin.add_agency(code, PASSWORD)
        users.append(names.agency_user(code))

    def connect(user: str, stamp_user_id: bool) -> Transport:
        url = amqp_url_for(amqp_url, user, PASSWORD, prefix)
        if kind == "kombu":
            return KombuTransport(url, names, stamp_user_id=stamp_user_id)
        return RabbitMQTransport(url, names, stamp_user_id=stamp_user_id)

    env = BrokerEnv(kind, names, connect, add_agency, admin)
    try:
        yield env
    finally:
        env.close_all()
        for user in users:
            admin.remove_user(user)
        admin.delete_vhost()


@pytest.fixture(name="rabbit_env")
def rabbit_env_fixture(amqp_url: str, unique_prefix: str) -> Iterator[BrokerEnv]:
    yield from rabbit_env_on(amqp_url, unique_prefix, "rabbitmq")


@pytest.fixture(name="kombu_env")
def kombu_env_fixture(amqp_url: str, unique_prefix: str) -> Iterator[BrokerEnv]:
    """Every transport (hub and agencies) on kombu, against the real broker."""
    yield from rabbit_env_on(amqp_url, unique_prefix, "kombu")


@pytest.fixture(
    name="env",
    params=["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
            pytest.param("kombu", marks=pytest.mark.rabbitmq)],
)
def env_fixture(request: pytest.FixtureRequest, unique_prefix: str) -> Iterator[BrokerEnv]:
    """The same behavioural tests against every transport (as dramatiq does with its stub broker)."""
    if request.param == "memory":
        e = memory_env(unique_prefix)
        yield e
        e.close_all()
    else:
        yield from rabbit_env_on(request.getfixturevalue("amqp_url"), unique_prefix, request.param)


def collect(transport: Transport, queue: str, *, want: int, prefetch: int = 64, ack: bool = True,
            timeout: float = 10.0) -> list[Delivery]:
    """Consume ``queue`` until ``want`` deliveries arrived (or ``timeout``); ack each if asked."""
    got: list[Delivery] = []

    def handler(d: Delivery) -> None:
        got.append(d)
        if ack:
            transport.ack(d)

    transport.consume(queue, handler, prefetch=prefetch)
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        transport.drain(0.1)
    return got


def get_eventually(transport: Transport, queue: str, timeout: float = 10.0) -> Delivery | None:
    """``get`` until a message is there: broker-side moves (dead-lettering) are asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        d = transport.get(queue)
        if d is not None or time.monotonic() > deadline:
            return d
        time.sleep(0.05)
