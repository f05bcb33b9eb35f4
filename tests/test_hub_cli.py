"""The hub's operator commands against a real RabbitMQ (a vhost of their own): agency add/remove,
send, queues, and the parked-message commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from test_hub_support import HUB_ID, edoc, make_pki
from test_transport_support import management_url

from vbcore.cli import vb
from vbcore.directory import Directory
from vbcore.edxml import write_package
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.pki import DevPki
from vbcore.signing import SigningKey
from vbcore.store import open_store
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport
from vbcore.trust import TrustStore

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: the management API updates counts every ~5 s

SENDER, RECIPIENT = "000.00.00.G32", "000.00.00.H60"
PASSWORD = "vbus-cli-test"


INBOX_SECRET = "the operator's inbox secret"


@pytest.fixture
def vhost(
    amqp_url: str, unique_prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    # Broker users are broker-wide: every `vb` command here names agency users under this test's prefix.
    monkeypatch.setenv("VBUS_USER_PREFIX", user_prefix(unique_prefix))
    (tmp_path / "inbox.secret").write_text(INBOX_SECRET)
    monkeypatch.setenv("VBUS_INBOX_SECRET_FILE", str(tmp_path / "inbox.secret"))
    admin = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix,
                        names=Names(user_prefix=user_prefix(unique_prefix)))
    monkeypatch.setenv("VBUS_MANAGEMENT_URL", management_url(amqp_url))
    admin.ensure_vhost()
    try:
        yield unique_prefix
    finally:
        admin.delete_vhost()
        for code in (SENDER, RECIPIENT):
            admin.remove_agency(code)


def user_prefix(vhost: str) -> str:
    return f"{vhost}-"


def hub_names(vhost: str) -> Names:
    """The names of the hub these commands talk to (it runs as guest)."""
    return Names(hub_user="guest", user_prefix=user_prefix(vhost), inbox_secret=INBOX_SECRET)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def admin_url(amqp_url: str, vhost: str) -> str:
    return amqp_url.rstrip("/") + "/" + quote(vhost, safe="")


def agency_url(amqp_url: str, code: str, vhost: str) -> str:
    host = amqp_url.split("@", 1)[1].split("/", 1)[0]
    return f"amqp://{user_prefix(vhost)}{code}:{PASSWORD}@{host}/{quote(vhost, safe='')}"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(vb, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def invoke_until(expected: str, *args: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        output = invoke(*args)
        if expected in output or time.monotonic() > deadline:
            assert expected in output, output
            return output
        time.sleep(0.5)


def run_hub_once(amqp_url: str, vhost: str, pki: DevPki, tmp_path: Path) -> None:
    names = hub_names(vhost)
    hub = Hub(
        RabbitMQTransport(admin_url(amqp_url, vhost), names=names),
        open_store(f"sqlite:///{tmp_path / 'hub.db'}"),
        key=SigningKey.from_files(pki.key_path(HUB_ID), pki.cert_path(HUB_ID)),
        trust=TrustStore.from_pem_files([pki.ca_cert_path]),
        directory=Directory.default(),
        config=HubConfig(hub_id=HUB_ID, names=names),
    )
    hub.start([SENDER, RECIPIENT])
    hub.transport.drain(1.0)
    hub.transport.close()
    hub.store.close()


def test_an_agency_added_by_the_cli_can_send_and_its_parked_mistakes_can_be_replayed_or_dropped(
    amqp_url: str, vhost: str, pki: DevPki, tmp_path: Path
) -> None:
    out = tmp_path / "certs"
    for code in (SENDER, RECIPIENT):
        text = invoke(
            "agency", "add", code, "--password", PASSWORD, "--vhost", vhost,
            "--broker", admin_url(amqp_url, vhost),
            "--ca-key", str(pki.ca_key_path), "--ca-cert", str(pki.ca_cert_path), "--out", str(out),
        )  # fmt: skip
        assert hub_names(vhost).inbox(code) in text
        assert (out / f"{code}.pem").exists()
        assert (out / f"{code}.inbox").read_text().strip() == hub_names(vhost).inbox(code)
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        t.declare_hub([])
    doc_file = tmp_path / "doc.edxml"
    doc_file.write_bytes(write_package(edoc(SENDER, [RECIPIENT])))
    sent = invoke(
        "send", str(doc_file), "--as", SENDER, "--key", str(out / f"{SENDER}.key.pem"),
        "--cert", str(out / f"{SENDER}.pem"), "--broker", agency_url(amqp_url, SENDER, vhost),
    )  # fmt: skip
    assert "sent edoc" in sent
    # Two mistakes: garbage, then a document to nobody the directory knows.
    with RabbitMQTransport(agency_url(amqp_url, SENDER, vhost)) as t:
        for message_id in ("garbage-1", "garbage-2"):
            t.publish("vbus.ingress", SENDER, b"not xml", message_id=message_id, headers={n.SENDER: SENDER})
    run_hub_once(amqp_url, vhost, pki, tmp_path)
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        assert t.queue_depth(hub_names(vhost).inbox(RECIPIENT)) == 1

    queues = invoke_until("parked: 2", "queues", "--vhost", vhost)  # the management API lags a few seconds
    assert "vbus.parked" in queues
    assert "ALARM" not in queues
    assert "ALARM: 2 or more" in invoke("queues", "--vhost", vhost, "--parked-alarm", "2")
    broker = ["--broker", admin_url(amqp_url, vhost), "--hub-user", "guest"]  # this hub runs as guest
    listing = invoke("parked", "list", *broker)
    assert "garbage-1" in listing
    assert "malformed" in listing
    assert "2 parked" in listing
    assert "not xml" in invoke("parked", "show", "garbage-1", *broker)
    assert "dropped garbage-2" in invoke("parked", "drop", "garbage-2", *broker)
    assert "replayed garbage-1" in invoke("parked", "replay", "garbage-1", *broker)
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        assert t.queue_depth("vbus.parked") == 0
        replayed = t.get(Names().ingress_queue)
        assert replayed is not None
        # Checked against the sender recorded when it was parked, not the operator.
        assert replayed.headers[n.ORIGINAL_USER] == f"{user_prefix(vhost)}{SENDER}"

    invoke("agency", "remove", RECIPIENT, "--vhost", vhost)
    invoke_until("parked: 0", "queues", "--vhost", vhost)
