"""Scale with agencies (issue 13, item 4): the hub and the broker with N agencies provisioned.

Run: ``python bench/bench_agencies.py [--counts 100,1000,5000] [--quick] [--store postgresql://...]``.

For each N, on a RabbitMQ node of the bench's own (``tests/own_rabbitmq.py``, with the management API;
started fresh for each N and stopped at the end, also on Ctrl-C or a failure: thousands of quorum
queues never touch a shared broker) and a SQLite store in a temp file (or the given PostgreSQL, a schema
of its own, dropped after):

- ``vb agency add``: N agencies provisioned the way an operator does. ``N - sample`` of them in this
  process through the command's own function (``vbcore.hub.admin.add_agency``: the broker user and its
  permissions through the management API, the inbox declared through a new hub connection, its name
  written to a file), without a certificate (an RSA key each would take minutes at 5,000); the last
  ``sample`` (10) with the real command (``python -m cli agency add CODE --ca-key ... --ca-cert ...``)
  in a subprocess, key and certificate included; next to it the floor of that subprocess (``python -m
  cli agency add --help``: Python start and imports).
- broker memory: the node's RSS and RabbitMQ's own breakdown (``rabbitmq-diagnostics
  memory_breakdown``, after a garbage collection of every Erlang process) before and after; the
  quorum queues' share (``quorum_queue_procs`` + ``quorum_ets``) and the rest.
- hub start-up: ``vb hub run`` (a subprocess, the directory file holding the N agencies) from its start
  until it logs ``hub.started`` (it consumes from then on): without ``--agency`` (inboxes declared on
  first use) and with ``--agency`` for each of the N (every inbox declared at start).
- throughput: ``--documents`` (at least one per spread inbox) documents of about 5 KB from 2 senders, each
  to two recipients: one of the N agencies in turn (every inbox gets copies; a drain process consumes
  them all, connected as the hub user) and one of 2 sampled agencies that verify it and answer a signed
  01 (each its own process); timed from the first publish until every copy is drained and every 01 is
  back at its sender. The hub's and the broker's CPU per document beside it.
- a circular to 100 and to 1,000 recipients (when N allows): the hub's own time for the message (its
  ``ms`` log field), per recipient; the store's rows added (every table); the broker's memory with the
  copies sitting in the inboxes, per copy. Once on the hub started without ``--agency`` (cold: the hub
  declares each inbox before its first copy), then again (warm).
- the raw broker cost of N quorum queues (the inboxes' arguments), of the same with RabbitMQ's
  ``quorum_tick_interval`` at 60 s instead of 5 s (advanced.config), and of N classic durable queues,
  each on a fresh node of its own (``--no-raw`` skips it): declare time, memory per queue, and the node's
  CPU while nothing happens (each quorum queue ticks every 5 s: that CPU grows with N).
- the hub's connection closed (management API) and a document sent at once: seconds until the hub
  logged it (it re-declares its queues and every inbox it knows before it consumes again).

Every figure is printed with its ratio to the first N's (per agency, per recipient): 1.0 is linear.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from own_rabbitmq import OwnNode, start_node  # noqa: E402

from bench.bench_hub import answer_each, cpu_seconds  # noqa: E402
from vbcore.agency import AgencyClient  # noqa: E402
from vbcore.hub.admin import add_agency  # noqa: E402
from vbcore.logging import quiet  # noqa: E402
from vbcore.model import Edoc, StatusPackage  # noqa: E402
from vbcore.security.pki import DevPki, init_dev_pki  # noqa: E402
from vbcore.testing.devworld import HUB_ID, VPCP, DevKeys, letter  # noqa: E402
from vbcore.transport.amqp_wire import work_queue_arguments  # noqa: E402
from vbcore.transport.connect import open_transport  # noqa: E402
from vbcore.transport.names import Names  # noqa: E402
from vbcore.transport.provision import BrokerAdmin  # noqa: E402
from vbcore.transport.rabbitmq import RabbitMQTransport  # noqa: E402

VHOST = "vbus-bench"
PASSWORD = "vbus-bench-agencies"
SECRET = "inbox secret of the agencies bench"
SENDERS = 2  # agencies with keys that send
ANSWERING = 2  # agencies with keys that verify and answer 01
UNITS = [f"{a:03d}.{b:02d}.01.G22" for a in range(1, 1000) for b in range(100)]
MiB = 1024 * 1024


# --- the broker's memory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    rss: int  # the node's Erlang VM, bytes
    total: int  # RabbitMQ's own total (memory_breakdown)
    quorum: int  # quorum_queue_procs + quorum_ets
    classic: int  # queue_procs + queue_slave_procs
    other: int  # everything else of ``total``

    def minus(self, other: Memory) -> Memory:
        return Memory(*(a - b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[int, int, int, int, int]:
        return (self.rss, self.total, self.quorum, self.classic, self.other)


def idle_cpu(node: OwnNode, seconds: float = 10.0) -> float:
    """The node's CPU while nobody uses it, % of one core (ticks of its queues, statistics)."""
    pid = int((node.base / "node.pid").read_text().strip())
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 100 / seconds


