"""`vb send`'s preparation: a file is sent as signed, metadata plus attachments become a signed package."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hub_support import G22, H24, HUB_ID, edoc, make_pki, status

from vbcore.agency import AgencyClient
from vbcore.agency.sending import package_to_send, wait_for_verdict
from vbcore.agency.sending import submit as submit_package
from vbcore.edxml import read_package, write_package
from vbcore.hub.config import HubConfig
from vbcore.lang import Lang
from vbcore.model import Edoc
from vbcore.security.pki import DevPki
from vbcore.security.signing import SignaturePolicy, SigningKey, sign_package, verify_package
from vbcore.security.trust import TrustStore
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys, MemoryWorld
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryTransport


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
    sent = package_to_send(path, None, [], pki.key_path(G22), pki.cert_path(G22))
    assert (sent.kind, sent.document_id, sent.recipients) == (n.KIND_EDOC, doc.effective_document_id, (H24,))
    assert verify(pki, sent.signed) == G22


def test_a_signed_file_is_sent_byte_for_byte(pki: DevPki, tmp_path: Path) -> None:
    signed = sign_package(
        write_package(edoc(G22, [H24])), SigningKey.from_files(pki.key_path(G22), pki.cert_path(G22))
    )
    path = tmp_path / "doc.edxml"
    path.write_bytes(signed)
    sent = package_to_send(path, None, [], pki.key_path(H24), pki.cert_path(H24))
    assert sent.signed == signed


def test_metadata_and_attachments_become_a_signed_document(pki: DevPki, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps({"from": G22, "to": [H24], "code": {"code_number": "12", "code_notation": "VPCP-TH"},
                    "subject": "V/v thử gửi"}, ensure_ascii=False),
        encoding="utf-8",
    )  # fmt: skip
    pdf = tmp_path / "cong-van.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    sent = package_to_send(None, meta, [pdf], pki.key_path(G22), pki.cert_path(G22))
    signed, kind = sent.signed, sent.kind
    assert kind == n.KIND_EDOC
    assert verify(pki, signed) == G22
    package = read_package(signed).package
    assert isinstance(package, Edoc)
    assert package.subject == "V/v thử gửi"
    assert [a.content.read_bytes() for a in package.attachments] == [b"%PDF-1.4 test"]


# --- vb send --wait: the hub's verdict and the recipients' first statuses ---------------------------


@pytest.fixture
def memory_world(tmp_path: Path, pki: DevPki) -> Iterator[MemoryWorld]:
    dev = DevKeys(pki, DevKeys.load(pki).keys, TrustStore.from_pem_files([pki.ca_cert_path]))
    world = MemoryWorld(open_store("sqlite://"), dev, config=HubConfig(hub_id=HUB_ID), agencies=[G22, H24])
    world.start_hub()
    yield world
    world.store.close()


def sender_client(world: MemoryWorld, lang: Lang = "vi") -> AgencyClient:
    transport = InMemoryTransport(world.broker, G22, world.names)
    client = world.dev.client(transport, G22, world.names)
    client.lang = lang
    return client


def submit(world: MemoryWorld, client: AgencyClient, doc: Edoc, key: str = G22) -> str:
    signed = sign_package(write_package(doc), world.keys[key])
    return submit_package(client.transport, world.names, G22, signed, kind=n.KIND_EDOC,
                          document_id=doc.effective_document_id)


def test_the_hub_refusing_one_recipient_and_the_other_answering_01_is_a_refused_verdict(
    memory_world: MemoryWorld,
) -> None:
    closed = "000.00.00.H47"
    doc = edoc(G22, [H24, closed])
    client = sender_client(memory_world)
    message_id = submit(memory_world, client, doc)
    memory_world.pump()
    receiver = memory_world.client(H24)
    assert len(memory_world.inbox(H24)) == 1
    receiver.submit(status(H24, doc, StatusCode.ARRIVED))
    memory_world.pump()
    verdict = wait_for_verdict(client, message_id=message_id, document_id=doc.effective_document_id,
                               recipients=doc.recipients, timeout=1.0)
    assert verdict.complete
    assert verdict.refused
    assert sorted((a.recipient, a.code.value, a.from_hub) for a in verdict.answers) == [
        (H24, "01", False), (closed, "02", True)]
    lines = verdict.lines("vi")
    refusal = lines.index(f"{closed}: trục liên thông từ chối gửi (02 Từ chối tiếp nhận): "
                          "Mã định danh cơ quan đã ngừng sử dụng")
    assert "kế thừa 000.00.00.H15" in lines[refusal + 1]  # the hub's own words: the successor
    assert f"{H24}: 01 Đã đến" in lines
    english = verdict.lines("en")
    assert f"{closed}: refused by the hub (02 Refused): The agency identifier is closed" in english
    assert f"{H24}: 01 Arrived" in english
    client.transport.close()  # nothing was taken: the connector still gets every answer
    assert memory_world.broker.depth(memory_world.names.inbox(G22)) == 2


def test_a_package_signed_with_another_agencys_key_is_refused_whole(memory_world: MemoryWorld) -> None:
    doc = edoc(G22, [H24])
    client = sender_client(memory_world, "en")
    message_id = submit(memory_world, client, doc, key=H24)
    memory_world.pump()
    verdict = wait_for_verdict(client, message_id=message_id, document_id=doc.effective_document_id,
                               recipients=doc.recipients, timeout=1.0)
    assert verdict.complete
    assert verdict.refused
    [answer] = verdict.answers
    assert (answer.recipient, answer.from_hub) == (None, True)
    assert verdict.lines("en")[0] == (
        "The hub refused the document (02 Refused): The certificate does not belong to the sending agency")


def test_no_answer_in_time_names_the_recipients_still_silent(memory_world: MemoryWorld) -> None:
    doc = edoc(G22, [H24])
    client = sender_client(memory_world)
    message_id = submit(memory_world, client, doc)
    memory_world.pump()
    verdict = wait_for_verdict(client, message_id=message_id, document_id=doc.effective_document_id,
                               recipients=doc.recipients, timeout=0.2)
    assert not verdict.complete
    assert not verdict.refused
    assert verdict.pending == [H24]


def test_a_backlog_in_the_inbox_ends_the_wait_instead_of_filling_memory(memory_world: MemoryWorld) -> None:
    for number in range(5):  # older documents the agency's connector has not taken yet
        memory_world.client(H24).submit(edoc(H24, [G22], f"{200 + number}"))
    doc = edoc(G22, ["000.00.00.H47"])
    client = sender_client(memory_world, "en")
    message_id = submit(memory_world, client, doc)
    memory_world.pump()
    verdict = wait_for_verdict(client, message_id=message_id, document_id=doc.effective_document_id,
                               recipients=doc.recipients, timeout=1.0, max_messages=3)
    assert verdict.overflowed
    assert not verdict.complete
    assert "too many older messages" in "\n".join(verdict.lines("en"))
    client.transport.close()
    assert memory_world.broker.depth(memory_world.names.inbox(G22)) == 6  # all still there
