"""The SQLite driver (stdlib ``sqlite3``): the embedded default store.

Chosen so that a hub needs no database server: one file in WAL mode lets several processes on one
machine read while one writes; write transactions start with ``BEGIN IMMEDIATE`` so two writers queue
on the busy timeout instead of deadlocking on a lock upgrade. ``sqlite3`` runs in autocommit mode
(``isolation_level=None``): the store opens its transactions itself.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from vbcore.database.driver import Dialect, Row, time_to_text
from vbcore.errors import StoreError

SQLITE = Dialect(
    name="sqlite",
    id_type="INTEGER PRIMARY KEY AUTOINCREMENT",
    utc_type="TEXT",
    local_type="TEXT",
    begin="BEGIN IMMEDIATE",
    begin_read="BEGIN DEFERRED",  # in WAL mode: one snapshot from the first read, blocking no writer
)

SYNCHRONOUS_MODES = ("off", "normal", "full", "extra")
_STREAM_BATCH = 2000  # rows ``stream`` fetches at a time


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return time_to_text(value)
    return value


class SqliteDriver:
    dialect = SQLITE

    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000, synchronous: str = "full") -> None:
        """``path`` is a file name or ``":memory:"``. ``synchronous="full"`` (the default) makes each
        commit durable across a power loss; ``"normal"`` is faster and safe against a process crash."""
        if synchronous.lower() not in SYNCHRONOUS_MODES:
            raise StoreError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {synchronous!r}"
            )
        try:
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if path != ":memory:":
                self._enter_wal(busy_timeout_ms / 1000)
            self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {path}: {exc}") from exc
        self.path = path

    def _enter_wal(self, timeout: float) -> None:
        """Switch to WAL. SQLite answers "database is locked" at once, without its busy handler, when
        another process is switching the same fresh file at that moment: so retry until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            return self._conn.execute(sql, [_encode(p) for p in params]).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            return [tuple(r) for r in self._conn.execute(sql, [_encode(p) for p in params]).fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        try:
            cursor = self._conn.execute(sql, [_encode(p) for p in params])
            while rows := cursor.fetchmany(_STREAM_BATCH):
                yield from (tuple(r) for r in rows)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def lock_for_migration(self) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the database's write lock."""

    def close(self) -> None:
        self._conn.close()
