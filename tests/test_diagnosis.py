"""Diagnosis for operators (issue 11, item 4) and the signature's verdict before any attachment is decoded:
`vb verify --no-chain` names the signer without a trust anchor, `vb show` flags a sender name the
directory disagrees with, and neither `vb verify`, `vb show` nor a receiving agency lets a broken
attachment hide what the signature says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from producers import CLEAN, PDF, swap

from vbcore.agency import AgencyClient
from vbcore.cli import vb
from vbcore.errors import AttachmentUnreadable, UntrustedCertificate
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey, TrustStore, sign_package
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

G22, H24 = "000.00.00.G22", "000.00.00.H24"
BROKEN_ATTACHMENT = swap(CLEAN, PDF, "${__StringFromFile(test.txt,,,)}").encode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"), [(G22, "Văn phòng Chính phủ"), (H24, "UBND Hà Nội")])


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A CA nobody here trusts, with a certificate for G22 (a foreign CA, or a test one)."""
    return init_dev_pki(tmp_path_factory.mktemp("other"), [(G22, "Văn phòng Chính phủ")])


def key(pki: DevPki, code: str) -> SigningKey:
    return SigningKey.from_files(pki.key_path(code), pki.cert_path(code))


def signed_file(tmp_path: Path, data: bytes, signer: SigningKey, name: str = "signed.edxml") -> Path:
    path = tmp_path / name
    path.write_bytes(sign_package(data, signer))
    return path


@pytest.fixture
def en() -> CliRunner:
    return CliRunner(env={"VBUS_LANG": "en"})


# --- vb verify --no-chain ------------------------------------------------------------------------


def test_no_chain_names_the_signer_of_a_certificate_no_ca_here_vouches_for(
    en: CliRunner, tmp_path: Path, pki: DevPki, other_ca: DevPki
) -> None:
    path = signed_file(tmp_path, CLEAN.encode(), key(other_ca, G22))
    trusted = en.invoke(vb, ["verify", str(path), "--trust", str(pki.ca_cert_path)])
    assert trusted.exit_code == 1  # the trust decision: no
    result = en.invoke(vb, ["verify", str(path), "--no-chain"])
    assert result.exit_code == 0, result.output
    assert "the signature value verifies (rsa-sha256)" in result.output
    assert "000.00.00.G22 (Văn phòng Chính phủ)" in result.output
    assert "NOT a trust decision" in result.output
    vi = CliRunner(env={"VBUS_LANG": None}).invoke(vb, ["verify", str(path), "--no-chain"])
    assert "KHÔNG phải quyết định tin cậy" in vi.output
    data = json.loads(en.invoke(vb, ["verify", str(path), "--no-chain", "--json"]).output)
    assert (data["valid"], data["trust_checked"], data["signer_agency"], data["sender_matches"]) == (
        True, False, G22, True,
    )  # fmt: skip


