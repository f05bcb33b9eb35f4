"""The PostgreSQL driver (psycopg 3): the store for a hub that runs on several machines.

psycopg 3 is the maintained driver with native ``%s`` server-side parameters and typed results; it is
the only module that imports it. The connection runs in autocommit mode so that the store's own
``BEGIN``/``SAVEPOINT`` statements (the same ones SQLite takes) delimit transactions; the session time
zone is UTC. ``schema`` selects a schema of its own (``SET search_path``), created at the first open;
``options=-csearch_path%3D<schema>`` in the URL works too but does not create the schema.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import psycopg
from psycopg import sql as pgsql

from vbcore.database.driver import Dialect, Row
from vbcore.errors import StoreError, StoreTlsFailed

POSTGRESQL = Dialect(
    name="postgresql",
    id_type="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    utc_type="TIMESTAMPTZ",
    local_type="TIMESTAMP",
    begin="BEGIN",
    begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
)
_STREAM_BATCH = 2000  # rows ``stream`` fetches at a time
_CURSORS = itertools.count(1)


def _text_param(value: object) -> object:
    """PostgreSQL text cannot hold NUL, which an AMQP message id or header may: stored as U+FFFD
    (reads pass through here too, so a look-up finds what was stored). A NUL refused as a store error
    would requeue the message and its whole batch until the broker parks it."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


@lru_cache(maxsize=256)
def _placeholders(statement: str) -> str:
    """The store writes ``?``; psycopg wants ``%s`` (and a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


# What libpq says when TLS fails (its messages are stable across versions 12-18), and what to do.
_TLS_FAILURES = (
    (re.compile(r'server certificate for "(?P<name>[^"]*)".* does not match host name "(?P<host>[^"]*)"'),
     "the PostgreSQL server's certificate is for {name}, not {host}, the host in the URL: connect by the "
     "name its certificate carries",
     "chứng thư số của máy chủ PostgreSQL cấp cho {name}, không phải {host} (máy ghi trong địa chỉ kết "
     "nối): hãy kết nối bằng tên ghi trong chứng thư số"),
    (re.compile(r"certificate verify failed"),
     "the PostgreSQL server's certificate does not verify against sslrootcert (the CA given is not the one "
     "that issued it): give the right CA in sslrootcert=/path/ca.pem",
     "chứng thư số của máy chủ PostgreSQL không xác thực được bằng sslrootcert (CA đã cho không phải CA "
     "đã cấp nó): hãy chỉ đúng CA bằng sslrootcert=/đường/dẫn/ca.pem"),
    (re.compile(r'root certificate file "(?P<file>[^"]*)" does not exist|could not read root certificate '
                r'file "(?P<unread>[^"]*)"'),
     "sslmode=verify-full needs the CA that issued the server's certificate: {missing} cannot be read; "
     "give sslrootcert=/path/ca.pem in the URL",
     "sslmode=verify-full cần CA đã cấp chứng thư số của máy chủ: không đọc được {missing}; hãy thêm "
     "sslrootcert=/đường/dẫn/ca.pem vào địa chỉ kết nối"),
    (re.compile(r"server does not support SSL"),
     "the PostgreSQL server does not accept TLS: turn it on there (ssl = on, see docs/deployment-tls.md)",
     "máy chủ PostgreSQL không nhận TLS: hãy bật TLS trên máy chủ đó (ssl = on, xem docs/deployment-tls.md)"),
    (re.compile(r"no encryption"),
     "the PostgreSQL server takes TLS connections only: add ?sslmode=verify-full&sslrootcert=/path/ca.pem "
     "to the URL",
     "máy chủ PostgreSQL chỉ nhận kết nối TLS: hãy thêm ?sslmode=verify-full&sslrootcert=/đường/dẫn/ca.pem "
     "vào địa chỉ kết nối"),
)


def tls_failure(exc: psycopg.Error) -> StoreTlsFailed | None:
    """The store error that says what to fix when ``exc`` is a TLS failure (None: it is not one)."""
    text = str(exc)
    for pattern, en, vi in _TLS_FAILURES:
        if m := pattern.search(text):
            values = {k: v for k, v in m.groupdict().items() if v is not None}
            values["missing"] = values.get("file") or values.get("unread") or ""
            return StoreTlsFailed(en.format(**values), vi=vi.format(**values))
    return None


class PostgresDriver:
    """One connection. When the server drops it (a restart, a failover), the next statement that
    starts something new (a ``BEGIN``, or a read outside a transaction) reconnects and runs once
    more; a transaction that was under way fails with ``StoreError`` and is never half-replayed."""

    dialect = POSTGRESQL

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        self.schema = schema
        self._conninfo = conninfo
        self._in_transaction = False
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
            conn.execute("SET TIME ZONE 'UTC'")
            if self.schema:
                conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))
        except psycopg.Error as exc:
            raise tls_failure(exc) or StoreError(f"cannot open PostgreSQL store: {exc}") from exc
        return conn

    def _run(self, sql: str, params: Sequence[object], *, fetch: bool) -> tuple[int, list[Row]]:
        starts = sql == self.dialect.begin or (fetch and not self._in_transaction)
        if self._conn.closed and starts:
            self._conn = self._connect()
        if sql == self.dialect.begin:
            self._in_transaction = True
        elif sql in ("COMMIT", "ROLLBACK"):
            self._in_transaction = False
        for attempt in (1, 2):
            try:
                cursor = self._conn.execute(_placeholders(sql), [_text_param(p) for p in params])
                return cursor.rowcount, ([tuple(r) for r in cursor.fetchall()] if fetch else [])
            except psycopg.OperationalError as exc:
                if attempt == 2 or not (starts and self._conn.closed):
                    raise StoreError(f"PostgreSQL store: {exc}") from exc
                self._conn = self._connect()  # dropped before anything of ours ran: run it again
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL store: {exc}") from exc
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._run(sql, params, fetch=False)[0]

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._run(sql, params, fetch=True)[1]

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        """A server-side cursor (it lives as long as the read transaction that must surround it)."""
        name = f"vbus_stream_{next(_CURSORS)}"
        try:
            with self._conn.cursor(name=name) as cursor:
                cursor.itersize = _STREAM_BATCH
                cursor.execute(_placeholders(sql), [_text_param(p) for p in params])
                for row in cursor:
                    yield tuple(row)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store: {exc}") from exc

    def lock_for_migration(self) -> None:
        """A transaction-scoped advisory lock per search path: two processes opening the same schema
        at once migrate one after the other (the second finds nothing left to do)."""
        try:
            self._conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('vbus.store.migrate:'"
                " || current_setting('search_path')))"
            )
            if self.schema:
                self._conn.execute(
                    pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(self.schema))
                )
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store: cannot lock for migration: {exc}") from exc

    def close(self) -> None:
        self._conn.close()
