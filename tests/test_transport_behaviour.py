"""Transport behaviour that does not depend on the broker: run against memory AND RabbitMQ.

The RabbitMQ half skips locally without a broker and fails in CI (``amqp_url`` fixture).
"""

from __future__ import annotations

import pytest
from test_transport_support import (  # noqa: F401 (fixtures)
    BrokerEnv,
    collect,
    env_fixture,
    get_eventually,
    rabbit_env_fixture,
)

from vbcore.errors import AccessRefused, PublishNotConfirmed
from vbcore.transport import names as h
from vbcore.transport.base import Delivery, Outgoing, Transport


def agencies(env: BrokerEnv, *letters: str) -> list[str]:
    codes = [f"{env.names.prefix}{letter}" for letter in letters]
    for code in codes:
        env.add_agency(code)
    return codes


def hub_with(env: BrokerEnv, *letters: str) -> tuple[Transport, list[str]]:
    codes = agencies(env, *letters)
    hub = env.hub()
    hub.declare_hub(codes)
    return hub, codes


def test_an_agency_message_reaches_the_hub_and_is_delivered_to_the_recipient_inbox(env: BrokerEnv) -> None:
    hub, (a, b) = hub_with(env, "a", "b")
    n = env.names
    sender = env.agency(a)
    sender.publish(n.ingress_exchange, a, b"<edXML/>", message_id="m-1", headers={h.KIND: h.KIND_EDOC})

    [incoming] = collect(hub, n.ingress_queue, want=1)
    assert (incoming.body, incoming.message_id, incoming.user_id) == (b"<edXML/>", "m-1", n.agency_user(a))
    assert incoming.headers[h.KIND] == h.KIND_EDOC
    assert not incoming.redelivered
    hub.publish(n.delivery_exchange, b, incoming.body, message_id="m-1", headers={h.SENDER: a})

    [delivered] = collect(env.agency(b), n.inbox(b), want=1)
    assert (delivered.body, delivered.headers[h.SENDER], delivered.user_id) == (b"<edXML/>", a, n.hub_user)


def test_a_message_for_no_inbox_is_not_confirmed(env: BrokerEnv) -> None:
    hub, _ = hub_with(env, "a")
    with pytest.raises(PublishNotConfirmed, match="m-lost"):
        hub.publish(env.names.delivery_exchange, "nobody", b"x", message_id="m-lost")


def test_a_publish_to_a_missing_exchange_is_not_confirmed(env: BrokerEnv) -> None:
    hub, _ = hub_with(env, "a")
    with pytest.raises(PublishNotConfirmed):
        hub.publish(f"{env.names.prefix}.nowhere", "a", b"x", message_id="m-x")
    hub.publish(env.names.ingress_exchange, "a", b"still usable", message_id="m-y")


