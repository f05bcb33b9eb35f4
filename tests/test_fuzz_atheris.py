"""A short coverage-guided fuzzing run (atheris) of the reader, the ZIP reader, certificates and the
status rules: ``fuzz/run.py`` for a few seconds, seeded with the real and the hostile packages.

The long campaign is the same script with a longer ``--seconds`` (``bench/README.md``). atheris
installs from PyPI as a Linux x86-64 wheel; elsewhere this test is skipped (and fails in CI).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import in_ci

RUN = Path(__file__).resolve().parent.parent / "fuzz" / "run.py"


def atheris_installed() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.usefixtures("interop_dir")  # seeded with the interoperability corpus
def test_a_short_coverage_guided_run_finds_no_crash_and_no_slow_input(tmp_path: Path) -> None:
    if not atheris_installed():
        message = "atheris is not installed: `pip install atheris` (Linux x86-64 wheels on PyPI)"
        if in_ci():
            pytest.fail(f"{message} (CI must run this test, not skip it)")
        pytest.skip(message)
    done = subprocess.run(
        [sys.executable, str(RUN), "--seconds", "5", "--per-input", "5", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no crash, no slow input" in done.stdout
    assert len(list((tmp_path / "corpus").iterdir())) > 50  # the seeds, and what the run added
