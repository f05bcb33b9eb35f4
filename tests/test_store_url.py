"""``open_store(url)``: which URLs open which database, and how."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from vbcore.database import open_driver
from vbcore.errors import StoreError, StoreUrlInvalid
from vbcore.store import open_store
from vbcore.store.migrations import MIGRATIONS


def test_an_unknown_scheme_is_refused_without_showing_the_password() -> None:
    with pytest.raises(StoreUrlInvalid) as raised:
        open_store("mysql://hub:s3cret@db.example/vbus")
    assert "s3cret" not in str(raised.value)
    assert "sqlite:///" in str(raised.value)


def test_a_relative_sqlite_path_is_opened_from_the_working_folder_which_it_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///var/hub/vbus.db").close()
    assert (tmp_path / "var" / "hub" / "vbus.db").is_file()


def test_four_slashes_name_an_absolute_sqlite_path(tmp_path: Path) -> None:
    open_store(f"sqlite:///{tmp_path}/abs.db").close()  # tmp_path starts with "/"
    assert (tmp_path / "abs.db").is_file()


def test_a_sqlite_file_runs_in_wal_mode_with_the_busy_timeout_given(tmp_path: Path) -> None:
    driver = open_driver(f"sqlite:///{tmp_path}/wal.db?busy_timeout=2500&synchronous=normal")
    assert driver.query("PRAGMA journal_mode") == [("wal",)]
    assert driver.query("PRAGMA busy_timeout") == [(2500,)]
    assert driver.query("PRAGMA synchronous") == [(1,)]  # NORMAL
    driver.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_starts_empty_and_migrated(url: str) -> None:
    store = open_store(url)
    assert store.applied_migrations == [m.version for m in MIGRATIONS]
    assert store.pairs("any") == []
    store.close()


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlite:///x.db?timeout=5", "unknown SQLite store options timeout"),
        ("sqlite:///x.db?busy_timeout=soon", "milliseconds"),
        ("sqlite:relative.db", "not a SQLite URL"),
    ],
)
def test_a_wrong_sqlite_url_says_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(StoreUrlInvalid, match=complaint):
        open_store(url)


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="synchronous must be one of"):
        open_store(f"sqlite:///{tmp_path}/x.db?synchronous=sometimes")


@pytest.fixture
def pg_schema(pg_dsn: str):
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def tables_in(pg_dsn: str, schema: str) -> set[str]:
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {r[0] for r in rows}


@pytest.mark.postgres
def test_the_schema_parameter_keeps_the_tables_in_a_schema_of_their_own(pg_dsn: str, pg_schema: str) -> None:
    open_store(f"{pg_dsn}?schema={pg_schema}").close()
    assert {"schema_version", "documents", "pairs", "status_events", "refusals", "trace_events"} <= tables_in(
        pg_dsn, pg_schema
    )
    assert "pairs" not in tables_in(pg_dsn, "public")


@pytest.mark.postgres
def test_libpq_search_path_options_select_an_existing_schema(pg_dsn: str, pg_schema: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
    url = f"{pg_dsn.replace('postgresql://', 'postgres://')}?options=-csearch_path%3D{pg_schema}"
    open_store(url).close()
    assert "pairs" in tables_in(pg_dsn, pg_schema)
