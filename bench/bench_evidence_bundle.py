"""What the hub's receipts and package archive cost per document, next to the hub without them.

Run: ``python bench/bench_evidence_bundle.py [--documents 200] [--circular 1000]`` (about a minute).

1. The choice of signature: one RSA-2048 signed statement per receipt, against one statement per
   batch over a Merkle root (``vbcore.evidence.receipt.seal``), for a batch of 32 receipts (what a
   batching hub commits at once) and for a circular's 1,000 delivered receipts.
2. The hub, in one run: two hubs on in-memory brokers and SQLite files (``MemoryWorld``), one with
   receipts and the archive switched off (the evidence log of ``vbcore.hub.evidence`` stays on in
   both: it is not what this measures), one with them on and every agency asking for its receipts;
   the same documents (about 5.5 KB signed) to two recipients, each answered 01 by both, go to one
   then the other in turn (one machine's load for both), then circulars to N units. Printed: the hub's CPU
   (``process_time``, the in-memory broker's own excluded) per document with its two 01s and per
   circular, medians; the CPU spent inside the receipt desk and the archive; the bytes kept per
   document (receipts and their seals in the store, the archive's files).
3. The same with a batching hub (``vb hub run``'s way: what the consumer prefetched shares one
   transaction, one publish and, here, one seal per append): batches of ``--batch`` documents.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vbcore.directory import Agency, Directory  # noqa: E402
from vbcore.evidence.entry import COPY_DELIVERED, Entry, format_local, format_utc  # noqa: E402
from vbcore.evidence.receipt import DELIVERED, receipt_payload, seal  # noqa: E402
from vbcore.evidence.statement import sign_statement  # noqa: E402
from vbcore.hub.config import HubConfig  # noqa: E402
from vbcore.hub.receipts import ReceiptDesk  # noqa: E402
from vbcore.logging import quiet  # noqa: E402
from vbcore.model import Organization, ResponseFor, StatusPackage  # noqa: E402
from vbcore.security.pki import init_dev_pki  # noqa: E402
from vbcore.status import StatusCode  # noqa: E402
from vbcore.store import open_store  # noqa: E402
from vbcore.store.archive import PackageArchive  # noqa: E402
from vbcore.testing.devworld import DA_NANG, HA_NOI, HUB_ID, VPCP, DevKeys, MemoryWorld, letter  # noqa: E402
from vbcore.timezones import utc_now, vietnam_now  # noqa: E402
from vbcore.transport.memory import InMemoryTransport  # noqa: E402

UNITS = [f"{a:03d}.{b:02d}.01.G22" for a in range(100) for b in range(100)]


class NoReceipts(ReceiptDesk):
    """The desk switched off: entries without receipts, nothing sealed, kept or sent."""

    def stamp(self, drafts: Sequence[Any]) -> list[Any]:
        return list(drafts)

    def issue(self, entries: Sequence[Entry]) -> list[Any]:
        return []


def _payloads(n: int) -> list[dict[str, Any]]:
    now = utc_now()
    out = []
    for i in range(n):
        entry = Entry(
            i + 1, format_utc(now), format_local(now), COPY_DELIVERED, VPCP, "doc", UNITS[i], "ab" * 32, {}
        )
        out.append(receipt_payload(DELIVERED, f"r{i}", entry, "cd" * 32, HUB_ID))
    return out


def signatures(dev: DevKeys) -> None:
    key = dev.keys[HUB_ID]
    print("1. signing receipts (ms per receipt, median of 5)")
    print(f"{'batch':>6} | {'one statement each':>18} | {'one seal per batch':>18} | {'ratio':>6}")
    for n in (32, 1000):
        payloads = _payloads(n)
        each, sealed = [], []
        for _ in range(5):
            started = time.perf_counter()
            for p in payloads:
                sign_statement(key, p)
            each.append((time.perf_counter() - started) * 1000 / n)
            started = time.perf_counter()
            seal(key, HUB_ID, payloads)
            sealed.append((time.perf_counter() - started) * 1000 / n)
        a, b = statistics.median(each), statistics.median(sealed)
        print(f"{n:>6} | {a:18.3f} | {b:18.4f} | {a / b:5.0f}x")


class Clock:
    """CPU seconds (``time.process_time``) spent inside the wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, owner: Any, name: str) -> None:
        call = getattr(owner, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - started

        setattr(owner, name, run)


@dataclasses.dataclass
class Side:
    """One hub: receipts and archive on or off, and where its CPU went."""

    world: MemoryWorld
    tmp: Path
    broker: Clock
    receipts: Clock  # inside the receipt desk (issuing: sealing and keeping; sending)
    archive: Clock  # inside the package archive (write, fsync)
    per_document: list[float] = dataclasses.field(default_factory=list)
    per_circular: list[float] = dataclasses.field(default_factory=list)
    receipts_per_document: list[float] = dataclasses.field(default_factory=list)
    archive_per_document: list[float] = dataclasses.field(default_factory=list)


def _side(tmp: Path, dev: DevKeys, units: int, evidence: bool, batch: int = 0) -> Side:
    directory = Directory.default().merged_with(
        Directory.from_agencies(
            [Agency(code, f"Đơn vị {code}", "unit", parent=VPCP) for code in UNITS[:units]]
        )
    )
    config = HubConfig(hub_id=HUB_ID, inflight_bytes=max(1, batch) * HubConfig().max_bytes)
    world = MemoryWorld(open_store(f"sqlite:///{tmp / 'hub.db'}"), dev, config=config, directory=directory,
                        agencies=(VPCP, HA_NOI, DA_NANG))  # fmt: skip
    if batch:  # as ``vb hub run``: what the consumer prefetched, processed together
        transport = InMemoryTransport(world.broker, world.names.hub_user, world.names)
        hub = dev.hub(transport, world.store, config, directory)
        hub.start(list(world.agencies), prefetch=batch, batch=True)
        world.hub = hub
    else:
        hub = world.start_hub()
    if evidence:
        hub.archive = PackageArchive(tmp / "packages")
    else:
        hub.receipts = NoReceipts(hub.store, hub.key, lambda: hub.config)
    broker, receipts, archive = Clock(), Clock(), Clock()
    for name in ("publish_many", "declare_inbox"):
        broker.wrap(hub.transport, name)
    for name in ("issue", "outgoing"):
        receipts.wrap(hub.receipts, name)
    archive.wrap(hub, "_archive_packages")
    for code in (VPCP, HA_NOI, DA_NANG):
        world.client(code).receipts = evidence  # the sender and the recipients ask for theirs
    return Side(world, tmp, broker, receipts, archive)


def _pump(side: Side) -> float:
    """The hub's CPU seconds for what waits, the in-memory broker's own excluded."""
    before_broker, started = side.broker.seconds, time.process_time()
    side.world.pump()
    return time.process_time() - started - (side.broker.seconds - before_broker)


def _one_document(side: Side, number: str) -> None:
    world, receipts, archive = side.world, side.receipts.seconds, side.archive.seconds
    doc = letter(VPCP, [HA_NOI, DA_NANG], number)
    world.client(VPCP).submit(doc)
    cpu = _pump(side)
    for code in (HA_NOI, DA_NANG):
        world.inbox(code)
        world.client(code).submit(StatusPackage(
            Organization(code), ResponseFor(VPCP, document_id=doc.effective_document_id),
            StatusCode.ARRIVED, timestamp=vietnam_now()))  # fmt: skip
        cpu += _pump(side)
    world.inbox(VPCP)
    side.per_document.append(cpu * 1000)
    side.receipts_per_document.append((side.receipts.seconds - receipts) * 1000)
    side.archive_per_document.append((side.archive.seconds - archive) * 1000)


def _one_batch(side: Side, number: str, size: int) -> None:
    """``size`` documents published, then taken by the batching hub together."""
    world, receipts, archive = side.world, side.receipts.seconds, side.archive.seconds
    for i in range(size):
        world.client(VPCP).submit(letter(VPCP, [HA_NOI, DA_NANG], f"{number}-{i}"))
    assert world.hub is not None
    before_broker, started = side.broker.seconds, time.process_time()
    world.hub.transport.drain(0)
    done = world.hub.flush()
    cpu = time.process_time() - started - (side.broker.seconds - before_broker)
    assert done == size, done
    side.per_document.append(cpu * 1000 / size)
    side.receipts_per_document.append((side.receipts.seconds - receipts) * 1000 / size)
    side.archive_per_document.append((side.archive.seconds - archive) * 1000 / size)
    for code in (HA_NOI, DA_NANG, VPCP):
        world.inbox(code)


def batched(dev: DevKeys, tmp: Path, size: int, batches: int) -> None:
    (tmp / "boff").mkdir()
    (tmp / "bon").mkdir()
    off = _side(tmp / "boff", dev, 0, False, batch=size)
    on = _side(tmp / "bon", dev, 0, True, batch=size)
    try:
        for side in (off, on):
            _one_batch(side, "warm", size)
            side.per_document.clear()
            side.receipts_per_document.clear()
            side.archive_per_document.clear()
        for i in range(batches):
            for side in (off, on) if i % 2 else (on, off):
                _one_batch(side, f"b{i}", size)
        receipt_bytes, archive_bytes = _bytes(on, size * (batches + 1))
    finally:
        off.world.store.close()
        on.world.store.close()
    med = statistics.median
    print(
        f"3. a batching hub (as vb hub run), batches of {size} documents to 2 recipients, CPU ms per "
        f"document, median of {batches}"
    )
    print(f"{'':<34} | {'without':>9} | {'with':>9} | {'in receipts':>11} | {'in archive':>10}")
    print(
        f"{'per document':<34} | {med(off.per_document):9.2f} | {med(on.per_document):9.2f} | "
        f"{med(on.receipts_per_document):11.2f} | {med(on.archive_per_document):10.2f}"
    )
    print(
        f"{'documents/s (one hub process, CPU)':<34} | {1000 / med(off.per_document):9.1f} | "
        f"{1000 / med(on.per_document):9.1f} |"
    )
    print(f"bytes kept per document: receipts and seals {receipt_bytes:,.0f}, archive {archive_bytes:,.0f}")


def _one_circular(side: Side, number: str, units: int) -> None:
    many = dataclasses.replace(letter(VPCP, [], number), to=tuple(Organization(c) for c in UNITS[:units]))
    side.world.client(VPCP).submit(many)
    side.per_circular.append(_pump(side) * 1000)
    side.world.inbox(VPCP)


def _bytes(side: Side, documents: int) -> tuple[float, float]:
    store: Any = side.world.store
    receipts = sum(int(r[0] or 0) for r in store.select("SELECT SUM(LENGTH(body)) FROM evidence_receipts"))
    seals = sum(int(r[0] or 0) for r in store.select("SELECT SUM(LENGTH(statement)) FROM evidence_seals"))
    archived = sum(p.stat().st_size for p in (side.tmp / "packages").rglob("*") if p.is_file())
    return (receipts + seals) / documents, archived / documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--circular", type=int, default=1000)
    parser.add_argument("--circulars", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="documents per batch in part 3 (0: skip it)")
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pki = init_dev_pki(
            tmp / "pki", [(VPCP, VPCP), (HA_NOI, HA_NOI), (DA_NANG, DA_NANG), (HUB_ID, "vbus hub")]
        )
        dev = DevKeys.load(pki)
        signatures(dev)
        print()
        (tmp / "off").mkdir()
        (tmp / "on").mkdir()
        off = _side(tmp / "off", dev, args.circular, False)
        on = _side(tmp / "on", dev, args.circular, True)
        try:
            for i in range(10):  # warm-up, not counted
                for side in (off, on):
                    _one_document(side, f"w{i}")
            for side in (off, on):
                side.per_document.clear()
                side.receipts_per_document.clear()
                side.archive_per_document.clear()
            for i in range(args.documents):  # the same document to both hubs, in turn: one machine's weather
                for side in (off, on) if i % 2 else (on, off):
                    _one_document(side, str(1000 + i))
            receipt_bytes, archive_bytes = _bytes(on, args.documents + 10)  # the documents', before circulars
            for i in range(args.circulars):
                for side in (off, on):
                    _one_circular(side, f"circ{i}", args.circular)
        finally:
            off.world.store.close()
            on.world.store.close()
    med = statistics.median
    print(
        f"2. the hub (CPU ms, median), {args.documents} documents to 2 recipients, each answered 01 by both "
        f"(3 messages), then {args.circulars} circulars to {args.circular}"
    )
    print(f"{'':<34} | {'without':>9} | {'with':>9} | {'in receipts':>11} | {'in archive':>10}")
    print(
        f"{'per document (+ its 2 x 01)':<34} | {med(off.per_document):9.2f} | {med(on.per_document):9.2f} | "
        f"{med(on.receipts_per_document):11.2f} | {med(on.archive_per_document):10.2f}"
    )
    print(
        f"{'per circular to ' + str(args.circular):<34} | {med(off.per_circular):9.1f} | "
        f"{med(on.per_circular):9.1f} |"
    )
    print(
        f"{'documents/s (one hub process, CPU)':<34} | {1000 / med(off.per_document):9.1f} | "
        f"{1000 / med(on.per_document):9.1f} |"
    )
    print(f"bytes kept per document: receipts and seals {receipt_bytes:,.0f}, archive {archive_bytes:,.0f}")
    if args.batch:
        print()
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            pki = init_dev_pki(tmp / "pki", [(VPCP, VPCP), (HA_NOI, HA_NOI), (DA_NANG, DA_NANG),
                                             (HUB_ID, "vbus hub")])  # fmt: skip
            batched(DevKeys.load(pki), tmp, args.batch, args.batches)


if __name__ == "__main__":
    main()
