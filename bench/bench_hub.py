"""End-to-end hub benchmark on the real broker: documents per second with receipts, and paced latency.

Run: ``python bench/bench_hub.py [--hubs 2] [--count 1000] [--store sqlite|postgresql://...]``.

What one "document" costs here, all of it measured:
  the sender signs it (RSA-2048) and publishes it (confirmed) -> a hub process (``vb hub run``, a
  subprocess) parses, validates, verifies, records, fans out (confirmed) -> the receiver (another process)
  fetches it, verifies it, acks, signs a status 01 and publishes it -> the hub checks and forwards the
  status -> the sender fetches the 01 and verifies it.
Quorum queues and publisher confirms are on (the transport's defaults). ``--batch 32``: the agencies
submit up to 32 packages at once (``AgencyClient.submit_many``), as a connector catching up would.
Printed: documents/s at 10 KB and 1 MB, p50/p99 latency at a paced 100 documents/s (10 KB), and the
raw pika publish-with-confirm + consume rate at the same sizes
(``bench.bench_transport.raw_pika_throughput``) as a ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vbcore.agency import AgencyClient  # noqa: E402
from vbcore.model import Edoc, Organization, ResponseFor, StaffInfo, StatusPackage  # noqa: E402
from vbcore.security.pki import DevPki, init_dev_pki  # noqa: E402
from vbcore.status import StatusCode  # noqa: E402
from vbcore.testing.devworld import HUB_ID, DevKeys, letter  # noqa: E402
from vbcore.transport.names import Names  # noqa: E402
from vbcore.transport.provision import BrokerAdmin  # noqa: E402
from vbcore.transport.rabbitmq import RabbitMQTransport  # noqa: E402

# Broker users are broker-wide: the benchmark's agency users live under its own user prefix.
SENDER, RECEIVER = "000.00.00.G27", "000.00.00.H14"
PASSWORD = "vbus-bench"


@dataclass(frozen=True)
class Setup:
    host: str
    vhost: str
    names: Names
    pki_dir: Path
    hub_pids: tuple[int, ...] = ()
    store: str = ""  # the hub's store URL

    def url(self, user: str) -> str:
        return f"amqp://{quote(user, safe='')}:{PASSWORD}@{self.host}:5672/{quote(self.vhost, safe='')}"

    @property
    def pki(self) -> DevPki:
        return DevPki(self.pki_dir)

    def client(self, code: str) -> AgencyClient:
        transport = RabbitMQTransport(self.url(self.names.agency_user(code)), names=self.names)
        return DevKeys.load(self.pki, [code]).client(transport, code, self.names)


def document(index: int, size: int, tag: str) -> Edoc:
    """A document of about ``size`` bytes on the wire (base64 of random bytes is 4/3 larger)."""
    payload = os.urandom(max(0, size * 3 // 4 - 3000))
    subject = "V/v đo hiệu năng liên thông văn bản"
    return letter(SENDER, [RECEIVER], str(index), notation=tag, subject=subject, pdf=payload)


def status_01(sender: str, document_id: str, receiver: str = RECEIVER) -> StatusPackage:
    return StatusPackage(
        from_=Organization(receiver),
        response_for=ResponseFor(organ_id=sender, document_id=document_id),
        status_code=StatusCode.ARRIVED,
        staff_info=StaffInfo(department="Văn thư", staff="Bench"),
        description="Đã đến",
        timestamp=datetime.now().replace(microsecond=0),
    )


# --- the receiving agency: another process --------------------------------------------------------


def answer_each(
    client: AgencyClient, count: int, arrived: Callable[[str], None] | None = None, batch: int = 1
) -> None:
    """The receiving agency: verify each document (``fetch``), ack it and answer with a signed 01,
    ``count`` times; ``arrived`` hears each document's id as it arrives. ``batch`` > 1: up to that many
    documents already in hand are answered together (``AgencyClient.submit_many``: one wait for the
    broker's confirms), as a connector answers what one round fetched."""
    done = 0
    while done < count:
        incoming = client.fetch(timeout=1.0)
        if incoming is None:
            continue
        answers = []
        while incoming is not None:
            package = incoming.package
            client.ack(incoming)
            if not isinstance(package, Edoc):
                print(
                    f"{client.agency}: unexpected {incoming.kind}: {getattr(package, 'description', '')}",
                    file=sys.stderr,
                )
            else:
                if arrived is not None:
                    arrived(package.effective_document_id)
                document_id = package.effective_document_id
                answers.append(status_01(package.from_.organ_id, document_id, client.agency))
            full = len(answers) >= min(batch, count - done)
            incoming = None if full else client.fetch(timeout=0.0)
        if answers:
            client.submit_many(answers)
        done += len(answers)
    client.transport.close()


def receiver_main(setup: Setup, count: int, arrivals: mp.Queue, batch: int) -> None:  # type: ignore[type-arg]
    answer_each(setup.client(RECEIVER), count, lambda document_id: arrivals.put((document_id, time.time())),
                batch)  # fmt: skip
    used = os.times()
    arrivals.put(("", used.user + used.system))


# --- one run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    count: int
    seconds: float
    delivery_ms: list[float]
    roundtrip_ms: list[float]
    cpu_ms: dict[str, float]  # CPU milliseconds per document, by process

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def run_once(setup: Setup, count: int, size: int, pace: float | None, batch: int = 1) -> RunResult:
    """Send ``count`` documents (paced at ``pace``/s, or as fast as possible) and wait for every 01.
    ``batch`` > 1: the sender submits up to that many at once (those due, when paced) and the receiver
    answers up to that many at once (``AgencyClient.submit_many``)."""
    tag = uuid.uuid4().hex[:8]
    docs = [document(i, size, tag) for i in range(count)]
    arrivals: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    receiver = mp.get_context("fork").Process(target=receiver_main, args=(setup, count, arrivals, batch))
    receiver.start()
    sent_at: dict[str, float] = {}
    publisher, collector = setup.client(SENDER), setup.client(SENDER)

    def publish() -> None:
        start, i = time.monotonic(), 0
        while i < len(docs):
            if pace:
                delay = start + i / pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                due = min(len(docs), int((time.monotonic() - start) * pace) + 1)
            else:
                due = len(docs)
            chunk = docs[i : max(i + 1, min(due, i + batch))]
            for doc in chunk:
                sent_at[doc.effective_document_id] = time.time()
            if batch > 1:
                publisher.submit_many(chunk)
            else:
                publisher.submit(chunk[0])
            i += len(chunk)

    before = {name: cpu_seconds(pid) for name, pid in processes(setup).items()}
    own = os.times()
    started = time.time()
    thread = threading.Thread(target=publish)
    thread.start()
    roundtrip: list[float] = []
    while len(roundtrip) < count:
        incoming = collector.fetch(timeout=5.0)
        if incoming is None:
            if not receiver.is_alive() and len(roundtrip) < count:
                raise RuntimeError(f"receiver died after {len(roundtrip)} receipts")
            continue
        collector.ack(incoming)
        if isinstance(incoming.package, StatusPackage) and incoming.package.document_id in sent_at:
            roundtrip.append((time.time() - sent_at[incoming.package.document_id]) * 1000)
    seconds = time.time() - started
    thread.join()
    receiver.join(timeout=30)
    mine = os.times()
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in processes(setup).items()}
    cpu["sender"] = mine.user + mine.system - own.user - own.system
    delivery = []
    for _ in range(count + 1):
        document_id, at = arrivals.get(timeout=10)
        if document_id:
            delivery.append((at - sent_at[document_id]) * 1000)
        else:
            cpu["receiver"] = at
    publisher.transport.close()
    collector.transport.close()
    return RunResult(count, seconds, delivery, roundtrip, {k: v * 1000 / count for k, v in cpu.items()})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(setup: Setup) -> dict[str, int]:
    found = {f"hub{i}": pid for i, pid in enumerate(setup.hub_pids)}
    broker = broker_pid()
    if broker is not None:
        found["broker"] = broker
    return found


