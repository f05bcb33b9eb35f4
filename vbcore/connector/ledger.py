"""The connector runtime's local memory: what was delivered, sent, answered, failed, across crashes.

A small SQLite file beside the connector (stdlib ``sqlite3``: one file, no server, transactional; the
tracking store's driver layer is for the hub's shared store, this is one process's private state).
Every ``record_*`` commits before it returns, so the runtime can order "DMS write -> ledger write ->
publish -> ledger write -> ack" and resume at the right point after a crash.

Documents that came in are keyed by (sender, DocumentId): a DocumentId belongs to its sender, and
another agency's document under the same id is another document, never a duplicate. A ledger written
by vbus 0.1 (keyed by DocumentId alone, ``user_version`` 0) is migrated when it opens.

For ``vb reconcile`` (``vbcore.operations``), which compares every connector's ledger with the hub's
store, a ledger also knows whose it is (``claim_agency``: the runtime claims it for its agency) and keeps
the statuses that came back about documents the agency sent (``record_status_received``; since
``statuses_since`` for a ledger written before version 3). ``all_sent``, ``all_delivered`` and
``all_statuses_received`` stream them back.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from vbcore.errors import LedgerOfAnotherAgency
from vbcore.evidence.receipt import Receipt

SCHEMA_VERSION = 4
_AGENCY = "agency"  # meta key: the agency whose connector writes this ledger
_STATUSES_SINCE = "statuses_since"  # meta key: statuses received are recorded from this time on
GIVE_UP_PREFIX = "give-up:out:"  # done key of an outgoing document the runtime gave up sending

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (
    sender TEXT NOT NULL, document_id TEXT NOT NULL, code TEXT, promulgation_date TEXT,
    dms_id TEXT, refused_reason TEXT, answer_sent INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL,
    PRIMARY KEY (sender, document_id));
CREATE INDEX IF NOT EXISTS delivered_document ON delivered (document_id);
CREATE TABLE IF NOT EXISTS sent (
    outgoing_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, recipients TEXT NOT NULL,
    code TEXT, promulgation_date TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    confirmed INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sent_document ON sent (document_id);
CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, value TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, lane TEXT NOT NULL, attempts INTEGER NOT NULL, first_at REAL NOT NULL,
    last_error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parks (
    key TEXT PRIMARY KEY, reason TEXT NOT NULL, parked INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS statuses (
    document_id TEXT NOT NULL, from_agency TEXT NOT NULL, code TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (document_id, from_agency, code));
CREATE TABLE IF NOT EXISTS packages (
    digest TEXT PRIMARY KEY, sender TEXT NOT NULL, document_id TEXT NOT NULL, body BLOB NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS packages_document ON packages (sender, document_id);
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, kind TEXT NOT NULL, recipient TEXT,
    package_digest TEXT, receipt TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS receipts_package ON receipts (package_digest);
"""
# vbus 0.1 keyed ``delivered`` by DocumentId alone; its rows keep their sender.
_MIGRATE_FROM_1 = """
ALTER TABLE delivered RENAME TO delivered_v1;
DROP INDEX IF EXISTS delivered_document;
"""
_COPY_FROM_1 = """
INSERT OR IGNORE INTO delivered (sender, document_id, code, promulgation_date, dms_id, refused_reason,
                                 answer_sent, at)
SELECT sender, document_id, code, promulgation_date, dms_id, refused_reason, answer_sent, at
FROM delivered_v1;
DROP TABLE delivered_v1;
"""
_DELIVERED_COLUMNS = "sender, document_id, code, promulgation_date, dms_id, refused_reason, answer_sent, at"
_SENT_COLUMNS = "outgoing_id, document_id, recipients, code, promulgation_date, attempts, confirmed, at"
_SENT_BY_OUTGOING = f"SELECT {_SENT_COLUMNS} FROM sent WHERE outgoing_id = ?"  # noqa: S608 - constant
_SENT_BY_DOCUMENT = f"SELECT {_SENT_COLUMNS} FROM sent WHERE document_id = ? ORDER BY at DESC LIMIT 1"  # noqa: S608


