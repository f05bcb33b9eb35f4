"""The connector runtime's incoming lane: what arrives in the agency's inbox, into the DMS.

Documents are delivered into the DMS once per (sender, DocumentId) and answered 01 (or 02 when the DMS
refuses them); statuses about documents this agency sent go to ``on_status``, whoever sent the document
(``outgoing_id`` is None when this runtime did not); revoke/update/replace requests are answered 15/16.

Crash-safety order for a document: ``deliver`` (idempotent) -> ledger "delivered" -> publish 01
(confirmed) -> ledger "answered" -> ack. A message the DMS keeps failing on is set aside (unacked) and
the inbox goes on (``vbcore.connector.retry``); at the operator's limit it is given up: ledger "park
decided" (with the reason; a document is also recorded as refused, a change request as answered 16)
-> publish the 02 or 16 (confirmed) -> ledger "answered" -> park the message (rejected to the parking
queue) -> ledger "parked". A crash anywhere resumes from the ledger: the DMS is not called again, one
02 is sent, the message is parked once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from vbcore.agency import AgencyClient, Incoming, refused_recipients
from vbcore.connector import ChangeRequest, Connector, IncomingDocument, StatusUpdate
from vbcore.connector.ledger import Failure, Ledger
from vbcore.connector.outgoing import StatusSender
from vbcore.connector.report import StepReport
from vbcore.connector.retry import ItemFailed, Lane, LaneDown
from vbcore.errors import (
    ChangeAbandoned,
    DeliveryAbandoned,
    DmsRefused,
    DmsUnavailable,
    StatusAbandoned,
    TransportError,
)
from vbcore.lang import Lang
from vbcore.logging import get_logger
from vbcore.model import Edoc, ResponseFor, StaffInfo, StatusPackage
from vbcore.status import BusinessDocType, StatusCode
from vbcore.transport import names as n

log = get_logger("vbus.connector")
T = TypeVar("T")


def message_key(incoming: Incoming) -> str:
    """Identity of a received message that survives redelivery: its signed bytes."""
    return f"msg:{incoming.kind}:{hashlib.sha256(incoming.raw).hexdigest()}"


def dms_call(connector: Connector, what: str, call: Callable[[], T]) -> T:
    """Call the connector about one item; its failure becomes ``ItemFailed`` carrying the error as the
    connector raised it (type and message: what the sender reads if the item is given up; the call's
    name goes to the log). ``DmsRefused`` passes: the caller answers it."""
    try:
        return call()
    except (DmsRefused, ItemFailed, LaneDown):
        raise
    except DmsUnavailable as exc:
        log.warning("connector.unavailable", connector=connector.name, during=what, error=str(exc))
        raise ItemFailed(f"{type(exc).__name__}: {exc}", charged=False) from exc
    except Exception as exc:
        log.exception("connector.error", connector=connector.name, during=what)
        raise ItemFailed(f"{type(exc).__name__}: {exc}", charged=True) from exc


class IncomingLane:
    """Takes the inbox into the DMS; holds aside (unacked) what the DMS fails on, in arrival order."""

    def __init__(
        self,
        connector: Connector,
        client: AgencyClient,
        ledger: Ledger,
        statuses: StatusSender,
        lane: Lane,
        *,
        lang: Lang,
        fetch_batch: int,
    ) -> None:
        self.connector = connector
        self.client = client
        self.ledger = ledger
        self.statuses = statuses
        self.lane = lane
        self.lang = lang
        self.fetch_batch = fetch_batch
        self._held: dict[str, Incoming] = {}  # slot -> message set aside, oldest first
        self._copies = 0

    def round(self, report: StepReport) -> None:
        """Retry what is due among the held messages, then take new ones (up to ``fetch_batch``)."""
        self.lane.begin_round()
        now = self.lane.clock()
        for slot, incoming in list(self._held.items()):
            if self.lane.should_try(slot, now):
                self._one(slot, incoming, report)
        for _ in range(self.fetch_batch):
            try:
                fetched = self.client.fetch()
            except TransportError as exc:
                raise LaneDown(f"broker unavailable during fetch: {exc}") from exc
            if fetched is None:
                return
            slot = message_key(fetched)
            if slot in self._held:  # a second copy while the first is held: its own slot
                self._copies += 1
                slot = f"{slot}#{self._copies}"
            self._one(slot, fetched, report)

    def _one(self, slot: str, incoming: Incoming, report: StepReport) -> None:
        self._held[slot] = incoming  # held until it got through (a LaneDown keeps it first in line)
        done = self.lane.attempt(
            slot,
            lambda: self._process(incoming, report),
            lambda failure: self._give_up(incoming, failure),
        )
        if done:  # the lane forgot its failures; the message is settled (acked or parked)
            del self._held[slot]

    # --- one message ----------------------------------------------------------------------------
    def _process(self, incoming: Incoming, report: StepReport) -> None:
        key = message_key(incoming)
        park = self.ledger.park(key)
        if park is not None and park.parked:  # another copy (or a park the broker did not take: a
            self.client.park(incoming, park.reason)  # connection lost meanwhile): parked too, never lost
            return
        self._handle(incoming, key, report)
        park = self.ledger.park(key)
        if park is None:
            self.client.ack(incoming)
            return
        self.client.park(incoming, park.reason)
        self.ledger.record_parked(key)
        report.parked.append(incoming.headers.get(n.DOCUMENT_ID) or incoming.delivery.message_id)
        log.error("connector.parked", message_id=incoming.delivery.message_id, kind=incoming.kind,
                  reason=park.reason)

    def _handle(self, incoming: Incoming, key: str, report: StepReport) -> None:
        package = incoming.package
        if isinstance(package, StatusPackage):
            if package.status_code is StatusCode.REVOKE:
                request = ChangeRequest(BusinessDocType.REVOKE, package.document_id or "", incoming.signer,
                                        package.description, package.staff_info)
                self._change(request, key, report)
            else:
                self._status(incoming, package, key, report)
            return
        kind = package.business_type
        if kind in (BusinessDocType.NEW, BusinessDocType.REPLACE):
            refused = self._deliver(incoming, package, report)
            if kind is BusinessDocType.NEW or refused:
                return  # a replacement the DMS did not take replaces nothing
        request = _change_request(incoming, package)
        self._change(request, key, report)

    def _deliver(self, incoming: Incoming, edoc: Edoc, report: StepReport) -> bool:
        """Deliver once per (sender, DocumentId) and answer once; True when it stands refused."""
        document_id, sender = edoc.effective_document_id, incoming.signer
        known = self.ledger.delivered(sender, document_id)
        code, day = str(edoc.code) or None, edoc.promulgation_info.promulgation_date
        if known is None:
            # Evidence (issue 9): the package exactly as signed, kept before the DMS has it; the hub's
            # delivered receipt joins it when it comes (``AgencyClient(receipts=True)``).
            self.ledger.record_package(sender, document_id, incoming.raw)
            doc = IncomingDocument(document_id, sender, edoc, incoming.raw, incoming.delivery.message_id,
                                   datetime.now(UTC))
            try:
                receipt = dms_call(self.connector, "deliver", lambda: self.connector.deliver(doc))
            except DmsRefused as exc:
                self.ledger.record_delivered(document_id, sender, code, day, dms_id=None,
                                             refused_reason=exc.describe(self.lang))
            else:
                self.ledger.record_delivered(document_id, sender, code, day,
                                             dms_id=receipt.dms_id or document_id)
            known = self.ledger.delivered(sender, document_id)
            assert known is not None
            (report.refused if known.refused_reason else report.delivered).append(document_id)
        if not known.answer_sent:
            answer = StatusCode.REFUSED if known.refused_reason is not None else StatusCode.ARRIVED
            response_for = ResponseFor(sender, known.code, known.promulgation_date, document_id)
            self.statuses.send(response_for, answer, known.refused_reason)
            self.ledger.record_answer_sent(sender, document_id)
            report.statuses_sent.append(f"{document_id}:{answer.value}")
        return known.refused_reason is not None

    def _status(self, incoming: Incoming, status: StatusPackage, key: str, report: StepReport) -> None:
        if self.ledger.is_done(key):
            return
        document_id = status.document_id or ""
        sent = self.ledger.sent_document(document_id)
        from_hub = incoming.kind == n.KIND_REFUSAL
        reason = incoming.headers.get(n.REFUSAL_REASON)
        if from_hub and reason == "duplicate" and sent is not None and sent.attempts > 1:
            # Our own resend after a crash: the hub already has the document; nothing to tell the DMS.
            self.ledger.mark_done(key, "duplicate-resend")
            return
        update = StatusUpdate(
            document_id, status.status_code, incoming.signer, status.description, status.staff_info,
            status.timestamp, sent.outgoing_id if sent is not None else None, from_hub,
            refused_recipients(incoming.delivery) if from_hub else (),
        )  # fmt: skip
        dms_call(self.connector, "on_status", lambda: self.connector.on_status(update))
        self.ledger.record_status_received(document_id, incoming.signer, status.status_code.value)
        self.ledger.mark_done(key, status.status_code.value)
        report.statuses_received.append(f"{document_id}:{status.status_code.value}")

    def _change(self, request: ChangeRequest, key: str, report: StepReport) -> None:
        answer = self.ledger.value(key)
        if answer is None:
            decision = dms_call(self.connector, "on_change", lambda: self.connector.on_change(request))
            code = decision.status_code
            answer = "pending" if code is None else f"{code.value}|{decision.reason or ''}"
            self.ledger.mark_done(key, answer)
            report.changes.append(f"{request.document_id}:{request.kind.name.lower()}:{answer.split('|')[0]}")
        if answer.startswith(("15|", "16|")):
            code_text, reason = answer.split("|", 1)
            known = self.ledger.delivered(request.sender, request.document_id)
            response_for = (
                ResponseFor(known.sender, known.code, known.promulgation_date, request.document_id)
                if known is not None else ResponseFor(request.sender, None, None, request.document_id)
            )  # fmt: skip
            self.statuses.send(response_for, StatusCode(code_text), reason or None, StaffInfo())
            self.ledger.mark_done(key, "answered:" + code_text)

    # --- giving up ------------------------------------------------------------------------------
    def _give_up(self, incoming: Incoming, failure: Failure) -> None:
        """Record the decision to park ``incoming`` and the answer its sender gets; ``_process`` then
        carries both out (and again after a crash, from the ledger, without calling the DMS)."""
        key = message_key(incoming)
        elapsed = max(0.0, self.lane.wall() - failure.first_at)
        package = incoming.package
        error: DeliveryAbandoned | ChangeAbandoned | StatusAbandoned
        if isinstance(package, StatusPackage):
            if package.status_code is StatusCode.REVOKE:
                error = ChangeAbandoned(failure.attempts, elapsed, failure.last_error)
                self.ledger.mark_done(key, f"16|{error.describe(self.lang)}")
            else:
                error = StatusAbandoned(failure.attempts, elapsed, failure.last_error)
                self.ledger.mark_done(key, "parked")
        else:
            document_id, sender = package.effective_document_id, incoming.signer
            delivering = package.business_type in (BusinessDocType.NEW, BusinessDocType.REPLACE)
            if delivering and self.ledger.delivered(sender, document_id) is None:
                error = DeliveryAbandoned(failure.attempts, elapsed, failure.last_error)
                day = package.promulgation_info.promulgation_date
                self.ledger.record_delivered(document_id, sender, str(package.code) or None, day,
                                             dms_id=None, refused_reason=error.describe(self.lang))
            else:
                error = ChangeAbandoned(failure.attempts, elapsed, failure.last_error)
                self.ledger.mark_done(key, f"16|{error.describe(self.lang)}")
        self.ledger.record_park(key, f"{error.reason}: {error}")
        log.error("connector.giving_up", message_id=incoming.delivery.message_id, kind=incoming.kind,
                  attempts=failure.attempts, error=failure.last_error)


def _change_request(incoming: Incoming, package: Edoc) -> ChangeRequest:
    business = package.business
    if package.business_type is BusinessDocType.REPLACE:
        target = package.effective_document_id
        replaced = tuple(r.document_id for r in business.replacement_info) if business else ()
    else:
        target = (business.document_id if business else None) or package.effective_document_id
        replaced = ()
    return ChangeRequest(
        package.business_type,
        target,
        incoming.signer,
        business.business_doc_reason if business else None,
        (business.staff_info if business else None) or StaffInfo(),
        edoc=package,
        replaced_ids=replaced,
    )

