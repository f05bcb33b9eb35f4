"""The hub pipeline: what happens to every message taken from the ingress queue.

check (size, parse, schema, signature, sender) -> route (documents: recipients, duplicates, fan-out;
statuses: to the original sender, or a revoke 13 to every recipient) -> ack.

Crash safety comes from the order of effects, never from holding state in memory:
record + claim (commit) -> publish (confirmed) -> mark forwarded (commit) -> ack. A message redelivered
after a crash finds its pairs in the store: ACCEPTED ones are published again (a recipient may then see
the same ``<document_id>|<recipient>`` message id twice and drops the second), FORWARDED ones are not.

Every refusal becomes a ``Refusal`` record and a signed 02 to the sender, and the message is parked with
its reason; the hub keeps running. A transient failure (store or broker down) requeues the message.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import datetime

from vbcore.directory import Directory
from vbcore.edxml import DEFAULT_LIMITS, ParseLimits
from vbcore.errors import PackageRefused, PublishNotConfirmed, StoreError, TransportError
from vbcore.hub import checks
from vbcore.hub.attempt import Attempt, Refused
from vbcore.hub.config import HubConfig
from vbcore.hub.documents import DocumentRouter
from vbcore.hub.replies import refusal
from vbcore.hub.statuses import StatusRouter
from vbcore.logging import Logger, get_logger
from vbcore.model import StatusPackage
from vbcore.signing import SignaturePolicy, SigningKey, TrustStore
from vbcore.store.api import Refusal, TrackingStore
from vbcore.transport import Delivery, Outgoing, Transport
from vbcore.transport import names as n


class Hub:
    """One hub process's pipeline."""

    def __init__(
        self,
        transport: Transport,
        store: TrackingStore,
        *,
        key: SigningKey,
        trust: TrustStore,
        directory: Directory,
        policy: SignaturePolicy | None = None,
        config: HubConfig | None = None,
        limits: ParseLimits = DEFAULT_LIMITS,
        log: Logger | None = None,
    ) -> None:
        self.transport = transport
        self.store = store
        self.key = key
        self.trust = trust
        self.policy = policy or SignaturePolicy()
        self.config = config or HubConfig()
        self.limits = limits
        self.log = log or get_logger("vbus.hub")
        self._declared: set[str] = set()
        self.documents = DocumentRouter(self, directory)
        self.statuses = StatusRouter(self)

    # --- running ------------------------------------------------------------------------------

    def start(self, agencies: list[str] | None = None, *, prefetch: int = 16) -> None:
        """Declare the hub's queues (and the listed agencies' inboxes) and start consuming ingress."""
        self.transport.declare_hub(list(agencies or []))
        self._declared.update(agencies or [])
        self.transport.consume(self.config.names.ingress_queue, self.handle, prefetch=prefetch)

    def ensure_inboxes(self, codes: list[str]) -> None:
        """Declare inboxes not seen yet, so a recipient offline since before its first mail gets it."""
        for code in codes:
            if code not in self._declared:
                self.transport.declare_inbox(code)
                self._declared.add(code)

    def now(self) -> datetime:
        return self.config.clock()

    # --- one delivery -------------------------------------------------------------------------

    def handle(self, delivery: Delivery) -> None:
        """The ingress consumer's callback."""
        self.process(delivery)

    def process(self, delivery: Delivery) -> Attempt:
        """Run one delivery through the pipeline; it ends acked, parked or requeued."""
        started = time.perf_counter()
        attempt = Attempt(delivery, sender=self._claimed_sender(delivery))
        try:
            self._process(attempt)
        except PackageRefused as err:
            self._refuse_and_park(attempt, [Refused(err)])
        except (StoreError, TransportError) as err:
            self._requeue(attempt, err)
        except Exception as err:  # a bug must not stop the hub: park the message, never lose it
            self.log.exception("hub.internal_error", message_id=delivery.message_id)
            self._park(attempt, f"internal-error: {type(err).__name__}: {err}")
            attempt.outcome = "parked"
        self.log.info(
            "package",
            message_id=delivery.message_id,
            kind=attempt.kind,
            document_id=attempt.document_id,
            sender=attempt.sender,
            recipients=attempt.delivered,
            refused=attempt.refused,
            outcome=attempt.outcome,
            reason=attempt.reason,
            redelivered=delivery.redelivered,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return attempt

    def _claimed_sender(self, delivery: Delivery) -> str | None:
        """The broker-validated publisher; for a message the operator replayed as the hub user, the
        sender recorded in its headers when it was first submitted."""
        if delivery.user_id == self.config.names.hub_user:
            return delivery.headers.get(n.SENDER)
        return delivery.user_id

    def _process(self, attempt: Attempt) -> None:
        body = attempt.delivery.body
        checks.check_size(body, self.config.max_bytes)
        checks.check_structure(body, self.limits)
        checked = checks.verify_and_read(body, trust=self.trust, policy=self.policy)
        if attempt.sender is None:
            attempt.sender = checked.sender
        checks.authorise_sender(attempt.sender, checked)
        if isinstance(checked.package, StatusPackage):
            attempt.kind = n.KIND_STATUS
            attempt.document_id = checked.package.document_id
            self.statuses.route(attempt, checked.package)
        else:
            attempt.kind = n.KIND_EDOC
            self.documents.route(attempt, checked.package, hashlib.sha256(body).hexdigest())

    # --- endings ------------------------------------------------------------------------------

    def finish(self, attempt: Attempt, outcome: str) -> None:
        self.transport.ack(attempt.delivery)
        attempt.outcome = outcome

    def refusals_for(self, attempt: Attempt, refused: list[Refused], at: datetime) -> list[Outgoing]:
        """Record each refusal (call inside a store transaction) and build its signed 02 to the sender."""
        out: list[Outgoing] = []
        for item in refused:
            detail = str(item.error)
            self.store.record_refusal(
                Refusal(
                    message_id=attempt.delivery.message_id,
                    sender=attempt.sender,
                    document_id=attempt.document_id,
                    recipient=item.recipient,
                    reason=item.error.reason,
                    detail=detail,
                    at=at,
                )
            )
            attempt.refused.append(item.recipient or item.error.reason)
            if attempt.sender is not None:
                out.append(
                    refusal(
                        self.config,
                        self.key,
                        item.error,
                        sender=attempt.sender,
                        refused_message_id=attempt.delivery.message_id,
                        document_id=attempt.document_id,
                        recipient=item.recipient,
                        at=at,
                    )
                )
        return out

    def send_refusals(self, messages: list[Outgoing]) -> None:
        """Publish 02s; a sender without an inbox cannot be answered, but the refusal stays recorded."""
        if not messages:
            return
        try:
            self.transport.publish_many(messages)
        except TransportError as err:
            if not isinstance(err, PublishNotConfirmed):
                raise
            self.log.warning("hub.refusal_undeliverable", sender=messages[0].routing_key, error=str(err))

    def _refuse_and_park(self, attempt: Attempt, refused: list[Refused]) -> None:
        try:
            with self.store.transaction():
                replies = self.refusals_for(attempt, refused, self.now())
            self.send_refusals(replies)
        except (StoreError, TransportError) as err:
            self._requeue(attempt, err)
            return
        first = refused[0].error
        self._park(attempt, f"{first.reason}: {first}")
        attempt.outcome = "refused"
        attempt.reason = first.reason

    def park_refused(self, attempt: Attempt, first: PackageRefused) -> None:
        self._park(attempt, f"{first.reason}: {first}")
        attempt.outcome = "refused"
        attempt.reason = first.reason

    def _park(self, attempt: Attempt, reason: str) -> None:
        self.transport.reject(attempt.delivery, requeue=False, reason=reason)

    def _requeue(self, attempt: Attempt, err: Exception) -> None:
        attempt.outcome = "requeued"
        attempt.reason = f"{type(err).__name__}: {err}"
        # If the connection is gone, the broker requeues the unacked delivery by itself.
        with contextlib.suppress(TransportError):
            self.transport.reject(attempt.delivery, requeue=True)
