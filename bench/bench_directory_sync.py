"""``vb agencies sync`` and a hub's reload at the size of the national registry (111,339 agencies).

Builds a synthetic agency list of COUNT entries (real-shaped codes: units of the shipped level-1
bodies), then times: the first sync (plan + apply: every entry added), a second sync where 1 % of the
names changed and 0.5 % of the codes left (plan + apply), and what a running hub pays when the file
changes (``DirectoryFiles`` re-reading it, merged over the shipped directory), with the peak RSS of the
process. Plain script::

    python bench/bench_directory_sync.py [--count 111339]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from vbcore.directory import Directory
from vbcore.directory.sync import plan_sync
from vbcore.directory.versions import SyncedDirectory
from vbcore.directory.watch import DirectoryFiles


@dataclass(frozen=True)
class Listed:
    code: str
    code102: str
    old_code: str | None
    name: str | None


def synthetic(count: int, renamed: float = 0.0, gone: float = 0.0) -> list[Listed]:
    bodies = [a.code.rsplit(".", 1)[1] for a in Directory.default().all(include_closed=False)]
    found = []
    for i in range(count):
        body = bodies[i % len(bodies)]
        n = i // len(bodies) + 1
        code = f"{n // 10000:03d}.{n // 100 % 100:02d}.{n % 100:02d}.{body}"
        if gone and i % int(1 / gone) == 0:
            continue
        name = f"Đơn vị thử nghiệm số {n} thuộc {body}" + (
            " (đổi tên)" if renamed and i % int(1 / renamed) == 0 else ""
        )
        found.append(Listed(code, code, None, name))
    return found


def timed(label: str, work):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    print(f"{label:<46} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=111_339)
    args = parser.parse_args()
    today, at = date(2026, 11, 24), datetime(2026, 11, 24, 2, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        target = SyncedDirectory(Path(tmp) / "axis.json")
        first = synthetic(args.count)
        plan = timed(
            f"first sync, plan ({len(first):,} agencies)",
            lambda: plan_sync(Directory(), first, via="gw.x", source="bench", today=today),
        )
        timed(
            "first sync, apply (file and history)",
            lambda: target.apply(plan, by="bench", source="bench", at=at),
        )
        print(f"{'file size':<46} {target.path.stat().st_size / 2**20:7.1f} MiB")
        files = timed(
            "hub: first read (shipped + synced)", lambda: DirectoryFiles([target.path], interval=0.0)
        )
        second = synthetic(args.count, renamed=0.01, gone=0.005)
        _, previous = timed("second sync, load the previous version", target.load)
        plan2 = timed(
            "second sync, plan", lambda: plan_sync(previous, second, via="gw.x", source="bench", today=today)
        )
        print(f"{'changes':<46} {len(plan2.changes):>7,}")
        timed("second sync, apply", lambda: target.apply(plan2, by="bench", source="bench", at=at))
        timed("hub: reload after the change", files)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS':<46} {peak:7.0f} MiB")


if __name__ == "__main__":
    main()
