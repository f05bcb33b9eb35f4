"""The parking queue, for operators: list, show, replay or drop parked messages.

Browsing takes messages without acknowledging them and closes the connection afterwards, so the
broker puts every one back (nothing is removed except what ``drop`` or ``replay`` settles).

Who sent a parked message is ``x-vbus-original-user``, recorded when it was parked from the broker's
``user_id`` (``transport.parking``), never from a header its publisher wrote; absent, it came with no
broker-validated identity. A replay goes back to the ingress exchange, published by the hub user (the
operator runs ``vb parked`` as it) and carrying that recorded user: the hub believes it from its own
user only, and checks the replayed package against it as if that agency had just sent it. A message
with no recorded sender cannot be replayed (nobody could be answered), nor one parked from an inbox
(it is a copy the hub already forwarded; the receiving agency refused it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vbcore.errors import NotReplayable
from vbcore.transport import Delivery, Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.parking import clean_text


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    reason: str | None
    parked_from: str | None
    original_user: str | None  # the broker-validated publisher; None: it came with no identity
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
        original_user=h.get(n.ORIGINAL_USER),
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


def replay_headers(parked: ParkedMessage, names: Names) -> dict[str, str]:
    """What a replay carries: the recorded sender, and the kind and DocumentId for the hub's log.

    Raises ``NotReplayable`` for a message the hub could not check against a sender, or that the
    ingress did not park."""
    if parked.parked_from not in (names.ingress_queue, names.legacy_ingress_queue):
        raise NotReplayable(
            f"{parked.message_id} was parked from {parked.parked_from}, not from the hub's ingress: only "
            "what the hub refused can be replayed to it",
            vi=f"{parked.message_id} được lưu giữ từ {parked.parked_from}, không phải từ hàng đợi tiếp nhận "
            "của trục: chỉ gói tin trục đã từ chối mới gửi lại được")
    if not parked.original_user:
        raise NotReplayable(
            f"{parked.message_id} came with no broker-validated sender: replayed, nobody could be answered",
            vi=f"{parked.message_id} không kèm cơ quan gửi do máy chủ xác thực: gửi lại thì không trả lời "
            "được ai")
    headers = {n.ORIGINAL_USER: parked.original_user}
    for key, value in ((n.KIND, parked.kind), (n.DOCUMENT_ID, parked.document_id)):
        if (text := clean_text(value)) is not None:
            headers[key] = text
    return headers


def settle(
    open_transport: Callable[[], Transport], names: Names, message_id: str, *, replay: bool
) -> ParkedMessage | None:
    """Remove one parked message (``replay``: first publish it to the ingress again, as the hub user)."""
    transport = open_transport()
    try:
        while (d := transport.get(names.parked_queue)) is not None:
            if d.message_id != message_id:
                continue
            parked = _parked(d)
            if replay:
                headers = replay_headers(parked, names)
                transport.publish(
                    names.ingress_exchange, headers[n.ORIGINAL_USER], d.body, message_id=d.message_id,
                    headers=headers,
                )  # fmt: skip
            transport.ack(d)
            return parked
        return None
    finally:
        transport.close()
