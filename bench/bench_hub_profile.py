"""Where the hub's time goes: its CPU per document (the document and its 01) and a profile, without a broker.

    python bench/bench_hub_profile.py [--count 2000] [--store sqlite|postgresql://...] [--top 25]

One hub (``vbcore.hub.pipeline.Hub``, batches as ``vb hub run`` makes them, with the prefetch its
``HubConfig`` derives) on the in-memory broker and a SQLite file (or PostgreSQL, a schema of its own):
the sender's documents (10 KB) are signed and queued first, and the receiver's 01s after; only the hub's
handling is timed (``time.process_time``: CPU, so less sensitive to a busy host than wall time), then
profiled with cProfile on a second pass. The in-memory broker's own work is in the figure (a few per
cent); RabbitMQ's client work is not (``bench_hub.py`` measures the whole path).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_hub import status_01  # noqa: E402
from vbcore.hub.config import HubConfig  # noqa: E402
from vbcore.model import Edoc  # noqa: E402
from vbcore.store import open_store  # noqa: E402
from vbcore.testing.devworld import HA_NOI, HUB_ID, VPCP, MemoryWorld, letter, six_agency_keys  # noqa: E402

BATCHES: list[int] = []
GATHER = "--no-gather" not in sys.argv  # batches of the prefetch at the size limit only, as before issue 13


def hub_pass(world: MemoryWorld, profile: cProfile.Profile | None) -> float:
    """Let the hub take everything in its ingress, in batches; the CPU seconds it took."""
    assert world.hub is not None
    if profile is not None:
        profile.enable()
    started = time.process_time()
    while world.pump():  # as ``vbcore.hub.runner.run``: drain, gather (within the budget), flush
        if GATHER:
            world.hub.gather(0)
        BATCHES.append(world.hub.flush())
    world.hub.flush()
    spent = time.process_time() - started
    if profile is not None:
        profile.disable()
    return spent


def one_round(world: MemoryWorld, count: int, size: int, tag: str, profile: cProfile.Profile | None = None) -> float:  # noqa: E501
    sender, receiver = world.client(VPCP), world.client(HA_NOI)
    payload = os.urandom(max(0, size * 3 // 4 - 3000))
    for i in range(count):
        sender.submit(letter(VPCP, [HA_NOI], f"{tag}{i}", notation=tag, pdf=payload))
    cpu = hub_pass(world, profile)
    got = world.inbox(HA_NOI)
    assert len(got) == count, len(got)
    for incoming in got:
        assert isinstance(incoming.package, Edoc)
        receiver.submit(status_01(VPCP, incoming.package.effective_document_id, HA_NOI))
    cpu += hub_pass(world, profile)
    back = world.inbox(VPCP)
    assert len(back) == count, (len(back), world.parked(), [i.kind for i in back[:3]])
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--prefetch", type=int, default=32)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--inflight-bytes", type=int, default=None, help="HubConfig.inflight_bytes")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--no-gather", action="store_true", help="batches of the prefetch at the size limit (6), as before"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{args.count} documents of {args.size} bytes and their 01s, store {args.store.split('@')[-1]}")  # fmt: skip  # noqa: E501
    # The hub logs each package, as ``vb hub run --log-format json`` does, to nowhere.
    from vbcore.logging import configure

    saved, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115 (for the whole run)
    configure(json=True)
    sys.stderr = saved
    with tempfile.TemporaryDirectory(prefix="vbus-bench-profile-") as tmp:
        dev = six_agency_keys(Path(tmp) / "pki")
        schema = f"bench_profile_{uuid.uuid4().hex[:8]}"
        url = f"sqlite:///{tmp}/hub.db" if args.store == "sqlite" else f"{args.store}?schema={schema}"
        store = open_store(url)
        try:
            config = HubConfig(hub_id=HUB_ID)
            if args.inflight_bytes:
                config = dataclasses.replace(config, inflight_bytes=args.inflight_bytes)
            world = MemoryWorld(store, dev, config=config)
            # ``vb hub run --prefetch`` (32); before issue 13, the prefetch at the size limit (6)
            world.start_hub(batch=True, prefetch=args.prefetch if GATHER else config.prefetch(args.prefetch))
            assert world.hub is not None
            one_round(world, 50, args.size, "warm")
            BATCHES.clear()
            cpu = one_round(world, args.count, args.size, "run")
            print(f"hub CPU per document (the document and its 01): {cpu * 1000 / args.count:.2f} ms "
                  f"(prefetch {world.hub.config.prefetch(args.prefetch)} at the size limit, asked "
                  f"{args.prefetch}; {sum(BATCHES) / max(1, len(BATCHES)):.1f} a batch)")  # fmt: skip
            if args.no_profile:
                return 0
            profile = cProfile.Profile()
            one_round(world, args.count, args.size, "prof", profile)
        finally:
            store.close()
            if args.store != "sqlite":
                import psycopg

                with psycopg.connect(args.store, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    stats = pstats.Stats(profile)
    print(f"the hub only: top {args.top} by own time")
    stats.sort_stats("tottime").print_stats(args.top)
    print("the hub only, cumulative (vbcore's functions):")
    stats.sort_stats("cumulative").print_stats(r"vbcore/", args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