def memory(node: OwnNode) -> Memory:
    node.ctl("eval", "[erlang:garbage_collect(P) || P <- erlang:processes()], ok.")
    out = node.ctl("eval", "rabbit_vm:memory().")
    # [{total,[{erlang,N},{rss,N},{allocated,N}]}, {connection_readers,N}, ..., {strategy,rss}]
    pairs = {k: int(v) for k, v in re.findall(r"\{(\w+),(\d+)\}", out)}
    quorum = pairs.get("quorum_queue_procs", 0) + pairs.get("quorum_ets", 0)
    classic = pairs.get("queue_procs", 0) + pairs.get("queue_slave_procs", 0)
    total = pairs.get("erlang", 0)
    pid = int((node.base / "node.pid").read_text().strip())
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return Memory(rss, total, quorum, classic, total - quorum - classic)


# RabbitMQ 3.10's default quorum_tick_interval is 5,000 ms; the alternative measured here (advanced.config).
SLOW_TICK_MS = 60_000


@contextlib.contextmanager
def own_node(base: Path, *, quorum_tick_ms: int | None = None) -> Iterator[OwnNode]:
    """A node of the bench's own (management API on); ``quorum_tick_ms``: quorum queues' tick interval."""
    saved = os.environ.pop("RABBITMQ_ADVANCED_CONFIG_FILE", None)
    if quorum_tick_ms is not None:  # start_node passes the environment on; advanced.config only sets it
        base.mkdir(parents=True, exist_ok=True)
        advanced = base / "advanced.config"
        advanced.write_text(f"[{{rabbit, [{{quorum_tick_interval, {quorum_tick_ms}}}]}}].\n")
        os.environ["RABBITMQ_ADVANCED_CONFIG_FILE"] = str(advanced)
    try:
        node = start_node(base, management=True)
    finally:
        os.environ.pop("RABBITMQ_ADVANCED_CONFIG_FILE", None)
        if saved is not None:
            os.environ["RABBITMQ_ADVANCED_CONFIG_FILE"] = saved
    try:
        yield node
    finally:
        node.stop()


# --- one N --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    n: int
    add_ms: list[float] = field(default_factory=list)  # in-process, in order
    add_seconds: float = 0.0
    cli_ms: list[float] = field(default_factory=list)
    cli_floor_ms: float = 0.0
    memory_before: Memory | None = None
    memory_after: Memory | None = None
    start_lazy: float = 0.0
    start_all: float = 0.0
    documents: int = 0
    rate: float = 0.0
    hub_cpu_ms: float = 0.0
    broker_cpu_ms: float = 0.0
    circulars: dict[str, dict[str, float]] = field(default_factory=dict)  # "cold 100" -> figures
    raw: dict[str, tuple[float, int, float]] = field(default_factory=dict)  # kind -> (s, bytes, idle %)
    idle_cpu: float = 0.0  # the broker's CPU while nothing happens, % of one core
    reconnect: float = 0.0  # the hub's connection closed -> a document through it, s

    @property
    def provisioned(self) -> Memory:
        assert self.memory_before is not None
        assert self.memory_after is not None
        return self.memory_after.minus(self.memory_before)


