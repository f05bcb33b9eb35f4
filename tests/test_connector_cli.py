"""`vb connectors list` and `vb connector run`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.folder import write_atomically
from vbcore.cli import vb
from vbcore.connector import Connector, ConnectorContext, plugins
from vbcore.errors import DmsUnavailable


def fake_entry_points(*eps: EntryPoint) -> Any:
    return lambda group: list(eps) if group == plugins.GROUP else []


def test_connectors_list_shows_the_folder_connector_as_ok() -> None:
    result = CliRunner().invoke(vb, ["connectors", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["folder"]["status"] == "OK"
    assert rows["folder"]["distribution"] == "vbus"
    assert rows["folder"]["module"] == "connectors.folder"


def test_connectors_list_shows_a_broken_plugin_with_its_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "entry_points", fake_entry_points(
        EntryPoint("folder", "connectors.folder:FolderConnector", plugins.GROUP),
        EntryPoint("broken", "connectors.folder:write_atomically", plugins.GROUP),
    ))
    result = CliRunner().invoke(vb, ["connectors", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "MODULE", "STATUS"]
    assert lines[1].split()[0] == "broken"
    assert lines[1].split()[-1] == "error"
    assert lines[2].split()[-1] == "OK"
    assert "'broken'" in result.output
    assert "is not a subclass of vbcore.connector.Connector" in result.output


def test_connector_run_names_a_missing_key_file(tmp_path: Path) -> None:
    config = tmp_path / "folder.yaml"
    config.write_text(f"root: {tmp_path / 'dms'}\n")
    result = CliRunner().invoke(vb, ["connector", "run", "folder", "--agency", "000.00.00.H24",
                                     "--config", str(config), "--pki", str(tmp_path / "pki"), "--once"])
    assert result.exit_code == 2
    assert "--key is missing" in result.output
    assert "000.00.00.H24.key.pem" in result.output


def test_connector_run_refuses_an_unknown_plugin(tmp_path: Path) -> None:
    from vbcore.security.pki import init_dev_pki

    pki = init_dev_pki(tmp_path / "pki", [("000.00.00.H24", "UBND thành phố Hà Nội")])
    config = tmp_path / "c.json"
    config.write_text("{}")
    result = CliRunner().invoke(vb, ["connector", "run", "no-such-dms", "--agency", "000.00.00.H24",
                                     "--config", str(config), "--pki", str(pki.directory), "--once"])
    assert result.exit_code == 1
    assert "no connector plugin named 'no-such-dms'" in result.output


@pytest.mark.parametrize(("options", "message"), [
    (["--retry-attempts", "0", "--retry-for", "0"], "cannot both be 0"),
    (["--retry-for", "soon"], "'soon' is not a duration"),
])
def test_connector_run_refuses_a_retry_limit_it_cannot_use(
    tmp_path: Path, options: list[str], message: str
) -> None:
    config = tmp_path / "folder.yaml"
    config.write_text(f"root: {tmp_path / 'dms'}\n")
    result = CliRunner().invoke(vb, ["connector", "run", "folder", "--agency", "000.00.00.H24",
                                     "--config", str(config), "--once", *options])
    assert result.exit_code == 2
    assert message in result.output


@pytest.fixture
def vhost(amqp_url: str, unique_prefix: str) -> Iterator[tuple[str, Any]]:
    from vbcore.transport.names import Names
    from vbcore.transport.provision import BrokerAdmin

    names = Names(prefix=unique_prefix, hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-")
    admin = BrokerAdmin(vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    try:
        yield unique_prefix, admin
    finally:
        admin.delete_vhost()


@pytest.mark.rabbitmq
def test_connector_run_once_sends_the_outbox_signed_as_the_agency(
    tmp_path: Path, amqp_url: str, vhost: tuple[str, Any]
) -> None:
    from vbcore.security.pki import init_dev_pki
    from vbcore.security.signing import SignaturePolicy, verify_package
    from vbcore.security.trust import TrustStore
    from vbcore.transport.rabbitmq import RabbitMQTransport

    name, admin = vhost
    agency = "000.00.01.H24"
    admin.add_agency(agency, "mat-khau")  # as the broker user f"{name}-{agency}": never a real agency's
    hub = RabbitMQTransport(f"amqp://guest:guest@127.0.0.1:5672/{name}", admin.names)
    try:
        hub.declare_hub([agency])
        pki = init_dev_pki(tmp_path / "pki", [(agency, "Sở Nội vụ")])
        root = tmp_path / "dms"
        (root / "outbox").mkdir(parents=True)
        body = {"to": ["000.00.00.G22"], "code": {"code_number": "5", "code_notation": "SNV-VP"},
                "subject": "V/v gửi báo cáo"}
        write_atomically(root / "outbox" / "bc.json", json.dumps(body, ensure_ascii=False).encode())
        config = tmp_path / "folder.yaml"
        config.write_text(f"root: {root}\nsettle_seconds: 0\n")
        result = CliRunner().invoke(vb, [
            "connector", "run", "folder", "--agency", agency, "--config", str(config),
            "--broker", f"amqp://{admin.names.agency_user(agency)}:mat-khau@127.0.0.1:5672/{name}",
            "--prefix", name,
            "--pki", str(pki.directory), "--work-dir", str(tmp_path / "work"), "--once",
        ])
        assert result.exit_code == 0, result.output
        assert "đã gửi: " in result.output
        delivery = hub.get(admin.names.ingress_queue)
        assert delivery is not None
        assert delivery.user_id == admin.names.agency_user(agency)
        trust = TrustStore.from_pem_files([pki.ca_cert_path])
        policy = SignaturePolicy()
        verified = verify_package(delivery.body, trust=trust, policy=policy, expected_agency=agency)
        assert verified.signer_agency == agency
        assert (root / "sent" / "bc.json").exists()
    finally:
        hub.close()
        admin.remove_agency(agency)


class UnavailableDms(Connector):
    """A connector whose DMS is down: every round ends waiting."""

    name = "unavailable"
    version = "0"

    @classmethod
    def from_config(cls, config: Any, context: ConnectorContext) -> UnavailableDms:
        return cls(config, context)

    def poll_outgoing(self) -> Any:
        raise DmsUnavailable("the DMS database does not answer")

    def mark_sent(self, outgoing_id: str, document_id: str) -> None: ...
    def mark_failed(self, outgoing_id: str, reason: str) -> None: ...
    def deliver(self, doc: Any) -> Any: ...
    def poll_events(self) -> Any:
        return []
    def mark_event_sent(self, event_id: str) -> None: ...
    def on_status(self, status: Any) -> None: ...


@pytest.mark.rabbitmq
def test_connector_run_once_exits_3_when_the_round_could_not_finish(
    tmp_path: Path, amqp_url: str, vhost: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vbcore.security.pki import init_dev_pki
    from vbcore.transport.rabbitmq import RabbitMQTransport

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points(
        EntryPoint("unavailable", "test_connector_cli:UnavailableDms", plugins.GROUP),
    ))
    name, admin = vhost
    agency = "000.00.00.H24"
    with RabbitMQTransport(f"amqp://guest:guest@127.0.0.1:5672/{name}", admin.names) as hub:
        hub.declare_hub([agency])
    pki = init_dev_pki(tmp_path / "pki", [(agency, "UBND thành phố Hà Nội")])
    config = tmp_path / "c.json"
    config.write_text("{}")
    result = CliRunner().invoke(vb, [
        "connector", "run", "unavailable", "--agency", agency, "--config", str(config),
        "--broker", "amqp://guest:guest@127.0.0.1:5672/", "--vhost", name, "--prefix", name,
        "--pki", str(pki.directory), "--work-dir", str(tmp_path / "work"), "--once",
    ])
    assert result.exit_code == 3, result.output
    assert "vòng chạy chưa xong" in result.output
    assert "the DMS database does not answer" in result.output
