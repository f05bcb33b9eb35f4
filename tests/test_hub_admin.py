"""``vb agency add`` (``vbcore.hub.admin.add_agency``) on a real RabbitMQ, in a vhost of its own: it
provisions under the installation's names, it is all or nothing, and it does not re-issue an
existing agency's password, key and certificate unless told."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from test_hub_support import make_pki

from vbcore.cli import vb
from vbcore.errors import AgencyAlreadyProvisioned, BrokerLoginRefused, InvalidAgencyCode
from vbcore.hub.admin import add_agency
from vbcore.security.pki import DevPki
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = pytest.mark.rabbitmq

MANAGEMENT = "http://guest:guest@127.0.0.1:15672"


@pytest.fixture
def admin(amqp_url: str, unique_prefix: str) -> Iterator[BrokerAdmin]:
    # Broker users are broker-wide: this test's agencies are users under its own prefix.
    admin = BrokerAdmin(vhost=unique_prefix, names=Names(user_prefix=f"{unique_prefix}-"))
    admin.ensure_vhost()
    yield admin
    admin.delete_vhost()


@pytest.fixture
def code(admin: BrokerAdmin) -> Iterator[str]:
    """A unit code of this test's own (broker users are broker-wide), removed afterwards."""
    code = f"{random.randrange(100, 1000)}.{random.randrange(10, 100)}.{random.randrange(10, 100)}.H24"
    yield code
    admin.remove_agency(code)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def in_vhost(amqp_url: str, vhost: str, user: str = "guest", password: str = "guest") -> str:
    host = amqp_url.split("@", 1)[1].split("/", 1)[0]
    return f"amqp://{quote(user, safe='')}:{password}@{host}/{quote(vhost, safe='')}"


def add(
    code: str, admin: BrokerAdmin, broker: str, out: Path, pki: DevPki | None = None, **extra: Any
) -> Any:
    options: dict[str, Any] = {
        "password": "vbus-admin-test", "name": None, "ca_key": pki.ca_key_path if pki else None,
        "ca_cert": pki.ca_cert_path if pki else None, "out": out, "management_url": MANAGEMENT,
        "vhost": admin.vhost, **{k: v for k, v in extra.items() if k != "names"},
    }  # fmt: skip
    names = options["names"] = replace(extra.get("names", admin.names), user_prefix=admin.names.user_prefix)
    options["hub_transport"] = lambda: RabbitMQTransport(broker, names=names)
    return add_agency(code, **options)


def user_of(admin: BrokerAdmin, code: str) -> str:
    return admin.names.agency_user(code)


def can_log_in(amqp_url: str, vhost: str, user: str, password: str) -> bool:
    try:
        RabbitMQTransport(in_vhost(amqp_url, vhost, user, password)).close()
    except BrokerLoginRefused:
        return False
    return True


def test_an_agency_added_under_another_prefix_may_use_that_installations_exchange_and_inbox(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path
) -> None:
    names = Names(prefix="sonv")
    added = add(code, admin, in_vhost(amqp_url, admin.vhost), tmp_path, names=names)
    permissions = admin.permissions(user_of(admin, code))
    assert f"sonv.inbox.{code}" in added.lines("en")[0]
    assert permissions is not None
    assert re.fullmatch(permissions.write, "sonv.ingress")
    assert not re.fullmatch(permissions.write, "vbus.ingress")
    assert re.fullmatch(permissions.read, f"sonv.inbox.{code}")
    with RabbitMQTransport(in_vhost(amqp_url, admin.vhost), names=names) as t:
        assert t.queue_depth(names.inbox(code)) == 0  # declared under the installation's names


def test_a_failing_inbox_step_leaves_no_broker_user_behind(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path, pki: DevPki
) -> None:
    wrong_hub_password = in_vhost(amqp_url, admin.vhost, "guest", "not-the-password")
    with pytest.raises(BrokerLoginRefused):
        add(code, admin, wrong_hub_password, tmp_path / "out", pki)
    assert admin.user(user_of(admin, code)) is None
    assert admin.permissions(user_of(admin, code)) is None
    assert not (tmp_path / "out").exists()


