"""The broker's refusals, explained with the fix: a refused login (which user, which broker without the
password), a missing vhost (``--vhost``), a missing queue (``vb agency add`` or ``vb hub run``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vbcore.errors import (
    AccessRefused,
    BrokerLoginRefused,
    QueueNotFound,
    TransportError,
    VhostNotFound,
    VhostNotPermitted,
)
from vbcore.transport.broker_errors import BrokerContext, explain
from vbcore.transport.kombu_transport import KombuTransport, RetryPolicy
from vbcore.transport.rabbitmq import RabbitMQTransport

CONTEXT = BrokerContext("000.00.00.G22", "amqp://000.00.00.G22@10.0.0.5:5672/vbus", "vbus")


def test_a_refused_login_names_the_user_and_the_broker_and_the_command_that_creates_users() -> None:
    err = explain("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.", CONTEXT)
    assert isinstance(err, BrokerLoginRefused)
    assert "user 000.00.00.G22 at amqp://000.00.00.G22@10.0.0.5:5672/vbus" in str(err)
    assert "vb agency add" in err.describe("vi")


def test_a_missing_vhost_says_to_give_the_vhost() -> None:
    err = explain("NOT_ALLOWED - vhost staging not found", CONTEXT)
    assert isinstance(err, VhostNotFound)
    assert "vhost 'staging' does not exist" in str(err)
    assert "--vhost" in err.describe("vi")


def test_a_vhost_the_user_has_no_rights_on_says_where_to_provision_it() -> None:
    err = explain("NOT_ALLOWED - access to vhost 'vbus' refused for user '000.00.00.H41'", CONTEXT)
    assert isinstance(err, VhostNotPermitted)
    assert "user 000.00.00.H41 has no permissions on vhost 'vbus'" in str(err)


def test_a_missing_inbox_means_the_agency_is_not_provisioned() -> None:
    err = explain("NOT_FOUND - no queue 'vbus.inbox.000.00.00.H41' in vhost 'vbus'", None)
    assert isinstance(err, QueueNotFound)
    assert "vb agency add 000.00.00.H41 --vhost vbus" in str(err)
    assert "cơ quan 000.00.00.H41 chưa được cấp phát" in err.describe("vi")


def test_a_missing_hub_queue_or_exchange_means_the_hub_never_ran_there() -> None:
    for what in ("queue 'vbus.parked'", "exchange 'vbus.ingress'"):
        text = f"NOT_FOUND - no {what} in vhost '/'"
        err = explain(text, None)
        assert isinstance(err, QueueNotFound)
        assert "vb hub run" in str(err)


def test_other_texts_are_left_to_the_transport() -> None:
    text = "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/'"
    assert explain(text, None) is None


def test_a_message_stamped_with_another_user_than_the_login_names_both_and_the_certificate() -> None:
    """What an agency gets for sending as another (with another's URL, or another's TLS certificate)."""
    text = "PRECONDITION_FAILED - user_id property set to 'x' but authenticated user was 'y'"
    err = explain(text, None)
    assert isinstance(err, AccessRefused)
    assert "logged this connection in as y" in str(err)
    assert "says it is from x" in str(err)
    assert "chứng thư số của chính x" in err.describe("vi")


Opener = Callable[[str], object]
OPENERS: dict[str, Opener] = {
    "pika": lambda url: RabbitMQTransport(url, reconnect_timeout=1),
    "kombu": lambda url: KombuTransport(url, retry=RetryPolicy(max_retries=1)),
}


@pytest.mark.rabbitmq
@pytest.mark.parametrize("client", sorted(OPENERS))
def test_both_transports_explain_a_refused_login_and_a_missing_vhost(amqp_url: str, client: str) -> None:
    open_ = OPENERS[client]
    with pytest.raises(BrokerLoginRefused) as login:
        open_(amqp_url.replace("guest:guest@", "guest:not-the-password@"))
    assert "user guest" in str(login.value)
    assert "not-the-password" not in str(login.value)
    with pytest.raises(VhostNotFound):
        open_(amqp_url.rstrip("/") + "/vbus-no-such-vhost")


@pytest.mark.rabbitmq
@pytest.mark.parametrize("client", sorted(OPENERS))
def test_both_transports_explain_a_missing_inbox(amqp_url: str, client: str) -> None:
    transport = OPENERS[client](amqp_url)
    assert isinstance(transport, RabbitMQTransport | KombuTransport)
    try:
        with pytest.raises(TransportError) as caught:
            transport.queue_depth("vbus-no-such.inbox.000.00.00.H41")
    finally:
        transport.close()
    assert isinstance(caught.value, QueueNotFound)
    assert "vb agency add 000.00.00.H41" in str(caught.value)
