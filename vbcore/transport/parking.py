"""How a message that cannot be processed is parked: one policy for every transport.

A parked message is a **clean copy** published to ``{prefix}.dlx`` (-> ``{prefix}.parked``), then the
original is acknowledged. The copy keeps the body and message id, and only headers vbus writes itself,
each checked (``park_headers``); nothing else a client put on the message goes with it. Two reasons:

- RabbitMQ 3.10's dead-letter worker crashes on a client ``x-death`` that is not a list of tables
  (and every quorum queue with dead-lettering declared afterwards on that node starts ``down``,
  docs/measurements.md). A copy published normally is routed, never dead-lettered, and carries no ``x-death``.
- What an operator reads and ``vb parked replay`` trusts (``x-vbus-original-user``: who really
  published it) must come from the broker's ``user_id``, never from a header the publisher wrote.

A user who may not publish to the dead-letter exchange (an agency rejecting a delivery of its inbox)
cannot park by copy: its reject goes through the broker's dead-lettering, which only inboxes have,
and which is safe there because every message in an inbox was published by the hub, with clean
headers. Anywhere else (the ingress has no dead-lettering) the message is requeued and the failure
raised: parking must never lose a message.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from vbcore.transport import names as h
from vbcore.transport.names import Names

if TYPE_CHECKING:  # base.Transport.reject applies this policy: no import at run time
    from vbcore.transport.base import Delivery

# Headers of the hub's own messages (forwarded packages, 02s) that a parked copy keeps when the hub
# published the original; from anyone else only the kind and the DocumentId, for the operator's list.
HUB_HEADERS = (h.KIND, h.DOCUMENT_ID, h.SENDER, h.RECIPIENT, h.HUB_ID, h.RECEIVED_AT, h.FORWARDED_AT,
               h.REFUSAL_REASON, h.REFUSED_MESSAGE_ID)
CLIENT_HEADERS = (h.KIND, h.DOCUMENT_ID)
MAX_HEADER_CHARS = 512
MAX_REASON_CHARS = 2000


def clean_text(value: object, limit: int = MAX_HEADER_CHARS) -> str | None:
    """``value`` as one printable line of at most ``limit`` characters, or None if it is no string or
    nothing printable is left (control and format characters become spaces)."""
    if not isinstance(value, str):
        return None
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in value[: limit * 2])
    text = " ".join(text.split())[:limit]
    return text or None


def park_headers(delivery: Delivery, reason: str | None, names: Names) -> dict[str, str]:
    """The headers of ``delivery``'s parked copy: why, from where, who really published it.

    A message the hub user published (a forwarded copy, a parked one rejected again, an operator's
    replay) keeps the hub's headers, and where it was first parked from and who first published it.
    """
    trusted = delivery.user_id is not None and delivery.user_id == names.hub_user
    headers: dict[str, str] = {}
    for key in HUB_HEADERS if trusted else CLIENT_HEADERS:
        value = clean_text(delivery.headers.get(key))
        if value is not None:
            headers[key] = value
    if headers.get(h.KIND) not in (*h.KINDS, None):
        del headers[h.KIND]
    headers[h.PARK_REASON] = clean_text(reason, MAX_REASON_CHARS) or "rejected"
    first_from = clean_text(delivery.headers.get(h.PARKED_FROM)) if trusted else None
    headers[h.PARKED_FROM] = first_from or delivery.queue
    first_user = clean_text(delivery.headers.get(h.ORIGINAL_USER)) if trusted else None
    # On the ingress the hub user is only ever the operator's replay: the sender is what it carries.
    replayed = trusted and delivery.queue == names.ingress_queue
    original = first_user if replayed else first_user or delivery.user_id
    if original:  # absent: it came with no broker-validated identity
        headers[h.ORIGINAL_USER] = original
    return headers
