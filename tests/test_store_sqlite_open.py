"""Several processes opening one fresh SQLite store at the same moment (hub processes started together)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPEN_IN_A_PROCESS = """
import sys
from vbcore.store import open_store
print("ready", flush=True)
sys.stdin.readline()  # start together
store = open_store(sys.argv[1])
print(store.schema_version())
store.close()
"""


def test_processes_opening_a_fresh_sqlite_store_together_all_succeed(tmp_path: Path) -> None:
    for trial in range(10):
        url = f"sqlite:///{tmp_path / f'fresh-{trial}.db'}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_IN_A_PROCESS, url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        for p in procs:  # everyone imported and waiting: release them together
            assert p.stdin is not None
            p.stdin.write("go\n")
        for p in procs:
            assert p.stdin is not None
            p.stdin.flush()
        outcomes = [p.communicate(timeout=60) for p in procs]
        errors = [err for p, (_, err) in zip(procs, outcomes, strict=True) if p.returncode != 0]
        assert errors == []
        versions = {out.strip() for out, _ in outcomes}
        assert len(versions) == 1
        assert versions != {""}
