"""The hub pipeline: what happens to every message taken from the ingress queue.

check (size, parse, schema, signature, sender) -> plan (documents: recipients, duplicates, fan-out;
statuses: to the original sender, or a revoke 13 to every recipient) -> publish -> ack.

Messages are handled in batches (whatever the consumer has prefetched, one at a time in tests): each
is checked and planned on its own, then the batch shares one store transaction, ONE publish with many
confirms outstanding, one more transaction and the acks. A broker round trip and a commit per batch
instead of per message is what lets one hub process keep up (measurements.md: about one message per
round trip otherwise).

Crash safety comes from the order of effects, never from holding state in memory:
record + claim (commit) -> publish (confirmed) -> mark forwarded (commit) -> ack. A message redelivered
after a crash finds its pairs in the store: ACCEPTED ones are published again (a recipient may then see
the same ``<document_id>|<recipient>`` message id twice and drops the second), FORWARDED ones are not.

Every refusal becomes a ``Refusal`` record and a signed 02 to the sender, and the message is parked with
its reason; the hub keeps running. A transient failure (store or broker down) requeues the batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import datetime

from vbcore.directory import Directory
from vbcore.edxml import DEFAULT_LIMITS, ParseLimits
from vbcore.errors import (
    HubInternalError,
    PackageRefused,
    PublishNotConfirmed,
    RecipientsRefused,
    StoreError,
    TransportError,
)
from vbcore.hub import checks
from vbcore.hub.attempt import Attempt, Refused
from vbcore.hub.config import HubConfig
from vbcore.hub.documents import DocumentRouter
from vbcore.hub.replies import last_resort_description, new_reference, refusal, safe_text, with_reference
from vbcore.hub.statuses import StatusRouter
from vbcore.logging import Logger, get_logger
from vbcore.model import StatusPackage
from vbcore.pki import certificates_by_agency
from vbcore.signing import SignaturePolicy, SigningKey, TrustStore
from vbcore.store.api import Refusal, TraceEvent, TrackingStore
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
        self._pending: list[Delivery] = []
        self.requeued = 0  # deliveries put back after a store or broker failure (``run_once`` stops)
        # Certificates the operator registered for agencies (CAs that do not name the agency code).
        self.agency_certificates = certificates_by_agency(directory.registered_certificates())
        self.documents = DocumentRouter(self, directory)
        self.statuses = StatusRouter(self)

    # --- running ------------------------------------------------------------------------------

    def start(self, agencies: list[str] | None = None, *, prefetch: int = 16, batch: bool = False) -> None:
        """Declare the hub's queues (and the listed agencies' inboxes) and start consuming ingress.

        ``batch=False``: each delivery is processed as the transport hands it over (tests, the demo).
        ``batch=True``: deliveries are collected and processed by ``flush`` (the runner calls it after
        each ``drain``), up to ``prefetch`` at a time.
        """
        self.transport.declare_hub(list(agencies or []))
        self._declared.update(agencies or [])
        handler = self._pending.append if batch else self.handle
        self.transport.consume(self.config.names.ingress_queue, handler, prefetch=prefetch)

    def flush(self) -> int:
        """Process the deliveries collected since the last call; return how many."""
        pending = list(self._pending)
        self._pending.clear()  # in place: the consumer holds ``self._pending.append``
        if pending:
            self.process_batch(pending)
        return len(pending)

    def ensure_inboxes(self, codes: list[str]) -> None:
        """Declare inboxes not seen yet, so a recipient offline since before its first mail gets it."""
        for code in codes:
            if code not in self._declared:
                self.transport.declare_inbox(code)
                self._declared.add(code)

    def now(self) -> datetime:
        return self.config.clock()

    # --- deliveries ---------------------------------------------------------------------------

    def handle(self, delivery: Delivery) -> None:
        """The ingress consumer's callback (unbatched)."""
        self.process_batch([delivery])

    def process(self, delivery: Delivery) -> Attempt:
        """Run one delivery through the pipeline; it ends acked, parked or requeued."""
        return self.process_batch([delivery])[0]

    def process_batch(self, deliveries: list[Delivery]) -> list[Attempt]:
        started = time.perf_counter()
        attempts = [Attempt(d, sender=self._claimed_sender(d)) for d in deliveries]
        for attempt in attempts:
            self._check(attempt)
        try:
            with self.store.transaction():
                for attempt in attempts:
                    self._plan(attempt)
            self._publish(attempts)
            self._record_forwarded(attempts)
        except (StoreError, TransportError) as err:
            for attempt in reversed(attempts):  # each goes back to the head: keep their order
                self._requeue(attempt, err)
        else:
            for attempt in attempts:
                try:
                    self._settle(attempt)
                except TransportError as err:  # the broker redelivers it; the store makes that harmless
                    attempt.outcome, attempt.reason = "unsettled", f"{type(err).__name__}: {err}"
        ms = round((time.perf_counter() - started) * 1000 / len(attempts), 2)
        for attempt in attempts:
            self._log(attempt, ms, len(attempts))
        return attempts

    def _claimed_sender(self, delivery: Delivery) -> str | None:
        """The broker-validated publisher; for a message the operator replayed as the hub user, the
        sender recorded in its headers when it was first submitted."""
        if delivery.user_id == self.config.names.hub_user:
            return delivery.headers.get(n.SENDER)
        return delivery.user_id

    def _check(self, attempt: Attempt) -> None:
        body = attempt.delivery.body
        try:
            checks.check_size(body, self.config.max_bytes)
            tree = checks.check_structure(body, self.limits)
            checked = checks.verify_and_read(
                body,
                trust=self.trust,
                policy=self.policy,
                agency_certificates=self.agency_certificates,
                parsed=tree,  # parsed once for both the schema and the signature
            )
            if attempt.sender is None:
                attempt.sender = checked.sender
            checks.authorise_sender(attempt.sender, checked)
        except PackageRefused as err:
            attempt.refusal = err
            return
        except Exception as err:  # a bug must not stop the hub: park the message, never lose it
            self._internal_error(attempt, err)
            return
        attempt.checked = checked
        attempt.sha256 = hashlib.sha256(body).hexdigest()
        if isinstance(checked.package, StatusPackage):
            attempt.kind = n.KIND_STATUS
            attempt.document_id = checked.package.document_id
        else:
            attempt.kind = n.KIND_EDOC

    def _plan(self, attempt: Attempt) -> None:
        """Decide and record (inside the batch's transaction) what this delivery leads to."""
        if attempt.checked is not None and attempt.refusal is None and attempt.internal_error is None:
            package = attempt.checked.package
            try:
                with self.store.transaction():  # a savepoint: a refusal undoes only this message's writes
                    if isinstance(package, StatusPackage):
                        self.statuses.plan(attempt, package)
                    else:
                        self.documents.plan(attempt, package)
            except PackageRefused as err:
                attempt.refusal = err
                attempt.outgoing.clear()
                attempt.forwarded.clear()
                attempt.replies.clear()
                attempt.traces.clear()
                attempt.refused.clear()  # recorded inside the savepoint: undone with it
            except StoreError:
                raise
            except Exception as err:
                self._internal_error(attempt, err)
        if attempt.refusal is not None and not attempt.refused:
            attempt.replies = self.refusals_for(attempt, [Refused(attempt.refusal)], self.now())

    def _publish(self, attempts: list[Attempt]) -> None:
        outgoing = [m for a in attempts for m in a.outgoing]
        if outgoing:
            self.ensure_inboxes(list(dict.fromkeys(m.routing_key for m in outgoing)))
            self.transport.publish_many(outgoing)
        self.send_refusals([m for a in attempts for m in a.replies])

    def _record_forwarded(self, attempts: list[Attempt]) -> None:
        if not any(a.forwarded or a.traces for a in attempts):
            return
        at = self.now()
        hub_id = self.config.hub_id
        with self.store.transaction():
            for attempt in attempts:
                document_id = attempt.document_id
                if document_id is None:  # only planned packages forward anything, and they know their id
                    continue
                for code in attempt.forwarded:
                    self.store.mark_forwarded(document_id, code, at=at)
                for label in attempt.traces:
                    self.store.record_trace(TraceEvent(document_id, hub_id, label, at))

    def _settle(self, attempt: Attempt) -> None:
        if attempt.internal_error is not None:
            self.transport.reject(attempt.delivery, requeue=False, reason=attempt.internal_error)
            attempt.outcome = "parked"
        elif attempt.refusal is not None:
            first = attempt.refusal
            self.transport.reject(attempt.delivery, requeue=False, reason=f"{first.reason}: {first}")
            attempt.outcome = "refused"
            attempt.reason = first.reason
        else:
            self.transport.ack(attempt.delivery)
            if attempt.outcome == "pending":
                attempt.outcome = "forwarded"

    # --- refusals -----------------------------------------------------------------------------

    def refusals_for(self, attempt: Attempt, refused: list[Refused], at: datetime) -> list[Outgoing]:
        """Record each refusal (call inside a store transaction) and answer them with ONE signed 02 to
        the sender: several refused recipients of a package are named together (``RecipientsRefused``,
        a bounded list), each kept in the store with its own reason.

        Never raises but for the store: a 02 that cannot be built is replaced by a last-resort 02 that
        names only the check that failed and a reference; if even that fails, the refusals stay
        recorded (with the reference) and logged, and the pipeline goes on."""
        if not refused:
            return []
        lang = self.config.lang
        answer = refused[0].error if len(refused) == 1 else RecipientsRefused([i.error for i in refused])
        about = [item.recipient for item in refused if item.recipient is not None]
        reply: Outgoing | None = None
        reference: str | None = None
        if attempt.sender is not None:
            reply, reference = self._answer(attempt, answer, safe_text(answer.describe(lang)), about, at)
        for item in refused:
            detail = safe_text(item.error.describe(lang))  # what the 02 says of this refusal
            self.store.record_refusal(
                Refusal(
                    message_id=attempt.delivery.message_id,
                    sender=attempt.sender,
                    document_id=attempt.document_id,
                    recipient=item.recipient,
                    reason=item.error.reason,
                    detail=detail if reference is None else with_reference(detail, reference, lang),
                    at=at,
                )
            )
            attempt.refused.append(item.recipient or item.error.reason)
        return [] if reply is None else [reply]

    def _answer(
        self, attempt: Attempt, error: PackageRefused, detail: str, recipients: list[str], at: datetime
    ) -> tuple[Outgoing | None, str | None]:
        """The 02 for one refusal, and the fault's reference when the precise 02 could not be built."""
        assert attempt.sender is not None
        lang = self.config.lang

        def build(description: str) -> Outgoing:
            assert attempt.sender is not None
            return refusal(
                self.config,
                self.key,
                reason=error.reason,
                description=description,
                sender=attempt.sender,
                refused_message_id=attempt.delivery.message_id,
                document_id=attempt.edxml_document_id or attempt.document_id,
                tracking_id=attempt.document_id,
                recipients=recipients,
                at=at,
            )

        try:
            return build(detail), None
        except Exception:
            reference = new_reference()
            self.log.exception("hub.refusal_unwritable", message_id=attempt.delivery.message_id,
                               reason=error.reason, reference=reference)  # fmt: skip
        try:
            return build(last_resort_description(error, reference, lang)), reference
        except Exception:
            self.log.exception("hub.refusal_unsent", message_id=attempt.delivery.message_id,
                               reason=error.reason, reference=reference)  # fmt: skip
            return None, reference

    def send_refusals(self, messages: list[Outgoing]) -> None:
        """Publish 02s; a sender without an inbox cannot be answered, but the refusal stays recorded."""
        if not messages:
            return
        try:
            self.transport.publish_many(messages)
        except PublishNotConfirmed as err:
            self.log.warning("hub.refusal_undeliverable", error=str(err))

    # --- endings ------------------------------------------------------------------------------

    def _internal_error(self, attempt: Attempt, err: Exception) -> None:
        """A bug met this message: it is refused like any other (recorded, a 02 naming a reference
        to the sender) and parked with the exception under that reference for the operator."""
        reference = new_reference()
        self.log.exception("hub.internal_error", message_id=attempt.delivery.message_id, reference=reference)
        attempt.internal_error = safe_text(f"internal-error ({reference}): {type(err).__name__}: {err}")
        attempt.refusal = HubInternalError(reference)
        attempt.outgoing.clear()
        attempt.forwarded.clear()
        attempt.replies.clear()  # built inside the rolled-back savepoint: their records are gone
        attempt.traces.clear()
        attempt.refused.clear()

    def _requeue(self, attempt: Attempt, err: Exception) -> None:
        attempt.outcome = "requeued"
        self.requeued += 1
        attempt.reason = f"{type(err).__name__}: {err}"
        # If the connection is gone, the broker requeues the unacked delivery by itself.
        with contextlib.suppress(TransportError):
            self.transport.reject(attempt.delivery, requeue=True)

    def _log(self, attempt: Attempt, ms: float, batch: int) -> None:
        self.log.info(
            "package",
            message_id=attempt.delivery.message_id,
            kind=attempt.kind,
            document_id=attempt.document_id,
            sender=attempt.sender,
            recipients=attempt.delivered,
            refused=attempt.refused,
            outcome=attempt.outcome,
            reason=attempt.reason,
            redelivered=attempt.delivery.redelivered,
            batch=batch,
            ms=ms,
        )
