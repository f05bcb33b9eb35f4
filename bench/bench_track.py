"""``vb track DOCUMENT`` and ``vb track --overdue`` on a store of 200,000 documents with their receipts.

    python bench/bench_track.py                    # SQLite, 200,000 documents
    python bench/bench_track.py --count 20000 --store postgresql://postgres@127.0.0.1:5432/postgres

The store is built through its own API in large transactions (what the hub records for each document:
the document, its pair claimed with a deadline and forwarded, the trace events ``received`` and
``forwarded``, and the recipient's 01 with its trace event), except one document in 200 whose recipient
never answered (overdue) and one in 1,000 refused whole. Then, each several times (median, and the
slowest): the store's queries in this process (``read_timeline`` of one document and ``tracked_ids``;
``store.overdue``), and the whole command in a fresh process (``python -m cli track ...``, Python's
start and imports included) next to ``python -m cli --help`` (the same start without the store). Printed:
the store's size per document, and each query plan. PostgreSQL: a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vbcore.directory import Directory  # noqa: E402
from vbcore.store import open_store  # noqa: E402
from vbcore.store.api import DocumentRecord, Refusal, StatusEvent, TraceEvent  # noqa: E402
from vbcore.store.sql import SqlStore  # noqa: E402
from vbcore.store.timeline import read_timeline, tracked_ids  # noqa: E402

AGENCIES = [f"000.00.00.{letter}{n:02d}" for letter in "GH" for n in range(1, 41)]
HUB = "vbus.hub"
T0 = datetime(2026, 10, 1, tzinfo=UTC)
BATCH = 5000
OVERDUE_EVERY, REFUSED_EVERY = 200, 1000


def one_document(store: SqlStore, i: int) -> None:
    sender, recipient = AGENCIES[i % len(AGENCIES)], AGENCIES[(i * 7 + 3) % len(AGENCIES)]
    if recipient == sender:
        recipient = AGENCIES[(i + 1) % len(AGENCIES)]
    doc = f"{sender},2026/10/01,{i}/VB"
    at = T0 + timedelta(seconds=i * 10)  # 200,000 documents over about 23 days
    if i % REFUSED_EVERY == REFUSED_EVERY - 1:
        store.record_refusal(
            Refusal(f"m-{i}", sender, doc, None, "signature-invalid", "Chữ ký không hợp lệ", at)
        )
        return
    store.record_document(DocumentRecord(doc, sender, 0, f"V/v văn bản số {i}", f"{i}/VB", f"m-{i}",
                                         "ab" * 32, 10_000, at, edxml_document_id=doc))  # fmt: skip
    store.record_trace(TraceEvent(doc, HUB, "received", at))
    store.claim_pair(doc, recipient, at=at, deadline=at + timedelta(days=1))
    store.mark_forwarded(doc, recipient, at=at)
    store.record_trace(TraceEvent(doc, HUB, f"forwarded:{recipient}", at))
    if i % OVERDUE_EVERY == OVERDUE_EVERY - 1:
        return
    answered = at + timedelta(minutes=5)
    store.record_status(StatusEvent(doc, recipient, "01", "Đã đến", answered.replace(tzinfo=None) + timedelta(hours=7),  # noqa: E501
                                    answered, recipient))  # fmt: skip
    store.record_trace(TraceEvent(doc, HUB, f"status:01:{recipient}", answered))


TABLES = ("documents", "pairs", "status_events", "refusals", "trace_events")


def copy_to_postgresql(sqlite_url: str, url: str) -> None:
    """The rows of a store built in SQLite, copied into a PostgreSQL store (``COPY``: through the store's
    API, one statement at a time, 200,000 documents take half an hour to a shared PostgreSQL)."""
    import sqlite3

    import psycopg

    open_store(url).close()  # the schema, migrated
    source = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for table in TABLES:
            cursor = source.execute(f"SELECT * FROM {table}")
            columns = ", ".join(d[0] for d in cursor.description)
            with conn.cursor().copy(f'COPY "{schema}".{table} ({columns}) FROM STDIN') as copy:
                for row in cursor:
                    copy.write_row(row)
        conn.execute(f'ANALYZE "{schema}".pairs')
    source.close()


def build(url: str, count: int, tmp: str) -> float:
    started = time.perf_counter()
    if not url.startswith("sqlite"):
        sqlite_url = f"sqlite:///{tmp}/source.db"
        build(sqlite_url, count, tmp)
        copy_to_postgresql(sqlite_url, url)
        return time.perf_counter() - started
    store = open_store(url)
    for start in range(0, count, BATCH):
        with store.transaction():
            for i in range(start, min(count, start + BATCH)):
                one_document(store, i)
    store.close()
    return time.perf_counter() - started


def timed(fn, repeat: int = 7) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def command(args: list[str], repeat: int = 5) -> tuple[float, float]:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, check=True, capture_output=True)

    return timed(run, repeat)


def size_per_document(url: str, count: int) -> float:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///").split("?")[0])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()) / count
    import psycopg

    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        [(size,)] = conn.execute(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"  # noqa: E501
            " WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).fetchall()  # fmt: skip
    return float(size) / count


def plans(store: SqlStore, url: str, document: str, now: datetime) -> list[str]:
    explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
    queries = [
        ("overdue", "SELECT * FROM pairs WHERE deadline <= ? AND state IN (?, ?) AND last_status IS NULL"
         " ORDER BY deadline, document_id, recipient", (now, "accepted", "forwarded")),
        ("pairs of one document", "SELECT * FROM pairs WHERE document_id = ? ORDER BY recipient", (document,)),  # noqa: E501
        ("statuses of one document", "SELECT * FROM status_events WHERE document_id = ? ORDER BY id", (document,)),  # noqa: E501
    ]  # fmt: skip
    out = []
    for name, sql, params in queries:
        rows = store.select(explain + sql, params)
        out.append(f"  {name}: " + "; ".join(str(r[-1]) for r in rows))
    return out


def track_rows(url: str, document: str, now: datetime) -> list[tuple[str, tuple[float, float]]]:
    """``vb track DOCUMENT`` and ``vb track --overdue`` on the store at ``url``: their queries in this
    process, then the whole command in a fresh one, next to ``vb --help`` (median and max ms)."""
    store = open_store(url)
    directory = Directory.default()

    def track_one() -> None:
        [found] = tracked_ids(store, document)
        assert read_timeline(store, directory, found, now=now).recipients

    overdue_count = len(store.overdue(now))
    queries = [
        ("track DOCUMENT, store queries", timed(track_one)),
        (f"track --overdue, store query ({overdue_count} pairs)", timed(lambda: store.overdue(now))),
    ]
    store.close()
    return [
        *queries,
        ("vb --help (Python start + imports)", command(["--help"])),
        ("vb track DOCUMENT", command(["track", document, "--store", url])),
        ("vb track --overdue", command(["track", "--overdue", "--store", url, "--now", now.isoformat()])),
    ]


def print_rows(rows: list[tuple[str, tuple[float, float]]]) -> None:
    print(f"{'what':55} {'median ms':>10} {'max ms':>8}")
    for name, (median, worst) in rows:
        print(f"{name:55} {median:>10.1f} {worst:>8.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a postgresql:// URL")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{args.count} documents, store {args.store.split('@')[-1]}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vbus-bench-track-") as tmp:
        if args.store == "sqlite":
            url = f"sqlite:///{tmp}/hub.db"
        else:
            url = f"{args.store}?schema=bench_track_{uuid.uuid4().hex[:8]}"
        try:
            built = build(url, args.count, tmp)
            print(
                f"built in {built:.0f} s; store size {size_per_document(url, args.count):.0f} bytes per document"  # noqa: E501
            )
            store = open_store(url)
            document = f"{AGENCIES[(args.count // 2) % len(AGENCIES)]},2026/10/01,{args.count // 2}/VB"
            now = T0 + timedelta(seconds=args.count * 10, days=2)
            for line in plans(store, url, document, now):
                print(line)
            store.close()
            print_rows(track_rows(url, document, now))
        finally:
            if not url.startswith("sqlite"):
                import psycopg

                base, schema = url.split("?schema=")
                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
