"""The conformance world on a real RabbitMQ: a vhost of its own, one broker user per agency and the hub.

Users are provisioned as ``BrokerAdmin`` provisions them in production (an agency may only publish to
the ingress exchange and read its own inbox; ``user_id`` is checked by the broker), through the
management API on the broker's host (port 15672, the AMQP URL's credentials), or
``VBUS_TEST_MANAGEMENT_URL``. Everything made here is removed again by the cleanups it registers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vbcore.transport import Transport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport


def rabbitmq_transports(
    amqp_url: str, names: Names, agencies: list[str], cleanups: list[Callable[[], Any]]
) -> Callable[[str], Transport]:
    """Provision a vhost named after ``names.prefix``; return ``connect(user) -> Transport``."""
    parts = urlsplit(amqp_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    admin_user, admin_password = unquote(parts.username or "guest"), unquote(parts.password or "guest")
    management = os.environ.get(
        "VBUS_TEST_MANAGEMENT_URL", f"http://{quote(admin_user)}:{quote(admin_password)}@{host}:15672"
    )
    vhost = names.prefix
    admin = BrokerAdmin(management, vhost=vhost, names=names)
    admin.ensure_vhost()
    cleanups.append(admin.delete_vhost)
    password = secrets.token_hex(12)
    admin.add_hub_user(password)
    cleanups.append(lambda: admin.remove_user(names.hub_user))
    for code in agencies:
        admin.add_agency(code, password)
        cleanups.append(lambda code=code: admin.remove_agency(code))  # type: ignore[misc]

    def connect(user: str) -> Transport:
        url = f"amqp://{quote(user, safe='')}:{password}@{host}:{port}/{quote(vhost, safe='')}"
        return RabbitMQTransport(url, names, user=user)

    return connect
