"""amqps between the hub (pika), agencies (kombu) and a broker that speaks TLS only, and HTTPS to its
management API: the server's certificate is always checked (chain and name), a client without a
certificate from the broker's CA is refused, and a plain connection gets an error that names TLS.

Against a RabbitMQ node of the session's own (``tls_rabbitmq``, configured by docs/deployment-tls.md:
no plain listener, ``verify_peer`` with ``fail_if_no_peer_cert``), never the machine's shared broker.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from own_rabbitmq import free_port
from own_tls import TlsNode, client_certificate_refused

from vbcore.cli import vb
from vbcore.errors import ConnectionLost, TlsSettingsInvalid, TlsVerificationFailed
from vbcore.tls import split_url
from vbcore.transport.base import Delivery
from vbcore.transport.connect import open_transport
from vbcore.transport.kombu_transport import KombuTransport, RetryPolicy
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: a node of its own (about 7 s to start)

QUICK = RetryPolicy(max_retries=2, interval_start=0.1, interval_step=0.1, interval_max=0.2)
CODE = "000.00.00.G22"


def hub(url: str, names: Names | None = None) -> RabbitMQTransport:
    return RabbitMQTransport(url, names=names, reconnect_timeout=2)


def agency(url: str, names: Names | None = None) -> KombuTransport:
    return KombuTransport(url, names=names, retry=QUICK)


CLIENTS = [pytest.param(hub, id="pika-hub"), pytest.param(agency, id="kombu-agency")]


def connections(node: TlsNode) -> list[dict[str, object]]:
    """The broker's view of its client connections, over HTTPS with the test CA (``vbcore.tls``)."""
    clean, tls = split_url(f"{node.management_url.replace('guest:guest@', '')}")
    assert tls is not None
    request = urllib.request.Request(f"{clean.split('?')[0]}/api/connections")
    request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
    with urllib.request.urlopen(request, context=tls.context(), timeout=10) as response:
        return list(json.loads(response.read()))


def rogue_ca(node: TlsNode, url: str) -> str:
    """``url`` with a CA that did not issue the broker's certificate (the path as is, or encoded)."""
    ca, rogue = str(node.pki.ca), str(node.pki.rogue / "ca.pem")
    changed = url.replace(ca, rogue).replace(quote(ca, safe=""), quote(rogue, safe=""))
    assert changed != url
    return changed


def test_the_hub_and_an_agency_exchange_messages_over_tls_and_the_broker_sees_tls_connections(
    tls_rabbitmq: TlsNode, unique_prefix: str
) -> None:
    names = Names(prefix=unique_prefix, user_prefix="")
    url = tls_rabbitmq.url("guest", "guest")
    with hub(url, names) as h, agency(url, names) as a:
        h.declare_hub([CODE])
        a.publish(names.ingress_exchange, CODE, b"x" * 10_000, message_id="to-hub")
        got: list[Delivery] = []
        h.consume(names.ingress_queue, got.append, prefetch=4)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            h.drain(0.2)
        assert [d.message_id for d in got] == ["to-hub"]
        assert got[0].user_id == "guest"  # the broker checked it against the login, over TLS
        h.ack(got[0])
        h.publish(names.delivery_exchange, CODE, b"answer", message_id="to-agency")
        deadline = time.monotonic() + 10
        received = a.get(names.inbox(CODE))
        while received is None and time.monotonic() < deadline:
            time.sleep(0.1)
            received = a.get(names.inbox(CODE))
        assert received is not None
        assert received.body == b"answer"
        a.ack(received)
        mine: list[dict[str, object]] = []
        deadline = time.monotonic() + 20  # the management API lists connections every few seconds
        while len(mine) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            mine = [c for c in connections(tls_rabbitmq) if c.get("user") == "guest"]
        assert len(mine) >= 2
        assert all(c["ssl"] is True for c in mine)
        assert {c["ssl_protocol"] for c in mine} <= {"tlsv1.3", "tlsv1.2"}


@pytest.mark.parametrize("client", [RabbitMQTransport, KombuTransport])  # with their own retry policies
def test_a_broker_certificate_from_a_ca_not_given_is_refused_at_once_saying_to_give_the_ca(
    tls_rabbitmq: TlsNode, client: object
) -> None:
    url = rogue_ca(tls_rabbitmq, tls_rabbitmq.url("guest", "guest"))
    started = time.monotonic()
    with pytest.raises(TlsVerificationFailed) as refused:
        client(url)  # type: ignore[operator]
    assert time.monotonic() - started < 10  # not retried for 20-60 s as if the broker were down
    assert "does not verify" in str(refused.value)
    assert "cacertfile" in str(refused.value)
    assert "hãy chỉ CA đã cấp nó" in refused.value.describe("vi")


