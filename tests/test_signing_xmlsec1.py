"""Interoperability with xmlsec1 (the libxmlsec reference tool), in both directions.

vbus -> xmlsec1: a package signed by ``sign_package`` verifies with
``xmlsec1 --verify --trusted-pem ca.pem --enabled-reference-uris empty`` (no ``--id-attr`` is needed:
the only Reference is ``URI=""``, and ``--enabled-reference-uris empty`` makes xmlsec1 itself refuse
any other reference). xmlsec1 -> vbus: a package signed by ``xmlsec1 --sign`` from a template with an
enveloped RSA-SHA256 signature verifies with ``verify_package``.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from vbcore.edxml import read_element
from vbcore.errors import AttachmentUnreadable, SignatureInvalid, WeakSignatureAlgorithm
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import (
    ASIDE_ABOVE,
    SignaturePolicy,
    SigningKey,
    TrustStore,
    sign_package,
    verify_package,
)

pytestmark = pytest.mark.xmlsec1

DS = "http://www.w3.org/2000/09/xmldsig#"
ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NGHE_AN = "000.00.00.H41"
VPCP = "000.00.00.G22"
PAYLOADS = {
    NGHE_AN: "vpcp-sdk-sample__status.edxml",
    VPCP: "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",  # with an attachment
}

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
# An enveloped RSA-SHA256 signature template, as QCVN 102 places it: exclusive c14n (vbus, newer
# producers), or inclusive c14n with no c14n transform on the reference (the SDK's Java producers).
RSA_SHA256 = ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
RSA_SHA1 = ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1")
TEMPLATES = {
    "exclusive": (EXC_C14N, f'<Transform Algorithm="{EXC_C14N}"/>', RSA_SHA256),
    "inclusive-enveloped-only": (C14N, "", RSA_SHA256),
    # What the VPCP SDK samples declare: rsa-sha1, inclusive c14n, a default-namespace Signature.
    "sdk-rsa-sha1": (C14N, "", RSA_SHA1),
}
TEMPLATE = """<Signature xmlns="{ds}">
  <SignedInfo>
    <CanonicalizationMethod Algorithm="{c14n}"/>
    <SignatureMethod Algorithm="{method}"/>
    <Reference URI="">
      <Transforms>
        <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>{transform}
      </Transforms>
      <DigestMethod Algorithm="{digest}"/>
      <DigestValue></DigestValue>
    </Reference>
  </SignedInfo>
  <SignatureValue></SignatureValue>
  <KeyInfo>
    <X509Data><X509Certificate></X509Certificate></X509Data>
  </KeyInfo>
</Signature>"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    directory = tmp_path_factory.mktemp("pki")
    rsa = init_dev_pki(directory, [(NGHE_AN, "UBND Tỉnh Nghệ An"), (VPCP, "Văn phòng Chính phủ")])
    ec_dir = directory / "ec"
    ec_dir.mkdir()
    for name in ("ca.key.pem", "ca.pem"):
        (ec_dir / name).write_bytes((directory / name).read_bytes())
    init_dev_pki(ec_dir, [(NGHE_AN, "UBND Tỉnh Nghệ An")], key_type="ec")
    return rsa


