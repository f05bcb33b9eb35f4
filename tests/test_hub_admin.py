"""``vb agency add`` (``vbcore.hub.admin.add_agency``) on a real RabbitMQ, in a vhost of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from vbcore.hub.admin import add_agency
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def admin(amqp_url: str, unique_prefix: str) -> Iterator[BrokerAdmin]:
    admin = BrokerAdmin(vhost=unique_prefix)
    admin.ensure_vhost()
    yield admin
    admin.delete_vhost()


def test_an_agency_added_under_another_prefix_may_use_that_installations_exchange_and_inbox(
    amqp_url: str, admin: BrokerAdmin, tmp_path: Path
) -> None:
    code = "000.00.11.H24"
    names = Names(prefix="sonv", user_prefix=f"{admin.vhost}-")  # broker users are broker-wide
    try:
        lines = add_agency(
            code, password="vbus-admin-test", name=None, ca_key=None, ca_cert=None, out=tmp_path,
            management_url="http://guest:guest@127.0.0.1:15672", vhost=admin.vhost,
            broker=amqp_url.rstrip("/") + "/" + quote(admin.vhost, safe=""), names=names,
        )  # fmt: skip
        permissions = admin.permissions(names.agency_user(code))
    finally:
        BrokerAdmin(vhost=admin.vhost, names=names).remove_agency(code)
    assert f"sonv.inbox.{code}" in lines[0]
    assert permissions is not None
    assert re.fullmatch(permissions.write, "sonv.ingress")
    assert not re.fullmatch(permissions.write, "vbus.ingress")
    assert re.fullmatch(permissions.read, f"sonv.inbox.{code}")
    with RabbitMQTransport(amqp_url.rstrip("/") + "/" + quote(admin.vhost, safe=""), names=names) as t:
        assert t.queue_depth(names.inbox(code)) == 0  # declared under the installation's names
