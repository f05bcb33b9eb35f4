"""Coverage-guided fuzzing (atheris, libFuzzer) of the reading and signature layers of vbus.

One harness, five targets; the first byte of each input picks the target, the rest is its data:

0. ``read``: ``read_package`` of the bytes (hardened parse, tree reader, attachments, ZIP);
1. ``stream``: the same through the streaming parser (``STREAM_ABOVE`` set to 0);
2. ``zip``: ``unwrap_zip`` of the bytes as an attachment's content;
3. ``certificate``: the bytes as the DER certificate in a signed package's ``KeyInfo``, verified;
4. ``status``: the bytes as a sequence of receipts (code, second) applied to a pair in two orders
   (``vbcore.store.status_rules``): the pair must end at the latest status either way.

Anything but a ``PackageRefused`` escaping, or a promise broken (an unsafe attachment name, a date
outside the accepted range, a pair moved back in time), is a crash: libFuzzer saves the input as
``crash-<sha1>`` and stops. Run it through ``fuzz/run.py`` (seeds, time limit, a report); by hand:

    python fuzz/fuzz_vbus.py CORPUS_DIR -max_total_time=60 -rss_limit_mb=2048
"""

from __future__ import annotations

import base64
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

with atheris.instrument_imports(include=["vbcore", "zipfile", "base64"]):
    from vbcore.edxml import ParseLimits, read_package, write_package
    from vbcore.edxml import reader as reader_module
    from vbcore.edxml.names import EARLIEST_DATE, LATEST_DATE
    from vbcore.edxml.safe_names import safe_attachment_name
    from vbcore.edxml.zipped import unwrap_zip
    from vbcore.errors import PackageRefused
    from vbcore.model import Blob, Edoc, StatusPackage
    from vbcore.security.pki import init_dev_pki
    from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package
    from vbcore.store.api import StatusEvent
    from vbcore.store.status_rules import PairStatus
    from vbcore.testing.devworld import letter

TARGETS = ("read", "stream", "zip", "certificate", "status")
LIMITS = ParseLimits(
    max_bytes=4 * 1024 * 1024, max_unzipped_bytes=4 * 1024 * 1024, max_spooled_bytes=8 * 1024 * 1024
)
CERT = re.compile(rb"<ds:X509Certificate>([^<]*)</ds:X509Certificate>")
RECEIPTS = ("01", "02", "03", "04", "05", "06")
STEP = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}
NINE = datetime(2026, 11, 24, 9, 0)


def _signed_letter() -> tuple[bytes, TrustStore]:
    directory = Path(tempfile.mkdtemp(prefix="vbus-fuzz-pki-"))
    pki = init_dev_pki(directory, [("000.00.00.G22", "Văn phòng Chính phủ")])
    key = SigningKey.from_files(pki.key_path("000.00.00.G22"), pki.cert_path("000.00.00.G22"))
    signed = sign_package(write_package(letter("000.00.00.G22", ["000.00.00.H24"], "1")), key)
    return signed, TrustStore.from_pem_files([pki.ca_cert_path])


SIGNED, TRUST = _signed_letter()


def check_promises(package: Edoc | StatusPackage) -> None:
    if isinstance(package, StatusPackage):
        moments = [package.timestamp.date()] if package.timestamp else []
    else:
        moments = [d for d in (package.due_date, package.promulgation_info.promulgation_date) if d]
        moments += [t.timestamp.date() for t in package.trace_headers if t.timestamp]
        for attachment in package.attachments:
            if (
                safe_attachment_name(attachment.name) != attachment.name
                or len(attachment.name.encode()) > 255
            ):
                raise AssertionError(f"unsafe attachment name handed on: {attachment.name!r}")
    for moment in moments:
        if not EARLIEST_DATE <= moment <= LATEST_DATE:
            raise AssertionError(f"date outside the accepted range read: {moment}")


def read(data: bytes) -> None:
    try:
        result = read_package(data, limits=LIMITS)
    except PackageRefused:
        return
    check_promises(result.package)


def stream(data: bytes) -> None:
    saved = reader_module.STREAM_ABOVE
    reader_module.STREAM_ABOVE = 0
    try:
        read(data)
    finally:
        reader_module.STREAM_ABOVE = saved


def unzip(data: bytes) -> None:
    try:
        content = unwrap_zip(Blob(data), "fuzz", None, LIMITS)
    except PackageRefused:
        return
    if content is not None and content.size > LIMITS.max_unzipped_bytes:
        raise AssertionError(f"unzipped past the limit: {content.size}")


def certificate(data: bytes) -> None:
    found = CERT.search(SIGNED)
    assert found is not None
    package = SIGNED[: found.start(1)] + base64.b64encode(data) + SIGNED[found.end(1) :]
    try:
        verify_package(package, trust=TRUST, policy=SignaturePolicy())
    except PackageRefused as err:
        err.describe("vi")
        err.describe("en")


def status(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    statuses = [
        (
            RECEIPTS[provider.ConsumeIntInRange(0, 5)],
            NINE + timedelta(seconds=provider.ConsumeIntInRange(0, 3)),
        )
        for _ in range(provider.ConsumeIntInRange(1, 8))
    ]
    ends = [_apply(statuses), _apply(list(reversed(statuses)))]
    latest = max((at, STEP[code]) for code, at in statuses)
    for pair in ends:
        if pair.state_time != latest[0] or STEP[pair.state] != latest[1]:
            raise AssertionError(f"{statuses} ended at {pair.state} of {pair.state_time}")


def _apply(statuses: list[tuple[str, datetime]]) -> PairStatus:
    pair = PairStatus("forwarded", None, None, None, None, None, None)
    for code, at in statuses:
        event = StatusEvent("d", "r", code, None, at, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), "r")
        pair = pair.with_receipt(event, at)
    return pair


def test_one_input(data: bytes) -> None:
    if not data:
        return
    (read, stream, unzip, certificate, status)[data[0] % len(TARGETS)](data[1:])


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
