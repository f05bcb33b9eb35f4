"""The parking queue, for operators: list, show, replay or drop parked messages.

Browsing takes messages without acknowledging them and closes the connection afterwards, so the
broker puts every one back (nothing is removed except what ``drop`` or ``replay`` settles). A replayed
message goes back to the ingress exchange, published by the hub user with the original publisher in
``x-vbus-sender``: the hub trusts that header only from its own user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vbcore.transport import Delivery, Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    reason: str | None
    parked_from: str | None
    original_user: str | None
    kind: str | None
    document_id: str | None
    size: int
    delivery: Delivery


def _parked(delivery: Delivery) -> ParkedMessage:
    h = delivery.headers
    return ParkedMessage(
        message_id=delivery.message_id,
        reason=h.get(n.PARK_REASON),
        parked_from=h.get(n.PARKED_FROM),
        original_user=h.get(n.ORIGINAL_USER) or h.get(n.SENDER) or delivery.user_id,
        kind=h.get(n.KIND),
        document_id=h.get(n.DOCUMENT_ID),
        size=len(delivery.body),
        delivery=delivery,
    )


def browse(open_transport: Callable[[], Transport], names: Names, limit: int = 1000) -> list[ParkedMessage]:
    """Every parked message (up to ``limit``), left in the queue."""
    transport = open_transport()
    try:
        found: list[ParkedMessage] = []
        while len(found) < limit and (d := transport.get(names.parked_queue)) is not None:
            found.append(_parked(d))
        return found
    finally:
        transport.close()


def settle(
    open_transport: Callable[[], Transport], names: Names, message_id: str, *, replay: bool
) -> ParkedMessage | None:
    """Remove one parked message (``replay``: first publish it to the ingress again)."""
    transport = open_transport()
    try:
        while (d := transport.get(names.parked_queue)) is not None:
            if d.message_id != message_id:
                continue
            parked = _parked(d)
            if replay:
                headers = {k: v for k, v in d.headers.items() if not k.startswith("x-vbus-park")}
                if parked.original_user:
                    headers[n.SENDER] = parked.original_user
                transport.publish(
                    names.ingress_exchange, parked.original_user or "", d.body, message_id=d.message_id,
                    headers=headers,
                )  # fmt: skip
            transport.ack(d)
            return parked
        return None
    finally:
        transport.close()
