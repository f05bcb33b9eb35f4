"""What the evidence log (issue 9) costs, and what ``vb audit verify`` takes on a million entries.

1. ``vb audit verify`` (``vbcore.operations.audit.audit``) on SQLite stores of 100,000 and 1,000,000
   entries: 5 entries per document (accepted, 2 copies delivered, 2 receipts 01), the store's rows to
   match (documents, pairs, status events), a signed checkpoint every 1,000 entries. The entries are
   appended by the store's own ``append_evidence``; each audit runs in a fresh subprocess so that its
   peak RSS is its own (next to the RSS of a process that only opened the store: the floor).
2. The hub's cost per document with and without the evidence log, side by side in one run: the same
   pre-signed documents (to 2 recipients) and one receipt 01 each, through the real pipeline in batch
   mode on the in-memory broker and a SQLite file store; "without" is the same hub with its two
   evidence calls (``_append_evidence``, ``_checkpoint_if_due``) stubbed out. CPU seconds of the
   process per document (the store is in-process: its work counts), and bytes the store file grows by
   per document (after ``VACUUM``). Rounds alternate with and without; the medians are printed.

    python bench/bench_evidence.py                 # both, about 4 minutes on 2 cores
    python bench/bench_evidence.py --entries 100000 --documents 500   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MiB = 1024 * 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1. vb audit verify on a large log ------------------------------------------------------------


def build_store(path: Path, entries: int, pki_dir: Path) -> None:
    from vbcore.evidence.checkpoint import make_checkpoint
    from vbcore.evidence.entry import EvidenceDraft
    from vbcore.security.pki import init_dev_pki
    from vbcore.security.signing import SigningKey
    from vbcore.store import open_store

    pki = init_dev_pki(pki_dir, [("vbus.hub", "vbus hub")])
    key = SigningKey.from_files(pki.key_path("vbus.hub"), pki.cert_path("vbus.hub"))
    store = open_store(f"sqlite:///{path}")
    db = store._db
    sender, a, b = "000.00.00.G22", "000.00.00.H24", "000.00.00.H56"
    now = datetime.now(UTC)  # after the store's migration 8: what it records now has its entries
    digest = "ab" * 32
    documents = entries // 5
    per_commit = 200

    def sign(seq: int, head: str, at: str):  # type: ignore[no-untyped-def]
        return make_checkpoint(key, seq=seq, head_hash=head, at_utc=at, hub_id="vbus.hub")

    for start in range(0, documents, per_commit):
        drafts = []
        with store.transaction():
            for i in range(start, min(documents, start + per_commit)):
                doc = f"{sender},2026/11/30,{i}/VB"
                db.execute(
                    "INSERT INTO documents (document_id, sender, business_type, message_id, sha256, size,"
                    " received_at) VALUES (?, ?, 0, ?, ?, 1000, ?)",
                    (doc, sender, f"m{i}", digest, now),
                )
                drafts.append(
                    EvidenceDraft(
                        "package-accepted",
                        sender,
                        doc,
                        None,
                        digest,
                        {"message_id": f"m{i}", "recipients": [a, b], "refused": {}},
                    )
                )
                for r in (a, b):
                    db.execute(
                        "INSERT INTO pairs (document_id, recipient, state, accepted_at, forwarded_at)"
                        " VALUES (?, ?, '01', ?, ?)",
                        (doc, r, now, now),
                    )
                    drafts.append(
                        EvidenceDraft("copy-delivered", sender, doc, r, digest, {"message_id": f"m{i}"})
                    )
                for r in (a, b):
                    db.execute(
                        "INSERT INTO status_events (document_id, recipient, code, received_at, from_agency,"
                        " message_id) VALUES (?, ?, '01', ?, ?, ?)",
                        (doc, r, now, r, f"s{i}{r}"),
                    )
                    drafts.append(
                        EvidenceDraft(
                            "status-received",
                            r,
                            doc,
                            r,
                            digest,
                            {"code": "01", "message_id": f"s{i}{r}", "status_time": None},
                        )
                    )
            store.append_evidence(drafts, now=datetime.now(UTC))
            store.checkpoint_evidence(sign, now=datetime.now(UTC), every_entries=1000)
    store.checkpoint_evidence(sign, now=datetime.now(UTC))
    store.close()


def child_audit(store_path: str, ca_path: str, only_open: bool) -> None:
    from vbcore.operations.audit import audit
    from vbcore.security.trust import TrustStore
    from vbcore.store import open_store

    trust = TrustStore.from_pem_files([Path(ca_path)])
    store = open_store(f"sqlite:///{store_path}")
    started, cpu = time.perf_counter(), time.process_time()
    report = None if only_open else audit(store, trust)
    out = {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "peak_rss_mib": peak_rss_mib(),
    }
    if report is not None:
        out |= {
            "entries": report.entries,
            "clean": report.clean,
            "checkpoints": report.checkpoints,
            "documents": report.documents,
        }
    store.close()
    print(json.dumps(out))


def run_child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_audit(sizes: list[int], work: Path) -> None:
    print("vb audit verify (SQLite, 5 entries per document, a checkpoint every 1,000 entries)")
    print(
        f"{'entries':>10} {'build s':>8} {'store MB':>9} {'verify s':>9} {'µs/entry':>9} {'peak RSS MiB':>13}"
        f" {'floor RSS MiB':>14}"
    )
    for entries in sizes:
        path = work / f"audit-{entries}.db"
        pki = work / f"pki-{entries}"
        started = time.perf_counter()
        build_store(path, entries, pki)
        built = time.perf_counter() - started
        ca = str(pki / "ca.pem")
        floor = run_child("--child-audit", str(path), ca, "--only-open")
        got = run_child("--child-audit", str(path), ca)
        assert got["clean"], got
        assert got["entries"] == entries, got
        print(
            f"{entries:>10,} {built:>8.1f} {path.stat().st_size / MiB:>9.1f} {got['seconds']:>9.1f}"
            f" {got['seconds'] * 1e6 / entries:>9.1f} {got['peak_rss_mib']:>13.1f}"
            f" {floor['peak_rss_mib']:>14.1f}"
        )


class _Quiet:
    def _drop(self, event: str, **fields: object) -> None:
        pass

    debug = info = warning = error = exception = _drop


# --- 2. the hub with and without the evidence log ---------------------------------------------------


def bench_hub(documents: int, rounds: int, work: Path) -> None:
    from vbcore.agency import AgencyClient  # noqa: F401 - imported before timing
    from vbcore.edxml import write_package
    from vbcore.hub.config import HubConfig
    from vbcore.model import Organization, ResponseFor, StatusPackage
    from vbcore.security.signing import sign_package
    from vbcore.status import StatusCode
    from vbcore.store import open_store
    from vbcore.testing.devworld import HUB_ID, SIX_AGENCIES, MemoryWorld, letter, six_agency_keys
    from vbcore.timezones import utc_now
    from vbcore.transport import names as n

    dev = six_agency_keys(work / "pki")
    g22, h24, h56 = SIX_AGENCIES[0], SIX_AGENCIES[3], SIX_AGENCIES[5]
    docs = [letter(g22, [h24, h56], str(i)) for i in range(documents)]
    signed_docs = [sign_package(write_package(d), dev.keys[g22]) for d in docs]
    signed_statuses = [
        sign_package(write_package(StatusPackage(
            from_=Organization(h24, organ_name="H24"),
            response_for=ResponseFor(organ_id=g22, code=str(d.code), document_id=d.effective_document_id),
            status_code=StatusCode.ARRIVED, description="Đã đến", timestamp=datetime(2026, 11, 30, 9, 0),
        )), dev.keys[h24])
        for d in docs
    ]  # fmt: skip

    def one(evidence: bool, index: int) -> tuple[float, float, int]:
        path = work / f"hub-{'with' if evidence else 'without'}-{index}.db"
        store = open_store(f"sqlite:///{path}")
        world = MemoryWorld(store, dev, config=HubConfig(hub_id=HUB_ID, clock=utc_now))
        hub = world.start_hub(batch=True)
        hub.log = hub.checkpoints.log = _Quiet()  # a line per package on stdout would be most of the cost
        if not evidence:
            hub._append_evidence = lambda drafts: 0  # type: ignore[method-assign]
            hub._checkpoint_if_due = lambda appended: None  # type: ignore[method-assign]
        for kind, batch, sender in ((n.KIND_EDOC, signed_docs, g22), (n.KIND_STATUS, signed_statuses, h24)):
            client = world.client(sender)
            for signed in batch:
                client.submit_signed(signed, kind=kind)
        cpu, wall = time.process_time(), time.perf_counter()
        while True:
            hub.transport.drain(0)
            if not hub.flush():
                break
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if evidence:
            hub.checkpoint_now()
        store.close()
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute("VACUUM")
        entries = 0
        if evidence:
            with sqlite3.connect(path) as db:
                entries = db.execute("SELECT seq FROM evidence_head").fetchone()[0]
        return cpu, wall, path.stat().st_size, entries  # type: ignore[return-value]

    one(True, -1)  # warm-up (imports, caches)
    results: dict[bool, list[tuple[float, float, int, int]]] = {True: [], False: []}
    for index in range(rounds):
        for evidence in (False, True) if index % 2 else (True, False):
            results[evidence].append(one(evidence, index))  # type: ignore[arg-type]
    print(
        f"\nthe hub, {documents} documents to 2 recipients + 1 receipt 01 each, batch mode, in-memory "
        f"broker, SQLite file store; median of {rounds} rounds each"
    )
    print(f"{'':>18} {'CPU ms/doc':>11} {'wall ms/doc':>12} {'store bytes/doc':>16} {'entries/doc':>12}")
    rows = {}
    for evidence in (False, True):
        cpu = statistics.median(r[0] for r in results[evidence]) * 1000 / documents
        wall = statistics.median(r[1] for r in results[evidence]) * 1000 / documents
        size = statistics.median(r[2] for r in results[evidence]) / documents
        per = statistics.median(r[3] for r in results[evidence]) / documents
        rows[evidence] = (cpu, wall, size)
        label = "with evidence" if evidence else "without evidence"
        print(f"{label:>18} {cpu:>11.2f} {wall:>12.2f} {size:>16.0f} {per:>12.1f}")
    (c0, w0, s0), (c1, w1, s1) = rows[False], rows[True]
    print(
        f"{'evidence costs':>18} {c1 - c0:>+11.2f} {w1 - w0:>+12.2f} {s1 - s0:>+16.0f}"
        f"   ({100 * (c1 - c0) / c0:+.0f} % CPU, {100 * (s1 - s0) / s0:+.0f} % bytes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", default="100000,1000000", help="log sizes for vb audit verify")
    parser.add_argument("--documents", type=int, default=1000, help="documents per hub round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--skip-hub", action="store_true")
    parser.add_argument("--child-audit", nargs=2, metavar=("STORE", "CA"))
    parser.add_argument("--only-open", action="store_true")
    args = parser.parse_args()
    if args.child_audit:
        child_audit(*args.child_audit, args.only_open)
        return
    print(f"{datetime.now(UTC):%Y-%m-%d}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="vbus-bench-evidence-") as tmp:
        work = Path(tmp)
        if not args.skip_audit:
            bench_audit([int(x) for x in args.entries.split(",")], work)
        if not args.skip_hub:
            bench_hub(args.documents, args.rounds, work)


if __name__ == "__main__":
    main()
