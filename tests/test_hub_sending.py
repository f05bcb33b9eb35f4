"""`vb send`'s preparation: a file is sent as signed, metadata plus attachments become a signed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_hub_support import G22, H24, edoc, make_pki

from vbcore.edxml import read_package, write_package
from vbcore.hub.sending import package_to_send
from vbcore.model import Edoc
from vbcore.pki import DevPki
from vbcore.signing import SignaturePolicy, SigningKey, sign_package, verify_package
from vbcore.transport import names as n
from vbcore.trust import TrustStore


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def verify(pki: DevPki, signed: bytes) -> str | None:
    trust = TrustStore.from_pem_files([pki.ca_cert_path])
    return verify_package(signed, trust=trust, policy=SignaturePolicy(), expected_agency=G22).signer_agency


def test_an_unsigned_file_is_signed_with_the_agencys_key(pki: DevPki, tmp_path: Path) -> None:
    doc = edoc(G22, [H24])
    path = tmp_path / "doc.edxml"
    path.write_bytes(write_package(doc))
    signed, kind, document_id = package_to_send(path, None, [], pki.key_path(G22), pki.cert_path(G22))
    assert (kind, document_id) == (n.KIND_EDOC, doc.effective_document_id)
    assert verify(pki, signed) == G22


def test_a_signed_file_is_sent_byte_for_byte(pki: DevPki, tmp_path: Path) -> None:
    signed = sign_package(
        write_package(edoc(G22, [H24])), SigningKey.from_files(pki.key_path(G22), pki.cert_path(G22))
    )
    path = tmp_path / "doc.edxml"
    path.write_bytes(signed)
    sent, _, _ = package_to_send(path, None, [], pki.key_path(H24), pki.cert_path(H24))
    assert sent == signed


def test_metadata_and_attachments_become_a_signed_document(pki: DevPki, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps({"from": G22, "to": [H24], "code": {"code_number": "12", "code_notation": "VPCP-TH"},
                    "subject": "V/v thử gửi"}, ensure_ascii=False),
        encoding="utf-8",
    )  # fmt: skip
    pdf = tmp_path / "cong-van.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    signed, kind, _ = package_to_send(None, meta, [pdf], pki.key_path(G22), pki.cert_path(G22))
    assert kind == n.KIND_EDOC
    assert verify(pki, signed) == G22
    package = read_package(signed).package
    assert isinstance(package, Edoc)
    assert package.subject == "V/v thử gửi"
    assert [a.content.read_bytes() for a in package.attachments] == [b"%PDF-1.4 test"]