@pytest.mark.parametrize("client", CLIENTS)
def test_a_broker_reached_by_an_address_its_certificate_does_not_name_is_refused(
    tls_rabbitmq: TlsNode, client: object
) -> None:
    """The broker's certificate names ``localhost`` only: by 127.0.0.1 the host name check fails."""
    with pytest.raises(TlsVerificationFailed, match=r"another name.*127\.0\.0\.1"):
        client(tls_rabbitmq.url("guest", "guest", host="127.0.0.1"))  # type: ignore[operator]
    # The name the certificate carries can be given apart from the address connected to.
    with client(tls_rabbitmq.url("guest", "guest", host="127.0.0.1",  # type: ignore[operator]
                                 server_name_indication="localhost")) as transport:
        assert transport.user == "guest"


@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_without_a_certificate_or_with_one_from_another_ca_is_refused_in_the_handshake(
    tls_rabbitmq: TlsNode, client: object
) -> None:
    client_certificate_refused(lambda: client(tls_rabbitmq.url("guest", "guest", cert=False)))  # type: ignore[operator]
    rogue = tls_rabbitmq.pki.client("guest", rogue=True)
    client_certificate_refused(lambda: client(tls_rabbitmq.url("guest", "guest", cert=rogue)))  # type: ignore[operator]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_plain_connection_to_a_broker_without_a_plain_listener_names_tls_in_the_error(
    tls_rabbitmq: TlsNode, client: object
) -> None:
    """The broker side of "plain AMQP off": nothing listens where plain AMQP was (the node's plain port,
    unused), and the TLS port itself resets a client that does not speak TLS."""
    for port in (tls_rabbitmq.node.port, tls_rabbitmq.tls_port):
        with pytest.raises(ConnectionLost) as lost:
            client(f"amqp://guest:guest@localhost:{port}/%2F")  # type: ignore[operator]
        assert "refused a plain connection" in str(lost.value)
        assert "amqps://" in str(lost.value)
        assert "chỉ nhận TLS, hãy dùng amqps://" in lost.value.describe("vi")


def test_verification_off_reaches_a_local_broker_only_and_only_with_the_loud_option(
    tls_rabbitmq: TlsNode,
) -> None:
    url = rogue_ca(tls_rabbitmq, tls_rabbitmq.url("guest", "guest", insecure_skip_verify="true"))
    with hub(url) as h, agency(url) as a:
        assert h.user == a.user == "guest"
    with pytest.raises(TlsSettingsInvalid, match="verify="):
        hub(tls_rabbitmq.url("guest", "guest", verify="verify_none"))


def test_the_management_api_over_https_checks_the_broker_certificate_with_the_same_ca(
    tls_rabbitmq: TlsNode, tmp_path: Path
) -> None:
    admin = BrokerAdmin(tls_rabbitmq.management_url)
    admin.check_vhost()
    url, management = tls_rabbitmq.url("guest", "guest"), tls_rabbitmq.management_url
    result = CliRunner().invoke(vb, ["queues", "--management-url", management, "--broker", url])
    assert result.exit_code == 0, result.output
    rogue = rogue_ca(tls_rabbitmq, tls_rabbitmq.management_url)
    with pytest.raises(TlsVerificationFailed, match="does not verify"):
        BrokerAdmin(rogue).check_vhost()
    result = CliRunner().invoke(vb, ["--lang", "en", "queues", "--management-url", rogue])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "cacertfile" in result.output


def test_an_agency_fails_over_to_the_next_node_and_checks_that_nodes_own_name(tls_rabbitmq: TlsNode) -> None:
    """TLS parameters given once, on the first node of a ``;`` list, apply to every node; each node's
    certificate is checked against that node's own host (kombu alone would keep the first's)."""
    dead = free_port()
    first = tls_rabbitmq.url("guest", "guest").replace(f":{tls_rabbitmq.tls_port}/", f":{dead}/")
    second = f"amqps://guest:guest@localhost:{tls_rabbitmq.tls_port}/%2F"
    with open_transport(f"{first};{second}", role="agency") as transport:
        assert isinstance(transport, KombuTransport)
        assert transport.node.endswith(f":{tls_rabbitmq.tls_port}")  # kombu says 127.0.0.1 for localhost
    by_address = f"amqps://guest:guest@127.0.0.1:{tls_rabbitmq.tls_port}/%2F"
    with pytest.raises(TlsVerificationFailed, match=r"not valid for '127\.0\.0\.1'"):
        open_transport(f"{first};{by_address}", role="agency")


def test_the_hub_and_an_agency_reconnect_over_tls_after_the_broker_restarts(
    tls_rabbitmq: TlsNode, unique_prefix: str
) -> None:
    names = Names(prefix=unique_prefix, user_prefix="")
    url = tls_rabbitmq.url("guest", "guest")
    with RabbitMQTransport(url, names=names) as h, agency(url, names) as a:
        h.declare_hub([CODE])
        tls_rabbitmq.node.ctl("stop_app")  # every listener closes, every connection drops
        tls_rabbitmq.node.ctl("start_app")
        a.publish(names.ingress_exchange, CODE, b"after", message_id="after-restart")
        h.publish(names.delivery_exchange, CODE, b"after", message_id="after-restart")
        assert h.queue_depth(names.ingress_queue) == 1
        assert h.reconnects >= 1
        assert a.reconnects >= 1
