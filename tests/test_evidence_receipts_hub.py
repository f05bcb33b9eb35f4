"""The hub's receipts and archive end to end (issue 9): a sender that asks gets its signed receipts
(accepted, delivered per recipient; refused with the reason), kept at the hub either way; the package
as signed is archived; a bundle exported from the hub verifies and tells the journey; a recipient's
connector keeps the package and its delivered receipt and exports a bundle of its own."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.folder import FolderConnector
from vbcore.cli import vb
from vbcore.evidence.bundle import verify_bundle
from vbcore.evidence.entry import COPY_DELIVERED, PACKAGE_ACCEPTED, STATUS_FORWARDED, STATUS_RECEIVED
from vbcore.evidence.receipt import ACCEPTED, DELIVERED, REFUSED, verify_receipt
from vbcore.evidence.timeline import render
from vbcore.model import Organization, ResponseFor, StatusPackage
from vbcore.operations.evidence import export_document, export_received
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.store.archive import PackageArchive
from vbcore.testing.conformance_world import Identities, World
from vbcore.testing.devworld import (
    DA_NANG,
    HA_NOI,
    HUB_ID,
    VPCP,
    DevKeys,
    MemoryWorld,
    letter,
    six_agency_keys,
)
from vbcore.timezones import utc_now, vietnam_now
from vbcore.transport import names as n

UNKNOWN = "000.00.99.Z99"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return six_agency_keys(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def world(tmp_path: Path, dev: DevKeys) -> Iterator[MemoryWorld]:
    w = MemoryWorld(open_store(f"sqlite:///{tmp_path / 'hub.db'}"), dev)
    hub = w.start_hub()
    hub.archive = PackageArchive(tmp_path / "packages")
    yield w
    w.store.close()


def _asking(world: MemoryWorld, code: str) -> None:
    world.client(code).receipts = True


def test_a_sender_that_asks_gets_accepted_and_delivered_receipts(world: MemoryWorld, dev: DevKeys) -> None:
    _asking(world, VPCP)
    doc = letter(VPCP, [HA_NOI, DA_NANG], "101")
    world.client(VPCP).submit(doc)
    world.pump()
    [copy] = world.inbox(HA_NOI)
    digest = hashlib.sha256(copy.raw).hexdigest()
    assert world.hub is not None
    assert world.hub.archive is not None
    assert world.hub.archive.get(digest) == copy.raw  # the package as signed, kept
    assert world.inbox(VPCP) == []  # receipts are no documents: fetch keeps them aside
    got = world.client(VPCP).received_receipts
    assert sorted((r.kind, r.recipient) for r in got) == [
        (ACCEPTED, None),
        (DELIVERED, DA_NANG),
        (DELIVERED, HA_NOI),
    ]
    document_id = doc.effective_document_id
    entries = {e.seq: e for e in world.store.evidence_entries(document_id)}
    for receipt in got:
        said = verify_receipt(receipt, dev.trust)
        assert said["package_digest"] == digest
        entry = entries[said["seq"]]
        assert entry.body["receipt"] == receipt.id  # the entry names its receipt
        assert (said["at_utc"], said["at_local"]) == (entry.at_utc, entry.at_local)
        assert entry.kind == (PACKAGE_ACCEPTED if receipt.kind == ACCEPTED else COPY_DELIVERED)
    accepted = next(r for r in got if r.kind == ACCEPTED)
    assert accepted.payload["recipients"] == sorted([HA_NOI, DA_NANG])
    delivered = [r for r in got if r.kind == DELIVERED]
    assert delivered[0].seal == delivered[1].seal  # one signature for the batch's copies
    assert len(world.store.receipts(document_id)) == 3  # kept at the hub


def test_receipts_are_kept_at_the_hub_but_not_sent_unless_asked(world: MemoryWorld) -> None:
    doc = letter(VPCP, [HA_NOI], "102")
    world.client(VPCP).submit(doc)
    world.pump()
    assert len(world.store.receipts(doc.effective_document_id)) == 2
    world.inbox(VPCP)
    assert world.client(VPCP).received_receipts == []
    assert world.broker.depth(world.names.inbox(VPCP)) == 0


def test_a_refused_package_gets_a_refused_receipt_naming_the_reason(world: MemoryWorld, dev: DevKeys) -> None:
    _asking(world, VPCP)
    doc = letter(VPCP, [UNKNOWN], "103")
    world.client(VPCP).submit(doc)
    world.pump()
    [refusal] = world.inbox(VPCP)  # the 02 still goes out
    assert refusal.kind == n.KIND_REFUSAL
    [receipt] = [r for r in world.client(VPCP).received_receipts if r.kind == REFUSED]
    said = verify_receipt(receipt, dev.trust)
    assert said["reason"] == refusal.headers[n.REFUSAL_REASON]
    assert said["recipient"] == UNKNOWN


def _status(sender: str, document_id: str, code: StatusCode = StatusCode.ARRIVED) -> StatusPackage:
    return StatusPackage(Organization(sender), ResponseFor(VPCP, document_id=document_id), code,
                         timestamp=vietnam_now())  # fmt: skip


def test_a_recipient_answering_with_receipts_gets_the_delivered_receipt_of_its_copy(
    world: MemoryWorld, dev: DevKeys
) -> None:
    doc = letter(VPCP, [HA_NOI, DA_NANG], "104")
    world.client(VPCP).submit(doc)
    world.pump()
    world.inbox(HA_NOI)
    _asking(world, HA_NOI)
    world.client(HA_NOI).submit(_status(HA_NOI, doc.effective_document_id))
    world.pump()
    world.inbox(HA_NOI)
    got = world.client(HA_NOI).received_receipts
    copy = [r for r in got if r.kind == DELIVERED and r.recipient == HA_NOI]
    assert len(copy) == 1
    assert copy[0].document_id == doc.effective_document_id
    assert not [r for r in got if r.recipient == DA_NANG]  # another recipient's copy is not its business
    assert {r.kind for r in got} == {ACCEPTED, DELIVERED}  # and its own 01: accepted, forwarded


def test_a_bundle_exported_from_the_hub_verifies_and_tells_the_journey(
    world: MemoryWorld, dev: DevKeys, tmp_path: Path
) -> None:
    doc = letter(VPCP, [HA_NOI, DA_NANG], "105")
    world.client(VPCP).submit(doc)
    world.pump()
    world.inbox(HA_NOI)
    world.client(HA_NOI).submit(_status(HA_NOI, doc.effective_document_id))
    world.pump()
    assert world.hub is not None
    assert world.hub.archive is not None
    target = tmp_path / "bundle.zip"
    done = export_document(world.store, world.hub.archive, doc.effective_document_id, target,
                           dev.keys[HUB_ID], hub_id=HUB_ID, now=utc_now())  # fmt: skip
    assert (done.statuses, done.missing) == (1, ())
    verified = verify_bundle(target, dev.trust)
    assert verified.ok, verified.problems
    assert [e.kind for e in verified.entries] == [
        PACKAGE_ACCEPTED,
        COPY_DELIVERED,
        COPY_DELIVERED,
        STATUS_RECEIVED,
        STATUS_FORWARDED,
    ]
    assert [s[2] for s in verified.statuses] == [HA_NOI]
    with zipfile.ZipFile(target) as zf:
        certificates = [n for n in zf.namelist() if n.startswith("certificates/")]
    assert len(certificates) == 3  # the hub's, the sender's, the recipient that signed the 01
    text = render(verified, "vi")
    assert "Trục nhận trạng thái 01 Đã đến của 000.00.00.H24" in text


def test_vb_evidence_export_and_verify(world: MemoryWorld, dev: DevKeys, tmp_path: Path) -> None:
    doc = letter(VPCP, [HA_NOI], "106")
    world.client(VPCP).submit(doc)
    world.pump()
    pki = dev.pki
    runner = CliRunner()
    exported_args = [
        "--lang", "en", "evidence", "export", doc.effective_document_id, str(tmp_path / "b.zip"),
        "--store", f"sqlite:///{tmp_path / 'hub.db'}", "--archive", str(tmp_path / "packages"),
        "--key", str(pki.key_path(HUB_ID)), "--cert", str(pki.cert_path(HUB_ID)), "--hub-id", HUB_ID,
    ]  # fmt: skip
    exported = runner.invoke(vb, exported_args)
    assert exported.exit_code == 0, exported.output
    assert "Wrote the evidence bundle" in exported.output
    unknown = runner.invoke(vb, ["--lang", "en", "evidence", "export", "000.00.00.G22,2026/11/24,999/VB",
                                 str(tmp_path / "none.zip"), *exported_args[6:]])  # fmt: skip
    assert unknown.exit_code == 1
    assert "the hub's evidence log holds no accepted or refused package" in unknown.output
    checked = runner.invoke(vb, ["evidence", "verify", str(tmp_path / "b.zip"), "--trust",
                                 str(pki.ca_cert_path)])  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert "Đã chuyển vào hộp thư của 000.00.00.H24" in checked.output
    bundle, ca = str(tmp_path / "b.zip"), str(pki.ca_cert_path)
    as_json = runner.invoke(vb, ["evidence", "verify", bundle, "--trust", ca, "--json"])
    said = json.loads(as_json.output)
    assert (said["ok"], said["problems"]) == (True, [])
    assert [e["kind"] for e in said["journey"]] == [PACKAGE_ACCEPTED, COPY_DELIVERED]


def test_a_recipients_connector_keeps_the_package_and_its_delivered_receipt(tmp_path: Path) -> None:
    identities = Identities.create(tmp_path / "pki")
    dms_root = tmp_path / "dms"
    world = World(tmp_path / "world",
                  lambda ctx: FolderConnector.from_config({"root": str(dms_root), "settle_seconds": 0}, ctx),
                  identities=identities)  # fmt: skip
    try:
        world.hub.archive = PackageArchive(tmp_path / "packages")
        runtime = world.runtime()
        runtime.client.receipts = True  # vb connector run --receipts
        edoc = world.document(world.peer_code, world.agency)
        world.peer_sends(edoc)
        world.pump()
        document_id = edoc.effective_document_id
        [(sender, digest, signed)] = runtime.ledger.packages_of(document_id)
        assert (sender, signed) == (world.peer_code, world.sent_raw[document_id])
        [receipt] = runtime.ledger.receipts_for(digest)
        assert (receipt.kind, receipt.recipient) == (DELIVERED, world.agency)
        out = io.BytesIO()
        export_received(runtime.ledger, document_id, out, world.keys[world.agency])
        verified = verify_bundle(out.getvalue(), world.trust)
        assert verified.ok, verified.problems
        assert (verified.holder, verified.exporter) == (world.agency, world.agency)
        text = render(verified, "en")
        assert f"Delivered to the inbox of {world.agency} [signed receipt]" in text
        assert f"Exported by agency {world.agency}" in text
        pki = world.dev.pki
        target = tmp_path / "held.zip"
        runner = CliRunner()
        state = ["--state", str(world.ledger_path)]
        keys = [*state, "--key", str(pki.key_path(world.agency)), "--cert", str(pki.cert_path(world.agency))]
        export = ["--lang", "en", "connector", "evidence", "export"]
        written = runner.invoke(vb, [*export, document_id, str(target), *keys])
        assert written.exit_code == 0, written.output
        checked = runner.invoke(vb, ["evidence", "verify", str(target), "--trust", str(pki.ca_cert_path)])
        assert checked.exit_code == 0, checked.output
        missing = runner.invoke(vb, [*export, "nothing-like-it", str(tmp_path / "none.zip"), *keys])
        assert missing.exit_code == 1
        assert "No evidence of the document" in missing.output
    finally:
        world.close()


def test_a_package_refused_whole_gets_a_refused_receipt_for_its_bytes(
    world: MemoryWorld, dev: DevKeys
) -> None:
    client = world.client(VPCP, key_of=HA_NOI)  # signed with another agency's key
    client.receipts = True
    client.submit(letter(VPCP, [DA_NANG], "107"))
    world.pump()
    while (incoming := client.fetch()) is not None:
        client.ack(incoming)
    [receipt] = client.received_receipts
    said = verify_receipt(receipt, dev.trust)
    assert (said["kind"], said["recipient"]) == (REFUSED, None)
    assert said["reason"] == "signer-mismatch"
    assert world.parked() == 1


def test_a_package_is_not_accepted_unless_its_bytes_are_kept(dev: DevKeys, tmp_path: Path) -> None:
    world = MemoryWorld(open_store(f"sqlite:///{tmp_path / 'hub.db'}"), dev)
    hub = world.start_hub(batch=True)  # as vb hub run: an outage holds the batch and retries it
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the archive should be")
    hub.archive = PackageArchive(blocked)
    doc = letter(VPCP, [HA_NOI], "108")
    world.client(VPCP).submit(doc)
    hub.transport.drain(0)
    hub.flush()
    assert hub.requeued == 1  # held like a store outage, not refused
    assert world.store.get_document(doc.effective_document_id) is None
    assert world.store.evidence_entries(doc.effective_document_id) == []
    hub.archive = PackageArchive(tmp_path / "packages")
    time.sleep(hub.config.outage_pause + 0.1)
    assert hub.flush() == 1
    assert world.store.get_document(doc.effective_document_id) is not None
    [copy] = world.inbox(HA_NOI)
    assert hub.archive.get(hashlib.sha256(copy.raw).hexdigest()) == copy.raw
    world.store.close()


def test_a_refused_duplicate_of_the_document_is_part_of_its_journey(
    world: MemoryWorld, dev: DevKeys, tmp_path: Path
) -> None:
    doc = letter(VPCP, [HA_NOI], "109")
    world.client(VPCP).submit(doc)
    world.pump()
    again = letter(VPCP, [HA_NOI], "109", subject="Một gói khác cùng số hiệu")  # same DocumentId, new bytes
    world.client(VPCP).submit(again)
    world.pump()
    assert world.hub is not None
    assert world.hub.archive is not None
    target = tmp_path / "bundle.zip"
    export_document(world.store, world.hub.archive, doc.effective_document_id, target, dev.keys[HUB_ID],
                    hub_id=HUB_ID, now=utc_now())  # fmt: skip
    verified = verify_bundle(target, dev.trust)
    assert verified.ok, verified.problems
    assert verified.package is not None
    assert verified.package.subject == doc.subject  # the package accepted, not the duplicate
    assert "The hub refused the package from 000.00.00.G22: duplicate" in render(verified, "en")


def test_a_sender_asking_on_its_revoke_gets_that_revokes_receipts_only(world: MemoryWorld) -> None:
    doc = letter(VPCP, [HA_NOI], "110")
    world.client(VPCP).submit(doc)
    world.pump()
    world.client(HA_NOI).submit(_status(HA_NOI, doc.effective_document_id))  # forwarded to VPCP
    world.pump()
    world.inbox(VPCP)
    _asking(world, VPCP)
    revoke = _status(VPCP, doc.effective_document_id, StatusCode.REVOKE)
    world.client(VPCP).submit(revoke)
    world.pump()
    world.inbox(VPCP)
    got = world.client(VPCP).received_receipts
    assert sorted((r.kind, r.recipient) for r in got) == [(ACCEPTED, None), (DELIVERED, HA_NOI)]
    assert len({r.package_digest for r in got}) == 1  # the 13's, not the 01 forwarded to VPCP