def test_a_failing_certificate_step_removes_the_user_and_the_inbox_it_created(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path, pki: DevPki
) -> None:
    not_a_folder = tmp_path / "out"
    not_a_folder.write_text("a file where the certificates should go")
    with pytest.raises(OSError):
        add(code, admin, in_vhost(amqp_url, admin.vhost), not_a_folder, pki)
    assert admin.user(user_of(admin, code)) is None
    assert not admin.queue_exists(Names().inbox(code))
    assert not_a_folder.read_text() == "a file where the certificates should go"


def test_an_existing_agency_is_not_reissued_unless_told(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path, pki: DevPki
) -> None:
    broker = in_vhost(amqp_url, admin.vhost)
    add(code, admin, broker, tmp_path, pki)
    key, cert = (tmp_path / f"{code}.key.pem").read_bytes(), (tmp_path / f"{code}.pem").read_bytes()
    with pytest.raises(AgencyAlreadyProvisioned) as caught:
        add(code, admin, broker, tmp_path, pki, password="another-password")
    assert "--reissue" in caught.value.describe("vi")
    assert f"người dùng {user_of(admin, code)} trên máy chủ chuyển tin" in caught.value.describe("vi")
    assert str(tmp_path / f"{code}.key.pem") in str(caught.value)
    assert (tmp_path / f"{code}.key.pem").read_bytes() == key
    assert (tmp_path / f"{code}.pem").read_bytes() == cert
    assert can_log_in(amqp_url, admin.vhost, user_of(admin, code), "vbus-admin-test")
    assert not can_log_in(amqp_url, admin.vhost, user_of(admin, code), "another-password")

    added = add(code, admin, broker, tmp_path, pki, password="another-password", reissue=True)
    assert added.reissued
    assert (tmp_path / f"{code}.key.pem").read_bytes() != key
    assert (tmp_path / f"{code}.pem").read_bytes() != cert
    assert can_log_in(amqp_url, admin.vhost, user_of(admin, code), "another-password")


def test_a_failed_reissue_puts_back_the_password_permissions_key_and_certificate(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path, pki: DevPki
) -> None:
    add(code, admin, in_vhost(amqp_url, admin.vhost), tmp_path, pki)
    key = (tmp_path / f"{code}.key.pem").read_bytes()
    permissions = admin.permissions(user_of(admin, code))
    wrong_hub_password = in_vhost(amqp_url, admin.vhost, "guest", "not-the-password")
    with pytest.raises(BrokerLoginRefused):
        add(code, admin, wrong_hub_password, tmp_path, pki, password="another-password", reissue=True)
    assert can_log_in(amqp_url, admin.vhost, user_of(admin, code), "vbus-admin-test")
    assert admin.permissions(user_of(admin, code)) == permissions
    assert (tmp_path / f"{code}.key.pem").read_bytes() == key


def test_vb_agency_add_twice_says_what_exists_and_exits_1(
    amqp_url: str, admin: BrokerAdmin, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBUS_VHOST", admin.vhost)
    monkeypatch.setenv("VBUS_USER_PREFIX", admin.names.user_prefix)
    secret = tmp_path / "inbox.secret"
    secret.write_text("a-test-inbox-secret-of-this-test\n", encoding="utf-8")
    args = ["agency", "add", code, "--password", "pw-1", "--out", str(tmp_path),
            "--inbox-secret", str(secret)]  # fmt: skip
    first = CliRunner().invoke(vb, args)
    assert first.exit_code == 0, first.output
    assert "đã khai báo hộp thư" in first.output
    again = CliRunner().invoke(vb, ["--lang", "en", *args])
    assert again.exit_code == 1
    assert again.output.startswith(f"The agency is already provisioned: agency {code} exists already")
    assert "--reissue" in again.output
    assert "Traceback" not in again.output


@pytest.mark.parametrize("code", ["../../etc/000.00.00.G22", "000.00.00.G22/..", ".*", ""])
def test_a_code_that_is_no_agency_code_is_refused_before_anything_is_written(
    admin: BrokerAdmin, tmp_path: Path, pki: DevPki, code: str
) -> None:
    with pytest.raises(InvalidAgencyCode):
        add(code, admin, "amqp://guest:guest@127.0.0.1:5672/", tmp_path / "out", pki)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "etc").exists()
    if code:
        assert admin.user(user_of(admin, code)) is None
