"""Run the coverage-guided fuzzer (``fuzz/fuzz_vbus.py``) with seeds, a time limit and a report.

    python fuzz/run.py --seconds 5                   # what the test suite runs (tests/test_fuzz_atheris.py)
    python fuzz/run.py --seconds 3600 --work fuzz-work   # the long campaign; keep --work to resume it

The seed corpus is built into ``<work>/corpus`` from the real packages of the interoperability
corpus (``VBUS_INTEROP_DIR``, ``tests/interop.py``), the hostile inputs of ``tests/hostile.py`` and
a development certificate, each prefixed with its target's byte; the corpus libFuzzer grows is kept
there, so a later run with the same ``--work`` goes on from it. A crash (an exception other than
``PackageRefused``, or a broken promise) or an input slower than ``--per-input`` seconds (super-
linear work) is saved as ``<work>/findings/...`` and the exit status is non-zero. Needs ``atheris``
(``pip install atheris``; Linux x86-64 wheels).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing import interop_seeds, zip_seeds  # noqa: E402  (tests/ is not a package)
from hostile import (  # noqa: E402
    attachment,
    central_directory_offset_moved,
    corrupt_data,
    header_offset_zip64,
    one_entry,
    package,
    utf8_flagged_bad_name,
)

from vbcore.security.pki import create_ca, issue_agency_certificate  # noqa: E402

READ, STREAM, ZIP, CERTIFICATE, STATUS = range(5)


def seeds() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for i, data in enumerate(interop_seeds(max_size=60_000)):
        found[f"read-interop-{i}"] = bytes([READ]) + data
        found[f"stream-interop-{i}"] = bytes([STREAM]) + data
    hostile_zips = [
        corrupt_data(one_entry()),
        corrupt_data(one_entry(method=zipfile.ZIP_BZIP2)),
        utf8_flagged_bad_name(),
        central_directory_offset_moved(one_entry(), 1000),
        header_offset_zip64(one_entry(), 2**64 - 1),
        *zip_seeds(),
    ]
    for i, data in enumerate(hostile_zips):
        found[f"zip-{i}"] = bytes([ZIP]) + data
        found[f"read-zip-{i}"] = bytes([READ]) + package(attachments=attachment(data))
    ca_key, ca = create_ca()
    _, cert = issue_agency_certificate(ca_key, ca, "000.00.00.G22", "Văn phòng Chính phủ")
    from cryptography.hazmat.primitives.serialization import Encoding

    found["certificate"] = bytes([CERTIFICATE]) + cert.public_bytes(Encoding.DER)
    found["status"] = bytes([STATUS]) + bytes(range(40))
    found["status-status-package"] = bytes([READ]) + package(
        status=True, header="<StatusCode>03</StatusCode><Timestamp>2026/11/24 09:00:00</Timestamp>"
    )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time (default 60)")
    parser.add_argument("--work", type=Path, help="corpus and findings folder (default: a temporary one)")
    parser.add_argument("--per-input", type=int, default=10, help="seconds one input may take (default 10)")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit (default 2048 MB)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vbus-fuzz-"))
    corpus, findings = work / "corpus", work / "findings"
    corpus.mkdir(parents=True, exist_ok=True)
    findings.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (corpus / f"seed-{name}").write_bytes(data)
    command = [
        sys.executable, str(ROOT / "fuzz" / "fuzz_vbus.py"), str(corpus),
        f"-max_total_time={args.seconds}", f"-timeout={args.per_input}", f"-rss_limit_mb={args.rss_mb}",
        f"-artifact_prefix={findings}/", "-print_final_stats=1", "-max_len=262144",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", done.stderr)
    crashes = sorted(p.name for p in findings.iterdir())
    executed = runs.group(1) if runs else "?"
    print(f"fuzzed {args.seconds} s: {executed} inputs, corpus {len(list(corpus.iterdir()))} files")
    if done.returncode != 0 or crashes:
        print(done.stderr[-4000:])
        print(f"FINDINGS in {findings}: {', '.join(crashes) or '(none saved)'} (exit {done.returncode})")
        return 1
    print("no crash, no slow input")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
