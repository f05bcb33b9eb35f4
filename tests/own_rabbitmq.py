"""A RabbitMQ node of the test's own: for what must never touch the shared broker.

A test that could break or restart a broker (a poisoned ``x-death`` that crashes RabbitMQ 3.10's
dead-letter worker should the fix regress, a broker restart) starts its own node: own node name,
ports, data and log directories and Erlang cookie, no plugins, run as a child process and stopped by
its pid at the end. Measured on the test machine: the AMQP port answers about 4 s after the start
(2 shared cores).

The node is started from Debian's ``/usr/lib/rabbitmq/bin/rabbitmq-server`` (the ``/usr/sbin`` wrapper
would switch to the ``rabbitmq`` user and lose the environment), else ``rabbitmq-server`` on the PATH.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

DEBIAN_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def server_command() -> str | None:
    """The ``rabbitmq-server`` script to start a node with, or None when RabbitMQ is not installed."""
    if DEBIAN_SERVER.exists():
        return str(DEBIAN_SERVER)
    return shutil.which("rabbitmq-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OwnNode:
    """One running node; ``url`` is its AMQP URL (guest, default vhost)."""

    name: str
    port: int
    base: Path
    command: str  # the rabbitmq-server script it was started with
    process: subprocess.Popen[bytes]
    started_in: float  # seconds from start to the AMQP port (and the management API) answering
    management_port: int | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def management_url(self) -> str:
        """For ``BrokerAdmin`` (a node started with ``management=True``)."""
        assert self.management_port is not None, "start the node with management=True"
        return f"http://guest:guest@127.0.0.1:{self.management_port}"

    @property
    def log_text(self) -> str:
        """Everything the node logged (to find, for instance, a crashed dead-letter worker)."""
        return "\n".join(p.read_text(errors="replace") for p in sorted((self.base / "log").glob("*.log")))

    def ctl(self, *args: str) -> str:
        """``rabbitmqctl`` against this node only (its name, its cookie); about 1 s a call."""
        ctl = Path(self.command).with_name("rabbitmqctl")
        env = {**os.environ, "HOME": str(self.base),
               "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf")}
        result = subprocess.run([str(ctl), "-q", "-n", self.name, *args], env=env, capture_output=True,
                                text=True, check=False, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {args[0]} on {self.name}: {result.stderr or result.stdout}")
        return result.stdout

    def add_user(self, user: str, password: str, configure: str, write: str, read: str) -> None:
        """A user with these permissions on the default vhost (as ``BrokerAdmin`` would grant them)."""
        self.ctl("add_user", user, password)
        self.ctl("set_permissions", "-p", "/", user, configure, write, read)

    def stop(self) -> None:
        """Stop the node by its own pid (SIGTERM: a clean shutdown), then its start script."""
        pid_file = self.base / "node.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def start_node(
    base: Path, *, management: bool = False, plain: bool = True, extra_config: str = "",
    plugins: tuple[str, ...] = (), wait_ports: tuple[int, ...] = (),
) -> OwnNode:
    """Start a node with everything under ``base``; return once its AMQP port (and, with
    ``management``, its management API) answers. ``plain=False``: no plain AMQP listener at all;
    ``extra_config`` (rabbitmq.conf lines), ``plugins`` and ``wait_ports`` for a TLS node (own_tls.py)."""
    command = server_command()
    if command is None:
        raise RuntimeError("rabbitmq-server is not installed")
    base.mkdir(parents=True, exist_ok=True)
    port, dist_port = free_port(), free_port()
    management_port = free_port() if management else None
    name = f"vbustest-{uuid.uuid4().hex[:8]}@localhost"
    config = f"listeners.tcp.default = 127.0.0.1:{port}\n" if plain else "listeners.tcp = none\n"
    if management_port is not None:
        config += f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {management_port}\n"
    (base / "rabbitmq.conf").write_text(config + extra_config)
    enabled = (["rabbitmq_management"] if management else []) + list(plugins)
    (base / "enabled_plugins").write_text(f"[{','.join(enabled)}].\n")
    (base / "rabbitmq-env.conf").write_text("")  # not the system's (which names the shared node)
    env = {
        **os.environ,
        "HOME": str(base),  # the Erlang cookie of this node only
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "node.pid"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }
    started = time.monotonic()
    output = (base / "server.out").open("wb")
    process = subprocess.Popen([command], env=env, stdout=output, stderr=subprocess.STDOUT, cwd=base)
    node = OwnNode(name, port, base, command, process, 0.0, management_port)
    waiting = [p for p in (port if plain else None, management_port, *wait_ports) if p is not None]
    deadline = started + START_TIMEOUT
    while waiting and time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited: {(base / 'server.out').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", waiting[0]), timeout=1):
                waiting.pop(0)
        except OSError:
            time.sleep(0.2)
    if waiting:
        node.stop()
        raise RuntimeError(f"rabbitmq-server did not open port {waiting[0]} within {START_TIMEOUT:.0f} s")
    node.started_in = time.monotonic() - started
    return node
