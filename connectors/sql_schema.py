"""The tables of an SQL DMS that talks to vbus, and what the DMS itself writes into them.

The DMS owns these tables; the SQL connector (``connectors.sql``) reads and marks them. SQLite or
PostgreSQL, through the project's one database boundary (``vbcore.database.open_driver``: ``sqlite3`` and
``psycopg`` are imported there only, with their errors already translated into ``StoreError``).

================================  ===========================================================================
``vb_outgoing``                   documents the DMS sends: its own id, the edXML package (unsigned: the
                                  connector signs it with the agency's key; or already signed by the DMS),
                                  ``state`` pending -> sent | failed, the DocumentId sent, the failure reason
``vb_outbox``                     the **transactional outbox**: one row per document still to publish,
                                  written in the SAME transaction as its ``vb_outgoing`` row
                                  (:func:`enqueue_outgoing`); the connector deletes it in the same
                                  transaction that marks the document sent or failed
``vb_incoming``                   documents received, one row per DocumentId (UNIQUE: a redelivery after
                                  a crash registers nothing twice), with the signed package as evidence
``vb_incoming_attachment``        their attachment files
``vb_status_event``               what clerks did (03 registered, 02 refused, 04, 05, 06, 13, 15, 16):
                                  ``sent_at`` is NULL until the connector published the status (or
                                  gave up on it: then ``failure_reason`` says why, for the clerk)
``vb_status_received``            statuses about documents this DMS sent (01..06, 02, 15, 16), once each
``vb_change_request``             revoke / update / replace requests from senders, with the decision
================================  ===========================================================================

Why the outbox makes a crash harmless: the DMS commits the document and its outbox row together, so
a document is either not there at all or there to be sent. The connector publishes, then deletes the
outbox row; a crash in between leaves the row, the document is offered again, and the runtime's
ledger (or, if that is lost too, the hub's duplicate check on the same DocumentId) keeps it from
reaching the recipient twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from vbcore.database import open_driver
from vbcore.database.driver import Driver
from vbcore.model import StaffInfo
from vbcore.status import StatusCode

TABLES = (
    "vb_outgoing", "vb_outbox", "vb_incoming", "vb_incoming_attachment",
    "vb_status_event", "vb_status_received", "vb_change_request",
)  # fmt: skip

_DDL = (
    """CREATE TABLE IF NOT EXISTS vb_outgoing (
        id TEXT PRIMARY KEY,
        package {blob} NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        document_id TEXT,
        failure_reason TEXT,
        created_at {utc} NOT NULL,
        settled_at {utc})""",
    """CREATE TABLE IF NOT EXISTS vb_outbox (
        seq {id},
        outgoing_id TEXT NOT NULL UNIQUE REFERENCES vb_outgoing (id),
        created_at {utc} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vb_incoming (
        id {id},
        document_id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        subject TEXT,
        code TEXT,
        message_id TEXT,
        package {blob} NOT NULL,
        received_at {utc} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vb_incoming_attachment (
        document_id TEXT NOT NULL REFERENCES vb_incoming (document_id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT,
        description TEXT,
        content {blob} NOT NULL,
        PRIMARY KEY (document_id, position))""",
    """CREATE TABLE IF NOT EXISTS vb_status_event (
        id {id},
        document_id TEXT NOT NULL,
        code TEXT NOT NULL,
        description TEXT,
        staff_department TEXT,
        staff_name TEXT,
        staff_email TEXT,
        staff_mobile TEXT,
        at {local},
        created_at {utc} NOT NULL,
        sent_at {utc},
        failure_reason TEXT)""",
    """CREATE TABLE IF NOT EXISTS vb_status_received (
        id {id},
        status_key TEXT NOT NULL UNIQUE,
        document_id TEXT NOT NULL,
        outgoing_id TEXT,
        code TEXT NOT NULL,
        from_agency TEXT NOT NULL,
        from_hub INTEGER NOT NULL,
        description TEXT,
        status_time {local},
        received_at {utc} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vb_change_request (
        id {id},
        request_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        document_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        reason TEXT,
        replaced_ids TEXT,
        decision TEXT,
        received_at {utc} NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS vb_status_event_unsent ON vb_status_event (sent_at, id)",
    "CREATE INDEX IF NOT EXISTS vb_status_received_document ON vb_status_received (document_id, id)",
)

_BLOB = {"sqlite": "BLOB", "postgresql": "BYTEA"}


def now_utc() -> datetime:
    return datetime.now(UTC)


def connect(url: str) -> Driver:
    """A connection to the DMS database: ``sqlite:///dms.db`` or ``postgresql://...?schema=dms``."""
    return open_driver(url)


@contextmanager
def transaction(db: Driver) -> Iterator[Driver]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    db.execute(db.dialect.begin)
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def create_schema(db: Driver) -> None:
    """Create the tables (idempotent). On PostgreSQL also the URL's ``schema``, if it is missing."""
    with transaction(db):
        db.lock_for_migration()
        for statement in _DDL:
            db.execute(
                statement.format(
                    id=db.dialect.id_type, utc=db.dialect.utc_type, local=db.dialect.local_type,
                    blob=_BLOB[db.dialect.name],
                )
            )
        if not has_column(db, "vb_status_event", "failure_reason"):  # tables made by vbus 0.1
            db.execute("ALTER TABLE vb_status_event ADD COLUMN failure_reason TEXT")


def has_column(db: Driver, table: str, column: str) -> bool:
    """Whether ``table`` (in the connection's schema) has ``column``."""
    if db.dialect.name == "sqlite":
        return any(row[1] == column for row in db.query(f"PRAGMA table_info({table})"))
    rows = db.query(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND column_name = ?",
        (table, column),
    )
    return bool(rows)


# --- what the DMS writes (its side of the contract) -------------------------------------------


def enqueue_outgoing(db: Driver, outgoing_id: str, package: bytes) -> None:
    """The DMS hands a document to vbus: the document row and its outbox row in ONE transaction.

    A DMS that already has its own transaction open calls :func:`add_outgoing_rows` inside it instead.
    """
    with transaction(db):
        add_outgoing_rows(db, outgoing_id, package)


def add_outgoing_rows(db: Driver, outgoing_id: str, package: bytes) -> None:
    """Inside the caller's transaction: insert the outgoing document and its outbox row."""
    at = now_utc()
    db.execute("INSERT INTO vb_outgoing (id, package, created_at) VALUES (?, ?, ?)",
               (outgoing_id, package, at))
    db.execute("INSERT INTO vb_outbox (outgoing_id, created_at) VALUES (?, ?)", (outgoing_id, at))


def add_status_event(
    db: Driver,
    document_id: str,
    code: StatusCode | str,
    description: str | None = None,
    staff: StaffInfo | None = None,
    at: datetime | None = None,
) -> None:
    """A clerk acted on a document (one row; the connector turns it into a status package)."""
    code = code if isinstance(code, StatusCode) else StatusCode.parse(code)
    staff = staff or StaffInfo()
    db.execute(
        "INSERT INTO vb_status_event (document_id, code, description, staff_department, staff_name,"
        " staff_email, staff_mobile, at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (document_id, code.value, description, staff.department, staff.staff, staff.email, staff.mobile,
         at, now_utc()),
    )
