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
            raise UnknownDocument(
                "the status names no document (ResponseFor/DocumentId is empty)",
                vi="gói tin trạng thái không chỉ rõ văn bản nào (ResponseFor/DocumentId rỗng)",
            )
        document = store.get_document(document_id)
        if document is None:
            raise UnknownDocument(
                f"document {document_id} is not known to this hub",
                vi=f"trục không biết văn bản {document_id}",
            )
        sender = status.from_.organ_id
        pairs = store.pairs(document_id)
        recipients = [p.recipient for p in pairs if p.state != DeliveryState.REFUSED_BY_HUB]
        if status.status_code is StatusCode.REVOKE:
            if sender != document.sender:
                raise SenderNotAuthorised(
                    f"only the sender of {document_id} ({document.sender}) may revoke it, not {sender}",
                    vi=f"chỉ cơ quan gửi văn bản {document_id} ({document.sender}) mới được thu hồi nó, "
                    f"{sender} thì không",
                )
            targets, concerns = recipients, recipients
        else:
            if sender not in recipients:
                raise SenderNotAuthorised(
                    f"{sender} is not a recipient of document {document_id}",
                    vi=f"{sender} không phải nơi nhận của văn bản {document_id}",
                )
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
        if not (attempt.delivery.redelivered and events and self._recorded_before(events[0])):
            for event in events:
                store.record_status(event)
        attempt.outgoing += forward(
            hub.config, attempt.delivery.body, kind=n.KIND_STATUS, to=targets,
            id_prefix=attempt.delivery.message_id, document_id=document_id, sender=sender, at=received_at,
        )  # fmt: skip
        attempt.traces.extend(f"status:{status.status_code.value}:{sender}->{code}" for code in targets)
        attempt.outcome = "forwarded"

    def _recorded_before(self, event: StatusEvent) -> bool:
        """A redelivered status whose event is already in the store is not recorded twice."""
        return any(
            (e.recipient, e.code, e.from_agency, e.status_time)
            == (event.recipient, event.code, event.from_agency, event.status_time)
            for e in self.hub.store.statuses(event.document_id)
        )
