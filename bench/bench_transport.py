"""Raw broker throughput: pika publish-with-confirm + consume on a quorum queue, and the vbus transport.

    python bench/bench_transport.py [--url amqp://guest:guest@127.0.0.1:5672/] [--count 2000]

Prints msg/s at 10 KB and 1 MB for:
- raw pika, one confirm at a time (``BlockingChannel.confirm_delivery``: a round trip per message);
- raw pika, many confirms outstanding (the asynchronous channel under the blocking connection);
- ``RabbitMQTransport.publish_many`` + ``consume``/``drain`` (what the hub uses).
Each figure is messages / (time to publish all, confirmed + time to consume and ack all), one queue.

``raw_pika_throughput(url, size, count)`` is imported by the end-to-end hub benchmark to print the
hub's throughput as a fraction of what the bare broker does.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import pika

from vbcore.transport.base import Delivery, Outgoing
from vbcore.transport.names import Names
from vbcore.transport.rabbitmq import RabbitMQTransport

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
QUORUM = {"x-queue-type": "quorum"}


def _publish_one_at_a_time(channel: Any, queue: str, body: bytes, count: int) -> None:
    channel.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2)
    for _ in range(count):
        channel.basic_publish("", queue, body, props, mandatory=True)


def _publish_windowed(conn: Any, channel: Any, queue: str, body: bytes, count: int, window: int) -> None:
    impl = channel._impl  # the asynchronous channel: confirms arrive while we keep publishing
    state = {"acked": 0, "selected": False}

    def on_confirm(frame: Any) -> None:
        state["acked"] = frame.method.delivery_tag  # RabbitMQ confirms in order (multiple=True)

    impl.confirm_delivery(ack_nack_callback=on_confirm, callback=lambda _f: state.update(selected=True))
    while not state["selected"]:
        conn.process_data_events(time_limit=0.05)
    props = pika.BasicProperties(delivery_mode=2)
    for sent in range(1, count + 1):
        while sent - state["acked"] > window:
            conn.process_data_events(time_limit=0.05)
        impl.basic_publish("", queue, body, props, mandatory=True)
        if sent % 16 == 0:
            conn.process_data_events(time_limit=0)
    while state["acked"] < count:
        conn.process_data_events(time_limit=0.05)


def _consume(conn: Any, channel: Any, queue: str, count: int) -> None:
    channel.basic_qos(prefetch_count=200)
    done = {"n": 0}

    def on_message(ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        ch.basic_ack(method.delivery_tag)
        done["n"] += 1

    channel.basic_consume(queue, on_message)
    while done["n"] < count:
        conn.process_data_events(time_limit=0.1)


def raw_pika_throughput(url: str, size: int, count: int, window: int = 1) -> float:
    """Bare pika on a fresh quorum queue: confirmed publishes (``window`` outstanding) then consume.

    Returns msg/s = count / (publish time + consume time). ``window=1`` is one confirm at a time.
    """
    body = b"x" * size
    queue = f"vbus-bench.raw.{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        setup = conn.channel()
        setup.queue_declare(queue, durable=True, arguments=QUORUM)
        start = time.perf_counter()
        if window == 1:
            _publish_one_at_a_time(conn.channel(), queue, body, count)
        else:
            _publish_windowed(conn, conn.channel(), queue, body, count, window)
        _consume(conn, conn.channel(), queue, count)
        elapsed = time.perf_counter() - start
        setup.queue_delete(queue)
    finally:
        conn.close()
    return count / elapsed


def transport_throughput(url: str, size: int, count: int) -> float:
    """``RabbitMQTransport``: ``publish_many`` (confirmed) then consume with ack, on a quorum inbox."""
    names = Names(prefix=f"vbus-bench-{uuid.uuid4().hex[:8]}")
    transport = RabbitMQTransport(url, names)
    try:
        transport.declare_inbox("bench")
        queue = names.inbox("bench")
        body = b"x" * size
        seen = {"n": 0}

        def handler(d: Delivery) -> None:
            transport.ack(d)
            seen["n"] += 1

        start = time.perf_counter()
        batch = 500
        for first in range(0, count, batch):
            transport.publish_many(
                [
                    Outgoing(names.delivery_exchange, "bench", body, f"m-{i}")
                    for i in range(first, min(count, first + batch))
                ]
            )
        transport.consume(queue, handler, prefetch=200)
        while seen["n"] < count:
            transport.drain(0.1)
        elapsed = time.perf_counter() - start
        _cleanup(url, queue, names.delivery_exchange)
    finally:
        transport.close()
    return count / elapsed


def _cleanup(url: str, queue: str, exchange: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        ch.queue_delete(queue)
        ch.exchange_delete(exchange)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--count", type=int, default=2000, help="messages at 10 KB (1 MB uses count/10)")
    args = parser.parse_args()
    for size, count in ((10 * 1024, args.count), (1024 * 1024, max(20, args.count // 10))):
        label = f"{size // 1024} KB" if size < 1024 * 1024 else "1 MB"
        one = raw_pika_throughput(args.url, size, count, window=1)
        many = raw_pika_throughput(args.url, size, count, window=256)
        ours = transport_throughput(args.url, size, count)
        print(
            f"{label:>6}  x{count:<5} raw pika, 1 confirm at a time: {one:8.0f} msg/s   "
            f"raw pika, 256 outstanding: {many:8.0f} msg/s   vbus RabbitMQTransport: {ours:8.0f} msg/s"
        )


if __name__ == "__main__":
    main()
