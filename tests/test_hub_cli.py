"""The hub's operator commands against a real RabbitMQ (a vhost of their own): agency add/remove,
send, queues, and the parked-message commands."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from test_hub_support import HUB_ID, edoc, make_pki

from vbcore.cli import vb
from vbcore.edxml import write_package
from vbcore.security.pki import DevPki
from vbcore.store import open_store
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: the management API updates counts every ~5 s

# Unit codes of this run's own (broker users are broker-wide, and other test runs share the broker),
# known to the hub through an operator's directory file.
UNIT = f"{random.randrange(100, 1000)}.{random.randrange(10, 100)}.01"
SENDER, RECIPIENT = f"{UNIT}.G32", f"{UNIT}.H60"
PASSWORD = "vbus-cli-test"
INBOX_SECRET = "the operator's inbox secret"


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("directory") / "units.json"
    entries = [{"code": SENDER, "name": "Đơn vị gửi thử"}, {"code": RECIPIENT, "name": "Đơn vị nhận thử"}]
    path.write_text(json.dumps({"agencies": entries}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def vhost(
    amqp_url: str, unique_prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    # Broker users are broker-wide: every `vb` command here names agency users under this test's prefix.
    monkeypatch.setenv("VBUS_USER_PREFIX", user_prefix(unique_prefix))
    (tmp_path / "inbox.secret").write_text(INBOX_SECRET)
    monkeypatch.setenv("VBUS_INBOX_SECRET_FILE", str(tmp_path / "inbox.secret"))
    monkeypatch.setenv("VBUS_HUB_USER", "guest")  # the hub these commands talk to runs as guest
    admin = BrokerAdmin(vhost=unique_prefix, names=Names(user_prefix=user_prefix(unique_prefix)))
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


def hub_run_once(pki: DevPki, units: Path, store: str, *extra: str, code: int = 0) -> str:
    result = CliRunner().invoke(vb, [
        "hub", "run", "--once", "--store", store, "--trust", str(pki.ca_cert_path), "--directory", str(units),
        "--key", str(pki.key_path(HUB_ID)), "--cert", str(pki.cert_path(HUB_ID)), "--log-format", "console",
        "--agency", SENDER, "--agency", RECIPIENT, *extra,
    ])  # fmt: skip
    assert result.exit_code == code, result.output
    return result.output


def test_every_operator_command_acts_on_the_one_vhost_given_once(
    amqp_url: str, vhost: str, pki: DevPki, units: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The vhost is given once, in the environment; no URL below names it.
    monkeypatch.setenv("VBUS_VHOST", vhost)
    monkeypatch.setenv("VBUS_BROKER", amqp_url)
    out = tmp_path / "certs"
    for code in (SENDER, RECIPIENT):
        text = invoke(
            "--lang", "en", "agency", "add", code, "--password", PASSWORD,
            "--ca-key", str(pki.ca_key_path), "--ca-cert", str(pki.ca_cert_path), "--out", str(out),
        )  # fmt: skip
        assert hub_names(vhost).inbox(code) in text
        assert (out / f"{code}.pem").exists()
        assert (out / f"{code}.inbox").read_text().strip() == hub_names(vhost).inbox(code)
    store = f"sqlite:///{tmp_path / 'hub.db'}"
    assert "đã xử lý 0 thông điệp" in hub_run_once(pki, units, store)  # declares the hub's queues
    doc_file = tmp_path / "doc.edxml"
    doc_file.write_bytes(write_package(edoc(SENDER, [RECIPIENT])))
    sent = invoke(
        "send", str(doc_file), "--as", SENDER, "--key", str(out / f"{SENDER}.key.pem"),
        "--cert", str(out / f"{SENDER}.pem"),
        "--broker", agency_url(amqp_url, SENDER, vhost).rsplit("/", 1)[0],
    )  # fmt: skip
    assert SENDER in sent  # "Đã gửi văn bản <DocumentId> với tư cách <agency> ..."
    # Two mistakes: garbage, then a document to nobody the directory knows.
    with RabbitMQTransport(agency_url(amqp_url, SENDER, vhost)) as t:
        for message_id in ("garbage-1", "garbage-2"):
            t.publish("vbus.ingress", SENDER, b"not xml", message_id=message_id, headers={n.SENDER: SENDER})
    assert "đã xử lý 3 thông điệp" in hub_run_once(pki, units, store)
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        assert t.queue_depth(hub_names(vhost).inbox(RECIPIENT)) == 1
    # The evidence log: accepted, delivered, the two refused; signed on shutdown; vb audit verify agrees.
    tracked = open_store(store)
    try:
        kinds = sorted(e.kind for e, _, _ in tracked.evidence_rows())
        checkpoint = tracked.last_checkpoint()
        assert checkpoint is not None
        assert checkpoint.seq == tracked.evidence_head()[0]
    finally:
        tracked.close()
    assert kinds == ["copy-delivered", "package-accepted", "package-refused", "package-refused"]
    audited = invoke("--lang", "en", "audit", "verify", "--store", store, "--trust", str(pki.ca_cert_path))
    assert "intact" in audited

    queues = invoke_until("bị giữ lại: 2", "queues")  # the management API lags a few seconds
    assert "vbus.parked" in queues
    assert "BÁO ĐỘNG" not in queues
    assert "ALARM: 2 or more" in invoke("--lang", "en", "queues", "--parked-alarm", "2")
    listing = invoke("parked", "list")
    assert "garbage-1" in listing
    assert "malformed: Gói tin không đúng cú pháp XML" in listing
    assert "2 thông điệp bị giữ lại" in listing
    assert "not xml" in invoke("parked", "show", "garbage-1")
    assert "đã xóa garbage-2" in invoke("parked", "drop", "garbage-2")
    assert "replayed garbage-1" in invoke("--lang", "en", "parked", "replay", "garbage-1")
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        assert t.queue_depth("vbus.parked") == 0
        replayed = t.get(Names().ingress_queue)
        assert replayed is not None
        # Checked against the sender recorded when it was parked, not the operator.
        assert replayed.headers[n.ORIGINAL_USER] == f"{user_prefix(vhost)}{SENDER}"

    invoke("agency", "remove", RECIPIENT)
    assert BrokerAdmin(vhost=vhost).user(f"{user_prefix(vhost)}{RECIPIENT}") is None
    invoke_until("parked: 0", "--lang", "en", "queues")


def test_a_broker_url_naming_another_vhost_than_vbus_vhost_is_refused(
    amqp_url: str, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBUS_VHOST", vhost)
    other = admin_url(amqp_url, "other")
    result = CliRunner().invoke(vb, ["--lang", "en", "parked", "list", "--broker", other])
    assert result.exit_code == 1
    assert f"the broker URL names vhost 'other' but --vhost (or VBUS_VHOST) says '{vhost}'" in result.output


@pytest.mark.postgres
def test_hub_run_once_exits_3_and_leaves_the_message_queued_when_the_store_fails(
    amqp_url: str, vhost: str, pki: DevPki, units: Path, pg_dsn: str, unique_prefix: str
) -> None:
    import psycopg

    schema = f"vbus_test_{unique_prefix}"
    store = f"{pg_dsn}?schema={schema}&options=--lock_timeout%3D300"
    broker = ["--broker", admin_url(amqp_url, vhost)]
    hub_run_once(pki, units, store, *broker)  # creates the store and declares the queues
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        t.publish("vbus.ingress", SENDER, b"not xml", message_id="m-1")
    try:
        with psycopg.connect(pg_dsn) as lock:  # another process holds every table of the store
            tables = [r[0] for r in lock.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'schema_version'",
                (schema,),
            )]  # fmt: skip
            qualified = ", ".join(f'"{schema}"."{t}"' for t in tables)
            lock.execute(f"LOCK TABLE {qualified} IN ACCESS EXCLUSIVE MODE")
            output = hub_run_once(pki, units, store, *broker, code=3)
            lock.rollback()
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert "1 thông điệp được trả lại hàng đợi" in output
    with RabbitMQTransport(admin_url(amqp_url, vhost)) as t:
        assert t.queue_depth(Names().ingress_queue) == 1


def test_a_refused_broker_login_names_the_user_and_the_broker_without_the_password(amqp_url: str) -> None:
    url = amqp_url.replace("guest:guest@", "guest:not-the-password@")
    result = CliRunner().invoke(vb, ["parked", "list", "--broker", url])
    assert result.exit_code == 1
    assert result.output.startswith("Máy chủ chuyển tin từ chối đăng nhập: người dùng guest tại amqp://guest@")
    assert "not-the-password" not in result.output
    assert "vb agency add" in result.output
    assert "Traceback" not in result.output


def test_a_missing_vhost_says_to_give_the_installations_vhost(amqp_url: str, unique_prefix: str) -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "parked", "list", "--vhost", f"{unique_prefix}-none"])
    assert result.exit_code == 1
    assert f"vhost '{unique_prefix}-none' does not exist" in result.output
    assert "--vhost" in result.output


def test_a_hub_queue_missing_says_to_start_the_hub_once(amqp_url: str, vhost: str) -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "parked", "list", "--vhost", vhost])
    assert result.exit_code == 1
    assert f"queue vbus.parked does not exist in vhost '{vhost}'" in result.output
    assert "vb hub run" in result.output


def test_an_unreachable_management_api_says_how_to_enable_it_and_nothing_falls_back(vhost: str) -> None:
    result = CliRunner().invoke(
        vb, ["queues", "--vhost", vhost, "--management-url", "http://guest:guest@127.0.0.1:1"]
    )
    assert result.exit_code == 3  # unavailable: try again later
    assert "http://127.0.0.1:1" in result.output
    assert "rabbitmq-plugins enable rabbitmq_management" in result.output
    assert "vbus." not in result.output  # no queue listed from some other broker


def test_a_missing_vhost_on_the_management_api_is_named(unique_prefix: str) -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "queues", "--vhost", f"{unique_prefix}-none"])
    assert result.exit_code == 1
    assert f"vhost '{unique_prefix}-none' does not exist" in result.output


def test_a_hub_id_its_certificate_does_not_bind_is_warned_of(
    amqp_url: str, vhost: str, pki: DevPki, units: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its checkpoints and receipts would verify nowhere: only the certificate's id may sign them."""
    monkeypatch.setenv("VBUS_VHOST", vhost)
    monkeypatch.setenv("VBUS_BROKER", amqp_url)
    store = f"sqlite:///{tmp_path / 'hub.db'}"
    assert "CẢNH BÁO" not in hub_run_once(pki, units, store)
    warned = hub_run_once(pki, units, store, "--hub-id", "vbus.other-hub")
    expected = f"CẢNH BÁO: chứng thư số của trục ghi danh tính {HUB_ID}, không phải --hub-id vbus.other-hub"
    assert expected in warned
