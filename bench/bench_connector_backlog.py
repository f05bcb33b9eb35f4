"""A connector catching up on a backlog: ``python bench/bench_connector_backlog.py [--count N] [--runs R]``.

Issue 13: "a province's platform must hold its peaks while a connector catches up after a day offline".
A folder connector (``connectors.folder``) finds ``--count`` documents (one small PDF each) in its DMS's
outbox; one round of the runtime's outgoing lane signs each, records it in the ledger, publishes it to
the hub's ingress on the real RabbitMQ (127.0.0.1:5672, guest/guest, a vhost of its own) and tells the
DMS. Timed, side by side in the same run on the same broker:

- batched: the runtime as it is (``OUTGOING_BATCH`` documents' confirms outstanding together);
- one at a time: ``OUTGOING_BATCH`` set to 1, one wait for the broker per document (the runtime before
  issue 13's batches did the same work in that order).

Prints documents/s of each, their ratio, and the runtime process's CPU per document. The hub does not
process the ingress here: what is timed is the connector's side only (bench_hub.py times the hub).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.folder import FolderConnector, write_atomically  # noqa: E402
from vbcore.connector import runtime as runtime_module  # noqa: E402
from vbcore.edxml import write_package  # noqa: E402
from vbcore.testing.conformance_world import Identities, World  # noqa: E402

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def one_round(count: int, batch: int, identities: Identities, tmp: Path) -> tuple[float, float]:
    """Seconds and CPU seconds of the outgoing round sending ``count`` documents, ``batch`` at a time."""
    root = tmp / "dms"
    config = {"root": str(root), "settle_seconds": 0}
    world = World(tmp / "world", lambda ctx: FolderConnector.from_config(config, ctx), transport="rabbitmq",
                  amqp_url=AMQP_URL, identities=identities)  # fmt: skip
    try:
        outbox = root / "outbox"
        outbox.mkdir(parents=True)
        for i in range(count):
            edoc = world.document(world.agency, world.peer_code, subject=f"Văn bản tồn {i}")
            write_atomically(outbox / f"{i:05}.edxml", write_package(edoc))
        runtime = world.runtime()
        runtime.start()
        saved = runtime_module.OUTGOING_BATCH
        runtime_module.OUTGOING_BATCH = batch
        try:
            cpu, started = time.process_time(), time.perf_counter()
            report = runtime.step()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            runtime_module.OUTGOING_BATCH = saved
        if len(report.sent) != count:
            raise RuntimeError(f"sent {len(report.sent)} of {count}: {report.error}")
        return seconds, cpu
    finally:
        world.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="documents in the backlog")
    parser.add_argument("--runs", type=int, default=3, help="rounds of each, alternated")
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"connector backlog {time.strftime('%Y-%m-%d %H:%M')}: {args.count} documents, "
          f"{os.cpu_count()} CPUs, load average {load}")  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {"one at a time": [], "batched": []}
    with tempfile.TemporaryDirectory(prefix="vbus-backlog-") as tmp_dir:
        tmp = Path(tmp_dir)
        identities = Identities.create(tmp / "pki")
        for run in range(args.runs):
            for name, batch in (("one at a time", 1), ("batched", runtime_module.OUTGOING_BATCH)):
                results[name].append(one_round(args.count, batch, identities, tmp / f"{name[:3]}{run}"))
    rates = {}
    for name, runs in results.items():
        per_second = [args.count / s for s, _ in runs]
        rates[name] = statistics.median(per_second)
        cpu_ms = statistics.median(c * 1000 / args.count for _, c in runs)
        shown = ", ".join(f"{r:.0f}" for r in per_second)
        print(f"  {name:14} documents/s {shown} (median {rates[name]:.0f}); runtime CPU {cpu_ms:.2f} ms each")
    print(f"  batched / one at a time: {rates['batched'] / rates['one at a time']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
