"""Property-based fuzzing of the reading and signature layers: whatever the bytes, a package is read
or refused with a ``PackageRefused``; never another exception, and what is read holds its promises.

Seeds are the real packages of the interoperability corpus (``tests/interop.py``), one-entry ZIPs and
a signed letter; each example applies a few edits (``fuzzing.mutate``). The normal suite runs
``VBUS_FUZZ_EXAMPLES`` (150) examples per property, a few seconds; ``bench/README.md`` tells how to
run the long campaign (many more examples, and the coverage-guided atheris harnesses in ``fuzz/``).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from unittest import mock

import pytest
from fuzzing import EXAMPLES, XML_TOKENS, ZIP_TOKENS, Edit, interop_seeds, mutate, zip_seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbcore.edxml import DEFAULT_LIMITS, ParseLimits, read_package, write_package
from vbcore.edxml import reader as reader_module
from vbcore.edxml.acceptance import examine, report
from vbcore.edxml.names import EARLIEST_DATE, LATEST_DATE
from vbcore.edxml.safe_names import safe_attachment_name
from vbcore.edxml.zipped import unwrap_zip
from vbcore.errors import PackageRefused
from vbcore.hub import checks
from vbcore.model import Blob, Edoc, StatusPackage
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package
from vbcore.testing.devworld import letter

VPCP, HA_NOI = "000.00.00.G22", "000.00.00.H24"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = interop_seeds()
# The tests that sample the corpus skip without it (fail in CI): ``interop_dir`` in conftest.py.
NEEDS_CORPUS = pytest.mark.usefixtures("interop_dir")
ZIPS = zip_seeds()
edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2**20), st.integers(0, 2**16)), min_size=1, max_size=4
)


def check_promises(package: Edoc | StatusPackage) -> None:
    """What a read package promises, whatever it was read from."""
    if isinstance(package, StatusPackage):
        moments = [package.timestamp.date()] if package.timestamp else []
    else:
        moments = [d for d in (package.due_date, package.promulgation_info.promulgation_date) if d]
        moments += [t.timestamp.date() for t in package.trace_headers if t.timestamp]
        for attachment in package.attachments:
            assert safe_attachment_name(attachment.name) == attachment.name
            assert len(attachment.name.encode()) <= 255
            assert attachment.content.size <= DEFAULT_LIMITS.max_unzipped_bytes
    assert all(EARLIEST_DATE <= moment <= LATEST_DATE for moment in moments)


@NEEDS_CORPUS
@FUZZ
@given(seed=st.sampled_from(SEEDS), changes=edits)
def test_a_mutated_real_package_is_read_or_refused_never_crashes(seed: bytes, changes: list[Edit]) -> None:
    data = mutate(seed, changes, XML_TOKENS)
    try:
        result = read_package(data)
    except PackageRefused:
        return
    check_promises(result.package)


@NEEDS_CORPUS
@FUZZ
@given(seed=st.sampled_from(SEEDS), changes=edits)
def test_vb_show_and_vb_validate_decide_alike_on_a_mutated_package(seed: bytes, changes: list[Edit]) -> None:
    """``examine`` (``vb show``) reads exactly what ``report`` (``vb validate``) accepts, and a refusal
    always says where when it names an element."""
    data = mutate(seed, changes, XML_TOKENS)
    refusal: PackageRefused | None = None
    try:
        result = examine(data)
    except PackageRefused as err:
        refusal = err
    assert report(data).accepted is (refusal is None)
    if refusal is None:
        check_promises(result.package)
    elif refusal.path:
        assert refusal.line is not None


@NEEDS_CORPUS
@FUZZ
@given(seed=st.sampled_from(SEEDS), changes=edits)
def test_the_streaming_parse_of_a_mutated_package_is_read_or_refused_never_crashes(
    seed: bytes, changes: list[Edit]
) -> None:
    data = mutate(seed, changes, XML_TOKENS)
    with mock.patch.object(reader_module, "STREAM_ABOVE", 0):  # stream however small
        try:
            result = read_package(data)
        except PackageRefused:
            return
    check_promises(result.package)


@FUZZ
@given(seed=st.sampled_from(ZIPS), changes=edits)
def test_a_mutated_zip_is_unwrapped_or_refused_never_crashes(seed: bytes, changes: list[Edit]) -> None:
    limits = ParseLimits(max_unzipped_bytes=100_000)
    try:
        content = unwrap_zip(Blob(mutate(seed, changes, ZIP_TOKENS)), "fuzz", None, limits)
    except PackageRefused:
        return
    assert content is None or content.size <= limits.max_unzipped_bytes


@NEEDS_CORPUS
@FUZZ
@given(seed=st.sampled_from(ZIPS), changes=edits)
def test_a_package_carrying_a_mutated_zip_is_read_or_refused_never_crashes(
    seed: bytes, changes: list[Edit]
) -> None:
    encoded = base64.b64encode(mutate(seed, changes, ZIP_TOKENS)).decode()
    data = SEEDS[0]  # any real document with an attachment would do: replace its base64
    data = re.sub(
        rb"(ContentTransferEncoded>)[^<]*(<)", lambda m: m[1] + encoded.encode() + m[2], data, count=1
    )
    try:
        result = read_package(data)
    except PackageRefused:
        return
    check_promises(result.package)


# --- signatures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, TrustStore, bytes]:
    pki = init_dev_pki(tmp_path_factory.mktemp("pki"), [(VPCP, "Văn phòng Chính phủ")])
    key = SigningKey.from_files(pki.key_path(VPCP), pki.cert_path(VPCP))
    signed = sign_package(write_package(letter(VPCP, [HA_NOI], "1")), key)
    return key, TrustStore.from_pem_files([pki.ca_cert_path]), signed


CERT = re.compile(rb"<ds:X509Certificate>([^<]*)</ds:X509Certificate>")
# DER pieces: a zero, a SEQUENCE header, a version of 88, a UTF8String tag, a long length.
DER_TOKENS = (
    b"\x00",
    b"\x30\x82\xff\xff",
    b"\xa0\x03\x02\x01\x58",
    b"\x0c\x03\xc4\x21\x21",
    b"\x84\xff\xff\xff\xff",
)


@FUZZ
@given(changes=edits)
def test_a_mutated_certificate_is_refused_never_crashes(
    signer: tuple[SigningKey, TrustStore, bytes], changes: list[Edit]
) -> None:
    _, trust, signed = signer
    found = CERT.search(signed)
    assert found is not None
    der = mutate(base64.b64decode(found.group(1)), changes, DER_TOKENS)
    data = signed[: found.start(1)] + base64.b64encode(der) + signed[found.end(1) :]
    refusal: PackageRefused | None = None
    try:
        verify_package(data, trust=trust, policy=SignaturePolicy())
    except PackageRefused as err:
        refusal = err
    if refusal is not None:  # both languages can be written (they go into a signed 02)
        assert refusal.describe("vi")
        assert refusal.describe("en")


@FUZZ
@given(changes=edits)
def test_the_hubs_checks_of_a_mutated_signed_package_refuse_never_crash(
    signer: tuple[SigningKey, TrustStore, bytes], changes: list[Edit]
) -> None:
    _, trust, signed = signer
    data = mutate(signed, changes, XML_TOKENS)
    try:
        accepted = checks.check_structure(data, DEFAULT_LIMITS)
        checked = checks.verify_and_read(
            data, trust=trust, policy=SignaturePolicy(), parsed=accepted.root, aside=accepted.aside,
            deviations=accepted.deviations,
        )
    except PackageRefused:
        return
    check_promises(checked.package)


def test_a_mutation_is_reproducible_from_its_edits() -> None:
    seed = Path(__file__).read_bytes()[:500]
    changes = [(1, 10, 3), (2, 40, 5), (0, 7, 65), (3, 100, 1)]
    assert mutate(seed, changes, XML_TOKENS) == mutate(seed, changes, XML_TOKENS) != seed
