"""What tells the outside a process is alive and ready: ``/metrics``, ``/healthz`` and ``/readyz`` on a
small HTTP listener of its own (standard library), for Prometheus, a load balancer or systemd.

- ``/healthz``: 200 while the process's main loop turns (its ``Heartbeat`` beat within
  ``ALIVE_SECONDS``), else 503. A process stuck in a deadlock is not alive, even though this listener,
  in a thread of its own, still answers.
- ``/readyz``: 200 while the process does its work (the hub: connected to the broker and the store,
  consuming, no batch held by an outage), else 503; the body is JSON with the reasons in machine words.
- ``/metrics``: the process's registry (``vbcore.metrics``), in Prometheus's text format.

The listener binds the loopback address unless told otherwise: what it says is for the operator's
monitoring, not for agencies. It reads only what the main loop wrote (a heartbeat, the metrics, flags);
it never touches the store or the broker, which are not shared between threads.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vbcore.logging import get_logger

log = get_logger("vbus.probes")

ALIVE_SECONDS = 60.0
"""A main loop that has not turned for this long is not alive (``/healthz`` 503). The hub's loop turns
every few milliseconds; a batch of 10,000 recipients takes about a second; a broker connection attempt
gives up after 5 s."""
DEFAULT_HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0  # seconds a client may take to send its request: a slow one does not hold a thread
JSON_TYPE = "application/json; charset=utf-8"


class Heartbeat:
    """The main loop calls ``beat()`` each turn; other threads ask whether it still turns."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: float | None = None

    def beat(self) -> None:
        self._last = self.clock()

    @property
    def started(self) -> bool:
        return self._last is not None

    def fresh(self, within: float = ALIVE_SECONDS) -> bool:
        """The loop turned within ``within`` seconds (False before its first turn)."""
        return self._last is not None and self.clock() - self._last <= within


@dataclass(frozen=True)
class Readiness:
    """Whether the process does its work now, and if not, why (machine words: ``outage-hold``...)."""

    ready: bool
    reasons: tuple[str, ...] = ()

    def json(self) -> bytes:
        return json.dumps({"ready": self.ready, "reasons": list(self.reasons)}).encode()


class ProbeServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` in a background thread; ``start`` returns where it
    listens (port 0: any free one), ``close`` stops it."""

    def __init__(
        self,
        *,
        exposition: Callable[[], tuple[bytes, str]],
        heartbeat: Heartbeat,
        readiness: Callable[[], Readiness],
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {
            "/metrics": lambda: (HTTPStatus.OK, *exposition()),
            "/healthz": lambda: _alive(heartbeat),
            "/readyz": lambda: _ready(readiness()),
        }
        self._server = ThreadingHTTPServer((host, port), _handler(routes))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="vbus-probes", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> tuple[str, int]:
        self._thread.start()
        log.info("probes.listening", host=self.address[0], port=self.address[1])
        return self.address

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=REQUEST_TIMEOUT)


def _alive(heartbeat: Heartbeat) -> tuple[int, bytes, str]:
    if heartbeat.fresh():
        return HTTPStatus.OK, b"alive\n", "text/plain; charset=utf-8"
    state = b"starting\n" if not heartbeat.started else b"stalled\n"
    return HTTPStatus.SERVICE_UNAVAILABLE, state, "text/plain; charset=utf-8"


def _ready(readiness: Readiness) -> tuple[int, bytes, str]:
    status = HTTPStatus.OK if readiness.ready else HTTPStatus.SERVICE_UNAVAILABLE
    return status, readiness.json(), JSON_TYPE


def _handler(routes: dict[str, Callable[[], tuple[int, bytes, str]]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT
        server_version = "vbus"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            status: int
            if route is None:
                status, data, content_type = HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8"
            else:
                try:
                    status, data, content_type = route()
                except Exception:  # a probe must answer; the failure is the operator's to read
                    log.exception("probes.failed", path=self.path[:100])
                    status, data, content_type = HTTPStatus.INTERNAL_SERVER_ERROR, b"error\n", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds are not news: nothing in the log."""

    return Handler
