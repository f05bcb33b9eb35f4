"""The soak: documents with their 01s through a three-node RabbitMQ cluster, two hub processes and four
agencies' connectors, with faults on a schedule; it ends with ``vb reconcile``, which must find no gap.

Run: ``python bench/bench_soak.py [--documents 100000] [--rate 60]``.

Everything is the bench's own: three RabbitMQ nodes clustered with ``pause_minority`` and balanced
leaders (``tests/own_rabbitmq.start_cluster``: own names, ports, data; never the machine's broker), a
PostgreSQL server (``tests/own_postgres``), two ``vb hub run`` processes on it, and four agencies, each
a real ``ConnectorRuntime`` (its ledger, 01 sent once a document is in the DMS) over a DMS in memory,
on the failover transport; every process is given every node. Two agencies send to the two others at
``--rate`` documents a second. The faults, each at a share of the documents fed:

- 5 %: the node a hub is connected to stops (started again 15 s later);
- 25 %: a hub process is killed (SIGKILL) and started again 5 s later;
- 40 %: PostgreSQL restarts;
- 55 %: a recipient's connector goes offline for 30 s;
- 70 %: a node's Erlang VM is killed (SIGKILL; started again 15 s later);
- 85 %: the ingress queue's leader stops (started again 15 s later).

One fault at a time: each waits for the last to be over and the cluster whole again (so a short run
at a low ``--rate`` still meets them all while documents flow).

Printed: documents, 01s, faults, duration, the stall after each fault (the longest time in which no
document reached a DMS and no 01 reached its sender), the worst end-to-end time (fed to the DMS until in
the recipient's DMS), and the gaps ``vb reconcile`` found (its exit status must be 0).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster_world import (  # noqa: E402
    AGENCY_PASSWORD,
    HUB_PASSWORD,
    Cluster,
    HubProcess,
    hub_command,
    node_url,
)
from own_postgres import OwnPostgres, start_postgres  # noqa: E402
from own_rabbitmq import OwnNode, start_cluster  # noqa: E402

from vbcore.agency import AgencyClient  # noqa: E402
from vbcore.connector import (  # noqa: E402
    Connector,
    ConnectorContext,
    DmsEvent,
    DmsReceipt,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
)
from vbcore.connector.ledger import Ledger  # noqa: E402
from vbcore.connector.runtime import ConnectorRuntime  # noqa: E402
from vbcore.logging import configure  # noqa: E402
from vbcore.security.pki import init_dev_pki  # noqa: E402
from vbcore.status import StatusCode  # noqa: E402
from vbcore.testing.devworld import HUB_ID, DevKeys, letter  # noqa: E402
from vbcore.transport.connect import open_transport  # noqa: E402
from vbcore.transport.names import Names  # noqa: E402
from vbcore.transport.rabbitmq import RabbitMQTransport  # noqa: E402

SENDERS = ["000.00.00.G30", "000.00.00.G31"]
RECIPIENTS = ["000.00.00.H35", "000.00.00.H18"]
VHOST = "soak"


@dataclass(frozen=True)
class MemoryDmsConfig:
    pass


class MemoryDms(Connector):
    """A DMS in memory: an outbox the feeder fills, what was delivered (and when), the 01s that came."""

    name = "soak-memory"
    version = "1"

    def __init__(self, config: Any, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.lock = threading.Lock()
        self.outbox: dict[str, Outgoing] = {}
        self.fed: dict[str, float] = {}
        self.delivered: dict[str, float] = {}  # "sender|document id" -> monotonic time
        self.receipts: dict[str, float] = {}  # document id -> when its 01 came
        self.failed: list[str] = []

    def snapshot(self) -> tuple[dict[str, float], dict[str, float]]:
        """Copies of what was delivered and of the 01s that came (the runtime's thread adds to them)."""
        with self.lock:
            return dict(self.delivered), dict(self.receipts)

    def feed(self, item: Outgoing) -> None:
        with self.lock:
            self.outbox[item.id] = item

    def poll_outgoing(self) -> Iterable[Outgoing]:
        with self.lock:
            return list(itertools.islice(self.outbox.values(), 100))

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        with self.lock:
            self.outbox.pop(outgoing_id, None)

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        with self.lock:
            self.outbox.pop(outgoing_id, None)
            self.failed.append(f"{outgoing_id}: {reason}")

    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        key = f"{doc.sender}|{doc.document_id}"
        with self.lock:
            again = key in self.delivered
            self.delivered.setdefault(key, time.monotonic())
        return DmsReceipt(dms_id=key, already_delivered=again)

    def poll_events(self) -> Iterable[DmsEvent]:
        return []

    def mark_event_sent(self, event_id: str) -> None:
        return None

    def on_status(self, status: StatusUpdate) -> None:
        if status.code == StatusCode.ARRIVED:
            with self.lock:
                self.receipts.setdefault(status.document_id, time.monotonic())


class Agency:
    """One agency's connector runtime in a thread; ``offline`` stops it, ``online`` starts it again."""

    def __init__(self, code: str, url: str, dev: DevKeys, names: Names, work: Path) -> None:
        self.code, self.url, self.dev, self.names = code, url, dev, names
        self.dms = MemoryDms(MemoryDmsConfig(), ConnectorContext(agency=code, work_dir=work))
        self.ledger_path = work / "ledgers" / f"{code}.sqlite3"
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def online(self) -> None:
        self.stop = threading.Event()
        stop = self.stop

        def main() -> None:
            client: AgencyClient | None = None
            ledger = Ledger(self.ledger_path)
            try:
                transport = open_transport(self.url, names=self.names, role="agency")
                client = self.dev.client(transport, self.code, self.names)
                ConnectorRuntime(self.dms, client, ledger=ledger).run(stop, interval=0.05)
            except BaseException as e:  # reported at the end
                self.errors.append(e)
            finally:
                if client is not None:
                    client.transport.close()
                ledger.close()

        self.thread = threading.Thread(target=main, daemon=True, name=f"agency {self.code}")
        self.thread.start()

    def offline(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=60)


@dataclass
class Fault:
    at: float  # share of the documents fed
    what: str
    run: Callable[[], str]  # does it (waiting for what comes back), returns what it hit
    started: float = 0.0
    ended: float = 0.0
    hit: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=60.0, help="documents fed a second")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    configure(json=False, level="WARNING")  # a connector's every round would be a line
    work = Path(tempfile.mkdtemp(prefix="vbus-soak-"))
    began = time.monotonic()
    nodes = start_cluster(work / "cluster")
    cluster = Cluster(nodes)
    pg = start_postgres()
    hubs: list[HubProcess] = []
    agencies: dict[str, Agency] = {}
    try:
        print(f"cluster of 3 and PostgreSQL up in {time.monotonic() - began:.0f} s", flush=True)
        report = soak(args, work, cluster, pg, hubs, agencies)
    finally:
        for agency in agencies.values():
            agency.offline()
        for hub in hubs:
            hub.stop()
        for node in nodes:
            if node.running:
                node.stop()
        pg.stop()
    print(json.dumps(report, indent=1))
    if report["gaps"] or report["missing_documents"] or report["missing_01s"] or report["fault_errors"]:
        sys.exit(1)


