"""Hostile statuses at the hub: each is refused with a precise 02 to whoever sent it, the hub keeps
going and the traffic around it is unaffected (in-memory broker, SQLite store).

Every case sends the hostile status and, in the same round, a good letter: the letter must still be
delivered and its sender must hear nothing but what concerns it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from test_hub_support import CLOSED_QUANG_NAM, G09, G12, G22, H15, H24, HUB_ID, World, edoc, status

from vbcore.edxml import write_package
from vbcore.model import Edoc, ResponseFor, StatusPackage
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.store import DeliveryState
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def sent_to_h24(world: World) -> Edoc:
    doc = edoc(G22, [H24], "1")
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    return doc


def with_code(world: World, sender: str, package: StatusPackage, code: bytes) -> bytes:
    """``package`` signed by ``sender`` with its StatusCode replaced by ``code`` (before signing)."""
    xml = write_package(package)
    changed = re.sub(rb"(StatusCode>)01(<)", rb"\g<1>" + code + rb"\g<2>", xml)
    assert changed != xml
    return sign_package(changed, world.keys[sender])


def refused_with(world: World, code: str) -> list[tuple[str, str]]:
    """(reason, description) of each 02 in ``code``'s inbox; fails on anything else there."""
    got = []
    for incoming in world.inbox(code):
        assert (incoming.kind, incoming.signer) == (n.KIND_REFUSAL, HUB_ID), incoming.kind
        assert isinstance(incoming.package, StatusPackage)
        got.append((incoming.headers[n.REFUSAL_REASON], incoming.package.description or ""))
    return got


def and_the_traffic_goes_on(world: World, hostile: Callable[[], object]) -> None:
    """Send the hostile message and a good letter in one round: the letter is delivered."""
    hostile()
    good = edoc(G12, [H15], "77")
    world.client(G12).submit(good)
    assert world.pump() == 2
    assert [i.package for i in world.inbox(H15)] == [good]
    assert world.inbox(G12) == []


# --- who may send a status ------------------------------------------------------------------------


def test_a_status_from_an_agency_that_is_no_recipient_is_refused(world: World) -> None:
    doc = sent_to_h24(world)
    and_the_traffic_goes_on(world, lambda: world.client(G09).submit(status(G09, doc, StatusCode.ARRIVED)))
    [(reason, text)] = refused_with(world, G09)
    assert reason == "status-not-allowed"
    assert G09 in text
    assert world.inbox(G22) == []
    assert world.store.statuses(doc.effective_document_id) == []


def test_a_status_about_a_document_its_sender_never_received_is_refused(world: World) -> None:
    sent_to_h24(world)
    other = edoc(G22, [G09], "2")  # a letter to G09 only
    world.client(G22).submit(other)
    world.pump()
    world.inbox(G09)
    and_the_traffic_goes_on(
        world, lambda: world.client(H24).submit(status(H24, other, StatusCode.REGISTERED))
    )
    assert [r for r, _ in refused_with(world, H24)] == ["status-not-allowed"]
    assert world.inbox(G22) == []


def test_a_status_about_a_document_the_hub_never_carried_is_refused(world: World) -> None:
    never = edoc(G22, [H24], "999")
    and_the_traffic_goes_on(world, lambda: world.client(H24).submit(status(H24, never, StatusCode.ARRIVED)))
    [(reason, text)] = refused_with(world, H24)
    assert reason == "unknown-document"
    assert never.effective_document_id in text


def test_a_revoke_13_from_a_recipient_is_refused(world: World) -> None:
    doc = sent_to_h24(world)
    and_the_traffic_goes_on(world, lambda: world.client(H24).submit(status(H24, doc, StatusCode.REVOKE)))
    assert [r for r, _ in refused_with(world, H24)] == ["status-not-allowed"]
    assert world.inbox(G22) == []
    pair = world.store.get_pair(doc.effective_document_id, H24)
    assert pair is not None
    assert pair.change is None


def test_a_receipt_from_the_documents_own_sender_is_refused(world: World) -> None:
    doc = sent_to_h24(world)
    and_the_traffic_goes_on(world, lambda: world.client(G22).submit(status(G22, doc, StatusCode.REGISTERED)))
    assert [r for r, _ in refused_with(world, G22)] == ["status-not-allowed"]


