"""Review of get_many (5a99f69, 13c1fcd): the hub's memory budget when the connection drops during gets."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from test_e2e_rabbitmq import A1, B1, Bus, bus, dev, pki, started_hub  # noqa: F401 (fixtures)
from test_hub_support import edoc

from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = pytest.mark.rabbitmq


def test_a_connection_lost_during_get_many_does_not_let_the_gets_exceed_the_budget(
    bus: Bus,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gather computes the room for gets with the consumer's deliveries in hand counted as its prefetch
    # (none free). The connection drops during get_many: _run reconnects (a new consumer, its whole
    # prefetch free, those in hand now stale) and takes again with the same limit, computed for the old
    # consumer. in_hand + (free + taken) x max_bytes then exceeds inflight_bytes.
    for i in range(12):
        bus.client(A1).submit(edoc(A1, [B1], str(i)))
    mib = 1024 * 1024
    max_bytes, inflight = 8 * mib, 24 * mib
    hub = started_hub(bus, max_bytes=max_bytes, inflight_bytes=inflight)  # the consumer's prefetch: 3
    transport = hub.transport
    assert isinstance(transport, RabbitMQTransport)
    lost: list[int] = []
    real_open = transport._open_getters

    def open_getters(count: int) -> list[Any]:
        if not lost:  # the connection drops under the first get_many
            lost.append(count)
            transport._conn._impl._transport._sock.shutdown(socket.SHUT_RDWR)
        return real_open(count)

    worst: list[int] = []  # in hand + the consumer's free prefetch at max_bytes, once the gets are in hand
    real_get_many = transport.get_many

    def get_many(queue: str, limit: int) -> list[Any]:
        got = real_get_many(queue, limit)
        in_hand = [*hub._held, *hub._pending]
        consumed = sum(1 for d in in_hand if id(d) not in hub._gotten and not transport.is_stale(d))
        free = max(0, hub._consumed - consumed)
        # the packages taken may each be of max_bytes: counted so. Those in hand from the lost connection
        # are left out: they exceed the budget by their own bytes after any reconnect, gets or none (see
        # the test below).
        live = sum(len(d.body) for d in in_hand if not transport.is_stale(d))
        worst.append(live + len(got) * max_bytes + free * max_bytes)
        return got

    try:
        deadline = time.monotonic() + 30
        while len(hub._pending) < 3 and time.monotonic() < deadline:
            transport.drain(0.2)
        assert len(hub._pending) == 3
        monkeypatch.setattr(transport, "_open_getters", open_getters)
        monkeypatch.setattr(transport, "get_many", get_many)
        hub.gather(0)
        assert lost
        assert transport.reconnects == 1
        assert max(worst) <= inflight, f"{max(worst) / mib:.1f} MiB may come, budget {inflight // mib} MiB"
    finally:
        transport.close()
        hub.store.close()


@pytest.mark.xfail(strict=True, reason="pre-existing: stale deliveries keep their bytes after a reconnect")
def test_right_after_a_reconnect_stale_deliveries_in_hand_and_the_new_prefetch_exceed_the_budget(
    bus: Bus,  # noqa: F811
) -> None:
    # Not from get_many (no get here): the stale deliveries in hand keep their bytes (the hub still
    # processes them) while the new consumer may be sent its whole prefetch at max_bytes each.
    # Pre-existing (not from this change).
    mib = 1024 * 1024
    max_bytes, inflight = 8 * mib, 24 * mib
    for i in range(6):
        bus.client(A1).submit(edoc(A1, [B1], str(i)))
    hub = started_hub(bus, max_bytes=max_bytes, inflight_bytes=inflight)  # the consumer's prefetch: 3
    transport = hub.transport
    assert isinstance(transport, RabbitMQTransport)
    try:
        deadline = time.monotonic() + 30
        while len(hub._pending) < 3 and time.monotonic() < deadline:
            transport.drain(0.2)
        transport._conn.close()
        transport._reconnect(None)
        assert hub._gets_that_fit() == 0
        free = hub._consumed  # all in hand are stale: the new consumer's prefetch is all free
        assert hub._in_hand + free * max_bytes <= inflight, "stale bytes in hand + the new prefetch"
    finally:
        transport.close()
        hub.store.close()
