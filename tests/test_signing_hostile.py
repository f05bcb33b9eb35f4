"""Hostile signatures and certificates: bounded work, readable refusals, never another exception.

``KeyInfo`` is outside the signature's digest: anyone on the way may add certificates to it. The
hub once spent 35-57 s choosing the signing certificate among 14,000 copies (every copy compared
with every other); now their number is capped, copies are parsed once, and the choice is linear.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

import vbcore.security.signature_shape
from vbcore.edxml import ParseLimits, read_element, write_package
from vbcore.errors import (
    AttachmentUnreadable,
    CertificateUnreadable,
    SignatureInvalid,
    SignerMismatch,
    TooManyCertificates,
    UntrustedCertificate,
)
from vbcore.model import Organization, ResponseFor, StatusPackage
from vbcore.security.pki import create_ca, init_dev_pki, issue_agency_certificate
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package
from vbcore.security.trust import describe
from vbcore.status import StatusCode
from vbcore.testing.devworld import letter

VPCP, HA_NOI = "000.00.00.G22", "000.00.00.H24"
CERT = re.compile(rb"<ds:X509Certificate>([^<]*)</ds:X509Certificate>")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, SigningKey, TrustStore, Path]:
    directory = tmp_path_factory.mktemp("pki")
    pki = init_dev_pki(directory, [(VPCP, "Văn phòng Chính phủ"), (HA_NOI, "UBND Thành phố Hà Nội")])
    keys = [SigningKey.from_files(pki.key_path(c), pki.cert_path(c)) for c in (VPCP, HA_NOI)]
    return keys[0], keys[1], TrustStore.from_pem_files([pki.ca_cert_path]), directory


@pytest.fixture(scope="module")
def signed(dev: tuple[SigningKey, SigningKey, TrustStore, Path]) -> bytes:
    return sign_package(write_package(letter(VPCP, [HA_NOI], "1")), dev[0])


def verify(xml: bytes, trust: TrustStore, expected: str | None = VPCP) -> object:
    return verify_package(xml, trust=trust, policy=SignaturePolicy(), expected_agency=expected)


def with_certificates(signed: bytes, copies: int) -> bytes:
    cert = CERT.search(signed)
    assert cert is not None
    return signed[: cert.end()] + cert.group(0) * (copies - 1) + signed[cert.end() :]


def with_certificate_der(signed: bytes, change: Callable[[bytes], bytes]) -> bytes:
    cert = CERT.search(signed)
    assert cert is not None
    der = change(base64.b64decode(cert.group(1)))
    return signed[: cert.start(1)] + base64.b64encode(der) + signed[cert.end(1) :]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every DER certificate the signature check parses, in order."""
    seen: list[bytes] = []
    real = vbcore.security.signature_shape.certificate_from_der

    def counting(der: bytes, label: str, label_vi: str | None = None) -> x509.Certificate:
        seen.append(der)
        return real(der, label, label_vi)

    monkeypatch.setattr(vbcore.security.signature_shape, "certificate_from_der", counting)
    return seen


# --- copies in KeyInfo --------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_fourteen_thousand_copies_of_the_certificate_are_refused_before_one_is_parsed(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path], signed: bytes, parses: list[bytes]
) -> None:
    hostile = with_certificates(signed, 14_000)  # about 17 MB, as in the attack on the live hub
    with pytest.raises(TooManyCertificates, match="KeyInfo carries 14000 certificates; at most 8") as caught:
        verify_package(
            hostile, trust=dev[2], policy=SignaturePolicy(), limits=ParseLimits(max_bytes=64 * 2**20)
        )
    assert parses == []
    assert caught.value.reason == "too-many-certificates"
    assert "chứng thư số" in caught.value.describe("vi")


def test_copies_within_the_limit_verify_and_the_certificate_is_parsed_once(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path], signed: bytes, parses: list[bytes]
) -> None:
    verified = verify(with_certificates(signed, 8), dev[2])
    assert verified.signer_agency == VPCP  # type: ignore[attr-defined]
    assert len(parses) == 1


def test_the_certificate_limit_is_the_operators_to_set(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path], signed: bytes
) -> None:
    with pytest.raises(TooManyCertificates, match="carries 3 certificates; at most 2"):
        verify_package(
            with_certificates(signed, 3),
            trust=dev[2],
            policy=SignaturePolicy(),
            limits=ParseLimits(max_certificates=2),
        )


# --- certificates that do not parse (found by fuzzing: ValueError, InvalidVersion escaped) ----------------


def _subject_not_utf8(der: bytes) -> bytes:
    """The subject's UTF-8 name ("Văn phòng Chính phủ") with a byte that is not UTF-8: cryptography
    loads the certificate and fails only when the subject is first read (as fuzzing found)."""
    assert "ă".encode() in der
    return der.replace("ă".encode(), b"\xc4\x21")


def _version_88(der: bytes) -> bytes:
    return der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x58", 1)


