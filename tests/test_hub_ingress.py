"""What the hub does with whatever arrives on its ingress, before any package check: who really sent
it (the broker-validated ``user_id``), how often it came back (the poison budget), floods.

In memory (the transport models ``user_id`` and the delivery count as RabbitMQ does); the same on a
real broker in test_e2e_rabbitmq.py and test_transport_poison.py."""

from __future__ import annotations

import dataclasses

import pytest
from test_hub_support import G22, H24, HUB_ID, World, edoc

from vbcore.edxml import write_package
from vbcore.errors import StoreError
from vbcore.model import StatusPackage
from vbcore.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def refusals_to(world: World, code: str) -> list[StatusPackage]:
    found = []
    for incoming in world.inbox(code):
        assert (incoming.kind, incoming.signer) == (n.KIND_REFUSAL, HUB_ID)
        assert isinstance(incoming.package, StatusPackage)
        found.append(incoming.package)
    return found


def hand_out_and_lose(world: World, times: int) -> None:
    """A hub process that takes the ingress head and dies holding it, ``times`` times over."""
    for _ in range(times):
        crashing = InMemoryTransport(world.broker, world.names.hub_user, world.names)
        assert crashing.get(world.names.ingress_queue) is not None
        crashing.close()


# --- the poison budget ----------------------------------------------------------------------------


def test_a_message_that_keeps_coming_back_is_parked_unparsed_and_its_sender_is_told(world: World) -> None:
    world.client(G22).submit(edoc(G22, [H24]))
    hand_out_and_lose(world, n.DELIVERY_LIMIT)
    world.pump()
    assert world.inbox(H24) == []
    [answer] = refusals_to(world, G22)
    assert answer.status_code is StatusCode.REFUSED
    assert str(n.DELIVERY_LIMIT) in (answer.description or "")
    [record] = world.store.refusals()
    assert (record.reason, record.sender, record.document_id) == ("not-processed", G22, None)
    assert world.parked() == 1
    parked = world.hub.transport.get(world.names.parked_queue) if world.hub else None
    assert parked is not None
    assert parked.headers[n.PARK_REASON].startswith("not-processed")
    assert parked.headers[n.ORIGINAL_USER] == world.names.agency_user(G22)


def test_a_message_within_its_budget_is_processed_as_usual(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    hand_out_and_lose(world, n.DELIVERY_LIMIT - 1)
    world.pump()
    assert [i.package for i in world.inbox(H24)] == [doc]
    assert world.store.refusals() == []


def test_a_message_over_budget_from_nobody_known_is_parked_and_answers_nobody(
    world: World, keys: dict[str, SigningKey]
) -> None:
    user = world.names.agency_user(H24)
    anonymous = InMemoryTransport(world.broker, user, world.names, stamp_user_id=False)
    signed = sign_package(write_package(edoc(G22, [H24])), keys[G22])
    anonymous.publish(world.names.ingress_exchange, H24, signed, message_id="no-identity")
    hand_out_and_lose(world, n.DELIVERY_LIMIT)
    world.pump()
    assert world.inbox(G22) == []
    assert world.inbox(H24) == []
    [record] = world.store.refusals()
    assert (record.reason, record.sender) == ("not-processed", None)
    assert world.parked() == 1


def test_a_store_outage_holds_a_batching_hubs_messages_without_spending_their_budget(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.hub is not None
    world.hub.transport.close()
    world.config = dataclasses.replace(world.config, outage_pause=0.0)
    hub = world.start_hub(batch=True)
    docs = [edoc(G22, [H24], str(i)) for i in range(3)]
    for doc in docs:
        world.client(G22).submit(doc)

    def down(*args: object, **kwargs: object) -> bool:
        raise StoreError("could not connect to server")

    monkeypatch.setattr(world.store, "record_document", down)
    for _ in range(2 * n.DELIVERY_LIMIT):  # an outage longer than any message's budget
        hub.transport.drain(0)
        hub.flush()
    monkeypatch.undo()
    hub.transport.drain(0)
    assert hub.flush() == 3
    assert [i.package for i in world.inbox(H24)] == docs
    assert world.store.refusals() == []
    assert world.parked() == 0
