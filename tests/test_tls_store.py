"""The PostgreSQL store over TLS: ``sslmode=verify-full`` with ``sslrootcert`` in the store URL.

Against a PostgreSQL server of this module's own (``own_postgres.py``: TLS on, ``hostssl`` lines only,
its certificate for ``localhost`` from a test CA), never the machine's shared server (trust, no TLS).
A wrong CA, a wrong host name, a missing CA and a plain connection are each refused with an error that
says which, and what to put in the URL; an installation that requires TLS refuses a store URL that
does not ask for ``verify-full``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import in_ci
from own_postgres import OwnPostgres, bin_dir, start_postgres
from own_tls import vb_ok

from vbcore.cli import vb
from vbcore.errors import StoreTlsFailed, TlsRequired
from vbcore.store import open_store
from vbcore.tls import REQUIRE_TLS_ENV

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # slow: a server of its own (initdb, about 3 s)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA (``vb keys init``), the server's certificate for ``localhost`` only, and a rogue CA."""
    directory = tmp_path_factory.mktemp("pg-tls")
    vb_ok("keys", "init", str(directory))
    vb_ok("keys", "init", str(directory / "rogue"))
    vb_ok("keys", "tls-server", str(directory), "--host", "localhost",
          "--ca-key", str(directory / "ca.key.pem"), "--ca-cert", str(directory / "ca.pem"))
    return directory


@pytest.fixture(scope="module")
def server(ca: Path) -> Iterator[OwnPostgres]:
    if bin_dir() is None:
        message = "PostgreSQL's initdb is not installed (sudo apt-get install postgresql)"
        if in_ci():
            pytest.fail(f"{message} (CI must run this test, not skip it)")
        pytest.skip(message)
    pg = start_postgres(ca / "localhost.tls.pem", ca / "localhost.tls.key.pem")
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(autouse=True)
def _environment_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_TLS_ENV, "")
    monkeypatch.delenv("PGSSLMODE", raising=False)


def test_the_store_works_over_tls_with_the_server_verified(server: OwnPostgres, ca: Path) -> None:
    url = server.dsn(sslmode="verify-full", sslrootcert=str(ca / "ca.pem"), schema="tls_ok")
    store = open_store(url)
    try:
        assert store.dialect == "postgresql"
        [(ssl_in_use,)] = store._db.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert ssl_in_use is True
    finally:
        store.close()


def test_a_server_certificate_from_another_ca_is_refused_saying_so(server: OwnPostgres, ca: Path) -> None:
    with pytest.raises(StoreTlsFailed) as refused:
        open_store(server.dsn(sslmode="verify-full", sslrootcert=str(ca / "rogue" / "ca.pem")))
    assert "does not verify against sslrootcert" in str(refused.value)
    assert "hãy chỉ đúng CA bằng sslrootcert" in refused.value.describe("vi")


def test_a_host_name_the_server_certificate_does_not_carry_is_refused_saying_so(
    server: OwnPostgres, ca: Path
) -> None:
    with pytest.raises(StoreTlsFailed) as refused:
        open_store(server.dsn(host="127.0.0.1", sslmode="verify-full", sslrootcert=str(ca / "ca.pem")))
    assert "is for localhost, not 127.0.0.1" in str(refused.value)
    assert "kết nối bằng tên ghi trong chứng thư số" in refused.value.describe("vi")


def test_verify_full_without_a_ca_says_to_give_sslrootcert(server: OwnPostgres, tmp_path: Path) -> None:
    with pytest.raises(StoreTlsFailed, match="give sslrootcert="):
        open_store(server.dsn(sslmode="verify-full", sslrootcert=str(tmp_path / "nowhere.pem")))


def test_the_server_refuses_a_plain_connection_and_the_error_says_to_ask_for_tls(server: OwnPostgres) -> None:
    with pytest.raises(StoreTlsFailed, match="takes TLS connections only"):
        open_store(server.dsn(sslmode="disable"))


def test_a_store_url_that_does_not_verify_the_server_is_refused_when_tls_is_required(
    server: OwnPostgres, ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_TLS_ENV, "1")
    for mode in ("", "?sslmode=require", "?sslmode=verify-ca"):
        with pytest.raises(TlsRequired, match="sslmode=verify-full"):
            open_store(server.dsn() + mode)
    open_store(server.dsn(sslmode="verify-full", sslrootcert=str(ca / "ca.pem"))).close()
    open_store("sqlite://").close()  # a local file is no link


def test_vb_reports_a_store_tls_failure_in_one_line_as_a_configuration_to_fix(
    server: OwnPostgres, ca: Path
) -> None:
    url = server.dsn(host="127.0.0.1", sslmode="verify-full", sslrootcert=str(ca / "ca.pem"))
    result = CliRunner().invoke(vb, ["--lang", "en", "track", "--overdue", "--store", url])
    assert result.exit_code == 1  # not 3: waiting will not fix a certificate
    assert result.output.count("\n") == 1
    assert "not 127.0.0.1" in result.output
    result = CliRunner().invoke(vb, ["--require-tls", "--lang", "en", "track", "--overdue", "--store",
                                     server.dsn(sslmode="prefer")])
    assert result.exit_code == 1
    assert "add ?sslmode=verify-full&sslrootcert=" in result.output
