"""docs/deployment-tls.md, run as written: every ``vb`` command of its ``<!-- commands: ... -->`` blocks,
a RabbitMQ node started with its ``rabbitmq.conf`` and ``enabled_plugins``, a PostgreSQL server with
its ``postgresql.conf`` and ``pg_hba.conf`` lines.

The document's names are put to this test's own: ``/etc/vbus/tls`` to a temporary folder,
``broker.example`` and ``db.example`` to ``localhost``, the ports to the servers' free ones, the
management API's administrator to the node's ``guest``. Nothing else is changed: a command that stops
working, or a setting that stops doing what the document says, fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import in_ci, require
from own_postgres import OwnPostgres, bin_dir, start_postgres
from own_rabbitmq import server_command
from own_tls import DOC, DOC_TLS_DIR, TlsNode, TlsPki, start_tls_node

from vbcore.cli import vb
from vbcore.store import open_driver
from vbcore.tls import REQUIRE_TLS_ENV

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]  # two servers of its own


def commands(block: str) -> list[list[str]]:
    """The shell lines of the document's ``<!-- commands: block -->``, continuations joined, split."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- commands: {re.escape(block)} -->\s*```sh\n(.*?)```", text, re.S)
    assert match, f"docs/deployment-tls.md has no <!-- commands: {block} --> block"
    return [shlex.split(line) for line in match.group(1).replace("\\\n", " ").splitlines() if line.strip()]


class Operator:
    """Runs the document's lines in a folder of its own, the document's names put to this test's."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tls = tmp / "etc-vbus-tls"
        self.env: dict[str, str] = {REQUIRE_TLS_ENV: "", "VBUS_LANG": "en"}
        self.names = {DOC_TLS_DIR: str(self.tls), "broker.example": "localhost", "db.example": "localhost",
                      "admin:ADMIN_PASSWORD": "guest:guest"}

    def put(self, text: str) -> str:
        for doc, ours in self.names.items():
            text = text.replace(doc, ours)
        return text

    def run(self, block: str, *, ok: bool = True) -> str:
        output = ""
        for words in commands(block):
            words = [self.put(w) for w in words]
            if words[0] == "export":
                name, value = words[1].split("=", 1)
                self.env[name] = value
            elif words[0] == "echo":
                assert words[2] == ">"
                (self.tmp / words[3]).write_text(words[1] + "\n")
            else:
                assert words[0] == "vb", words
                result = CliRunner(env=self.env).invoke(vb, words[1:], catch_exceptions=False)
                assert (result.exit_code == 0) == ok, f"{shlex.join(words)}\n{result.output}"
                output += result.output
        return output


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Operator:
    require("rabbitmq-server", server_command() is not None)
    if bin_dir() is None:
        message = "PostgreSQL's initdb is not installed (sudo apt-get install postgresql)"
        if in_ci():
            pytest.fail(f"{message} (CI must run this test, not skip it)")
        pytest.skip(message)
    monkeypatch.chdir(tmp_path)  # the document's relative paths (pki/, letter.edxml, h41.yaml)
    monkeypatch.setenv(REQUIRE_TLS_ENV, "")  # `vb --require-tls` sets it for its process
    return Operator(tmp_path)


@pytest.fixture
def servers(operator: Operator, tmp_path: Path) -> Iterator[tuple[TlsNode, OwnPostgres]]:
    """Section 1's certificates, then RabbitMQ (section 2) and PostgreSQL (section 4) started with them."""
    operator.run("certificates")
    node = start_tls_node(tmp_path / "rabbitmq", TlsPki(operator.tls))
    try:
        db = start_postgres(operator.tls / "localhost.tls.pem", operator.tls / "localhost.tls.key.pem")
    except BaseException:
        node.stop()
        raise
    try:
        operator.names.update({":5671/": f":{node.tls_port}/", ":15671/": f":{node.management_port}/",
                               ":5432/": f":{db.port}/"})
        admin = open_driver(db.dsn(sslmode="require"))  # the document assumes the database and its owner
        admin.execute("CREATE ROLE vbus LOGIN")
        admin.execute("CREATE DATABASE vbus OWNER vbus")
        admin.close()
        yield node, db
    finally:
        db.stop()
        node.stop()


def test_every_command_of_the_tls_deployment_document_works_as_written(
    operator: Operator, servers: tuple[TlsNode, OwnPostgres]
) -> None:
    node = servers[0].node
    [check] = commands("broker-check")
    tool = Path(node.command).with_name(check[0])  # beside rabbitmq-server, for the node's own name
    env = {**os.environ, "HOME": str(node.base),
           "RABBITMQ_CONF_ENV_FILE": str(node.base / "rabbitmq-env.conf")}
    listeners = subprocess.run([str(tool), "-q", "-n", node.name, *check[1:]], env=env, capture_output=True,
                               text=True, check=True, timeout=60).stdout
    assert "protocol: amqp/ssl" in listeners
    assert "protocol: https" in listeners
    assert "protocol: amqp," not in listeners  # no plain AMQP listener at all
    queues = operator.run("provisioning")
    assert "vbus.inbox.000.00.00.H41." in queues  # `vb queues` over HTTPS with the CA
    for code in ("000.00.00.G22", "000.00.00.H41"):
        assert (operator.tmp / "pki" / f"{code}.tls.pem").exists()
    first = operator.run("hub")
    assert "processed 0 messages" in first  # the hub declares its queues
    assert "0 parked" in first  # `vb parked list` as the hub user, over amqps
    assert "Sent document 000.00.00.G22," in operator.run("agency")  # by certificate (EXTERNAL)
    assert "processed 1 messages" in operator.run("hub")  # over amqps, its store over TLS
    operator.run("recipient")
    [letter] = (operator.tmp / "h41dms" / "inbox").iterdir()  # by H41's certificate (EXTERNAL)
    assert "V/v thử nghiệm TLS".encode() in (letter / "package.edxml").read_bytes()

    refused = operator.run("require-tls", ok=False)
    document = DOC.read_text(encoding="utf-8")
    shown = re.search(r"<!-- commands: require-tls -->.*?```sh\n.*?```\s*```\n(.*?)```", document, re.S)
    assert shown
    expected = shown.group(1).replace("broker.example", "localhost")  # the line the document shows
    assert refused.split() == expected.split()
    assert refused.count("\n") == 1
