"""The hub writes its evidence log (issue 9): package accepted (the digest of the exact signed bytes,
the sender, every recipient), refused (the reason), each copy delivered once the broker confirmed it,
every status received and forwarded; one chain, signed at checkpoints and on shutdown."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import timedelta
from pathlib import Path

from test_hub_support import G22, H24, H56, HUB_ID, World, edoc, open_world, status

from vbcore.errors import ConnectionLost
from vbcore.evidence.chain import ChainWalk, verify_proof
from vbcore.evidence.checkpoint import verify_checkpoint
from vbcore.evidence.entry import (
    COPY_DELIVERED,
    PACKAGE_ACCEPTED,
    PACKAGE_REFUSED,
    STATUS_FORWARDED,
    STATUS_RECEIVED,
    Entry,
)
from vbcore.hub.config import HubConfig
from vbcore.operations.audit import audit
from vbcore.security.pki import DevPki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys, MemoryWorld
from vbcore.timezones import utc_now
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]

UNKNOWN = "000.00.99.Z99"


def entries(world: World, document_id: str) -> list[Entry]:
    return world.store.evidence_entries(document_id)


def one_chain(world: World) -> int:
    walk = ChainWalk(world.store.evidence_checkpoints(), world.dev.trust)
    count = 0
    for row in world.store.evidence_rows():
        assert walk.feed(*row) is None, walk.finding
        count += 1
    assert walk.finish(world.store.evidence_head()[0]) is None, walk.finding
    return count


def test_an_accepted_document_and_its_delivered_copies_are_logged_with_the_signed_bytes_digest(
    world: World,
) -> None:
    doc = edoc(G22, [H24, H56])
    world.client(G22).submit(doc)
    world.pump()
    [copy] = world.inbox(H24)
    document_id = doc.effective_document_id
    logged = entries(world, document_id)
    assert [e.kind for e in logged] == [PACKAGE_ACCEPTED, COPY_DELIVERED, COPY_DELIVERED]
    accepted = logged[0]
    assert accepted.package_digest == hashlib.sha256(copy.raw).hexdigest()
    assert accepted.sender == G22
    assert accepted.body["recipients"] == sorted([H24, H56])
    assert {e.recipient for e in logged[1:]} == {H24, H56}
    assert all(e.package_digest == accepted.package_digest for e in logged)
    assert one_chain(world) == 3


def test_statuses_received_and_forwarded_are_logged(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(H24)
    world.client(H24).submit(status(H24, doc, StatusCode.ARRIVED))
    world.pump()
    assert len(world.inbox(G22)) == 1
    logged = [e for e in entries(world, doc.effective_document_id) if e.kind.startswith("status")]
    assert [(e.kind, e.sender, e.recipient, e.body["code"]) for e in logged] == [
        (STATUS_RECEIVED, H24, H24, "01"),
        (STATUS_FORWARDED, H24, G22, "01"),
    ]


def test_a_refused_recipient_and_a_refused_package_are_logged_with_the_reason(world: World) -> None:
    doc = edoc(G22, [H24, UNKNOWN])
    world.client(G22).submit(doc)
    world.client(G22).submit_signed(b"<edXML><unclosed></edXML>", kind="edoc", message_id="bad-1")
    world.pump()
    logged = entries(world, doc.effective_document_id)
    refused = [e for e in logged if e.kind == PACKAGE_REFUSED]
    assert [(e.recipient, e.body["reason"]) for e in refused] == [(UNKNOWN, "unknown-agency")]
    accepted = next(e for e in logged if e.kind == PACKAGE_ACCEPTED)
    assert accepted.body["recipients"] == [H24]
    assert accepted.body["refused"] == {UNKNOWN: "unknown-agency"}
    [whole] = world.store.evidence_entries("")
    assert (whole.kind, whole.sender, whole.body["message_id"], whole.body["reason"]) == (
        PACKAGE_REFUSED,
        G22,
        "bad-1",
        "malformed",
    )
    assert whole.package_digest == hashlib.sha256(b"<edXML><unclosed></edXML>").hexdigest()
    one_chain(world)


def test_a_redelivered_package_is_not_accepted_twice(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    world.client(G22).submit(doc)  # a publisher's retry: same document, another message
    world.pump()
    kinds = [e.kind for e in entries(world, doc.effective_document_id)]
    assert kinds.count(PACKAGE_ACCEPTED) == 1


def test_no_delivered_entry_without_the_brokers_confirm(world: World) -> None:
    assert world.hub is not None
    real = world.hub.transport.publish_many
    doc = edoc(G22, [H24])
    seen_at_failure: list[list[str]] = []

    def failing_once(messages):  # type: ignore[no-untyped-def]
        if not seen_at_failure:
            seen_at_failure.append([e.kind for e in entries(world, doc.effective_document_id)])
            raise ConnectionLost("broker gone")
        return real(messages)

    world.hub.transport.publish_many = failing_once  # type: ignore[method-assign]
    world.client(G22).submit(doc)
    world.pump()  # fails, is requeued, and goes through on redelivery
    # the plan committed before the publish: accepted; nothing delivered until a confirm
    assert seen_at_failure == [[PACKAGE_ACCEPTED]]
    kinds = [e.kind for e in entries(world, doc.effective_document_id)]
    assert kinds == [PACKAGE_ACCEPTED, COPY_DELIVERED]


def test_checkpoints_at_the_interval_and_on_shutdown_are_signed_by_the_hub(
    tmp_path: Path,
    pki: DevPki,
    keys: dict[str, SigningKey],
) -> None:
    world = open_world(tmp_path, pki, keys)
    try:
        assert world.hub is not None
        # the real clock: the dev certificates were issued today, the shared world's clock is in the past
        world.hub.config = dataclasses.replace(world.hub.config, evidence_every_entries=4, clock=utc_now)
        for number in ("1", "2", "3"):
            world.client(G22).submit(edoc(G22, [H24], number))
            world.pump()
        first = world.store.last_checkpoint()
        assert first is not None
        assert first.seq >= 4
        trust: TrustStore = world.dev.trust
        verify_checkpoint(first, trust)
        world.client(G22).submit(edoc(G22, [H24], "4"))
        world.pump()
        world.hub.checkpoint_now()  # what the runner does on shutdown
        last = world.store.last_checkpoint()
        assert last is not None
        assert last.seq == world.store.evidence_head()[0]
        assert last.hub_id == world.hub.config.hub_id
        for seq in range(1, last.seq + 1):
            proof = world.store.evidence_proof(seq)
            assert proof is not None
            verify_proof(proof, trust)
        assert one_chain(world) == last.seq
    finally:
        world.store.close()


def test_two_hub_processes_on_one_store_keep_one_chain(
    store_url: str, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    """Two hubs (each its own store connection, as two processes have) take turns on one ingress."""
    dev = DevKeys(pki, keys, TrustStore.from_pem_files([pki.ca_cert_path]))
    config = HubConfig(hub_id=HUB_ID, clock=utc_now, evidence_every_entries=7)
    first, second = open_store(store_url), open_store(store_url)
    world = MemoryWorld(first, dev, config=config)
    try:
        hub_a = world.start_hub(batch=True, prefetch=6)  # 6 each: the two take turns on the 12
        hub_b = dev.hub(
            InMemoryTransport(world.broker, world.names.hub_user, world.names),
            second,
            config,
            world.directory,
        )
        hub_b.start(list(world.agencies), batch=True, prefetch=6)
        docs = [edoc(G22, [H24, H56], str(i)) for i in range(12)]
        for doc in docs:
            world.client(G22).submit(doc)
        took = {id(hub_a): 0, id(hub_b): 0}
        while True:  # the two hubs take what is waiting, batch by batch, in turn
            taken = 0
            for hub in (hub_a, hub_b):
                hub.transport.drain(0)
                done = hub.flush()
                took[id(hub)] += done
                taken += done
            if not taken:
                break
        assert all(took.values()), took  # both hubs wrote into the one chain
        assert {len(world.inbox(code)) for code in (H24, H56)} == {12}
        hub_a.checkpoint_now()
        hub_b.checkpoint_now()
        report = audit(first, dev.trust)
        assert report.clean, (report.chain, [d.describe("en") for d in report.store])
        assert report.entries == 12 * 3
        assert report.covered == report.entries
        assert report.documents == 12
    finally:
        first.close()
        second.close()


def test_an_idle_hub_still_signs_the_head_once_the_interval_in_seconds_is_over(world: World) -> None:
    assert world.hub is not None
    wall = [utc_now()]
    ticks = [time.monotonic()]
    world.hub.config = dataclasses.replace(world.hub.config, clock=lambda: wall[0], evidence_every_seconds=60)
    world.hub.checkpoints.monotonic = lambda: ticks[0]
    world.client(G22).submit(edoc(G22, [H24]))
    world.pump()
    world.hub.flush()
    assert world.store.last_checkpoint() is None  # 2 entries, well within 60 s
    ticks[0] += 61
    wall[0] += timedelta(seconds=61)
    world.hub.flush()  # nothing to do, but the interval is over
    checkpoint = world.store.last_checkpoint()
    assert checkpoint is not None
    assert checkpoint.seq == world.store.evidence_head()[0] == 2


def test_the_configuration_file_sets_the_checkpoints_and_the_tsa(tmp_path: Path) -> None:
    from vbcore.cli.config_options import options_for
    from vbcore.config_file import read_config

    path = tmp_path / "hub.toml"
    path.write_text('[evidence]\nevery = 500\nevery_seconds = 30\ntsa_url = "http://tsa.example/tsr"\n')
    config = read_config(path)
    assert config.problems == []
    options = options_for(config, "hub run")
    assert (options["evidence_every_entries"], options["evidence_every_seconds"], options["tsa_url"]) == (
        500, 30, "http://tsa.example/tsr")
