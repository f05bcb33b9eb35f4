"""Every exchange, queue, user and header name vbus uses: the only place names are made.

One small function or property per name (as dramatiq's ``q_name``/``dq_name``/``xq_name``), so no
format string for a queue name appears at a call site anywhere else.

Topology (each agency publishes to ``ingress_exchange`` with its own code as routing key; the hub
consumes ``ingress_queue``, checks, and publishes to ``delivery_exchange`` with the recipient's
code; each agency reads ``inbox(code)``; whatever cannot be processed ends in ``parked_queue``)::

    {prefix}.ingress (fanout) -> {prefix}.hub.incoming (quorum) -> hub
    hub -> {prefix}.deliver (direct, key = code) -> {prefix}.inbox.{code}.{token} (quorum)
    hub --clean copy--> {prefix}.dlx (fanout) -> {prefix}.parked (quorum)
    inbox --broker dead-lettering--> {prefix}.dlx

The ingress queue has no broker dead-lettering: what agencies publish never reaches RabbitMQ's
dead-letter worker (3.10's crashes on a malformed client ``x-death``, docs/measurements.md); the hub
parks clean copies and enforces the delivery budget itself. vbus 0.1 named it ``{prefix}.hub.ingress``
and let the broker dead-letter it; queue arguments cannot change on an existing queue, hence the new
name (``vb hub migrate`` moves what the old one holds).

Inbox names end with a token (``inbox_token``): an HMAC, under the operator's inbox secret, of the
prefix and the agency's code. RabbitMQ 3.10 answers a passive ``queue.declare`` from any user, with
no permission check, with the queue's message and consumer counts (RabbitMQ 4.2.6 began checking
permissions there): an inbox whose name another agency can derive would tell it whether that agency
is connected and how much waits for it. The hub and ``vb agency add`` hold the secret; an agency is
told its own inbox name (``inbox_names``) and can derive no other. Without a secret an inbox is named
``{prefix}.inbox.{code}`` (the in-memory transport, tests, and vbus 0.1 installations).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

# Message headers (AMQP header table keys). Values are strings; timestamps are ISO 8601 UTC.
KIND = "x-vbus-kind"  # "edoc" | "status" | "refusal" | "receipt"
DOCUMENT_ID = "x-vbus-document-id"
SENDER = "x-vbus-sender"
RECIPIENT = "x-vbus-recipient"
HUB_ID = "x-vbus-hub-id"
RECEIVED_AT = "x-vbus-received-at"
FORWARDED_AT = "x-vbus-forwarded-at"
REFUSAL_REASON = "x-vbus-refusal-reason"
REFUSED_MESSAGE_ID = "x-vbus-refused-message-id"
# On a 02 from the hub: the recipients it refused, separated by spaces (agency codes hold none); absent
# when it refused the whole package. At most ``MAX_LISTED_REFUSED`` are listed (the store keeps all).
REFUSED_RECIPIENTS = "x-vbus-refused-recipients"
MAX_LISTED_REFUSED = 1000
# On what the hub forwards from a package a gateway relayed from another axis: the gateway, the
# verdict on the remote sender's own signature and the relay policy that let it in. A receiver believes
# them from the hub's broker user only (``vbcore.agency``: it accepts what the hub vouched for).
RELAYED_BY = "x-vbus-relayed-by"
SIGNATURE_VERDICT = "x-vbus-signature"
RELAY_POLICY = "x-vbus-relay-policy"
PARK_REASON = "x-vbus-park-reason"
# Added by the transports on a parked message: the queue it was parked from, and the broker-validated
# user who originally published it (the parked copy itself is published by whoever rejected it).
PARKED_FROM = "x-vbus-parked-from"
ORIGINAL_USER = "x-vbus-original-user"

# On a package an agency publishes: "yes" asks the hub for its signed receipts (accepted or refused,
# then delivered per recipient), sent to the agency's inbox as messages of kind ``KIND_RECEIPT``; on a
# status it also asks for the hub's *delivered* receipt of the document the status answers. Absent:
# none are sent (the hub keeps them all the same).
RECEIPTS = "x-vbus-receipts"
RECEIPTS_WANTED = "yes"

KIND_EDOC = "edoc"
KIND_STATUS = "status"
KIND_REFUSAL = "refusal"
KIND_RECEIPT = "receipt"  # the hub's signed receipt (JSON, ``vbcore.evidence.receipt``), not edXML
KINDS = (KIND_EDOC, KIND_STATUS, KIND_REFUSAL, KIND_RECEIPT)

# How many times a message may be handed out and returned unacknowledged (consumer crashes,
# requeues) before it is parked: a poison message must not loop for ever. The broker enforces it on
# inboxes (``x-delivery-limit``); the hub on its ingress, from the broker's ``x-delivery-count``.
DELIVERY_LIMIT = 10

# Characters of an inbox token: base32 of the HMAC, 130 bits.
INBOX_TOKEN_LENGTH = 26


def inbox_token(secret: str, prefix: str, code: str) -> str:
    """The part of an inbox name only the holder of ``secret`` can derive (HMAC-SHA256)."""
    digest = hmac.new(secret.encode(), f"vbus inbox\0{prefix}\0{code}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:INBOX_TOKEN_LENGTH]


@dataclass(frozen=True)
class Names:
    """The names of one vbus installation; ``prefix`` separates installations sharing a broker."""

    prefix: str = "vbus"
    # The broker user of hub processes (a field so that tests can run several hubs on one broker).
    hub_user: str = "vbus-hub"
    # Prepended to an agency's code to make its broker user. Broker users are broker-wide (not per
    # vhost): a test suite on a shared broker uses a prefix so that it never touches the user of a
    # real agency. Production: empty (the user is the code).
    user_prefix: str = ""
    # The operator's secret that makes inbox names underivable (``inbox_token``); empty: plain names.
    inbox_secret: str = field(default="", repr=False)
    # Inbox names given as they are: an agency knows its own (told by ``vb agency add``), not the secret.
    inbox_names: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def ingress_exchange(self) -> str:
        """Fanout exchange agencies publish to (routing key: their own code)."""
        return f"{self.prefix}.ingress"

    @property
    def ingress_queue(self) -> str:
        """Quorum queue the hub consumes (several hub processes may); no broker dead-lettering."""
        return f"{self.prefix}.hub.incoming"

    @property
    def legacy_ingress_queue(self) -> str:
        """vbus 0.1's ingress queue, which dead-lettered through the broker (``vb hub migrate``)."""
        return f"{self.prefix}.hub.ingress"

    @property
    def delivery_exchange(self) -> str:
        """Direct exchange the hub publishes to; routing key = recipient agency code."""
        return f"{self.prefix}.deliver"

    def inbox(self, code: str) -> str:
        """One agency's inbox queue (quorum): as given, else named with the secret's token."""
        given = self.inbox_names.get(code)
        if given:
            return given
        if self.inbox_secret:
            return f"{self.legacy_inbox(code)}.{inbox_token(self.inbox_secret, self.prefix, code)}"
        return self.legacy_inbox(code)

    def legacy_inbox(self, code: str) -> str:
        """An inbox named without a token: with no secret, and every inbox of vbus 0.1."""
        return f"{self.prefix}.inbox.{code}"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    @property
    def parked_queue(self) -> str:
        """Everything that cannot be processed ends here, with reason headers."""
        return f"{self.prefix}.parked"

    def agency_user(self, code: str) -> str:
        """An agency's broker user: ``user_prefix`` + its code."""
        return f"{self.user_prefix}{code}"

    def agency_code(self, user: str | None) -> str | None:
        """The agency whose broker user ``user`` is (inverse of ``agency_user``); None for any other
        user: none at all, the hub's, or one outside ``user_prefix``."""
        if not user or user == self.hub_user or not user.startswith(self.user_prefix):
            return None
        return user.removeprefix(self.user_prefix) or None

    def is_inbox(self, queue: str) -> bool:
        return queue.startswith(f"{self.prefix}.inbox.")

