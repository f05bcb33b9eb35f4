"""The transport interface: what the hub and the connector runtime need from a message broker.

Implementations: ``memory.InMemoryTransport`` (a real, in-process broker used by the fast tests and
``vb demo``) and the RabbitMQ transports. Queue, exchange and routing-key names come from
``vbcore.transport.names`` only.

Contract every implementation keeps:
- ``publish`` returns only once the broker has taken responsibility for the message (publisher
  confirm); it raises ``PublishNotConfirmed`` otherwise. Messages are persistent.
- A consumed ``Delivery`` stays unacknowledged until ``ack`` is called; ``reject(requeue=False)``
  parks it (``parking``: a clean copy with the reason, then an ack; one policy for every transport).
- A delivery that was handed out before and not acknowledged comes back with ``redelivered=True``
  and ``delivery_count`` one higher (counted by the broker, never read from a client's header).
- ``user_id`` is what the broker validated: absent when the publisher did not set it (RabbitMQ checks
  the property only when it is set), so it is proof of the sender only when present.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from vbcore.errors import AccessRefused, PublishNotConfirmed, TransportError
from vbcore.transport.names import Names
from vbcore.transport.parking import park_headers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One message as a consumer receives it."""

    queue: str
    body: bytes
    headers: Mapping[str, str]
    message_id: str
    # The broker-validated publishing user (AMQP ``user_id``): who really sent it. None when the
    # publisher did not set it: then nothing says who sent it.
    user_id: str | None = None
    redelivered: bool = False
    # How many times the broker handed it out before (quorum queues' ``x-delivery-count``).
    delivery_count: int = 0
    # Opaque handle for ack/reject, owned by the transport that produced it.
    tag: object = field(default=None, compare=False, repr=False)


Handler = Callable[[Delivery], None]


