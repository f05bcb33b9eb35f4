"""A DocumentId belongs to its sender: the squatting attack step by step, and two senders using one
UUID-style DocumentId, on SQLite and PostgreSQL (in-memory broker).

DocumentIds are predictable (``<sender code>,<yyyy/MM/dd>,<number>/<notation>``): an agency that sent
a letter under another agency's next DocumentId first used to own it at the hub, so the real letter
was refused as a duplicate, the recipient's 01/03 went to the squatter and the squatter's 13 revoked
the real letter. Now a DocumentId that begins with an agency code must begin with the sender's own,
and the hub tracks every document by (sender, DocumentId)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from test_hub_support import G22, H15, H24, H56, HUB_ID, World, edoc, open_world, status

from vbcore.edxml import read_package
from vbcore.errors import ForeignDocumentId
from vbcore.hub import routing
from vbcore.model import Business, Edoc, ResponseFor, StatusPackage
from vbcore.security.pki import DevPki
from vbcore.security.signing import SigningKey
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import ChangeMarker, DeliveryState
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys

SQUATTER = H15
NEXT_OF_G22 = "000.00.00.G22,2026/11/24,102/VB"  # what Văn phòng Chính phủ will send next
A_UUID = "5e515fca-3627-4f2e-b517-7169acdc8bda"  # a DocumentId as the shared platform writes them


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> Iterator[World]:
    url = None
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        dsn: str = request.getfixturevalue("pg_dsn")
        url = f"{dsn}?schema={schema}"
    w = open_world(tmp_path, pki, keys, url)
    yield w
    w.store.close()
    if url is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def letter_with_id(sender: str, document_id: str, number: str, to: tuple[str, ...] = (H24,)) -> Edoc:
    return dataclasses.replace(edoc(sender, list(to), number), document_id=document_id)


def about(sender: str, document_id: str, addressee: str, code: StatusCode) -> StatusPackage:
    """A status from ``sender`` about ``document_id``, addressed (ResponseFor/OrganId) to ``addressee``."""
    base = status(sender, edoc(addressee, [], "0"), code)
    return dataclasses.replace(base, response_for=ResponseFor(organ_id=addressee, document_id=document_id))


def received(world: World, code: str) -> list[tuple[str, object]]:
    """(kind, package) of everything in ``code``'s inbox."""
    return [(i.kind, i.package) for i in world.inbox(code)]


def refusal_reasons(world: World, code: str) -> list[str]:
    got = world.inbox(code)
    assert all(i.kind == n.KIND_REFUSAL and i.signer == HUB_ID for i in got)
    return [i.headers[n.REFUSAL_REASON] for i in got]


# --- the attack, step by step -------------------------------------------------------------------------


def test_an_agency_cannot_squat_another_agencys_next_document_id(world: World) -> None:
    # 1. The squatter sends a letter of its own under Văn phòng Chính phủ's next DocumentId.
    world.client(SQUATTER).submit(letter_with_id(SQUATTER, NEXT_OF_G22, "666"))
    world.pump()
    assert refusal_reasons(world, SQUATTER) == ["foreign-document-id"]
    assert world.inbox(H24) == []
    [refused] = world.store.refusals(sender=SQUATTER)
    assert "000.00.00.G22" in refused.detail
    assert world.store.get_document(NEXT_OF_G22) is None

    # 2. The real letter comes: it is delivered, recorded as Văn phòng Chính phủ's.
    real = edoc(G22, [H24], "102")
    assert real.effective_document_id == NEXT_OF_G22
    world.client(G22).submit(real)
    world.pump()
    assert [p for _, p in received(world, H24)] == [real]
    record = world.store.get_document(NEXT_OF_G22)
    assert record is not None
    assert record.sender == G22
    assert world.inbox(G22) == []

    # 3. The recipient's 01 and 03 go to the real sender, not to the squatter.
    for code in (StatusCode.ARRIVED, StatusCode.REGISTERED):
        world.client(H24).submit(status(H24, real, code))
    world.pump()
    assert [getattr(p, "status_code", None) for _, p in received(world, G22)] == [
        StatusCode.ARRIVED,
        StatusCode.REGISTERED,
    ]
    assert world.inbox(SQUATTER) == []

    # 4. The squatter's 13 cannot revoke the real letter.
    world.client(SQUATTER).submit(about(SQUATTER, NEXT_OF_G22, H24, StatusCode.REVOKE))
    world.pump()
    assert refusal_reasons(world, SQUATTER) == ["status-not-allowed"]
    assert world.inbox(H24) == []
    pair = world.store.get_pair(NEXT_OF_G22, H24)
    assert pair is not None
    assert (pair.state, pair.change) == ("03", None)

    # 5. Nor can a revoke package of the squatter's that names the real letter.
    business = Business(BusinessDocType.REVOKE, document_id=NEXT_OF_G22)
    world.client(SQUATTER).submit(edoc(SQUATTER, [H24], "667", business=business))
    world.pump()
    assert refusal_reasons(world, SQUATTER) == ["sender-not-authorised"]
    assert world.inbox(H24) == []
    assert world.store.related_documents(NEXT_OF_G22) == []


def test_a_document_id_of_the_senders_own_code_or_of_no_code_is_accepted(world: World) -> None:
    for document_id in ("000.00.00.G22,2026/11/24,7/VB", A_UUID, "test-doc", "G22-2026-7"):
        world.client(G22).submit(letter_with_id(G22, document_id, "7"))
    world.pump()
    assert len(world.inbox(H24)) == 4
    assert world.inbox(G22) == []