def broker_pid(port: int = 5672) -> int | None:
    """The process listening on the broker's AMQP ``port`` (other RabbitMQ nodes may run on the host:
    tests' own nodes; the first ``beam.smp`` found is not necessarily the broker the benchmark uses)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# --- the floor: the work any implementation must do for one document, measured in the same run ------


@dataclass(frozen=True)
class Floor:
    """CPU milliseconds per document by process for: the RSA signatures and verifications (the
    document signed by the sender and verified by the hub and the receiver; the 01 signed by the
    receiver and verified by the hub and the sender), one exclusive c14n + SHA-256 per signature and
    verification, and vbus's own transport (``RabbitMQTransport.publish_many`` with confirms + consume
    with ack, no XML) moving the same four messages (document and 01, each in and out of the hub)."""

    by_process: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_process.values())


def _cpu_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - started) * 1000 / repeat


def crypto_floor(setup: Setup, signed: bytes, repeat: int) -> tuple[float, float, float]:
    """(RSA-2048 sign, RSA verify, exclusive c14n + SHA-256 of ``signed``'s tree), CPU ms each."""
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from lxml import etree

    from vbcore.edxml import parse_xml
    from vbcore.security.pki import load_private_key

    key = load_private_key(setup.pki.key_path(SENDER))
    public = key.public_key()
    digest = hashlib.sha256(b"SignedInfo").digest()
    signature = key.sign(digest, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    tree = parse_xml(signed)
    sign = _cpu_ms(lambda: key.sign(digest, padding.PKCS1v15(), hashes.SHA256()), repeat)  # type: ignore[union-attr, call-arg]
    verify = _cpu_ms(lambda: public.verify(signature, digest, padding.PKCS1v15(), hashes.SHA256()), repeat)  # type: ignore[union-attr, call-arg]
    c14n = _cpu_ms(lambda: hashlib.sha256(etree.tostring(tree, method="c14n", exclusive=True)).digest(), repeat)  # noqa: E501
    return sign, verify, c14n


def transport_floor(host: str, size: int, count: int) -> tuple[float, float]:
    """(client, broker) CPU ms per message moved by ``RabbitMQTransport`` with confirms (publish + consume)."""  # noqa: E501
    from bench.bench_transport import transport_throughput

    broker = broker_pid()
    before_broker, before = (cpu_seconds(broker) if broker else 0.0), time.process_time()
    transport_throughput(f"amqp://guest:guest@{host}:5672/%2F", size, count)
    client = (time.process_time() - before) * 1000 / count
    return client, ((cpu_seconds(broker) - before_broker) * 1000 / count if broker else 0.0)


def floor(setup: Setup, size: int, count: int) -> Floor:
    from vbcore.edxml import write_package
    from vbcore.security.signing import SigningKey, sign_package

    key = SigningKey.from_files(setup.pki.key_path(SENDER), setup.pki.cert_path(SENDER))
    doc = sign_package(write_package(document(0, size, "floor")), key)
    receipt = sign_package(write_package(status_01(SENDER, "floor")), key)
    repeat = max(5, min(200, 2_000_000 // size))
    rsa_sign, rsa_verify, c14n_doc = crypto_floor(setup, doc, repeat)
    c14n_01 = crypto_floor(setup, receipt, repeat)[2]
    client_doc, broker_doc = transport_floor(setup.host, len(doc), count)
    client_01, broker_01 = transport_floor(setup.host, len(receipt), count)
    return Floor({
        "sender": rsa_sign + c14n_doc + rsa_verify + c14n_01 + (client_doc + client_01) / 2,
        "hub0": 2 * rsa_verify + c14n_doc + c14n_01 + client_doc + client_01,
        "receiver": rsa_verify + c14n_doc + rsa_sign + c14n_01 + (client_doc + client_01) / 2,
        "broker": 2 * broker_doc + 2 * broker_01,
    })  # fmt: skip


# --- environment ----------------------------------------------------------------------------------


@contextmanager
def environment(args: argparse.Namespace) -> Iterator[Setup]:
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    names = Names(
        prefix="vbus",
        hub_user=f"{vhost}-hub",
        user_prefix=f"{vhost}-",
        inbox_secret=f"inbox secret of {vhost}",
    )
    admin = BrokerAdmin(args.management_url, vhost=vhost, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(PASSWORD)
    for code in (SENDER, RECEIVER):
        admin.add_agency(code, PASSWORD)
    with tempfile.TemporaryDirectory(prefix="vbus-bench-") as tmp:
        pki = init_dev_pki(Path(tmp) / "pki", [(SENDER, SENDER), (RECEIVER, RECEIVER), (HUB_ID, "vbus hub")])
        setup = Setup(args.host, vhost, names, pki.directory)
        (Path(tmp) / "inbox.secret").write_text(names.inbox_secret)
        sqlite = f"sqlite:///{tmp}/hub.db?synchronous={args.synchronous}"
        schema = f"bench_hub_{uuid.uuid4().hex[:8]}"  # PostgreSQL: a schema of its own, dropped after
        store = sqlite if args.store == "sqlite" else f"{args.store}{'&' if '?' in args.store else '?'}schema={schema}"  # noqa: E501
        profile = ["-m", "cProfile", "-o", str(args.profile / "hub{}.prof")] if args.profile else []
        command = [
            sys.executable, *profile, "-m", "cli", "hub", "run", "--store", store,
            "--broker", setup.url(names.hub_user),
            "--hub-id", HUB_ID, "--trust", str(pki.ca_cert_path), "--key", str(pki.key_path(HUB_ID)),
            "--cert", str(pki.cert_path(HUB_ID)), "--prefetch", str(args.prefetch),
            "--agency", SENDER, "--agency", RECEIVER, "--user-prefix", names.user_prefix,
            "--hub-user", names.hub_user, "--inbox-secret", str(Path(tmp) / "inbox.secret"),
            *(["--inflight-bytes", str(args.inflight_bytes)] if getattr(args, "inflight_bytes", None) else []),  # noqa: E501
        ]  # fmt: skip
        hubs = []
        try:
            for i in range(args.hubs):
                log = open(Path(tmp) / f"hub{i}.log", "wb")  # noqa: SIM115 (closed with the process)
                argv = [a.format(i) if a.endswith("{}.prof") else a for a in command]
                hubs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT))
                if i == 0:  # the first one declares the topology (its start takes seconds on a busy host)
                    wait_for_inboxes(setup)
                time.sleep(0.2)
            yield dataclasses.replace(setup, hub_pids=tuple(p.pid for p in hubs), store=store)
        finally:
            for p in hubs:
                p.terminate()
            for p in hubs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            admin.delete_vhost()
            if args.store != "sqlite":
                import psycopg

                with psycopg.connect(args.store, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.remove_user(names.hub_user)
            for code in (SENDER, RECEIVER):
                admin.remove_agency(code)


def wait_for_inboxes(setup: Setup, timeout: float = 120.0) -> None:
    import pika

    deadline = time.monotonic() + timeout
    while True:
        try:
            with pika.BlockingConnection(pika.URLParameters(setup.url(setup.names.agency_user(RECEIVER)))) as conn:  # noqa: E501
                channel = conn.channel()
                for code in (SENDER, RECEIVER):
                    channel.queue_declare(setup.names.inbox(code), passive=True)
                return
        except pika.exceptions.AMQPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def raw_rate(url: str, size: int, count: int) -> float | None:
    try:
        from bench.bench_transport import raw_pika_throughput
    except ImportError:
        return None
    return float(raw_pika_throughput(url, size, count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--hubs", type=int, default=1, help="hub processes consuming the ingress")
    parser.add_argument("--prefetch", type=int, default=32)
    parser.add_argument("--count", type=int, default=1000, help="documents at 10 KB (1 MB: count / 10)")
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a postgresql:// URL")
    parser.add_argument("--profile", type=Path, default=None, help="write each hub's cProfile stats here")
    parser.add_argument(
        "--synchronous", default="normal", help="SQLite synchronous (full survives power loss)"
    )
    parser.add_argument("--inflight-bytes", type=int, default=None, help="the hub's --inflight-bytes")
    parser.add_argument("--sizes", default="10000,1000000", help="document sizes in bytes")
    parser.add_argument("--no-paced", action="store_true", help="skip the paced latency run")
    parser.add_argument("--pace", default="100", help="documents/s of the paced runs, e.g. 100,50")
    parser.add_argument(
        "--batch", type=int, default=1,
        help="the agencies submit up to this many packages at once (AgencyClient.submit_many)",
    )  # fmt: skip
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"vbus hub benchmark {datetime.now():%Y-%m-%d %H:%M}: {args.hubs} hub process(es), store "
          f"{args.store.split('@')[-1]}, prefetch {args.prefetch}, agencies submit {args.batch} at a time, inflight bytes {args.inflight_bytes or 'default'}, "  # noqa: E501
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    with environment(args) as setup:
        run_once(setup, 50, 10_000, None, args.batch)  # warm-up
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            count = args.count if size < 100_000 else max(20, args.count // 10)
            result = run_once(setup, count, size, None, args.batch)
            raw = raw_rate(f"amqp://guest:guest@{args.host}:5672/%2F", size, min(count * 2, 2000))
            rows.append((size, result, raw, floor(setup, size, min(count * 2, 2000))))
        paces = [] if args.no_paced else [float(p) for p in args.pace.split(",")]
        paced = [run_once(setup, args.count, 10_000, pace, args.batch) for pace in paces]
    header = ("size", "docs/s with 01", "raw pika msg/s", "ratio", "p50 ms", "p99 ms")
    print("{:>8}  {:>15}  {:>15}  {:>6}  {:>7}  {:>7}".format(*header))
    for size, result, raw, _ in rows:
        ratio = f"{result.rate / raw:.2f}" if raw else "n/a"
        raw_text = f"{raw:.0f}" if raw else "n/a"
        print(
            f"{size // 1000:>6}KB  {result.rate:>15.1f}  {raw_text:>15}  {ratio:>6}  "
            f"{percentile(result.roundtrip_ms, 0.5):>7.0f}  {percentile(result.roundtrip_ms, 0.99):>7.0f}"
        )
    for size, result, _, under in rows:
        print(f"CPU ms per document at {size // 1000} KB (floor measured in the same run, ratio):")
        for name in sorted(result.cpu_ms):
            ms, least = result.cpu_ms[name], under.by_process.get(name, 0.0)
            print(f"  {name:9} {ms:7.2f}  floor {least:6.2f}  x{ms / least if least else 0:5.1f}")
        total = sum(result.cpu_ms.values())
        print(f"  {'total':9} {total:7.2f}  floor {under.total:6.2f}  x{total / under.total:5.1f}"
              f"  (two cores at this total: {2000 / total:.0f} documents/s)")  # fmt: skip
    for pace, run in zip(paces, paced, strict=True):
        delivery, roundtrip = run.delivery_ms, run.roundtrip_ms
        print(
            f"paced {pace:.0f} docs/s at 10 KB ({run.count} docs, achieved {run.rate:.0f}/s): "
            f"delivery p50 {statistics.median(delivery):.0f} ms, p99 {percentile(delivery, 0.99):.0f} ms; "
            "with the 01 back: p50 "
            f"{statistics.median(roundtrip):.0f} ms, p99 {percentile(roundtrip, 0.99):.0f} ms"
        )
    if args.profile:
        import pstats

        for path in sorted(args.profile.glob("hub*.prof")):
            print(f"profile {path.name}: top functions by own time")
            pstats.Stats(str(path)).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
