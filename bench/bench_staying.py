"""Staying power (issue 13, item 5): 200,000 documents with their 01s through one hub.

    python bench/bench_staying.py                              # SQLite, 200,000 documents at 10 KB
    python bench/bench_staying.py --count 20000 --store postgresql://postgres@127.0.0.1:5432/postgres

The set-up of ``bench_hub.py`` (one ``vb hub run`` subprocess, quorum queues, confirms, a receiver
process that verifies each document and answers with a signed 01, the sender verifying every 01), run
without a pause: the sender keeps at most ``--window`` documents without their 01 in flight, so the
queues stay short and what is measured is the path, not a backlog. Every ``--every`` documents it
prints the rate of that interval and of the run so far, the hub's RSS (and its peak), the broker's RSS,
the slowest round trip of the interval and the host's load. At the end: the store's size per document,
and ``vb track DOCUMENT`` / ``vb track --overdue`` on the resulting store, their queries in this process
and the whole command in a fresh process (``bench_track.py`` times the same on a store with 800 overdue
pairs).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_hub import (  # noqa: E402
    RECEIVER,
    SENDER,
    Setup,
    answer_each,
    broker_pid,
    document,
    environment,
)
from bench.bench_track import print_rows, size_per_document, track_rows  # noqa: E402
from vbcore.model import StatusPackage  # noqa: E402
from vbcore.store.archive import default_location  # noqa: E402


def rss_mib(pid: int | None) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB, from ``/proc``; (0, 0) if it is gone."""
    if pid is None:
        return 0.0, 0.0
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0, 0.0
    fields = {line.split(":")[0]: line.split()[1] for line in lines if line.startswith(("VmRSS", "VmHWM"))}
    return int(fields.get("VmRSS", 0)) / 1024, int(fields.get("VmHWM", 0)) / 1024


def receiver_main(setup: Setup, count: int) -> None:
    """The receiving agency, in a process of its own (its connection opened there, after the fork)."""
    answer_each(setup.client(RECEIVER), count)


def run(setup: Setup, count: int, size: int, window: int, every: int) -> tuple[float, str]:
    """Send ``count`` documents with at most ``window`` in flight; print a line every ``every`` 01s.
    Returns (seconds, the id of a document in the middle)."""
    receiver = mp.get_context("fork").Process(target=receiver_main, args=(setup, count))
    receiver.start()
    publisher, collector = setup.client(SENDER), setup.client(SENDER)
    room = threading.Semaphore(window)
    sent_at: dict[str, float] = {}
    failure: list[BaseException] = []
    middle = ""

    def publish() -> None:
        nonlocal middle
        try:
            for i in range(count):
                room.acquire()
                doc = document(i, size, "staying")
                if i == count // 2:
                    middle = doc.effective_document_id
                sent_at[doc.effective_document_id] = time.monotonic()
                publisher.submit(doc)
        except BaseException as err:  # reported by the main thread
            failure.append(err)

    hub, broker = setup.hub_pids[0], broker_pid()
    print(f"{'01s':>8} {'s':>7} {'interval/s':>10} {'run/s':>7} {'hub RSS':>8} {'hub peak':>8} "
          f"{'broker RSS':>10} {'worst ms':>8} {'load':>5}")  # fmt: skip
    started = last_at = time.monotonic()
    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    done, worst = 0, 0.0
    while done < count:
        if failure:
            raise failure[0]
        incoming = collector.fetch(timeout=5.0)
        if incoming is None:
            if not receiver.is_alive():
                raise RuntimeError(f"the receiver died after {done} receipts")
            continue
        collector.ack(incoming)
        package = incoming.package
        if not isinstance(package, StatusPackage) or package.document_id not in sent_at:
            continue
        worst = max(worst, (time.monotonic() - sent_at.pop(package.document_id)) * 1000)
        done += 1
        room.release()
        if done % every == 0 or done == count:
            now = time.monotonic()
            hub_rss, hub_peak = rss_mib(hub)
            print(
                f"{done:>8} {now - started:>7.0f} {every / (now - last_at):>10.1f} "
                f"{done / (now - started):>7.1f} {hub_rss:>7.0f}M {hub_peak:>7.0f}M "
                f"{rss_mib(broker)[0]:>9.0f}M {worst:>8.0f} {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )
            last_at, worst = now, 0.0
    seconds = time.monotonic() - started
    thread.join()
    receiver.join(timeout=30)
    publisher.transport.close()
    collector.transport.close()
    return seconds, middle


def track_figures(url: str, count: int, document_id: str) -> None:
    print(f"store: {size_per_document(url, count):.0f} bytes per document (the package archive apart)")
    now = datetime.now(UTC) + timedelta(days=30)  # every deadline has passed: only the unanswered are listed
    print_rows(track_rows(url, document_id, now))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=10_000, help="document size in bytes")
    parser.add_argument("--window", type=int, default=500, help="documents in flight without their 01")
    parser.add_argument("--every", type=int, default=10_000, help="print a line every this many 01s")
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a postgresql:// URL")
    parser.add_argument("--prefetch", type=int, default=32)
    parser.add_argument("--synchronous", default="normal", help="SQLite synchronous")
    args = parser.parse_args()
    args.hubs, args.profile, args.inflight_bytes = 1, None, None
    load = os.getloadavg()
    print(f"vbus staying power {datetime.now():%Y-%m-%d %H:%M}: {args.count} documents of {args.size} bytes, "
          f"store {args.store.split('@')[-1]}, window {args.window}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    with environment(args) as setup:
        seconds, middle = run(setup, args.count, args.size, args.window, args.every)
        print(f"{args.count} documents with their 01 in {seconds:.0f} s: {args.count / seconds:.1f}/s")
        track_figures(setup.store, args.count, middle)
        archive = default_location(setup.store)
        kept = sum(p.stat().st_size for p in archive.rglob("*") if p.is_file()) if archive.is_dir() else 0
        print(f"package archive ({archive}): {kept / args.count:.0f} bytes per document and its 01")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
