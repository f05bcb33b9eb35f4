"""SQL databases: one ``Driver`` interface for SQLite and PostgreSQL, opened from a URL.

``open_driver(url)`` connects to a database (``vbcore.store.open_store`` adds the hub's tables):

- ``sqlite:///var/vbus.db`` (a relative path), ``sqlite:////srv/vbus/vbus.db`` (absolute), ``sqlite://``
  (in memory, for one process). Query options: ``busy_timeout`` (milliseconds, default 10000) and
  ``synchronous`` (``full`` by default: each commit survives a power loss; ``normal`` is faster).
  The file's folder is created if missing.
- ``postgresql://user@host:port/db`` (or ``postgres://``). Add ``?schema=NAME`` to keep the tables in
  a schema of their own (created at the first open; tests use one schema each). libpq's own
  ``?options=-csearch_path%3DNAME`` works too, for a schema that already exists. Other query
  parameters go to libpq unchanged (e.g. ``options=-csynchronous_commit%3Doff`` trades the last
  commits before a server crash for commits that do not wait for the disk).

``vbcore.database.sqlite`` and ``vbcore.database.postgres`` are the only modules that import a database
library; the hub's store (``vbcore.store``) and the reference connectors build on this package.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vbcore.database.driver import Driver
from vbcore.errors import StoreUrlInvalid

__all__ = ["Driver", "open_driver"]


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
    from vbcore.database.sqlite import SqliteDriver

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
    from vbcore.database.postgres import PostgresDriver

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
