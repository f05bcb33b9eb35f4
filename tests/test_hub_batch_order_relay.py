"""A relayed package planned again after the rest of its batch (``Hub._plan_all``) keeps the trace of the
gateway that relayed it."""

from __future__ import annotations

from test_hub_relay import G22, GW, TRUSTED, dev, directory, pki, world  # noqa: F401  (fixtures)

from vbcore.edxml import write_package
from vbcore.model import Business, ReplacementInfo
from vbcore.security.signing import sign_package
from vbcore.status import BusinessDocType
from vbcore.store.timeline import read_timeline
from vbcore.testing.devworld import DevKeys, MemoryWorld, letter
from vbcore.transport import names as n


def test_a_relayed_replacement_before_its_original_in_a_batch_keeps_its_relay_trace(
    world: MemoryWorld, dev: DevKeys  # noqa: F811
) -> None:
    original = letter(TRUSTED, [G22], "31")
    replacement = letter(TRUSTED, [G22], "32", business=Business(
        BusinessDocType.REPLACE, document_id=None,
        replacement_info=(ReplacementInfo(original.effective_document_id, (G22,)),)))  # fmt: skip
    for package in (replacement, original):  # the gets gave them reversed
        body = sign_package(write_package(package), dev.keys[TRUSTED])
        world.client(GW).submit_signed(body, kind=n.KIND_EDOC)
    assert world.hub is not None
    taken = []
    while (d := world.hub.transport.get(world.names.ingress_queue)) is not None:
        taken.append(d)
    attempts = world.hub.process_batch(taken)
    assert {a.outcome for a in attempts} == {"forwarded"}
    first = read_timeline(world.store, world.directory, original.effective_document_id)
    assert [(r.gateway, r.verdict) for r in first.relays] == [(GW, "valid")]
    second = read_timeline(world.store, world.directory, replacement.effective_document_id)
    assert [(r.gateway, r.verdict) for r in second.relays] == [(GW, "valid")]  # lost in the replan


def test_control_in_the_queues_order_the_relayed_replacement_keeps_its_relay_trace(
    world: MemoryWorld, dev: DevKeys  # noqa: F811
) -> None:
    original = letter(TRUSTED, [G22], "31")
    replacement = letter(TRUSTED, [G22], "32", business=Business(
        BusinessDocType.REPLACE, document_id=None,
        replacement_info=(ReplacementInfo(original.effective_document_id, (G22,)),)))  # fmt: skip
    for package in (original, replacement):
        body = sign_package(write_package(package), dev.keys[TRUSTED])
        world.client(GW).submit_signed(body, kind=n.KIND_EDOC)
    assert world.hub is not None
    taken = []
    while (d := world.hub.transport.get(world.names.ingress_queue)) is not None:
        taken.append(d)
    world.hub.process_batch(taken)
    second = read_timeline(world.store, world.directory, replacement.effective_document_id)
    assert [(r.gateway, r.verdict) for r in second.relays] == [(GW, "valid")]
