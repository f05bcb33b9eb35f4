"""The connector runtime's local memory: what was delivered, sent, answered, across crashes.

A small SQLite file beside the connector (stdlib ``sqlite3``: one file, no server, transactional; the
tracking store's driver layer is for the hub's shared store, this is one process's private state).
Every ``record_*`` commits before it returns, so the runtime can order "DMS write -> ledger write ->
publish -> ledger write -> ack" and resume at the right point after a crash.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (
    document_id TEXT PRIMARY KEY, sender TEXT NOT NULL, code TEXT, promulgation_date TEXT,
    dms_id TEXT, refused_reason TEXT, answer_sent INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sent (
    outgoing_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, recipients TEXT NOT NULL,
    code TEXT, promulgation_date TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    confirmed INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sent_document ON sent (document_id);
CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, value TEXT, at TEXT NOT NULL);
"""
_SENT_COLUMNS = "outgoing_id, document_id, recipients, code, promulgation_date, attempts, confirmed"
_SENT_BY_OUTGOING = f"SELECT {_SENT_COLUMNS} FROM sent WHERE outgoing_id = ?"  # noqa: S608 - constant
_SENT_BY_DOCUMENT = f"SELECT {_SENT_COLUMNS} FROM sent WHERE document_id = ? ORDER BY at DESC LIMIT 1"  # noqa: S608


@dataclass(frozen=True)
class DeliveredDoc:
    document_id: str
    sender: str
    code: str | None
    promulgation_date: date | None
    dms_id: str | None  # None while refused
    refused_reason: str | None
    answer_sent: bool  # the 01 (or the 02 for a refused one) is confirmed by the broker


@dataclass(frozen=True)
class SentDoc:
    outgoing_id: str
    document_id: str
    recipients: tuple[str, ...]
    code: str | None
    promulgation_date: date | None
    attempts: int  # how many times it was submitted (more than one only after a crash)
    confirmed: bool


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class Ledger:
    """Delivered documents, sent documents, and a set of done keys (events, statuses, changes)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- documents that came in ----------------------------------------------------------------
    def delivered(self, document_id: str) -> DeliveredDoc | None:
        row = self._db.execute(
            "SELECT document_id, sender, code, promulgation_date, dms_id, refused_reason, answer_sent"
            " FROM delivered WHERE document_id = ?",
            (document_id,),
        ).fetchone()
        if row is None:
            return None
        return DeliveredDoc(row[0], row[1], row[2], _day(row[3]), row[4], row[5], bool(row[6]))

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
            "INSERT INTO delivered (document_id, sender, code, promulgation_date, dms_id, refused_reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (document_id) DO NOTHING",
            (
                document_id,
                sender,
                code,
                promulgation_date.isoformat() if promulgation_date else None,
                dms_id,
                refused_reason,
                _now(),
            ),
        )

    def record_answer_sent(self, document_id: str) -> None:
        self._db.execute("UPDATE delivered SET answer_sent = 1 WHERE document_id = ?", (document_id,))

    # --- documents that went out ---------------------------------------------------------------
    def sent(self, outgoing_id: str) -> SentDoc | None:
        return self._one_sent("outgoing_id", outgoing_id)

    def sent_document(self, document_id: str) -> SentDoc | None:
        return self._one_sent("document_id", document_id)

    def _one_sent(self, column: str, value: str) -> SentDoc | None:
        query = _SENT_BY_OUTGOING if column == "outgoing_id" else _SENT_BY_DOCUMENT
        row = self._db.execute(query, (value,)).fetchone()
        if row is None:
            return None
        return SentDoc(row[0], row[1], tuple(json.loads(row[2])), row[3], _day(row[4]), row[5], bool(row[6]))

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