def test_a_queue_hands_out_messages_in_the_order_they_were_published(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    for i in range(20):
        hub.publish(env.names.delivery_exchange, a, f"{i}".encode(), message_id=f"m-{i}")
    got = collect(env.agency(a), env.names.inbox(a), want=20)
    assert [d.message_id for d in got] == [f"m-{i}" for i in range(20)]


def test_a_rejected_message_is_parked_with_its_reason(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    env.agency(a).publish(n.ingress_exchange, a, b"garbage", message_id="m-bad", headers={h.KIND: "edoc"})
    [d] = collect(hub, n.ingress_queue, want=1, ack=False)
    hub.reject(d, requeue=False, reason="malformed: not XML (line 1, column 1)")

    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert (parked.body, parked.message_id) == (b"garbage", "m-bad")
    assert parked.headers[h.PARK_REASON] == "malformed: not XML (line 1, column 1)"
    assert parked.headers[h.PARKED_FROM] == n.ingress_queue
    assert parked.headers[h.ORIGINAL_USER] == n.agency_user(a)
    assert parked.headers[h.KIND] == "edoc"
    hub.ack(parked)
    assert hub.queue_depth(n.ingress_queue) == 0


# Headers an agency may put on what it publishes, posing as the hub or the broker. A malformed
# ``x-death`` is tested only on a node of the test's own (test_transport_poison.py): should the fix
# regress, it would crash the shared broker's dead-letter worker.
FORGED = {
    h.ORIGINAL_USER: "000.00.00.G22",
    h.PARKED_FROM: "vbus.inbox.000.00.00.G22",
    h.PARK_REASON: "approved by the operator",
    h.SENDER: "000.00.00.G22",
    h.HUB_ID: "vbus.hub",
    "x-custom": "anything",
}


def test_a_parked_copy_carries_only_what_vbus_writes_never_what_the_client_forged(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    headers = {h.KIND: "edoc", h.DOCUMENT_ID: "000.00.00.G22,2026/11/24,1/VB", **FORGED}
    env.agency(a).publish(n.ingress_exchange, a, b"garbage", message_id="m-forged", headers=headers)
    [d] = collect(hub, n.ingress_queue, want=1, ack=False)
    hub.reject(d, requeue=False, reason="malformed: not XML")

    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert parked.headers == {
        h.KIND: "edoc",
        h.DOCUMENT_ID: "000.00.00.G22,2026/11/24,1/VB",
        h.PARK_REASON: "malformed: not XML",
        h.PARKED_FROM: n.ingress_queue,
        h.ORIGINAL_USER: n.agency_user(a),  # who really published it
    }


def test_a_message_published_without_user_id_is_parked_as_coming_with_no_identity(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    anonymous = env.agency(a, stamp_user_id=False)
    anonymous.publish(n.ingress_exchange, a, b"x", message_id="m-anon", headers={h.ORIGINAL_USER: "someone"})
    [d] = collect(hub, n.ingress_queue, want=1, ack=False)
    assert d.user_id is None
    hub.reject(d, requeue=False, reason="sender-unknown")
    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert h.ORIGINAL_USER not in parked.headers
    assert parked.headers[h.PARKED_FROM] == n.ingress_queue


def test_the_broker_counts_the_deliveries_of_a_message_that_keeps_coming_back(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    env.agency(a).publish(n.ingress_exchange, a, b"x", message_id="m-1", headers={"x-delivery-count": "99"})
    counts = []
    for _ in range(3):
        d = get_eventually(hub, n.ingress_queue)
        assert d is not None
        counts.append(d.delivery_count)
        hub.reject(d, requeue=True)
    assert counts == [0, 1, 2]


def test_an_unacknowledged_message_comes_back_redelivered_when_its_consumer_disconnects(
    env: BrokerEnv,
) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    hub.publish(n.delivery_exchange, a, b"once", message_id="m-1")
    crashing = env.agency(a)
    [first] = collect(crashing, n.inbox(a), want=1, ack=False)
    assert not first.redelivered
    crashing.close()

    [again] = collect(env.agency(a), n.inbox(a), want=1)
    assert (again.message_id, again.redelivered) == ("m-1", True)


def test_a_requeued_message_comes_back_redelivered(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    hub.publish(env.names.delivery_exchange, a, b"x", message_id="m-1")
    first = get_eventually(hub, env.names.inbox(a))
    assert first is not None
    hub.reject(first, requeue=True)
    again = get_eventually(hub, env.names.inbox(a))
    assert again is not None
    assert (again.message_id, again.redelivered) == ("m-1", True)


def test_a_message_returned_too_often_is_parked_instead_of_looping(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    hub.publish(n.delivery_exchange, a, b"poison", message_id="m-poison")
    for _ in range(h.DELIVERY_LIMIT + 1):
        d = get_eventually(hub, n.inbox(a), timeout=5)
        assert d is not None, "the message should still be in the inbox"
        hub.reject(d, requeue=True)
    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    assert parked.message_id == "m-poison"
    assert "delivery" in parked.headers[h.PARK_REASON]
    assert parked.headers[h.PARKED_FROM] == n.inbox(a)
    assert hub.get(n.inbox(a)) is None


def test_the_ingress_never_parks_or_drops_a_message_by_itself_however_often_it_comes_back(
    env: BrokerEnv,
) -> None:
    # The hub enforces the budget there itself: the broker's dead-lettering must never see what an
    # agency published (test_transport_poison.py).
    hub, (a,) = hub_with(env, "a")
    n = env.names
    env.agency(a).publish(n.ingress_exchange, a, b"poison", message_id="m-poison")
    for count in range(h.DELIVERY_LIMIT + 2):
        d = get_eventually(hub, n.ingress_queue, timeout=5)
        assert d is not None, "the message should still be on the ingress"
        assert d.delivery_count == count
        hub.reject(d, requeue=True)
    assert hub.get(n.parked_queue) is None


def test_prefetch_bounds_the_deliveries_a_consumer_holds_unacknowledged(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    for i in range(10):
        hub.publish(env.names.delivery_exchange, a, b"x", message_id=f"m-{i}")
    agency = env.agency(a)
    held: list[Delivery] = []
    agency.consume(env.names.inbox(a), held.append, prefetch=3)
    for _ in range(5):
        agency.drain(0.1)
    assert len(held) == 3
    agency.ack(held[0])
    for _ in range(5):
        agency.drain(0.1)
    assert len(held) == 4


def test_publish_many_confirms_five_hundred_messages_each_consumed_once(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    hub.publish_many([Outgoing(n.delivery_exchange, a, b"%d" % i * 100, f"m-{i}") for i in range(500)])
    assert hub.queue_depth(n.inbox(a)) == 500
    agency = env.agency(a)
    got = collect(agency, n.inbox(a), want=500, prefetch=100)
    agency.drain(0.3)  # nothing more comes
    assert sorted(d.message_id for d in got) == sorted(f"m-{i}" for i in range(500))
    assert hub.queue_depth(n.inbox(a)) == 0


def test_publish_many_names_the_messages_that_were_not_confirmed(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    batch = [
        Outgoing(n.delivery_exchange, a, b"ok", "m-ok"),
        Outgoing(n.delivery_exchange, "zz", b"no", "m-no"),
    ]
    with pytest.raises(PublishNotConfirmed, match="m-no"):
        hub.publish_many(batch)


def test_an_agency_cannot_read_another_agency_inbox(env: BrokerEnv) -> None:
    hub, (a, b) = hub_with(env, "a", "b")
    hub.publish(env.names.delivery_exchange, b, b"for b only", message_id="m-1")
    with pytest.raises(AccessRefused):
        env.agency(a).get(env.names.inbox(b))
    with pytest.raises(AccessRefused):
        env.agency(a).consume(env.names.inbox(b), lambda d: None)


def test_an_agency_cannot_publish_to_the_delivery_exchange(env: BrokerEnv) -> None:
    _, (a, b) = hub_with(env, "a", "b")
    with pytest.raises(AccessRefused):
        env.agency(a).publish(env.names.delivery_exchange, b, b"bypassing the hub", message_id="m-1")


def test_an_agency_cannot_forge_a_parked_record_for_the_operator_to_replay(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    with pytest.raises(AccessRefused):
        env.agency(a).publish(n.dead_letter_exchange, a, b"replay me as someone else", message_id="m-1",
                              headers={h.ORIGINAL_USER: "000.00.00.G22", h.PARKED_FROM: n.ingress_queue})
    assert hub.get(n.parked_queue) is None


def test_an_agency_cannot_declare_queues(env: BrokerEnv) -> None:
    _, (a,) = hub_with(env, "a")
    with pytest.raises(AccessRefused):
        env.agency(a).declare_inbox(f"{env.names.prefix}new")


def test_get_on_an_empty_queue_returns_none(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    assert hub.get(env.names.inbox(a)) is None
    assert hub.queue_depth(env.names.inbox(a)) == 0


def test_a_transport_stays_usable_after_a_refused_publish(env: BrokerEnv) -> None:
    hub, (a, b) = hub_with(env, "a", "b")
    agency = env.agency(a)
    with pytest.raises(AccessRefused):
        agency.publish(env.names.delivery_exchange, b, b"refused", message_id="m-1")
    agency.publish(env.names.ingress_exchange, a, b"accepted", message_id="m-2")
    [d] = collect(hub, env.names.ingress_queue, want=1)
    assert d.message_id == "m-2"


def test_one_document_fanned_out_under_one_message_id_fails_only_for_the_missing_inbox(
    env: BrokerEnv,
) -> None:
    hub, (a, b) = hub_with(env, "a", "b")
    n = env.names
    batch = [Outgoing(n.delivery_exchange, code, b"doc", "m-1") for code in (a, "zz", b)]
    with pytest.raises(PublishNotConfirmed, match="1 of 3") as refused:
        hub.publish_many(batch)
    assert "'zz'" in str(refused.value)
    assert hub.queue_depth(n.inbox(a)) == 1
    assert hub.queue_depth(n.inbox(b)) == 1


def test_unacknowledged_messages_come_back_in_their_original_order(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    for i in range(3):
        hub.publish(n.delivery_exchange, a, b"x", message_id=f"m-{i}")
    crashing = env.agency(a)
    held = collect(crashing, n.inbox(a), want=3, ack=False)
    assert len(held) == 3
    crashing.close()
    again = collect(env.agency(a), n.inbox(a), want=3)
    assert [(d.message_id, d.redelivered) for d in again] == [(f"m-{i}", True) for i in range(3)]


def test_competing_hub_processes_each_take_a_share_and_no_message_twice(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    hub.publish_many([Outgoing(n.ingress_exchange, a, b"x", f"m-{i}") for i in range(20)])
    first, second = env.hub(), env.hub()
    seen: list[str] = []
    for t in (first, second):
        t.consume(n.ingress_queue, lambda d, t=t: (seen.append(d.message_id), t.ack(d)), prefetch=1)
    for _ in range(40):
        first.drain(0.02)
        second.drain(0.02)
        if len(seen) == 20:
            break
    assert sorted(seen) == sorted(f"m-{i}" for i in range(20))


def test_a_parked_message_rejected_again_stays_parked_with_the_new_reason(env: BrokerEnv) -> None:
    hub, (a,) = hub_with(env, "a")
    n = env.names
    env.agency(a).publish(n.ingress_exchange, a, b"x", message_id="m-1")
    d = get_eventually(hub, n.ingress_queue)
    assert d is not None
    hub.reject(d, requeue=False, reason="first")
    parked = get_eventually(hub, n.parked_queue)
    assert parked is not None
    hub.reject(parked, requeue=False, reason="second")
    again = get_eventually(hub, n.parked_queue)
    assert again is not None
    assert (again.message_id, again.headers[h.PARK_REASON]) == ("m-1", "second")
    assert again.headers[h.PARKED_FROM] == n.ingress_queue  # where it first failed
    assert again.headers[h.ORIGINAL_USER] == n.agency_user(a)
    hub.ack(again)
    assert hub.get(n.parked_queue) is None


def test_ack_many_acknowledges_exactly_the_deliveries_given(env: BrokerEnv) -> None:
    """A batch acked together never takes along a delivery outside it (a ``multiple`` ack would, were
    the batch not every open delivery up to its highest tag)."""
    hub, (a,) = hub_with(env, "a")
    n = env.names
    for i in range(6):
        hub.publish(n.delivery_exchange, a, b"x", message_id=f"m-{i}")
    first = env.agency(a)
    held = collect(first, n.inbox(a), want=6, ack=False)
    assert [d.message_id for d in held] == [f"m-{i}" for i in range(6)]
    assert first.ack_many([held[0], held[1], held[3], held[4]]) == []  # m-2 left open below m-4
    first.close()
    again = collect(env.agency(a), n.inbox(a), want=2)
    assert [(d.message_id, d.redelivered) for d in again] == [("m-2", True), ("m-5", True)]
