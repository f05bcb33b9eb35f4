"""The SQL connector: a DMS whose documents live in relational tables (SQLite or PostgreSQL).

The tables and what the DMS writes are described in ``connectors.sql_schema``; for a new DMS,
``SqlConnector.create_schema(url)`` makes them. Configuration::

    [connector]                       # vb connector run ... / a vbus.toml section
    name = "sql"
    url = "postgresql://dms@db.example/qlvb?schema=vbus"    # or sqlite:////srv/qlvb/dms.db
    changes = "pending"               # revoke/update/replace: pending (a clerk answers 15/16), accept, refuse
    batch = 50                        # outbox rows taken per round

How each call of the contract maps onto the tables:

- ``poll_outgoing``: the outbox rows, oldest first, joined to their ``vb_outgoing`` package;
- ``mark_sent`` / ``mark_failed``: ONE transaction sets the document's state and deletes its outbox row;
- ``deliver``: ``INSERT`` into ``vb_incoming`` with ``ON CONFLICT (document_id) DO NOTHING`` and the
  attachments, in one transaction; a second delivery of the same DocumentId from the same sender inserts
  nothing and returns the first row's id (``already_delivered``); from ANOTHER sender it is refused
  (``DmsRefused``: a 02 to that sender), since the table holds one document per DocumentId;
- ``poll_events`` / ``mark_event_sent`` / ``mark_event_failed``: ``vb_status_event`` rows whose
  ``sent_at`` is NULL / set it (and, for a failed one, ``failure_reason`` when the table has it);
- ``on_status``: one ``vb_status_received`` row per (document, sender, code, time), idempotent;
- ``on_change`` (revoke, update, replace): one ``vb_change_request`` row; the decision follows
  ``changes`` (``pending``: a clerk answers later with a 15 or 16 row in ``vb_status_event``).

Run one connector process per DMS database: the outbox is read without row locks, so two processes
would both offer the same document (the runtime's ledger and the hub's duplicate check would still
keep it from arriving twice, but the second copy earns a refusal in the logs).
A database that cannot be reached is ``DmsUnavailable`` (the runtime retries with backoff).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from connectors import sql_schema as schema
from connectors.database import LazyDatabase, WithDatabase
from vbcore import __version__
from vbcore.connector import (
    ChangeDecision,
    ChangeRequest,
    Connector,
    ConnectorContext,
    DmsEvent,
    DmsReceipt,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
    check_change_policy,
)
from vbcore.database.driver import maybe_local
from vbcore.errors import ConfigurationError, DmsRefused, DmsUnavailable, StoreError
from vbcore.lang import Text
from vbcore.model import StaffInfo
from vbcore.status import StatusCode

_TAKEN = Text("Hệ thống đã có văn bản mã {document_id} của cơ quan {other}; không lưu được văn bản thứ hai "
              "cùng mã định danh",
              "This DMS already holds document {document_id} from {other}; it cannot hold a second "
              "document under one identifier")


def _blob(value: object) -> bytes:
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()


class SqlConnector(WithDatabase, Connector):
    """Outbox, incoming and status tables of a relational DMS."""

    name = "sql"
    version = __version__

    @dataclass(frozen=True)
    class Config:
        url: str
        changes: str = "pending"
        batch: int = 50
        create_schema: bool = False  # create the tables on start (a new DMS); off for a DMS that has them

    config: SqlConnector.Config

    def __init__(self, config: SqlConnector.Config, context: ConnectorContext) -> None:
        super().__init__(config, context)
        check_change_policy("sql", config.changes)
        if config.batch < 1:
            raise ConfigurationError("sql: batch must be at least 1")
        prepare = schema.create_schema if config.create_schema else None
        self.database = LazyDatabase(lambda: schema.connect(config.url), "the DMS database", prepare)
        self._failure_column: bool | None = None

    @staticmethod
    def create_schema(url: str) -> None:
        """Create the connector's tables in the database at ``url`` (a new DMS; idempotent)."""
        db = schema.connect(url)
        try:
            schema.create_schema(db)
        finally:
            db.close()

    # --- connection ---------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self.db.query(sql, params)
        except StoreError as exc:
            raise DmsUnavailable(f"the DMS database failed: {exc}") from exc

    def _write(self, statements: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run ``statements`` in one transaction; the row counts. A database failure is an outage."""
        try:
            with schema.transaction(self.db) as db:
                return [db.execute(sql, params) for sql, params in statements]
        except StoreError as exc:
            raise DmsUnavailable(f"the DMS database failed: {exc}") from exc

    # --- sending ------------------------------------------------------------------------------
    def poll_outgoing(self) -> Iterable[Outgoing]:
        found = self._query(
            "SELECT o.id, o.package FROM vb_outbox b JOIN vb_outgoing o ON o.id = b.outgoing_id"
            " ORDER BY b.seq LIMIT ?",
            (self.config.batch,),
        )
        return [Outgoing(str(outgoing_id), edxml=_blob(package)) for outgoing_id, package in found]

    def _settle(self, outgoing_id: str, state: str, document_id: str | None, reason: str | None) -> None:
        self._write([
            ("UPDATE vb_outgoing SET state = ?, document_id = COALESCE(?, document_id), failure_reason = ?,"
             " settled_at = ? WHERE id = ? AND state = 'pending'",
             (state, document_id, reason, schema.now_utc(), outgoing_id)),
            ("DELETE FROM vb_outbox WHERE outgoing_id = ?", (outgoing_id,)),
        ])

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        self._settle(outgoing_id, "sent", document_id, None)

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        self._settle(outgoing_id, "failed", None, reason)

    # --- receiving ----------------------------------------------------------------------------
    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        edoc = doc.edoc
        statements: list[tuple[str, tuple[object, ...]]] = [(
            "INSERT INTO vb_incoming (document_id, sender, subject, code, message_id, package, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (document_id) DO NOTHING",
            (doc.document_id, doc.sender, edoc.subject, str(edoc.code) or None, doc.message_id, doc.raw,
             doc.received_at),
        )]
        try:
            with schema.transaction(self.db) as db:
                inserted = db.execute(*statements[0]) == 1
                if inserted:
                    for position, a in enumerate(edoc.attachments):
                        db.execute(
                            "INSERT INTO vb_incoming_attachment (document_id, position, name, content_type,"
                            " description, content) VALUES (?, ?, ?, ?, ?, ?)",
                            (doc.document_id, position, a.name, a.content_type, a.description,
                             a.content.read_bytes()),
                        )
                row = db.query("SELECT id, sender FROM vb_incoming WHERE document_id = ?", (doc.document_id,))
        except StoreError as exc:
            raise DmsUnavailable(f"the DMS database failed: {exc}") from exc
        if str(row[0][1]) != doc.sender:  # another agency's document under this id: not a duplicate
            text = _TAKEN.format(document_id=doc.document_id, other=row[0][1])
            raise DmsRefused(text("en"), vi=text("vi"))
        return DmsReceipt(str(row[0][0]), already_delivered=not inserted)

    # --- events -------------------------------------------------------------------------------
    def poll_events(self) -> Iterable[DmsEvent]:
        found = self._query(
            "SELECT id, document_id, code, description, staff_department, staff_name, staff_email,"
            " staff_mobile, at FROM vb_status_event WHERE sent_at IS NULL ORDER BY id LIMIT ?",
            (self.config.batch,),
        )
        events = []
        for event_id, document_id, code, description, dept, staff, email, mobile, at in found:
            events.append(DmsEvent(
                event_id=str(event_id), document_id=str(document_id), code=StatusCode.parse(str(code)),
                description=None if description is None else str(description),
                staff=StaffInfo(*(None if v is None else str(v) for v in (dept, staff, email, mobile))),
                at=maybe_local(at),
            ))
        return events

    def mark_event_sent(self, event_id: str) -> None:
        self._write([("UPDATE vb_status_event SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                      (schema.now_utc(), int(event_id)))])

    def mark_event_failed(self, event_id: str, reason: str) -> None:
        if not self._has_failure_reason():  # a DMS table from before vbus 0.2: the runtime logs it
            super().mark_event_failed(event_id, reason)
            return
        self._write([("UPDATE vb_status_event SET sent_at = ?, failure_reason = ?"
                      " WHERE id = ? AND sent_at IS NULL", (schema.now_utc(), reason, int(event_id)))])

    def _has_failure_reason(self) -> bool:
        if self._failure_column is None:
            self._failure_column = schema.has_column(self.db, "vb_status_event", "failure_reason")
        return self._failure_column

    # --- statuses and changes -----------------------------------------------------------------
    def on_status(self, status: StatusUpdate) -> None:
        stamp = status.timestamp.isoformat() if status.timestamp else ""
        digest = hashlib.sha256((status.description or "").encode("utf-8")).hexdigest()[:16]
        key = f"{status.document_id}|{status.from_agency}|{status.code.value}|{stamp}|{digest}"
        self._write([(
            "INSERT INTO vb_status_received (status_key, document_id, outgoing_id, code, from_agency,"
            " from_hub, description, status_time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (status_key) DO NOTHING",
            (key, status.document_id, status.outgoing_id, status.code.value, status.from_agency,
             int(status.from_hub), status.description, status.timestamp, schema.now_utc()),
        )])

    def _change(self, request: ChangeRequest, ids: tuple[str, ...]) -> ChangeDecision:
        missing = [i for i in ids
                   if not self._query("SELECT 1 FROM vb_incoming WHERE document_id = ?", (i,))]
        kind = request.kind.name.lower()
        if missing:
            decision = ChangeDecision.refuse(f"document {', '.join(missing)} is not in this DMS")
        else:
            decision = ChangeDecision.by_policy(self.config.changes, kind)
        label = {True: "accepted", False: "refused", None: None}[decision.accepted]
        key = hashlib.sha256(f"{kind}|{request.document_id}|{request.sender}|{request.reason}|{ids}"
                             .encode()).hexdigest()
        self._write([(
            "INSERT INTO vb_change_request (request_key, kind, document_id, sender, reason, replaced_ids,"
            " decision, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_key) DO NOTHING",
            (key, kind, request.document_id, request.sender, request.reason,
             "\n".join(request.replaced_ids) or None, label, schema.now_utc()),
        )])
        return decision

    def on_change(self, request: ChangeRequest) -> ChangeDecision:
        # A replace names the documents it replaces; a revoke or an update, the one it changes.
        return self._change(request, request.replaced_ids or (request.document_id,))
