"""The tracking store as ``vb``'s read commands open it: an existing store, never a new empty one.

``open_store`` creates what it does not find (the hub wants that: its first start makes the store).
A command that only reads (``vb track``) must instead say that the store it was pointed at does not
exist, with its path: an empty store created by a typo would answer "not found" to every question.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from vbcore.database import open_driver
from vbcore.errors import StoreError, StoreNotFound
from vbcore.store import SqlStore, open_store
from vbcore.store.migrations import schema_version

_FIX_EN = "give the hub's store with --store or VBUS_STORE (the one `vb hub run --store` writes)"
_FIX_VI = "hãy chỉ đúng kho của trục bằng --store hoặc VBUS_STORE (kho mà `vb hub run --store` ghi)"


_IN_MEMORY = ("", "//", "///:memory:", "//:memory:")

DEFAULT_STORE_PATH = "./var/vbus.db"


def default_store_url() -> str:
    """``VBUS_STORE`` (a URL, or a SQLite file path), else ``./var/vbus.db``."""
    value = os.environ.get("VBUS_STORE", "").strip() or DEFAULT_STORE_PATH
    return value if "://" in value else f"sqlite:///{value}"


def open_existing_store(url: str) -> SqlStore:
    """Open the store at ``url`` if it exists and holds a vbus store; else ``StoreNotFound``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        _check_sqlite_file(url)
    elif parts.scheme in ("postgresql", "postgres"):
        _check_postgres_schema(url)
    return open_store(url)


def _check_sqlite_file(url: str) -> None:
    rest = url[len("sqlite:") :].split("?", 1)[0]
    if rest in _IN_MEMORY:
        raise StoreNotFound(
            f"{url} is an in-memory store, empty by definition: {_FIX_EN}",
            vi=f"{url} là kho trong bộ nhớ, luôn rỗng: {_FIX_VI}",
        )
    if not rest.startswith("///"):
        return  # not a SQLite URL vbus reads: ``open_store`` says how to write one
    path = Path(rest[3:])
    if not path.is_file():
        raise StoreNotFound(
            f"there is no store at {path.resolve()}: {_FIX_EN}",
            vi=f"không có kho nào tại {path.resolve()}: {_FIX_VI}",
        )


def _check_postgres_schema(url: str) -> None:
    driver = open_driver(url)
    try:
        schema_version(driver)
    except StoreError as err:
        where = _without_password(url)
        raise StoreNotFound(
            f"the database {where} holds no vbus store: {_FIX_EN}",
            vi=f"cơ sở dữ liệu {where} không chứa kho của vbus: {_FIX_VI}",
        ) from err
    finally:
        driver.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url