@dataclass(frozen=True)
class World:
    node: OwnNode
    tmp: Path
    names: Names
    codes: list[str]
    pki: DevPki
    store: str
    directory: Path

    def url(self, user: str) -> str:
        return f"amqp://{quote(user, safe='')}:{PASSWORD}@127.0.0.1:{self.node.port}/{quote(VHOST, safe='')}"

    @property
    def hub_url(self) -> str:
        return self.url(self.names.hub_user)

    @property
    def keyed(self) -> list[str]:
        return self.codes[: SENDERS + ANSWERING]

    @property
    def senders(self) -> list[str]:
        return self.codes[:SENDERS]

    @property
    def answering(self) -> list[str]:
        return self.codes[SENDERS : SENDERS + ANSWERING]

    @property
    def spread(self) -> list[str]:
        return self.codes[SENDERS + ANSWERING :]

    def client(self, code: str) -> AgencyClient:
        transport = RabbitMQTransport(self.url(self.names.agency_user(code)), names=self.names)
        return DevKeys.load(self.pki, self.keyed).client(transport, code, self.names)


def provision(world: World, figures: Figures, sample: int) -> None:
    admin = BrokerAdmin(world.node.management_url, vhost=VHOST, names=world.names)
    out = world.tmp / "agencies"
    started = time.perf_counter()
    for code in world.codes[: len(world.codes) - sample]:
        t = time.perf_counter()
        add_agency(code, password=PASSWORD, name=None, ca_key=None, ca_cert=None, out=out,
                   management_url=world.node.management_url, vhost=VHOST, names=world.names,
                   hub_transport=lambda: open_transport(world.hub_url, names=world.names,
                                                        role="hub"))  # fmt: skip
        figures.add_ms.append((time.perf_counter() - t) * 1000)
    figures.add_seconds = time.perf_counter() - started
    secret = world.tmp / "inbox.secret"
    common = ["--management-url", world.node.management_url, "--broker", world.hub_url,
              "--inbox-secret", str(secret)]  # fmt: skip
    floor = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", "agency", "add", "--help"], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        floor.append((time.perf_counter() - t) * 1000)
    figures.cli_floor_ms = statistics.median(floor)
    for code in world.codes[len(world.codes) - sample :]:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "cli", "agency", "add", code, "--password", PASSWORD,
             "--ca-key", str(world.pki.ca_key_path), "--ca-cert", str(world.pki.ca_cert_path),
             "--out", str(world.tmp / "cli"), *common],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        figures.cli_ms.append((time.perf_counter() - t) * 1000)
        if done.returncode != 0:
            raise RuntimeError(f"vb agency add {code}: {done.stderr or done.stdout}")
    assert len(admin.queues()) >= len(world.codes)


# --- the hub process ----------------------------------------------------------------------------------