def test_a_status_for_a_delivery_the_hub_refused_is_refused_saying_so(
    world: World, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    # Quảng Nam's code was closed by the 2025 merger, but its old system still runs with its old key.
    init_dev_pki(pki.directory, [(CLOSED_QUANG_NAM, "UBND tỉnh Quảng Nam (cũ)")])
    keys[CLOSED_QUANG_NAM] = SigningKey.from_files(
        pki.key_path(CLOSED_QUANG_NAM), pki.cert_path(CLOSED_QUANG_NAM)
    )
    assert world.hub is not None
    world.hub.ensure_inboxes([CLOSED_QUANG_NAM])
    doc = edoc(G22, [H24, CLOSED_QUANG_NAM], "3")
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(G22)  # the 02 about the closed code
    pair = world.store.get_pair(doc.effective_document_id, CLOSED_QUANG_NAM)
    assert pair is not None
    assert pair.state == DeliveryState.REFUSED_BY_HUB
    receipt = status(CLOSED_QUANG_NAM, doc, StatusCode.ARRIVED)
    and_the_traffic_goes_on(world, lambda: world.client(CLOSED_QUANG_NAM).submit(receipt))
    [(reason, text)] = refused_with(world, CLOSED_QUANG_NAM)
    assert reason == "status-not-allowed"
    assert "trục đã từ chối chuyển" in text  # why: the hub never delivered it there
    assert world.inbox(G22) == []
    assert world.store.get_pair(doc.effective_document_id, CLOSED_QUANG_NAM).state == (  # type: ignore[union-attr]
        DeliveryState.REFUSED_BY_HUB
    )


# --- what a status says ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [b"07", b"12", b"14", b"99", b"", b"13x", b"\xe2\x80\x8b01"])
def test_a_status_code_outside_qcvn_102_is_refused_naming_the_value(world: World, code: bytes) -> None:
    doc = sent_to_h24(world)
    signed = with_code(world, H24, status(H24, doc, StatusCode.ARRIVED), code)
    and_the_traffic_goes_on(world, lambda: world.client(H24).submit_signed(signed, kind=n.KIND_STATUS))
    [(reason, text)] = refused_with(world, H24)
    assert reason in ("schema", "invalid-value")
    assert f"'{code.decode()}'" in text
    assert world.inbox(G22) == []
    assert world.store.statuses(doc.effective_document_id) == []


def test_a_status_with_no_document_id_is_refused(world: World) -> None:
    doc = sent_to_h24(world)
    empty = dataclasses.replace(status(H24, doc, StatusCode.ARRIVED), response_for=ResponseFor(organ_id=G22))
    and_the_traffic_goes_on(world, lambda: world.client(H24).submit(empty))
    assert [r for r, _ in refused_with(world, H24)] == ["no-document-named"]


# --- replays ---------------------------------------------------------------------------------------


def test_the_same_status_replayed_under_a_new_message_id_is_refused_as_a_duplicate(world: World) -> None:
    doc = sent_to_h24(world)
    signed = sign_package(write_package(status(H24, doc, StatusCode.REGISTERED)), world.keys[H24])
    world.client(H24).submit_signed(signed, kind=n.KIND_STATUS, message_id="first")
    world.pump()
    assert len(world.inbox(G22)) == 1
    and_the_traffic_goes_on(
        world, lambda: world.client(H24).submit_signed(signed, kind=n.KIND_STATUS, message_id="replayed")
    )
    [(reason, text)] = refused_with(world, H24)
    assert reason == "duplicate-status"
    assert "first" not in text  # the sender learns what, not the hub's message ids
    assert "03" in text
    assert world.inbox(G22) == []  # the sender is not told twice
    assert [e.code for e in world.store.statuses(doc.effective_document_id)] == ["03"]


def test_the_same_status_message_again_is_forwarded_again_and_recorded_once(world: World) -> None:
    doc = sent_to_h24(world)
    signed = sign_package(write_package(status(H24, doc, StatusCode.REGISTERED)), world.keys[H24])
    for _ in range(2):  # a publisher that retried, or a replay of the very same message
        world.client(H24).submit_signed(signed, kind=n.KIND_STATUS, message_id="same")
        world.pump()
    assert refused_with(world, H24) == []
    got = world.inbox(G22)
    assert [i.delivery.message_id for i in got] == ["same|000.00.00.G22"]  # the copy is dropped by id
    assert [e.code for e in world.store.statuses(doc.effective_document_id)] == ["03"]


def test_a_later_status_of_the_same_code_is_not_a_duplicate(world: World) -> None:
    doc = sent_to_h24(world)
    first = status(H24, doc, StatusCode.PROCESSING)
    later = dataclasses.replace(first, timestamp=first.timestamp.replace(hour=15))  # type: ignore[union-attr]
    for package in (first, later):
        world.client(H24).submit(package)
    world.pump()
    assert refused_with(world, H24) == []
    assert len(world.inbox(G22)) == 2


def test_a_replayed_document_under_a_new_message_id_is_refused_as_a_duplicate(world: World) -> None:
    doc = edoc(G22, [H24], "5")
    signed = sign_package(write_package(doc), world.keys[G22])
    world.client(G22).submit_signed(signed, kind=n.KIND_EDOC, message_id="first")
    world.pump()
    and_the_traffic_goes_on(
        world, lambda: world.client(G22).submit_signed(signed, kind=n.KIND_EDOC, message_id="replayed")
    )
    assert [r for r, _ in refused_with(world, G22)] == ["duplicate"]
    assert len(world.inbox(H24)) == 1
