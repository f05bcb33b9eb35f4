"""Peak memory of writing and reading a package with one large attachment, against its size.

Each measurement runs in a fresh subprocess (peak RSS is per process and never goes down):
``baseline`` only imports vbcore.edxml; ``write`` streams a package with one attachment of N MB to
a file; ``read`` reads it back with ``read_package(path, spool_dir=...)``; ``read-tracemalloc``
does the same under tracemalloc (Python-level allocations only, slower). The attachment is random
bytes (incompressible), raw or zipped.

    python bench/bench_attachment_memory.py            # 1, 10, 50 MB, raw and zipped
    python bench/bench_attachment_memory.py 5 20       # other sizes (MB)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

MiB = 1024 * 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(mode: str, size_mb: int, zipped: bool, work: Path) -> dict[str, float]:
    from vbcore.edxml import ParseLimits, read_package, write_package_to
    from vbcore.model import Attachment, Blob, Edoc, Organization

    source = work / "attachment.bin"
    package = work / "package.edxml"
    started = time.perf_counter()
    if mode == "write":
        with source.open("wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(MiB))
        att = Attachment("cid:1", "scan.pdf", Blob.from_file(source), "application/pdf", zipped=zipped)
        doc = Edoc(
            from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.H41"),), attachments=(att,)
        )
        started = time.perf_counter()
        with package.open("wb") as stream:
            write_package_to(doc, stream)
    elif mode.startswith("read"):
        if mode == "read-tracemalloc":
            tracemalloc.start()
        spool = work / "spool"
        spool.mkdir(exist_ok=True)
        result = read_package(package, limits=ParseLimits(max_bytes=4 * size_mb * MiB + MiB), spool_dir=spool)
        assert result.package.attachments[0].content.size == size_mb * MiB  # type: ignore[union-attr]
    seconds = time.perf_counter() - started
    out: dict[str, float] = {"peak_rss_mib": peak_rss_mib(), "seconds": seconds}
    if mode == "read-tracemalloc":
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / MiB
    if mode == "write":
        out["package_mib"] = package.stat().st_size / MiB
    return out


def run(mode: str, size_mb: int, zipped: bool, work: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", mode, str(size_mb), "1" if zipped else "0", str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = run("baseline", 0, False, Path(tmp))["peak_rss_mib"]
        print(f"baseline (python + vbcore.edxml imported): {base:.1f} MiB RSS")
        print(
            "size MB | zipped | package MiB | write: RSS MiB, s"
            " | read: RSS MiB (over baseline), s | read tracemalloc MiB"
        )
        for size in sizes:
            for zipped in (False, True):
                work = Path(tmp) / f"{size}-{zipped}"
                work.mkdir()
                w = run("write", size, zipped, work)
                r = run("read", size, zipped, work)
                t = run("read-tracemalloc", size, zipped, work)
                print(
                    f"{size:7d} | {zipped!s:6} | {w['package_mib']:11.1f}"
                    f" | {w['peak_rss_mib']:7.1f}, {w['seconds']:5.2f}"
                    f" | {r['peak_rss_mib']:7.1f} ({r['peak_rss_mib'] - base:+6.1f}), {r['seconds']:5.2f}"
                    f" | {t['tracemalloc_peak_mib']:6.1f}"
                )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, size, zipped, work = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", Path(sys.argv[5])
        if mode == "baseline":
            import vbcore.edxml  # noqa: F401

            print(json.dumps({"peak_rss_mib": peak_rss_mib(), "seconds": 0.0}))
        else:
            print(json.dumps(child(mode, size, zipped, work)))
    else:
        main([int(a) for a in sys.argv[1:]] or [1, 10, 50])