class HubProcess:
    """``vb hub run`` in a subprocess; its JSON log lines read by a thread (the pipe never fills)."""

    def __init__(self, world: World, agencies: list[str]) -> None:
        command = [
            sys.executable, "-m", "cli", "hub", "run", "--store", world.store, "--broker", world.hub_url,
            "--hub-id", HUB_ID, "--trust", str(world.pki.ca_cert_path),
            "--key", str(world.pki.key_path(HUB_ID)), "--cert", str(world.pki.cert_path(HUB_ID)),
            "--inbox-secret", str(world.tmp / "inbox.secret"), "--directory", str(world.directory),
            "--archive", str(world.tmp / "archive"),
            *[a for code in agencies for a in ("--agency", code)],
        ]  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.started_at = time.perf_counter()
        self.ready = threading.Event()
        self.started_in = 0.0
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.raw.append(line)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "hub.started" and not self.ready.is_set():
                self.started_in = time.perf_counter() - self.started_at
                self.ready.set()
            self.lines.append(entry)

    def wait_started(self, timeout: float = 900.0) -> float:
        if not self.ready.wait(timeout):
            raise RuntimeError(f"the hub did not start in {timeout:.0f} s: {''.join(self.raw[-20:])}")
        return self.started_in

    def logged(self, document_id: str, timeout: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in reversed(self.lines):
                if entry.get("event") == "package" and entry.get("document_id") == document_id:
                    return entry
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the hub logged no package {document_id}: {''.join(self.raw[-20:])}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- traffic ------------------------------------------------------------------------------------------


def document(sender: str, recipients: list[str], number: str, tag: str) -> Edoc:
    return letter(sender, recipients, number, notation=tag, subject="V/v đo hiệu năng theo số cơ quan",
                  pdf=b"%PDF-1.4 " + os.urandom(2400))  # fmt: skip


def answer_main(world: World, code: str, count: int) -> None:
    """One sampled agency: verify each document, ack, answer 01 (a process of its own)."""
    quiet()
    answer_each(world.client(code), count)


def drain_main(world: World, queues: list[str], drained: Any, stop: Any) -> None:
    """Consume every spread inbox as the hub user (auto-ack) and count what arrives."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(world.hub_url))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=1000)

    def arrived(*_: Any) -> None:
        with drained.get_lock():
            drained.value += 1

    for queue in queues:
        channel.basic_consume(queue, arrived, auto_ack=True)
    with drained.get_lock():
        drained.value = -drained.value - 1  # negative: consuming on every queue
    while not stop.is_set():
        conn.process_data_events(time_limit=0.2)
    conn.close()


def throughput(world: World, hub: HubProcess, figures: Figures, count: int) -> None:
    ctx = mp.get_context("fork")
    drained, stop = ctx.Value("l", 0), ctx.Event()
    drain = ctx.Process(target=drain_main, args=(world, [world.names.inbox(c) for c in world.spread],
                                                 drained, stop))  # fmt: skip
    drain.start()
    while drained.value >= 0:  # the drain process is still starting its consumers
        if not drain.is_alive():
            raise RuntimeError("the drain process died")
        time.sleep(0.1)
    with drained.get_lock():
        drained.value = 0
    per = {code: count // ANSWERING + (1 if i < count % ANSWERING else 0)
           for i, code in enumerate(world.answering)}  # fmt: skip
    answering = [ctx.Process(target=answer_main, args=(world, code, per[code])) for code in world.answering]
    for p in answering:
        p.start()
    tag = uuid.uuid4().hex[:8]
    docs = [
        document(world.senders[i % SENDERS], [world.spread[i % len(world.spread)],
                 world.answering[i % ANSWERING]], str(i), tag)
        for i in range(count)
    ]  # fmt: skip
    publishers = {code: world.client(code) for code in world.senders}
    collectors = {code: world.client(code) for code in world.senders}
    broker_pid = int((world.node.base / "node.pid").read_text().strip())
    before = cpu_seconds(hub.process.pid), cpu_seconds(broker_pid)
    started = time.perf_counter()

    def publish() -> None:
        for doc in docs:
            publishers[doc.from_.organ_id].submit(doc)

    thread = threading.Thread(target=publish)
    thread.start()
    back = 0
    deadline = time.monotonic() + 60 + count
    while back < count:
        for client in collectors.values():
            incoming = client.fetch(timeout=0.1)
            if incoming is None:
                continue
            client.ack(incoming)
            if isinstance(incoming.package, StatusPackage):
                back += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {back} of {count} 01s back, {drained.value} copies drained")
    while drained.value < count and time.monotonic() < deadline:
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    figures.hub_cpu_ms = (cpu_seconds(hub.process.pid) - before[0]) * 1000 / count
    figures.broker_cpu_ms = (cpu_seconds(broker_pid) - before[1]) * 1000 / count
    thread.join()
    stop.set()
    drain.join(timeout=30)
    for p in answering:
        p.join(timeout=30)
    for client in [*publishers.values(), *collectors.values()]:
        client.transport.close()
    if drained.value < count:
        raise RuntimeError(f"only {drained.value} of {count} copies drained")
    figures.documents, figures.rate = count, count / seconds


def store_rows(world: World) -> int:
    if world.store.startswith("sqlite"):
        path = world.store.removeprefix("sqlite:///").split("?")[0]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    import psycopg

    base, schema = world.store.split("schema=")
    with psycopg.connect(base.rstrip("?&"), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        return sum(conn.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0]  # type: ignore[index]
                   for t in tables)  # fmt: skip


def circular(world: World, hub: HubProcess, recipients: list[str], label: str, figures: Figures) -> None:
    """One circular from the first sender to ``recipients``; its copies stay in the inboxes while the
    broker's memory is read, then are purged."""
    import pika

    client = world.client(world.senders[0])
    rows, mem = store_rows(world), memory(world.node)
    doc = document(world.senders[0], recipients, uuid.uuid4().hex[:6], "TB")
    started = time.perf_counter()
    client.submit(doc)
    entry = hub.logged(doc.effective_document_id)
    wall = (time.perf_counter() - started) * 1000
    client.transport.close()
    if len(entry.get("recipients") or []) != len(recipients):
        raise RuntimeError(f"circular {label}: delivered to {entry.get('recipients')!r}")
    added = memory(world.node).minus(mem)
    figures.circulars[label] = {
        "recipients": len(recipients), "hub ms": float(entry["ms"]), "wall ms": wall,
        "rows": store_rows(world) - rows, "broker bytes": added.quorum, "total bytes": added.total,
    }  # fmt: skip
    with pika.BlockingConnection(pika.URLParameters(world.hub_url)) as conn:
        channel = conn.channel()
        for code in recipients:
            channel.queue_purge(world.names.inbox(code))


def reconnect(world: World, hub: HubProcess) -> float:
    """Close the hub's connection (management API) and send a document at once: seconds until the hub
    logged it (it re-declares its queues and every inbox it knows, then consumes again)."""
    import pika

    admin = BrokerAdmin(world.node.management_url, vhost=VHOST, names=world.names)
    client = world.client(world.senders[0])
    doc = document(world.senders[0], [world.spread[0]], uuid.uuid4().hex[:6], "RC")
    connections = [c for c in admin._api("GET", "/api/connections") if c.get("user") == world.names.hub_user]
    started = time.perf_counter()
    for conn in connections:
        admin._api("DELETE", f"/api/connections/{quote(conn['name'], safe='')}", missing_ok=True)
    client.submit(doc)
    hub.logged(doc.effective_document_id)
    seconds = time.perf_counter() - started
    client.transport.close()
    with pika.BlockingConnection(pika.URLParameters(world.hub_url)) as conn:
        conn.channel().queue_purge(world.names.inbox(world.spread[0]))
    return seconds


# --- the raw cost of N queues -------------------------------------------------------------------------

RAW_KINDS = ("quorum", f"quorum, tick {SLOW_TICK_MS // 1000} s", "classic")



def raw_queues(base: Path, n: int, kind: str) -> tuple[float, int, float]:
    """Declare ``n`` inboxes' worth of queues of ``kind`` on a fresh node: (seconds, bytes of memory, the
    node's idle CPU in % of a core)."""
    import pika

    names = Names(inbox_secret=SECRET)
    if kind.startswith("quorum"):
        arguments: dict[str, Any] = work_queue_arguments(names)
    else:  # what the inbox could be as a classic queue: durable, dead-lettered; no delivery limit exists
        arguments = {"x-queue-type": "classic", "x-dead-letter-exchange": names.dead_letter_exchange}
    with own_node(base, quorum_tick_ms=SLOW_TICK_MS if kind == RAW_KINDS[1] else None) as node:
        before = memory(node)
        with pika.BlockingConnection(pika.URLParameters(node.url)) as conn:
            channel = conn.channel()
            channel.exchange_declare(names.dead_letter_exchange, "fanout", durable=True)
            channel.exchange_declare(names.delivery_exchange, "direct", durable=True)
            started = time.perf_counter()
            for code in UNITS[:n]:
                channel.queue_declare(names.inbox(code), durable=True, arguments=arguments)
                channel.queue_bind(names.inbox(code), names.delivery_exchange, routing_key=code)
            seconds = time.perf_counter() - started
        time.sleep(2)
        return seconds, memory(node).minus(before).total, idle_cpu(node)


# --- the whole run ------------------------------------------------------------------------------------


def directory_file(path: Path, codes: list[str]) -> None:
    agencies = [{"code": c, "name": f"Đơn vị đo {c}", "kind": "unit", "parent": VPCP} for c in codes]
    path.write_text(json.dumps({"agencies": agencies}, ensure_ascii=False), encoding="utf-8")


def one_n(n: int, args: argparse.Namespace, base: Path) -> Figures:
    figures = Figures(n)
    codes = UNITS[:n]
    schema = f"bench_agencies_{uuid.uuid4().hex[:8]}"
    tmp = base / f"n{n}"
    tmp.mkdir()
    if args.store == "sqlite":
        store = f"sqlite:///{tmp / 'hub.db'}"
    else:
        store = f"{args.store}{'&' if '?' in args.store else '?'}schema={schema}"
    names = Names(inbox_secret=SECRET)
    (tmp / "inbox.secret").write_text(SECRET + "\n")
    directory_file(tmp / "directory.json", codes)
    keyed = codes[: SENDERS + ANSWERING]
    pki = init_dev_pki(tmp / "pki", [(c, c) for c in keyed] + [(HUB_ID, "vbus hub")])
    hubs: list[HubProcess] = []
    try:
        with own_node(tmp / "rabbit", quorum_tick_ms=args.quorum_tick_ms) as node:
            world = World(node, tmp, names, codes, pki, store, tmp / "directory.json")
            admin = BrokerAdmin(node.management_url, vhost=VHOST, names=names)
            admin.ensure_vhost()
            admin.add_hub_user(PASSWORD)
            lazy = HubProcess(world, [])  # declares the hub's own queues; no inbox yet
            hubs.append(lazy)
            lazy.wait_started()
            lazy.stop()
            figures.memory_before = memory(node)
            print(f"  N={n}: provisioning ...", flush=True)
            provision(world, figures, min(args.sample, n))
            figures.memory_after = memory(node)
            figures.idle_cpu = idle_cpu(node)
            print(f"  N={n}: provisioned in {figures.add_seconds:.0f} s; hub without --agency ...",
                  flush=True)  # fmt: skip
            lazy = HubProcess(world, [])
            hubs.append(lazy)
            figures.start_lazy = lazy.wait_started()
            for size in args.circulars:
                if size <= len(world.spread):
                    for label in ("cold", "warm"):
                        circular(world, lazy, world.spread[:size], f"{label} {size}", figures)
            if len(world.spread) < min(args.circulars):  # N=100: to every agency but the keyed ones
                for label in ("cold", "warm"):
                    circular(world, lazy, world.spread, f"{label} {len(world.spread)}", figures)
            lazy.stop()
            print(f"  N={n}: hub with --agency for each ...", flush=True)
            every = HubProcess(world, codes)
            hubs.append(every)
            figures.start_all = every.wait_started()
            throughput(world, every, figures, max(args.documents, len(world.spread)))
            figures.reconnect = reconnect(world, every)
            every.stop()
    finally:
        for hub in hubs:
            hub.stop()
        if args.store != "sqlite":
            import psycopg

            with psycopg.connect(args.store, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if args.raw:
        for i, kind in enumerate(RAW_KINDS):
            print(f"  N={n}: {n} {kind} queues on a fresh node ...", flush=True)
            figures.raw[kind] = raw_queues(tmp / f"raw-{i}", n, kind)
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


# --- the report ---------------------------------------------------------------------------------------


Cell = tuple[float, str] | None  # (what the ratio is taken of, what is shown); None: not measured at this N


def line(label: str, cells: list[Cell]) -> None:
    """One figure for every N, each with its ratio to the first N that has it."""
    head = next((c[0] for c in cells if c is not None), 0.0)
    shown = [f"{c[1]} (x{c[0] / head:.2f})" if c is not None and head else (c[1] if c else "-")
             for c in cells]  # fmt: skip
    print(f"  {label:<46} " + " | ".join(f"{c:>26}" for c in shown))


def report(rows: list[Figures]) -> None:
    kib = 1024
    print()
    print(f"Figures by N; (xR): R = the figure per agency (per queue, per recipient, per document) at N "
          f"over the same at N={rows[0].n}, 1.00 = linear in N (for throughput: the same time per document); "
          "for what should not grow with N (one add, the hub's start without --agency, a floor): R = value "
          "over value.")
    print(f"  {'N (agencies provisioned)':<46} " + " | ".join(f"{r.n:>26,}" for r in rows))

    def added(r: Figures, part: str) -> Cell:
        per = float(getattr(r.provisioned, part)) / r.n
        return (per, f"{per / kib:.1f}")

    line("broker RSS added, KiB per agency", [added(r, "rss") for r in rows])
    line("broker memory added (RabbitMQ), KiB per agency", [added(r, "total") for r in rows])
    line("  of it quorum queues, KiB per agency", [added(r, "quorum") for r in rows])
    line("  of it the rest, KiB per agency", [added(r, "other") for r in rows])
    line("broker RSS after provisioning, MiB",
         [(r.memory_after.rss / r.n, f"{r.memory_after.rss / MiB:.0f}") if r.memory_after else None
          for r in rows])  # fmt: skip
    line("broker CPU idle after provisioning, % of a core",
         [(r.idle_cpu / r.n, f"{r.idle_cpu:.1f}") for r in rows])
    line("vb agency add in-process, all of them, s", [(r.add_seconds / len(r.add_ms), f"{r.add_seconds:.1f}")
                                                       for r in rows])  # fmt: skip
    tenth = [max(1, len(r.add_ms) // 10) for r in rows]
    first = [statistics.median(r.add_ms[:k]) for r, k in zip(rows, tenth, strict=True)]
    last = [statistics.median(r.add_ms[-k:]) for r, k in zip(rows, tenth, strict=True)]
    line("  one add, median ms of the first 10 %", [(v, f"{v:.1f}") for v in first])
    line("  one add, median ms of the last 10 %", [(v, f"{v:.1f}") for v in last])
    line("  one add, max ms", [(max(r.add_ms), f"{max(r.add_ms):.0f}") for r in rows])
    line("vb agency add CLI (key + cert), median ms",
         [(statistics.median(r.cli_ms), f"{statistics.median(r.cli_ms):.0f}") for r in rows])
    line("  max ms", [(max(r.cli_ms), f"{max(r.cli_ms):.0f}") for r in rows])
    line("  floor: python -m cli agency add --help, ms",
         [(r.cli_floor_ms, f"{r.cli_floor_ms:.0f}") for r in rows])
    line("hub start, no --agency, s", [(r.start_lazy, f"{r.start_lazy:.2f}") for r in rows])
    line("hub start, --agency for each of N, s", [(r.start_all / r.n, f"{r.start_all:.2f}") for r in rows])
    difference = [(r.start_all - r.start_lazy) / r.n for r in rows]
    line("  the difference, ms per agency", [(d, f"{d * 1000:.2f}") for d in difference])
    line("hub connection closed -> a document through, s",
         [(r.reconnect / r.n, f"{r.reconnect:.2f}") for r in rows])
    line("throughput, documents/s with the 01", [(1 / r.rate, f"{r.rate:.1f}") for r in rows])
    print(f"  {'  documents (each to 2: one of N, one answering)':<46} "
          + " | ".join(f"{r.documents:>26,}" for r in rows))
    line("  hub CPU ms per document", [(r.hub_cpu_ms, f"{r.hub_cpu_ms:.2f}") for r in rows])
    line("  broker CPU ms per document", [(r.broker_cpu_ms, f"{r.broker_cpu_ms:.2f}") for r in rows])
    labels = sorted({k for r in rows for k in r.circulars}, key=lambda k: (int(k.split()[1]), k))
    for label in labels:
        for key, unit, scale in (("hub ms", "hub ms (per recipient)", 1),
                                 ("rows", "store rows (per recipient)", 1),
                                 ("broker bytes", "quorum memory KiB (per copy)", kib)):  # fmt: skip
            cells: list[Cell] = []
            for r in rows:
                c = r.circulars.get(label)
                per = c[key] / c["recipients"] if c else 0.0
                cells.append((per, f"{c[key] / scale:.0f} ({per / scale:.2f})") if c else None)
            line(f"circular {label}: {unit}", cells)
    line("circular warm 1000 / warm 100, hub ms per recipient",
         [(1.0, f"{r.circulars['warm 1000']['hub ms'] / 10 / r.circulars['warm 100']['hub ms']:.2f}")
          if "warm 1000" in r.circulars and "warm 100" in r.circulars else None for r in rows])  # fmt: skip
    for kind in RAW_KINDS if rows[0].raw else ():
        line(f"raw {kind}: declare ms per queue",
             [(r.raw[kind][0] / r.n, f"{r.raw[kind][0] * 1000 / r.n:.2f}") for r in rows])
        line(f"raw {kind}: KiB per queue", [(r.raw[kind][1] / r.n, f"{r.raw[kind][1] / r.n / kib:.1f}")
                                            for r in rows])  # fmt: skip
        line(f"raw {kind}: broker CPU idle, % of a core", [(r.raw[kind][2] / r.n, f"{r.raw[kind][2]:.1f}")
                                                            for r in rows])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="100,1000,5000", help="numbers of agencies, comma-separated")
    parser.add_argument("--quick", action="store_true", help="fewer documents and CLI samples")
    parser.add_argument("--documents", type=int, default=None,
                        help="documents in the throughput run (at least one per agency; default 1000)")
    parser.add_argument("--sample", type=int, default=None, help="agencies added with the real CLI (10)")
    parser.add_argument("--circulars", default="100,1000", help="recipients of each circular")
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a postgresql:// URL")
    parser.add_argument("--quorum-tick-ms", type=int, default=None,
                        help="the hub's node: RabbitMQ's quorum_tick_interval (default: RabbitMQ's, 5000)")
    parser.add_argument("--no-raw", dest="raw", action="store_false",
                        help="skip N quorum against N classic queues on fresh nodes")
    args = parser.parse_args()
    args.documents = args.documents or (200 if args.quick else 1000)
    args.sample = args.sample or (5 if args.quick else 10)
    args.circulars = [int(c) for c in args.circulars.split(",")]
    counts = [int(c) for c in args.counts.split(",")]
    quiet()
    load = os.getloadavg()
    print(f"vbus agencies benchmark {datetime.now():%Y-%m-%d %H:%M} (UTC {datetime.now(UTC):%H:%M}): N = "
          f"{', '.join(map(str, counts))}, store {args.store.split('@')[-1]}, quorum tick "
          f"{args.quorum_tick_ms or 'default'} ms, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="vbus-bench-agencies-") as base:
        for n in counts:
            t = time.perf_counter()
            rows.append(one_n(n, args, Path(base)))
            load = os.getloadavg()
            print(f"  N={n} done in {time.perf_counter() - t:.0f} s, load average "
                  f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)  # fmt: skip
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
