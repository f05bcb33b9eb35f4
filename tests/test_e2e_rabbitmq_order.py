"""The order of a round of gets at once (``get_many`` sorts the answers by the count of messages left
after each) while other agencies flood the ingress: publishes landing between one round's gets raise
the counts of the later ones, so the order is nearly, not strictly, the queue's."""

from __future__ import annotations

import threading
from typing import Any

from test_e2e_rabbitmq import A1, A2, B1, B2, B3, Bus, bus, dev, pki  # noqa: F401

from vbcore.transport import names as n
from vbcore.transport.rabbitmq import RabbitMQTransport


def inversions(ids: list[str]) -> int:
    return sum(1 for i in range(len(ids)) for j in range(i + 1, len(ids)) if ids[i] > ids[j])


def test_a_flood_of_publishes_reorders_another_agencys_messages_within_a_round(
    bus: Bus,  # noqa: F811
) -> None:
    hub = RabbitMQTransport(bus.hub_url, names=bus.names)
    hub.declare_hub([])
    queue = bus.names.ingress_queue
    mine = bus.client(A1)
    total = 400
    for i in range(total):
        mine.submit_signed(b"<x/>", kind=n.KIND_EDOC, message_id=f"a1-{i:04}")
    flooders = [bus.client(code) for code in (A2, B1, B2, B3)]
    stop = threading.Event()

    def flood(client: Any) -> None:
        k = 0
        while not stop.is_set():
            client.submit_signed(b"<y/>", kind=n.KIND_EDOC, message_id=f"zz-{id(client)}-{k}")
            k += 1

    threads = [threading.Thread(target=flood, args=(c,)) for c in flooders]
    arrived: list[str] = []
    real = hub._delivery

    def delivery(*args: Any) -> Any:
        d = real(*args)
        arrived.append(d.message_id)
        return d

    hub._delivery = delivery  # type: ignore[method-assign]
    before = after = rounds = worse = 0
    try:
        for t in threads:
            t.start()
        seen = 0
        while seen < total:
            arrived.clear()
            got = hub.get_many(queue, 8)
            if not got:
                break
            hub.ack_many(got)
            ours_before = [m for m in arrived if m.startswith("a1-")]
            ours_after = [d.message_id for d in got if d.message_id.startswith("a1-")]
            seen += len(ours_after)
            worse += inversions(ours_after) > inversions(ours_before)
            before += inversions(ours_before)
            after += inversions(ours_after)
            rounds += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
        hub.close()
    assert after <= before, f"{rounds} rounds ({worse} worse): inversions {before} answered, {after} sorted"
