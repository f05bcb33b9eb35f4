"""Planning a verified status package: receiver statuses go to the document's sender, a revoke (13)
from the sender to every recipient. The status must concern a document this hub carried, found by
(whose it is, DocumentId): ``routing.status_owner`` and ``routing.document_key``."""

from __future__ import annotations

from vbcore.errors import DuplicateStatus, NoDocumentNamed, StatusNotAllowed, UnknownDocument
from vbcore.hub import evidence as witness
from vbcore.hub import routing
from vbcore.hub.attempt import Attempt
from vbcore.hub.context import RouterContext
from vbcore.hub.replies import forward
from vbcore.model import StatusPackage
from vbcore.status import StatusCode
from vbcore.store.api import KEY_SEPARATOR, DeliveryState, DocumentRecord, PairRecord, StatusEvent
from vbcore.store.timeline import local
from vbcore.transport import names as n


class StatusRouter:
    def __init__(self, context: RouterContext) -> None:
        self.context = context

    def plan(self, attempt: Attempt, status: StatusPackage) -> None:
        """Record the status events and fill in ``attempt`` (call inside a transaction)."""
        ctx, store = self.context, self.context.store
        written_id = status.document_id
        if not written_id:
            raise NoDocumentNamed(
                "the status names no document (ResponseFor/DocumentId is empty)",
                vi="trạng thái không nêu văn bản nào (ResponseFor/DocumentId trống)",
            )
        attempt.edxml_document_id = written_id
        document = self._document(status, written_id)
        document_id = attempt.document_id = document.document_id
        sender = status.from_.organ_id
        if status.status_code is StatusCode.REVOKE:
            if sender != document.sender:
                raise StatusNotAllowed(
                    f"only the sender of {written_id} ({document.sender}) may revoke it, not {sender}",
                    vi=f"chỉ cơ quan gửi văn bản {written_id} ({document.sender}) được thu hồi, "
                    f"không phải {sender}",
                )
            pairs = store.pairs(document_id)
            recipients = [p.recipient for p in pairs if p.state != DeliveryState.REFUSED_BY_HUB]
            targets, concerns = recipients, recipients
        else:
            # One pair read, not the document's every pair: a circular's thousands of receipts
            # would otherwise cost the square of its recipients.
            self._check_recipient(store.get_pair(document_id, sender), sender, written_id)
            targets, concerns = [document.sender], [sender]
        received_at = ctx.now()
        events = [
            StatusEvent(
                document_id=document_id,
                recipient=pair,
                code=status.status_code.value,
                description=status.description,
                status_time=status.timestamp,
                received_at=received_at,
                from_agency=sender,
                message_id=attempt.delivery.message_id,
            )
            for pair in concerns
        ]
        if not (events and self._already_recorded(attempt, events[0], written_id)):
            for event in events:
                store.record_status(event)
            attempt.evidence += [witness.status_received(event, attempt.sha256) for event in events]
        attempt.evidence_confirmed += [
            witness.status_forwarded(sender=sender, document_id=document_id, to=code,
                                     code=status.status_code.value, digest=attempt.sha256,
                                     message_id=attempt.delivery.message_id)
            for code in targets
        ]
        attempt.outgoing += forward(
            ctx.config, attempt.delivery.body, kind=n.KIND_STATUS, to=targets,
            id_prefix=attempt.delivery.message_id, document_id=document_id, sender=sender, at=received_at,
        )  # fmt: skip
        attempt.traces.extend(f"status:{status.status_code.value}:{sender}->{code}" for code in targets)
        attempt.outcome = "forwarded"

    @staticmethod
    def _check_recipient(pair: PairRecord | None, sender: str, written_id: str) -> None:
        """Only an agency the hub delivered the document to sends receipts and answers about it."""
        if pair is None:
            raise StatusNotAllowed(
                f"{sender} is not a recipient of document {written_id}",
                vi=f"{sender} không phải cơ quan nhận văn bản {written_id}",
            )
        if pair.state == DeliveryState.REFUSED_BY_HUB:
            raise StatusNotAllowed(
                f"the hub refused to deliver document {written_id} to {sender} (see the 02 its sender "
                f"received), so it takes no status from {sender} about it",
                vi=f"trục đã từ chối chuyển văn bản {written_id} đến {sender} (xem trạng thái 02 cơ quan gửi "
                f"đã nhận), nên không nhận trạng thái của {sender} về văn bản này",
            )

    def _already_recorded(self, attempt: Attempt, event: StatusEvent, written_id: str) -> bool:
        """The same status again: from the same message (a redelivery, a publisher's retry), True (it
        is forwarded again, not recorded twice); from a new message, a replay: ``DuplicateStatus``."""
        before = self.context.store.recorded_status(event)
        if before is None:
            return False
        same_message = before.message_id in (None, attempt.delivery.message_id)
        if same_message or attempt.delivery.redelivered:
            return True
        when = local(event.status_time) if event.status_time else "-"
        raise DuplicateStatus(written_id, event.code, event.from_agency, when)

    def _document(self, status: StatusPackage, written_id: str) -> DocumentRecord:
        """The document the status is about, or the precise refusal."""
        store, sender = self.context.store, status.from_.organ_id
        owner = routing.status_owner(status)
        if owner is not None:
            keys = [routing.document_key(owner, written_id)]
            if written_id.startswith(owner + KEY_SEPARATOR):
                keys.append(written_id)  # the hub's own tracking id, echoed (``x-vbus-document-id``)
            for key in keys:
                if (document := store.get_document(key)) is not None:
                    return document
        else:  # neither ResponseFor/OrganId nor a code in the DocumentId: the one the sender received
            mine = [
                d
                for d in store.documents_written_as(written_id)
                if store.get_pair(d.document_id, sender) is not None
            ]
            if len(mine) == 1:
                return mine[0]
        someone_elses = routing.document_owner(written_id) not in (None, sender)
        theirs = store.get_document(written_id) if someone_elses else None
        if status.status_code is StatusCode.REVOKE and theirs is not None:
            raise StatusNotAllowed(
                f"only the sender of {written_id} ({theirs.sender}) may revoke it, not {sender}",
                vi=f"chỉ cơ quan gửi {written_id} ({theirs.sender}) được thu hồi văn bản, "
                f"không phải {sender}",
            )
        whose = f" from {owner}" if owner else ""
        whose_vi = f" của {owner}" if owner else ""
        raise UnknownDocument(
            f"document {written_id}{whose} is not known to this hub",
            vi=f"trục không biết văn bản {written_id}{whose_vi}",
        )
