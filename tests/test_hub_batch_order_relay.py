"""A relayed package planned again after the rest of its batch (``Hub._plan_all``) keeps the trace of the
gateway that relayed it."""

from __future__ import annotations

import pytest
from test_hub_pipeline import take_all
from test_hub_relay import G22, GW, TRUSTED, dev, directory, pki, world  # noqa: F401  (fixtures)

from vbcore.edxml import write_package
from vbcore.model import Business, ReplacementInfo
from vbcore.security.signing import sign_package
from vbcore.status import BusinessDocType
from vbcore.store.timeline import read_timeline
from vbcore.testing.devworld import DevKeys, MemoryWorld, letter
from vbcore.transport import names as n


@pytest.mark.parametrize("reversed_by_the_gets", [True, False])
def test_a_relayed_replacement_keeps_its_relay_trace_in_either_order_of_its_batch(
    world: MemoryWorld, dev: DevKeys, reversed_by_the_gets: bool  # noqa: F811
) -> None:
    original = letter(TRUSTED, [G22], "31")
    replacement = letter(TRUSTED, [G22], "32", business=Business(
        BusinessDocType.REPLACE, document_id=None,
        replacement_info=(ReplacementInfo(original.effective_document_id, (G22,)),)))  # fmt: skip
    order = (replacement, original) if reversed_by_the_gets else (original, replacement)
    for package in order:
        body = sign_package(write_package(package), dev.keys[TRUSTED])
        world.client(GW).submit_signed(body, kind=n.KIND_EDOC)
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert {a.outcome for a in attempts} == {"forwarded"}
    first = read_timeline(world.store, world.directory, original.effective_document_id)
    assert [(r.gateway, r.verdict) for r in first.relays] == [(GW, "valid")]
    second = read_timeline(world.store, world.directory, replacement.effective_document_id)
    assert [(r.gateway, r.verdict) for r in second.relays] == [(GW, "valid")]  # lost in the replan
