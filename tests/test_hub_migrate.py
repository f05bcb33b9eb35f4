"""``vb hub migrate`` on a real RabbitMQ: a vbus 0.1 installation (the ingress dead-lettering through the
broker, inboxes named by code) moved to this version's queues, nothing lost, identities kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from click.testing import CliRunner
from test_hub_support import G22, H24, HUB_ID, edoc, make_pki
from test_transport_support import PASSWORD, amqp_url_for, management_url, names_for_test

from vbcore.cli import vb
from vbcore.directory import Directory
from vbcore.edxml import write_package
from vbcore.errors import AccessRefused
from vbcore.hub.config import HubConfig
from vbcore.security.pki import DevPki
from vbcore.security.signing import sign_package
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys
from vbcore.transport import names as n
from vbcore.transport.amqp_wire import PARKED_QUEUE_ARGUMENTS, work_queue_arguments
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = pytest.mark.rabbitmq


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def old(amqp_url: str, unique_prefix: str) -> Iterator[tuple[Names, BrokerAdmin]]:
    """A vbus 0.1 installation: its names (no inbox secret), users and queues, as 0.1 declared them."""
    names = dataclasses.replace(names_for_test(unique_prefix), inbox_secret="")
    admin = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(PASSWORD)
    for code in (G22, H24):
        admin.add_agency(code, PASSWORD)
    url = amqp_url_for(amqp_url, names.hub_user, PASSWORD, unique_prefix)
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        ch.exchange_declare(names.dead_letter_exchange, "fanout", durable=True)
        ch.queue_declare(names.parked_queue, durable=True, arguments=PARKED_QUEUE_ARGUMENTS)
        ch.queue_bind(names.parked_queue, names.dead_letter_exchange)
        ch.exchange_declare(names.ingress_exchange, "fanout", durable=True)
        ch.queue_declare(names.legacy_ingress_queue, durable=True, arguments=work_queue_arguments(names))
        ch.queue_bind(names.legacy_ingress_queue, names.ingress_exchange)
        ch.exchange_declare(names.delivery_exchange, "direct", durable=True)
        for code in (G22, H24):
            ch.queue_declare(names.legacy_inbox(code), durable=True, arguments=work_queue_arguments(names))
            ch.queue_bind(names.legacy_inbox(code), names.delivery_exchange, code)
    try:
        yield names, admin
    finally:
        for code in (G22, H24):
            admin.remove_agency(code)
        admin.remove_user(names.hub_user)
        admin.delete_vhost()


def test_migrating_moves_the_old_ingress_and_inboxes_and_keeps_who_sent_what(
    amqp_url: str, old: tuple[Names, BrokerAdmin], pki: DevPki, tmp_path: Path
) -> None:
    names, admin = old
    url = lambda user: amqp_url_for(amqp_url, user, PASSWORD, admin.vhost)  # noqa: E731
    dev = DevKeys.load(pki)
    letter = sign_package(write_package(edoc(G22, [H24])), dev.keys[G22])
    # Waiting under 0.1: a letter G22 submitted, one published without user_id, a 02 in G22's inbox.
    with RabbitMQTransport(url(names.agency_user(G22)), names) as agency:
        agency.publish(names.ingress_exchange, G22, letter, message_id="letter",
                       headers={n.KIND: n.KIND_EDOC})
    with RabbitMQTransport(url(names.agency_user(G22)), names, stamp_user_id=False) as anonymous:
        anonymous.publish(names.ingress_exchange, G22, letter, message_id="anonymous")
    with RabbitMQTransport(url(names.hub_user), names) as hub:
        hub.publish(names.delivery_exchange, G22, b"a 02 from 0.1", message_id="refusal|x|",
                    headers={n.KIND: n.KIND_REFUSAL})

    secret = tmp_path / "inbox.secret"
    secret.write_text("the operator's inbox secret\n")
    not_yet = CliRunner().invoke(vb, [
        "hub", "run", "--broker", url(names.hub_user), "--hub-user", names.hub_user, "--store", "sqlite://",
        "--trust", str(pki.ca_cert_path), "--key", str(pki.key_path(HUB_ID)),
        "--cert", str(pki.cert_path(HUB_ID)), "--prefix", names.prefix, "--inbox-secret", str(secret),
    ])  # fmt: skip
    assert not_yet.exit_code == 1
    assert "vb hub migrate" in not_yet.output  # the new hub does not start beside the old queues
    result = CliRunner().invoke(vb, [
        "--lang", "en", "hub", "migrate", "--broker", url(names.hub_user),
        "--management-url", management_url(amqp_url),
        "--vhost", admin.vhost, "--prefix", names.prefix,
        "--hub-user", names.hub_user, "--user-prefix", names.user_prefix, "--inbox-secret", str(secret),
        "--out", str(tmp_path / "out"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    new = dataclasses.replace(names, inbox_secret="the operator's inbox secret")
    assert "ingress: 2 messages" in result.output
    assert f"{G22}: inbox is now {new.inbox(G22)} (1 messages moved" in result.output
    assert (tmp_path / "out" / f"{G22}.inbox").read_text().strip() == new.inbox(G22)

    with RabbitMQTransport(url(names.hub_user), new) as hub:
        assert not hub.queue_exists(names.legacy_ingress_queue)
        assert not any(hub.queue_exists(names.legacy_inbox(code)) for code in (G22, H24))
        hub_store = open_store("sqlite://")
        the_hub = dev.hub(hub, hub_store, HubConfig(hub_id=HUB_ID, names=new), Directory.default())
        the_hub.start([G22, H24])
        hub.drain(2.0)
        assert [(r.message_id, r.reason) for r in hub_store.refusals()] == [("anonymous", "sender-unknown")]
    with RabbitMQTransport(url(names.agency_user(H24)), new) as receiver:
        forwarded = receiver.get(new.inbox(H24))  # its read permission now names the new inbox
        assert forwarded is not None
        assert forwarded.message_id == f"{edoc(G22, [H24]).document_id}|{H24}"
        assert forwarded.headers[n.SENDER] == G22
        receiver.ack(forwarded)
        with pytest.raises(AccessRefused):
            receiver.get(new.inbox(G22))
    with RabbitMQTransport(url(names.agency_user(G22)), new) as sender:
        moved = sender.get(new.inbox(G22))
        assert moved is not None
        assert (moved.body, moved.headers[n.KIND]) == (b"a 02 from 0.1", n.KIND_REFUSAL)
