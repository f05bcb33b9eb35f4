"""Gets on the real broker: several outstanding at once (`get_many`), a channel the broker closes while
more are opened, and the acks of what they took (the review of issue 13's gets)."""

from __future__ import annotations

import logging
import time

import pytest
from test_transport_support import (  # noqa: F401 (fixtures)
    BrokerEnv,
    rabbit_env_fixture,
)

from vbcore.errors import AccessRefused, QueueNotFound
from vbcore.transport.base import Delivery
from vbcore.transport.rabbitmq import MAX_GETS_AT_ONCE, RabbitMQTransport

pytestmark = pytest.mark.rabbitmq


def _setup(rabbit_env: BrokerEnv, count: int) -> tuple[RabbitMQTransport, str]:
    """The hub's transport and an agency's inbox holding ``count`` messages, ``m-0`` first."""
    n = rabbit_env.names
    a = f"{n.prefix}a"
    rabbit_env.add_agency(a)
    hub = rabbit_env.hub()
    assert isinstance(hub, RabbitMQTransport)
    hub.declare_hub([a])
    _publish(rabbit_env, hub, [f"m-{i}" for i in range(count)])
    return hub, n.inbox(a)


def _publish(rabbit_env: BrokerEnv, hub: RabbitMQTransport, message_ids: list[str]) -> None:
    n = rabbit_env.names
    for message_id in message_ids:
        hub.publish(n.delivery_exchange, f"{n.prefix}a", f"body-{message_id}".encode(), message_id=message_id)


