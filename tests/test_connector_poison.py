"""A document the DMS cannot take does not block the inbox: it is retried with backoff up to the
operator's limit, then parked with a signed 02 to its sender, while the documents behind it flow. A DMS
that is down for everything parks nothing. Outgoing, incoming and events fail apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from folder_world import the_dms, the_identities, the_world  # noqa: F401 (fixtures: dms, identities, world)
from test_conformance_folder import FolderDms

from connectors.folder import FolderConnector
from vbcore.connector import DmsUnavailable, IncomingDocument
from vbcore.connector.runtime import RetryLimit
from vbcore.testing.conformance_world import Identities, SimulatedCrash, World
from vbcore.transport import names as n


def poison(monkeypatch: pytest.MonkeyPatch, document_id: str, error: Exception) -> list[str]:
    """Make the folder DMS fail on one document, every time; the calls it saw, in order."""
    real = FolderConnector.deliver
    calls: list[str] = []

    def deliver(self: FolderConnector, doc: IncomingDocument):  # type: ignore[no-untyped-def]
        calls.append(doc.document_id)
        if doc.document_id == document_id:
            raise error
        return real(self, doc)

    monkeypatch.setattr(FolderConnector, "deliver", deliver)
    return calls


def codes(world: World, document_id: str) -> list[str]:
    return [i.package.status_code.value for i in world.peer.received  # type: ignore[union-attr]
            if i.kind != "edoc" and i.package.document_id == document_id]  # type: ignore[union-attr]


def parked(world: World) -> list[tuple[str, str]]:
    """(message id, park reason) of what is in the parking queue, taken out of it."""
    found = []
    while (d := world.hub_transport.get(world.names.parked_queue)) is not None:
        world.hub_transport.ack(d)
        found.append((d.message_id, d.headers.get(n.PARK_REASON, "")))
    return found


@pytest.mark.parametrize("error", [KeyError("bug in the vendor's code"),
                                   DmsUnavailable("the DMS answers 503 for this document")],
                         ids=["connector-bug", "dms-fails-that-document"])
def test_a_document_the_dms_keeps_failing_is_parked_with_a_02_and_the_inbox_keeps_flowing(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    first = world.document(world.peer_code, world.agency)
    poisoned = first.effective_document_id
    poison(monkeypatch, poisoned, error)
    world.peer_sends(first)
    behind = [world.peer_sends(world.document(world.peer_code, world.agency)) for _ in range(3)]
    world.pump(60)
    world.peer_inbox()
    assert dms.delivered() == behind
    for doc_id in behind:
        assert codes(world, doc_id) == ["01"]
    assert codes(world, poisoned) == ["02"]
    [refusal] = [i for i in world.peer.received if i.package.document_id == poisoned]  # type: ignore[union-attr]
    description = refusal.package.description or ""  # type: ignore[union-attr]
    assert type(error).__name__ in description or "503" in description
    assert "lần" in description  # the Vietnamese sentence names the attempts
    [(message_id, reason)] = parked(world)
    assert message_id.startswith(poisoned)
    assert reason


def test_a_dms_that_is_down_for_everything_holds_and_parks_nothing(world: World, dms: FolderDms) -> None:
    sent = [world.peer_sends(world.document(world.peer_code, world.agency)) for _ in range(3)]
    world.hub_transport.drain(0)
    runtime = world.runtime()
    calls: list[str] = []

    def down(*args: object) -> None:
        calls.append("down")
        raise DmsUnavailable("connection refused")

    for method in ("deliver", "poll_outgoing", "poll_events", "on_status"):
        setattr(runtime.connector, method, down)
    for _ in range(40):  # far past any retry limit, in attempts and in time
        report = runtime.step()
        assert report.waiting
        world.clock.advance(3600)
    assert len(calls) < 40 * 4  # backing off: not every lane at every round calls a DMS that is down
    world.crash()
    world.pump()
    assert dms.delivered() == sent  # in order, none parked
    world.peer_inbox()
    assert [codes(world, d) for d in sent] == [["01"], ["01"], ["01"]]
    assert parked(world) == []


def test_a_failing_poll_outgoing_does_not_stop_incoming_deliveries(world: World, dms: FolderDms) -> None:
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    runtime = world.runtime()

    def broken() -> None:
        raise RuntimeError("the DMS's export view is broken")

    runtime.connector.poll_outgoing = broken  # type: ignore[method-assign]
    world.pump()
    assert dms.delivered() == [doc_id]
    world.peer_inbox()
    assert codes(world, doc_id) == ["01"]


def test_a_failing_poll_events_does_not_stop_sending_or_receiving(world: World, dms: FolderDms) -> None:
    incoming = world.peer_sends(world.document(world.peer_code, world.agency))
    outgoing = world.document(world.agency, world.peer_code)
    dms.put_outgoing(outgoing)
    runtime = world.runtime()

    def down() -> None:
        raise DmsUnavailable("the events table is locked")

    runtime.connector.poll_events = down  # type: ignore[method-assign]
    world.pump()
    assert dms.delivered() == [incoming]
    got = world.peer_inbox()
    assert [i.package.effective_document_id for i in got if i.kind == "edoc"] == [  # type: ignore[union-attr]
        outgoing.effective_document_id
    ]


def test_an_outgoing_document_the_dms_cannot_mark_does_not_stop_the_ones_behind_it(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (world.document(world.agency, world.peer_code) for _ in range(2))
    stuck = dms.put_outgoing(first)
    behind = dms.put_outgoing(second)
    real = FolderConnector.mark_sent

    def mark_sent(self: FolderConnector, outgoing_id: str, document_id: str) -> None:
        if outgoing_id == stuck:
            raise PermissionError(f"sent/{outgoing_id}: permission denied")
        real(self, outgoing_id, document_id)

    monkeypatch.setattr(FolderConnector, "mark_sent", mark_sent)
    world.pump()
    assert dms.outgoing_state(behind) == "sent"
    assert dms.outgoing_state(stuck) == "pending"  # it left (the ledger knows): retried, never failed
    got = [i.package.effective_document_id for i in world.peer_inbox()]  # type: ignore[union-attr]
    assert got == [first.effective_document_id, second.effective_document_id]  # each sent once
    monkeypatch.setattr(FolderConnector, "mark_sent", real)
    world.pump()
    assert dms.outgoing_state(stuck) == "sent"
    assert [i.kind for i in world.peer_inbox()] == []


def test_an_event_the_dms_cannot_mark_does_not_stop_the_events_behind_it(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    world.pump()
    dms.emit_event(doc_id, "03", "Đã vào sổ")
    dms.emit_event(doc_id, "04", "Giao Phòng Tổng hợp")
    [first, _] = sorted((dms.root / "events").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    real = FolderConnector.mark_event_sent

    def mark_event_sent(self: FolderConnector, event_id: str) -> None:
        if event_id == first.name:
            raise PermissionError(f"events/sent/{event_id}: permission denied")
        real(self, event_id)

    monkeypatch.setattr(FolderConnector, "mark_event_sent", mark_event_sent)
    world.pump()
    world.peer_inbox()
    assert sorted(codes(world, doc_id)) == ["01", "03", "04"]


# --- crash safety around the park step -------------------------------------------------------------


def test_a_crash_before_the_02_of_a_parked_document_sends_one_02_and_parks_it_once(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    edoc = world.document(world.peer_code, world.agency)
    poison(monkeypatch, edoc.effective_document_id, KeyError("bug"))
    doc_id = world.peer_sends(edoc)
    behind = world.peer_sends(world.document(world.peer_code, world.agency))
    runtime = world.runtime()
    real = runtime.client.submit
    crashed: list[bool] = []

    def die(package):  # type: ignore[no-untyped-def]
        code = getattr(package, "status_code", None)
        if not crashed and code is not None and code.value == "02":
            crashed.append(True)
            raise SimulatedCrash("killed after the park decision, before the 02 left")
        return real(package)

    runtime.client.submit = die  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.pump(60)
    world.crash()
    world.pump(60)
    world.peer_inbox()
    assert codes(world, doc_id) == ["02"]
    assert dms.delivered() == [behind]
    assert [m for m, _ in parked(world)] == [f"{doc_id}|{world.agency}"]


def test_a_crash_after_the_02_before_the_park_parks_once_without_a_second_02(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    edoc = world.document(world.peer_code, world.agency)
    calls = poison(monkeypatch, edoc.effective_document_id, KeyError("bug"))
    doc_id = world.peer_sends(edoc)
    runtime = world.runtime()

    def die(incoming: object, reason: str) -> None:
        raise SimulatedCrash("killed after the 02, before the message was parked")

    runtime.client.park = die  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.pump(60)
    attempts = len(calls)
    world.crash()
    world.pump(60)
    assert len(calls) == attempts  # the DMS is not tried again: the ledger remembers the decision
    world.peer_inbox()
    assert codes(world, doc_id) == ["02"]
    assert [m for m, _ in parked(world)] == [f"{doc_id}|{world.agency}"]


# --- the operator's limit, and giving up on what is not a received document ------------------------


def test_the_limit_in_time_alone_parks_only_once_that_time_has_passed(
    tmp_path: Path, dms: FolderDms, identities: Identities, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"root": str(dms.root), "settle_seconds": 0}
    world = World(tmp_path / "w", lambda ctx: FolderConnector.from_config(config, ctx), identities=identities,
                  retry=RetryLimit(attempts=None, seconds=600))
    try:
        edoc = world.document(world.peer_code, world.agency)
        calls = poison(monkeypatch, edoc.effective_document_id, KeyError("bug"))
        doc_id = world.peer_sends(edoc)
        world.hub_transport.drain(0)
        runtime = world.runtime()
        while world.clock() < 1000 + 590:  # retried with backoff for almost ten minutes: held, not parked
            runtime.step()
            world.clock.advance(10)
        assert len(calls) >= 5
        assert runtime.lanes.incoming.held
        world.hub_transport.drain(0)
        assert world.peer_inbox() == []
        world.clock.advance(20)
        for _ in range(3):
            runtime.step()
            world.clock.advance(300)
        world.hub_transport.drain(0)
        world.peer_inbox()
        assert codes(world, doc_id) == ["02"]
        description = world.peer.received[-1].package.description or ""  # type: ignore[union-attr]
        assert "phút" in description
    finally:
        world.close()


def test_an_outgoing_document_that_keeps_failing_is_marked_failed_with_the_reason(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vbcore.connector.runtime as runtime_module

    stuck = dms.put_outgoing(world.document(world.agency, world.peer_code))
    fine = dms.put_outgoing(world.document(world.agency, world.peer_code))
    real = runtime_module.prepare_outgoing

    def prepare(item, **kwargs):  # type: ignore[no-untyped-def]
        if item.id == stuck:
            raise MemoryError("out of memory while signing")
        return real(item, **kwargs)

    monkeypatch.setattr(runtime_module, "prepare_outgoing", prepare)
    world.pump(60)
    assert dms.outgoing_state(fine) == "sent"
    assert dms.outgoing_state(stuck) == "failed"
    reason = dms.failure_reason(stuck) or ""
    assert reason.startswith("Không gửi được văn bản: gửi văn bản bị lỗi 3 lần")
    assert "MemoryError" in reason


def test_an_event_that_keeps_failing_goes_to_events_failed_and_the_next_one_is_sent(
    world: World, dms: FolderDms, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = world.peer_sends(world.document(world.peer_code, world.agency))
    world.pump()
    runtime = world.runtime()
    real = runtime.statuses.send

    def send(response_for, code, *args):  # type: ignore[no-untyped-def]
        if code.value == "04":
            raise ValueError("staff name too long for the schema")
        return real(response_for, code, *args)

    runtime.statuses.send = send  # type: ignore[method-assign]
    dms.emit_event(doc_id, "04", "Giao Phòng Tổng hợp")
    dms.emit_event(doc_id, "03", "Đã vào sổ")
    world.pump(60)
    world.peer_inbox()
    assert codes(world, doc_id) == ["01", "03"]
    [failed] = (dms.root / "events" / "failed").glob("*.json")
    reason = (dms.root / "events" / "failed" / f"{failed.name}.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("Không gửi được trạng thái xử lý văn bản")
    assert "ValueError" in reason