@dataclass(frozen=True)
class Outgoing:
    """One message to publish (for ``publish_many``)."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport(ABC):
    """Moves messages between named exchanges and queues (names from ``transport.names``)."""

    names: Names
    user: str
    # Whether this user may publish to the dead-letter exchange (learnt at the first refusal).
    _park_by_copy: bool = True
    # Called between attempts while a lost connection is re-opened; True stops waiting (the process is
    # stopping): ``while_reconnecting``.
    _reconnect_tick: Callable[[], bool] | None = None

    def while_reconnecting(self, tick: Callable[[], bool]) -> None:
        """Call ``tick`` between attempts while a lost connection is being re-opened (a transport that
        never loses one never calls it); when it returns True, waiting ends with ``ConnectionLost``.
        A running hub beats its heartbeat there and stops on SIGTERM, however long the broker is away."""
        self._reconnect_tick = tick

    @abstractmethod
    def declare_hub(self, agencies: list[str]) -> None:
        """Create (idempotently) the hub's ingress, parking queue and one inbox per agency."""

    @abstractmethod
    def declare_inbox(self, agency: str) -> None:
        """Create (idempotently) one agency's inbox queue and its binding."""

    @abstractmethod
    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish a persistent message and wait for the broker's confirm."""

    def publish_many(self, messages: list[Outgoing]) -> None:
        """Publish all, then wait for every confirm (many outstanding: the fast path for fan-out).

        Raises ``PublishNotConfirmed`` naming the messages that were not confirmed. This default waits
        for each confirm in turn (``publish``) and tries every message.
        """
        failed: list[tuple[str, str]] = []
        for m in messages:
            try:
                self.publish(m.exchange, m.routing_key, m.body, message_id=m.message_id, headers=m.headers)
            except PublishNotConfirmed as e:
                failed.append((m.message_id, str(e)))
        if failed:
            shown = "; ".join(f"{message_id}: {why}" for message_id, why in failed[:5])
            raise PublishNotConfirmed(f"{len(failed)} of {len(messages)} messages not confirmed: {shown}",
                                      message_ids=tuple(message_id for message_id, _ in failed))

    @abstractmethod
    def consume(self, queue: str, handler: Handler, *, prefetch: int = 16) -> None:
        """Register ``handler`` for ``queue``; deliveries flow while ``drain`` or ``run`` runs.

        ``prefetch``: deliveries unacknowledged at most, set once (RabbitMQ applies ``basic.qos`` to
        consumers created after it only). A memory budget in bytes cannot be kept by reading the
        connection only while there is room: what the broker sent ahead waits unread, and RabbitMQ resets
        a connection it could not write to for 30 s (its TCP send timeout), every delivery on it coming
        back with its x-delivery-count one higher; the hub keeps its budget with this prefetch and
        ``get`` (``Hub.gather``)."""

    @abstractmethod
    def drain(self, timeout: float = 0.0) -> int:
        """Dispatch pending deliveries to handlers for up to ``timeout`` seconds; return how many."""

    @abstractmethod
    def get(self, queue: str) -> Delivery | None:
        """Take one message without a consumer (None when the queue is empty)."""

    def get_many(self, queue: str, limit: int) -> list[Delivery]:
        """Take up to ``limit`` messages without a consumer; fewer when the queue runs out, none when
        ``limit`` is not positive. A transport may ask for them all at once (``RabbitMQTransport``), so
        the caller must have room for ``limit`` messages of any size; it may return none when its
        connection was re-opened under it (the caller's room then counted a lost consumer's prefetch)."""
        got: list[Delivery] = []
        while len(got) < limit and (delivery := self.get(queue)) is not None:
            got.append(delivery)
        return got

    @abstractmethod
    def ack(self, delivery: Delivery) -> None: ...

    def ack_many(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, TransportError]]:
        """Acknowledge each of ``deliveries``; those that could not be, with why (the broker gives
        them again). A transport may settle them together (``RabbitMQTransport``: one ``multiple``
        ack per channel)."""
        failed: list[tuple[Delivery, TransportError]] = []
        for delivery in deliveries:
            try:
                self.ack(delivery)
            except TransportError as err:
                failed.append((delivery, err))
        return failed

    def reject(self, delivery: Delivery, *, requeue: bool, reason: str | None = None) -> None:
        """Requeue it, or park it with ``reason`` recorded (``parking``: the one policy for all)."""
        if requeue or not self._is_live(delivery):
            self._requeue(delivery)  # a stale delivery: the broker redelivers it anyway
            return
        self.park([(delivery, reason)])

    def park(self, items: list[tuple[Delivery, str | None]]) -> None:
        """Park each delivery with its reason: clean copies to the dead-letter exchange, published
        together (many confirms outstanding: a flood of garbage costs one round trip per batch, not
        per message), then each original acknowledged. Nothing is lost: if the copies are not all
        confirmed, every original goes back to its queue (a copy may then be parked twice)."""
        live = [(d, r) for d, r in items if self._is_live(d)]
        if live and self._park_by_copy:
            copies = [Outgoing(self.names.dead_letter_exchange, d.queue, d.body, d.message_id,
                               park_headers(d, r, self.names)) for d, r in live]
            try:
                self.publish_many(copies)
            except AccessRefused:
                log.info("user %s may not publish to %s: parking through the broker's dead-lettering",
                         self.user, self.names.dead_letter_exchange)
                self._park_by_copy = False
            except TransportError:
                for d, _ in live:
                    self._requeue(d)
                raise
            else:
                for d, _ in live:
                    self.ack(d)
                return
        for d, r in live:
            if not self.names.is_inbox(d.queue):
                self._requeue(d)
                dlx = self.names.dead_letter_exchange
                raise AccessRefused(f"cannot park {d.message_id}: user {self.user} may not publish to "
                                    f"{dlx}, and {d.queue} has no dead-lettering")
            log.info("parking %s through the broker: %s", d.message_id, r)
            self._dead_letter(d)

    @abstractmethod
    def _is_live(self, delivery: Delivery) -> bool:
        """Whether ``delivery`` can still be settled (not from a connection lost since)."""

    def is_stale(self, delivery: Delivery) -> bool:
        """Whether ``delivery`` came on a connection or channel lost since: the broker gives it again,
        and it holds none of a consumer's prefetch any more. Says nothing in the log."""
        return not self._is_live(delivery)

    @abstractmethod
    def _requeue(self, delivery: Delivery) -> None:
        """Give it back to its queue, redelivered (a no-op for a stale delivery)."""

    @abstractmethod
    def _dead_letter(self, delivery: Delivery) -> None:
        """Reject it without requeueing: the broker dead-letters it (inboxes only)."""

    @abstractmethod
    def queue_depth(self, queue: str) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
