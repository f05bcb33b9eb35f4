"""Versioned schema migrations: an ordered list of SQL steps, applied when a store opens.

Each ``Migration`` runs in one transaction with its row in ``schema_version``; the whole run holds the
migration lock (SQLite's write lock, PostgreSQL's advisory lock), so two processes opening a new
database at once migrate it once. Never edit a released migration: append a new one.

Columns of type ``{utc}`` hold instants (UTC), ``{local}`` naive Vietnam local times (a status package's
``Timestamp``, and the times the status-ordering rule compares). No foreign keys: the hub may record a
pair, a refusal or a trace event for a document whose own record failed or came later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from vbcore.database.driver import Driver
from vbcore.errors import StoreSchemaTooNew
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store.api import KEY_SEPARATOR, ChangeMarker
from vbcore.store.evidence_log import MIGRATION_STEPS as EVIDENCE_STEPS
from vbcore.text import fold

Step = str | Callable[[Driver], None]
"""A DDL/SQL statement, or a function for what SQL cannot do alone (accent-folding existing rows)."""


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    steps: tuple[Step, ...]


_REVOKE, _AGREED, _REFUSED = (
    int(BusinessDocType.REVOKE),
    StatusCode.CHANGE_ACCEPTED.value,
    StatusCode.CHANGE_REFUSED.value,
)
_ANSWER_MARKER = (
    f"CASE WHEN d.business_type = {_REVOKE} AND e.code = '{_AGREED}' THEN '{ChangeMarker.REVOKED}'"
    f" WHEN d.business_type = {_REVOKE} THEN '{ChangeMarker.REVOKE_REFUSED}'"
    f" WHEN e.code = '{_AGREED}' THEN '{ChangeMarker.CHANGED}' ELSE '{ChangeMarker.CHANGE_REFUSED}' END"
)


def _latest_answer(column: str) -> str:
    """``column`` of the latest 15/16 a change package's recipient sent about the original after the
    change reached the hub (receivers answer a change about the document it changes)."""
    return (
        f"(SELECT {column} FROM status_events e JOIN documents d ON e.document_id = d.related_document_id"  # noqa: S608
        " WHERE d.document_id = pairs.document_id AND d.business_type <> 0 AND e.recipient = pairs.recipient"
        f" AND e.code IN ('{_AGREED}', '{_REFUSED}') AND e.received_at >= pairs.accepted_at"
        " ORDER BY e.received_at DESC, e.id DESC LIMIT 1)"
    )


_ANSWERED_CHANGES = (
    "UPDATE pairs SET"  # noqa: S608 - fixed text of this module
    f" last_status = {_latest_answer('e.code')},"
    f" last_status_at = {_latest_answer('e.received_at')},"
    f" last_status_time = {_latest_answer('e.status_time')},"
    f" change = {_latest_answer(_ANSWER_MARKER)},"
    f" change_time = {_latest_answer('e.status_time')}"
    f" WHERE last_status IS NULL AND EXISTS {_latest_answer('1')}"
)
"""Migration 3: what a 15/16 about the original now does to the change packages it answers
(``SqlStore._changes_answered``), done once for the answers recorded before."""

# Migration 4: documents tracked by (sender, DocumentId). A document whose id does not begin with its
# sender's code ("<sender>,...") is re-keyed "<sender>|<id>" everywhere it is named, its old id kept as
# written. Old ids are read before they change: dependants first, the documents themselves last.
_FOREIGN = "substr({t}.document_id, 1, length({t}.sender) + 1) <> {t}.sender || ','"
_RE_KEYED = "SELECT d.document_id FROM documents d WHERE " + _FOREIGN.format(t="d")  # noqa: S608


def _re_key(table: str, column: str = "document_id") -> str:
    return (
        f"UPDATE {table} SET {column} = (SELECT d.sender || '{KEY_SEPARATOR}' || d.document_id"  # noqa: S608
        f" FROM documents d WHERE d.document_id = {table}.{column}) WHERE {column} IN ({_RE_KEYED})"
    )


_BY_SENDER = (
    "ALTER TABLE documents ADD COLUMN edxml_document_id TEXT",
    # A change package that reused its original's DocumentId is tracked as "<original>#<kind>-<sha>".
    "UPDATE documents SET edxml_document_id = CASE WHEN related_document_id IS NOT NULL"
    " AND substr(document_id, 1, length(related_document_id) + 1) = related_document_id || '#'"
    " THEN related_document_id ELSE document_id END",
    _re_key("pairs"),
    _re_key("status_events"),
    _re_key("trace_events"),
    _re_key("refusals"),
    _re_key("documents", "related_document_id"),
    f"UPDATE documents SET document_id = sender || '{KEY_SEPARATOR}' || document_id"  # noqa: S608
    f" WHERE {_FOREIGN.format(t='documents')}",
    "CREATE INDEX documents_written_as ON documents (edxml_document_id)",
)

SEARCH_COLUMNS = ("type_key", "search_text")
"""Kept beside each document for the web board's search (``vbcore.store.board``): its type name and its
subject folded by ``vbcore.text.fold`` (no accents, no case), since neither SQLite nor a stock
PostgreSQL can fold Vietnamese accents in a query."""


def search_columns(subject: str | None, type_name: str | None) -> tuple[str | None, str | None]:
    return (fold(type_name) if type_name else None, fold(subject) if subject else None)


_FOLD_PAGE = 1000


def _fold_subjects(db: Driver) -> None:
    """Migration 6: fold the subjects recorded before it, a page at a time (keyset on the key)."""
    after = ""
    while rows := db.query(
        "SELECT document_id, subject FROM documents WHERE document_id > ? ORDER BY document_id LIMIT ?",
        (after, _FOLD_PAGE),
    ):
        for document_id, subject in rows:
            if subject is not None:
                folded = fold(str(subject))
                update = "UPDATE documents SET search_text = ? WHERE document_id = ?"
                db.execute(update, (folded, document_id))
        after = str(rows[-1][0])


_WEB_BOARD = (
    # Accounts of the web board (``vbcore.store.accounts``): a password hash only (argon2id), never a
    # password; an agency account's code in ``agency``.
    """CREATE TABLE web_accounts (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        agency TEXT,
        created_at {utc} NOT NULL,
        password_changed_at {utc} NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until {utc}
    )""",
    # A session is found by the SHA-256 of its cookie: the table does not hold a usable token.
    """CREATE TABLE web_sessions (
        token_sha256 TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at {utc} NOT NULL,
        expires_at {utc} NOT NULL
    )""",
    "CREATE INDEX web_sessions_username ON web_sessions (username)",
    # What an operator did to a parked message, and who (until the evidence log records it).
    """CREATE TABLE operator_actions (
        id {id},
        at {utc} NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        message_id TEXT NOT NULL,
        document_id TEXT,
        sender TEXT,
        reason TEXT,
        outcome TEXT NOT NULL
    )""",
    "CREATE INDEX operator_actions_document ON operator_actions (document_id)",
)

_RECEIPTS = (
    # Migration 9: the hub's receipts (``vbcore.evidence.receipt``). Not in the evidence log's entries:
    # a receipt signs its entry's hash, so it cannot be inside it; and one seal (a signed Merkle root)
    # covers a whole batch of receipts, kept once here rather than in every entry it covers.
    """CREATE TABLE evidence_seals (
        seal_id TEXT PRIMARY KEY,
        statement TEXT NOT NULL
    )""",
    """CREATE TABLE evidence_receipts (
        receipt_id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipient TEXT,
        seq BIGINT,
        seal_id TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX evidence_receipts_document ON evidence_receipts (document_id, kind, recipient)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "documents, delivery pairs, status events, refusals, hub trace",
        (
            """CREATE TABLE documents (
                document_id TEXT PRIMARY KEY,
                sender TEXT NOT NULL,
                business_type INTEGER NOT NULL,
                subject TEXT,
                code TEXT,
                message_id TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                received_at {utc} NOT NULL,
                related_document_id TEXT
            )""",
            "CREATE INDEX documents_received_at ON documents (received_at, document_id)",
            "CREATE INDEX documents_related ON documents (related_document_id)",
            """CREATE TABLE pairs (
                document_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                state TEXT NOT NULL,
                state_time {local},
                accepted_at {utc} NOT NULL,
                forwarded_at {utc},
                last_status TEXT,
                last_status_at {utc},
                last_status_time {local},
                change TEXT,
                change_time {local},
                deadline {utc},
                PRIMARY KEY (document_id, recipient)
            )""",
            "CREATE INDEX pairs_deadline ON pairs (deadline)",
            """CREATE TABLE status_events (
                id {id},
                document_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                code TEXT NOT NULL,
                description TEXT,
                status_time {local},
                received_at {utc} NOT NULL,
                from_agency TEXT NOT NULL
            )""",
            "CREATE INDEX status_events_document ON status_events (document_id)",
            """CREATE TABLE refusals (
                id {id},
                message_id TEXT NOT NULL,
                sender TEXT,
                document_id TEXT,
                recipient TEXT,
                reason TEXT NOT NULL,
                detail TEXT NOT NULL,
                at {utc} NOT NULL
            )""",
            "CREATE INDEX refusals_at ON refusals (at)",
            "CREATE INDEX refusals_document ON refusals (document_id)",
            """CREATE TABLE trace_events (
                id {id},
                document_id TEXT NOT NULL,
                hub_id TEXT NOT NULL,
                event TEXT NOT NULL,
                at {utc} NOT NULL
            )""",
            "CREATE INDEX trace_events_document ON trace_events (document_id)",
        ),
    ),
    Migration(
        2,
        "status events found by their pair (a circular's receipts cost one look-up each)",
        ("CREATE INDEX status_events_pair ON status_events (document_id, recipient)",),
    ),
    Migration(
        3,
        "revoke/update/replace packages answered by a 15/16 about the original are answered",
        (_ANSWERED_CHANGES,),
    ),
    Migration(
        4,
        "documents tracked by (sender, DocumentId): an id without the sender's code is <sender>|<id>",
        _BY_SENDER,
    ),
    Migration(
        5,
        "status events keep the message they came in (a replay under a new message id is refused)",
        ("ALTER TABLE status_events ADD COLUMN message_id TEXT",),
    ),
    Migration(
        6,
        "documents keep their type name and a folded subject (found with or without accents)",
        (
            "ALTER TABLE documents ADD COLUMN type_name TEXT",
            "ALTER TABLE documents ADD COLUMN type_key TEXT",
            "ALTER TABLE documents ADD COLUMN search_text TEXT",
            _fold_subjects,
            "CREATE INDEX documents_sender ON documents (sender, received_at)",
            "CREATE INDEX pairs_recipient ON pairs (recipient, document_id)",
        ),
    ),
    Migration(7, "web board accounts, their sessions, and what operators did to parked messages", _WEB_BOARD),
    Migration(8, "the evidence log: hash-linked entries, signed checkpoints, the one-row chain head",
              EVIDENCE_STEPS),
    Migration(9, "the hub's signed receipts (accepted, refused, delivered) and the seals of their batches",
              _RECEIPTS),
    Migration(10, "pairs nobody answered yet, by deadline: vb track --overdue reads only those (issue 13)",
              ("CREATE INDEX pairs_unanswered ON pairs (deadline) WHERE last_status IS NULL",)),
)

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    summary TEXT NOT NULL,
    applied_at {utc} NOT NULL
)"""


def migrate(
    db: Driver,
    transaction: Callable[[], AbstractContextManager[None]],
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Bring the database up to the last migration; return the versions applied now (often none)."""
    applied: list[int] = []
    known = max((m.version for m in migrations), default=0)
    with transaction():
        db.lock_for_migration()
        db.execute(db.dialect.ddl(_VERSION_TABLE))
        done = {int(str(v)) for (v,) in db.query("SELECT version FROM schema_version")}
        if done and max(done) > known:
            raise StoreSchemaTooNew(max(done), known)
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            with transaction():
                for step in migration.steps:
                    if isinstance(step, str):
                        db.execute(db.dialect.ddl(step))
                    else:
                        step(db)
                db.execute(
                    "INSERT INTO schema_version (version, summary, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.summary, datetime.now(UTC)),
                )
            applied.append(migration.version)
    return applied


def schema_version(db: Driver) -> int:
    rows = db.query("SELECT MAX(version) FROM schema_version")
    value = rows[0][0] if rows else None
    return int(str(value)) if value is not None else 0
