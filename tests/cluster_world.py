"""A vbus installation on a three-node RabbitMQ cluster of the test's own (``own_rabbitmq.start_cluster``)
and a PostgreSQL store: two ``vb hub run`` processes, agencies on the failover transport, the traffic
that streams documents and their 01s through it, and what the broker says of its queues.

Used by tests/test_cluster.py and bench/bench_soak.py. Every process is given every node (``;`` list),
each in another order so that their connections spread over the nodes.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from own_rabbitmq import OwnNode

from vbcore.agency import AgencyClient
from vbcore.errors import PublishNotConfirmed
from vbcore.model import Edoc, StatusPackage
from vbcore.status import StatusCode
from vbcore.testing.devworld import HUB_ID, DevKeys
from vbcore.transport.connect import open_transport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin

ROOT = Path(__file__).resolve().parent.parent
AGENCY_PASSWORD = "vbus-cluster-agency"
HUB_PASSWORD = "vbus-cluster-hub"


def node_url(node: OwnNode, user: str, password: str, vhost: str) -> str:
    login = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"amqp://{login}@127.0.0.1:{node.port}/{quote(vhost, safe='')}"


@dataclass
class Cluster:
    """The three nodes and what their management API says (asked of any node that answers)."""

    nodes: list[OwnNode]

    def running(self) -> list[OwnNode]:
        return [n for n in self.nodes if n.running]

    def named(self, name: str) -> OwnNode:
        return next(n for n in self.nodes if n.name == name)

    def api(self, path: str) -> object:
        last: Exception | None = None
        for node in self.running():
            assert node.management_port is not None
            request = urllib.request.Request(f"http://127.0.0.1:{node.management_port}/api/{path}")
            request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # our own node
                    return json.loads(response.read())
            except OSError as e:
                last = e
        raise RuntimeError(f"no node's management API answered: {last!r}")

    def admin(self, vhost: str, names: Names) -> BrokerAdmin:
        """On the first node whose management API answers (one may be starting)."""
        for node in self.running():
            request = urllib.request.Request(f"http://127.0.0.1:{node.management_port}/api/overview")
            request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
            try:
                with urllib.request.urlopen(request, timeout=10):
                    return BrokerAdmin(node.management_url, vhost=vhost, names=names)
            except OSError:
                continue
        raise RuntimeError("no node's management API answered")

    def queue(self, vhost: str, name: str) -> dict[str, object]:
        info = self.api(f"queues/{quote(vhost, safe='')}/{quote(name, safe='')}")
        assert isinstance(info, dict)
        return info

    def hub_nodes(self, hub_user: str, wait: float = 30) -> list[str]:
        """The nodes the hub user's connections are on (one entry per connection), waiting up to
        ``wait`` seconds for the management API to show one (its statistics lag a few seconds)."""
        deadline = time.monotonic() + wait
        while True:
            connections = self.api("connections")
            assert isinstance(connections, list)
            found = [c["node"] for c in connections if c.get("user") == hub_user]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)

    def wait_whole(self, vhost: str, queues: list[str], timeout: float = 120) -> None:
        """Every node running and back in the cluster, every quorum queue with its three members online."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(len(self.queue(vhost, q).get("online", [])) == len(self.nodes) for q in queues):  # type: ignore[arg-type]
                    return
            except (RuntimeError, OSError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"the cluster did not become whole within {timeout:.0f} s")


def hub_command(urls: str, store_url: str, dev: DevKeys, names: Names, secret: Path) -> list[str]:
    return [
        sys.executable, "-m", "cli", "hub", "run",
        "--broker", urls, "--store", store_url, "--hub-id", HUB_ID,
        "--trust", str(dev.pki.ca_cert_path),
        "--key", str(dev.pki.key_path(HUB_ID)), "--cert", str(dev.pki.cert_path(HUB_ID)),
        "--prefetch", "32", "--hub-user", names.hub_user, "--user-prefix", names.user_prefix,
        "--inbox-secret", str(secret),
    ]  # fmt: skip


