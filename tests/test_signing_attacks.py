"""Attacks on package signatures (signature wrapping, partial references, SHA-1), all refused.

Several attacks are built with signxml directly so that their signatures are cryptographically
valid: the refusal then comes from vbus's checks, not from a broken signature value.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner

from vbcore.errors import (
    ForbiddenXmlConstruct,
    SignatureInvalid,
    SignatureWrapping,
    WeakSignatureAlgorithm,
)
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package

DS = "http://www.w3.org/2000/09/xmldsig#"
ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NGHE_AN = "000.00.00.H41"
HEADER = f"{{{ED}}}edXMLEnvelope/{{{ED}}}edXMLHeader"


@pytest.fixture(scope="module")
def key_and_trust(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, TrustStore]:
    dev = init_dev_pki(tmp_path_factory.mktemp("pki"), [(NGHE_AN, "UBND Tỉnh Nghệ An")])
    key = SigningKey.from_files(dev.key_path(NGHE_AN), dev.cert_path(NGHE_AN))
    return key, TrustStore.from_pem_files([dev.ca_cert_path])


@pytest.fixture
def status(interop_dir: Path) -> bytes:
    return (interop_dir / "vpcp-sdk-sample__status.edxml").read_bytes()


def verify(xml: bytes, trust: TrustStore, **policy: bool) -> object:
    return verify_package(xml, trust=trust, policy=SignaturePolicy(**policy), expected_agency=NGHE_AN)


def signxml_sign(
    root: etree._Element,
    key: SigningKey,
    *,
    reference_uri: str | list[str] | None = None,
    method: SignatureMethod = SignatureMethod.RSA_SHA256,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
) -> etree._Element:
    """Sign with signxml itself (SHA-1 allowed), the signature placed in the edXML header."""

    class AnySigner(XMLSigner):
        def check_deprecated_methods(self) -> None:
            pass

    header = root.find(HEADER)
    assert header is not None
    etree.SubElement(header, f"{{{DS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DS})
    signer = AnySigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed: etree._Element = signer.sign(
        root, key=key.private_key, cert=list(key.certificate_chain), reference_uri=reference_uri
    )
    return signed


def change_description(root: etree._Element) -> None:
    description = root.find(f".//{{{ED}}}Description")
    assert description is not None
    description.text = "Từ chối tiếp nhận"


# --- signature wrapping -------------------------------------------------------------------------------


def test_signed_package_moved_under_a_forged_root_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    original = etree.fromstring(sign_package(status, key))
    forged = copy.deepcopy(original)
    forged.find(HEADER).remove(forged.find(f"{HEADER}/{{{DS}}}Signature"))  # type: ignore[union-attr,arg-type]
    change_description(forged)
    wrapper = etree.SubElement(forged, f"{{{ED}}}Wrapper")
    wrapper.append(original)

    with pytest.raises(SignatureWrapping, match="not in edXMLEnvelope/edXMLHeader"):
        verify(etree.tostring(forged), trust)


def test_signature_moved_into_a_forged_header_with_the_original_kept_aside_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    original = etree.fromstring(sign_package(status, key))
    forged = copy.deepcopy(original)
    change_description(forged)
    aside = copy.deepcopy(original)
    aside.find(HEADER).remove(aside.find(f"{HEADER}/{{{DS}}}Signature"))  # type: ignore[union-attr,arg-type]
    etree.SubElement(forged, f"{{{ED}}}Wrapper").append(aside)

    with pytest.raises(SignatureInvalid):
        verify(etree.tostring(forged), trust)


def test_a_second_signature_is_refused(key_and_trust: tuple[SigningKey, TrustStore], status: bytes) -> None:
    key, trust = key_and_trust
    root = etree.fromstring(sign_package(status, key))
    signature = root.find(f"{HEADER}/{{{DS}}}Signature")
    assert signature is not None
    root.append(copy.deepcopy(signature))

    with pytest.raises(SignatureWrapping, match="2 XML-DSig signatures"):
        verify(etree.tostring(root), trust)


def test_validly_signed_reference_to_one_element_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    root = etree.fromstring(status)
    message_header = root.find(f"{HEADER}/{{{ED}}}MessageHeader")
    assert message_header is not None
    message_header.set("Id", "x")
    signed = signxml_sign(root, key, reference_uri="#x")

    with pytest.raises(SignatureWrapping, match="Reference URI is '#x'"):
        verify(etree.tostring(signed), trust)


def test_validly_signed_second_reference_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    root = etree.fromstring(status)
    for element, id_ in (
        (root.find(f"{HEADER}/{{{ED}}}MessageHeader"), "a"),
        (root.find(f".//{{{ED}}}From"), "b"),
    ):
        assert element is not None
        element.set("Id", id_)
    signed = signxml_sign(root, key, reference_uri=["#a", "#b"])

    with pytest.raises(SignatureWrapping, match="2 references"):
        verify(etree.tostring(signed), trust)


def test_an_xpath_transform_is_refused(key_and_trust: tuple[SigningKey, TrustStore], status: bytes) -> None:
    key, trust = key_and_trust
    root = etree.fromstring(sign_package(status, key))
    transforms = root.find(f".//{{{DS}}}Transforms")
    assert transforms is not None
    xpath = etree.SubElement(
        transforms, f"{{{DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    etree.SubElement(xpath, f"{{{DS}}}XPath").text = "not(ancestor-or-self::*[local-name()='Description'])"

    with pytest.raises(SignatureWrapping, match="transform"):
        verify(etree.tostring(root), trust)


def test_a_signature_inside_the_message_header_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    root = etree.fromstring(sign_package(status, key))
    signature = root.find(f"{HEADER}/{{{DS}}}Signature")
    message_header = root.find(f"{HEADER}/{{{ED}}}MessageHeader")
    assert signature is not None
    assert message_header is not None
    message_header.append(signature)

    with pytest.raises(SignatureWrapping, match="sits in MessageHeader"):
        verify(etree.tostring(root), trust)


def test_a_comment_added_after_signing_never_reaches_the_verified_tree(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    signed = sign_package(status, key).replace(b"<edXML:StatusCode>", b"<!-- 02 --><edXML:StatusCode>")

    verified = verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=NGHE_AN)

    assert b"<!--" not in etree.tostring(verified.root)


def test_a_doctype_in_a_signed_package_is_refused_before_verification(
    key_and_trust: tuple[SigningKey, TrustStore], status: bytes
) -> None:
    key, trust = key_and_trust
    signed = sign_package(status, key)
    with_doctype = signed.replace(b"?>", b'?>\n<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)

    with pytest.raises(ForbiddenXmlConstruct):
        verify(with_doctype, trust)


# --- SHA-1 --------------------------------------------------------------------------------------------


@pytest.fixture
def sha1_signed(key_and_trust: tuple[SigningKey, TrustStore], status: bytes) -> bytes:
    key, _ = key_and_trust
    root = signxml_sign(
        etree.fromstring(status), key, method=SignatureMethod.RSA_SHA1, digest=DigestAlgorithm.SHA1
    )
    return bytes(etree.tostring(root))


def test_sha1_signature_is_refused_by_default(
    key_and_trust: tuple[SigningKey, TrustStore], sha1_signed: bytes
) -> None:
    with pytest.raises(WeakSignatureAlgorithm, match="rsa-sha1"):
        verify(sha1_signed, key_and_trust[1])


def test_sha1_signature_is_accepted_when_the_operator_allows_it(
    key_and_trust: tuple[SigningKey, TrustStore], sha1_signed: bytes
) -> None:
    verified = verify_package(
        sha1_signed, trust=key_and_trust[1], policy=SignaturePolicy(allow_sha1=True), expected_agency=NGHE_AN
    )
    assert verified.algorithm == "rsa-sha1"
    assert verified.signer_agency == NGHE_AN


def test_sha1_signature_still_fails_when_tampered_even_if_allowed(
    key_and_trust: tuple[SigningKey, TrustStore], sha1_signed: bytes
) -> None:
    tampered = sha1_signed.replace(b"<edXML:StatusCode>01<", b"<edXML:StatusCode>06<")
    assert tampered != sha1_signed
    with pytest.raises(SignatureInvalid, match="changed after it was signed"):
        verify(tampered, key_and_trust[1], allow_sha1=True)
