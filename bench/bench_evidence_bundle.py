"""What the hub's receipts and package archive cost per document, next to the hub without them.

Run: ``python bench/bench_evidence_bundle.py [--documents 200] [--circular 1000]`` (about a minute).

1. The choice of signature: one RSA-2048 signed statement per receipt, against one statement per
   batch over a Merkle root (``vbcore.evidence.receipt.seal``), for a batch of 32 receipts (what a
   batching hub commits at once) and for a circular's 1,000 delivered receipts.
2. The hub, in one run, on the in-memory broker and a SQLite file (``MemoryWorld``): documents of
   about 10 KB to two recipients, each answered 01 by both, then one circular to N units; first with
   receipts and the archive switched off (the evidence log of ``vbcore.hub.evidence`` stays on in
   both: it is not what this measures), then on. Printed: milliseconds of the hub's work per
   document (its pump, the time inside the in-memory broker subtracted) and per circular, the
   difference, and the bytes kept per document: the archive's files and the receipts' rows.
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


class BrokerClock:
    """Time inside the in-memory broker, subtracted (as ``bench_hub_recipients``)."""

    def __init__(self, world: MemoryWorld) -> None:
        assert world.hub is not None
        self.seconds = 0.0
        transport: Any = world.hub.transport
        for name in ("publish_many", "declare_inbox"):
            setattr(transport, name, self._timed(getattr(transport, name)))

    def _timed(self, call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return run


def _world(tmp: Path, dev: DevKeys, units: int, evidence: bool) -> MemoryWorld:
    directory = Directory.default().merged_with(
        Directory.from_agencies(
            [Agency(code, f"Đơn vị {code}", "unit", parent=VPCP) for code in UNITS[:units]]
        )
    )
    world = MemoryWorld(open_store(f"sqlite:///{tmp / 'hub.db'}"), dev, config=HubConfig(hub_id=HUB_ID),
                        directory=directory, agencies=(VPCP, HA_NOI, DA_NANG))  # fmt: skip
    hub = world.start_hub()
    if evidence:
        hub.archive = PackageArchive(tmp / "packages")
    else:
        hub.receipts = NoReceipts(hub.store, hub.key, lambda: hub.config)
    return world


def _pump(world: MemoryWorld) -> float:
    clock = BrokerClock(world)
    started = time.perf_counter()
    world.pump()
    return time.perf_counter() - started - clock.seconds


def hub_run(dev: DevKeys, documents: int, circular: int, evidence: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        world = _world(tmp, dev, circular, evidence)
        try:
            spent = 0.0
            for i in range(documents):
                doc = letter(VPCP, [HA_NOI, DA_NANG], str(1000 + i))
                world.client(VPCP).submit(doc)
                spent += _pump(world)
                for code in (HA_NOI, DA_NANG):
                    world.client(code).submit(StatusPackage(
                        Organization(code), ResponseFor(VPCP, document_id=doc.effective_document_id),
                        StatusCode.ARRIVED, timestamp=vietnam_now()))  # fmt: skip
                    spent += _pump(world)
            many = dataclasses.replace(letter(VPCP, [], "circ"),
                                       to=tuple(Organization(c) for c in UNITS[:circular]))  # fmt: skip
            world.client(VPCP).submit(many)
            circ = _pump(world)
            store: Any = world.store
            receipts = sum(
                int(r[0] or 0) for r in store.select("SELECT SUM(LENGTH(body)) FROM evidence_receipts")
            )
            seals = sum(
                int(r[0] or 0) for r in store.select("SELECT SUM(LENGTH(statement)) FROM evidence_seals")
            )
            archived = sum(p.stat().st_size for p in (tmp / "packages").rglob("*") if p.is_file())
            return {"per_document_ms": spent * 1000 / documents, "circular_ms": circ * 1000,
                    "receipt_bytes": (receipts + seals) / (documents + 1),
                    "archive_bytes": archived / (documents + 1)}  # fmt: skip
        finally:
            world.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--circular", type=int, default=1000)
    args = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as tmp:
        pki = init_dev_pki(Path(tmp) / "pki", [(VPCP, VPCP), (HA_NOI, HA_NOI), (DA_NANG, DA_NANG),
                                               (HUB_ID, "vbus hub")])  # fmt: skip
        dev = DevKeys.load(pki)
        signatures(dev)
        print()
        hub_run(dev, 5, 10, True)  # warm up (imports, first schema)
        off = hub_run(dev, args.documents, args.circular, False)
        on = hub_run(dev, args.documents, args.circular, True)
    print(
        f"2. the hub, {args.documents} documents to 2 recipients (each answered 01 by both), then a circular "
        f"to {args.circular}"
    )
    print(f"{'':<28} | {'without':>9} | {'with':>9} | {'cost':>9}")
    for key, label in (("per_document_ms", "ms per document (+ 2 x 01)"), ("circular_ms", "ms per circular")):
        print(f"{label:<28} | {off[key]:9.2f} | {on[key]:9.2f} | {on[key] - off[key]:+9.2f}")
    print(
        f"{'documents/s':<28} | {1000 / off['per_document_ms']:9.1f} | {1000 / on['per_document_ms']:9.1f} |"
    )
    print(f"{'receipt bytes per document':<28} | {off['receipt_bytes']:9.0f} | {on['receipt_bytes']:9.0f} |")
    print(f"{'archive bytes per document':<28} | {off['archive_bytes']:9.0f} | {on['archive_bytes']:9.0f} |")


if __name__ == "__main__":
    main()
