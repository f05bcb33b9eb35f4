"""The PostgreSQL driver (psycopg 3): the store for a hub that runs on several machines.

psycopg 3 is the maintained driver with native ``%s`` server-side parameters and typed results; it is
the only module that imports it. The connection runs in autocommit mode so that the store's own
``BEGIN``/``SAVEPOINT`` statements (the same ones SQLite takes) delimit transactions; the session time
zone is UTC. ``schema`` selects a schema of its own (``SET search_path``), created at the first open;
``options=-csearch_path%3D<schema>`` in the URL works too but does not create the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import psycopg
from psycopg import sql as pgsql

from vbcore.errors import StoreError
from vbcore.store.driver import Dialect, Row

POSTGRESQL = Dialect(
    name="postgresql",
    id_type="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    utc_type="TIMESTAMPTZ",
    local_type="TIMESTAMP",
    begin="BEGIN",
)


@lru_cache(maxsize=256)
def _placeholders(statement: str) -> str:
    """The store writes ``?``; psycopg wants ``%s`` (and a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


class PostgresDriver:
    dialect = POSTGRESQL

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        self.schema = schema
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True)
            self._conn.execute("SET TIME ZONE 'UTC'")
            if schema:
                self._conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
        except psycopg.Error as exc:
            raise StoreError(f"cannot open PostgreSQL store: {exc}") from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            return self._conn.execute(_placeholders(sql), list(params)).rowcount
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store: {exc}") from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            cursor = self._conn.execute(_placeholders(sql), list(params))
            return [tuple(r) for r in cursor.fetchall()]
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
