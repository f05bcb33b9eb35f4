"""The agency-side kombu transport: failover across broker nodes, reconnection, error translation,
agencies that may not declare, and the connector runtime end to end with agencies on kombu and the hub
on pika (as deployed). The transport contract itself is in ``test_transport_behaviour`` (``[kombu]``)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_conformance_folder as folder_kit
from amqp import exceptions as ax
from test_transport_support import (  # noqa: F401 (fixtures)
    PASSWORD,
    BrokerEnv,
    amqp_url_for,
    collect,
    get_eventually,
    kombu_env_fixture,
    management_url,
)

from vbcore.errors import (
    AccessRefused,
    ConfigurationError,
    ConnectionLost,
    PublishNotConfirmed,
    QueueNotFound,
    TransportError,
)
from vbcore.testing.conformance_world import Identities, World
from vbcore.transport import Transport
from vbcore.transport import names as h
from vbcore.transport.base import Delivery
from vbcore.transport.connect import broker_nodes, open_transport
from vbcore.transport.kombu_transport import KombuTransport, RetryPolicy, translate
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

DEAD_NODE = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once
QUICK = RetryPolicy(max_retries=2, interval_start=0.0, interval_step=0.0, interval_max=0.0)


# --- without a broker -----------------------------------------------------------------------------


def test_a_refused_operation_becomes_access_refused() -> None:
    err = translate(ax.AccessRefused("ACCESS_REFUSED - write access to exchange", 403), "publishing")
    assert isinstance(err, AccessRefused)
    assert "publishing: ACCESS_REFUSED" in str(err)


def test_a_spoofed_user_id_becomes_access_refused() -> None:
    text = "PRECONDITION_FAILED - user_id property set to 'b' but authenticated user was 'a'"
    assert isinstance(translate(ax.PreconditionFailed(text, 406), "publishing"), AccessRefused)


def test_a_missing_queue_becomes_queue_not_found() -> None:
    err = translate(ax.NotFound("NOT_FOUND - no queue 'vbus.inbox.x'", 404), "getting")
    assert isinstance(err, QueueNotFound)


def test_a_nack_becomes_publish_not_confirmed() -> None:
    assert isinstance(translate(ax.MessageNacked(), "publishing m-1"), PublishNotConfirmed)


def test_a_dropped_socket_becomes_connection_lost() -> None:
    assert isinstance(translate(ConnectionResetError(104, "reset by peer"), "receiving"), ConnectionLost)


def test_an_unreachable_vhost_becomes_access_refused() -> None:
    assert isinstance(translate(ax.NotAllowed("NOT_ALLOWED - vhost x not found", 530), "connecting"),
                      AccessRefused)


def test_semicolons_separate_failover_nodes() -> None:
    assert broker_nodes("amqp://a:p@h1:5672/v; amqp://a:p@h2:5672/v") == [
        "amqp://a:p@h1:5672/v", "amqp://a:p@h2:5672/v"
    ]


def test_a_broker_url_that_is_not_amqp_is_a_configuration_error_that_hides_the_password() -> None:
    with pytest.raises(ConfigurationError, match="not amqp") as refused:
        open_transport("amqp://a:p@h1//;http://a:secret@h2/")
    assert "secret" not in str(refused.value)


def test_an_unknown_role_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="role"):
        open_transport("amqp://a:p@h1//", role="relay")  # type: ignore[arg-type]


def test_no_reachable_node_is_a_lost_connection_after_the_bounded_retries() -> None:
    with pytest.raises(ConnectionLost, match="could not reach"):
        KombuTransport(f"amqp://a:p@{DEAD_NODE}//;amqp://a:p@127.0.0.1:2//", retry=QUICK)


# --- on RabbitMQ ----------------------------------------------------------------------------------


def url_of(env: BrokerEnv, amqp_url: str, user: str, *, node: str | None = None) -> str:
    url = amqp_url_for(amqp_url, user, PASSWORD, env.names.prefix)
    return url if node is None else url.replace("@127.0.0.1:5672", f"@{node}")


def agency_url(env: BrokerEnv, amqp_url: str, code: str, *, node: str | None = None) -> str:
    return url_of(env, amqp_url, env.names.agency_user(code), node=node)


def provisioned(env: BrokerEnv, *letters: str) -> list[str]:
    codes = [f"{env.names.prefix}{letter}" for letter in letters]
    for code in codes:
        env.add_agency(code)
    env.hub().declare_hub(codes)
    return codes


@pytest.mark.rabbitmq
def test_an_agency_connects_to_the_second_node_when_the_first_is_down(
    kombu_env: BrokerEnv, amqp_url: str
) -> None:
    (a,) = provisioned(kombu_env, "a")
    user = kombu_env.names.agency_user(a)
    url = f"{url_of(kombu_env, amqp_url, user, node=DEAD_NODE)};{url_of(kombu_env, amqp_url, user)}"
    agency = open_transport(url, names=kombu_env.names)
    try:
        assert isinstance(agency, KombuTransport)
        assert agency.node.endswith(":5672")
        agency.publish(kombu_env.names.ingress_exchange, a, b"via node 2", message_id="m-1")
    finally:
        agency.close()
    d = get_eventually(kombu_env.hub(), kombu_env.names.ingress_queue)
    assert d is not None
    assert (d.body, d.user_id) == (b"via node 2", user)


class TcpRelay:
    """A broker "node" for failover tests: forwards a local port to the real broker until stopped."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """The node dies: no new connections, and every open one is cut."""
        self.server.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.mark.rabbitmq
def test_when_its_node_dies_an_agency_fails_over_and_its_consumer_resumes(
    kombu_env: BrokerEnv, amqp_url: str
) -> None:
    (a,) = provisioned(kombu_env, "a")
    n, hub = kombu_env.names, kombu_env.hub()
    relay = TcpRelay(("127.0.0.1", 5672))
    relayed = agency_url(kombu_env, amqp_url, a, node=f"127.0.0.1:{relay.port}")
    url = f"{relayed};{agency_url(kombu_env, amqp_url, a)}"
    agency = KombuTransport(url, n, retry=QUICK)
    try:
        hub.publish(n.delivery_exchange, a, b"before", message_id="m-1")
        held = collect(agency, n.inbox(a), want=1, ack=False)
        assert [d.message_id for d in held] == ["m-1"]
        assert agency.node.endswith(f":{relay.port}")

        relay.stop()
        agency.publish(n.ingress_exchange, a, b"after", message_id="m-2")  # on the second node
        assert agency.node.endswith(":5672")
        assert agency.reconnects == 1
        agency.ack(held[0])  # stale: the broker hands it out again
        hub.publish(n.delivery_exchange, a, b"later", message_id="m-3")
        got: list[str] = []
        for _ in range(50):
            agency.drain(0.1)
            if len(held) >= 3:
                break
        got = [d.message_id for d in held[1:]]
        assert sorted(got) == ["m-1", "m-3"]
        assert next(d for d in held[1:] if d.message_id == "m-1").redelivered
    finally:
        agency.close()
        relay.stop()
    d = get_eventually(hub, n.ingress_queue)
    assert d is not None
    assert d.message_id == "m-2"


@pytest.mark.rabbitmq
def test_an_agency_rides_out_a_restart_of_its_only_node_and_the_publish_goes_through(
    kombu_env: BrokerEnv, amqp_url: str
) -> None:
    (a,) = provisioned(kombu_env, "a")
    n = kombu_env.names
    relay = TcpRelay(("127.0.0.1", 5672))
    agency = KombuTransport(agency_url(kombu_env, amqp_url, a, node=f"127.0.0.1:{relay.port}"), n)
    restarted: list[TcpRelay] = []
    try:
        agency.publish(n.ingress_exchange, a, b"1", message_id="m-1")
        relay.stop()  # the node goes down, and comes back a second later on the same address
        timer = threading.Timer(1.0, lambda: restarted.append(TcpRelay(("127.0.0.1", 5672), relay.port)))
        timer.start()
        agency.publish(n.ingress_exchange, a, b"2", message_id="m-2")
        timer.join()
        assert agency.reconnects == 1
    finally:
        agency.close()
        for r in restarted:
            r.stop()
    got = collect(kombu_env.hub(), n.ingress_queue, want=2)
    assert [d.message_id for d in got] == ["m-1", "m-2"]


@pytest.mark.rabbitmq
def test_the_connection_carries_a_heartbeat_and_a_name_an_operator_can_read(
    kombu_env: BrokerEnv, amqp_url: str
) -> None:
    (a,) = provisioned(kombu_env, "a")
    user = kombu_env.names.agency_user(a)
    agency = KombuTransport(url_of(kombu_env, amqp_url, user), kombu_env.names, heartbeat=17)
    try:
        assert agency._conn.connection.heartbeat == 17
        assert agency._conn.connection.client_properties["connection_name"] == f"vbus kombu {user}"
    finally:
        agency.close()


@pytest.mark.rabbitmq
def test_wrong_credentials_are_refused_at_once(kombu_env: BrokerEnv, amqp_url: str) -> None:
    (a,) = provisioned(kombu_env, "a")
    url = amqp_url_for(amqp_url, kombu_env.names.agency_user(a), "not-the-password", kombu_env.names.prefix)
    with pytest.raises(AccessRefused):
        KombuTransport(url, kombu_env.names)


@pytest.mark.rabbitmq
def test_a_publish_that_claims_another_user_is_refused(kombu_env: BrokerEnv, amqp_url: str) -> None:
    a, b = provisioned(kombu_env, "a", "b")
    spoofer = KombuTransport(agency_url(kombu_env, amqp_url, a), kombu_env.names,
                             user=kombu_env.names.agency_user(b))
    try:
        with pytest.raises(AccessRefused, match="user_id"):
            spoofer.publish(kombu_env.names.ingress_exchange, b, b"forged", message_id="m-forged")
    finally:
        spoofer.close()
    assert kombu_env.hub().get(kombu_env.names.ingress_queue) is None


@pytest.mark.rabbitmq
def test_an_agency_checks_that_the_hub_provisioned_its_inbox(kombu_env: BrokerEnv) -> None:
    (a,) = provisioned(kombu_env, "a")
    agency = kombu_env.agency(a)
    agency.declare_inbox(a)  # no configure permission: a passive check, which passes
    agency.publish(kombu_env.names.ingress_exchange, a, b"still usable", message_id="m-1")


@pytest.mark.rabbitmq
def test_an_agency_whose_inbox_the_hub_never_made_is_told_so(kombu_env: BrokerEnv) -> None:
    a = f"{kombu_env.names.prefix}a"
    kombu_env.add_agency(a)
    kombu_env.hub().declare_hub([])
    with pytest.raises(QueueNotFound, match="the hub provisions it"):
        kombu_env.agency(a).declare_inbox(a)


@pytest.mark.rabbitmq
def test_kombu_and_pika_declare_the_same_queues_without_conflict(kombu_env: BrokerEnv, amqp_url: str) -> None:
    n = kombu_env.names
    codes = [f"{n.prefix}a", f"{n.prefix}b"]
    for code in codes:
        kombu_env.add_agency(code)
    pika_hub = RabbitMQTransport(url_of(kombu_env, amqp_url, n.hub_user), n)
    try:
        pika_hub.declare_hub(codes[:1])
        kombu_env.hub().declare_hub(codes)  # same arguments: an idempotent redeclaration
        pika_hub.declare_hub(codes)
    finally:
        pika_hub.close()
    assert kombu_env.admin is not None
    args = kombu_env.admin.queue_arguments(n.inbox(codes[1]))
    assert (args["type"], args["x-dead-letter-exchange"]) == ("quorum", n.dead_letter_exchange)


@pytest.mark.rabbitmq
def test_open_transport_gives_the_hub_pika_and_agencies_kombu(kombu_env: BrokerEnv, amqp_url: str) -> None:
    (a,) = provisioned(kombu_env, "a")
    n = kombu_env.names
    nodes = [url_of(kombu_env, amqp_url, n.hub_user, node=DEAD_NODE), url_of(kombu_env, amqp_url, n.hub_user)]
    hub_url = ";".join(nodes)
    hub = open_transport(hub_url, names=n, role="hub")
    agency = open_transport(agency_url(kombu_env, amqp_url, a), names=n, role="agency")
    try:
        assert isinstance(hub, RabbitMQTransport)
        assert isinstance(agency, KombuTransport)
        agency.publish(n.ingress_exchange, a, b"x", message_id="m-1")
        [d] = collect(hub, n.ingress_queue, want=1)
        assert d.user_id == n.agency_user(a)
    finally:
        hub.close()
        agency.close()


# --- the connector runtime, agencies on kombu, the hub on pika -----------------------------------


class AgenciesOnKombuWorld(World):
    """The conformance world as deployed: the hub on pika, the connector's agency and its peer on kombu.

    Provisioned as ``conformance_rabbitmq`` provisions it (a vhost of its own, one user per agency).
    """

    def _transports(self, amqp_url: str | None) -> Callable[[str], Transport]:
        assert amqp_url is not None
        names = self.names
        admin = BrokerAdmin(management_url(amqp_url), vhost=names.prefix, names=names)
        admin.ensure_vhost()
        self._cleanups.append(admin.delete_vhost)
        password = secrets.token_hex(12)
        admin.add_hub_user(password)
        self._cleanups.append(lambda: admin.remove_user(names.hub_user))
        for code in (self.agency, self.peer_code):
            admin.add_agency(code, password)
            self._cleanups.append(lambda code=code: admin.remove_agency(code))  # type: ignore[misc]

        def connect(user: str) -> Transport:
            role = "hub" if user == names.hub_user else "agency"
            url = amqp_url_for(amqp_url, user, password, names.prefix)
            return open_transport(url, user=user, names=names, role=role)

        return connect


@pytest.mark.rabbitmq
@pytest.mark.slow
class TestFolderConnectorWithAgenciesOnKombu(folder_kit.TestFolderConnector):
    """The whole conformance kit, with every agency connection on kombu."""

    transport = "rabbitmq"

    @pytest.fixture
    def world(  # type: ignore[override]
        self, tmp_path: Path, connector_factory: Any, vbus_conformance_identities: Identities, amqp_url: str
    ) -> Iterator[World]:
        w = AgenciesOnKombuWorld(tmp_path / "world", connector_factory, transport="rabbitmq",
                                 amqp_url=amqp_url, identities=vbus_conformance_identities)
        assert isinstance(w.hub_transport, RabbitMQTransport)
        assert isinstance(w.peer.client.transport, KombuTransport)
        try:
            yield w
        finally:
            w.close()


@pytest.mark.rabbitmq
def test_a_letter_goes_from_a_kombu_agency_through_a_pika_hub_to_a_kombu_agency_and_back(
    tmp_path: Path, vbus_conformance_identities: Identities, amqp_url: str
) -> None:
    from connectors.folder import FolderConnector

    dms = folder_kit.FolderDms(tmp_path / "dms")
    config = {"root": str(dms.root), "settle_seconds": 0}
    world = AgenciesOnKombuWorld(
        tmp_path / "world", lambda ctx: FolderConnector.from_config(config, ctx),
        transport="rabbitmq", amqp_url=amqp_url, identities=vbus_conformance_identities,
    )
    try:
        outgoing = dms.put_outgoing(world.document(world.agency, world.peer_code, subject="Qua kombu"))
        world.pump()
        assert isinstance(world.runtime().client.transport, KombuTransport)
        [got] = world.peer_inbox()
        assert (got.signer, got.package.subject) == (world.agency, "Qua kombu")  # type: ignore[union-attr]
        assert dms.outgoing_state(outgoing) == "sent"

        doc_id = world.peer_sends(world.document(world.peer_code, world.agency, subject="Trả lời"))
        world.pump()
        assert dms.delivered() == [doc_id]
        statuses = [i for i in world.peer_inbox() if i.kind == "status"]
        assert statuses, "the connector's agency acknowledges what it received"
    finally:
        world.close()


@pytest.mark.rabbitmq
def test_a_double_ack_is_refused_before_it_reaches_the_broker_and_consuming_goes_on(
    kombu_env: BrokerEnv,
) -> None:
    (a,) = provisioned(kombu_env, "a")
    n, hub, agency = kombu_env.names, kombu_env.hub(), kombu_env.agency(a)
    hub.publish(n.delivery_exchange, a, b"x", message_id="m-1")
    d = get_eventually(agency, n.inbox(a))
    assert d is not None
    agency.ack(d)
    with pytest.raises(TransportError, match="m-1"):
        agency.ack(d)
    hub.publish(n.delivery_exchange, a, b"y", message_id="m-2")
    assert [d.message_id for d in collect(agency, n.inbox(a), want=1)] == ["m-2"]


@pytest.mark.rabbitmq
def test_a_message_got_before_a_refused_get_is_redelivered_not_acked_by_a_stale_tag(
    kombu_env: BrokerEnv,
) -> None:
    a, b = provisioned(kombu_env, "a", "b")
    n, hub, agency = kombu_env.names, kombu_env.hub(), kombu_env.agency(a)
    hub.publish(n.delivery_exchange, a, b"x", message_id="m-1")
    first = get_eventually(agency, n.inbox(a))
    assert first is not None
    with pytest.raises(AccessRefused):
        agency.get(n.inbox(b))  # the broker closes the channel: what it handed out goes back
    agency.ack(first)  # stale: a no-op, not an ack of whatever now has its tag
    again = get_eventually(agency, n.inbox(a))
    assert again is not None
    assert (again.message_id, again.redelivered) == ("m-1", True)
    agency.ack(again)
    assert agency.get(n.inbox(a)) is None


@pytest.mark.rabbitmq
def test_an_agency_rejection_is_parked_by_the_broker_with_where_it_came_from(kombu_env: BrokerEnv) -> None:
    # An agency may not publish to the dead-letter exchange: its reject goes through the broker's own
    # dead-lettering, as with the pika transport.
    (a,) = provisioned(kombu_env, "a")
    n, hub, agency = kombu_env.names, kombu_env.hub(), kombu_env.agency(a)
    hub.publish(n.delivery_exchange, a, b"tampered", message_id="m-1")
    [d] = collect(agency, n.inbox(a), want=1, ack=False)
    agency.reject(d, requeue=False, reason="signature-invalid")

    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert (parked.message_id, parked.body) == ("m-1", b"tampered")
    assert parked.headers[h.PARKED_FROM] == n.inbox(a)
    assert "rejected" in parked.headers[h.PARK_REASON]
    agency.publish(n.ingress_exchange, a, b"still usable", message_id="m-2")


# --- a consumer the broker cancels (basic.cancel) ----------------------------------------------------


def wait_for(agency: Transport, got: list[Delivery], count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        agency.drain(0.2)


@pytest.mark.rabbitmq
def test_an_agency_whose_consumer_the_broker_cancelled_consumes_again_on_the_same_connection(
    kombu_env: BrokerEnv, caplog: pytest.LogCaptureFixture
) -> None:
    # RabbitMQ sends basic.cancel when the consumed queue goes away (deleted, or a quorum queue's member
    # restarting under a client that reached its node while it was still starting). py-amqp raised it
    # as a lost connection: kombu reconnected (to the next node of the list), the re-consume found no
    # queue, and `drain` raised QueueNotFound until the hub made the inbox again.
    (a,) = provisioned(kombu_env, "a")
    n, hub, agency, admin = kombu_env.names, kombu_env.hub(), kombu_env.agency(a), kombu_env.admin
    assert isinstance(agency, KombuTransport)
    assert admin is not None
    got: list[Delivery] = []
    agency.consume(n.inbox(a), got.append, prefetch=4)
    hub.publish(n.delivery_exchange, a, b"before", message_id="m-before")
    wait_for(agency, got, 1)
    [before] = got
    admin.delete_queue(n.inbox(a))  # the broker cancels the agency's consumer
    for _ in range(5):
        agency.drain(0.2)  # the cancel arrives; no queue to consume from yet: retried, not raised
    hub.declare_inbox(a)  # the inbox is back, as the hub provisions it
    hub.publish(n.delivery_exchange, a, b"after", message_id="m-after")
    wait_for(agency, got, 2)
    assert [d.message_id for d in got] == ["m-before", "m-after"]
    assert agency.reconnects == 0  # a cancel is not a lost connection
    assert agency.consumer_restarts >= 1
    assert "cancelled by the broker" in caplog.text
    restarts = agency.consumer_restarts
    # ``before`` came on the cancelled consumer's channel: its tag is stale, a no-op. Sent on the new
    # channel it would have acked m-after (the same tag number there), and the next ack would close it.
    agency.ack(before)
    agency.ack(got[1])
    agency.drain(0.5)
    assert agency.consumer_restarts == restarts
    assert len(got) == 2
    assert hub.queue_depth(n.inbox(a)) == 0
    assert admin.queue_arguments(n.inbox(a))  # still there


@pytest.mark.rabbitmq
def test_a_cancel_read_while_publishing_neither_reconnects_nor_fails_the_publish(
    kombu_env: BrokerEnv,
) -> None:
    # py-amqp reads whatever frame comes while it waits for a publish's confirm. A basic.cancel among
    # them was raised as a lost connection: kombu reconnected, consuming again found no inbox, and the
    # publish failed with QueueNotFound: an agency whose inbox was gone could not send either.
    (a,) = provisioned(kombu_env, "a")
    n, hub, agency, admin = kombu_env.names, kombu_env.hub(), kombu_env.agency(a), kombu_env.admin
    assert isinstance(agency, KombuTransport)
    assert admin is not None
    agency.consume(n.inbox(a), lambda d: None)
    admin.delete_queue(n.inbox(a))  # the cancel waits on the agency's socket
    time.sleep(0.5)
    agency.publish(n.ingress_exchange, a, b"x", message_id="m-1")
    assert agency.reconnects == 0
    got = collect(hub, n.ingress_queue, want=2, timeout=2)
    assert [d.message_id for d in got] == ["m-1"]
