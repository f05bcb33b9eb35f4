"""An in-process broker: a real ``Transport`` implementation (as dramatiq's stub broker), not a mock.

``InMemoryBroker`` holds exchanges (fanout and direct), queues and bindings, shared and thread-safe;
each ``InMemoryTransport`` is one "connection" to it, with one user. It keeps the behaviours of the
RabbitMQ topology the hub relies on, so the same behavioural tests run against both:

- permissions as ``provision.BrokerAdmin`` grants them: the hub user may do everything; an agency
  user may only publish to the ingress exchange and read its own inbox (``AccessRefused``);
- ``user_id`` is set by the transport to its user, so a consumer knows who really published; a
  transport made with ``stamp_user_id=False`` leaves it unset, as any AMQP client may (RabbitMQ
  checks the property only when it is set), and its messages arrive with ``user_id=None``;
- ``delivery_count`` counts the times a message was handed out before (quorum ``x-delivery-count``);
- ``publish`` of a message that reaches no queue raises ``PublishNotConfirmed`` (mandatory);
- queues are FIFO; a consumer holds at most ``prefetch`` unacknowledged deliveries;
- unacknowledged deliveries are requeued with ``redelivered=True`` when the transport closes (a
  crash), at the head of their queue; on a queue with dead-lettering (the inboxes) a message returned
  more than ``DELIVERY_LIMIT`` times is parked by the broker; the ingress has none (the hub keeps the
  budget there);
- ``reject(requeue=False, reason=...)`` parks by the one policy of every transport (``parking``);
  the broker's own dead-lettering (an agency's reject of an inbox delivery) records what RabbitMQ's
  ``x-death`` would tell: that it was rejected, from where, by whose publish;
- ``drain(timeout)`` dispatches to the handlers in the calling thread.

``queue_depth`` counts ready messages (not the ones handed out and unacknowledged) and, as
RabbitMQ's passive declare, is open to every user.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from vbcore.errors import AccessRefused, ConnectionLost, PublishNotConfirmed, QueueNotFound, TransportError
from vbcore.transport import names as h
from vbcore.transport.base import Delivery, Handler, Transport
from vbcore.transport.names import Names

FANOUT = "fanout"
DIRECT = "direct"


@dataclass(frozen=True)
class _Message:
    body: bytes
    headers: Mapping[str, str]
    message_id: str
    user_id: str | None
    redelivered: bool = False
    returns: int = 0


@dataclass
class _Exchange:
    kind: str
    bindings: list[tuple[str, str]] = field(default_factory=list)  # (queue, routing key)


@dataclass
class _Queue:
    dead_letter_exchange: str | None
    ready: deque[_Message] = field(default_factory=deque)


class InMemoryBroker:
    """Shared broker state; every method is thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._exchanges: dict[str, _Exchange] = {}
        self._queues: dict[str, _Queue] = {}

    # --- topology (used by the transports) --------------------------------------------------

    def declare_exchange(self, name: str, kind: str) -> None:
        with self._cond:
            existing = self._exchanges.setdefault(name, _Exchange(kind))
            if existing.kind != kind:
                raise TransportError(f"exchange {name} exists with type {existing.kind}, not {kind}")

    def declare_queue(self, name: str, *, dead_letter_exchange: str | None) -> None:
        with self._cond:
            self._queues.setdefault(name, _Queue(dead_letter_exchange))

    def bind(self, queue: str, exchange: str, routing_key: str = "") -> None:
        with self._cond:
            bindings = self._exchange(exchange).bindings
            self._queue(queue)
            if (queue, routing_key) not in bindings:
                bindings.append((queue, routing_key))

    def queue_names(self) -> list[str]:
        with self._cond:
            return sorted(self._queues)

    def depth(self, queue: str) -> int:
        with self._cond:
            return len(self._queue(queue).ready)

    # --- internals shared with InMemoryTransport (called with the lock held) ----------------

    @property
    def cond(self) -> threading.Condition:
        return self._cond

    def _exchange(self, name: str) -> _Exchange:
        try:
            return self._exchanges[name]
        except KeyError:
            raise QueueNotFound(f"no exchange {name}") from None

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise QueueNotFound(f"no queue {name}") from None

    def route(self, exchange: str, routing_key: str, message: _Message) -> int:
        """Put ``message`` on every queue bound to ``exchange`` for ``routing_key``; return how many."""
        ex = self._exchange(exchange)
        targets = [q for q, key in ex.bindings if ex.kind == FANOUT or key == routing_key]
        for q in targets:
            self._queues[q].ready.append(message)
        if targets:
            self._cond.notify_all()
        return len(targets)

    def give_back(self, queue: str, message: _Message) -> None:
        """Return a handed-out message to the head of its queue, or park it past the delivery limit."""
        returned = replace(message, redelivered=True, returns=message.returns + 1)
        # As RabbitMQ's x-delivery-limit, which vbus sets only on queues that dead-letter (inboxes).
        if returned.returns > h.DELIVERY_LIMIT and self._queue(queue).dead_letter_exchange is not None:
            self.dead_letter(queue, returned, "dead-lettered by the broker: delivery_limit")
        else:
            self._queue(queue).ready.appendleft(returned)
            self._cond.notify_all()

    def dead_letter(self, queue: str, message: _Message, reason: str) -> None:
        """The broker's dead-lettering: a copy with reason headers to the queue's dead-letter exchange."""
        dlx = self._queue(queue).dead_letter_exchange
        if dlx is None:  # as RabbitMQ: a queue without a dead-letter exchange drops the message
            return
        headers = dict(message.headers)
        headers[h.PARK_REASON] = reason
        # A message parked again keeps where it first failed and who first sent it.
        headers.setdefault(h.PARKED_FROM, queue)
        if message.user_id is not None:
            headers.setdefault(h.ORIGINAL_USER, message.user_id)
        self.route(dlx, queue, replace(message, headers=headers, redelivered=False, returns=0))


