"""AMQP 0-9-1 details of the RabbitMQ transport that do not depend on the client library.

Queue arguments, the reading of header tables (``x-death`` included), and publisher-confirm
bookkeeping live here as plain Python, so ``rabbitmq.py`` (the one module that imports pika) holds
only the pika calls, and this logic can be tested without a broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vbcore.transport import names as h
from vbcore.transport.names import Names


def work_queue_arguments(names: Names) -> dict[str, Any]:
    """Arguments of every inbox: quorum, parked at least once, bounded retries.

    Only the hub publishes to inboxes (with headers of its own), so the broker's dead-lettering of an
    inbox never sees a client's headers. RabbitMQ allows ``x-dead-letter-strategy: at-least-once``
    only with ``x-overflow: reject-publish``.
    """
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": names.dead_letter_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-delivery-limit": h.DELIVERY_LIMIT,
    }


# The ingress: quorum, and NO dead-lettering nor delivery limit (without a dead-letter exchange the
# broker would drop a message over the limit). What agencies publish must never reach RabbitMQ's
# dead-letter worker; the hub parks clean copies and counts deliveries itself (``x-delivery-count``).
INGRESS_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}
PARKED_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


# Headers the broker writes (dead-lettering, quorum delivery counts): read into ``Delivery`` fields
# or park headers, never passed on as the message's own.
_BROKER_HEADER_PREFIXES = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")


def read_headers(raw: object, user_id: str | None) -> dict[str, str]:
    """A message's headers as strings; for one the broker dead-lettered, park headers from ``x-death``.

    Any table a client can publish is read without raising (this runs in the consumer callback,
    before the pipeline's guard): only string, byte-string and number values are kept; lists,
    tables, decimals, timestamps and the broker's own headers are dropped.
    """
    if not isinstance(raw, Mapping):
        return {}
    headers: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key.startswith(_BROKER_HEADER_PREFIXES):
            continue
        text = _scalar(value)
        if text is not None:
            headers[key] = text
    death = _first_death(raw.get("x-death"))
    if h.PARK_REASON not in headers and death is not None:
        # Dead-lettered by the broker itself (delivery limit, or an agency's reject).
        reason, queue = death
        headers[h.PARK_REASON] = f"dead-lettered by the broker: {reason}"
        headers.setdefault(h.PARKED_FROM, queue)
        if user_id:
            headers.setdefault(h.ORIGINAL_USER, user_id)
    return headers


def delivery_count(raw: object, *, redelivered: bool) -> int:
    """How many times the broker handed the message out before (quorum queues' ``x-delivery-count``).

    Read only on a redelivery, and only a non-negative integer: a first delivery counts 0 whatever
    header its publisher wrote."""
    if not redelivered or not isinstance(raw, Mapping):
        return 0
    count = raw.get("x-delivery-count")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    return 0


def _first_death(deaths: object) -> tuple[str, str] | None:
    """(reason, queue) of the latest ``x-death`` entry, if it is a well-formed table."""
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], Mapping):
        return None
    reason, queue = _scalar(deaths[0].get("reason")), _scalar(deaths[0].get("queue"))
    return (reason, queue) if reason and queue else None


def _scalar(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float):
        return str(value)
    return None


class ConfirmTracker:
    """Publisher-confirm bookkeeping for one batch on one confirm-mode channel."""

    def __init__(self, first_seq: int) -> None:
        self.next_seq = first_seq
        self.outstanding: dict[int, int] = {}  # channel sequence number -> index in the batch
        self.sizes: dict[int, int] = {}  # channel sequence number -> body size
        self.outstanding_bytes = 0
        # (message_id, exchange, routing key) -> why it was returned. A Basic.Return carries no
        # sequence number; it comes before the Ack of its message, and this key is unique in a batch
        # even when one document goes to several inboxes under the same message_id.
        self.returned: dict[tuple[str, str, str], str] = {}
        self.failed: dict[int, str] = {}  # index -> reason
        self.confirmed: set[int] = set()

    def sent(self, index: int, size: int) -> None:
        """Record that batch item ``index`` went out with the next sequence number."""
        self.outstanding[self.next_seq] = index
        self.sizes[self.next_seq] = size
        self.outstanding_bytes += size
        self.next_seq += 1

    def confirm(self, delivery_tag: int, *, multiple: bool, nack: bool) -> None:
        """A Basic.Ack or Basic.Nack for ``delivery_tag`` (and all before it when ``multiple``)."""
        tags = [t for t in self.outstanding if t <= delivery_tag] if multiple else [delivery_tag]
        for t in tags:
            index = self.outstanding.pop(t, None)
            if index is None:
                continue
            self.outstanding_bytes -= self.sizes.pop(t, 0)
            if nack:
                self.failed[index] = "nacked by the broker"
            else:
                self.confirmed.add(index)

    def returned_unroutable(self, message_id: str, exchange: str, routing_key: str, reply: str) -> None:
        self.returned[(message_id, exchange, routing_key)] = (
            f"unroutable: {reply} (exchange {exchange!r}, key {routing_key!r})"
        )

    def settle_returns(self, keys: Mapping[int, tuple[str, str, str]]) -> None:
        """Move confirmed items that were returned (``keys``: index -> return key) to ``failed``."""
        for index in list(self.confirmed):
            why = self.returned.get(keys[index])
            if why is not None:
                self.confirmed.discard(index)
                self.failed[index] = why

    def give_up(self, why: str) -> None:
        """Count every outstanding item as failed (no confirm came in time)."""
        for index in self.outstanding.values():
            self.failed[index] = why
        self.outstanding.clear()
        self.sizes.clear()
        self.outstanding_bytes = 0
