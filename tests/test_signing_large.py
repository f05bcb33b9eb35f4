"""Packages over libxml2's 10 MB text-node limit sign and verify, with the same hardening."""

from __future__ import annotations

import base64
import gc
import os
import sys
from pathlib import Path

import pytest
from lxml import etree

from vbcore.edxml import DEFAULT_LIMITS, parse_xml, write_package
from vbcore.errors import ForbiddenXmlConstruct, SignatureInvalid
from vbcore.hub import checks
from vbcore.security import signing
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package
from vbcore.testing.devworld import HA_NOI, letter

ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
VPCP = "000.00.00.G22"
SAMPLE = "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"


@pytest.fixture(scope="module")
def key_and_trust(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, TrustStore]:
    dev = init_dev_pki(tmp_path_factory.mktemp("pki"), [(VPCP, "Văn phòng Chính phủ")])
    return SigningKey.from_files(dev.key_path(VPCP), dev.cert_path(VPCP)), TrustStore.from_pem_files(
        [dev.ca_cert_path]
    )


@pytest.fixture(scope="module")
def large_package(interop_dir: Path) -> bytes:
    """The Quảng Nam sample with a 15 MB attachment (20 MB of base64, one text node)."""
    root = etree.fromstring((interop_dir / SAMPLE).read_bytes())
    encoded = root.find(f".//{{{ED}}}ContentTransferEncoded")
    assert encoded is not None
    encoded.text = base64.b64encode(os.urandom(15_000_000)).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_a_20_mb_package_signs_and_verifies(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes
) -> None:
    key, trust = key_and_trust
    signed = sign_package(large_package, key)

    verified = verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)

    encoded = verified.root.find(f".//{{{ED}}}ContentTransferEncoded")
    assert encoded is not None
    # The attachment's base64 was verified aside (issue 13): the tree holds a mark for it, and the text
    # is held as its bytes in the package (never parsed into a tree).
    assert len(verified.aside[encoded.text]) == 20_000_000
    sent = parse_xml(large_package).find(f".//{{{ED}}}ContentTransferEncoded")
    assert sent is not None
    assert bytes(verified.aside[encoded.text]) == sent.text.encode()


def test_a_package_signed_with_its_attachment_aside_is_the_one_signed_with_it_in_the_tree(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The digest and the output written around the text held aside are those of the whole tree.
    key, trust = key_and_trust
    aside = sign_package(large_package, key)
    monkeypatch.setattr(signing, "ASIDE_ABOVE", 10**9)
    whole = sign_package(large_package, key)
    assert aside == whole  # RSA PKCS#1 v1.5 is deterministic: same digest, same bytes
    assert verify_package(aside, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP).aside == {}


def test_one_changed_byte_in_a_20_mb_attachment_is_refused(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes
) -> None:
    key, trust = key_and_trust
    signed = bytearray(sign_package(large_package, key))
    at = signed.index(b"ContentTransferEncoded") + 5_000_000
    signed[at] = ord("A") if signed[at] != ord("A") else ord("B")

    with pytest.raises(SignatureInvalid):
        verify_package(bytes(signed), trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)


def test_a_doctype_in_a_large_package_is_still_refused(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes
) -> None:
    key, trust = key_and_trust
    signed = sign_package(large_package, key)
    with_doctype = signed.replace(b"?>", b'?>\n<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)

    with pytest.raises(ForbiddenXmlConstruct):
        verify_package(with_doctype, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)
    with pytest.raises(ForbiddenXmlConstruct):
        sign_package(with_doctype, key)


def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every text ``etree.fromstring`` parses from now on (signxml's copies included)."""
    parsed: list[int] = []
    fromstring = etree.fromstring

    def counted(text: bytes, *args: object, **kwargs: object) -> etree._Element:
        parsed.append(len(text))
        return fromstring(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(etree, "fromstring", counted)
    return parsed


def test_the_attachments_base64_is_never_parsed_into_a_tree_to_sign_or_to_verify(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 13: every tree libxml2 builds (our parse, signxml's copies and the verified tree) holds the
    # metadata only; the 20 MB of base64 stay in the bytes given, read from there (a view, no copy).
    key, trust = key_and_trust
    parsed = parsed_sizes(monkeypatch)
    signed = sign_package(large_package, key)
    assert parsed
    assert max(parsed) < signing.ASIDE_ABOVE
    parsed.clear()

    verified = verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)

    assert parsed
    assert max(parsed) < signing.ASIDE_ABOVE
    [held] = verified.aside.values()
    assert isinstance(held, memoryview)
    assert held.obj is signed


def test_the_hubs_checks_never_parse_the_attachments_base64(
    key_and_trust: tuple[SigningKey, TrustStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub parses once (schemas, then the signature): with the base64 held aside in the body.
    key, trust = key_and_trust
    signed = sign_package(write_package(letter(VPCP, [HA_NOI], "1", pdf=os.urandom(3_000_000))), key)
    parsed = parsed_sizes(monkeypatch)
    accepted = checks.check_structure(signed, DEFAULT_LIMITS)
    checked = checks.verify_and_read(
        signed, trust=trust, policy=SignaturePolicy(), parsed=accepted.root, aside=accepted.aside
    )

    assert checked.sender == VPCP
    assert parsed
    assert max(parsed) < signing.ASIDE_ABOVE
    assert accepted.aside is not None
    [held] = accepted.aside.texts.values()
    assert isinstance(held, memoryview)
    assert held.obj is signed


def test_neither_signing_nor_verifying_keeps_the_bytes_it_was_given(
    key_and_trust: tuple[SigningKey, TrustStore], large_package: bytes
) -> None:
    # The texts held aside are views of them; signxml's signer and verifier sit in reference cycles
    # and would keep those views (and so the package) alive until a garbage collection.
    key, trust = key_and_trust
    gc.disable()
    try:
        before = sys.getrefcount(large_package)
        signed = sign_package(large_package, key)
        assert sys.getrefcount(large_package) == before
        before = sys.getrefcount(signed)
        verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)
        assert sys.getrefcount(signed) == before
    finally:
        gc.enable()