def test_several_gets_go_out_together_and_each_delivery_is_acked_on_its_own_channel(
    rabbit_env: BrokerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: filling a batch of 32 one ``basic.get`` at a time kept the hub waiting for the broker a
    fifth of its time; ``get_many`` has them all outstanding, one wait for all."""
    hub, queue = _setup(rabbit_env, 0)
    assert hub.get_many(queue, 8) == []  # opens the channels (a wait each); all find it empty
    _publish(rabbit_env, hub, [f"m-{i}" for i in range(5)])
    waits: list[object] = []
    real_wait = hub._conn._flush_output
    monkeypatch.setattr(hub._conn, "_flush_output", lambda *w: (waits.append(w), real_wait(*w))[1])
    got = hub.get_many(queue, 8)  # more than the queue holds: every get is answered
    assert [d.message_id for d in got] == [f"m-{i}" for i in range(5)]  # in the queue's order
    assert [d.body for d in got] == [f"body-m-{i}".encode() for i in range(5)]
    assert len(waits) == 1
    assert len({d.tag.channel for d in got}) == 5  # type: ignore[attr-defined]
    assert hub.get_many(queue, 8) == []
    _publish(rabbit_env, hub, ["m-later"])
    [later] = hub.get_many(queue, 3)
    assert later.message_id == "m-later"
    assert hub.ack_many([*got, later]) == []
    hub.close()
    assert rabbit_env.hub().queue_depth(queue) == 0  # nothing was left unacked on a channel


def test_get_many_with_a_limit_of_zero_takes_nothing(rabbit_env: BrokerEnv) -> None:
    # The base class's default takes none; the caller has room for ``limit`` packages only.
    hub, queue = _setup(rabbit_env, 3)
    assert hub.get_many(queue, 0) == []
    assert hub.get_many(queue, -1) == []


def test_ack_many_of_a_second_round_of_gets_leaves_the_first_round_unacked(rabbit_env: BrokerEnv) -> None:
    # Each get channel gets tag 1 in round 1 and tag 2 in round 2: acking round 2 must not ack round 1.
    hub, queue = _setup(rabbit_env, 8)
    first = hub.get_many(queue, 4)
    second = hub.get_many(queue, 4)
    assert len(first) == len(second) == 4
    assert hub.ack_many(second) == []
    hub.close()
    assert rabbit_env.hub().queue_depth(queue) == 4 + 0  # round 1 came back


def test_ack_many_of_both_rounds_acks_all_with_multiple(rabbit_env: BrokerEnv) -> None:
    hub, queue = _setup(rabbit_env, 8)
    got = hub.get_many(queue, 4) + hub.get_many(queue, 4)
    assert hub.ack_many(got) == []
    hub.close()
    assert rabbit_env.hub().queue_depth(queue) == 0


def test_more_than_max_gets_at_once_is_capped_and_nothing_is_left_on_a_channel(rabbit_env: BrokerEnv) -> None:
    hub, queue = _setup(rabbit_env, MAX_GETS_AT_ONCE + 5)
    got = hub.get_many(queue, 100)
    assert len(got) == MAX_GETS_AT_ONCE
    assert all(not ch._impl._on_getok_callback for ch in hub._getters)  # no get left pending
    assert hub.ack_many(got) == []
    rest = hub.get_many(queue, 100)
    assert len(rest) == 5
    assert hub.ack_many(rest) == []
    hub.close()
    assert rabbit_env.hub().queue_depth(queue) == 0


def test_an_agency_getting_from_another_agencys_inbox_is_refused_and_its_next_gets_work(
    rabbit_env: BrokerEnv,
) -> None:
    n = rabbit_env.names
    a, b = f"{n.prefix}a", f"{n.prefix}b"
    rabbit_env.add_agency(a)
    rabbit_env.add_agency(b)
    hub = rabbit_env.hub()
    hub.declare_hub([a, b])
    hub.publish(n.delivery_exchange, a, b"x", message_id="m-a")
    agency_b = rabbit_env.agency(b)
    assert isinstance(agency_b, RabbitMQTransport)
    with pytest.raises(AccessRefused):
        agency_b.get_many(n.inbox(a), 4)
    with pytest.raises(AccessRefused):  # as the single get raised before
        agency_b.get(n.inbox(a))
    assert agency_b.reconnects == 0
    hub.publish(n.delivery_exchange, b, b"y", message_id="m-b")
    [d] = agency_b.get_many(n.inbox(b), 4)
    agency_b.ack(d)


def test_a_missing_queue_raises_queue_not_found_for_get_and_get_many_and_no_reconnect(
    rabbit_env: BrokerEnv,
) -> None:
    hub, queue = _setup(rabbit_env, 1)
    for _ in range(2):
        with pytest.raises(QueueNotFound):
            hub.get_many(f"{queue}.nope", 5)
        with pytest.raises(QueueNotFound):
            hub.get(f"{queue}.nope")
    assert hub.reconnects == 0
    [d] = hub.get_many(queue, 5)
    hub.ack(d)


def test_a_get_channel_the_broker_closed_while_get_many_opens_more_channels_loses_no_message(
    rabbit_env: BrokerEnv, caplog: pytest.LogCaptureFixture
) -> None:
    # A get channel closed by the broker (here: a delivery acked twice, 406 PRECONDITION_FAILED) while
    # the hub holds a delivery from another get channel. The next get_many opens more channels (a round
    # trip each), during which the Channel.Close is read: _open_getters had already checked it open, so
    # the closed BlockingChannel is used; pika's Channel.basic_get does not check the state and sends
    # Basic.Get on its channel number, which the new channel just opened reuses. The broker answers both
    # gets on that number; the second GetOk finds no callback ("Basic.GetOk received with no active
    # callback"): the message is held unacked on an open channel for as long as the connection lives.
    hub, queue = _setup(rabbit_env, 6)
    d0, d1 = sorted(hub.get_many(queue, 2), key=lambda d: d.tag.channel.channel_number)  # type: ignore[attr-defined]
    d1.tag.channel.basic_ack(d1.tag.delivery_tag)  # type: ignore[attr-defined]
    d1.tag.channel.basic_ack(d1.tag.delivery_tag)  # type: ignore[attr-defined]  # the channel error
    time.sleep(0.3)  # the Channel.Close is in the socket, not read yet
    caplog.set_level(logging.ERROR, logger="pika")
    got = hub.get_many(queue, 4)
    assert hub.ack_many([d0, *got]) == []
    rest: list[Delivery] = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # m-0 and m-1 settled: the other 4 must all come, once
        more = hub.get_many(queue, 4)
        assert hub.ack_many(more) == []
        rest += more
        hub.drain(0.1)
    assert sorted(d.message_id for d in [*got, *rest]) == ["m-2", "m-3", "m-4", "m-5"], (
        "a message was taken on a get channel and left there unacked")
    assert "no active callback" not in caplog.text
    assert hub.reconnects == 0


def test_a_message_left_on_a_get_channel_is_not_acked_unseen_by_a_later_multiple_ack(
    rabbit_env: BrokerEnv,
) -> None:
    # The same race as above; then one more round of gets and a batch ack of both rounds: on the channel
    # that took the unseen message (its tag between the two the hub holds), ack_many sees every tag it
    # knows of in the batch and acks with ``multiple``: the unseen message is acked, never processed.
    hub, queue = _setup(rabbit_env, 10)
    d0, d1 = sorted(hub.get_many(queue, 2), key=lambda d: d.tag.channel.channel_number)  # type: ignore[attr-defined]
    d1.tag.channel.basic_ack(d1.tag.delivery_tag)  # type: ignore[attr-defined]
    d1.tag.channel.basic_ack(d1.tag.delivery_tag)  # type: ignore[attr-defined]  # the channel error
    time.sleep(0.3)
    seen = [d0, *hub.get_many(queue, 4)]
    hub.drain(0.3)
    seen += hub.get_many(queue, 4)
    assert hub.ack_many(seen) == []
    hub.close()
    left = rabbit_env.hub().queue_depth(queue)
    assert len(seen) + 1 + left == 10, f"seen {len(seen)}, m-1 acked, {left} left: one acked unseen"
