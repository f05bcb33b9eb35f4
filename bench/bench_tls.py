"""What TLS costs: confirmed publish + consume at 10 KB over plain AMQP and over TLS, same node, same run.

    python bench/bench_tls.py [--count 2000] [--rounds 3] [--size 10240]

Starts a RabbitMQ node of its own (``tests/own_tls.py``: docs/deployment-tls.md's configuration, plus a
plain listener for the comparison; never the machine's shared broker), then, alternating plain and TLS
round by round so that the shared host's noise falls on both alike:

- the hub's transport (pika, ``RabbitMQTransport.publish_many`` with many confirms outstanding, then
  ``consume`` with acks) on a quorum inbox: msg/s = count / (publish time + consume time);
- an agency's transport (kombu, ``KombuTransport.publish``, one confirm at a time, then consume), with a
  quarter of the count;
- the time to open a connection (TCP, then TLS 1.3 with a client certificate, then AMQP login).

Prints the median of the rounds for each, and TLS as a fraction of plain.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from own_tls import make_pki, start_tls_node

from vbcore.transport.base import Delivery, Outgoing, Transport
from vbcore.transport.kombu_transport import KombuTransport
from vbcore.transport.names import Names
from vbcore.transport.rabbitmq import RabbitMQTransport

Factory = Callable[[str, Names], Transport]
BATCH = 500


def hub_transport(url: str, names: Names) -> Transport:
    return RabbitMQTransport(url, names)


def agency_transport(url: str, names: Names) -> Transport:
    return KombuTransport(url, names)


def throughput(factory: Factory, url: str, size: int, count: int) -> float:
    """Publish ``count`` confirmed messages to a fresh quorum inbox, then consume and ack them all."""
    names = Names(prefix=f"bench-{uuid.uuid4().hex[:8]}")
    with RabbitMQTransport(url, names) as setup:
        setup.declare_inbox("bench")
    transport = factory(url, names)
    try:
        body, seen = b"x" * size, {"n": 0}

        def handler(d: Delivery) -> None:
            transport.ack(d)
            seen["n"] += 1

        start = time.perf_counter()
        for first in range(0, count, BATCH):
            transport.publish_many(
                [
                    Outgoing(names.delivery_exchange, "bench", body, f"m-{i}")
                    for i in range(first, min(count, first + BATCH))
                ]
            )
        transport.consume(names.inbox("bench"), handler, prefetch=200)
        while seen["n"] < count:
            transport.drain(0.1)
        return count / (time.perf_counter() - start)
    finally:
        transport.close()


def connect_ms(factory: Factory, url: str, times: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(times):
        factory(url, Names()).close()
    return (time.perf_counter() - started) / times * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="messages per hub round (agency: a quarter)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=10 * 1024)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="vbus-bench-tls-"))
    node = start_tls_node(base / "node", make_pki(base / "pki"), plain=True)
    try:
        urls = {"plain": node.plain_url, "TLS": node.url("guest", "guest")}
        runs: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for link, url in urls.items():
                runs.setdefault(("hub (pika)", link), []).append(
                    throughput(hub_transport, url, args.size, args.count)
                )
                runs.setdefault(("agency (kombu)", link), []).append(
                    throughput(agency_transport, url, args.size, max(100, args.count // 4))
                )
        print(
            f"confirmed publish + consume, {args.size // 1024} KB, quorum queue, median of {args.rounds} "
            "rounds (msg/s)"
        )
        for who in ("hub (pika)", "agency (kombu)"):
            plain, tls = (statistics.median(runs[(who, link)]) for link in ("plain", "TLS"))
            print(f"  {who:<15} plain {plain:7.0f}   TLS {tls:7.0f}   TLS/plain {tls / plain:5.2f}")
        print("opening a connection (ms, mean of 20)")
        for who, factory in (("hub (pika)", hub_transport), ("agency (kombu)", agency_transport)):
            plain, tls = (connect_ms(factory, urls[link]) for link in ("plain", "TLS"))
            print(f"  {who:<15} plain {plain:7.1f}   TLS {tls:7.1f}")
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
