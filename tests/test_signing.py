"""Signing and verifying edXML packages (vbcore.security.signing): round trips, tampering, trust, policy."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from lxml import etree

from vbcore.edxml import parse_xml
from vbcore.errors import (
    NotAnEdxmlPackage,
    SignatureInvalid,
    SignatureMissing,
    SignerMismatch,
    UntrustedCertificate,
    WeakSignatureAlgorithm,
)
from vbcore.security.pki import (
    PrivateKey,
    certificate_pem,
    create_ca,
    generate_private_key,
    init_dev_pki,
    issue_agency_certificate,
    load_certificate,
    load_private_key,
)
from vbcore.security.signing import (
    SignaturePolicy,
    SigningKey,
    TrustStore,
    VerifiedPackage,
    sign_package,
    verify_package,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NGHE_AN = "000.00.00.H41"  # From of vpcp-sdk-sample__status.edxml
VPCP = "000.00.00.G22"  # From of the Quảng Nam sample with an attachment
STATUS = "vpcp-sdk-sample__status.edxml"
WITH_ATTACHMENT = "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"


@dataclass(frozen=True)
class Pki:
    directory: Path
    trust: TrustStore
    keys: dict[str, SigningKey]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    dev = init_dev_pki(directory, [(NGHE_AN, "UBND Tỉnh Nghệ An"), (VPCP, "Văn phòng Chính phủ")])
    keys = {code: SigningKey.from_files(dev.key_path(code), dev.cert_path(code)) for code in dev.agencies}
    ec_dir = directory / "ec"
    ec_dir.mkdir()
    (ec_dir / "ca.key.pem").write_bytes(dev.ca_key_path.read_bytes())
    (ec_dir / "ca.pem").write_bytes(dev.ca_cert_path.read_bytes())
    ec = init_dev_pki(ec_dir, [(NGHE_AN, "UBND Tỉnh Nghệ An")], key_type="ec")
    keys["ec"] = SigningKey.from_files(ec.key_path(NGHE_AN), ec.cert_path(NGHE_AN))
    return Pki(directory, TrustStore.from_pem_files([dev.ca_cert_path]), keys)


@pytest.fixture
def status(interop_dir: Path) -> bytes:
    return (interop_dir / STATUS).read_bytes()


@pytest.fixture
def document(interop_dir: Path) -> bytes:
    return (interop_dir / WITH_ATTACHMENT).read_bytes()


def verify(xml: bytes, pki: Pki, expected: str | None = NGHE_AN, **policy: bool) -> VerifiedPackage:
    return verify_package(xml, trust=pki.trust, policy=SignaturePolicy(**policy), expected_agency=expected)


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def text_of(root: etree._Element, path: str) -> str:
    found = root.find(path, {"e": ED})
    assert found is not None
    assert found.text is not None
    return found.text


# --- round trips -------------------------------------------------------------------------------------


def test_signed_status_verifies_and_names_its_signer(pki: Pki, status: bytes) -> None:
    signed = sign_package(status, pki.keys[NGHE_AN])

    verified = verify_package(signed, trust=pki.trust, policy=SignaturePolicy(), expected_agency=NGHE_AN)

    assert verified.signer_agency == NGHE_AN
    assert verified.algorithm == "rsa-sha256"
    assert verified.certificate == pki.keys[NGHE_AN].certificate
    assert verified.signed
    assert text_of(verified.root, ".//e:StatusCode") == "01"


def test_ec_key_signs_with_ecdsa_sha256_and_verifies(pki: Pki, status: bytes) -> None:
    signed = sign_package(status, pki.keys["ec"])

    method = parse(signed).find(f".//{{{DS}}}SignatureMethod")
    assert method is not None
    assert method.get("Algorithm", "").endswith("#ecdsa-sha256")
    assert verify(signed, pki).algorithm == "ecdsa-sha256"


def test_signature_is_the_last_child_of_the_edxml_header_and_covers_the_whole_package(
    pki: Pki, document: bytes
) -> None:
    root = parse(sign_package(document, pki.keys[VPCP]))

    header = root.find(f"{{{ED}}}edXMLEnvelope/{{{ED}}}edXMLHeader")
    assert header is not None
    assert header[-1].tag == f"{{{DS}}}Signature"
    reference = header[-1].find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    assert reference is not None
    assert reference.get("URI") == ""
    transforms = [t.get("Algorithm") for t in reference.iter(f"{{{DS}}}Transform")]
    assert transforms == [f"{DS}enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"]
    assert header[-1].find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate") is not None


def test_verified_root_is_the_signed_package_without_the_signature(pki: Pki, document: bytes) -> None:
    verified = verify(sign_package(document, pki.keys[VPCP]), pki, expected=VPCP)

    root = verified.root
    assert root.tag == f"{{{ED}}}edXML"
    assert root.find(f".//{{{DS}}}Signature") is None
    assert text_of(root, "e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader/e:From/e:OrganId") == VPCP
    assert root.find(".//e:ContentTransferEncoded", {"e": ED}) is not None


def test_signing_again_replaces_the_earlier_signature(pki: Pki, status: bytes) -> None:
    twice = sign_package(sign_package(status, pki.keys[NGHE_AN]), pki.keys[NGHE_AN])

    assert len(parse(twice).findall(f".//{{{DS}}}Signature")) == 1
    assert verify(twice, pki).signer_agency == NGHE_AN


def test_sha1_cannot_be_chosen_for_signing(pki: Pki, status: bytes) -> None:
    with pytest.raises(ValueError, match="SHA-1"):
        sign_package(status, pki.keys[NGHE_AN], algorithm="rsa-sha1")


def test_signing_a_document_without_an_edxml_header_is_refused(pki: Pki) -> None:
    with pytest.raises(NotAnEdxmlPackage, match="edXMLHeader"):
        sign_package(b"<a/>", pki.keys[NGHE_AN])


def test_signing_key_refuses_a_certificate_of_another_key(pki: Pki) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        SigningKey(pki.keys[NGHE_AN].private_key, pki.keys[VPCP].certificate_chain)


# --- tampering ----------------------------------------------------------------------------------------


def test_changed_subject_is_refused_as_invalid(pki: Pki, document: bytes) -> None:
    signed = sign_package(document, pki.keys[VPCP]).decode()
    subject = re.search(r"<edXML:Subject>([^<]*)</edXML:Subject>", signed)
    assert subject is not None
    tampered = signed.replace(subject.group(0), "<edXML:Subject>Đã sửa</edXML:Subject>")

    with pytest.raises(SignatureInvalid, match="changed after it was signed"):
        verify(tampered.encode(), pki, expected=VPCP)


def test_one_changed_attachment_byte_is_refused_as_invalid(pki: Pki, document: bytes) -> None:
    root = parse(sign_package(document, pki.keys[VPCP]))
    encoded = root.find(f".//{{{ED}}}ContentTransferEncoded")
    assert encoded is not None
    assert encoded.text
    encoded.text = ("A" if encoded.text[100] != "A" else "B").join((encoded.text[:100], encoded.text[101:]))

    with pytest.raises(SignatureInvalid):
        verify(etree.tostring(root), pki, expected=VPCP)


def test_swapped_certificate_of_the_same_ca_is_refused_as_invalid(pki: Pki, status: bytes) -> None:
    root = parse(sign_package(status, pki.keys[NGHE_AN]))
    cert_element = root.find(f".//{{{DS}}}X509Certificate")
    assert cert_element is not None
    other = certificate_pem(pki.keys[VPCP].certificate).decode()
    cert_element.text = "".join(other.splitlines()[1:-1])

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(etree.tostring(root), pki, expected=VPCP)


def test_placeholder_signature_value_is_refused_as_invalid(
    pki: Pki, status: bytes, interop_dir: Path
) -> None:
    sdk_value = parse((interop_dir / "vpcp-sdk-sample__edoc_update.edxml").read_bytes()).find(
        f".//{{{ED}}}SignatureValue"
    )
    assert sdk_value is not None
    root = parse(sign_package(status, pki.keys[NGHE_AN]))
    value = root.find(f".//{{{DS}}}SignatureValue")
    assert value is not None
    value.text = sdk_value.text

    with pytest.raises(SignatureInvalid):
        verify(etree.tostring(root), pki)


def test_signature_without_signed_info_is_refused_as_invalid(pki: Pki, status: bytes) -> None:
    root = parse(sign_package(status, pki.keys[NGHE_AN]))
    signed_info = root.find(f".//{{{DS}}}SignedInfo")
    assert signed_info is not None
    signed_info.getparent().remove(signed_info)  # type: ignore[union-attr]

    with pytest.raises(SignatureInvalid, match="no SignedInfo"):
        verify(etree.tostring(root), pki)


def test_truncated_certificate_is_refused_with_a_clear_message(pki: Pki, status: bytes) -> None:
    root = parse(sign_package(status, pki.keys[NGHE_AN]))
    cert_element = root.find(f".//{{{DS}}}X509Certificate")
    assert cert_element is not None
    cert_element.text = "MIIFqTCCBJG"  # as in the VPCP SDK samples

    with pytest.raises(SignatureInvalid, match="cannot be read"):
        verify(etree.tostring(root), pki)


# --- trust and binding --------------------------------------------------------------------------------


def test_certificate_from_an_untrusted_ca_is_refused(pki: Pki, status: bytes) -> None:
    other_key, other_ca = create_ca("self-made CA")
    key, cert = issue_agency_certificate(other_key, other_ca, NGHE_AN, "UBND Tỉnh Nghệ An")

    signed = sign_package(status, SigningKey(key, (cert,)))

    with pytest.raises(UntrustedCertificate, match="does not chain to a trusted CA"):
        verify(signed, pki)


def test_expired_certificate_is_refused(pki: Pki, status: bytes) -> None:
    ca_key, ca = create_ca()
    key, cert = issue_agency_certificate(
        ca_key, ca, NGHE_AN, "x", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_days=30
    )
    signed = sign_package(status, SigningKey(key, (cert,)))

    with pytest.raises(UntrustedCertificate, match="expired"):
        verify_package(signed, trust=TrustStore([ca]), policy=SignaturePolicy(), expected_agency=NGHE_AN)


def test_certificate_of_another_agency_is_a_signer_mismatch(pki: Pki, status: bytes) -> None:
    signed = sign_package(status, pki.keys[VPCP])  # the status says it is from Nghệ An

    with pytest.raises(SignerMismatch, match=f"from {NGHE_AN} but is signed with the certificate of {VPCP}"):
        verify(signed, pki, expected=NGHE_AN)


def test_without_expected_agency_the_signer_is_reported_not_checked(pki: Pki, status: bytes) -> None:
    signed = sign_package(status, pki.keys[VPCP])

    assert verify(signed, pki, expected=None).signer_agency == VPCP


def test_a_registered_certificate_binds_an_agency_whose_code_is_not_in_its_subject(
    pki: Pki, status: bytes
) -> None:
    ca_key = load_private_key(pki.directory / "ca.key.pem")
    ca_cert = load_certificate(pki.directory / "ca.pem")
    key = generate_private_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư UBND Tỉnh Nghệ An")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    signed = sign_package(status, SigningKey(key, (cert,)))

    with pytest.raises(SignerMismatch, match="an unidentified agency"):
        verify(signed, pki, expected=NGHE_AN)
    verified = verify_package(
        signed,
        trust=pki.trust,
        policy=SignaturePolicy(),
        expected_agency=NGHE_AN,
        agency_certificates={NGHE_AN: cert},
    )
    assert verified.signer_agency == NGHE_AN
    unbound = verify_package(
        signed, trust=pki.trust, policy=SignaturePolicy(), agency_certificates={NGHE_AN: cert}
    )
    assert unbound.signer_agency == NGHE_AN


# --- missing, foreign and placeholder signatures in real packages -------------------------------------


def test_unsigned_interop_sample_is_refused_as_missing(pki: Pki, status: bytes) -> None:
    with pytest.raises(SignatureMissing):
        verify(status, pki)


def test_unsigned_package_passes_when_the_policy_does_not_require_a_signature(
    pki: Pki, status: bytes
) -> None:
    verified = verify(status, pki, require_signature=False)

    assert not verified.signed
    assert verified.signer_agency is None
    assert [w.code for w in verified.warnings] == ["unsigned"]
    assert text_of(verified.root, ".//e:StatusCode") == "01"


@pytest.mark.parametrize(
    "sample",
    [
        "bkav__edoc-service__edoc_new.edxml",
        "vpcp-sdk-sample__edoc_update.edxml",
        "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",
    ],
)
def test_signature_in_the_edxml_namespace_is_refused_as_not_xml_dsig(
    pki: Pki, interop_dir: Path, sample: str
) -> None:
    with pytest.raises(SignatureInvalid, match="not a valid XML-DSig signature"):
        verify((interop_dir / sample).read_bytes(), pki)


def test_signature_in_the_edxml_namespace_counts_as_unsigned_when_signatures_are_optional(
    pki: Pki, interop_dir: Path
) -> None:
    xml = (interop_dir / "bkav__edoc-service__edoc_new.edxml").read_bytes()

    verified = verify(xml, pki, expected=None, require_signature=False)

    assert not verified.signed
    [warning] = verified.warnings
    assert warning.code == "signature-placeholder"
    assert "counts as unsigned" in warning.describe("en")


def test_sdk_sample_with_a_copied_placeholder_signature_is_refused_cleanly(
    pki: Pki, interop_dir: Path
) -> None:
    # The one SDK sample with a signature in the XML-DSig namespace: rsa-sha1, a real but expired
    # VNPT-CA certificate, and a signature value copied from elsewhere.
    xml = (interop_dir / "vpcp-sdk-sample__edoc.edxml").read_bytes()

    with pytest.raises(WeakSignatureAlgorithm, match="SHA-1"):
        verify(xml, pki)
    with pytest.raises(UntrustedCertificate, match="VNPT"):
        verify(xml, pki, allow_sha1=True)


# --- certificate chains in KeyInfo ----------------------------------------------------------------


def _intermediate(root_key: PrivateKey, root: x509.Certificate) -> tuple[PrivateKey, x509.Certificate]:
    key = generate_private_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intermediate CA")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


def test_a_chain_through_an_intermediate_ca_verifies_whatever_the_certificate_order(status: bytes) -> None:
    root_key, root = create_ca("root CA")
    sub_key, sub = _intermediate(root_key, root)
    key, leaf = issue_agency_certificate(sub_key, sub, NGHE_AN, "UBND Tỉnh Nghệ An")
    signed = parse(sign_package(status, SigningKey(key, (leaf, sub))))
    x509_data = signed.find(f".//{{{DS}}}X509Data")
    assert x509_data is not None
    assert len(x509_data) == 2
    trust = TrustStore([root])

    first = verify_package(
        etree.tostring(signed), trust=trust, policy=SignaturePolicy(), expected_agency=NGHE_AN
    )
    # KeyInfo is outside what is signed: reorder it, and add the root in front.
    leaf_element = x509_data[0]
    x509_data.remove(leaf_element)
    x509_data.append(leaf_element)
    root_element = etree.SubElement(x509_data, f"{{{DS}}}X509Certificate")
    root_element.text = "".join(certificate_pem(root).decode().splitlines()[1:-1])
    x509_data.insert(0, root_element)
    reordered = verify_package(
        etree.tostring(signed), trust=trust, policy=SignaturePolicy(), expected_agency=NGHE_AN
    )

    assert first.certificate == leaf
    assert reordered.certificate == leaf
    with pytest.raises(UntrustedCertificate):
        verify_package(
            etree.tostring(signed), trust=TrustStore([create_ca("unrelated")[1]]), policy=SignaturePolicy()
        )


def test_a_tree_the_caller_already_parsed_gives_the_same_verdicts(pki: Pki, document: bytes) -> None:
    # The hub parses once (for the schema) and hands that tree to verify_package.
    signed = sign_package(document, pki.keys[VPCP])
    verified = verify_package(
        signed, trust=pki.trust, policy=SignaturePolicy(), expected_agency=VPCP, parsed=parse_xml(signed)
    )
    assert verified.signer_agency == VPCP
    tampered = signed.replace(b"<edXML:Subject>", b"<edXML:Subject>X", 1)
    with pytest.raises(SignatureInvalid, match="changed after it was signed"):
        verify_package(
            tampered,
            trust=pki.trust,
            policy=SignaturePolicy(),
            expected_agency=VPCP,
            parsed=parse_xml(tampered),
        )
