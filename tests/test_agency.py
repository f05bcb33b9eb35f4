"""AgencyClient: what an agency gets from its inbox is verified, once; what it cannot verify is parked
and answered with a signed 02 that travels back to the sender through the hub."""

from __future__ import annotations

import pytest
from test_hub_support import G22, H24, World, edoc, status

from vbcore.edxml import write_package
from vbcore.errors import PublishNotConfirmed
from vbcore.model import Edoc, StatusPackage
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def put_in_inbox(world: World, code: str, body: bytes, message_id: str, sender: str = G22) -> None:
    assert world.hub is not None
    headers = {n.KIND: n.KIND_EDOC, n.SENDER: sender, n.DOCUMENT_ID: "000.00.00.G22,2026/11/24,101/VB"}
    world.hub.transport.publish(
        world.names.delivery_exchange, code, body, message_id=message_id, headers=headers
    )


def test_a_message_that_fails_verification_is_parked_and_refused_back_to_its_sender(
    world: World, keys: dict[str, SigningKey]
) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    [_] = world.inbox(H24)
    signed = sign_package(write_package(doc), keys[G22])
    put_in_inbox(world, H24, signed.replace(b"VB</", b"XX</"), "tampered-copy")
    assert world.client(H24).fetch() is None
    assert world.parked() == 1
    world.pump()  # the hub forwards H24's 02 to the sender
    [answer] = world.inbox(G22)
    assert answer.kind == n.KIND_STATUS
    assert answer.signer == H24
    assert isinstance(answer.package, StatusPackage)
    assert answer.package.status_code is StatusCode.REFUSED
    description = answer.package.description or ""
    assert description.startswith(f"Cơ quan {H24} không kiểm tra được gói tin. Chữ ký số")


def test_the_02_an_agency_writes_itself_is_in_the_language_it_is_told(
    world: World, keys: dict[str, SigningKey]
) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    [_] = world.inbox(H24)
    signed = sign_package(write_package(doc), keys[G22])
    put_in_inbox(world, H24, signed.replace(b"VB</", b"XX</"), "tampered-copy")
    client = world.client(H24)
    client.lang = "en"
    assert client.fetch() is None
    world.pump()
    [answer] = world.inbox(G22)
    assert isinstance(answer.package, StatusPackage)
    description = answer.package.description or ""
    assert description.startswith(f"Agency {H24} could not verify the package. The digital signature")
    assert description.isascii()


def test_the_same_message_id_is_handed_over_once(world: World, keys: dict[str, SigningKey]) -> None:
    signed = sign_package(write_package(edoc(G22, [H24])), keys[G22])
    put_in_inbox(world, H24, signed, "doc|H24")
    put_in_inbox(world, H24, signed, "doc|H24")
    client = world.client(H24)
    first = client.fetch()
    assert first is not None
    client.ack(first)
    assert client.fetch() is None
    assert world.broker.depth(world.names.inbox(H24)) == 0


def test_a_requeued_message_comes_back(world: World) -> None:
    world.client(G22).submit(edoc(G22, [H24]))
    world.pump()
    client = world.client(H24)
    first = client.fetch()
    assert first is not None
    client.requeue(first)
    again = client.fetch()
    assert again is not None
    assert again.package == first.package
    client.ack(again)
    assert client.fetch() is None



def test_submit_many_publishes_every_package_signed_in_order_with_its_kind(world: World) -> None:
    docs = [edoc(G22, [H24], str(i)) for i in range(3)]
    ids = world.client(G22).submit_many(docs)
    assert len(set(ids)) == 3
    world.pump()
    got = world.inbox(H24)
    assert [i.package.effective_document_id for i in got if isinstance(i.package, Edoc)] == [
        d.effective_document_id for d in docs
    ]
    assert {(i.kind, i.signer) for i in got} == {(n.KIND_EDOC, G22)}
    world.client(H24).submit_many([status(H24, d, StatusCode.ARRIVED) for d in docs])
    world.pump()
    answers = world.inbox(G22)
    assert [(a.kind, a.signer) for a in answers] == [(n.KIND_STATUS, H24)] * 3
    assert [a.package.document_id for a in answers if isinstance(a.package, StatusPackage)] == [
        d.effective_document_id for d in docs
    ]


def test_submit_many_names_every_package_the_broker_did_not_confirm(world: World) -> None:
    # Its message names five at most: a connector resending only those named lost the others.
    client = world.client(G22)
    transport = client.transport
    sent: list[str] = []

    def refuse_odd(exchange: str, routing_key: str, body: bytes, *, message_id: str, headers: object) -> None:
        sent.append(message_id)
        if len(sent) % 2:
            raise PublishNotConfirmed(f"message {message_id} not confirmed: refused")

    transport.publish = refuse_odd  # type: ignore[assignment,method-assign]
    with pytest.raises(PublishNotConfirmed) as raised:
        client.submit_many([edoc(G22, [H24], str(i)) for i in range(14)])
    assert raised.value.message_ids == tuple(sent[0::2])  # the 7 refused, all of them
