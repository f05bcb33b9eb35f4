"""The monitoring options of the long-running commands (``vb hub run``, ``vb connector run``): the
listener of ``/metrics``, ``/healthz`` and ``/readyz`` (``vbcore.probes``), and systemd's notify socket
when the unit asks for it (``vbcore.watchdog``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import click

from vbcore.metrics import Registry
from vbcore.probes import DEFAULT_HOST, Heartbeat, ProbeServer, Readiness
from vbcore.watchdog import SystemdNotifier

F = TypeVar("F", bound=Callable[..., Any])


class Monitored(Protocol):
    """What the hub's and the connector's metrics (``HubMetrics``, ``ConnectorMetrics``) share."""

    registry: Registry
    heartbeat: Heartbeat

    def readiness(self) -> Readiness: ...


def metrics_options(f: F) -> F:
    """``--metrics-port`` (none: no listener) and ``--metrics-host``."""
    f = click.option(
        "--metrics-host", default=DEFAULT_HOST, show_default=True,
        help="Address of the /metrics, /healthz and /readyz listener (keep it off agencies' networks).",
    )(f)  # fmt: skip
    return click.option(
        "--metrics-port", type=click.IntRange(0, 65535), default=None,
        help="Serve /metrics (Prometheus), /healthz and /readyz on this port [default: no listener].",
    )(f)  # fmt: skip


@contextmanager
def monitored(metrics: Monitored, *, host: str, port: int | None) -> Iterator[ProbeServer | None]:
    """The listener (when ``port`` is given) and systemd's notifier (when systemd gave a socket), for
    the time of the ``with`` block."""
    server = None
    if port is not None:
        server = ProbeServer(exposition=metrics.registry.exposition, heartbeat=metrics.heartbeat,
                             readiness=metrics.readiness, host=host, port=port)  # fmt: skip
        server.start()  # OSError (the port is taken) ends the command in one line
    notifier = SystemdNotifier.from_environment(metrics.heartbeat)
    if notifier is not None:
        notifier.start()
    try:
        yield server
    finally:
        if notifier is not None:
            notifier.close()
        if server is not None:
            server.close()
