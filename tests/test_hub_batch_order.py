"""A batch out of the queue's order: a package refused as about a document not known yet is planned
again after the rest (``Hub._plan_all``), however deep the chain, and nothing is recorded twice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_hub_pipeline import take_all
from test_hub_support import G22, H24, H56, World, edoc, open_world, status

from vbcore.model import Business, ReplacementInfo, StatusPackage
from vbcore.operations.audit import audit
from vbcore.security.pki import DevPki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import BusinessDocType, StatusCode
from vbcore.timezones import utc_now
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]


def replacing(original, number: str, to: list[str]):  # type: ignore[no-untyped-def]
    return edoc(G22, to, number, business=Business(
        BusinessDocType.REPLACE, document_id=None,
        replacement_info=(ReplacementInfo(original.effective_document_id, tuple(to)),)))  # fmt: skip


def test_a_revoke_of_a_replacement_of_a_document_all_reversed_in_one_batch_all_go_through(
    world: World,
) -> None:
    # The queue held D, R (replaces D), 13 (revokes R): the gets gave them reversed. One replan pass
    # plans the 13 before R is planned: it is refused as about a document not known, R goes through.
    original = edoc(G22, [H24], "1")
    replacement = replacing(original, "2", [H24])
    revoke = status(G22, replacement, StatusCode.REVOKE, "Lấy lại do sai sót")
    for package in (revoke, replacement, original):
        world.client(G22).submit(package)
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert [r.reason for r in world.store.refusals()] == []
    assert {a.outcome for a in attempts} == {"forwarded"}


def test_a_status_refused_again_after_the_replan_is_recorded_answered_and_logged_once(
    tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    # Rules out: the replan records a refusal row, an evidence entry or a 02 twice; the audit still
    # verifies a log whose entries came in the replanned order.
    world = open_world(tmp_path, pki, keys)
    assert world.hub is not None
    world.hub.config = dataclasses.replace(world.hub.config, clock=utc_now)
    known = edoc(G22, [H24], "7")
    world.client(G22).submit(known)
    world.pump()
    world.inbox(H24)
    unknown = status(G22, edoc(G22, [H24], "9"), StatusCode.REVOKE)  # never carried
    early = status(G22, edoc(G22, [H56], "1"), StatusCode.REVOKE)  # its document comes after it
    doc = edoc(G22, [H56], "1")
    fine = status(H24, known, StatusCode.ARRIVED)
    world.client(G22).submit(unknown)
    world.client(G22).submit(early)
    world.client(H24).submit(fine)
    world.client(G22).submit(doc)
    attempts = world.hub.process_batch(take_all(world))
    outcomes = {a.delivery.message_id: a.outcome for a in attempts}
    assert sorted(outcomes.values()) == ["forwarded", "forwarded", "forwarded", "refused"]
    [refusal] = world.store.refusals()
    assert refusal.reason == "unknown-document"
    answers = [i.package for i in world.inbox(G22) if i.kind == n.KIND_REFUSAL]
    assert len(answers) == 1
    assert isinstance(answers[0], StatusPackage)
    world.hub.checkpoint_now()
    report = audit(world.store, TrustStore.from_pem_files([pki.ca_cert_path]))
    assert report.clean, (report.chain, report.tsa, report.store)
    world.store.close()


def test_process_batch_gives_a_status_refused_as_unknown_last_even_with_no_replan(world: World) -> None:
    # Documents a change, not a fault: process_batch no longer gives its attempts in the deliveries'
    # order. A status refused as about an unknown document goes last even when nothing was planned again
    # (no document beside it). Nothing in vbcore reads them by position (metrics and logs by attempt;
    # ``process`` takes [0] of a batch of one).
    known = edoc(G22, [H24], "7")
    world.client(G22).submit(known)
    world.pump()
    world.inbox(H24)
    unknown = status(G22, edoc(G22, [H24], "9"), StatusCode.REVOKE)
    world.client(G22).submit(unknown)
    world.client(H24).submit(status(H24, known, StatusCode.ARRIVED))
    assert world.hub is not None
    deliveries = take_all(world)
    attempts = world.hub.process_batch(deliveries)
    assert [a.delivery.message_id for a in attempts] == [d.message_id for d in reversed(deliveries)]
    assert sorted(a.outcome for a in attempts) == ["forwarded", "refused"]


def test_the_replan_work_is_bounded_by_twice_the_statuses(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rules out quadratic work: many statuses about unknown documents beside one document are each
    # planned at most twice.
    assert world.hub is not None
    calls: list[str] = []
    real = world.hub.statuses.plan

    def counted(attempt, package):  # type: ignore[no-untyped-def]
        calls.append(attempt.delivery.message_id)
        return real(attempt, package)

    monkeypatch.setattr(world.hub.statuses, "plan", counted)
    for i in range(20):
        world.client(G22).submit(status(G22, edoc(G22, [H24], f"9{i}"), StatusCode.REVOKE))
    world.client(G22).submit(edoc(G22, [H24], "1"))
    attempts = world.hub.process_batch(take_all(world))
    assert len(calls) == 40
    assert len(world.store.refusals()) == 20
    assert sum(a.outcome == "refused" for a in attempts) == 20


def test_two_revokes_before_their_document_one_goes_the_other_is_a_duplicate_answered_once(
    world: World,
) -> None:
    doc = edoc(G22, [H24], "1")
    first = status(G22, doc, StatusCode.REVOKE, "Lấy lại")
    for package in (first, first, doc):  # the same 13 twice (two messages), before its document
        world.client(G22).submit(package)
    assert world.hub is not None
    attempts = world.hub.process_batch(take_all(world))
    assert sorted(a.outcome for a in attempts) == ["forwarded", "forwarded", "refused"]
    assert [r.reason for r in world.store.refusals()] == ["duplicate-status"]
    assert len([i for i in world.inbox(G22) if i.kind == n.KIND_REFUSAL]) == 1
    assert [type(i.package).__name__ for i in world.inbox(H24)] == ["Edoc", "StatusPackage"]


def test_a_bug_met_in_the_replan_parks_the_status_with_one_refusal(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.hub is not None
    real = world.hub.statuses.plan
    calls: list[int] = []

    def buggy(attempt, package):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:  # the replan
            raise RuntimeError("boom")
        return real(attempt, package)

    monkeypatch.setattr(world.hub.statuses, "plan", buggy)
    doc = edoc(G22, [H24], "1")
    world.client(G22).submit(status(G22, doc, StatusCode.REVOKE))
    world.client(G22).submit(doc)
    attempts = world.hub.process_batch(take_all(world))
    assert sorted(a.outcome for a in attempts) == ["forwarded", "parked"]
    [refusal] = world.store.refusals()
    assert refusal.reason == "internal-error"
    assert len([i for i in world.inbox(G22) if i.kind == n.KIND_REFUSAL]) == 1
    assert world.parked() == 1
