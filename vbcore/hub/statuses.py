"""Planning a verified status package: receiver statuses go to the document's sender, a revoke (13)
from the sender to every recipient. The status must concern a document this hub carried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vbcore.errors import SenderNotAuthorised, UnknownDocument
from vbcore.hub.attempt import Attempt
from vbcore.hub.replies import forward
from vbcore.model import StatusPackage
from vbcore.status import StatusCode
from vbcore.store.api import DeliveryState, StatusEvent
from vbcore.transport import names as n

if TYPE_CHECKING:
    from vbcore.hub.pipeline import Hub


class StatusRouter:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def plan(self, attempt: Attempt, status: StatusPackage) -> None:
        """Record the status events and fill in ``attempt`` (call inside a transaction)."""
        hub, store = self.hub, self.hub.store
        document_id = status.document_id
        if not document_id:
            raise UnknownDocument("the status names no document (ResponseFor/DocumentId is empty)")
        document = store.get_document(document_id)
        if document is None:
            raise UnknownDocument(f"document {document_id} is not known to this hub")
        sender = status.from_.organ_id
        if status.status_code is StatusCode.REVOKE:
            if sender != document.sender:
                raise SenderNotAuthorised(
                    f"only the sender of {document_id} ({document.sender}) may revoke it, not {sender}"
                )
            pairs = store.pairs(document_id)
            recipients = [p.recipient for p in pairs if p.state != DeliveryState.REFUSED_BY_HUB]
            targets, concerns = recipients, recipients
        else:
            # One pair read, not the document's every pair: a circular's thousands of receipts
            # would otherwise cost the square of its recipients.
            pair = store.get_pair(document_id, sender)
            if pair is None or pair.state == DeliveryState.REFUSED_BY_HUB:
                raise SenderNotAuthorised(f"{sender} is not a recipient of document {document_id}")
            targets, concerns = [document.sender], [sender]
        received_at = hub.now()
        events = [
            StatusEvent(
                document_id=document_id,
                recipient=pair,
                code=status.status_code.value,
                description=status.description,
                status_time=status.timestamp,
                received_at=received_at,
                from_agency=sender,
            )
            for pair in concerns
        ]
        if not (attempt.delivery.redelivered and events and store.status_recorded(events[0])):
            for event in events:
                store.record_status(event)
        attempt.outgoing += forward(
            hub.config, attempt.delivery.body, kind=n.KIND_STATUS, to=targets,
            id_prefix=attempt.delivery.message_id, document_id=document_id, sender=sender, at=received_at,
        )  # fmt: skip
        attempt.traces.extend(f"status:{status.status_code.value}:{sender}->{code}" for code in targets)
        attempt.outcome = "forwarded"
