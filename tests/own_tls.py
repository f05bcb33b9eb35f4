"""A RabbitMQ node of the test's own that speaks TLS, configured as docs/deployment-tls.md says.

The node's ``rabbitmq.conf`` is the snippet of docs/deployment-tls.md, read from the document itself
(the block after ``<!-- rabbitmq.conf -->``), with its paths and ports put to this test's: what the
operator is told to write is what the tests run. A test CA (``vbcore.security.pki``) issues the broker's
certificate for ``localhost`` only (so that connecting by ``127.0.0.1`` is a host-name mismatch) and the
clients' certificates; a second CA, which nobody trusts, issues the rogue ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from own_rabbitmq import OwnNode, free_port, start_node

from vbcore.cli import vb
from vbcore.errors import ConnectionLost, TlsClientRefused, TransportError
from vbcore.security.pki import tls_paths

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deployment-tls.md"
DOC_TLS_DIR = "/etc/vbus/tls"
SERVER_HOST = "localhost"


def doc_block(marker: str) -> str:
    """The fenced block that follows ``<!-- marker -->`` in docs/deployment-tls.md."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert match, f"docs/deployment-tls.md has no block marked <!-- {marker} -->"
    return match.group(1)


def vb_ok(*args: str) -> str:
    """Run a ``vb`` command in this process (as docs/deployment-tls.md shows it); it must succeed."""
    result = CliRunner().invoke(vb, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@dataclass(frozen=True)
class TlsPki:
    """The test CA's files (named as the document names them) and a rogue CA's."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key.pem"

    @property
    def rogue(self) -> Path:
        return self.directory / "rogue"

    def client(self, user: str, *, rogue: bool = False) -> tuple[Path, Path]:
        """A TLS client certificate (CN = ``user``) and its key from the test CA (``vb keys tls-client``,
        made once) or from the rogue one."""
        ca = self.rogue if rogue else self.directory
        where = ca / "clients"
        cert, key = tls_paths(where, user)
        if not cert.exists():
            vb_ok("keys", "tls-client", str(where), "--user", user, "--ca-key", str(ca / "ca.key.pem"),
                  "--ca-cert", str(ca / "ca.pem"))
        return cert, key


def make_pki(directory: Path) -> TlsPki:
    """The document's commands: a CA (``vb keys init``), the broker's certificate for ``localhost``
    (``vb keys tls-server``); and a rogue CA (same kind, trusted by nobody)."""
    vb_ok("keys", "init", str(directory))
    vb_ok("keys", "init", str(directory / "rogue"))
    vb_ok("keys", "tls-server", str(directory), "--host", SERVER_HOST,
          "--ca-key", str(directory / "ca.key.pem"), "--ca-cert", str(directory / "ca.pem"))
    return TlsPki(directory)


@dataclass
class TlsNode:
    """A running node with TLS listeners for AMQP and the management API (and, ``plain``, a plain one)."""

    node: OwnNode
    pki: TlsPki
    tls_port: int
    management_port: int
    plain: bool

    def url(self, user: str, password: str | None = None, *, host: str = SERVER_HOST, vhost: str = "/",
            external: bool = False, cert: tuple[Path, Path] | bool = True, **extra: str) -> str:
        """``amqps://`` URL with the CA and a client certificate (``cert=True``: one for ``user`` from the
        test CA; False: none), logging in with the password or, ``external``, the certificate."""
        query: dict[str, str] = {"cacertfile": str(self.pki.ca)}
        if cert is True:
            cert = self.pki.client(user)
        if isinstance(cert, tuple):
            query.update(certfile=str(cert[0]), keyfile=str(cert[1]))
        if external:
            query["auth_mechanism"] = "external"
        query.update(extra)
        who = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        return f"amqps://{who}@{host}:{self.tls_port}/{quote(vhost, safe='')}?{urlencode(query)}"

    @property
    def plain_url(self) -> str:
        return self.node.url

    @property
    def management_url(self) -> str:
        return f"https://guest:guest@{SERVER_HOST}:{self.management_port}?cacertfile={self.pki.ca}"

    def stop(self) -> None:
        self.node.stop()


def start_tls_node(base: Path, pki: TlsPki, *, plain: bool = False) -> TlsNode:
    """A node configured by the document's snippet; ``plain`` adds a plain AMQP listener (for the
    benchmark's side-by-side figures), which the document's configuration turns off."""
    tls_port, management_port = free_port(), free_port()
    config = doc_block("rabbitmq.conf").replace(DOC_TLS_DIR, str(pki.directory))
    config = config.replace("broker.example.tls", f"{SERVER_HOST}.tls")
    config = config.replace("listeners.ssl.default = 5671", f"listeners.ssl.default = 127.0.0.1:{tls_port}")
    config = config.replace("management.ssl.port = 15671",
                            f"management.ssl.port = {management_port}\nmanagement.ssl.ip = 127.0.0.1")
    config = config.replace("listeners.tcp = none\n", "")  # start_node writes it unless ``plain``
    plugins = tuple(re.findall(r"rabbitmq_[a-z_]+", doc_block("enabled_plugins")))
    node = start_node(base, plain=plain, extra_config=config, plugins=plugins,
                      wait_ports=(tls_port, management_port))
    return TlsNode(node, pki, tls_port, management_port, plain)


def client_certificate_refused(connect: Callable[[], object]) -> TransportError:
    """What ``connect`` raised: the server refused the client's certificate (or that none was given).

    With TLS 1.3 the server checks the client's certificate after the client's side of the handshake
    is over: its alert (``TlsClientRefused``) can be lost when it closes the connection at once, and the
    client then sees the connection closed (``ConnectionLost``, retried). Both name the certificate."""
    with pytest.raises((TlsClientRefused, ConnectionLost)) as refused:
        connect()
    assert "client certificate" in str(refused.value)
    assert "chứng thư số" in refused.value.describe("vi")
    return refused.value
