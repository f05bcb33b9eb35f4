"""The transport interface: what the hub and the connector runtime need from a message broker.

Implementations: ``memory.InMemoryTransport`` (a real, in-process broker used by the fast tests and
``vb demo``) and the RabbitMQ transports. Queue, exchange and routing-key names come from
``vbcore.transport.names`` only.

Contract every implementation keeps:
- ``publish`` returns only once the broker has taken responsibility for the message (publisher
  confirm); it raises ``PublishNotConfirmed`` otherwise. Messages are persistent.
- A consumed ``Delivery`` stays unacknowledged until ``ack`` is called; ``reject(requeue=False)``
  sends it to the dead-letter (parking) queue with the reason in its headers.
- A delivery that was handed out before and not acknowledged comes back with ``redelivered=True``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Delivery:
    """One message as a consumer receives it."""

    queue: str
    body: bytes
    headers: Mapping[str, str]
    message_id: str
    # The broker-validated publishing user (AMQP ``user_id``): who really sent it.
    user_id: str | None = None
    redelivered: bool = False
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

        Raises ``PublishNotConfirmed`` naming the messages that were not confirmed.
        """
        for m in messages:
            self.publish(m.exchange, m.routing_key, m.body, message_id=m.message_id, headers=m.headers)

    @abstractmethod
    def consume(self, queue: str, handler: Handler, *, prefetch: int = 16) -> None:
        """Register ``handler`` for ``queue``; deliveries flow while ``drain`` or ``run`` runs."""

    @abstractmethod
    def drain(self, timeout: float = 0.0) -> int:
        """Dispatch pending deliveries to handlers for up to ``timeout`` seconds; return how many."""

    @abstractmethod
    def get(self, queue: str) -> Delivery | None:
        """Take one message without a consumer (None when the queue is empty)."""

    @abstractmethod
    def ack(self, delivery: Delivery) -> None: ...

    @abstractmethod
    def reject(self, delivery: Delivery, *, requeue: bool, reason: str | None = None) -> None:
        """Requeue it, or dead-letter it to the parking queue with ``reason`` recorded."""

    @abstractmethod
    def queue_depth(self, queue: str) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