@pytest.mark.parametrize("change", [_subject_not_utf8, _version_88], ids=["subject", "version"])
def test_a_certificate_that_does_not_parse_is_refused_as_unreadable(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path], signed: bytes, change: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(
        CertificateUnreadable, match="certificate 1 in the signature's KeyInfo cannot be read"
    ):
        verify(with_certificate_der(signed, change), dev[2])


def test_a_placeholder_certificate_is_refused_as_unreadable(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path], signed: bytes
) -> None:
    with pytest.raises(SignatureInvalid, match="cannot be read"):
        verify(CERT.sub(b"<ds:X509Certificate>MIIBxx==</ds:X509Certificate>", signed), dev[2])


def test_describing_a_certificate_never_raises(dev: tuple[SigningKey, SigningKey, TrustStore, Path]) -> None:
    der = _subject_not_utf8(dev[0].certificate.public_bytes(serialization.Encoding.DER))
    lazy = x509.load_der_x509_certificate(der)  # cryptography parses the subject only when asked
    assert describe(lazy).startswith("<unreadable subject> (issued by ")


# --- control characters in a subject (the hub's crash loop) ------------------------------------------


def test_a_subject_with_control_characters_is_described_in_printable_text(tmp_path: Path) -> None:
    ca_key, ca = create_ca()
    key = ca_key  # any key will do for a certificate we only describe
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cơ quan\x01\x1b[31m giả")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(7).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    text = describe(cert)
    assert "\x01" not in text
    assert "\x1b" not in text
    assert "\\x01\\x1b[31m" in text
    # What the hub does with it: a 02 whose Description quotes it must be writable.
    error = SignerMismatch(f"signed with the certificate of {text}")
    status = StatusPackage(Organization(VPCP), ResponseFor(organ_id=HA_NOI), StatusCode.REFUSED,
                           description=error.describe("en"))  # fmt: skip
    assert b"\\x01" in write_package(status)


# --- who signed, and when ---------------------------------------------------------------------------


def test_a_valid_signature_by_another_agency_is_a_signer_mismatch_in_both_languages(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path],
) -> None:
    forged = sign_package(write_package(letter(VPCP, [HA_NOI], "2")), dev[1])  # Hà Nội's key, VPCP's letter
    with pytest.raises(SignerMismatch) as caught:
        verify(forged, dev[2], expected=VPCP)
    assert f"is from {VPCP} but is signed with the certificate of {HA_NOI}" in str(caught.value)
    assert f"gói tin của {VPCP} nhưng được ký bằng chứng thư số của {HA_NOI}" in caught.value.describe(
        "vi"
    )


def test_a_certificate_not_yet_valid_is_refused_naming_when_it_starts() -> None:
    ca_key, ca = create_ca()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    key, cert = issue_agency_certificate(ca_key, ca, VPCP, "VPCP", not_before=start)
    signed = sign_package(write_package(letter(VPCP, [HA_NOI], "3")), SigningKey(key, (cert,)))
    with pytest.raises(UntrustedCertificate, match=f"is not valid before {start:%Y-%m-%d %H:%M} UTC"):
        verify(signed, TrustStore([ca]))


def test_an_expired_certificate_is_refused_in_both_languages() -> None:
    ca_key, ca = create_ca()
    key, cert = issue_agency_certificate(
        ca_key, ca, VPCP, "VPCP", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_days=30
    )
    signed = sign_package(write_package(letter(VPCP, [HA_NOI], "4")), SigningKey(key, (cert,)))
    with pytest.raises(UntrustedCertificate, match="expired on 2020-01-31") as caught:
        verify(signed, TrustStore([ca]))
    assert "đã hết hạn ngày 2020-01-31" in caught.value.describe("vi")


def test_a_certificate_of_an_untrusted_ca_is_refused(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path],
) -> None:
    other_key, other_ca = create_ca("self-made CA")
    key, cert = issue_agency_certificate(other_key, other_ca, VPCP, "VPCP")
    signed = sign_package(write_package(letter(VPCP, [HA_NOI], "5")), SigningKey(key, (cert,)))
    with pytest.raises(UntrustedCertificate, match="does not chain to a trusted CA") as caught:
        verify(signed, dev[2])
    assert "không dẫn về một CA được tin cậy" in caught.value.describe("vi")


# --- the signature's verdict comes first ----------------------------------------------------------


def test_a_broken_attachment_never_hides_the_signature_verdict(
    dev: tuple[SigningKey, SigningKey, TrustStore, Path],
) -> None:
    unsigned = write_package(letter(VPCP, [HA_NOI], "6"))
    broken = re.sub(rb"(<edXML:ContentTransferEncoded>)[^<]*", rb"\1not*base64", unsigned)
    signed = sign_package(broken, dev[0])
    verified = verify(signed, dev[2])  # the signature holds: nothing in an attachment is decoded
    with pytest.raises(AttachmentUnreadable, match="invalid base64"):
        read_element(verified.root)  # type: ignore[attr-defined]
    tampered = signed.replace(b"not*base64", b"not*base65")
    with pytest.raises(SignatureInvalid, match="changed after it was signed"):
        verify(tampered, dev[2])