@dataclass(frozen=True)
class DeliveredDoc:
    sender: str
    document_id: str
    code: str | None
    promulgation_date: date | None
    dms_id: str | None  # None while refused
    refused_reason: str | None
    answer_sent: bool  # the 01 (or the 02 for a refused one) is confirmed by the broker
    at: datetime | None = None  # when it was recorded (UTC)


@dataclass(frozen=True)
class SentDoc:
    outgoing_id: str
    document_id: str
    recipients: tuple[str, ...]
    code: str | None
    promulgation_date: date | None
    attempts: int  # how many times it was submitted (more than one only after a crash)
    confirmed: bool
    at: datetime | None = None  # when it was first recorded (UTC)
    given_up: bool = False  # the runtime gave up sending it (the DMS was told); filled by ``all_sent``


@dataclass(frozen=True)
class StatusReceived:
    """A status about a document this agency sent, passed to its DMS."""

    document_id: str  # as the status wrote it (the DocumentId this agency wrote)
    from_agency: str  # who signed it (the recipient; the hub for its own 02)
    code: str
    at: datetime


@dataclass(frozen=True)
class Failure:
    """An item that failed in a way charged to it (not an outage): how often, since when, why last."""

    key: str
    lane: str
    attempts: int
    first_at: float  # wall-clock seconds of the first charged failure
    last_error: str


@dataclass(frozen=True)
class Park:
    """The decision to give up on a received message: why, and whether it is in the parking queue."""

    key: str
    reason: str
    parked: bool


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _instant(text: object) -> datetime:
    """A recorded time (ISO 8601, UTC); one without a zone is read as UTC."""
    at = datetime.fromisoformat(str(text))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _delivered(row: tuple[object, ...]) -> DeliveredDoc:
    sender, document_id, code, day, dms_id, refused, answered, at = row
    return DeliveredDoc(str(sender), str(document_id), code if code is None else str(code),
                        _day(day if day is None else str(day)), dms_id if dms_id is None else str(dms_id),
                        refused if refused is None else str(refused), bool(answered), _instant(at))


def _sent(row: tuple[object, ...], given_up: bool = False) -> SentDoc:
    outgoing_id, document_id, recipients, code, day, attempts, confirmed, at = row
    return SentDoc(str(outgoing_id), str(document_id), tuple(json.loads(str(recipients))),
                   code if code is None else str(code), _day(day if day is None else str(day)),
                   int(str(attempts)), bool(confirmed), _instant(at), given_up)