@pytest.mark.parametrize(
    "document_id",
    [
        "000.00.00.G22,2026/11/24,102/VB",  # a ministry's
        "000.00.11.H53,2026/11/24,5/STC",  # a department's
        "vxp.saas.03,2026/11/24,5/X",  # a test tenant's
        "000.00.00.G22",  # a bare code
    ],
)
def test_a_document_id_that_begins_with_another_agencys_code_is_refused_by_name(document_id: str) -> None:
    with pytest.raises(ForeignDocumentId) as raised:
        routing.check_document_id(H15, document_id)
    assert raised.value.owner == document_id.split(",")[0]
    assert document_id.split(",")[0] in raised.value.describe("en")


# --- one UUID, two senders ----------------------------------------------------------------------------


def test_two_senders_using_one_uuid_document_id_never_collide(world: World) -> None:
    squatter_letter = letter_with_id(SQUATTER, A_UUID, "1")
    world.client(SQUATTER).submit(squatter_letter)  # first, by chance or on purpose
    world.pump()
    real = letter_with_id(G22, A_UUID, "2", to=(H24, H56))
    world.client(G22).submit(real)
    world.pump()
    assert [p for _, p in received(world, H24)] == [squatter_letter, real]  # neither refused
    assert [p for _, p in received(world, H56)] == [real]
    assert world.inbox(G22) == []
    g22_key, squatter_key = routing.document_key(G22, A_UUID), routing.document_key(SQUATTER, A_UUID)
    assert g22_key != squatter_key
    stored = world.store.get_document(g22_key)
    assert stored is not None
    assert (stored.sender, stored.edxml_document_id) == (G22, A_UUID)

    # Statuses find their document by ResponseFor/OrganId + DocumentId.
    world.client(H24).submit(about(H24, A_UUID, G22, StatusCode.REGISTERED))
    world.client(H24).submit(about(H24, A_UUID, SQUATTER, StatusCode.ARRIVED))
    world.pump()
    assert [getattr(p, "status_code", None) for _, p in received(world, G22)] == [StatusCode.REGISTERED]
    assert [getattr(p, "status_code", None) for _, p in received(world, SQUATTER)] == [StatusCode.ARRIVED]
    assert world.store.get_pair(g22_key, H24).state == "03"  # type: ignore[union-attr]
    assert world.store.get_pair(squatter_key, H24).state == "01"  # type: ignore[union-attr]

    # The squatter's 13 revokes its own letter only.
    world.client(SQUATTER).submit(about(SQUATTER, A_UUID, H24, StatusCode.REVOKE))
    world.pump()
    [(kind, got)] = received(world, H24)
    assert kind == n.KIND_STATUS
    assert getattr(got, "status_code", None) is StatusCode.REVOKE
    assert world.inbox(H56) == []
    assert world.store.get_pair(squatter_key, H24).change == ChangeMarker.REVOKE_REQUESTED  # type: ignore[union-attr]
    assert world.store.get_pair(g22_key, H24).change is None  # type: ignore[union-attr]
    assert world.store.get_pair(g22_key, H56).state == DeliveryState.FORWARDED  # type: ignore[union-attr]


def test_a_refusal_names_the_document_id_as_its_sender_wrote_it(world: World) -> None:
    world.client(G22).submit(letter_with_id(G22, A_UUID, "1", to=("000.00.00.G99",)))
    world.pump()
    [refusal] = world.inbox(G22)
    assert isinstance(refusal.package, StatusPackage)
    assert refusal.package.document_id == A_UUID  # what the sender's DMS knows it by
    assert refusal.headers[n.DOCUMENT_ID] == routing.document_key(G22, A_UUID)  # what the hub tracks


def test_a_status_that_echoes_the_hubs_tracking_id_still_finds_its_document(world: World) -> None:
    world.client(G22).submit(letter_with_id(G22, A_UUID, "1"))
    world.pump()
    [incoming] = world.inbox(H24)
    tracked = incoming.headers[n.DOCUMENT_ID]  # what an agency that could not read the package has
    world.client(H24).submit(about(H24, tracked, G22, StatusCode.REFUSED))
    world.pump()
    assert [getattr(p, "status_code", None) for _, p in received(world, G22)] == [StatusCode.REFUSED]


# --- what real producers emit -------------------------------------------------------------------------

# From a client example's resources/: the SDK's sample with only From/OrganId edited (to A80), so it
# keeps Văn phòng Chính phủ's DocumentId. Not traffic: a template. The hub refuses it by name.
TEMPLATE_WITH_ANOTHER_AGENCYS_ID = "lgsp-quangnam__resources__edoc_new.edxml"


def test_every_real_package_passes_the_document_id_rule_but_a_template(interop_dir: Path) -> None:
    checked = 0
    for path in sorted(interop_dir.glob("*.*ml")):
        try:
            package = read_package(path.read_bytes()).package
        except Exception:  # the unreadable ones are refused before any of this (test_edxml_interop)
            continue
        if isinstance(package, StatusPackage):
            continue
        if path.name == TEMPLATE_WITH_ANOTHER_AGENCYS_ID:
            with pytest.raises(ForeignDocumentId):
                routing.check_document_id(package.from_.organ_id, package.effective_document_id)
            continue
        routing.check_document_id(package.from_.organ_id, package.effective_document_id)
        checked += 1
    assert checked >= 12
