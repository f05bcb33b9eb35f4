"""A running hub never gives up on the broker: it cycles over every node of its ``;`` list, for as long
as it takes, on a RabbitMQ node of this module's own (``own_rabbitmq``) behind a node that never answers.

The hub used to reconnect only to the node it first reached and to exit after 60 s without it
(issue 10). Here its only live node stops for a few real seconds while the transport's clock is made to
jump 45 s at each pause between rounds of nodes: the hub lives through several minutes of "outage" by
its own clock, then carries on where it stopped; and SIGTERM still ends it during an outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from own_rabbitmq import OwnNode, free_port
from test_e2e_rabbitmq import A1, B1, HUB_PASSWORD, Bus, url_for
from test_hub_support import HUB_ID, edoc, make_pki

from vbcore.cli import vb
from vbcore.directory import Directory
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.hub.runner import StopFlag, run
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys
from vbcore.transport import rabbitmq
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: stops and starts its node's broker


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    pki: DevPki = make_pki(tmp_path_factory.mktemp("pki"))
    pki = init_dev_pki(pki.directory, [(A1, A1), (B1, B1)])
    return DevKeys.load(pki, {*pki.agencies, HUB_ID})


@pytest.fixture
def bus(own_rabbitmq: OwnNode, unique_prefix: str, dev: DevKeys, tmp_path: Path) -> Iterator[Bus]:
    names = Names(prefix="vbus", hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-",
                  inbox_secret=f"inbox secret of {unique_prefix}")
    admin = BrokerAdmin(own_rabbitmq.management_url, vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(HUB_PASSWORD)
    b = Bus(own_rabbitmq.url, unique_prefix, names, admin, dev, f"sqlite:///{tmp_path / 'hub.db'}")
    b.add_agencies([A1, B1])
    try:
        yield b
    finally:
        for client in b.clients.values():
            client.transport.close()
        admin.delete_vhost()


class JumpingClock:
    """The transport module's ``time``: real, but every pause between rounds of nodes adds ``jump``
    seconds to ``monotonic``: a deadline of minutes would be met within seconds of real time."""

    def __init__(self, jump: float) -> None:
        self.jump, self.offset, self.pauses = jump, 0.0, 0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.pauses += 1
        self.offset += self.jump
        time.sleep(seconds)


class RunningHub:
    """``vb hub run``'s loop (``runner.run``) in a thread, on ``url``'s nodes, waiting for ever."""

    def __init__(self, bus: Bus, url: str) -> None:
        self.transport = RabbitMQTransport(url, names=bus.names, reconnect_timeout=None)
        self.hub: Hub = bus.dev.hub(self.transport, open_store(bus.store_url),
                                    HubConfig(hub_id=HUB_ID, names=bus.names), Directory.default())
        self.stop = StopFlag()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            run(self.hub, self.stop, tick=0.05)
        except BaseException as e:
            self.error = e

    def close(self, timeout: float = 30) -> None:
        self.stop.set()
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), "the hub did not stop"
        assert self.error is None, self.error


def with_dead_node_first(bus: Bus) -> str:
    """The hub's URL behind a node that never answers (a port nobody listens on)."""
    dead = url_for(f"amqp://127.0.0.1:{free_port()}/", bus.names.hub_user, HUB_PASSWORD, bus.vhost)
    return f"{dead};{bus.hub_url}"


def send_and_collect(bus: Bus, tag: str, count: int = 10) -> None:
    docs = [edoc(A1, [B1], f"{tag}-{i}") for i in range(count)]
    for doc in docs:
        bus.client(A1).submit(doc)
    got = bus.collect(B1, count, timeout=60)
    ids = sorted(i.package.effective_document_id for i in got)
    assert ids == sorted(d.effective_document_id for d in docs)


