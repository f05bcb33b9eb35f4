"""vbcore.store: where the hub records documents, deliveries, statuses, refusals and its trace.

``open_store(url)`` opens (and migrates) a ``TrackingStore``:

- ``sqlite:///var/vbus.db`` (a relative path), ``sqlite:////srv/vbus/vbus.db`` (absolute), ``sqlite://``
  (in memory, for one process). Query options: ``busy_timeout`` (milliseconds, default 10000) and
  ``synchronous`` (``full`` by default: each commit survives a power loss; ``normal`` is faster).
  The file's folder is created if missing.
- ``postgresql://user@host:port/db`` (or ``postgres://``). Add ``?schema=NAME`` to keep the tables in
  a schema of their own (created at the first open; tests use one schema each). libpq's own
  ``?options=-csearch_path%3DNAME`` works too, for a schema that already exists. Other query
  parameters go to libpq unchanged (e.g. ``options=-csynchronous_commit%3Doff`` trades the last
  commits before a server crash for commits that do not wait for the disk).

A store object may be shared by the threads of one process; several processes (hub workers) each open
their own. See ``vbcore.store.status_rules`` for how statuses move a pair, and ``ChangeMarker`` for
revokes and updates.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vbcore.errors import StoreUrlInvalid
from vbcore.store.api import (
    ChangeMarker,
    ClaimResult,
    DeliveryState,
    DocumentRecord,
    PairRecord,
    Refusal,
    StatusEvent,
    TraceEvent,
    TrackingStore,
)
from vbcore.store.driver import Driver
from vbcore.store.sql import SqlStore

__all__ = [
    "ChangeMarker",
    "ClaimResult",
    "DeliveryState",
    "DocumentRecord",
    "PairRecord",
    "Refusal",
    "SqlStore",
    "StatusEvent",
    "TraceEvent",
    "TrackingStore",
    "open_driver",
    "open_store",
]


def open_store(url: str) -> SqlStore:
    """Open the store at ``url`` and bring its schema up to date (see the module docstring)."""
    return SqlStore(open_driver(url))


def open_driver(url: str) -> Driver:
    """Connect to the database at ``url`` without migrating it (``SqlStore(driver)`` migrates)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _open_sqlite(url, dict(parse_qsl(parts.query)))
    if parts.scheme in ("postgresql", "postgres"):
        return _open_postgres(url)
    raise StoreUrlInvalid(
        f"{_safe(url)} is not a store URL: use sqlite:///path.db, sqlite:// or postgresql://..."
    )


def _open_sqlite(url: str, options: dict[str, str]) -> Driver:
    from vbcore.store.sqlite import SqliteDriver

    rest = url[len("sqlite:") :].split("?", 1)[0]
    if rest in ("", "//", "///:memory:", "//:memory:"):
        path = ":memory:"
    elif rest.startswith("///"):
        path = rest[3:]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        raise StoreUrlInvalid(
            f"{url} is not a SQLite URL: use sqlite:///relative.db or sqlite:////absolute.db"
        )
    unknown = set(options) - {"busy_timeout", "synchronous"}
    if unknown:
        raise StoreUrlInvalid(f"{url}: unknown SQLite store options {', '.join(sorted(unknown))}")
    try:
        timeout = int(options.get("busy_timeout", "10000"))
    except ValueError as exc:
        raise StoreUrlInvalid(f"{url}: busy_timeout must be a number of milliseconds") from exc
    return SqliteDriver(path, busy_timeout_ms=timeout, synchronous=options.get("synchronous", "full"))


def _open_postgres(url: str) -> Driver:
    from vbcore.store.postgres import PostgresDriver

    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, rest, parts.fragment))
    return PostgresDriver(conninfo, schema=schema)


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
