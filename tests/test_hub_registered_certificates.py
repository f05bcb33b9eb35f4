"""A CA that does not put the agency code in its certificates: the operator registers the certificate
for the agency in the directory, and the hub and the receiving agency accept it from that agency only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_hub_support import G09, H24, HUB_ID, FixedClock, World, edoc, make_pki
from vbcore.agency import AgencyClient
from vbcore.directory import Agency, Directory
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.security.pki import (
    certificate_pem,
    certificates_by_agency,
    issue_agency_certificate,
    load_private_key,
)
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys
from vbcore.transport.memory import InMemoryTransport


@pytest.fixture
def world_parts(tmp_path: Path) -> tuple[World, SigningKey, str]:
    dev = DevKeys.load(make_pki(tmp_path / "pki"))
    pki = dev.pki
    # A certificate for Bộ Nội vụ whose subject carries a tax number, not the agency code.
    ca_key = load_private_key(pki.ca_key_path)
    ca_cert = TrustStore.from_pem_files([pki.ca_cert_path]).anchors[0]
    key, cert = issue_agency_certificate(ca_key, ca_cert, "MST:0101234567", "Bộ Nội vụ")
    config = HubConfig(hub_id=HUB_ID, clock=FixedClock())
    world = World(open_store(f"sqlite:///{tmp_path / 'hub.db'}"), dev, config=config)
    return world, SigningKey(key, (cert,)), certificate_pem(cert).decode("ascii")


def start_hub(world: World, directory: Directory) -> Hub:
    world.directory = directory
    return world.start_hub()


def registered(pem: str) -> Directory:
    home = Directory.default().get(G09)
    assert home is not None
    entry = Agency(home.code, home.name, home.kind, home.parent, certificate_pem=pem)
    return Directory.default().merged_with(Directory.from_agencies([entry]))


def test_a_certificate_registered_for_the_sender_in_the_directory_is_accepted(
    world_parts: tuple[World, SigningKey, str],
) -> None:
    world, g09_key, pem = world_parts
    directory = registered(pem)
    start_hub(world, directory)
    sender = AgencyClient(
        InMemoryTransport(world.broker, G09, world.names), agency=G09, key=g09_key, trust=world.trust,
        names=world.names,
    )
    receiver = AgencyClient(
        InMemoryTransport(world.broker, H24, world.names), agency=H24, key=world.keys[H24], trust=world.trust,
        names=world.names, agency_certificates=certificates_by_agency(directory.registered_certificates()),
    )
    letter = edoc(G09, [H24])
    sender.submit(letter)
    world.pump()
    got = receiver.fetch()
    assert got is not None
    assert got.package == letter
    assert got.signer == G09
    assert world.parked() == 0


def test_an_unregistered_certificate_without_an_agency_code_is_refused(
    world_parts: tuple[World, SigningKey, str],
) -> None:
    world, g09_key, _pem = world_parts
    hub = start_hub(world, Directory.default())
    sender = AgencyClient(
        InMemoryTransport(world.broker, G09, world.names), agency=G09, key=g09_key, trust=world.trust,
        names=world.names,
    )
    sender.submit(edoc(G09, [H24]))
    world.pump()
    assert world.client(H24).fetch() is None
    assert world.parked() == 1
    refusals = hub.store.refusals(sender=G09)
    assert [r.reason for r in refusals] == ["signer-mismatch"]
    answer = sender.fetch()
    assert answer is not None
    assert answer.kind == "refusal"
    assert "một cơ quan không xác định" in (answer.package.description or "")


def test_a_registered_certificate_does_not_let_its_holder_sign_as_another_agency(
    world_parts: tuple[World, SigningKey, str],
) -> None:
    world, g09_key, pem = world_parts
    hub = start_hub(world, registered(pem))
    # The G09 certificate used by someone sending as H24 (broker user H24).
    impostor = AgencyClient(
        InMemoryTransport(world.broker, H24, world.names), agency=H24, key=g09_key, trust=world.trust,
        names=world.names,
    )
    impostor.submit(edoc(H24, [G09]))
    world.pump()
    assert world.parked() == 1
    assert [r.reason for r in hub.store.refusals(sender=H24)] == ["signer-mismatch"]
