"""``docs/deployment.md`` is true: every command in it is checked, and the unit files it ships are valid.

The doc's commands sit in fenced blocks marked ``<!-- commands: NAME -->``. Every command line is
checked for syntax: ``bash -n`` on each block; a ``vb`` command exists and takes every option the doc
gives it; any other tool is on this machine and its help names every long option the doc uses
(``rabbitmq-queues help SUB`` for RabbitMQ's tools). The blocks an operator runs on a live installation
(``RUN``) are then run for real, in order, against a RabbitMQ vhost, a PostgreSQL database and folders
of this test's own (``Site.substitutions`` replaces the doc's hosts, passwords and paths); only
``systemctl`` (no systemd here, and it would change the machine) and ``scp`` (another machine) are left
out, and the test does their part. The unit files pass ``systemd-analyze verify``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import click
import psycopg
import pytest

from vbcore.cli import vb
from vbcore.connector.ledger import Ledger
from vbcore.store import DocumentRecord, StatusEvent, open_store
from vbcore.timezones import VIETNAM
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deployment.md"
UNITS = ROOT / "deploy" / "systemd"
VENV_BIN = Path(sys.executable).parent
BLOCK = re.compile(r"<!-- commands: (?P<name>[\w-]+) -->\n```sh\n(?P<body>.*?)```", re.S)
# The blocks run for real, in this order (an operator's day after an outage, then a backup and a restore).
RUN = ("collect-ledgers", "reconcile", "operations", "hub-lost", "store-lost", "backup", "restore")
NOT_RUN_TOOLS = {"systemctl", "scp"}  # no systemd here; scp goes to another machine: the test copies
HELP = {"curl": ["curl", "--help", "all"], "gpg": ["gpg", "--dump-options"]}
DOCUMENT = "000.00.00.G22,2026/11/24,123/VPCP"
SENDER, RECIPIENT = "000.00.00.G22", "000.00.00.H24"
NAMES = Names(hub_user="guest")


def blocks() -> dict[str, list[str]]:
    """Each marked block's command lines (continuations joined, comments and blanks dropped)."""
    found: dict[str, list[str]] = {}
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        body = match["body"].replace("\\\n", " ")
        lines = [line.strip() for line in body.splitlines()]
        found[match["name"]] = [line for line in lines if line and not line.startswith("#")]
    return found


def test_the_doc_has_its_command_blocks_and_links_the_tls_and_cluster_pages() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert set(RUN) <= set(blocks())
    assert "(deployment-tls.md)" in text
    assert "(deployment-cluster.md)" in text
    for unit in (
        "vbus-hub@.service",
        "vbus-connector@.service",
        "vbus-web.service",
        "backoff.conf",
        "hub.env.example",
        "connector.env.example",
    ):
        assert unit in text, unit
        assert (UNITS / unit).is_file(), unit


@pytest.mark.parametrize("name", sorted(blocks()))
def test_each_block_is_valid_shell(name: str) -> None:
    script = "\n".join(blocks()[name])
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def vb_command(words: list[str]) -> click.Command:
    """The ``vb`` command ``words`` name (after ``vb``), checking every ``--option`` it is given."""
    command: click.Command = vb
    rest = words
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"vb has no command {' '.join(words[: len(words) - len(rest) + 1])}"
        command, rest = sub, rest[1:]
    return command


def vb_lines() -> list[str]:
    return [line for lines in blocks().values() for line in lines if line.startswith("vb ")]


@pytest.mark.parametrize("line", vb_lines())
def test_every_vb_command_in_the_doc_exists_with_each_option_it_is_given(line: str) -> None:
    words = shlex.split(line)[1:]
    command = vb_command([w for w in words if w != "--lang" and not w.startswith("--lang=")])
    assert command.name is not None
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in names, f"{line}: vb {command.name} has no option {word}"
    help_run = subprocess.run(
        [str(VENV_BIN / "vb"), *words[: words.index(command.name) + 1], "--help"],
        capture_output=True,
        text=True,
    )
    assert help_run.returncode == 0, help_run.stderr


def tool_lines() -> list[str]:
    return [line for lines in blocks().values() for line in lines if not line.startswith("vb ")]


def help_text(words: list[str]) -> str:
    tool = words[0]
    if tool.startswith("/opt/vbus/bin/"):  # vbus's own virtual environment: this test's
        tool = str(VENV_BIN / Path(tool).name)
    assert shutil.which(tool), f"{tool} is not installed on this machine"
    if tool.startswith("rabbitmq-"):
        sub = next(w for w in words[1:] if not w.startswith("-"))
        command = [tool, "help", sub]
    elif Path(tool).name == "pip":
        command = [tool, words[1], "--help"]
    else:
        command = HELP.get(tool, [tool, "--help"])
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    text = result.stdout + result.stderr
    assert "not found" not in text, f"{' '.join(command)}: {text}"
    return text


