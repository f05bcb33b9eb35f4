"""A three-node RabbitMQ cluster loses a node under load, three ways, and nothing is lost or doubled.

Three nodes of the test's own (``own_rabbitmq.start_cluster``: own names, ports, data and cookie; the
machine's shared broker is never touched), clustered with ``pause_minority`` partition handling and
balanced quorum-queue leaders. Two ``vb hub run`` processes on PostgreSQL (a schema of the test's own)
and four agencies, every process given every node. Documents stream with their 01s while (a) the node a
hub is connected to stops, (b) the ingress queue's leader stops, (c) a node's Erlang VM is killed; each
node is started again before the next phase. Every document arrives once, every 01 comes back, nothing
is parked, and the stall (the longest time nothing arrived after the fault) is measured and printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cluster_world import (
    AGENCY_PASSWORD,
    HUB_PASSWORD,
    Agencies,
    Cluster,
    HubProcess,
    Traffic,
    hub_command,
    node_url,
    stream,
)
from conftest import require
from own_rabbitmq import OwnNode, doc_commands, server_command, start_cluster
from test_e2e_rabbitmq import A1, A2, B1, B2
from test_hub_support import HUB_ID, edoc, make_pki, status

from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys
from vbcore.transport.base import Delivery
from vbcore.transport.names import Names
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

SENDERS, RECIPIENTS = [A1, A2], [B1, B2]
PER_PHASE = 300  # documents a phase (each with its 01): enough to cross the fault, CI time matters
RATE = 40.0  # documents a second, steady, so that a stall shows as a gap in the arrivals
STALL_GOAL = 5.0  # seconds (issue 10): reported, not asserted; the machine running CI is shared


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require("rabbitmq-server", server_command() is not None)
    nodes = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield Cluster(nodes)
    finally:
        for node in nodes:
            if node.running:
                node.stop()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    pki: DevPki = make_pki(tmp_path_factory.mktemp("pki"))
    pki = init_dev_pki(pki.directory, [(c, c) for c in [*SENDERS, *RECIPIENTS]])
    return DevKeys.load(pki, {*pki.agencies, HUB_ID})


def rotated(nodes: list[OwnNode], k: int) -> list[OwnNode]:
    return nodes[k % len(nodes):] + nodes[:k % len(nodes)]


def test_the_cluster_runs_pause_minority_and_every_node_is_a_member(cluster: Cluster) -> None:
    # docs/deployment-cluster.md's checks, on each node in turn (the page names the first)
    checks = [c for c in doc_commands("cluster-check", cluster.nodes) if c[0] == "rabbitmqctl"]
    assert len(checks) == 2
    for node in cluster.nodes:
        said = [node.ctl(*args, tool=tool).strip() for tool, _, args in checks]
        assert said == ["{ok,pause_minority}", '{ok,<<"balanced">>}']
    running = cluster.api("nodes")
    assert isinstance(running, list)
    assert sorted(n["name"] for n in running if n["running"]) == sorted(n.name for n in cluster.nodes)


def test_the_hub_transport_fails_over_when_its_node_stops_and_never_acks_a_stale_delivery(
    cluster: Cluster, unique_prefix: str
) -> None:
    names = Names(prefix=unique_prefix)
    url = ";".join(node.url for node in cluster.nodes)
    transport = RabbitMQTransport(url, names=names, reconnect_timeout=None)
    got: list[Delivery] = []
    try:
        transport.declare_hub([])
        transport.consume(names.ingress_queue, got.append, prefetch=4)
        transport.publish(names.ingress_exchange, "", b"first", message_id="m1")
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            transport.drain(0.1)
        [in_hand] = got
        first = cluster.nodes[0]
        assert transport.node == f"127.0.0.1:{first.port}"
        first.stop()
        try:
            transport.publish(names.ingress_exchange, "", b"second", message_id="m2")  # on another node
            assert transport.node != f"127.0.0.1:{first.port}"
            transport.ack(in_hand)  # a tag of the lost connection: not acked on the new one
            deadline = time.monotonic() + 30
            while len(got) < 3 and time.monotonic() < deadline:
                transport.drain(0.2)
            assert sorted(d.message_id for d in got[1:]) == ["m1", "m2"]
            [again] = [d for d in got[1:] if d.message_id == "m1"]
            assert again.redelivered, "the delivery in hand was not given back"
            for d in got[1:]:
                transport.ack(d)
            assert transport.reconnects == 1
        finally:
            first.start()
    finally:
        transport.close()
    cluster.wait_whole("/", [names.ingress_queue])


@pytest.fixture
def installation(
    cluster: Cluster, unique_prefix: str, dev: DevKeys, pg_dsn: str, tmp_path: Path
) -> Iterator[tuple[Names, str, str, list[HubProcess], Agencies]]:
    names = Names(prefix="vbus", hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-",
                  inbox_secret=f"inbox secret of {unique_prefix}")
    vhost = unique_prefix
    admin = cluster.admin(vhost, names)
    admin.ensure_vhost()
    admin.add_hub_user(HUB_PASSWORD)
    for code in [*SENDERS, *RECIPIENTS]:
        admin.add_agency(code, AGENCY_PASSWORD)
    secret = tmp_path / "inbox.secret"
    secret.write_text(names.inbox_secret)
    store_url = f"{pg_dsn}?schema={unique_prefix}"

    def urls(user: str, password: str, k: int) -> str:
        return ";".join(node_url(n, user, password, vhost) for n in rotated(cluster.nodes, k))

    with RabbitMQTransport(urls(names.hub_user, HUB_PASSWORD, 0), names=names) as transport:
        transport.declare_hub([*SENDERS, *RECIPIENTS])  # as `vb agency add` does
    hubs = [HubProcess(hub_command(urls(names.hub_user, HUB_PASSWORD, k), store_url, dev, names, secret),
                       tmp_path / f"hub-{k}.log") for k in range(2)]  # fmt: skip
    agencies = Agencies(dev, names, {code: urls(names.agency_user(code), AGENCY_PASSWORD, k)
                                     for k, code in enumerate([*SENDERS, *RECIPIENTS])})  # fmt: skip
    for hub in hubs:
        hub.start()
    try:
        deadline = time.monotonic() + 60
        while sum('"hub.started"' in h.tail(100_000) for h in hubs) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        yield names, vhost, store_url, hubs, agencies
    finally:
        codes = [hub.stop() for hub in hubs]
        agencies.close()
        admin = cluster.admin(vhost, names)
        admin.delete_vhost()
        admin.remove_user(names.hub_user)
        for code in [*SENDERS, *RECIPIENTS]:
            admin.remove_agency(code)
        assert codes == [0, 0], [hub.tail() for hub in hubs]


def arrived(code: str, doc: object) -> object:
    return status(code, doc, StatusCode.ARRIVED)  # type: ignore[arg-type]


@pytest.mark.timeout(900)  # three phases of a few hundred documents, three node restarts
def test_documents_and_01s_cross_a_cluster_that_loses_a_node_three_ways(
    cluster: Cluster, installation: tuple[Names, str, str, list[HubProcess], Agencies],
    capsys: pytest.CaptureFixture[str],
) -> None:
    names, vhost, store_url, hubs, agencies = installation
    queues = [names.ingress_queue, *(names.inbox(code) for code in [*SENDERS, *RECIPIENTS])]

    # Every quorum queue has a member on every node, and their leaders are spread over the nodes.
    infos = {q: cluster.queue(vhost, q) for q in queues}
    for q, info in infos.items():
        assert info["type"] == "quorum", q
        assert sorted(info["members"]) == sorted(n.name for n in cluster.nodes), q  # type: ignore[arg-type]
    leaders = {str(info["leader"]) for info in infos.values()}
    assert len(leaders) >= 2, f"every leader on one node: {leaders}"
    [(tool, node, args)] = [c for c in doc_commands("cluster-check", cluster.nodes) if c[0] != "rabbitmqctl"]
    args = [names.ingress_queue if a == "vbus.hub.incoming" else vhost if a == "vbus" else a for a in args]
    status = node.ctl(*args, tool=tool)  # the page's quorum_status: three members
    assert sum(n.name in status for n in cluster.nodes) == 3, status

    def hub_node() -> OwnNode:
        on = cluster.hub_nodes(names.hub_user)
        assert on, "no hub connection"
        return cluster.named(on[0])

    def ingress_leader() -> OwnNode:
        return cluster.named(str(cluster.queue(vhost, names.ingress_queue)["leader"]))

    def busiest() -> OwnNode:
        on = cluster.hub_nodes(names.hub_user)
        return cluster.named(max(set(on), key=on.count))

    faults: list[tuple[str, Callable[[], OwnNode], Callable[[OwnNode], None]]] = [
        ("stop the node a hub is connected to", hub_node, OwnNode.stop),
        ("stop the ingress queue's leader", ingress_leader, OwnNode.stop),
        ("kill a node's Erlang VM (SIGKILL)", busiest, OwnNode.kill),
    ]
    traffic = Traffic()
    report = []
    for phase, (what, choose, fault) in enumerate(faults):
        docs = [edoc(SENDERS[i % 2], [RECIPIENTS[(i // 2) % 2]], f"{phase}-{i}") for i in range(PER_PHASE)]
        hit: dict[str, object] = {}

        def during(i: int, choose: Callable[[], OwnNode] = choose,
                   fault: Callable[[OwnNode], None] = fault, hit: dict[str, object] = hit) -> None:
            if i == PER_PHASE // 3:  # in a thread of its own: sending goes on while the node stops
                node = choose()
                hit["node"], hit["at"] = node, time.monotonic()
                hit["thread"] = threading.Thread(target=fault, args=(node,), daemon=True)
                hit["thread"].start()  # type: ignore[attr-defined]

        started = time.monotonic()
        stream(agencies, traffic, docs, rate=RATE, recipients=RECIPIENTS, senders=SENDERS, timeout=120,
               status=arrived, during=during)  # type: ignore[arg-type]
        ended = time.monotonic()
        hit["thread"].join(timeout=60)  # type: ignore[attr-defined]
        node = hit["node"]
        assert isinstance(node, OwnNode)
        missing_docs, missing_01s = traffic.missing()
        if missing_docs or missing_01s:
            states = {q: {k: cluster.queue(vhost, q).get(k) for k in
                          ("messages_ready", "messages_unacknowledged", "consumers", "leader", "online")}
                      for q in [*queues, names.parked_queue]}  # fmt: skip
            pytest.fail(f"{what}: {len(missing_docs)} documents and {len(missing_01s)} 01s missing; "
                        f"queues: {states}; hubs: {[h.tail(1500) for h in hubs]}")
        stall = traffic.stall(float(hit["at"]), ended)  # type: ignore[arg-type]
        report.append((what, node.name, stall, ended - started))
        assert all(h.alive for h in hubs), [h.tail() for h in hubs]
        node.start()
        cluster.wait_whole(vhost, queues)

    with capsys.disabled():
        print(f"\ncluster: {len(traffic.sent)} documents, {sum(traffic.receipts.values())} 01s, "
              f"worst end-to-end {traffic.worst:.2f} s")
        for what, node_name, stall, took in report:
            goal = "within" if stall < STALL_GOAL else "ABOVE"
            print(f"  {what} ({node_name}): stall {stall:.2f} s ({goal} the {STALL_GOAL:.0f} s goal), "
                  f"phase {took:.1f} s")
    missing_docs, missing_01s = traffic.missing()
    assert not missing_docs, f"{len(missing_docs)} documents never arrived"
    assert not missing_01s, f"{len(missing_01s)} 01s never came back"
    assert set(traffic.received.values()) == {1}, "a document arrived twice"
    assert set(traffic.receipts.values()) == {1}, "a 01 arrived twice"
    assert cluster.queue(vhost, names.parked_queue)["messages"] == 0
    for hub in hubs:
        assert '"event": "package"' in hub.tail(10_000_000), "a hub took no share"
    store = open_store(store_url)
    try:
        assert store.refusals() == []
        for doc_id in list(traffic.sent)[:: max(1, len(traffic.sent) // 50)]:  # a sample: the 01 recorded
            [pair] = store.pairs(doc_id)
            assert pair.last_status == StatusCode.ARRIVED.value, (doc_id, pair)
    finally:
        store.close()