@dataclass
class _Consumer:
    queue: str
    handler: Handler
    prefetch: int
    in_flight: int = 0


@dataclass(frozen=True)
class _Tag:
    owner: int
    number: int


class InMemoryTransport(Transport):
    """One connection to an ``InMemoryBroker`` as ``user``; use it from one thread."""

    _ids = itertools.count(1)

    def __init__(
        self, broker: InMemoryBroker, user: str, names: Names | None = None, *, stamp_user_id: bool = True
    ) -> None:
        self.broker = broker
        self.user = user
        self.names = names or Names()
        self.stamp_user_id = stamp_user_id
        self._id = next(self._ids)
        self._numbers = itertools.count(1)
        self._consumers: list[_Consumer] = []
        self._next_consumer = 0
        self._unacked: dict[_Tag, tuple[str, _Message, _Consumer | None]] = {}
        self._closed = False

    # --- permissions ------------------------------------------------------------------------

    @property
    def _is_hub(self) -> bool:
        return self.user == self.names.hub_user

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionLost("the in-memory transport is closed")

    def _check_configure(self, what: str) -> None:
        self._check_open()
        if not self._is_hub:
            raise AccessRefused(f"user {self.user} may not declare {what}")

    def _check_write(self, exchange: str) -> None:
        self._check_open()
        if not self._is_hub and exchange != self.names.ingress_exchange:
            raise AccessRefused(f"user {self.user} may not publish to exchange {exchange}")

    def _check_read(self, queue: str) -> None:
        self._check_open()
        own = self.names.agency_code(self.user)
        if not self._is_hub and (own is None or queue != self.names.inbox(own)):
            raise AccessRefused(f"user {self.user} may not read queue {queue}")

    # --- topology ---------------------------------------------------------------------------

    def declare_hub(self, agencies: list[str]) -> None:
        n = self.names
        self._check_configure("the hub topology")
        b = self.broker
        b.declare_exchange(n.dead_letter_exchange, FANOUT)
        b.declare_queue(n.parked_queue, dead_letter_exchange=None)
        b.bind(n.parked_queue, n.dead_letter_exchange)
        b.declare_exchange(n.ingress_exchange, FANOUT)
        b.declare_queue(n.ingress_queue, dead_letter_exchange=None)  # as amqp_wire.INGRESS_QUEUE_ARGUMENTS
        b.bind(n.ingress_queue, n.ingress_exchange)
        b.declare_exchange(n.delivery_exchange, DIRECT)
        for code in agencies:
            self.declare_inbox(code)

    def declare_inbox(self, agency: str) -> None:
        n = self.names
        self._check_configure(f"the inbox of {agency}")
        self.broker.declare_exchange(n.delivery_exchange, DIRECT)
        self.broker.declare_queue(n.inbox(agency), dead_letter_exchange=n.dead_letter_exchange)
        self.broker.bind(n.inbox(agency), n.delivery_exchange, agency)

    # --- publishing -------------------------------------------------------------------------

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._check_write(exchange)
        user_id = self.user if self.stamp_user_id else None
        message = _Message(bytes(body), dict(headers or {}), message_id, user_id)
        with self.broker.cond:
            try:
                routed = self.broker.route(exchange, routing_key, message)
            except QueueNotFound as e:
                raise PublishNotConfirmed(f"message {message_id} not confirmed: {e}") from e
        if not routed:
            raise PublishNotConfirmed(
                f"message {message_id} is unroutable: exchange {exchange} has no queue for {routing_key!r}"
            )

    # --- consuming --------------------------------------------------------------------------

    def consume(self, queue: str, handler: Handler, *, prefetch: int = 16) -> None:
        self._check_read(queue)
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self.broker.depth(queue)  # raises QueueNotFound
        with self.broker.cond:
            self._consumers.append(_Consumer(queue, handler, prefetch))

    def _hand_out(self, queue: str, consumer: _Consumer | None) -> Delivery | None:
        """Take the head of ``queue`` as an unacknowledged delivery (lock held)."""
        ready = self.broker._queue(queue).ready
        if not ready:
            return None
        message = ready.popleft()
        tag = _Tag(self._id, next(self._numbers))
        self._unacked[tag] = (queue, message, consumer)
        if consumer is not None:
            consumer.in_flight += 1
        return Delivery(
            queue=queue,
            body=message.body,
            headers=dict(message.headers),
            message_id=message.message_id,
            user_id=message.user_id,
            redelivered=message.redelivered,
            delivery_count=message.returns,
            tag=tag,
        )

    def _next_delivery(self) -> tuple[Handler, Delivery] | None:
        """Round-robin over this transport's consumers that have room under their prefetch."""
        count = len(self._consumers)
        for i in range(count):
            consumer = self._consumers[(self._next_consumer + i) % count]
            if consumer.in_flight >= consumer.prefetch:
                continue
            delivery = self._hand_out(consumer.queue, consumer)
            if delivery is not None:
                self._next_consumer = (self._next_consumer + i + 1) % count
                return consumer.handler, delivery
        return None

    def drain(self, timeout: float = 0.0) -> int:
        deadline = time.monotonic() + timeout
        dispatched = 0
        while True:
            with self.broker.cond:
                self._check_open()
                item = self._next_delivery()
                if item is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return dispatched
                    self.broker.cond.wait(remaining)
                    continue
            handler, delivery = item
            handler(delivery)  # outside the lock: a handler may publish, ack, or drain another transport
            dispatched += 1

    def get(self, queue: str) -> Delivery | None:
        self._check_read(queue)
        with self.broker.cond:
            return self._hand_out(queue, None)

    # --- settling ---------------------------------------------------------------------------

    def _settle(self, delivery: Delivery) -> tuple[str, _Message]:
        self._check_open()
        tag = delivery.tag
        if not isinstance(tag, _Tag) or tag not in self._unacked:
            raise TransportError(f"delivery {delivery.message_id} is not outstanding on this transport")
        queue, message, consumer = self._unacked.pop(tag)
        if consumer is not None:
            consumer.in_flight -= 1
        self.broker.cond.notify_all()
        return queue, message

    def ack(self, delivery: Delivery) -> None:
        with self.broker.cond:
            self._settle(delivery)

    def _is_live(self, delivery: Delivery) -> bool:
        return isinstance(delivery.tag, _Tag) and delivery.tag in self._unacked

    def _requeue(self, delivery: Delivery) -> None:
        with self.broker.cond:
            queue, message = self._settle(delivery)
            self.broker.give_back(queue, message)

    def _dead_letter(self, delivery: Delivery) -> None:
        with self.broker.cond:
            queue, message = self._settle(delivery)
            self.broker.dead_letter(queue, message, "dead-lettered by the broker: rejected")

    def queue_depth(self, queue: str) -> int:
        self._check_open()
        return self.broker.depth(queue)

    def close(self) -> None:
        """Close the connection: unacknowledged deliveries go back to their queues, redelivered."""
        with self.broker.cond:
            if self._closed:
                return
            self._closed = True
            # Give back newest first, each to the head: the queue keeps the original order.
            for queue, message, _ in reversed(list(self._unacked.values())):
                self.broker.give_back(queue, message)
            self._unacked.clear()
            self._consumers.clear()
