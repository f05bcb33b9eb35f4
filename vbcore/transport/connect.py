"""Open the right RabbitMQ transport for a role: pika for the hub, kombu for agencies.

``open_transport(url, role=...)`` is what the CLI and the connector runtime call; nothing above the
transport layer names a client library.

- ``role="agency"`` (connectors, ``vb send``): ``KombuTransport``. ``url`` may list several broker
  nodes separated by ``;`` (``amqp://a:pw@h1:5672/vbus;amqp://a:pw@h2:5672/vbus``): the transport
  connects to the first that answers and fails over to the next when its node goes away.
- ``role="hub"``: ``RabbitMQTransport`` (pika, many confirms outstanding: the hub's hot path). Given
  several nodes it opens the first that answers and, when that connection drops, cycles over every
  node of the list until one answers (``reconnect_timeout=None``: for ever, what ``vb hub run`` does).

Why the split is explained in ``kombu_transport`` and ``rabbitmq``.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from vbcore.errors import ConfigurationError
from vbcore.tls import masked, share_parameters
from vbcore.transport.base import Transport
from vbcore.transport.names import Names

Role = Literal["agency", "hub"]
SCHEMES = ("amqp", "amqps")
# How long a hub transport other than a running hub's waits for a lost connection to come back.
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
    url: str,
    *,
    user: str | None = None,
    names: Names | None = None,
    role: Role = "agency",
    reconnect_timeout: float | None = HUB_RECONNECT_TIMEOUT,
) -> Transport:
    """Connect as ``user`` (default: the URL's user) with the transport that fits ``role``;
    ``reconnect_timeout`` is the hub's (None: wait for a node for ever)."""
    nodes = broker_nodes(url)
    if role == "agency":
        from vbcore.transport.kombu_transport import KombuTransport

        return KombuTransport(";".join(nodes), names, user)
    if role == "hub":
        from vbcore.transport.rabbitmq import RabbitMQTransport

        return RabbitMQTransport(";".join(nodes), names, user, reconnect_timeout=reconnect_timeout)
    raise ConfigurationError(f"unknown transport role {role!r} (agency or hub)")
