"""Open the right RabbitMQ transport for a role: pika for the hub, kombu for agencies.

``open_transport(url, role=...)`` is what the CLI and the connector runtime call; nothing above the
transport layer names a client library.

- ``role="agency"`` (connectors, ``vb send``): ``KombuTransport``. ``url`` may list several broker
  nodes separated by ``;`` (``amqp://a:pw@h1:5672/vbus;amqp://a:pw@h2:5672/vbus``): the transport
  connects to the first that answers and fails over to the next when its node goes away.
- ``role="hub"``: ``RabbitMQTransport`` (pika, many confirms outstanding: the hub's hot path). pika's
  transport reconnects to the node it opened; given several nodes, the hub opens the first that
  answers (a hub normally runs next to its broker).

Why the split is explained in ``kombu_transport`` and ``rabbitmq``.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from vbcore.errors import ConfigurationError, ConnectionLost
from vbcore.tls import masked, share_parameters
from vbcore.transport.base import Transport
from vbcore.transport.names import Names

Role = Literal["agency", "hub"]
SCHEMES = ("amqp", "amqps")
# How long the hub waits for each node but the last before trying the next one, and how long it
# waits for its node to come back once connected (a broker restart).
HUB_NODE_TIMEOUT = 5.0
HUB_RECONNECT_TIMEOUT = 60.0


def broker_nodes(url: str) -> list[str]:
    """The broker URLs in ``url`` (``;``-separated failover nodes), each checked to be AMQP; TLS
    parameters given once apply to every node (``vbcore.tls.share_parameters``)."""
    nodes = share_parameters([part.strip() for part in url.split(";") if part.strip()])
    if not nodes:
        raise ConfigurationError("no broker URL given")
    for node in nodes:
        scheme = urlsplit(node).scheme
        if scheme not in SCHEMES:
            raise ConfigurationError(f"broker URL {masked(node)!r} is not amqp:// or amqps://")
    return nodes


def open_transport(
    url: str, *, user: str | None = None, names: Names | None = None, role: Role = "agency"
) -> Transport:
    """Connect as ``user`` (default: the URL's user) with the transport that fits ``role``."""
    nodes = broker_nodes(url)
    if role == "agency":
        from vbcore.transport.kombu_transport import KombuTransport

        return KombuTransport(";".join(nodes), names, user)
    if role == "hub":
        return _open_hub(nodes, names, user)
    raise ConfigurationError(f"unknown transport role {role!r} (agency or hub)")


def _open_hub(nodes: list[str], names: Names | None, user: str | None) -> Transport:
    from vbcore.transport.rabbitmq import RabbitMQTransport

    last: ConnectionLost | None = None
    for i, node in enumerate(nodes):
        timeout = HUB_RECONNECT_TIMEOUT if i == len(nodes) - 1 else HUB_NODE_TIMEOUT
        try:
            transport = RabbitMQTransport(node, names, user, reconnect_timeout=timeout)
        except ConnectionLost as e:
            last = e
            continue
        transport.reconnect_timeout = HUB_RECONNECT_TIMEOUT
        return transport
    assert last is not None
    raise last
