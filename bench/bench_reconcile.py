"""``vb reconcile`` on a large installation: time and peak memory for 10,000 and 100,000 documents.

Run: ``python bench/bench_reconcile.py [--counts 10000,100000] [--store sqlite|postgresql://...]``.

Builds, through the store's and the ledgers' own APIs (in large transactions, so building is quick),
a hub store and the ledgers of 20 agencies' connectors in which every document went the whole way
(sent, confirmed, tracked, forwarded, delivered, 01 at the hub and at the sender), then breaks one
document in a thousand in each of three ways (never reached the hub; never delivered; the 01 missing
at the sender). Then ``reconcile`` runs in a fresh process (``--run-only``), whose peak RSS
(``ru_maxrss``) is what reconciliation itself costs on top of Python and vbus; a bare process that
imports vbus gives the floor. Memory must not grow with the number of documents (the joins happen in a
scratch SQLite file with a bounded page cache); time should grow linearly.

Printed: documents, pairs, gaps found (and expected), seconds, peak RSS of the run and of the floor,
and the scratch file's size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vbcore.connector.ledger import Ledger  # noqa: E402
from vbcore.store import DocumentRecord, SqlStore, StatusEvent, open_store  # noqa: E402

AGENCIES = [f"000.00.{i:02d}.H24" for i in range(1, 21)]
BROKEN_EVERY = 1000  # one document in this many is broken, in each of three ways
T0 = datetime.now(UTC) - timedelta(hours=1)
BATCH = 5000


def build(folder: Path, store_url: str, count: int) -> int:
    """The store and ledgers of ``count`` documents; returns how many gaps were made."""
    store = open_store(store_url)
    ledgers = {}
    for code in AGENCIES:
        ledger = Ledger(folder / "ledgers" / f"{code}.sqlite3")
        ledger.claim_agency(code)
        ledger._db.execute("PRAGMA synchronous = OFF")  # building only: the bench's data is disposable
        ledgers[code] = ledger
    broken = 0
    for start in range(0, count, BATCH):
        for ledger in ledgers.values():
            ledger._db.execute("BEGIN")
        with store.transaction():
            for i in range(start, min(count, start + BATCH)):
                broken += one_document(store, ledgers, i)
        for ledger in ledgers.values():
            ledger._db.execute("COMMIT")
    for ledger in ledgers.values():
        ledger.close()
    store.close()
    return broken


def one_document(store: SqlStore, ledgers: dict[str, Ledger], i: int) -> int:
    sender, recipient = AGENCIES[i % len(AGENCIES)], AGENCIES[(i * 7 + 3) % len(AGENCIES)]
    if recipient == sender:
        recipient = AGENCIES[(i + 1) % len(AGENCIES)]
    doc = f"{sender},2026/11/24,{i}/VB"
    fault = (i // 3) % 3 if i % BROKEN_EVERY < 3 else None  # three documents in a thousand, one each way
    ledgers[sender].record_sending(f"out-{i}", doc, (recipient,), f"{i}/VB", None)
    ledgers[sender].record_sent(f"out-{i}")
    if fault == 0:
        return 1  # never reached the hub
    at = T0 + timedelta(milliseconds=i)
    store.record_document(
        DocumentRecord(
            doc,
            sender,
            0,
            f"Văn bản số {i}",
            f"{i}/VB",
            f"m-{i}",
            "ab" * 32,
            10_000,
            at,
            edxml_document_id=doc,
        )
    )
    store.claim_pair(doc, recipient, at=at, deadline=None)
    store.mark_forwarded(doc, recipient, at=at)
    if fault == 1:
        return 1  # never delivered
    ledgers[recipient].record_delivered(doc, sender, f"{i}/VB", None, dms_id=f"dms-{i}")
    ledgers[recipient].record_answer_sent(sender, doc)
    store.record_status(StatusEvent(doc, recipient, "01", None, None, datetime.now(UTC), recipient))
    if fault == 2:
        return 1  # the 01 never reached the sender
    ledgers[sender].record_status_received(doc, recipient, "01")
    return 0


def run_only(store_url: str, ledgers: str, work: str) -> None:
    """The measured part, in its own process: prints a JSON line."""
    from vbcore.operations import reconcile

    scratch = [0]

    def measure(_phase: str, _done: int) -> None:  # the scratch file's size as the work goes
        size = sum(p.stat().st_size for p in Path(work).rglob("*") if p.is_file())
        scratch[0] = max(scratch[0], size)

    started = time.perf_counter()
    result = reconcile(store_url, [ledgers], work_dir=Path(work), progress=measure)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_kib": peak_kib,
                "pairs": result.pairs,
                "gaps": result.total,
                "by_stage": result.by_stage,
                "scratch_kib": scratch[0] // 1024,
            }
        )
    )


def floor_kib() -> int:
    code = (
        "import resource, vbcore.operations, vbcore.store; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    return int(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
    )


def store_for(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'hub.db'}?synchronous=off"
    return f"{kind}{'&' if '?' in kind else '?'}schema=bench_reconcile_{uuid.uuid4().hex[:8]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10000,100000")
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL (a schema per run)")
    parser.add_argument("--run-only", nargs=3, metavar=("STORE", "LEDGERS", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_only:
        run_only(*args.run_only)
        return
    floor = floor_kib()
    print(
        f"{'documents':>10} {'pairs':>8} {'gaps':>6} {'expected':>8} {'build s':>8} {'reconcile s':>11} "
        f"{'peak MiB':>9} {'floor MiB':>9} {'scratch MiB':>11}"
    )
    for count in (int(c) for c in args.counts.split(",")):
        with tempfile.TemporaryDirectory(prefix="vbus-bench-reconcile-") as tmp:
            folder = Path(tmp)
            url = store_for(args.store, folder)
            started = time.perf_counter()
            expected = build(folder, url, count)
            built = time.perf_counter() - started
            work = folder / "work"
            work.mkdir()
            out = subprocess.run(
                [sys.executable, __file__, "--run-only", url, str(folder / "ledgers"), str(work)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{count:>10} {result['pairs']:>8} {result['gaps']:>6} {expected:>8} {built:>8.1f} "
                f"{result['seconds']:>11.1f} {result['peak_kib'] / 1024:>9.1f} {floor / 1024:>9.1f} "
                f"{result['scratch_kib'] / 1024:>11.1f}"
            )
            if result["gaps"] != expected:
                print(f"  gaps by stage: {result['by_stage']}")
            if args.store != "sqlite":
                drop_schema(url)


def drop_schema(url: str) -> None:
    import psycopg

    base, _, query = url.partition("?")
    schema = dict(part.split("=", 1) for part in query.split("&"))["schema"]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
