"""The SQL connector's own guarantees: the transactional outbox across crashes, idempotent tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_conformance_sql import SqlDms, factory

from connectors import sql_schema as schema
from connectors.sql import SqlConnector
from vbcore.connector import ConnectorContext, StatusUpdate
from vbcore.errors import ConfigurationError, DmsUnavailable
from vbcore.model import StaffInfo
from vbcore.status import StatusCode
from vbcore.testing.conformance_world import Identities, SimulatedCrash, World, incoming_document


@pytest.fixture
def dms(tmp_path: Path) -> Iterator[SqlDms]:
    dms = SqlDms(f"sqlite:///{tmp_path}/dms.sqlite3")
    yield dms
    dms.close()


@pytest.fixture
def world(tmp_path: Path, dms: SqlDms, vbus_conformance_identities: Identities) -> Iterator[World]:
    w = World(tmp_path / "world", factory(dms.url), identities=vbus_conformance_identities)
    yield w
    w.close()


def context(tmp_path: Path) -> ConnectorContext:
    return ConnectorContext("000.00.00.H24", tmp_path)


def documents_at_peer(world: World) -> list[str]:
    return [i.package.effective_document_id for i in world.peer_inbox() if i.kind == "edoc"]  # type: ignore[union-attr]


def test_a_crash_between_publish_and_mark_sends_the_document_once(world: World, dms: SqlDms) -> None:
    edoc = world.document(world.agency, world.peer_code)
    outgoing_id = dms.put_outgoing(edoc)

    def die() -> None:
        raise SimulatedCrash("killed after the broker confirmed, before the DMS heard of it")

    world.once("before:mark_sent", die)
    with pytest.raises(SimulatedCrash):
        world.pump()
    assert dms.outgoing_state(outgoing_id) == "pending"  # the outbox row survived the crash
    world.crash()
    world.pump()
    assert dms.outgoing_state(outgoing_id) == "sent"
    assert documents_at_peer(world) == [edoc.effective_document_id]
    assert dms.db.query("SELECT count(*) FROM vb_outbox") == [(0,)]


def test_a_crash_before_the_ledger_heard_of_the_publish_is_deduplicated_by_the_hub(
    world: World, dms: SqlDms
) -> None:
    edoc = world.document(world.agency, world.peer_code)
    outgoing_id = dms.put_outgoing(edoc)
    runtime = world.runtime()
    publish = runtime.client.submit_many_signed  # a document never tried goes out in a batch

    def publish_then_die(*args: Any, **kwargs: Any) -> list[str]:
        publish(*args, **kwargs)
        raise SimulatedCrash("killed right after the publish was confirmed")

    runtime.client.submit_many_signed = publish_then_die  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.pump()
    world.crash()
    world.pump()  # the restarted process sends the same DocumentId again; the hub refuses the copy
    assert documents_at_peer(world) == [edoc.effective_document_id]
    assert dms.outgoing_state(outgoing_id) == "sent"
    received = dms.db.query("SELECT code FROM vb_status_received WHERE document_id = ?",
                            (edoc.effective_document_id,))
    assert received == []  # the hub's "duplicate" answer to our own resend is not shown to the clerk


def test_a_dms_transaction_that_rolls_back_leaves_nothing_to_send(tmp_path: Path, dms: SqlDms) -> None:
    def dms_writes_then_fails() -> None:
        with schema.transaction(dms.db):
            schema.add_outgoing_rows(dms.db, "cv-1", b"<edXML/>")
            raise RuntimeError("the DMS failed before its commit")

    with pytest.raises(RuntimeError):
        dms_writes_then_fails()
    connector = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    assert list(connector.poll_outgoing()) == []
    assert dms.db.query("SELECT count(*) FROM vb_outgoing") == [(0,)]


def test_an_outgoing_row_without_its_outbox_row_is_not_sent(tmp_path: Path, dms: SqlDms) -> None:
    dms.db.execute("INSERT INTO vb_outgoing (id, package, created_at) VALUES (?, ?, ?)",
                   ("draft-1", b"<edXML/>", datetime.now(UTC)))
    schema.enqueue_outgoing(dms.db, "cv-2", b"<edXML/>")
    connector = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    assert [o.id for o in connector.poll_outgoing()] == ["cv-2"]


def test_a_failed_document_keeps_its_reason_and_leaves_the_outbox(tmp_path: Path, dms: SqlDms) -> None:
    schema.enqueue_outgoing(dms.db, "cv-3", b"<edXML/>")
    connector = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    connector.mark_failed("cv-3", "From/OrganId is not this agency")
    connector.mark_sent("cv-3", "late")  # a late mark does not turn a failed document into a sent one
    assert dms.outgoing_state("cv-3") == "failed"
    assert dms.failure_reason("cv-3") == "From/OrganId is not this agency"
    assert list(connector.poll_outgoing()) == []


def test_two_connector_processes_register_a_document_once(
    tmp_path: Path, dms: SqlDms, world: World
) -> None:
    doc = incoming_document(world, world.document(world.peer_code, world.agency))
    first = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    second = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    a, b = first.deliver(doc), second.deliver(doc)
    assert (a.already_delivered, b.already_delivered) == (False, True)
    assert a.dms_id == b.dms_id
    assert dms.delivered() == [doc.document_id]


def test_a_status_recorded_twice_is_kept_once(tmp_path: Path, dms: SqlDms) -> None:
    connector = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    status = StatusUpdate("doc-1", StatusCode.REGISTERED, "000.00.00.G22", "Đã vào sổ", StaffInfo(),
                          datetime(2026, 11, 24, 9, 0), "cv-1")
    connector.on_status(status)
    connector.on_status(status)
    assert dms.statuses("doc-1") == [("03", "000.00.00.G22")]


def test_clerk_events_come_back_with_their_staff_and_time(tmp_path: Path, dms: SqlDms) -> None:
    at = datetime(2026, 11, 24, 14, 5, 0)
    schema.add_status_event(dms.db, "doc-9", "5", "Đang xử lý", StaffInfo("Văn thư", "Trần Thị B"), at)
    connector = SqlConnector.from_config({"url": dms.url}, context(tmp_path))
    [event] = connector.poll_events()
    assert (event.code, event.description, event.at) == (StatusCode.PROCESSING, "Đang xử lý", at)
    assert event.staff.staff == "Trần Thị B"
    connector.mark_event_sent(event.event_id)
    assert list(connector.poll_events()) == []


def test_a_database_that_cannot_be_opened_is_an_outage_not_a_bug(tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    connector = SqlConnector.from_config({"url": url}, context(tmp_path))
    with pytest.raises(DmsUnavailable, match="cannot be opened"):
        connector.poll_outgoing()


def test_an_unknown_change_policy_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="changes must be one of"):
        SqlConnector.from_config({"url": "sqlite://", "changes": "maybe"}, context(tmp_path))


def test_create_schema_is_idempotent_and_makes_every_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.sqlite3"
    SqlConnector.create_schema(url)
    SqlConnector.create_schema(url)
    db = schema.connect(url)
    names = {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert set(schema.TABLES) <= names
