"""A package signed as it is written (issue 13): the bytes ``sign_package(write_package(...))`` gives,
without ever holding the unsigned package or an attachment's base64 but in the signed output."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from vbcore.edxml import read_element, write_package
from vbcore.model import Attachment, Blob, Edoc, Organization, ResponseFor, StaffInfo, StatusPackage
from vbcore.security import signing
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import (
    SignaturePolicy,
    SigningKey,
    TrustStore,
    sign_package,
    sign_written,
    verify_package,
)
from vbcore.status import StatusCode
from vbcore.testing.devworld import HA_NOI, VPCP, letter


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, SigningKey, TrustStore]:
    directory = tmp_path_factory.mktemp("pki")
    dev = init_dev_pki(directory, [(VPCP, "Văn phòng Chính phủ")])
    ec_dir = directory / "ec"
    ec_dir.mkdir()
    for name in ("ca.key.pem", "ca.pem"):
        (ec_dir / name).write_bytes((directory / name).read_bytes())
    init_dev_pki(ec_dir, [(VPCP, "Văn phòng Chính phủ")], key_type="ec")
    rsa = SigningKey.from_files(dev.key_path(VPCP), dev.cert_path(VPCP))
    ec = SigningKey.from_files(ec_dir / f"{VPCP}.key.pem", ec_dir / f"{VPCP}.pem")
    return rsa, ec, TrustStore.from_pem_files([dev.ca_cert_path])


def with_attachments(*attachments: Attachment) -> Edoc:
    doc = letter(VPCP, [HA_NOI], "7")
    return Edoc(**{**doc.__dict__, "attachments": attachments, "manifest": ()})


def packages(tmp: Path) -> dict[str, Edoc | StatusPackage]:
    on_disk = tmp / "scan.pdf"
    on_disk.write_bytes(os.urandom(1_500_000))
    return {
        "a large attachment": letter(VPCP, [HA_NOI], "1", pdf=os.urandom(3_000_000)),
        "a small attachment": letter(VPCP, [HA_NOI], "2", pdf=b"%PDF-1.4 small"),
        "several, zipped, empty, on disk": with_attachments(
            Attachment("cid:1", "a.pdf", Blob(os.urandom(2_000_000)), "application/pdf"),
            Attachment("cid:2", "b.txt", Blob(b"x" * 100_000), "text/plain", zipped=True),
            Attachment("cid:3", "empty.txt", Blob(b""), "text/plain"),
            Attachment("cid:4", "scan.pdf", Blob.from_file(on_disk), "application/pdf"),
        ),
        "a status": StatusPackage(
            from_=Organization(HA_NOI), response_for=ResponseFor(organ_id=VPCP, document_id="d"),
            status_code=StatusCode.ARRIVED, staff_info=StaffInfo(department="Văn thư", staff="A"),
            description="Đã đến", timestamp=datetime(2026, 11, 30, 8, 0, 0),
        ),
    }  # fmt: skip


def test_a_package_signed_as_it_is_written_is_the_one_signed_after(
    keys: tuple[SigningKey, SigningKey, TrustStore], tmp_path: Path
) -> None:
    rsa, _, trust = keys
    for name, package in packages(tmp_path).items():
        written = sign_written(package, rsa)
        # RSA PKCS#1 v1.5 is deterministic: the same bytes signed give the same signed bytes.
        assert written == sign_package(write_package(package), rsa), name
        verified = verify_package(written, trust=trust, policy=SignaturePolicy())
        read = read_element(verified.root, aside=verified.aside).package
        if isinstance(package, Edoc):
            assert isinstance(read, Edoc)
            got = [a.content.read_bytes() for a in read.attachments]
            assert got == [a.content.read_bytes() for a in package.attachments], name


def test_an_ec_signature_made_as_it_is_written_verifies(
    keys: tuple[SigningKey, SigningKey, TrustStore], tmp_path: Path
) -> None:
    _, ec, trust = keys
    package = packages(tmp_path)["several, zipped, empty, on disk"]
    verified = verify_package(sign_written(package, ec), trust=trust, policy=SignaturePolicy())
    assert verified.algorithm == "ecdsa-sha256"


def test_signing_as_it_is_written_never_makes_the_unsigned_package(
    keys: tuple[SigningKey, SigningKey, TrustStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is written, parsed and signed is the metadata, a mark for the base64 (4 MB here): the
    # base64 is made a megabyte at a time from the attachment, for the digest and for the output.
    rsa, _, _ = keys
    package = letter(VPCP, [HA_NOI], "1", pdf=os.urandom(3_000_000))
    parsed: list[int] = []
    parse = signing._parse

    def counted(xml: bytes, *args: object) -> object:
        parsed.append(len(xml))
        return parse(xml, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(signing, "_parse", counted)
    signed = sign_written(package, rsa)

    assert len(parsed) == 1
    assert parsed[0] < 64 * 1024
    assert len(signed) > 4_000_000
