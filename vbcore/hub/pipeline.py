"""The hub pipeline: what happens to every message taken from the ingress queue.

check (size, parse, schema, signature, sender) -> plan (documents: recipients, duplicates, fan-out;
statuses: to the original sender, or a revoke 13 to every recipient) -> publish -> ack.

Messages are handled in batches (whatever the consumer has prefetched, one at a time in tests): each
is checked and planned on its own, then the batch shares one store transaction, ONE publish with many
confirms outstanding, one more transaction and the acks. A broker round trip and a commit per batch
instead of per message is what lets one hub process keep up (docs/measurements.md: about one message per
round trip otherwise).

Crash safety comes from the order of effects, never from holding state in memory:
record + claim (commit) -> publish (confirmed) -> mark forwarded (commit) -> ack. A message redelivered
after a crash finds its pairs in the store: ACCEPTED ones are published again (a recipient may then see
the same ``<document_id>|<recipient>`` message id twice and drops the second), FORWARDED ones are not.

Every refusal becomes a ``Refusal`` record and a signed 02 to the sender, and the message is parked with
its reason; the hub keeps running. A transient failure (store or broker down) is no refusal: a batching
hub holds the batch and retries it after a pause (given back to the broker, a message would spend its
delivery budget, which counts crashes); an unbatched one requeues it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable
from datetime import datetime

from vbcore.directory import Directory
from vbcore.edxml import DEFAULT_LIMITS, ParseLimits
from vbcore.edxml.acceptance import Accepted
from vbcore.errors import (
    ArchiveUnavailable,
    HubInternalError,
    NoDocumentNamed,
    NotProcessed,
    PackageRefused,
    PublishNotConfirmed,
    RecipientsRefused,
    SenderUnknown,
    StoreError,
    TransportError,
    UnknownDocument,
)
from vbcore.evidence.entry import EvidenceDraft
from vbcore.hub import checks, relay, routing
from vbcore.hub import evidence as witness
from vbcore.hub.attempt import Attempt, Refused
from vbcore.hub.config import HubConfig
from vbcore.hub.context import RouterContext
from vbcore.hub.documents import DocumentRouter
from vbcore.hub.metrics import HubMetrics
from vbcore.hub.receipts import ReceiptDesk
from vbcore.hub.replies import last_resort_description, new_reference, refusal, safe_text, with_reference
from vbcore.hub.statuses import StatusRouter
from vbcore.hub.waiting import WaitingRoom
from vbcore.logging import Logger, get_logger
from vbcore.model import StatusPackage
from vbcore.retry import Backoff
from vbcore.security.pki import certificates_by_agency
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore
from vbcore.store.api import Refusal, TraceEvent, TrackingStore
from vbcore.store.archive import PackageArchive
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
        metrics: HubMetrics | None = None,
        directory_source: Callable[[], Directory] | None = None,
        archive: PackageArchive | None = None,
    ) -> None:
        self.transport = transport
        self.store = store
        self.key = key
        self.trust = trust
        self.policy = policy or SignaturePolicy()
        # What the routers see of the hub (``config`` below reads and replaces it there).
        self.context = RouterContext(config or HubConfig(), store, directory, self.refusals_for)
        self.limits = limits
        self.log = log or get_logger("vbus.hub")
        self.metrics = metrics or HubMetrics(hub_id=self.config.hub_id)
        self._declared: set[str] = set()
        self._pending: list[Delivery] = []
        self._batching = False
        self._prefetch = 1  # deliveries in hand at most (set by ``start``)
        self._in_hand = 0  # bytes of the packages in ``_pending`` and ``_held`` (``_gets_that_fit``)
        self._consumed = 1  # the prefetch of the ingress consumer (``start``)
        self._gotten: set[int] = set()  # ids of the deliveries in hand that ``gather`` took with ``get``
        self._held: list[Delivery] = []  # a batch an outage stopped, retried once ``outage`` is ready
        # Packages about a document not known yet, held a while for it (``vbcore.hub.waiting``).
        self.waiting = WaitingRoom()
        self._stuck_get = 0.0  # when ``gather`` last asked for gets with only waiting deliveries in hand
        self.outage = Backoff(initial=self.config.outage_pause, maximum=self.config.outage_pause_max)
        self.parked_alarm = False  # the parked queue holds ``config.parked_alarm`` messages or more
        # Deliveries an outage of the store or the broker held or put back (``run_once`` stops at one).
        self.requeued = 0
        # Certificates the operator registered for agencies (CAs that do not name the agency code).
        self.agency_certificates = certificates_by_agency(directory.registered_certificates())
        self.documents = DocumentRouter(self.context)
        self.statuses = StatusRouter(self.context)
        self.checkpoints = witness.Checkpoints(store, key, lambda: self.config, self.log)
        # Gives the directory in force (``vbcore.directory.watch.DirectoryFiles``): a sync takes effect
        # at the next batch, without a restart; None keeps ``directory`` for the process's life.
        self.directory_source = directory_source
        # Evidence (issue 9): the exact signed bytes of every package that passed the checks, kept
        # before the batch commits; the hub's signed receipts, issued with the log's entries.
        self.archive = archive
        self.receipts = ReceiptDesk(store, key, lambda: self.config)

    def refresh_directory(self) -> None:
        """Take the directory in force now, if it changed (and the certificates registered in it)."""
        if self.directory_source is None:
            return
        current = self.directory_source()
        if current is not self.context.directory:
            self.context.directory = current
            self.agency_certificates = certificates_by_agency(current.registered_certificates())

    @property
    def config(self) -> HubConfig:
        return self.context.config

    @config.setter
    def config(self, config: HubConfig) -> None:
        self.context.config = config

    # --- running ------------------------------------------------------------------------------

    def start(self, agencies: list[str] | None = None, *, prefetch: int = 16, batch: bool = False) -> None:
        """Declare the hub's queues (and the listed agencies' inboxes) and start consuming ingress.

        ``batch=False``: each delivery is processed as the transport hands it over (tests, the demo);
        ``prefetch`` is lowered to what the memory budget allows at the size limit (``HubConfig.prefetch``).
        ``batch=True``: deliveries are collected and processed by ``flush`` (the runner calls it after
        each ``drain``), up to ``prefetch`` at a time: the consumer's prefetch is the unbatched one, and
        ``gather`` takes more with ``get`` while one more package of ``max_bytes`` fits the budget next to
        those in hand and those the consumer may still be sent: small packages make full batches, large
        ones as many as the budget holds.
        """
        self.transport.declare_hub(list(agencies or []))
        self._declared.update(agencies or [])
        self._batching = batch
        queue = self.config.names.ingress_queue
        if batch:
            # The consumer's prefetch keeps the budget at the size limit, as unbatched; ``gather`` fills
            # the batch up to ``prefetch`` with ``get``, one package at a time, while what is in hand and
            # what the consumer may still be sent leave room for one more of ``max_bytes``. A consumer
            # with a wider prefetch on a connection read only while there was room left the broker
            # deliveries it could not write: RabbitMQ reset that connection after 30 s (its send
            # timeout), and all it had sent came back, their x-delivery-count one higher.
            self._prefetch, self._consumed = prefetch, self.config.prefetch(prefetch)
            self.transport.consume(queue, self._take, prefetch=self._consumed)
        else:
            self._prefetch = self.config.prefetch(prefetch)
            self.transport.consume(queue, self.handle, prefetch=self._prefetch)
        self.metrics.consuming(True)

    def _take(self, delivery: Delivery) -> None:
        self._drop_stale()
        self._pending.append(delivery)
        self._in_hand += len(delivery.body)

    def _drop_stale(self) -> None:
        """Let go of the deliveries in hand that came on a connection or channel lost since: the broker
        gives them again, to a new consumer that may be sent its whole prefetch at once. Kept, they held
        their bytes beside it (up to twice the budget) and were processed twice."""
        stale = self.transport.is_stale
        gone = [d for d in (*self._held, *self._pending, *self.waiting.waiting()) if stale(d)]
        if not gone:
            return
        held = len(self._held)
        self._held = [d for d in self._held if not stale(d)]
        if len(self._held) != held:
            self.metrics.holding(len(self._held))
        self._pending[:] = [d for d in self._pending if not stale(d)]  # in place: tests look at it
        self.waiting.release(gone)  # and those held with a batch an outage held
        self.metrics.waiting(len(self.waiting))
        self._count_in_hand()
        self.log.info("hub.stale_dropped", count=len(gone))

    def _in_hand_now(self) -> list[Delivery]:
        return [*self._held, *self._pending, *self.waiting.waiting()]

    def _count_in_hand(self) -> None:
        in_hand = self._in_hand_now()
        self._in_hand = sum(len(d.body) for d in in_hand)
        self._gotten &= {id(d) for d in in_hand}

    def _gets_that_fit(self) -> int:
        """How many packages of ``max_bytes`` can be taken with ``get`` at once while the consumer may
        still be sent as many as its prefetch has free, all within ``inflight_bytes``. A delivery in hand
        from a connection lost since holds bytes but none of the new consumer's prefetch."""
        in_hand = self._in_hand_now()
        consumed = sum(1 for d in in_hand if id(d) not in self._gotten and not self.transport.is_stale(d))
        free = max(0, self._consumed - consumed)  # the stale leave as the next delivery comes (``_take``)
        return max(0, (self.config.inflight_bytes - self._in_hand) // self.config.max_bytes - free)

    def gather(self, tick: float) -> None:
        """Take more deliveries while some are in hand, the batch is not full and ``HubConfig.linger`` is
        not over: with ``get``, as many at once as packages of ``max_bytes`` fit the budget, else as the
        consumer brings them (issue 13: 6 deliveries a batch instead of 32 cost 15 % more CPU per
        document, more with PostgreSQL's commits; one ``get`` at a time kept the hub waiting a fifth of
        its time; waiting for a whole batch at a steady 100 documents/s cost each about 120 ms)."""
        deadline = time.monotonic() + self.config.linger
        queue = self.config.names.ingress_queue
        if self._batching and not self._pending and self._consumer_stuck(deadline):
            # One get tells whether anything is there (then the batch fills below); while the queue is
            # empty, a burst of gets every other ``linger`` for as long as they wait loaded the broker.
            room = min(1, self._gets_that_fit(), self._prefetch - len(self._held))
            for delivery in self.transport.get_many(queue, room) if room > 0 else []:
                self._gotten.add(id(delivery))
                self._take(delivery)
        while (self._batching and self._pending
               and len(self._pending) + len(self._held) < self._prefetch):  # fmt: skip
            left = deadline - time.monotonic()
            if left <= 0:
                return
            room = min(self._gets_that_fit(), self._prefetch - len(self._pending) - len(self._held))
            got = self.transport.get_many(queue, room) if room > 0 else []
            for delivery in got:
                self._gotten.add(id(delivery))
                self._take(delivery)
            if got:
                continue
            if not self.transport.drain(min(tick, left)):
                return

    def _consumer_stuck(self, deadline: float) -> bool:
        """Every delivery the ingress consumer may hold unacknowledged waits for its document: nothing
        more comes by it until one is settled, so ``gather`` asks for gets, at most every other ``linger``."""
        waiting = self.waiting.waiting()
        if not waiting or sum(1 for d in waiting if id(d) not in self._gotten) < self._consumed:
            return False
        if deadline - self._stuck_get < 2 * self.config.linger:
            return False
        self._stuck_get = deadline
        return True

    def flush(self) -> int:
        """Process the deliveries collected since the last call (after a batch an outage held, once its
        pause is over), with those waiting for their document whose next try has come; return how many
        were settled (acknowledged or parked) or held by an outage."""
        self._drop_stale()
        now = time.monotonic()
        if not self.outage.ready(now):  # a batch an outage held (maybe stale, let go)
            return 0
        pending = [*self.waiting.take_due(now), *self._held, *self._pending]  # the queue's order
        self._held = []
        self._pending.clear()  # in place: tests look at it
        if not pending:  # idle: the evidence log's head is still signed once its interval is over
            self._checkpoint_if_due(0)
            return 0
        attempts: list[Attempt] = []
        try:
            attempts = self.process_batch(pending)
        finally:  # what an outage held is still in hand (``_outage``), once
            self.waiting.after_batch(self._held)
            self._count_in_hand()
        self.metrics.waiting(len(self.waiting))
        return sum(1 for a in attempts if a.outcome != "waiting")

    def ensure_inboxes(self, codes: list[str]) -> None:
        """Declare inboxes not seen yet, so a recipient offline since before its first mail gets it."""
        for code in codes:
            if code not in self._declared:
                self.transport.declare_inbox(code)
                self._declared.add(code)

    def now(self) -> datetime:
        return self.config.clock()

    def check_parked(self) -> int:
        """How many messages are parked; raise (or clear) the alarm at ``config.parked_alarm``, logged
        once each way: a flood of garbage is parked, never dropped, and must be seen."""
        depth = self.transport.queue_depth(self.config.names.parked_queue)
        alarm = depth >= self.config.parked_alarm
        if alarm and not self.parked_alarm:
            self.log.warning("hub.parked_alarm", parked=depth, threshold=self.config.parked_alarm,
                             queue=self.config.names.parked_queue)
        elif self.parked_alarm and not alarm:
            self.log.info("hub.parked_ok", parked=depth, threshold=self.config.parked_alarm)
        self.parked_alarm = alarm
        return depth

    # --- deliveries ---------------------------------------------------------------------------

    def handle(self, delivery: Delivery) -> None:
        """The ingress consumer's callback (unbatched)."""
        self.process_batch([delivery])

    def process(self, delivery: Delivery) -> Attempt:
        """Run one delivery through the pipeline; it ends acked, parked or requeued."""
        return self.process_batch([delivery])[0]

    def process_batch(self, deliveries: list[Delivery]) -> list[Attempt]:
        started = time.perf_counter()
        self.refresh_directory()
        attempts = [Attempt(d, sender=None) for d in deliveries]
        self.receipts.begin_batch()
        for attempt in attempts:
            self._admit(attempt)
            if attempt.refusal is None:
                self._check(attempt)
        try:
            self._archive_packages(attempts)
            with self.store.transaction():
                attempts = self._plan_all(attempts)
                appended = self._append_evidence([d for a in attempts for d in a.evidence])
            self._publish(attempts)
            self._record_forwarded(attempts)
            self._send_receipts(attempts)
        except (StoreError, TransportError) as err:
            self._outage(attempts, err)
            self.metrics.outage(err, len(self._held))
        else:
            self.outage.succeeded()
            self._settle(attempts)
            self.metrics.recovered()
            self._checkpoint_if_due(appended + sum(len(a.evidence_confirmed) for a in attempts))
        self.metrics.batch(attempts, time.perf_counter() - started)
        ms = round((time.perf_counter() - started) * 1000 / len(attempts), 2)
        for attempt in attempts:
            self._log(attempt, ms, len(attempts))
        return attempts

    def _admit(self, attempt: Attempt) -> None:
        """Before anything reads the bytes: who really sent it, and whether it may be tried again.

        The sender is the agency of the broker-validated ``user_id``, nothing else; a message without
        one, or from a broker user that is no agency's, is refused with no 02 (``SenderUnknown``: the
        agency named inside did not necessarily send it). A message the broker handed out
        ``DELIVERY_LIMIT`` times already (each time a hub took it and never settled it: it crashed or
        was killed) is parked unread and its sender told, instead of being tried again: the ingress has
        no broker dead-lettering (``amqp_wire.INGRESS_QUEUE_ARGUMENTS``), this is its poison budget."""
        delivery = attempt.delivery
        attempt.sender, unknown = self._sender_of(delivery)
        if delivery.delivery_count >= n.DELIVERY_LIMIT:
            attempt.refusal = NotProcessed(delivery.delivery_count)
        elif unknown is not None:
            attempt.refusal = unknown

    def _sender_of(self, delivery: Delivery) -> tuple[str | None, SenderUnknown | None]:
        """The agency that really published ``delivery`` (RabbitMQ validates ``user_id`` when set).

        The hub user publishes to the ingress only to replay a parked message (``vb parked replay``,
        ``vb hub migrate``): then the sender is the broker-validated user recorded when it was parked,
        in ``x-vbus-original-user``, which the hub believes from its own user only."""
        names, user = self.config.names, delivery.user_id
        if user is None:
            return None, SenderUnknown(
                "published without a broker-validated user_id: nothing says which agency sent it",
                vi="gói tin được gửi không kèm user_id do máy chủ RabbitMQ xác thực: không biết cơ quan "
                "nào đã gửi")
        if user == names.hub_user:
            user = delivery.headers.get(n.ORIGINAL_USER)
            if not user:
                return None, SenderUnknown(
                    "replayed by the hub without the sender recorded when it was parked",
                    vi="gói tin được gửi lại mà không kèm cơ quan gửi đã ghi nhận khi lưu giữ")
        code = names.agency_code(user)
        if code is None:
            return None, SenderUnknown(
                f"published by broker user {user!r}, which is no agency's",
                vi=f"gói tin được gửi bởi tài khoản {user!r}, không phải của cơ quan nào")
        return code, None

    def _check(self, attempt: Attempt) -> None:
        body = attempt.delivery.body
        try:
            accepted = checks.check_structure(body, self._read_limits())
            relayed = self._check_relayed(attempt, body, accepted)  # a gateway's: the sender is remote
            if relayed is not None:
                relayed = dataclasses.replace(relayed, warnings=accepted.deviations)
            checked = relayed or checks.verify_and_read(
                body,
                trust=self.trust,
                policy=self.policy,
                agency_certificates=self.agency_certificates,
                parsed=accepted.root,  # parsed once for both the schema and the signature
                aside=accepted.aside,  # an attachment's base64 kept in ``body``, out of the tree
                deviations=accepted.deviations,
            )
            assert attempt.sender is not None  # ``_admit`` refused a message of nobody known
            if relayed is None:
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

    def _check_relayed(
        self, attempt: Attempt, body: bytes, accepted: Accepted
    ) -> checks.CheckedPackage | None:
        """When a gateway published it (``vbcore.hub.relay``): checked as relayed, the remote agency its
        sender from here on, what let it in recorded with it. None for any other publisher."""
        gateway, directory = attempt.sender, self.context.directory
        if gateway is None or directory.relay_policy(gateway) is None:
            return None
        checked = relay.check_relayed(
            body, gateway=gateway, directory=directory, trust=self.trust, policy=self.policy,
            agency_certificates=self.agency_certificates, parsed=accepted.root, aside=accepted.aside,
            limits=self._read_limits(),
        )  # fmt: skip
        assert checked.relayed is not None
        attempt.sender = checked.sender
        attempt.traces.append(checked.relayed.trace)
        return checked

    def _read_limits(self) -> ParseLimits:
        """The reader's bounds, with the hub's one size limit (``HubConfig.max_bytes``)."""
        if self.limits.max_bytes == self.config.max_bytes:
            return self.limits
        return dataclasses.replace(self.limits, max_bytes=self.config.max_bytes)

    def _plan_all(self, attempts: list[Attempt]) -> list[Attempt]:
        """Plan each (inside the batch's transaction) in the order it came; one refused as about a
        document not known yet is planned again after the others when a document was planned beside it:
        its document may be later in the same batch (the gets that fill a batch bring it in the queue's
        order only as far as the broker's counts tell, and a consumer's delivery may come between them).
        The batch in the order planned: its copies go out in that order (a 13 after its document)."""
        later: list[Attempt] = []
        kept = {id(a): list(a.traces) for a in attempts}  # a relayed one's trace, cleared by a refusal
        for attempt in attempts:
            if self._decide(attempt) and isinstance(attempt.refusal, UnknownDocument):
                later.append(attempt)
            else:
                self._answer_refusal(attempt)
        waiting_ids = {id(a) for a in later}
        planned = [a for a in attempts if id(a) not in waiting_ids]
        # Again while the last pass planned a document: one may be what another waits for (D, then R
        # replacing it, then a 13 revoking R, all reversed). Each pass plans only those still waiting.
        documents = any(a.refusal is None and a.checked is not None and not isinstance(a.checked.package,
                        StatusPackage) for a in attempts)  # fmt: skip
        while later and documents:
            waiting, documents = later, False
            later = []
            for attempt in waiting:
                attempt.refusal = None
                attempt.traces[:] = kept[id(attempt)]
                self._decide(attempt)
                if isinstance(attempt.refusal, UnknownDocument):
                    later.append(attempt)
                    continue
                self._answer_refusal(attempt)  # refused otherwise now (a duplicate, not allowed, a bug)
                planned.append(attempt)
                package = attempt.checked.package if attempt.checked is not None else None
                documents |= attempt.refusal is None and not isinstance(package, StatusPackage)
        for attempt in later:
            if not self._wait_for_document(attempt):
                self._answer_refusal(attempt)
        return planned + later

    def _wait_for_document(self, attempt: Attempt) -> bool:
        """Hold ``attempt`` a while for the document it names, which another hub may have in hand
        (``vbcore.hub.waiting``); False: refuse it now."""
        refusal = attempt.refusal
        if not isinstance(refusal, UnknownDocument) or isinstance(refusal, NoDocumentNamed):
            return False
        if not self._batching:  # tests and the demo: refused at once, as each comes
            return False
        config = self.config
        # Room is kept for one more package beside those waiting: with every slot of the consumer
        # waiting, ``gather`` takes the traffic behind them with ``get``, only while one fits the budget.
        most_bytes = config.inflight_bytes - config.max_bytes
        # Counted by broker user: a gateway's share is one, whatever agencies it relays for.
        publisher = attempt.delivery.user_id or attempt.sender
        now, wait = time.monotonic(), config.document_wait
        if not self.waiting.hold(attempt.delivery, publisher, now, wait, most_bytes):
            return False
        attempt.outcome, attempt.reason = "waiting", f"{refusal.reason}: {refusal}"
        return True

    def _decide(self, attempt: Attempt) -> bool:
        """Decide and record what a checked delivery leads to; False when it was not tried (refused or
        failed before)."""
        if attempt.checked is None or attempt.refusal is not None or attempt.internal_error is not None:
            return False
        package = attempt.checked.package
        try:
            # A savepoint: a refusal undoes only this message's writes (none inside: nothing catches).
            with self.store.transaction(savepoints=False):
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
            attempt.refused_reasons.clear()
            attempt.forget_evidence()
        except StoreError:
            raise
        except Exception as err:
            self._internal_error(attempt, err)
        return True

    def _answer_refusal(self, attempt: Attempt) -> None:
        if attempt.refusal is not None and not attempt.refused:
            attempt.replies = self.refusals_for(attempt, [Refused(attempt.refusal)], self.now())

    def _publish(self, attempts: list[Attempt]) -> None:
        directory = self.context.directory
        outgoing = [
            routing.addressed(m, directory, a.checked.relayed if a.checked else None)
            for a in attempts
            for m in a.outgoing
        ]
        if outgoing:
            self.ensure_inboxes(list(dict.fromkeys(m.routing_key for m in outgoing)))
            self.transport.publish_many(outgoing)
        self.send_refusals([routing.addressed(m, directory) for a in attempts for m in a.replies])

    def _record_forwarded(self, attempts: list[Attempt]) -> None:
        if not any(a.forwarded or a.traces or a.evidence_confirmed for a in attempts):
            return
        at = self.now()
        hub_id = self.config.hub_id
        with self.store.transaction(savepoints=False):
            for attempt in attempts:
                document_id = attempt.document_id
                if document_id is None:  # only planned packages forward anything, and they know their id
                    continue
                for code in attempt.forwarded:
                    self.store.mark_forwarded(document_id, code, at=at)
                for label in attempt.traces:
                    self.store.record_trace(TraceEvent(document_id, hub_id, label, at))
            self._append_evidence([d for a in attempts for d in a.evidence_confirmed])

    # --- the evidence log (``vbcore.hub.evidence``) ------------------------------------------------

    def _append_evidence(self, drafts: list[EvidenceDraft]) -> int:
        """Inside the batch's transaction: its entries commit with its state changes, or neither; so
        do the receipts the hub issues for them (``vbcore.hub.receipts``)."""
        if drafts:
            self.receipts.issue(self.store.append_evidence(self.receipts.stamp(drafts), now=self.now()))
        return len(drafts)

    def _checkpoint_if_due(self, appended: int) -> None:
        """After the batch: sign the chain's head if its interval is over. A failure here delays the
        checkpoint (the next batch tries again); it never undoes the batch."""
        try:
            self.checkpoints.appended(appended, self.now())
        except StoreError as err:
            self.log.warning("hub.checkpoint_failed", error=str(err))

    def checkpoint_now(self) -> None:
        """Sign the head if it moved (the runner calls it on shutdown)."""
        try:
            self.checkpoints.now(self.now())
        except StoreError as err:
            self.log.warning("hub.checkpoint_failed", error=str(err))

    # --- evidence: the packages as signed, the receipts ---------------------------------------------

    def _archive_packages(self, attempts: list[Attempt]) -> None:
        """Keep the signed bytes of every package that passed the checks (``vbcore.store.archive``),
        on disk before the batch's transaction commits the entries that name them."""
        if self.archive is None:
            return
        packages = [a.delivery.body for a in attempts if a.checked is not None and a.refusal is None]
        try:
            self.archive.put_many(packages)
        except OSError as err:  # the disk, not the package: held and retried like a store outage
            raise ArchiveUnavailable(str(self.archive.root), err) from err

    def _send_receipts(self, attempts: list[Attempt]) -> None:
        """To the senders who asked; a receipt that cannot be sent stays kept at the hub."""
        messages = self.receipts.outgoing(attempts)
        if messages:
            self.send_refusals([routing.addressed(m, self.context.directory) for m in messages])

    def _settle(self, attempts: list[Attempt]) -> None:
        """Ack what went through; park what was refused, all of the batch's clean copies at once. What
        waits for its document stays in hand."""
        attempts = [a for a in attempts if a.outcome != "waiting"]
        parked = [(a, why) for a in attempts if (why := self._park_reason(a)) is not None]
        try:
            self.transport.park([(a.delivery, why) for a, why in parked])
        except TransportError as err:  # back in the queue (or redelivered): the store makes that harmless
            for attempt, _ in parked:
                attempt.outcome, attempt.reason = "unsettled", f"{type(err).__name__}: {err}"
        through = [a for a in attempts if a.internal_error is None and a.refusal is None]
        failed = {id(d): err for d, err in self.transport.ack_many([a.delivery for a in through])}
        for attempt in through:
            if (unacked := failed.get(id(attempt.delivery))) is not None:
                # the broker redelivers it; the store makes that harmless
                attempt.outcome, attempt.reason = "unsettled", f"{type(unacked).__name__}: {unacked}"
            elif attempt.outcome == "pending":
                attempt.outcome = "forwarded"

    def _park_reason(self, attempt: Attempt) -> str | None:
        """Why ``attempt``'s message is parked (None: it is acknowledged), with its outcome set."""
        if attempt.internal_error is not None:
            attempt.outcome = "parked"
            return attempt.internal_error
        if attempt.refusal is not None:
            first = attempt.refusal
            attempt.outcome, attempt.reason = "refused", first.reason
            return f"{first.reason}: {first}"
        return None

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
            attempt.refused_reasons.append(item.error.reason)
            attempt.evidence.append(witness.refused(
                sender=attempt.sender, document_id=attempt.document_id, recipient=item.recipient,
                body=attempt.delivery.body, message_id=attempt.delivery.message_id, reason=item.error.reason,
            ))  # fmt: skip
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
        attempt.refused_reasons.clear()
        attempt.forget_evidence()

    def _outage(self, attempts: list[Attempt], err: Exception) -> None:
        """The store or the broker failed under the batch: nothing of it is refused or lost."""
        self.requeued += len(attempts)
        for attempt in attempts:
            attempt.outcome = "held" if self._batching else "requeued"
            attempt.reason = f"{type(err).__name__}: {err}"
        if self._batching:  # held unacknowledged, retried by ``flush`` after the pause
            self._held = [a.delivery for a in attempts]
            self.outage.failed(time.monotonic(), attempts[0].reason or "")
            return
        for attempt in reversed(attempts):  # each goes back to the head: keep their order
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
            warnings=[w.code for w in attempt.checked.warnings] if attempt.checked else [],
            redelivered=attempt.delivery.redelivered,
            batch=batch,
            ms=ms,
        )