@pytest.mark.parametrize("line", tool_lines())
def test_every_other_tool_is_installed_and_takes_each_long_option_the_doc_gives_it(line: str) -> None:
    words = shlex.split(line)
    text = help_text(words)
    for word in words[1:]:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in text, f"{line}: {words[0]} does not know {word}"
    if words[0] == "systemctl":
        assert words[1] in text, f"systemctl has no command {words[1]}"


# --- the unit files ---------------------------------------------------------------------------------


def test_the_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """With ``/opt/vbus/bin/vb`` pointing at this test's ``vb`` (verify checks the program exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit files are checked by the parse test only")
    for unit in UNITS.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/vbus/bin/vb", str(VENV_BIN / "vb")))
    instances = ["vbus-hub@1.service", f"vbus-connector@{SENDER}.service", "vbus-web.service"]
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / i) for i in instances)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def unit_sections(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_the_units_restart_for_ever_and_run_what_vb_takes() -> None:
    for name in ("vbus-hub@.service", "vbus-connector@.service", "vbus-web.service"):
        unit = unit_sections(UNITS / name)
        assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
        service = unit["Service"]
        assert (service["Restart"], service["User"]) == (["always"], ["vbus"])
        assert service["EnvironmentFile"][0].startswith("/etc/vbus/")
        words = shlex.split(
            service["ExecStart"][0].replace("${VBUS_CONNECTOR}", "folder").replace("%i", SENDER)
        )
        assert words[0] == "/opt/vbus/bin/vb"
        if name == "vbus-web.service" and vb.get_command(click.Context(vb), "web") is None:
            assert "COMING WITH ISSUE 12" in (UNITS / name).read_text()
            continue
        test_every_vb_command_in_the_doc_exists_with_each_option_it_is_given(shlex.join(["vb", *words[1:]]))
    backoff = unit_sections(UNITS / "backoff.conf")["Service"]
    assert set(backoff) == {"RestartSteps", "RestartMaxDelaySec"}
    for example in ("hub.env.example", "connector.env.example"):
        keys = {
            line.split("=", 1)[0]
            for line in (UNITS / example).read_text().splitlines()
            if line and not line.startswith("#")
        }
        assert "VBUS_BROKER" in keys


# --- the commands an operator runs, for real --------------------------------------------------------


class Site:
    """This test's installation: a vhost, a PostgreSQL database, folders standing for the doc's paths."""

    def __init__(self, tmp: Path, amqp_url: str, pg_dsn: str, vhost: str) -> None:
        self.tmp, self.vhost = tmp, vhost
        self.broker = amqp_url.rstrip("/") + "/" + quote(vhost, safe="")
        self.database = f"vbus_doc_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.pg_dsn = pg_dsn
        self.store = pg_dsn.rsplit("/", 1)[0] + "/" + self.database
        management = os.environ.get("VBUS_TEST_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")
        self.management = management
        self.api = management.split("@", 1)[1] if "@" in management else management.split("//", 1)[1]
        for folder in ("ledgers", "backups", "root/etc/vbus/pki", "connector", "gnupg", "copy"):
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        (tmp / "gnupg").chmod(0o700)
        (tmp / "root/etc/vbus/pki/inbox.secret").write_text("the operator's inbox secret")
        (tmp / "backup.pass").write_text("a long passphrase kept by root")
        now = datetime.now(VIETNAM)
        self.substitutions = {
            "/var/lib/vbus/connector-000.00.00.G22": str(tmp / "connector"),
            "/var/lib/vbus/ledgers": str(tmp / "ledgers"),
            "/var/tmp/vbus-ledger": str(tmp / "copy"),
            "/var/backups/vbus": str(tmp / "backups"),
            "/root/vbus-backup.pass": str(tmp / "backup.pass"),
            "--directory=/": f"--directory={tmp / 'root'}",
            "postgresql://vbus@db-1.example:5432/vbus": self.store,
            "admin:ADMIN_PASSWORD": "guest:guest",
            "/etc/vbus/tls/ca.pem": "/etc/ssl/certs/ca-certificates.crt",
            "https://rabbit-1.example:15671/api/definitions/vbus": f"http://{self.api}/api/definitions/"
            + quote(vhost, safe=""),
            "2026-11-29T16:00": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "2026-11-29T00:00": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        }
        self.env = {
            **os.environ,
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "VBUS_BROKER": self.broker,
            "VBUS_VHOST": vhost,
            "VBUS_HUB_USER": "guest",
            "VBUS_MANAGEMENT_URL": management,
            "VBUS_STORE": self.store,
            "VBUS_LANG": "en",
            "GNUPGHOME": str(tmp / "gnupg"),
        }

    def close(self) -> None:
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        for doc_value, ours in self.substitutions.items():
            line = line.replace(doc_value, ours)
        assert "example" not in line, f"a host of the doc was left: {line}"
        return subprocess.run(
            ["bash", "-c", line], env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=300
        )

    def one_document_the_whole_way(self) -> None:
        """What the doc's examples look at: 123/VPCP went the whole way; both agencies have ledgers."""
        store = open_store(self.store)
        now = datetime.now(VIETNAM)
        store.record_document(
            DocumentRecord(
                DOCUMENT,
                SENDER,
                0,
                "V/v kiểm thử triển khai",
                "123/VPCP",
                "m-1",
                "ab" * 32,
                4096,
                now,
                edxml_document_id=DOCUMENT,
            )
        )
        store.claim_pair(DOCUMENT, RECIPIENT, at=now, deadline=None)
        store.mark_forwarded(DOCUMENT, RECIPIENT, at=now)
        store.record_status(StatusEvent(DOCUMENT, RECIPIENT, "01", None, None, now, RECIPIENT))
        store.close()
        sender = Ledger(self.tmp / "connector" / "ledger.sqlite3")
        sender.claim_agency(SENDER)
        sender.record_sending("cv-123", DOCUMENT, (RECIPIENT,), "123/VPCP", None)
        sender.record_sent("cv-123")
        sender.record_status_received(DOCUMENT, RECIPIENT, "01")
        sender.close()
        recipient = Ledger(self.tmp / "ledgers" / f"{RECIPIENT}.sqlite3")
        recipient.claim_agency(RECIPIENT)
        recipient.record_delivered(DOCUMENT, SENDER, "123/VPCP", None, dms_id="dms-1")
        recipient.record_answer_sent(SENDER, DOCUMENT)
        recipient.close()

    def park(self, *message_ids: str) -> None:
        """Messages the hub parked during a store outage of an earlier vbus."""
        with RabbitMQTransport(self.broker, names=NAMES) as hub:
            hub.declare_hub([SENDER, RECIPIENT])
            for message_id in message_ids:
                hub.publish(
                    NAMES.ingress_exchange,
                    RECIPIENT,
                    b"<edXML/>",
                    message_id=message_id,
                    headers={
                        n.KIND: n.KIND_STATUS,
                        n.DOCUMENT_ID: f"{RECIPIENT},x,{message_id}",
                        n.ORIGINAL_USER: RECIPIENT,
                    },
                )
            taken = [hub.get(NAMES.ingress_queue) for _ in message_ids]
            hub.park([(d, "not-processed: the store was down") for d in taken if d is not None])