def soak(args: argparse.Namespace, work: Path, cluster: Cluster, pg: OwnPostgres, hubs: list[HubProcess],
         agencies: dict[str, Agency]) -> dict[str, Any]:  # fmt: skip
    store_url = pg.dsn(schema="soak")
    codes = [*SENDERS, *RECIPIENTS]
    pki = init_dev_pki(work / "pki", [(c, c) for c in codes] + [(HUB_ID, "vbus hub")])
    dev = DevKeys.load(pki, {*codes, HUB_ID})
    names = Names(prefix="vbus", hub_user="soak-hub", user_prefix="soak-", inbox_secret="soak inbox secret")
    admin = cluster.admin(VHOST, names)
    admin.ensure_vhost()
    admin.add_hub_user(HUB_PASSWORD)
    for code in codes:
        admin.add_agency(code, AGENCY_PASSWORD)
    secret = work / "inbox.secret"
    secret.write_text(names.inbox_secret)

    def urls(user: str, password: str, k: int) -> str:
        order = cluster.nodes[k % 3:] + cluster.nodes[:k % 3]
        return ";".join(node_url(n, user, password, VHOST) for n in order)

    hub_urls = urls(names.hub_user, HUB_PASSWORD, 0)
    with RabbitMQTransport(hub_urls, names=names) as transport:
        transport.declare_hub(codes)
    for k in range(2):
        command = hub_command(urls(names.hub_user, HUB_PASSWORD, k), store_url, dev, names, secret)
        hubs.append(HubProcess(command, work / f"hub-{k}.log"))
        hubs[-1].start()
    for k, code in enumerate(codes):
        agencies[code] = Agency(code, urls(names.agency_user(code), AGENCY_PASSWORD, k), dev, names, work)
        agencies[code].online()
    queues = [names.ingress_queue, *(names.inbox(c) for c in codes)]
    cluster.wait_whole(VHOST, queues)

    def down_for(node: OwnNode, seconds: float) -> str:
        time.sleep(seconds)
        node.start()
        return str(node.name)

    def stop_hub_node() -> str:
        node = cluster.named(cluster.hub_nodes(names.hub_user)[0])
        node.stop()
        return down_for(node, 15)

    def kill_hub() -> str:
        hubs[0].kill()
        time.sleep(5)
        hubs[0].start()
        return "hub 0"

    def restart_pg() -> str:
        pg.restart()
        return "postgresql"

    def recipient_offline() -> str:
        agencies[RECIPIENTS[1]].offline()
        time.sleep(30)
        agencies[RECIPIENTS[1]].online()
        return RECIPIENTS[1]

    def kill_node() -> str:
        on = cluster.hub_nodes(names.hub_user)
        node = cluster.named(max(set(on), key=on.count))
        node.kill()
        return down_for(node, 15)

    def stop_leader() -> str:
        node = cluster.named(str(cluster.queue(VHOST, names.ingress_queue)["leader"]))
        node.stop()
        return down_for(node, 15)

    faults = [Fault(0.05, "stop the node a hub is connected to", stop_hub_node),
              Fault(0.25, "SIGKILL a hub process, start it again", kill_hub),
              Fault(0.40, "restart PostgreSQL", restart_pg),
              Fault(0.55, "a recipient offline for 30 s", recipient_offline),
              Fault(0.70, "SIGKILL a node's Erlang VM", kill_node),
              Fault(0.85, "stop the ingress queue's leader", stop_leader)]  # fmt: skip
    started = time.monotonic()
    fed_at: dict[str, float] = {}
    fed = [0]

    fault_errors: list[str] = []

    def inject() -> None:  # one fault at a time, each once the last is over and the cluster whole again
        for fault in faults:
            while fed[0] < fault.at * args.documents:
                time.sleep(0.2)
            fault.started = time.monotonic()
            print(f"{fed[0]}: {fault.what}", flush=True)
            try:
                fault.hit = fault.run()
                cluster.wait_whole(VHOST, queues)
            except Exception as e:  # a fault not made is a soak not run: reported, and exit 1
                fault_errors.append(f"{fault.what}: {e!r}")
            fault.ended = time.monotonic()

    injector = threading.Thread(target=inject, daemon=True)
    injector.start()
    for i in range(args.documents):
        sender, recipient = SENDERS[i % 2], RECIPIENTS[(i // 2) % 2]
        doc = letter(sender, [recipient], f"soak-{i}")
        fed_at[f"{sender}|{doc.effective_document_id}"] = time.monotonic()
        agencies[sender].dms.feed(Outgoing(id=f"out-{i}", edoc=doc))
        fed[0] = i + 1
        pause = started + (i + 1) / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if i % 1000 == 999:
            delivered = sum(len(a.dms.snapshot()[0]) for a in agencies.values())
            print(f"{i + 1} fed, {delivered} delivered", flush=True)
    injector.join()  # the last faults may come after the feeding
    expected = set(fed_at)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        snapshots = [a.dms.snapshot() for a in agencies.values()]
        delivered = {k for d, _ in snapshots for k in d}
        receipts = {k for _, r in snapshots for k in r}
        if expected <= delivered and len(receipts) >= len(expected):
            break
        time.sleep(1)
    ended = time.monotonic()
    for agency in agencies.values():
        agency.offline()
    cluster.wait_whole(VHOST, queues)
    snapshots = [a.dms.snapshot() for a in agencies.values()]  # the runtimes are stopped by now
    arrivals = sorted(t for pair in snapshots for times in pair for t in times.values())
    delivered_at = {k: t for d, _ in snapshots for k, t in d.items()}

    def stall(fault: Fault) -> float | None:
        """The longest time from the fault's start to its end (and 10 s on) with nothing arriving; None
        when nothing was on its way then (the fault came after the traffic)."""
        edges = [fault.started, *(t for t in arrivals if fault.started <= t <= fault.ended + 10)]
        if len(edges) == 1:
            return None
        return round(max(b - a for a, b in itertools.pairwise(edges)), 2)

    reconcile = subprocess.run(
        [sys.executable, "-m", "cli", "--lang", "en", "reconcile", "--store", store_url, "--ledger",
         str(work / "ledgers"), "--broker", hub_urls, "--vhost", VHOST, "--hub-user", names.hub_user,
         "--user-prefix", names.user_prefix, "--json"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=1800,
    )  # fmt: skip
    try:
        found = json.loads(reconcile.stdout)
    except json.JSONDecodeError:
        found = {"output": reconcile.stdout[-2000:], "error": reconcile.stderr[-2000:]}
    summary = found.get("summary", {}) if isinstance(found, dict) else {}
    receipts_all = {k for _, r in snapshots for k in r}
    worst = max((delivered_at[k] - fed_at[k] for k in expected if k in delivered_at), default=0.0)
    senders_docs = {k.split("|", 1)[1] for k in expected}
    return {
        "documents": len(expected),
        "delivered": len(expected & set(delivered_at)),
        "01s": len(receipts_all & senders_docs),
        "missing_documents": len(expected - set(delivered_at)),
        "missing_01s": len(senders_docs - receipts_all),
        "faults": [{"what": f.what, "hit": f.hit, "stall_s": stall(f),
                    "over_after_s": round(f.ended - f.started, 1)} for f in faults],
        "duration_s": round(ended - started, 1),
        "worst_end_to_end_s": round(worst, 2),
        "reconcile_exit": reconcile.returncode,
        "gaps": summary.get("gaps", found),
        "reconciled": {k: summary.get(k) for k in ("pairs", "sent", "delivered", "parked")},
        "connector_errors": [repr(e) for a in agencies.values() for e in a.errors],
        "fault_errors": fault_errors,
        "hubs_alive": [h.alive for h in hubs],
        "failed_sends": [f for a in agencies.values() for f in a.dms.failed][:5],
    }


if __name__ == "__main__":
    main()