def xmlsec1_verify(xmlsec1: str, ca: Path, signed: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [xmlsec1, "--verify", "--trusted-pem", str(ca), "--enabled-reference-uris", "empty", str(signed)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("agency", "key_type"), [(NGHE_AN, "rsa"), (VPCP, "rsa"), (NGHE_AN, "ec")])
def test_package_signed_by_vbus_verifies_in_xmlsec1(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path, agency: str, key_type: str
) -> None:
    where = pki.directory / "ec" if key_type == "ec" else pki.directory
    key = SigningKey.from_files(where / f"{agency}.key.pem", where / f"{agency}.pem")
    signed = tmp_path / "signed.edxml"
    signed.write_bytes(sign_package((interop_dir / PAYLOADS[agency]).read_bytes(), key))

    result = xmlsec1_verify(xmlsec1, pki.ca_cert_path, signed)

    assert result.returncode == 0, result.stderr
    assert "OK" in result.stderr


def test_xmlsec1_refuses_a_vbus_package_changed_after_signing(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path
) -> None:
    key = SigningKey.from_files(pki.key_path(NGHE_AN), pki.cert_path(NGHE_AN))
    signed = sign_package((interop_dir / PAYLOADS[NGHE_AN]).read_bytes(), key)
    tampered = tmp_path / "tampered.edxml"
    tampered.write_bytes(signed.replace(b">01<", b">06<"))

    result = xmlsec1_verify(xmlsec1, pki.ca_cert_path, tampered)

    assert result.returncode != 0
    assert "FAIL" in result.stderr


def sign_with_xmlsec1(
    xmlsec1: str, pki: DevPki, agency: str, payload: bytes, tmp_path: Path, template: str = "exclusive"
) -> bytes:
    root = etree.fromstring(payload)
    header = root.find(f"{{{ED}}}edXMLEnvelope/{{{ED}}}edXMLHeader")
    assert header is not None
    c14n, transform, (method, digest) = TEMPLATES[template]
    filled = TEMPLATE.format(ds=DS, c14n=c14n, transform=transform, method=method, digest=digest)
    header.append(etree.fromstring(filled))
    unsigned = tmp_path / "template.edxml"
    unsigned.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    out = tmp_path / "signed-by-xmlsec1.edxml"
    subprocess.run(
        [
            xmlsec1,
            "--sign",
            "--privkey-pem",
            f"{pki.key_path(agency)},{pki.cert_path(agency)}",
            "--output",
            str(out),
            str(unsigned),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.read_bytes()


@pytest.mark.parametrize(
    ("agency", "template"), [(NGHE_AN, "exclusive"), (VPCP, "exclusive"), (VPCP, "inclusive-enveloped-only")]
)
def test_package_signed_by_xmlsec1_verifies_in_vbus(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path, agency: str, template: str
) -> None:
    payload = (interop_dir / PAYLOADS[agency]).read_bytes()
    signed = sign_with_xmlsec1(xmlsec1, pki, agency, payload, tmp_path, template)
    assert b"<X509Certificate>MII" in signed  # xmlsec1 filled in the certificate

    verified = verify_package(
        signed,
        trust=TrustStore.from_pem_files([pki.ca_cert_path]),
        policy=SignaturePolicy(),
        expected_agency=agency,
    )

    assert verified.signer_agency == agency
    assert verified.algorithm == "rsa-sha256"
    from_id = verified.root.find(f".//{{{ED}}}From/{{{ED}}}OrganId")
    assert from_id is not None
    assert from_id.text == agency


def test_sdk_style_rsa_sha1_package_signed_by_xmlsec1_verifies_only_when_sha1_is_allowed(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path
) -> None:
    payload = (interop_dir / PAYLOADS[VPCP]).read_bytes()
    signed = sign_with_xmlsec1(xmlsec1, pki, VPCP, payload, tmp_path, "sdk-rsa-sha1")
    trust = TrustStore.from_pem_files([pki.ca_cert_path])

    with pytest.raises(WeakSignatureAlgorithm):
        verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)
    verified = verify_package(
        signed, trust=trust, policy=SignaturePolicy(allow_sha1=True), expected_agency=VPCP
    )
    assert verified.algorithm == "rsa-sha1"


def test_xmlsec1_package_changed_after_signing_is_refused_by_vbus(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path
) -> None:
    signed = sign_with_xmlsec1(
        xmlsec1, pki, NGHE_AN, (interop_dir / PAYLOADS[NGHE_AN]).read_bytes(), tmp_path
    )

    with pytest.raises(SignatureInvalid):
        verify_package(
            signed.replace(b">01<", b">06<"),
            trust=TrustStore.from_pem_files([pki.ca_cert_path]),
            policy=SignaturePolicy(),
            expected_agency=NGHE_AN,
        )


def with_large_attachment(payload: bytes) -> bytes:
    """``payload`` with its attachment's base64 replaced by 3 MB of base64 in 76-character lines (over
    ``ASIDE_ABOVE``: vbus takes it out of the tree while signing and verifying)."""
    root = etree.fromstring(payload)
    encoded = root.find(f".//{{{ED}}}ContentTransferEncoded")
    assert encoded is not None
    encoded.text = base64.encodebytes(os.urandom(2_300_000)).decode()
    assert len(encoded.text) > ASIDE_ABOVE
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_a_large_package_signed_by_vbus_verifies_in_xmlsec1(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path
) -> None:
    # Issue 13: the digest of a package whose attachment was held aside is the whole document's.
    key = SigningKey.from_files(pki.key_path(VPCP), pki.cert_path(VPCP))
    signed = tmp_path / "signed.edxml"
    signed.write_bytes(sign_package(with_large_attachment((interop_dir / PAYLOADS[VPCP]).read_bytes()), key))

    result = xmlsec1_verify(xmlsec1, pki.ca_cert_path, signed)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("template", ["exclusive", "inclusive-enveloped-only"])
def test_a_large_package_signed_by_xmlsec1_verifies_in_vbus_with_its_attachment_aside(
    xmlsec1: str, pki: DevPki, interop_dir: Path, tmp_path: Path, template: str
) -> None:
    payload = with_large_attachment((interop_dir / PAYLOADS[VPCP]).read_bytes())
    signed = sign_with_xmlsec1(xmlsec1, pki, VPCP, payload, tmp_path, template)
    trust = TrustStore.from_pem_files([pki.ca_cert_path])

    verified = verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)

    sent = etree.fromstring(payload).find(f".//{{{ED}}}ContentTransferEncoded")
    mark = verified.root.find(f".//{{{ED}}}ContentTransferEncoded").text
    assert sent is not None
    assert bytes(verified.aside[mark]) == sent.text.encode()
    [attachment] = read_element(verified.root, aside=verified.aside).package.attachments
    assert attachment.content.read_bytes() == base64.b64decode(sent.text)
    with pytest.raises(AttachmentUnreadable):  # a reader not given the text refuses the mark
        read_element(verified.root)
    tampered = signed.replace(b"ContentTransferEncoded>", b"ContentTransferEncoded>AAAA", 1)
    with pytest.raises(SignatureInvalid):
        verify_package(tampered, trust=trust, policy=SignaturePolicy(), expected_agency=VPCP)
