"""Runs a connector as an agency: the policy half of every connector (see ``vbcore.connector``).

One ``step()`` does one round of three lanes that fail apart (``vbcore.connector.retry``): send what
the DMS hands over (outgoing), take what arrived in the inbox (incoming,
``vbcore.connector.incoming``), send the statuses clerks produced (events). ``run()`` loops over
``step()``. The runtime signs (through the ``AgencyClient``), verifies (the client gives only verified
packages), delivers each (sender, DocumentId) into the DMS exactly once across crashes and
redeliveries, sends 01 once a document is safely in the DMS, turns ``DmsRefused`` into a 02 with the
reason, retries a DMS that is down with exponential backoff, and sets aside an item the DMS keeps
failing on so the ones behind it go on, up to the operator's ``RetryLimit``: then a received document
is parked with a 02 to its sender, an outgoing one is marked failed, an event is marked failed, each
with the reason in the configured language.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import NamedTuple, TypeVar

from vbcore.agency import AgencyClient, Signed
from vbcore.connector import Connector, DmsEvent, Outgoing
from vbcore.connector.incoming import IncomingLane, dms_call
from vbcore.connector.ledger import GIVE_UP_PREFIX, Failure, Ledger
from vbcore.connector.metrics import ConnectorMetrics
from vbcore.connector.outgoing import PreparedOutgoing, StatusSender, prepare_outgoing
from vbcore.connector.report import StepReport
from vbcore.connector.retry import Health, Lane, LaneDown, RetryLimit
from vbcore.errors import (
    DmsUnavailable,
    EventAbandoned,
    EventDocumentAmbiguous,
    EventDocumentUnknown,
    PackageRefused,
    PublishNotConfirmed,
    SendingAbandoned,
    TransportError,
)
from vbcore.logging import get_logger
from vbcore.model import Organization, ResponseFor
from vbcore.retry import Backoff
from vbcore.security.signing import SigningKey
from vbcore.status import StatusCode
from vbcore.transport import names as n

__all__ = ["ConnectorRuntime", "Lanes", "RetryLimit", "StepReport"]

log = get_logger("vbus.connector")
T = TypeVar("T")
_EVENT_SENT, _FAILED = "sent", "failed|"
INBOX_CHECK_SECONDS = 30.0  # how often a running connector reads its inbox's depth (for its metrics)
IDLE_BEAT_SECONDS = 5.0  # a connector waiting between rounds still beats its heartbeat this often
OUTGOING_BATCH = 32  # documents never tried before published together, their confirms outstanding


class Lanes(NamedTuple):
    outgoing: Lane
    incoming: Lane
    events: Lane


class ConnectorRuntime:
    """Drives one connector for one agency over an ``AgencyClient``."""

    def __init__(
        self,
        connector: Connector,
        client: AgencyClient,
        *,
        ledger: Ledger,
        key: SigningKey | None = None,
        agency_name: str | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        retry: RetryLimit | None = None,
        fetch_batch: int = 100,
        metrics: ConnectorMetrics | None = None,
    ) -> None:
        self.connector = connector
        self.client = client
        self.agency = client.agency
        self.lang = client.lang
        self.organization = Organization(self.agency, agency_name)
        self.key = key or client.key  # the agency's key, for ready edXML the DMS did not sign
        self.ledger = ledger
        ledger.claim_agency(self.agency)  # one ledger per agency (``vb reconcile`` reads whose it is)
        # The hub's receipts this agency asked for (``AgencyClient(receipts=True)``) are kept in the
        # ledger, with the packages received (``vb connector evidence export``).
        client.on_receipt = ledger.record_receipt
        self.backoff = backoff or Backoff()  # the template of each lane's backoff
        self.clock = clock
        self.retry = retry or RetryLimit()
        self.health = Health()
        self.metrics = metrics or ConnectorMetrics(agency=self.agency, connector=connector.name)
        self.lanes = Lanes(*(self._lane(name, wall_clock) for name in ("outgoing", "incoming", "events")))
        self.statuses = StatusSender(client, self.organization)
        self.incoming = IncomingLane(connector, client, ledger, self.statuses, self.lanes.incoming,
                                     lang=self.lang, fetch_batch=fetch_batch)
        self._started = False

    def _lane(self, name: str, wall_clock: Callable[[], float]) -> Lane:
        b = self.backoff
        backoff = Backoff(initial=b.initial, factor=b.factor, maximum=b.maximum, jitter=b.jitter)
        return Lane(name, backoff, self.retry, self.ledger, self.clock, wall_clock, self.health, self.metrics)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self.connector.start()
            self._started = True

    def close(self) -> None:
        if self._started:
            self.connector.close()
            self._started = False

    def run(self, stop: threading.Event | None = None, interval: float = 1.0) -> None:
        """Loop until ``stop`` is set; after an idle round sleep ``interval``, or less when a lane or
        an item is due to be retried sooner."""
        stop = stop or threading.Event()
        self.start()
        next_inbox = 0.0
        try:
            while not stop.is_set():
                report = self.step()
                self.metrics.beat()
                if self.clock() >= next_inbox:
                    next_inbox = self.clock() + INBOX_CHECK_SECONDS
                    self.check_inbox()
                if not report.idle:
                    log.info("connector.round", sent=report.sent, failed=report.failed,
                             delivered=report.delivered, refused=report.refused, parked=report.parked,
                             statuses_sent=report.statuses_sent, statuses_received=report.statuses_received,
                             changes=report.changes, events_failed=report.events_failed)
                    continue
                due = [t for t in (lane.next_due() for lane in self.lanes) if t is not None]
                wait = min([interval, *(t - self.clock() for t in due)])
                self._idle(stop, max(0.05, wait))
        finally:
            self.close()

    def _idle(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds`` (or until told to stop), beating the heartbeat on the way: a long
        ``--interval`` is no stalled loop for ``/healthz`` and systemd's watchdog."""
        until = time.monotonic() + seconds
        while not stop.is_set() and (left := until - time.monotonic()) > 0:
            stop.wait(min(left, IDLE_BEAT_SECONDS))
            self.metrics.beat()

    def step(self) -> StepReport:
        """One round of each lane that is not backing off. Never sleeps."""
        self.start()
        report = StepReport()
        errors = []
        rounds: tuple[tuple[Lane, Callable[[StepReport], None]], ...] = (
            (self.lanes.outgoing, self._outgoing_round),
            (self.lanes.incoming, self.incoming.round),
            (self.lanes.events, self._events_round),
        )
        for lane, work in rounds:
            if not lane.backoff.ready(self.clock()):
                errors.append(f"{lane.name}: {lane.backoff.last_error}")
                continue
            try:
                work(report)
            except LaneDown as exc:
                self.metrics.lane_down(lane.name)
                retry_at = lane.backoff.failed(self.clock(), str(exc))
                log.warning("connector.retry", lane=lane.name, error=str(exc),
                            retry_in_s=round(max(0.0, retry_at - self.clock()), 1))
                errors.append(f"{lane.name}: {exc}")
                continue
            lane.backoff.succeeded()
        for lane in self.lanes:
            if (summary := lane.held_summary()) is not None:
                errors.append(f"{lane.name}: {summary}")
        report.waiting = any(lane.waiting for lane in self.lanes)
        report.error = "; ".join(errors) or None
        self.metrics.round(report, {lane.name: len(lane.held) for lane in self.lanes},
                           [lane.name for lane in self.lanes if lane.backoff.waiting])
        return report

    def check_inbox(self) -> int | None:
        """The depth of this agency's inbox at the hub, for the metrics (None: the broker is away)."""
        try:
            depth = self.client.transport.queue_depth(self.client.names.inbox(self.agency))
        except TransportError:
            return None
        self.metrics.inbox(depth)
        return depth

    def _lane_call(self, what: str, call: Callable[[], Iterable[T]]) -> list[T]:
        """A lane-wide call (a poll): any failure stops the lane's round and backs it off."""
        try:
            items = list(call())
        except TransportError as exc:
            raise LaneDown(f"broker unavailable during {what}: {exc}") from exc
        except Exception as exc:
            if isinstance(exc, DmsUnavailable):
                self.health.unavailable()
            else:
                log.exception("connector.error", connector=self.connector.name, during=what)
            label = "DMS unavailable" if isinstance(exc, DmsUnavailable) else "connector error"
            raise LaneDown(f"{label} during {what}: {type(exc).__name__}: {exc}") from exc
        self.health.answered()
        return items

    def _give_up_text(self, error_type: type[SendingAbandoned | EventAbandoned], failure: Failure) -> str:
        elapsed = max(0.0, self.lanes.outgoing.wall() - failure.first_at)
        return error_type(failure.attempts, elapsed, failure.last_error).describe(self.lang)

    # --- outgoing ----------------------------------------------------------------------------
    def _outgoing_round(self, report: StepReport) -> None:
        """Send what the DMS hands over, in its order. Items never tried go out up to ``OUTGOING_BATCH``
        at a time, their confirms outstanding together (a connector catching up after a day offline: one
        wait for the broker per batch, not per document); one the lane holds aside is retried alone."""
        lane = self.lanes.outgoing
        items = self._lane_call("poll_outgoing", self.connector.poll_outgoing)
        lane.begin_round()
        lane.keep_only({f"out:{item.id}" for item in items})
        now = self.clock()
        fresh: list[Outgoing] = []
        for item in items:
            key = f"out:{item.id}"
            held = lane.held.get(key)
            if held is None:
                fresh.append(item)
                if len(fresh) < OUTGOING_BATCH:
                    continue
            elif held.next_at > now:
                continue  # waits out its own backoff
            self._send_batch(fresh, report)
            fresh = []
            # Asked after the fresh ones before it went: what they showed of the DMS counts, as one
            # at a time (a DMS suspected down lets only the first held item due be retried).
            if held is not None and lane.should_try(key, now):
                self._outgoing_item(item, report)
        self._send_batch(fresh, report)

    def _send_batch(self, items: list[Outgoing], report: StepReport) -> None:
        """Each item prepared (the ledger says sending), all published together, each confirmed one
        recorded sent, and only then the DMS told of each: a crash leaves no confirmed document
        unrecorded but those of the batch whose confirms were still coming."""
        lane = self.lanes.outgoing
        ready: list[tuple[Outgoing, PreparedOutgoing, str]] = []
        stopped: LaneDown | None = None  # the lane went down preparing: those ready still go out
        for item in items:
            prepared: list[PreparedOutgoing | None] = []

            def prepare(item: Outgoing = item, prepared: list[PreparedOutgoing | None] = prepared) -> None:
                prepared.append(self._prepare(item, report))

            def give_up(failure: Failure, key: str = f"out:{item.id}") -> None:
                self._give_up_outgoing(key, failure)

            def asked_dms(prepared: list[PreparedOutgoing | None] = prepared) -> bool:
                return not prepared or prepared[-1] is None  # a fresh one prepared asked the DMS nothing

            try:
                lane.attempt(f"out:{item.id}", prepare, give_up, dms_answered=asked_dms)
            except LaneDown as exc:  # recorded "sending" must mean submitted: a resend's 02 is hidden
                stopped = exc
                break
            if prepared and (ok := prepared[-1]) is not None:
                ready.append((item, ok, uuid.uuid4().hex))
        if not ready:
            if stopped is not None:
                raise stopped
            return
        unconfirmed: set[str] = set()
        try:
            self.client.submit_many_signed(
                [Signed(p.signed, n.KIND_EDOC, p.document_id, message_id) for _, p, message_id in ready])
        except PublishNotConfirmed as exc:
            unconfirmed = set(exc.message_ids)
            failure: TransportError | None = exc
        except TransportError as exc:
            raise LaneDown(f"broker unavailable: {exc}") from exc
        else:
            failure = None
        sent = [(item, p) for item, p, message_id in ready if message_id not in unconfirmed]
        try:
            for item, p in sent:
                self.ledger.record_sent(item.id)
                report.sent.append(p.document_id)  # counted here: telling the DMS may stop the round
        except sqlite3.Error as exc:
            raise LaneDown(f"the connector's ledger failed: {exc}") from exc
        if stopped is not None:
            raise stopped  # the DMS hears of these next round (the ledger says sent)
        for item, _ in sent:
            self._outgoing_item(item, report)  # the ledger says sent: the DMS is told, as after a crash
        if failure is not None:
            raise LaneDown(f"broker unavailable: {failure}") from failure

    def _outgoing_item(self, item: Outgoing, report: StepReport) -> None:
        key = f"out:{item.id}"
        self.lanes.outgoing.attempt(key, lambda: self._send_one(item, report),
                                    lambda failure: self._give_up_outgoing(key, failure))

    def _give_up_outgoing(self, key: str, failure: Failure) -> None:
        sent = self.ledger.sent(key.removeprefix("out:"))
        if sent is not None and sent.confirmed:
            return  # it left: only the DMS's note is missing; retried, never marked failed
        self.ledger.mark_done(GIVE_UP_PREFIX + key.removeprefix("out:"),
                             self._give_up_text(SendingAbandoned, failure))

    def _send_one(self, item: Outgoing, report: StepReport) -> None:
        prepared = self._prepare(item, report)
        if prepared is None:
            return
        self.client.submit_signed(prepared.signed, kind=n.KIND_EDOC, document_id=prepared.document_id)
        self.ledger.record_sent(item.id)
        report.sent.append(prepared.document_id)
        self._tell_sent(item.id, prepared.document_id)

    def _prepare(self, item: Outgoing, report: StepReport) -> PreparedOutgoing | None:
        """Everything before the publish, the ledger saying "sending" last; None when nothing is to go
        (it went before a crash: the DMS is told now; given up or refused: marked failed)."""
        done = self.ledger.sent(item.id)
        if done is not None and done.confirmed:  # sent before a crash; the DMS did not hear of it
            self._tell_sent(item.id, done.document_id)
            return None
        given_up = self.ledger.value(GIVE_UP_PREFIX + item.id)
        if given_up is not None:
            self._mark_failed(item.id, given_up, report)
            return None
        try:
            prepared = prepare_outgoing(item, agency=self.agency, key=self.key)
        except PackageRefused as exc:
            self._mark_failed(item.id, exc.describe(self.lang), report)
            return None
        self.ledger.record_sending(
            item.id, prepared.document_id, prepared.recipients, prepared.code, prepared.promulgation_date
        )
        return prepared

    def _tell_sent(self, outgoing_id: str, document_id: str) -> None:
        dms_call(self.connector, "mark_sent", lambda: self.connector.mark_sent(outgoing_id, document_id))

    def _mark_failed(self, outgoing_id: str, reason: str, report: StepReport) -> None:
        dms_call(self.connector, "mark_failed", lambda: self.connector.mark_failed(outgoing_id, reason))
        report.failed.append(outgoing_id)

    # --- events from the DMS -----------------------------------------------------------------
    def _events_round(self, report: StepReport) -> None:
        lane = self.lanes.events
        events = self._lane_call("poll_events", self.connector.poll_events)
        lane.begin_round()
        lane.keep_only({f"event:{event.event_id}" for event in events})
        now = self.clock()
        for event in events:
            if lane.should_try(f"event:{event.event_id}", now):
                self._event_item(event, report)

    def _event_item(self, event: DmsEvent, report: StepReport) -> None:
        key = f"event:{event.event_id}"

        def give_up(failure: Failure) -> None:
            self.ledger.mark_done(key, _FAILED + self._give_up_text(EventAbandoned, failure))

        self.lanes.events.attempt(key, lambda: self._send_event(event, report), give_up)

    def _send_event(self, event: DmsEvent, report: StepReport) -> None:
        key = f"event:{event.event_id}"
        if not self.ledger.is_done(key):
            try:
                target = self._event_target(event)
            except PackageRefused as exc:
                log.error("event.refused", event_id=event.event_id, document_id=event.document_id,
                          code=event.code.value, reason=str(exc))
                self.ledger.mark_done(key, _FAILED + exc.describe(self.lang))
            else:
                if target is not None:
                    self.statuses.send(target, event.code, event.description, event.staff, event.at)
                    report.statuses_sent.append(f"{event.document_id}:{event.code.value}")
                self.ledger.mark_done(key, _EVENT_SENT)
        outcome = self.ledger.value(key) or _EVENT_SENT  # None: written by vbus 0.1, where it meant sent
        if outcome.startswith(_FAILED):
            reason = outcome.removeprefix(_FAILED)
            dms_call(self.connector, "mark_event_failed",
                     lambda: self.connector.mark_event_failed(event.event_id, reason))
            report.events_failed.append(event.event_id)
        else:
            dms_call(self.connector, "mark_event_sent",
                     lambda: self.connector.mark_event_sent(event.event_id))

    def _event_target(self, event: DmsEvent) -> ResponseFor | None:
        """The ``ResponseFor`` of the status for ``event`` (None: nothing to send, the 01 went already).

        A 13 is about a document this agency sent; it is sent even when this runtime did not send the
        document (the hub knows whose it is and answers a 02 otherwise). Any other code is about a
        document this agency received: from the sender the event names, else from the one sender
        the ledger knows for that DocumentId."""
        document_id = event.document_id
        if event.code is StatusCode.REVOKE:
            sent = self.ledger.sent_document(document_id)
            if sent is None:
                return ResponseFor(self.agency, None, None, document_id)
            return ResponseFor(self.agency, sent.code, sent.promulgation_date, document_id)
        if event.sender is not None:
            one = self.ledger.delivered(event.sender, document_id)
            known = [one] if one is not None else []
        else:
            known = self.ledger.delivered_with_id(document_id)
        if len(known) > 1:
            raise EventDocumentAmbiguous(document_id, [k.sender for k in known])
        if not known:
            if event.sender is None:
                raise EventDocumentUnknown(document_id)
            return ResponseFor(event.sender, None, None, document_id)  # received before a lost ledger
        doc = known[0]
        if event.code is StatusCode.ARRIVED and doc.answer_sent:
            return None
        return ResponseFor(doc.sender, doc.code, doc.promulgation_date, document_id)