class Ledger:
    """Delivered and sent documents, done keys (events, statuses, changes), failures and parks."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            old = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'delivered'"
                " AND sql NOT LIKE '%PRIMARY KEY (sender, document_id)%'"
            ).fetchone()
            if old is not None:
                for statement in _MIGRATE_FROM_1.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            if old is not None:
                for statement in _COPY_FROM_1.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_STATUSES_SINCE, _now())
            )
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def copy_to(self, path: str | Path) -> None:
        """A consistent copy of the whole ledger at ``path`` (SQLite's online backup: safe while the
        connector writes), for the operator's ``vb reconcile``."""
        target = sqlite3.connect(str(path))
        try:
            self._db.backup(target)
        finally:
            target.close()

    # --- whose ledger ----------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def agency(self) -> str | None:
        """The agency whose connector writes this ledger (None: never claimed, written before 0.3)."""
        return self._meta(_AGENCY)

    def claim_agency(self, agency: str) -> None:
        """Record that ``agency``'s connector writes this ledger; raises ``LedgerOfAnotherAgency`` if
        another agency's did (two connectors sharing one ledger would mix up what each delivered)."""
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_AGENCY, agency))
        owner = self.agency
        if owner != agency:
            path = self._db.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
            raise LedgerOfAnotherAgency(path, str(owner), agency)

    @property
    def statuses_since(self) -> datetime | None:
        """Since when statuses received are recorded (a ledger older than that has none before)."""
        value = self._meta(_STATUSES_SINCE)
        return None if value is None else _instant(value)

    # --- documents that came in ----------------------------------------------------------------
    def delivered(self, sender: str, document_id: str) -> DeliveredDoc | None:
        row = self._db.execute(
            f"SELECT {_DELIVERED_COLUMNS} FROM delivered WHERE sender = ? AND document_id = ?",  # noqa: S608
            (sender, document_id),
        ).fetchone()
        return None if row is None else _delivered(row)

    def delivered_with_id(self, document_id: str) -> list[DeliveredDoc]:
        """Every document received under ``document_id``, whoever sent it (usually one)."""
        rows = self._db.execute(
            f"SELECT {_DELIVERED_COLUMNS} FROM delivered WHERE document_id = ? ORDER BY at",  # noqa: S608
            (document_id,),
        ).fetchall()
        return [_delivered(row) for row in rows]

    def record_delivered(
        self,
        document_id: str,
        sender: str,
        code: str | None,
        promulgation_date: date | None,
        *,
        dms_id: str | None,
        refused_reason: str | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO delivered (sender, document_id, code, promulgation_date, dms_id, refused_reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender, document_id) DO NOTHING",
            (
                sender,
                document_id,
                code,
                promulgation_date.isoformat() if promulgation_date else None,
                dms_id,
                refused_reason,
                _now(),
            ),
        )

    def record_answer_sent(self, sender: str, document_id: str) -> None:
        self._db.execute(
            "UPDATE delivered SET answer_sent = 1 WHERE sender = ? AND document_id = ?", (sender, document_id)
        )

    # --- documents that went out ---------------------------------------------------------------
    def sent(self, outgoing_id: str) -> SentDoc | None:
        return self._one_sent("outgoing_id", outgoing_id)

    def sent_document(self, document_id: str) -> SentDoc | None:
        return self._one_sent("document_id", document_id)

    def _one_sent(self, column: str, value: str) -> SentDoc | None:
        query = _SENT_BY_OUTGOING if column == "outgoing_id" else _SENT_BY_DOCUMENT
        row = self._db.execute(query, (value,)).fetchone()
        return None if row is None else _sent(row)

    def record_sending(
        self,
        outgoing_id: str,
        document_id: str,
        recipients: tuple[str, ...],
        code: str | None,
        promulgation_date: date | None,
    ) -> None:
        """Before the publish: one more attempt (so a resend after a crash is known as one)."""
        self._db.execute(
            "INSERT INTO sent (outgoing_id, document_id, recipients, code, promulgation_date, attempts, at)"
            " VALUES (?, ?, ?, ?, ?, 1, ?)"
            " ON CONFLICT (outgoing_id) DO UPDATE SET attempts = attempts + 1",
            (
                outgoing_id,
                document_id,
                json.dumps(list(recipients)),
                code,
                promulgation_date.isoformat() if promulgation_date else None,
                _now(),
            ),
        )

    def record_sent(self, outgoing_id: str) -> None:
        """After the broker confirmed the publish."""
        self._db.execute("UPDATE sent SET confirmed = 1 WHERE outgoing_id = ?", (outgoing_id,))

    # --- anything else done once (events, statuses passed to the DMS, change answers) ----------
    def is_done(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM done WHERE key = ?", (key,)).fetchone() is not None

    def value(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM done WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def mark_done(self, key: str, value: str | None = None) -> None:
        self._db.execute(
            "INSERT INTO done (key, value, at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value, _now()),
        )

    # --- failures charged to one item, and the decision to give up on it -----------------------
    def failure(self, key: str) -> Failure | None:
        row = self._db.execute(
            "SELECT key, lane, attempts, first_at, last_error FROM failures WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else Failure(row[0], row[1], int(row[2]), float(row[3]), row[4])

    def record_failure(self, key: str, lane: str, error: str, now: float) -> Failure:
        """One more failure of ``key``; the first one starts its clock."""
        self._db.execute(
            "INSERT INTO failures (key, lane, attempts, first_at, last_error) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error",
            (key, lane, 1, now, error),
        )
        failure = self.failure(key)
        assert failure is not None
        return failure

    def clear_failure(self, key: str) -> None:
        self._db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def park(self, key: str) -> Park | None:
        row = self._db.execute("SELECT key, reason, parked FROM parks WHERE key = ?", (key,)).fetchone()
        return None if row is None else Park(row[0], row[1], bool(row[2]))

    def record_park(self, key: str, reason: str) -> None:
        """The decision: this message will be parked with ``reason`` (kept if already decided)."""
        self._db.execute(
            "INSERT INTO parks (key, reason, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, reason, _now()),
        )

    def record_parked(self, key: str) -> None:
        """The message is in the parking queue."""
        self._db.execute("UPDATE parks SET parked = 1 WHERE key = ?", (key,))

    # --- statuses that came back about documents this agency sent --------------------------------
    def record_status_received(self, document_id: str, from_agency: str, code: str) -> None:
        self._db.execute(
            "INSERT INTO statuses (document_id, from_agency, code, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (document_id, from_agency, code) DO NOTHING",
            (document_id, from_agency, code, _now()),
        )

    def statuses_received(self, document_id: str) -> list[tuple[str, str]]:
        """``(from_agency, code)`` of every status received about ``document_id``."""
        rows = self._db.execute(
            "SELECT from_agency, code FROM statuses WHERE document_id = ? ORDER BY at, from_agency, code",
            (document_id,),
        ).fetchall()
        return [(str(a), str(c)) for a, c in rows]

    # --- in bulk, streamed (``vb reconcile``) ---------------------------------------------------
    def all_sent(self) -> Iterator[SentDoc]:
        cursor = self._db.execute(
            f"SELECT {', '.join('s.' + c for c in _SENT_COLUMNS.split(', '))}, d.key IS NOT NULL"  # noqa: S608
            " FROM sent s LEFT JOIN done d ON d.key = ? || s.outgoing_id",
            (GIVE_UP_PREFIX,),
        )
        for row in cursor:
            yield _sent(row[:-1], bool(row[-1]))

    def all_delivered(self) -> Iterator[DeliveredDoc]:
        for row in self._db.execute(f"SELECT {_DELIVERED_COLUMNS} FROM delivered"):  # noqa: S608
            yield _delivered(row)

    # --- evidence (issue 9): what this agency can prove --------------------------------------------
    def record_package(self, sender: str, document_id: str, signed: bytes) -> str:
        """Keep a received package exactly as signed (before the DMS has it); its SHA-256."""
        digest = hashlib.sha256(signed).hexdigest()
        self._db.execute(
            "INSERT OR IGNORE INTO packages (digest, sender, document_id, body, at) VALUES (?, ?, ?, ?, ?)",
            (digest, sender, document_id, signed, _now()),
        )
        return digest

    def packages_of(self, document_id: str, sender: str | None = None) -> list[tuple[str, str, bytes]]:
        """(sender, digest, signed bytes) of every package received as ``document_id``, oldest first."""
        rows = self._db.execute(
            "SELECT sender, digest, body FROM packages WHERE document_id = ? AND (? IS NULL OR sender = ?)"
            " ORDER BY at",
            (document_id, sender, sender),
        ).fetchall()
        return [(str(a), str(d), bytes(b)) for a, d, b in rows]

    def record_receipt(self, receipt: Receipt) -> None:
        """Keep a receipt of the hub's (verified by the agency client before it is handed here)."""
        self._db.execute(
            "INSERT OR IGNORE INTO receipts (receipt_id, document_id, kind, recipient, package_digest,"
            " receipt, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (receipt.id, receipt.document_id, receipt.kind, receipt.recipient, receipt.package_digest,
             receipt.to_json(), _now()),
        )

    def receipts_for(self, digest: str) -> list[Receipt]:
        """The hub's receipts naming the package ``digest`` (this agency's copy of it, or its own)."""
        rows = self._db.execute(
            "SELECT receipt FROM receipts WHERE package_digest = ? ORDER BY at, receipt_id", (digest,)
        ).fetchall()
        return [Receipt.from_json(str(r[0])) for r in rows]

    def receipts_about(self, document_id: str) -> list[Receipt]:
        """The hub's receipts about the document the hub tracks as ``document_id``."""
        rows = self._db.execute(
            "SELECT receipt FROM receipts WHERE document_id = ? ORDER BY at, receipt_id", (document_id,)
        ).fetchall()
        return [Receipt.from_json(str(r[0])) for r in rows]

    def all_statuses_received(self) -> Iterator[StatusReceived]:
        for document_id, from_agency, code, at in self._db.execute(
            "SELECT document_id, from_agency, code, at FROM statuses"
        ):
            yield StatusReceived(str(document_id), str(from_agency), str(code), _instant(at))
