"""The SQL connector passes the conformance kit: SQLite and PostgreSQL, in-memory broker and RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from connectors import sql_schema as schema
from connectors.sql import SqlConnector
from vbcore.connector import ConnectorContext
from vbcore.edxml import write_package
from vbcore.model import Edoc
from vbcore.testing.conformance import ConnectorConformance


class SqlDms:
    """Plays the DMS on its tables, as its own code would (``DmsDriver`` of the conformance kit)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = schema.connect(url)
        schema.create_schema(self.db)

    def close(self) -> None:
        self.db.close()

    def put_outgoing(self, edoc: Edoc) -> str:
        outgoing_id = f"vb-{uuid.uuid4().hex[:10]}"
        schema.enqueue_outgoing(self.db, outgoing_id, write_package(edoc))
        return outgoing_id

    def outgoing_state(self, outgoing_id: str) -> str:
        row = self.db.query("SELECT state FROM vb_outgoing WHERE id = ?", (outgoing_id,))
        return str(row[0][0])

    def failure_reason(self, outgoing_id: str) -> str | None:
        row = self.db.query("SELECT failure_reason FROM vb_outgoing WHERE id = ?", (outgoing_id,))
        return None if row[0][0] is None else str(row[0][0])

    def delivered(self) -> list[str]:
        return [str(r[0]) for r in self.db.query("SELECT document_id FROM vb_incoming ORDER BY id")]

    def delivered_attachments(self, document_id: str) -> dict[str, bytes]:
        found = self.db.query(
            "SELECT name, content FROM vb_incoming_attachment WHERE document_id = ? ORDER BY position",
            (document_id,),
        )
        return {str(name): bytes(content) for name, content in found}  # type: ignore[call-overload]

    def emit_event(self, document_id: str, code: str, description: str | None = None) -> None:
        schema.add_status_event(self.db, document_id, code, description)

    def statuses(self, document_id: str) -> list[tuple[str, str]]:
        found = self.db.query(
            "SELECT code, from_agency FROM vb_status_received WHERE document_id = ? ORDER BY id",
            (document_id,),
        )
        return [(str(code), str(sender)) for code, sender in found]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/dms.sqlite3"


@pytest.fixture
def pg_url(pg_dsn: str) -> Iterator[str]:
    name = f"vbus_sqldms_{uuid.uuid4().hex[:12]}"
    yield f"{pg_dsn}?schema={name}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def factory(url: str) -> Callable[[ConnectorContext], SqlConnector]:
    return lambda context: SqlConnector.from_config({"url": url}, context)


class TestSqlConnectorOnSqlite(ConnectorConformance):
    @pytest.fixture
    def dms(self, sqlite_url: str) -> Iterator[SqlDms]:
        dms = SqlDms(sqlite_url)
        yield dms
        dms.close()

    @pytest.fixture
    def connector_factory(self, dms: SqlDms) -> Callable[[ConnectorContext], SqlConnector]:
        return factory(dms.url)


@pytest.mark.postgres
class TestSqlConnectorOnPostgres(TestSqlConnectorOnSqlite):
    @pytest.fixture
    def dms(self, pg_url: str) -> Iterator[SqlDms]:
        dms = SqlDms(pg_url)
        yield dms
        dms.close()


@pytest.mark.rabbitmq
class TestSqlConnectorOnRabbitMQ(TestSqlConnectorOnSqlite):
    transport = "rabbitmq"


@pytest.mark.rabbitmq
@pytest.mark.postgres
class TestSqlConnectorOnPostgresAndRabbitMQ(TestSqlConnectorOnPostgres):
    transport = "rabbitmq"
