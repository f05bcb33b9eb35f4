"""A PostgreSQL server of the test's own, with TLS on: for what must never touch the shared server.

The machine's shared PostgreSQL (127.0.0.1:5432) has trust authentication and no TLS, and must not be
reconfigured. A test of the store over TLS starts its own: ``initdb`` and ``pg_ctl`` from
``/usr/lib/postgresql/*/bin`` in a temporary directory, on a free port, with the settings
docs/deployment-tls.md gives (``ssl = on`` and the certificate files, and ``hostssl`` lines only in
``pg_hba.conf``: a connection without TLS is refused by the server itself). PostgreSQL refuses to
run as root: as root, its commands run as the ``postgres`` user (``runuser``), in a directory it owns.

``start_postgres()`` without a certificate starts a plain one (trust, localhost only) for the tests that
restart or stop the store's server (``halt``, ``resume``, ``restart``): never the shared one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from own_rabbitmq import free_port
from own_tls import DOC_TLS_DIR, doc_block

START_TIMEOUT = 60


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` (with ``initdb`` and ``pg_ctl``), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class OwnPostgres:
    base: Path
    port: int
    bindir: Path

    def dsn(self, host: str = "localhost", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://postgres@{host}:{self.port}/postgres" + (f"?{query}" if query else "")

    def _ctl(self, *args: str) -> None:
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), *args]
        result = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[-1]}: {result.stderr or result.stdout}")

    def halt(self) -> None:
        """Stop the server (fast: open connections are cut), keeping its data (``resume``)."""
        self._ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._ctl("-l", str(self.base / "server.log"), "-w", "-t", str(START_TIMEOUT), "start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "-l", str(self.base / "server.log"), "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"),
                                            "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60, check=False)
        for _ in range(50):  # the server's last files may still be going away
            shutil.rmtree(self.base, ignore_errors=True)
            if not self.base.exists():
                return
            time.sleep(0.1)


def start_postgres(cert: Path | None = None, key: Path | None = None) -> OwnPostgres:
    """A server with TLS on (certificate ``cert`` and its ``key``) that takes TLS connections only;
    without them, a plain one (trust, localhost)."""
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError("PostgreSQL's initdb is not installed")
    base = Path(tempfile.mkdtemp(prefix="vbus-pg-"))
    tls = base / "tls"
    tls.mkdir()
    if cert is not None and key is not None:
        for source, name in ((cert, "server.pem"), (key, "server.key.pem")):
            shutil.copyfile(source, tls / name)
        (tls / "server.key.pem").chmod(0o600)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (base, tls, *tls.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = free_port()
    data = base / "data"
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   capture_output=True, check=True, timeout=120)
    settings, hba = "", "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
    if cert is not None:
        settings = doc_block("postgresql.conf")
        settings = settings.replace(f"{DOC_TLS_DIR}/db.example.tls.pem", str(tls / "server.pem"))
        settings = settings.replace(f"{DOC_TLS_DIR}/db.example.tls.key.pem", str(tls / "server.key.pem"))
        hba = doc_block("pg_hba.conf").replace("scram-sha-256", "trust")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nport = {port}\nlisten_addresses = 'localhost'\nunix_socket_directories = '{base}'\n"
                   f"fsync = off\n{settings}")
    (data / "pg_hba.conf").write_text(hba)
    server = OwnPostgres(base, port, bindir)
    result = subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                             str(base / "server.log"), "-w", "-t", str(START_TIMEOUT),
                                             "start"]),
                            capture_output=True, text=True, check=False, timeout=START_TIMEOUT + 10)
    if result.returncode != 0:
        log_file = base / "server.log"
        log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        server.stop()
        raise RuntimeError(f"pg_ctl start failed: {result.stderr or result.stdout} {log}")
    deadline = time.monotonic() + 10
    while not (base / f".s.PGSQL.{port}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return server