@dataclass
class HubProcess:
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"),
                                        env=env, cwd=ROOT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=30)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Traffic:
    """What went through: documents sent and received, 01s received, and when (for the stalls)."""

    sent: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # document -> sender, recipient, at
    received: Counter[str] = field(default_factory=Counter)  # document -> times its recipient got it
    receipts: Counter[str] = field(default_factory=Counter)  # document -> 01s its sender got
    arrivals: list[float] = field(default_factory=list)  # monotonic time of every document and 01 arriving
    worst: float = 0.0  # the longest time from submitting a document to its recipient holding it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stall(self, start: float, end: float) -> float:
        """The longest time in [start, end] with nothing arriving (documents or 01s)."""
        times = sorted(t for t in self.arrivals if start <= t <= end)
        if not times:
            return end - start
        edges = [start, *times]
        return max(b - a for a, b in itertools.pairwise(edges))

    def missing(self) -> tuple[set[str], set[str]]:
        sent = set(self.sent)
        return sent - set(self.received), sent - set(self.receipts)


@dataclass
class Agencies:
    """Senders and recipients on the failover transport (kombu), each given every node."""

    dev: DevKeys
    names: Names
    urls: dict[str, str]  # agency -> its ``;`` list of nodes
    clients: list[AgencyClient] = field(default_factory=list)

    def client(self, code: str) -> AgencyClient:
        transport = open_transport(self.urls[code], names=self.names, role="agency")
        client = self.dev.client(transport, code, self.names)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.transport.close()


def submit(client: AgencyClient, doc: Edoc | StatusPackage, attempts: int = 60) -> None:
    """Send as a connector's outgoing lane does: a publish the broker nacked (a quorum leader lost
    mid-publish) is sent again after a pause; the hub takes a package it already has once. For 30 s
    (a connector retries for an hour, ``--retry-for``): in CI, on two loaded cores, the ingress went
    on nacking for more than the 5 s this allowed before, after a node was lost."""
    for attempt in range(attempts):
        try:
            client.submit(doc)
            return
        except PublishNotConfirmed:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def stream(
    agencies: Agencies, traffic: Traffic, documents: list[Edoc], *, rate: float,
    recipients: list[str], senders: list[str], timeout: float, status: Callable[[str, Edoc], StatusPackage],
    during: Callable[[int], None] | None = None,
) -> None:
    """Send ``documents`` at ``rate`` a second (a thread), while this thread receives them, answers each
    with a 01 and collects the 01s; ``during(i)`` is called by the sending thread before document ``i``
    (to inject a fault). Returns when everything arrived or ``timeout`` passed."""
    outgoing = {code: agencies.client(code) for code in senders}
    inboxes = {code: agencies.client(code) for code in recipients}
    answers = {code: agencies.client(code) for code in senders}
    errors: list[BaseException] = []

    def send() -> None:
        try:
            for i, doc in enumerate(documents):
                if during is not None:
                    during(i)
                sender, recipient = doc.from_.organ_id, doc.to[0].organ_id
                with traffic.lock:
                    traffic.sent[doc.effective_document_id] = (sender, recipient, time.monotonic())
                submit(outgoing[sender], doc)
                time.sleep(1.0 / rate)
        except BaseException as e:
            errors.append(e)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + timeout
    expected = {d.effective_document_id for d in documents}
    last_move = time.monotonic()
    while time.monotonic() < deadline and not errors:
        if sender.is_alive():
            last_move = time.monotonic()
        elif time.monotonic() - last_move > 60:
            break  # nothing for a minute once everything was sent: what is missing will not come
        moved = 0
        for code, client in inboxes.items():
            incoming = client.fetch(timeout=0.02)
            while incoming is not None:
                now = time.monotonic()
                package = incoming.package
                assert isinstance(package, Edoc)
                doc_id = package.effective_document_id
                submit(client, status(code, package))  # the 01, retried as the document is
                client.ack(incoming)
                with traffic.lock:
                    traffic.received[doc_id] += 1
                    traffic.arrivals.append(now)
                    if doc_id in traffic.sent:
                        traffic.worst = max(traffic.worst, now - traffic.sent[doc_id][2])
                moved += 1
                incoming = client.fetch(timeout=0)
        for client in answers.values():
            incoming = client.fetch(timeout=0.02)
            while incoming is not None:
                package = incoming.package
                if isinstance(package, StatusPackage) and package.status_code == StatusCode.ARRIVED:
                    with traffic.lock:
                        traffic.receipts[package.document_id or ""] += 1
                        traffic.arrivals.append(time.monotonic())
                client.ack(incoming)
                moved += 1
                incoming = client.fetch(timeout=0)
        if moved:
            last_move = time.monotonic()
        if not sender.is_alive() and expected <= set(traffic.received) and expected <= set(traffic.receipts):
            break
    sender.join(timeout=60)
    if errors:
        raise errors[0]
    for client in [*outgoing.values(), *inboxes.values(), *answers.values()]:
        client.transport.close()
        agencies.clients.remove(client)
