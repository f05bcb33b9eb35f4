"""A RabbitMQ node of the test's own: for what must never touch the shared broker.

A test that could break or restart a broker (a poisoned ``x-death`` that crashes RabbitMQ 3.10's
dead-letter worker should the fix regress, a broker restart) starts its own node: own node name,
ports, data and log directories and Erlang cookie, no plugins, run as a child process and stopped by
its pid at the end. Measured on the test machine: the AMQP port answers about 4 s after the start
(2 shared cores).

``start_cluster`` starts three such nodes with one Erlang cookie and joins them into a cluster
(``rabbitmqctl join_cluster``), with the partition handling docs/deployment.md gives; a node of it can
be stopped (``stop``), its Erlang VM killed (``kill``) and started again with its name, ports and data
(``start``).

The node is started from Debian's ``/usr/lib/rabbitmq/bin/rabbitmq-server`` (the ``/usr/sbin`` wrapper
would switch to the ``rabbitmq`` user and lose the environment), else ``rabbitmq-server`` on the PATH.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
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
    env: dict[str, str] = field(default_factory=dict)  # what it was started with (``start`` again)
    wait_ports: tuple[int, ...] = ()

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

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def ctl(self, *args: str, timeout: float = 60, tool: str = "rabbitmqctl") -> str:
        """``rabbitmqctl`` (or ``tool``: ``rabbitmq-queues``, ...) against this node only (its name, its
        cookie); about 1 s a call."""
        ctl = Path(self.command).with_name(tool)
        env = {**os.environ, "HOME": str(self.base),
               "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf")}
        result = subprocess.run([str(ctl), "-q", "-n", self.name, *args], env=env, capture_output=True,
                                text=True, check=False, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {args[0]} on {self.name}: {result.stderr or result.stdout}")
        return result.stdout

    def add_user(self, user: str, password: str, configure: str, write: str, read: str) -> None:
        """A user with these permissions on the default vhost (as ``BrokerAdmin`` would grant them)."""
        self.ctl("add_user", user, password)
        self.ctl("set_permissions", "-p", "/", user, configure, write, read)

    def _vm_pid(self) -> int | None:
        try:
            return int((self.base / "node.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the node by its own pid (SIGTERM: a clean shutdown), then its start script."""
        pid = self._vm_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the node's Erlang VM at once (SIGKILL: a crash, nothing flushed, no goodbye to clients)."""
        pid = self._vm_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)
        (self.base / "node.pid").unlink(missing_ok=True)

    def start(self) -> None:
        """Start the stopped node again: same name, ports, data and cookie."""
        assert not self.running, f"{self.name} is running"
        started = time.monotonic()
        self.process = _launch(self.command, self.env, self.base)
        self._wait(started)
        self.started_in = time.monotonic() - started

    def _wait(self, started: float) -> None:
        waiting = list(self.wait_ports)
        deadline = started + START_TIMEOUT
        while waiting and time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (self.base / "server.out").read_text()[-2000:]
                raise RuntimeError(f"rabbitmq-server exited: {output}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=1):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.2)
        if waiting:
            self.stop()
            raise RuntimeError(f"rabbitmq-server did not open port {waiting[0]} within {START_TIMEOUT:.0f} s")


def _launch(command: str, env: dict[str, str], base: Path) -> subprocess.Popen[bytes]:
    output = (base / "server.out").open("ab")
    return subprocess.Popen([command], env=env, stdout=output, stderr=subprocess.STDOUT, cwd=base)


def start_node(
    base: Path, *, management: bool = False, plain: bool = True, extra_config: str = "",
    plugins: tuple[str, ...] = (), wait_ports: tuple[int, ...] = (), cookie: str | None = None,
) -> OwnNode:
    """Start a node with everything under ``base``; return once its AMQP port (and, with
    ``management``, its management API) answers. ``plain=False``: no plain AMQP listener at all;
    ``extra_config`` (rabbitmq.conf lines), ``plugins`` and ``wait_ports`` for a TLS node (own_tls.py);
    ``cookie``: the Erlang cookie (nodes of one cluster share it)."""
    command = server_command()
    if command is None:
        raise RuntimeError("rabbitmq-server is not installed")
    base.mkdir(parents=True, exist_ok=True)
    if cookie is not None:
        cookie_file = base / ".erlang.cookie"
        cookie_file.write_text(cookie)
        cookie_file.chmod(0o400)
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
    waiting = tuple(p for p in (port if plain else None, management_port, *wait_ports) if p is not None)
    node = OwnNode(name, port, base, command, _launch(command, env, base), 0.0, management_port, env, waiting)
    node._wait(started)
    node.started_in = time.monotonic() - started
    return node


CLUSTER_DOC = Path(__file__).resolve().parent.parent / "docs" / "deployment-cluster.md"


def cluster_doc_block(marker: str) -> str:
    """The fenced block after ``<!-- marker -->`` in docs/deployment-cluster.md."""
    text = CLUSTER_DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert match, f"docs/deployment-cluster.md has no block marked <!-- {marker} -->"
    return match.group(1)


def doc_commands(marker: str, nodes: list[OwnNode]) -> list[tuple[str, OwnNode, list[str]]]:
    """The page's ``tool -n rabbit@rabbit-N ARGS`` lines as (tool, node, args), ``rabbit@rabbit-N`` being
    the Nth of ``nodes`` wherever it appears."""
    def node(word: str) -> OwnNode:
        return nodes[int(word.removeprefix("rabbit@rabbit-")) - 1]

    found = []
    for line in cluster_doc_block(f"commands: {marker}").splitlines():
        words = shlex.split(line)
        if not words or words[0].startswith("#"):
            continue
        assert words[1] == "-n", line
        args = [node(w).name if w.startswith("rabbit@rabbit-") else w for w in words[3:]]
        found.append((words[0], node(words[2]), args))
    return found


def start_cluster(base: Path, size: int = 3, *, management: bool = True) -> list[OwnNode]:
    """``size`` nodes under ``base`` with one Erlang cookie, each configured as docs/deployment-cluster.md
    says (its ``rabbitmq.conf`` lines: ``pause_minority``, balanced leaders), joined into one cluster
    by the page's own commands; all stopped again if one fails to join."""
    cookie = uuid.uuid4().hex.upper()
    config = cluster_doc_block("cluster rabbitmq.conf")
    nodes: list[OwnNode] = []
    try:
        for i in range(size):
            nodes.append(start_node(base / f"node{i + 1}", management=management, extra_config=config,
                                    cookie=cookie))
        for tool, node, args in doc_commands("cluster-join", nodes):
            node.ctl(*args, tool=tool)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes
