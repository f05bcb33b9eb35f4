"""Shared test fixtures.

Tests that need a real server (RabbitMQ, PostgreSQL) or the ``xmlsec1`` tool use the fixtures below.
On a laptop without the server they are skipped with a message that says how to start it; in CI
(``CI`` set in the environment) a missing server is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from interop import INTEROP_DIR, INTEROP_REQUIRED, MISSING
from own_rabbitmq import OwnNode, server_command, start_node
from own_tls import TlsNode, make_pki, start_tls_node

from vbcore.store import SqlStore, open_store

# The connector conformance kit is a pytest plugin that a project enables explicitly (vendors do the
# same in their conftest.py, or with ``-p vbcore.testing.conformance``).
pytest_plugins = ["vbcore.testing.conformance"]

AMQP_URL = os.environ.get("VBUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PG_DSN = os.environ.get("VBUS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

HOW_TO_START = {
    "RabbitMQ": "start one with `sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached` "
    "(and `sudo rabbitmq-plugins enable rabbitmq_management`), or set VBUS_TEST_AMQP_URL",
    "PostgreSQL": "start one with `sudo apt-get install postgresql && sudo pg_ctlcluster 15 main start`, "
    "or set VBUS_TEST_PG_DSN",
    "xmlsec1": "install it with `sudo apt-get install xmlsec1`",
    "openssl": "install it with `sudo apt-get install openssl` (the RFC 3161 tests run a time-stamping "
    "authority of their own with `openssl ts -reply`)",
    "chromium": "install Debian's browser with `sudo apt-get install chromium` (the board's browser tests "
    "drive /usr/bin/chromium with Playwright; nothing is downloaded)",
    "rabbitmq-server": "install it with `sudo apt-get install rabbitmq-server` (the test starts a node "
    "of its own, with its own name, ports and data; it never touches the shared broker)",
}


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require(what: str, available: bool) -> None:
    """Skip locally, fail in CI, when a server or tool the test needs is missing."""
    if available:
        return
    message = f"{what} is not available: {HOW_TO_START[what]}"
    if in_ci():
        pytest.fail(f"{message} (CI must run this test, not skip it)")
    pytest.skip(message)


def port_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def interop_dir() -> Path:
    """The interoperability corpus: skipped where absent (a clone with nothing beside it), failed when
    ``VBUS_INTEROP_DIR`` names it explicitly (``.ci/run`` sets it when the corpus is there)."""
    if not INTEROP_DIR.is_dir():
        if INTEROP_REQUIRED:
            pytest.fail(f"{MISSING} (CI must run this test, not skip it)")
        pytest.skip(MISSING)
    return INTEROP_DIR


@pytest.fixture(scope="session")
def amqp_url() -> str:
    require("RabbitMQ", port_open(AMQP_URL, 5672))
    return AMQP_URL


@pytest.fixture(scope="session")
def vbus_amqp_url(amqp_url: str) -> str:
    """The conformance kit's broker is this suite's (same URL, same skip-or-fail rule)."""
    return amqp_url


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    require("PostgreSQL", port_open(PG_DSN, 5432))
    return PG_DSN


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty tracking store's URL, once on each database: a new SQLite file, or a new
    PostgreSQL schema dropped afterwards (``pg_dsn``: skipped locally, failed in CI, without a server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/vbus.db"
        return
    dsn: str = request.getfixturevalue("pg_dsn")
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    yield f"{dsn}?schema={schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """The tracking store at ``store_url``, open for the test, closed after it."""
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    require("xmlsec1", path is not None)
    assert path is not None
    return path


@pytest.fixture(scope="session")
def openssl() -> str:
    path = shutil.which("openssl")
    require("openssl", path is not None)
    assert path is not None
    return path


CHROMIUM = os.environ.get("VBUS_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, for the web board's browser tests (never a browser Playwright downloads)."""
    require("chromium", Path(CHROMIUM).is_file())
    return CHROMIUM


@pytest.fixture(scope="module")
def own_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnNode]:
    """A RabbitMQ node of this test module's own (``own_rabbitmq.py``; with its management API), stopped
    after the module."""
    require("rabbitmq-server", server_command() is not None)
    node = start_node(tmp_path_factory.mktemp("rabbitmq-node"), management=True)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def tls_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsNode]:
    """A RabbitMQ node of the session's own, configured for TLS as docs/deployment-tls.md says
    (``own_tls.py``: no plain listener, client certificates required, EXTERNAL login), stopped at the end."""
    require("rabbitmq-server", server_command() is not None)
    pki = make_pki(tmp_path_factory.mktemp("tls-pki"))
    node = start_tls_node(tmp_path_factory.mktemp("tls-node"), pki)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def unique_prefix() -> str:
    """A name prefix of this test's own, so tests never share queues or vhosts."""
    return f"t{uuid.uuid4().hex[:10]}"
