"""The reconciliation's scratch database: the ledgers', the store's and the parking queue's facts side by
side in one temporary SQLite file, joined there, so memory does not grow with the number of documents.

Why a file and not dicts: a national hub carries millions of (document, recipient) pairs; three
sources joined in memory would hold them all. SQLite (stdlib) sorts and joins on disk with a bounded
page cache; rows go in by batches and come out by cursors. The file is deleted when the work is done.

Tables (``key`` is the id the hub tracks a document under, ``document_id`` the DocumentId as written):
``sent`` (a sender's ledger, one row per recipient), ``delivered`` (a recipient's ledger),
``answers`` (statuses a sender's ledger received), ``ledgers`` (whose ledgers were given),
``hub`` (the store's pairs), ``parked`` (the parking queue).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from vbcore.database.driver import time_to_text

BATCH_ROWS = 2000  # rows inserted per executemany
CACHE_KIB = 16 * 1024  # SQLite's page cache for the scratch file: the bound on its memory

_SCHEMA = """
CREATE TABLE ledgers (agency TEXT PRIMARY KEY, statuses_since TEXT, files INTEGER NOT NULL);
CREATE TABLE sent (owner TEXT NOT NULL, key TEXT NOT NULL, document_id TEXT NOT NULL,
    recipient TEXT NOT NULL, confirmed INTEGER NOT NULL, given_up INTEGER NOT NULL,
    in_window INTEGER NOT NULL);
CREATE TABLE delivered (owner TEXT NOT NULL, sender TEXT NOT NULL, document_id TEXT NOT NULL,
    answered INTEGER NOT NULL, refused_reason TEXT, in_window INTEGER NOT NULL);
CREATE TABLE answers (owner TEXT NOT NULL, document_id TEXT NOT NULL, from_agency TEXT NOT NULL,
    code TEXT NOT NULL, PRIMARY KEY (owner, document_id, from_agency, code));
CREATE TABLE hub (key TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT, document_id TEXT NOT NULL,
    business_type INTEGER, state TEXT NOT NULL, last_status_at TEXT, in_window INTEGER NOT NULL);
CREATE TABLE parked (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL, kind TEXT, document_id TEXT,
    reason TEXT, sender TEXT, recipient TEXT, from_inbox INTEGER NOT NULL, replayable INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
"""
_INDEXES = """
CREATE INDEX sent_pair ON sent (key, recipient);
CREATE INDEX delivered_pair ON delivered (owner, sender, document_id);
CREATE INDEX hub_pair ON hub (key, recipient);
CREATE INDEX hub_written ON hub (sender, document_id, recipient);
CREATE INDEX parked_document ON parked (document_id);
CREATE INDEX parked_message ON parked (message_id);
"""


def stamp(at: datetime | None) -> str | None:
    """A time as fixed-width UTC text (text order is time order)."""
    return None if at is None else time_to_text(at.astimezone(UTC))


class Workbook:
    """One scratch SQLite file under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "reconcile.sqlite3"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            f"cache_size = -{CACHE_KIB}",
            "temp_store = FILE",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, table: str, rows: Iterable[tuple[object, ...]], *, ignore: bool = False) -> int:
        """Insert ``rows`` into ``table`` by batches; how many were given."""
        count = 0
        batch: list[tuple[object, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                count += self._insert(table, batch, ignore)
        return count + self._insert(table, batch, ignore)

    def _insert(self, table: str, batch: list[tuple[object, ...]], ignore: bool) -> int:
        if not batch:
            return 0
        marks = ", ".join("?" for _ in batch[0])
        verb = "INSERT OR IGNORE" if ignore else "INSERT"
        self.db.execute("BEGIN")
        self.db.executemany(f"{verb} INTO {table} VALUES ({marks})", batch)
        self.db.execute("COMMIT")
        count = len(batch)
        batch.clear()
        return count

    def index(self) -> None:
        self.db.executescript(_INDEXES)

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
        """Stream a query's rows (a cursor: never all of them in memory)."""
        yield from self.db.execute(sql, params)

    def one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self.db.execute(sql, params).fetchone()
        return row
