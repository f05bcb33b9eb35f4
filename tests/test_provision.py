"""Broker provisioning through the management API (and only through it: no fall-back to a local
``rabbitmqctl``, which may belong to another broker)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from test_transport_support import PASSWORD, amqp_url_for, management_url, names_for_test, rabbit_env_on

from vbcore.errors import AccessRefused, ManagementApiUnreachable, VhostNotFound
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin, QueueInfo
from vbcore.transport.rabbitmq import RabbitMQTransport


def test_agency_permissions_reach_exactly_the_ingress_and_its_own_inbox() -> None:
    names = Names(prefix="vbus")
    p = BrokerAdmin(names=names).agency_permissions("000.00.00.H47")
    assert p.configure == "^$"
    assert re.fullmatch(p.write[1:-1], names.ingress_exchange)
    assert not re.search(p.write, names.delivery_exchange)
    assert re.search(p.read, names.inbox("000.00.00.H47"))
    for other in ("000.00.00.H15", "000x00x00xH47", "000.00.00.H47.extra"):
        assert not re.search(p.read, names.inbox(other)), other
    assert not re.search(p.read, names.parked_queue)


def test_hub_permissions_cover_only_this_installation_prefix() -> None:
    p = BrokerAdmin(names=Names(prefix="vbus")).hub_permissions()
    assert re.search(p.configure, "vbus.hub.ingress")
    assert not re.search(p.configure, "other.hub.ingress")
    assert not re.search(p.configure, "vbusx.hub.ingress")


@pytest.fixture
def admin(amqp_url: str, unique_prefix: str) -> Iterator[BrokerAdmin]:
    a = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix, names=names_for_test(unique_prefix))
    a.ensure_vhost()
    yield a
    a.remove_user(a.names.hub_user)
    a.remove_agency(f"{unique_prefix}a")
    a.delete_vhost()


@pytest.mark.rabbitmq
def test_an_agency_user_gets_the_documented_permissions(admin: BrokerAdmin) -> None:
    code = f"{admin.names.prefix}a"
    admin.add_agency(code, PASSWORD)
    assert admin.permissions(admin.names.agency_user(code)) == admin.agency_permissions(code)
    admin.add_hub_user(PASSWORD)
    assert admin.permissions(admin.names.hub_user) == admin.hub_permissions()
    assert admin.permissions("nobody-at-all") is None


@pytest.mark.rabbitmq
def test_provisioning_twice_is_harmless(admin: BrokerAdmin) -> None:
    admin.ensure_vhost()
    admin.add_hub_user(PASSWORD)
    admin.add_hub_user(PASSWORD)
    admin.remove_agency("never-added")
    assert admin.permissions(admin.names.hub_user) == admin.hub_permissions()


@pytest.mark.rabbitmq
@pytest.mark.slow  # waits for the management API's statistics refresh
def test_queues_lists_this_installation_queues_with_their_depth(admin: BrokerAdmin, amqp_url: str) -> None:
    n = admin.names
    admin.add_hub_user(PASSWORD)
    hub = RabbitMQTransport(amqp_url_for(amqp_url, n.hub_user, PASSWORD, admin.vhost), n)
    try:
        hub.declare_hub(["x"])
        hub.publish(n.delivery_exchange, "x", b"one", message_id="m-1")
        hub.publish(n.delivery_exchange, "x", b"two", message_id="m-2")
        deadline = time.monotonic() + 15  # the management API refreshes its counts every few seconds
        while True:
            queues = {q.name: q for q in admin.queues()}
            if queues.get(n.inbox("x"), QueueInfo("", 0, 0)).messages == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        hub.close()
    assert set(queues) == {n.ingress_queue, n.parked_queue, n.inbox("x")}
    assert queues[n.inbox("x")].messages == 2
    assert queues[n.parked_queue] == QueueInfo(n.parked_queue, 0, 0)


@pytest.mark.rabbitmq
def test_a_removed_agency_can_no_longer_connect(admin: BrokerAdmin, amqp_url: str) -> None:
    code = f"{admin.names.prefix}a"
    admin.add_agency(code, PASSWORD)
    url = amqp_url_for(amqp_url, admin.names.agency_user(code), PASSWORD, admin.vhost)
    RabbitMQTransport(url, admin.names).close()
    admin.remove_agency(code)
    with pytest.raises(AccessRefused):
        RabbitMQTransport(url, admin.names)


@pytest.mark.rabbitmq
def test_an_unreachable_management_api_is_an_error_that_says_how_to_enable_it_and_nothing_is_done_elsewhere(
    amqp_url: str, unique_prefix: str
) -> None:
    names = Names(prefix=unique_prefix)
    unreachable = BrokerAdmin("http://guest:guest@127.0.0.1:1", vhost=unique_prefix, names=names)
    api = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix, names=names)
    with pytest.raises(ManagementApiUnreachable) as caught:
        unreachable.ensure_vhost()
    assert "http://127.0.0.1:1" in str(caught.value)
    assert "rabbitmq-plugins enable rabbitmq_management" in caught.value.describe("vi")
    with pytest.raises(VhostNotFound):  # nothing was created on the broker this machine runs
        api.check_vhost()


@pytest.mark.rabbitmq
def test_a_refused_management_login_names_the_user_and_says_to_give_an_administrator(
    amqp_url: str, unique_prefix: str
) -> None:
    url = management_url(amqp_url).replace("guest:guest@", "guest:wrong@")
    with pytest.raises(AccessRefused) as caught:
        BrokerAdmin(url, vhost=unique_prefix).queues()
    assert "refused user guest" in str(caught.value)
    assert "wrong" not in str(caught.value)
    assert "--management-url" in caught.value.describe("vi")


def broker_user_exists(amqp_url: str, user: str) -> bool:
    """Asked of the management API directly: users are broker-wide, not in any vhost."""
    admin = BrokerAdmin(management_url(amqp_url))
    return admin._api("GET", f"/api/users/{quote(user, safe='')}", missing_ok=True) is not None


@pytest.mark.rabbitmq
def test_a_test_environment_names_its_users_under_its_prefix_and_removes_them_afterwards(
    amqp_url: str, unique_prefix: str
) -> None:
    environment = rabbit_env_on(amqp_url, unique_prefix, "rabbitmq")
    env = next(environment)
    env.add_agency("000.00.00.G22")  # a real agency's code ...
    users = [env.names.hub_user, env.names.agency_user("000.00.00.G22")]
    assert users[1] == f"{unique_prefix}-000.00.00.G22"  # ... never its broker user
    assert all(broker_user_exists(amqp_url, user) for user in users)
    environment.close()
    assert not any(broker_user_exists(amqp_url, user) for user in users)
