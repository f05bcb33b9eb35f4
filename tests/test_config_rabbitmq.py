"""`vb hub run --config` and `vb connector run --config` against a real RabbitMQ (a vhost of their own):
the one file starts them, the hub serves /metrics, /healthz and /readyz, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from test_hub_support import HUB_ID, make_pki

from connectors.folder import write_atomically
from vbcore.cli import vb
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]
VB = str(Path(sys.executable).parent / "vb")


@pytest.fixture
def vhost(unique_prefix: str) -> Iterator[tuple[str, BrokerAdmin]]:
    names = Names(prefix=unique_prefix, hub_user="guest", user_prefix=f"{unique_prefix}-",
                  inbox_secret="the operator's inbox secret")  # fmt: skip
    admin = BrokerAdmin(vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    try:
        yield unique_prefix, admin
    finally:
        admin.delete_vhost()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def until(url: str, check: Any, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(url)
        if check(status, body):
            return body
        assert time.monotonic() < deadline, f"{url}: {status} {body}"
        time.sleep(0.2)


def test_a_hub_started_from_its_file_serves_its_metrics_and_readiness_and_stops_on_sigterm(
    tmp_path: Path, amqp_url: str, vhost: tuple[str, BrokerAdmin]
) -> None:
    name, admin = vhost
    make_pki(tmp_path / "pki")
    (tmp_path / "pki" / "inbox.secret").write_text("the operator's inbox secret")
    (tmp_path / "broker.password").write_text((urlsplit(amqp_url).password or "guest") + "\n")
    port = free_port()
    broker = urlsplit(amqp_url)
    (tmp_path / "hub.toml").write_text(f"""
[broker]
nodes = ["amqp://{broker.hostname}:{broker.port or 5672}"]
user = "{broker.username or 'guest'}"
password_file = "broker.password"
vhost = "{name}"
prefix = "{name}"
hub_user = "guest"
user_prefix = "{name}-"

[store]
url = "sqlite:///{tmp_path / 'hub.db'}"

[keys]
trust = "pki/ca.pem"
key = "pki/{HUB_ID}.key.pem"
cert = "pki/{HUB_ID}.pem"
inbox_secret_file = "pki/inbox.secret"

[hub]
id = "{HUB_ID}"
log_format = "json"

[metrics]
port = {port}
""", encoding="utf-8")
    assert CliRunner().invoke(vb, ["config", "check", str(tmp_path / "hub.toml")]).exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("VBUS_")}
    hub = subprocess.Popen([VB, "hub", "run", "--config", str(tmp_path / "hub.toml")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        until(base + "/readyz", lambda status, body: status == 200)
        assert get(base + "/healthz") == (200, "alive\n")
        with RabbitMQTransport(amqp_url.rstrip("/") + "/" + name, names=admin.names) as guest:
            # Published by the hub's own user without the recorded sender: refused, parked, counted.
            guest.publish(admin.names.ingress_exchange, "x", b"<edXML/>", message_id="m-1", headers={})
        metrics = until(base + "/metrics",
                        lambda status, body: 'vbus_hub_refused_total{reason="sender-unknown"} 1.0' in body)
        assert 'vbus_hub_received_total{kind="unknown"} 1.0' in metrics
        assert "vbus_hub_consuming 1.0" in metrics
        assert f'vbus_hub_info{{hub_id="{HUB_ID}"' in metrics
        assert "process_resident_memory_bytes" in metrics
        until(base + "/metrics", lambda status, body: "vbus_hub_parked_messages 1.0" in body)
    finally:
        hub.send_signal(signal.SIGTERM)
        output, _ = hub.communicate(timeout=60)
    assert hub.returncode == 0, output
    events = [json.loads(line).get("event") for line in output.splitlines() if line.startswith("{")]
    assert "hub.started" in events
    assert "hub.stopped" in events
    assert get(base + "/healthz")[0] == 0  # the listener closed with the hub


def test_a_connector_runs_from_its_file_with_the_plugins_settings_inside(
    tmp_path: Path, amqp_url: str, vhost: tuple[str, BrokerAdmin]
) -> None:
    from vbcore.security.pki import init_dev_pki

    name, admin = vhost
    agency = "000.00.01.H24"
    admin.add_agency(agency, "mat-khau")
    hub = RabbitMQTransport(amqp_url.rstrip("/") + "/" + name, admin.names)
    try:
        hub.declare_hub([agency])
        init_dev_pki(tmp_path / "pki", [(agency, "Sở Nội vụ")])
        (tmp_path / "pki" / f"{agency}.inbox").write_text(admin.names.inbox(agency))
        root = tmp_path / "dms"
        (root / "outbox").mkdir(parents=True)
        body = {"to": ["000.00.00.G22"], "code": {"code_number": "5", "code_notation": "SNV-VP"},
                "subject": "V/v gửi báo cáo"}
        write_atomically(root / "outbox" / "bc.json", json.dumps(body, ensure_ascii=False).encode())
        broker = urlsplit(amqp_url)
        (tmp_path / "connector.toml").write_text(f"""
[broker]
nodes = ["amqp://{broker.hostname}:{broker.port or 5672}"]
user = "{admin.names.agency_user(agency)}"
vhost = "{name}"
prefix = "{name}"

[keys]
pki = "pki"

[connector]
plugin = "folder"
agency = "{agency}"
work_dir = "work"

[connector.settings]
root = "{root}"
settle_seconds = 0
""", encoding="utf-8")
        result = CliRunner().invoke(
            vb, ["connector", "run", "--config", str(tmp_path / "connector.toml"), "--once"],
            env={"VBUS_BROKER_PASSWORD": "mat-khau", "VBUS_BROKER": None, "VBUS_PREFIX": None},
        )
        assert result.exit_code == 0, result.output
        assert "đã gửi: " in result.output
        delivery = hub.get(admin.names.ingress_queue)
        assert delivery is not None
        assert delivery.user_id == admin.names.agency_user(agency)
        assert (root / "sent" / "bc.json").exists()
        assert (tmp_path / "work" / "ledger.sqlite3").exists()  # work_dir relative to the file
    finally:
        hub.close()
        admin.remove_agency(agency)