def test_no_chain_refuses_a_changed_package(en: CliRunner, tmp_path: Path, other_ca: DevPki) -> None:
    path = signed_file(tmp_path, CLEAN.encode(), key(other_ca, G22))
    path.write_bytes(path.read_bytes().replace("kết nối".encode(), "giả mạo".encode()))
    result = en.invoke(vb, ["verify", str(path), "--no-chain", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["reason"] == "signature-invalid"


def test_no_chain_says_when_the_certificate_is_not_the_senders(
    en: CliRunner, tmp_path: Path, pki: DevPki
) -> None:
    path = signed_file(tmp_path, CLEAN.encode(), key(pki, H24))  # From says G22
    result = en.invoke(vb, ["verify", str(path), "--no-chain"])
    assert result.exit_code == 0
    assert "000.00.00.H24" in result.output
    assert "the certificate does not name the package's sender 000.00.00.G22" in result.output


def test_no_chain_refuses_the_sdk_samples_placeholder_as_no_signature(
    en: CliRunner, interop_dir: Path
) -> None:
    result = en.invoke(
        vb, ["verify", str(interop_dir / "bkav__edoc-webapp__edoc_update.edxml"), "--no-chain"]
    )
    assert result.exit_code == 1
    assert "not in the XML-DSig namespace" in result.output


def test_verify_needs_a_trust_anchor_or_no_chain(en: CliRunner, tmp_path: Path, pki: DevPki) -> None:
    path = signed_file(tmp_path, CLEAN.encode(), key(pki, G22))
    result = en.invoke(vb, ["verify", str(path)])
    assert result.exit_code == 2
    assert "--no-chain" in result.output


@pytest.mark.xmlsec1
def test_no_chain_agrees_with_xmlsec1_insecure(
    en: CliRunner, tmp_path: Path, other_ca: DevPki, xmlsec1: str
) -> None:
    good = signed_file(tmp_path, CLEAN.encode(), key(other_ca, G22), "good.edxml")
    bad = tmp_path / "bad.edxml"
    bad.write_bytes(good.read_bytes().replace("kết nối".encode(), "giả mạo".encode()))
    for path, valid in ((good, True), (bad, False)):
        theirs = subprocess.run(
            [xmlsec1, "--verify", "--insecure", "--enabled-reference-uris", "empty", str(path)],
            capture_output=True, check=False,
        )  # fmt: skip
        ours = en.invoke(vb, ["verify", str(path), "--no-chain"])
        assert (theirs.returncode == 0, ours.exit_code == 0) == (valid, valid), path.name


# --- the signature before the attachments ---------------------------------------------------------


def test_verify_gives_the_signatures_verdict_though_an_attachment_is_broken(
    en: CliRunner, tmp_path: Path, pki: DevPki
) -> None:
    path = signed_file(tmp_path, BROKEN_ATTACHMENT, key(pki, G22))
    result = en.invoke(vb, ["verify", str(path), "--trust", str(pki.ca_cert_path)])
    assert result.exit_code == 0, result.output
    assert "valid signature (rsa-sha256), signed by 000.00.00.G22" in result.output


def test_show_gives_the_signatures_verdict_before_refusing_a_broken_attachment(
    en: CliRunner, tmp_path: Path, pki: DevPki
) -> None:
    path = signed_file(tmp_path, BROKEN_ATTACHMENT, key(pki, G22))
    result = en.invoke(vb, ["show", str(path), "--trust", str(pki.ca_cert_path)])
    assert result.exit_code == 1
    verdict, refusal = result.output.splitlines()[:2]
    assert verdict == "signature  verified, signed by 000.00.00.G22 (Văn phòng Chính phủ)"
    assert "An attachment cannot be read" in refusal
    assert "(line " in refusal


def receiver(pki: DevPki) -> AgencyClient:
    names = Names()
    transport = InMemoryTransport(InMemoryBroker(), names.agency_user(H24), names)
    return AgencyClient(
        transport, agency=H24, key=key(pki, H24), trust=TrustStore.from_pem_files([pki.ca_cert_path])
    )


def test_a_receiver_checks_the_signature_before_it_decodes_an_attachment(
    pki: DevPki, other_ca: DevPki
) -> None:
    client = receiver(pki)
    untrusted = sign_package(BROKEN_ATTACHMENT, key(other_ca, G22))
    with pytest.raises(UntrustedCertificate):  # not AttachmentUnreadable: the signature speaks first
        client.verify(untrusted)
    changed = sign_package(BROKEN_ATTACHMENT, key(pki, G22)).replace("kết nối".encode(), "giả".encode())
    with pytest.raises(Exception) as caught:
        client.verify(changed)
    assert caught.value.reason == "signature-invalid"  # type: ignore[attr-defined]
    with pytest.raises(AttachmentUnreadable):  # signed and trusted: then the attachment is read
        client.verify(sign_package(BROKEN_ATTACHMENT, key(pki, G22)))


# --- vb show and the directory ---------------------------------------------------------------------


def test_show_flags_a_sender_name_the_directory_disagrees_with(en: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "named.edxml"
    path.write_text(
        swap(CLEAN, "Văn phòng Chính phủ", "Sở Thông tin truyền thông Hải Phòng"), encoding="utf-8"
    )
    result = en.invoke(vb, ["show", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "[sender-name-differs] the sender's name in the package differs from the directory's "
        "('Sở Thông tin truyền thông Hải Phòng' ≠ 'Văn phòng Chính phủ')" in result.output
    )
    same = tmp_path / "same.edxml"
    same.write_text(swap(CLEAN, "Văn phòng Chính phủ", "VĂN PHÒNG CHÍNH PHỦ"), encoding="utf-8")
    assert "sender-name-differs" not in en.invoke(vb, ["show", str(same)]).output


def test_show_flags_one_agency_listed_under_its_old_and_new_codes(en: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "twice.edxml"
    two = "<edXML:To><edXML:OrganId>000.00.00.G04</edXML:OrganId></edXML:To>"
    two += "<edXML:To><edXML:OrganId>000.00.00.G17</edXML:OrganId></edXML:To>"
    path.write_text(swap(CLEAN, "<edXML:To><edXML:OrganId>000.00.00.H24</edXML:OrganId></edXML:To>", two))
    result = en.invoke(vb, ["show", str(path), "--json"])
    [warning] = [
        w for w in json.loads(result.output)["warnings"] if w["code"] == "addressee-old-and-new-code"
    ]
    assert warning["value"] == "000.00.00.G04 -> 000.00.00.G17"