@pytest.fixture
def site(tmp_path: Path, amqp_url: str, pg_dsn: str, unique_prefix: str) -> Iterator[Site]:
    admin = BrokerAdmin(vhost=unique_prefix)
    admin.ensure_vhost()
    s = Site(tmp_path, amqp_url, pg_dsn, unique_prefix)
    try:
        yield s
    finally:
        s.close()
        admin.delete_vhost()


@pytest.mark.rabbitmq
@pytest.mark.postgres
@pytest.mark.slow
def test_the_operators_commands_run_on_an_installation_in_the_docs_order(site: Site) -> None:
    site.one_document_the_whole_way()
    site.park("status-1", "status-2")
    doc = blocks()
    ran: list[str] = []
    for name in RUN:
        for line in doc[name]:
            if line.split()[0] in NOT_RUN_TOOLS:
                if line.startswith("scp "):  # the agency sends its copy to the operator
                    shutil.copy(site.tmp / "copy" / f"{SENDER}.sqlite3", site.tmp / "ledgers")
                continue
            if name == "restore" and line.startswith("pg_restore"):
                lose_the_store(site)
            result = site.run(line)
            expected = expected_exit(name, line)
            assert result.returncode == expected, f"[{name}] {line}\n{result.stdout}\n{result.stderr}"
            check_output(name, line, result.stdout)
            ran.append(line)
    assert len(ran) >= 20
    assert (site.tmp / "root/etc/vbus/pki/inbox.secret").read_text() == "the operator's inbox secret"
    restored = open_store(site.store)
    assert restored.get_document(DOCUMENT) is not None
    restored.close()


def expected_exit(block: str, line: str) -> int:
    # Before the replays, the parked 01s are gaps: reconcile says so (exit 1) and names the replay.
    return 1 if block == "reconcile" else 0


def check_output(block: str, line: str, out: str) -> None:
    if block == "reconcile" and "--json" in line:
        assert '"parked_id": "status-1"' in out
    elif block == "reconcile":
        assert "vb parked replay status-1" in out
        assert "2 gaps: parked 2" in out
    if line.startswith("vb parked list"):
        assert "status-1" in out
    if line.startswith("vb parked replay --reason"):
        assert ("replayed 2 messages" in out) if block == "hub-lost" else ("replayed 0 messages" in out)
    if line.startswith("vb reconcile") and block in ("hub-lost", "store-lost", "restore"):
        assert out.rstrip().endswith("No gaps."), out
    if line.startswith("vb track"):
        assert "01 Arrived" in out
    if line.startswith("vb queues"):
        assert "vbus.parked" in out


def lose_the_store(site: Site) -> None:
    """What the restore is for: the store's tables are gone (and the keys folder too)."""
    with psycopg.connect(site.store, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    shutil.rmtree(site.tmp / "root" / "etc")
