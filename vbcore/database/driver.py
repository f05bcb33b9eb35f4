"""What the SQL store needs from a database driver, and the few places where SQLite and PostgreSQL differ.

The store writes its SQL once, with ``?`` placeholders and ``{id}``/``{utc}``/``{local}`` column types
in DDL; a ``Driver`` (``vbcore.database.sqlite`` or ``vbcore.database.postgres``, the only modules that import
a database library) adapts placeholders, encodes times and translates its library's errors into
``StoreError``. Times cross this boundary as ``datetime``: timezone-aware UTC for the ``{utc}`` columns,
naive Vietnam local time for ``{local}`` ones (``status_time`` as the status package wrote it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

Row = tuple[object, ...]


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" | "postgresql"
    id_type: str  # an auto-numbered primary key
    utc_type: str  # an instant (stored as UTC)
    local_type: str  # a naive local time
    begin: str  # the statement that opens a write transaction
    begin_read: str  # ... and a read-only one that sees one snapshot throughout (``vb audit verify``)

    def ddl(self, statement: str) -> str:
        return statement.format(id=self.id_type, utc=self.utc_type, local=self.local_type)


class Driver(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        """The rows of one query, fetched a batch at a time (memory does not grow with the result);
        inside a read transaction (``begin_read``) on PostgreSQL. Another statement may run between
        two rows."""

    def lock_for_migration(self) -> None:
        """Inside an open transaction: wait until no other process migrates this database."""

    def close(self) -> None: ...


# SQLite has no time type: instants are stored as fixed-width text so that text order is time order.
TEXT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# Read back also what vbus before 0.2 wrote for years before 1000 ("1-01-01 ...": strftime does not pad).
_UNPADDED_TEXT_TIME = re.compile(r"(\d{1,4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})")


def time_to_text(value: datetime) -> str:
    """``0001-01-01 00:00:00.000000``: the year always has four digits (``strftime("%Y")`` writes
    ``1`` for year 1 on glibc, which neither reads back nor sorts), the offset of an aware time left out.
    ``isoformat`` in C: half the cost of formatting with ``strftime`` codes, about 1 % of the hub's time."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def time_from_text(value: str) -> datetime:
    if len(value) == 26 and value[4] == "-" and value[10] == " ":  # what time_to_text writes: the fast way
        return datetime.fromisoformat(value)
    try:
        return datetime.strptime(value, TEXT_TIME_FORMAT)
    except ValueError:
        match = _UNPADDED_TEXT_TIME.fullmatch(value)
        if match is None:
            raise
        year, month, day, hour, minute, second, micro = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, micro)


def utc_from_db(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return time_from_text(value).replace(tzinfo=UTC)
    raise TypeError(f"not a stored time: {value!r}")


def local_from_db(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return time_from_text(value)
    raise TypeError(f"not a stored time: {value!r}")


def maybe_utc(value: object) -> datetime | None:
    return None if value is None else utc_from_db(value)


def maybe_local(value: object) -> datetime | None:
    return None if value is None else local_from_db(value)
