"""Runs a connector as an agency: the policy half of every connector (see ``vbcore.connector``).

One ``step()`` does one round: send what the DMS hands over, take what arrived in the inbox, send the
statuses clerks produced. ``run()`` loops over ``step()``. The runtime signs (through the
``AgencyClient``), verifies (the client gives only verified packages), delivers each DocumentId into
the DMS exactly once across crashes and redeliveries, sends 01 once a document is safely in the DMS,
turns ``DmsRefused`` into a 02 with the reason, and retries a DMS that is down with exponential
backoff, holding the unacknowledged message and retrying it before taking the next.

Crash-safety order for an incoming document: ``deliver`` (idempotent) -> ledger "delivered" ->
publish 01 (confirmed) -> ledger "answered" -> ack. A crash anywhere leaves the message unacked; on
redelivery the ledger says how far it got, so the DMS sees it once and the sender gets one 01.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from vbcore.agency import AgencyClient, Incoming
from vbcore.connector import (
    ChangeRequest,
    Connector,
    DmsEvent,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
)
from vbcore.connector_ledger import Ledger
from vbcore.connector_outgoing import prepare_outgoing
from vbcore.errors import DmsRefused, DmsUnavailable, PackageRefused, TransportError
from vbcore.logging import get_logger
from vbcore.model import Edoc, Organization, ResponseFor, StaffInfo, StatusPackage
from vbcore.retry import Backoff
from vbcore.signing import SigningKey
from vbcore.status import BusinessDocType, StatusCode

log = get_logger("vbus.connector")
T = TypeVar("T")
VIETNAM = timezone(timedelta(hours=7))


class _Retry(Exception):
    """Internal: stop this round; the backoff decides when the next one may try again."""


@dataclass
class StepReport:
    """What one ``step()`` did (for tests, logs and ``vb connector run``)."""

    sent: list[str] = field(default_factory=list)  # document ids submitted
    failed: list[str] = field(default_factory=list)  # outgoing ids marked failed
    delivered: list[str] = field(default_factory=list)  # document ids newly put into the DMS
    refused: list[str] = field(default_factory=list)  # document ids the DMS refused (02 sent)
    statuses_sent: list[str] = field(default_factory=list)  # "<document_id>:<code>"
    statuses_received: list[str] = field(default_factory=list)  # "<document_id>:<code>"
    changes: list[str] = field(default_factory=list)  # "<document_id>:<kind>:<15|16|pending>"
    waiting: bool = False  # the DMS or broker is down; retry later
    error: str | None = None

    @property
    def idle(self) -> bool:
        return not (self.sent or self.failed or self.delivered or self.refused or self.statuses_sent
                    or self.statuses_received or self.changes)


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
        fetch_batch: int = 100,
    ) -> None:
        self.connector = connector
        self.client = client
        self.agency = client.agency
        self.organization = Organization(self.agency, agency_name)
        self.key = key or client.key  # the agency's key, for ready edXML the DMS did not sign
        self.ledger = ledger
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.fetch_batch = fetch_batch
        self._pending: Incoming | None = None  # held unacked while the DMS is down
        self._started = False

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
        """Loop until ``stop`` is set; sleep ``interval`` after an idle round, until retry when down."""
        stop = stop or threading.Event()
        self.start()
        try:
            while not stop.is_set():
                report = self.step()
                if not report.idle:
                    log.info("connector.round", sent=report.sent, failed=report.failed,
                             delivered=report.delivered, refused=report.refused,
                             statuses_sent=report.statuses_sent, statuses_received=report.statuses_received,
                             changes=report.changes)
                if report.waiting:
                    stop.wait(max(0.05, self.backoff.retry_at - self.clock()))
                elif report.idle:
                    stop.wait(interval)
        finally:
            self.close()

    def step(self) -> StepReport:
        """One round: outgoing, incoming, events. Never sleeps; honours the backoff."""
        self.start()
        report = StepReport()
        if not self.backoff.ready(self.clock()):
            report.waiting = True
            report.error = self.backoff.last_error
            return report
        try:
            self._send_outgoing(report)
            self._take_incoming(report)
            self._send_events(report)
        except _Retry as exc:
            report.waiting = True
            report.error = str(exc)
            return report
        self.backoff.succeeded()
        return report

    def _dms(self, what: str, call: Callable[[], T]) -> T:
        """Call the connector; a DMS (or connector) failure becomes a backoff and ends the round."""
        try:
            return call()
        except (DmsRefused, _Retry):
            raise
        except DmsUnavailable as exc:
            self._fail(f"DMS unavailable during {what}: {exc}")
        except Exception as exc:  # a connector bug must not kill the agency; retried like an outage
            log.exception("connector.error", connector=self.connector.name, during=what)
            self._fail(f"connector error during {what}: {type(exc).__name__}: {exc}")
        raise AssertionError("unreachable")

    def _fail(self, error: str) -> None:
        retry_at = self.backoff.failed(self.clock(), error)
        log.warning("connector.retry", error=error, retry_in_s=round(max(0.0, retry_at - self.clock()), 1))
        raise _Retry(error)

    def _publish(self, what: str, call: Callable[[], str]) -> str:
        try:
            return call()
        except TransportError as exc:
            self._fail(f"broker unavailable during {what}: {exc}")
        raise AssertionError("unreachable")

    # --- outgoing ----------------------------------------------------------------------------
    def _send_outgoing(self, report: StepReport) -> None:
        items = list(self._dms("poll_outgoing", self.connector.poll_outgoing))
        for item in items:
            self._send_one(item, report)

    def _send_one(self, item: Outgoing, report: StepReport) -> None:
        done = self.ledger.sent(item.id)
        if done is not None and done.confirmed:  # sent before a crash; the DMS did not hear of it
            self._dms("mark_sent", lambda: self.connector.mark_sent(item.id, done.document_id))
            return
        try:
            prepared = prepare_outgoing(item, agency=self.agency, key=self.key)
        except PackageRefused as exc:
            reason = str(exc) or exc.reason
            self._dms("mark_failed", lambda: self.connector.mark_failed(item.id, reason))
            report.failed.append(item.id)
            return
        self.ledger.record_sending(
            item.id, prepared.document_id, prepared.recipients, prepared.code, prepared.promulgation_date
        )
        self._publish("send", lambda: self.client.submit_signed(
            prepared.signed, kind="edoc", document_id=prepared.document_id))
        self.ledger.record_sent(item.id)
        report.sent.append(prepared.document_id)
        self._dms("mark_sent", lambda: self.connector.mark_sent(item.id, prepared.document_id))

    # --- incoming ----------------------------------------------------------------------------
    def _take_incoming(self, report: StepReport) -> None:
        for _ in range(self.fetch_batch):
            incoming = self._pending
            if incoming is None:
                try:
                    incoming = self.client.fetch()
                except TransportError as exc:
                    self._fail(f"broker unavailable during fetch: {exc}")
                if incoming is None:
                    return
                self._pending = incoming
            self._handle(incoming, report)
            self._pending = None
            try:
                self.client.ack(incoming)
            except TransportError as exc:  # it comes back redelivered; the ledger knows it is done
                self._fail(f"broker unavailable during ack: {exc}")

    def _handle(self, incoming: Incoming, report: StepReport) -> None:
        package = incoming.package
        if isinstance(package, StatusPackage):
            if package.status_code is StatusCode.REVOKE:
                request = ChangeRequest(
                    BusinessDocType.REVOKE,
                    package.document_id or "",
                    incoming.signer,
                    package.description,
                    package.staff_info,
                )
                self._change(request, _key(incoming), report)
            else:
                self._status(incoming, package, report)
            return
        kind = package.business_type
        if kind is BusinessDocType.NEW:
            self._deliver(incoming, package, report)
            return
        business = package.business
        if kind is BusinessDocType.REPLACE:
            self._deliver(incoming, package, report)
            target = package.effective_document_id
            replaced = tuple(r.document_id for r in business.replacement_info) if business else ()
        else:
            target = (business.document_id if business else None) or package.effective_document_id
            replaced = ()
        request = ChangeRequest(
            kind,
            target,
            incoming.signer,
            business.business_doc_reason if business else None,
            (business.staff_info if business else None) or StaffInfo(),
            edoc=package,
            replaced_ids=replaced,
        )
        self._change(request, _key(incoming), report)

    def _deliver(self, incoming: Incoming, edoc: Edoc, report: StepReport) -> None:
        document_id = edoc.effective_document_id
        known = self.ledger.delivered(document_id)
        if known is None:
            doc = IncomingDocument(
                document_id, incoming.signer, edoc, incoming.raw, incoming.delivery.message_id,
                datetime.now(UTC),
            )
            code, day = str(edoc.code) or None, edoc.promulgation_info.promulgation_date
            try:
                receipt = self._dms("deliver", lambda: self.connector.deliver(doc))
            except DmsRefused as exc:
                reason = str(exc) or exc.reason
                self.ledger.record_delivered(document_id, incoming.signer, code, day, dms_id=None,
                                             refused_reason=reason)
            else:
                dms_id = receipt.dms_id or document_id
                self.ledger.record_delivered(document_id, incoming.signer, code, day, dms_id=dms_id)
            known = self.ledger.delivered(document_id)
            assert known is not None
            (report.refused if known.refused_reason else report.delivered).append(document_id)
        if not known.answer_sent:
            if known.refused_reason is not None:
                self._send_status(document_id, StatusCode.REFUSED, known.refused_reason, StaffInfo(), None)
            else:
                self._send_status(document_id, StatusCode.ARRIVED, None, StaffInfo(), None)
            self.ledger.record_answer_sent(document_id)
            code = StatusCode.REFUSED if known.refused_reason else StatusCode.ARRIVED
            report.statuses_sent.append(f"{document_id}:{code.value}")

    def _status(self, incoming: Incoming, status: StatusPackage, report: StepReport) -> None:
        key = _key(incoming)
        if self.ledger.is_done(key):
            return
        document_id = status.document_id or ""
        sent = self.ledger.sent_document(document_id)
        from_hub = incoming.kind == "refusal"
        if sent is None:
            log.warning("status.not_ours", code=status.status_code.value, document_id=document_id,
                        from_agency=incoming.signer, description=status.description)
            self.ledger.mark_done(key, "ignored")
            return
        reason = incoming.headers.get("x-vbus-refusal-reason")
        if from_hub and reason == "duplicate" and sent.attempts > 1:
            # Our own resend after a crash: the hub already has the document; nothing to tell the DMS.
            self.ledger.mark_done(key, "duplicate-resend")
            return
        update = StatusUpdate(
            document_id, status.status_code, incoming.signer, status.description, status.staff_info,
            status.timestamp, sent.outgoing_id, from_hub,
        )
        self._dms("on_status", lambda: self.connector.on_status(update))
        self.ledger.mark_done(key, status.status_code.value)
        report.statuses_received.append(f"{document_id}:{status.status_code.value}")

    def _change(self, request: ChangeRequest, key: str, report: StepReport) -> None:
        answer = self.ledger.value(key)
        if answer is None:
            handler = {
                BusinessDocType.REVOKE: self.connector.on_revoke,
                BusinessDocType.UPDATE: self.connector.on_update,
                BusinessDocType.REPLACE: self.connector.on_replace,
            }[request.kind]
            decision = self._dms(f"on_{request.kind.name.lower()}", lambda: handler(request))
            code = decision.status_code
            answer = "pending" if code is None else f"{code.value}|{decision.reason or ''}"
            self.ledger.mark_done(key, answer)
            report.changes.append(f"{request.document_id}:{request.kind.name.lower()}:{answer.split('|')[0]}")
        if answer.startswith(("15|", "16|")):
            code_text, reason = answer.split("|", 1)
            self._send_status(request.document_id, StatusCode(code_text), reason or None, StaffInfo(),
                              None, to=request.sender)
            self.ledger.mark_done(key, "answered:" + code_text)

    # --- events from the DMS -----------------------------------------------------------------
    def _send_events(self, report: StepReport) -> None:
        events = list(self._dms("poll_events", self.connector.poll_events))
        for event in events:
            self._send_event(event, report)

    def _send_event(self, event: DmsEvent, report: StepReport) -> None:
        key = f"event:{event.event_id}"
        if not self.ledger.is_done(key):
            delivered = self.ledger.delivered(event.document_id)
            if event.code is StatusCode.ARRIVED and delivered is not None and delivered.answer_sent:
                pass  # the runtime already sent 01 for it
            elif not self._knows(event):
                log.error("event.unknown_document", event_id=event.event_id, document_id=event.document_id,
                          code=event.code.value, outcome="status not sent")
            else:
                self._send_status(event.document_id, event.code, event.description, event.staff, event.at)
                report.statuses_sent.append(f"{event.document_id}:{event.code.value}")
            self.ledger.mark_done(key)
        self._dms("mark_event_sent", lambda: self.connector.mark_event_sent(event.event_id))

    def _knows(self, event: DmsEvent) -> bool:
        if event.code is StatusCode.REVOKE:
            return self.ledger.sent_document(event.document_id) is not None
        return self.ledger.delivered(event.document_id) is not None

    # --- statuses out ------------------------------------------------------------------------
    def _send_status(
        self,
        document_id: str,
        code: StatusCode,
        description: str | None,
        staff: StaffInfo,
        at: datetime | None,
        *,
        to: str | None = None,
    ) -> None:
        """Sign and submit one status with the right ResponseFor (the document and its sender)."""
        if code is StatusCode.REVOKE:
            sent = self.ledger.sent_document(document_id)
            assert sent is not None
            response_for = ResponseFor(self.agency, sent.code, sent.promulgation_date, document_id)
        else:
            known = self.ledger.delivered(document_id)
            if known is not None:
                response_for = ResponseFor(known.sender, known.code, known.promulgation_date, document_id)
            else:
                response_for = ResponseFor(to, None, None, document_id)
        status = StatusPackage(
            from_=self.organization,
            response_for=response_for,
            status_code=code,
            staff_info=staff,
            description=description,
            timestamp=at or datetime.now(VIETNAM).replace(tzinfo=None, microsecond=0),
        )
        self._publish(f"status {code.value}", lambda: self.client.submit(status))


def _key(incoming: Incoming) -> str:
    """Identity of a received message that survives redelivery: its signed bytes."""
    return f"msg:{incoming.kind}:{hashlib.sha256(incoming.raw).hexdigest()}"