# First in the module, before any test stops its node. After it, in two of six fresh-clone CI runs
# (the full suite's load), the node refused a queue declared for the next vhost (541 INTERNAL_ERROR) and
# then nacked the copy the hub forwarded to it: the hub held it and ``--once`` exited 3. The likely
# cause, seen in the node's log: a vhost of quorum queues deleted just after ``start_app`` leaves the
# node's segment writer failing on their files for a while ("failed to open segment file"). This test
# is about the configuration file, not about a node just restarted.
def test_vb_hub_run_takes_every_node_from_its_configuration_file(
    bus: Bus, own_rabbitmq: OwnNode, tmp_path: Path
) -> None:
    # The file lists a node that never answers first: the hub goes on to the next, takes the waiting
    # document and forwards it (``--once``: then it exits, 0).
    doc = edoc(A1, [B1], "from-the-file")
    bus.client(A1).submit(doc)
    secret = tmp_path / "inbox.secret"
    secret.write_text(bus.names.inbox_secret)
    pki = bus.dev.pki
    config = tmp_path / "hub.toml"
    config.write_text(f"""
[broker]
nodes = ["amqp://127.0.0.1:{free_port()}", "amqp://127.0.0.1:{own_rabbitmq.port}"]
user = "{bus.names.hub_user}"
password = "{HUB_PASSWORD}"
vhost = "{bus.vhost}"
hub_user = "{bus.names.hub_user}"
user_prefix = "{bus.names.user_prefix}"

[store]
url = "{bus.store_url}"

[keys]
trust = "{pki.ca_cert_path}"
key = "{pki.key_path(HUB_ID)}"
cert = "{pki.cert_path(HUB_ID)}"
inbox_secret_file = "{secret}"

[hub]
id = "{HUB_ID}"
log_format = "console"
""")
    result = CliRunner().invoke(vb, ["--lang", "en", "hub", "run", "--config", str(config), "--once"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "processed 1 messages" in result.output
    [got] = bus.collect(B1, 1)
    assert got.package.effective_document_id == doc.effective_document_id


def test_a_running_hub_outlives_an_outage_far_longer_than_the_old_timeout_and_carries_on(
    bus: Bus, own_rabbitmq: OwnNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = RunningHub(bus, with_dead_node_first(bus))
    try:
        assert hub.transport.node == f"127.0.0.1:{own_rabbitmq.port}"  # the dead node was passed over
        send_and_collect(bus, "before")
        clock = JumpingClock(jump=45.0)
        monkeypatch.setattr(rabbitmq, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
        own_rabbitmq.ctl("stop_app")
        try:
            deadline = time.monotonic() + 60
            while clock.offset < 180 and time.monotonic() < deadline:  # three times the old 60 s
                time.sleep(0.2)
                assert hub.thread.is_alive(), hub.error
            assert clock.offset >= 180, "the hub never waited between rounds of nodes"
            assert hub.hub.metrics.heartbeat.fresh(within=5.0)  # /healthz: alive while it waits
        finally:
            own_rabbitmq.ctl("start_app")
            own_rabbitmq.ctl("await_startup")
        # The clock stays shifted (undone after the hub stopped): a wait the hub began by the shifted
        # clock must end by it too.
        assert hub.thread.is_alive(), hub.error
        send_and_collect(bus, "after")
        assert hub.transport.reconnects >= 1
        assert hub.transport.node == f"127.0.0.1:{own_rabbitmq.port}"
    finally:
        hub.close()


def test_a_hub_waiting_for_its_nodes_stops_at_once_when_told(bus: Bus, own_rabbitmq: OwnNode) -> None:
    hub = RunningHub(bus, with_dead_node_first(bus))
    own_rabbitmq.ctl("stop_app")
    try:
        time.sleep(3)  # the hub notices, and waits for a node
        assert hub.thread.is_alive(), hub.error
        started = time.monotonic()
        hub.close(timeout=15)  # SIGTERM's flag: the waiting ends within a round of the nodes
        assert time.monotonic() - started < 10
    finally:
        own_rabbitmq.ctl("start_app")
        own_rabbitmq.ctl("await_startup")
