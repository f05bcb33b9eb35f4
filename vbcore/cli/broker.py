"""The broker options every ``vb`` command that touches RabbitMQ shares, declared once.

``--broker`` (``VBUS_BROKER``), ``--vhost`` (``VBUS_VHOST``), ``--prefix`` (``VBUS_PREFIX``) and
``--management-url`` (``VBUS_MANAGEMENT_URL``): set them once in the environment and ``vb agency add``,
``vb hub run``, ``vb queues``, ``vb parked``, ``vb send`` and ``vb connector run`` all act on the same
installation. The vhost rule (``--vhost``, else the broker URL's, else ``/``; a URL naming another
vhost than ``--vhost`` is refused) is ``vbcore.transport.vhosts``; ``target`` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from vbcore.transport.names import Names
from vbcore.transport.vhosts import resolve_vhost, with_vhost

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT = "http://guest:guest@127.0.0.1:15672"
DEFAULT_PREFIX = "vbus"


HUB_BROKER_HELP = "AMQP URL with the hub's user and password"


def broker_option(help_text: str = HUB_BROKER_HELP) -> Callable[[F], F]:
    """``--broker URL`` [``VBUS_BROKER``]; ``help_text`` says whose user the URL carries."""
    return click.option(
        "--broker",
        default=DEFAULT_BROKER,
        show_default=True,
        envvar="VBUS_BROKER",
        help=f"{help_text} [env VBUS_BROKER]; `;` separates failover nodes.",
    )


vhost_option = click.option(
    "--vhost",
    default=None,
    envvar="VBUS_VHOST",
    help="The installation's RabbitMQ vhost [env VBUS_VHOST; default: the broker URL's, else /].",
)
prefix_option = click.option(
    "--prefix",
    default=DEFAULT_PREFIX,
    show_default=True,
    envvar="VBUS_PREFIX",
    help="Name prefix of this installation [env VBUS_PREFIX].",
)
management_option = click.option(
    "--management-url",
    default=DEFAULT_MANAGEMENT,
    show_default=True,
    envvar="VBUS_MANAGEMENT_URL",
    help="RabbitMQ management API, with an administrator's user and password [env VBUS_MANAGEMENT_URL].",
)


@dataclass(frozen=True)
class Target:
    """Where a command acts: the broker URL (naming the vhost), the vhost, the installation's names."""

    url: str
    vhost: str
    names: Names


def target(broker: str, vhost: str | None, prefix: str = DEFAULT_PREFIX) -> Target:
    """The one vhost of this run (``vbcore.transport.vhosts``) and the broker URL that names it."""
    chosen = resolve_vhost(broker, vhost)
    return Target(with_vhost(broker, chosen), chosen, Names(prefix=prefix))
