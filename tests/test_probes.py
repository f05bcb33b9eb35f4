"""/metrics, /healthz and /readyz over real HTTP, and systemd's notify protocol on a real datagram socket."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from vbcore.hub.metrics import HubMetrics
from vbcore.probes import ProbeServer
from vbcore.watchdog import SystemdNotifier


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hub_metrics() -> HubMetrics:
    metrics = HubMetrics(hub_id="vbus.hub-test")
    metrics.heartbeat.clock = Clock()
    return metrics


@pytest.fixture
def server(hub_metrics: HubMetrics) -> Iterator[str]:
    probes = ProbeServer(exposition=hub_metrics.registry.exposition, heartbeat=hub_metrics.heartbeat,
                         readiness=hub_metrics.readiness)  # fmt: skip
    host, port = probes.start()
    yield f"http://{host}:{port}"
    probes.close()


def get(url: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_metrics_are_served_in_prometheus_text_format(server: str, hub_metrics: HubMetrics) -> None:
    hub_metrics.queues(parked=7, ingress=3)
    status, content_type, body = get(server + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert "vbus_hub_parked_messages 7.0" in body
    assert 'vbus_hub_info{hub_id="vbus.hub-test",version="' in body
    assert "# TYPE vbus_hub_pipeline_seconds histogram" in body


def test_healthz_says_alive_only_while_the_main_loop_turns(server: str, hub_metrics: HubMetrics) -> None:
    assert get(server + "/healthz")[::2] == (503, "starting\n")
    hub_metrics.beat()
    assert get(server + "/healthz")[::2] == (200, "alive\n")
    hub_metrics.heartbeat.clock.now += 61  # type: ignore[attr-defined]
    assert get(server + "/healthz")[::2] == (503, "stalled\n")


def test_readyz_answers_503_with_the_reasons_then_200(server: str, hub_metrics: HubMetrics) -> None:
    status, content_type, body = get(server + "/readyz")
    assert (status, content_type) == (503, "application/json; charset=utf-8")
    assert json.loads(body) == {"ready": False, "reasons": ["not-consuming", "stalled"]}
    hub_metrics.consuming(True)
    hub_metrics.beat()
    assert get(server + "/readyz")[::2] == (200, '{"ready": true, "reasons": []}')
    assert get(server + "/readyz", method="HEAD")[0] == 200


def test_unknown_paths_and_queries_are_answered_without_harm(server: str) -> None:
    assert get(server + "/")[0] == 404
    assert get(server + "/metrics/../../etc/passwd")[0] == 404
    assert get(server + "/healthz?verbose=1")[0] == 503  # the query is ignored
    assert get(server + "/" + "a" * 5000)[0] == 404


def test_a_client_that_sends_nothing_does_not_block_the_others(server: str, hub_metrics: HubMetrics) -> None:
    host, port = server.removeprefix("http://").split(":")
    silent = [socket.create_connection((host, int(port))) for _ in range(20)]
    try:
        hub_metrics.beat()
        started = time.monotonic()
        assert get(server + "/healthz")[0] == 200
        assert time.monotonic() - started < 2
    finally:
        for s in silent:
            s.close()


def test_the_listener_refuses_a_port_that_is_taken(hub_metrics: HubMetrics) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            ProbeServer(exposition=hub_metrics.registry.exposition, heartbeat=hub_metrics.heartbeat,
                        readiness=hub_metrics.readiness, port=taken.getsockname()[1])  # fmt: skip


# --- systemd ------------------------------------------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            return got


def test_systemd_hears_ready_at_the_first_beat_then_the_watchdog_while_the_loop_turns(
    notify_socket: tuple[str, socket.socket], hub_metrics: HubMetrics
) -> None:
    path, sock = notify_socket
    notifier = SystemdNotifier.from_environment(
        hub_metrics.heartbeat, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"}
    )
    assert notifier is not None
    assert notifier.watchdog_seconds == 30
    notifier.tick()
    assert received(sock) == []  # not started: systemd keeps waiting
    hub_metrics.beat()
    notifier.tick()
    assert received(sock) == ["READY=1", "WATCHDOG=1"]
    hub_metrics.heartbeat.clock.now += 10  # type: ignore[attr-defined]
    notifier.tick()
    assert received(sock) == ["WATCHDOG=1"]
    hub_metrics.heartbeat.clock.now += 10  # the loop has not turned for 20 s: past half the period
    notifier.tick()
    assert received(sock) == []  # systemd will restart it after WatchdogSec
    notifier.close()
    assert received(sock) == ["STOPPING=1"]


def test_without_systemd_nothing_is_sent_and_a_vanished_socket_is_only_logged(
    notify_socket: tuple[str, socket.socket], hub_metrics: HubMetrics, tmp_path: Path
) -> None:
    assert SystemdNotifier.from_environment(hub_metrics.heartbeat, {}) is None
    gone = SystemdNotifier(str(tmp_path / "no-such-socket"), hub_metrics.heartbeat)
    hub_metrics.beat()
    gone.tick()
    assert not gone.ready_sent


def test_the_notifier_thread_sends_ready_by_itself(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    metrics = HubMetrics()
    notifier = SystemdNotifier.from_environment(metrics.heartbeat, {"NOTIFY_SOCKET": path})
    assert notifier is not None
    notifier.start()
    metrics.beat()
    deadline = time.monotonic() + 5
    got: list[str] = []
    while "READY=1" not in got and time.monotonic() < deadline:
        got += received(sock)
    notifier.close()
    assert "READY=1" in got
