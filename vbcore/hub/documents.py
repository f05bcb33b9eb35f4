"""Planning a verified document package: recipients, duplicates, fan-out, revoke/update/replace."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vbcore.errors import (
    DuplicatePackage,
    NoDocumentNamed,
    SenderNotAuthorised,
    TooManyRecipients,
    UnknownDocument,
)
from vbcore.hub import evidence as witness
from vbcore.hub import routing
from vbcore.hub.attempt import Attempt, Refused
from vbcore.hub.context import RouterContext
from vbcore.hub.deadlines import deadline_for
from vbcore.hub.replies import forward
from vbcore.model import Edoc
from vbcore.status import BusinessDocType
from vbcore.store.api import DeliveryState, DocumentRecord, TraceEvent
from vbcore.store.timeline import business_text
from vbcore.transport import names as n

_KIND_VI = {
    BusinessDocType.NEW: "văn bản mới",
    BusinessDocType.REVOKE: "thu hồi",
    BusinessDocType.UPDATE: "cập nhật",
    BusinessDocType.REPLACE: "thay thế",
}

@dataclass
class Plan:
    """Where each recipient of one delivery stands, decided inside the store transaction."""

    deliver: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    fresh: bool = False  # the document was recorded now
    claimed: list[str] = field(default_factory=list)  # pairs created now, to deliver
    claimed_refused: dict[str, str] = field(default_factory=dict)  # pairs created now, refused: the reason


class DocumentRouter:
    def __init__(self, context: RouterContext) -> None:
        self.context = context

    def plan(self, attempt: Attempt, edoc: Edoc) -> None:
        """Record the document and its pairs and fill in ``attempt`` (call inside a transaction)."""
        ctx = self.context
        sender = edoc.from_.organ_id
        written_id = edoc.effective_document_id
        attempt.edxml_document_id = written_id
        routing.check_sender_code(sender)
        routing.check_document_id(sender, written_id)
        routing.check_sender_open(ctx.directory, sender, edoc.promulgation_info.promulgation_date)
        listed = routing.listed_recipients(edoc)
        if listed > ctx.config.max_recipients:  # before any work that grows with them
            raise TooManyRecipients(listed, ctx.config.max_recipients)
        related: tuple[str, ...] = ()  # the originals' keys
        targets: tuple[str, ...] = edoc.recipients
        if changed := routing.related_document_ids(edoc):
            originals = [self._original(doc_id, sender) for doc_id in changed]
            related = tuple(o.document_id for o in originals)
            targets = routing.change_recipients(edoc, [self._recipients_of(key) for key in related])
        elif edoc.business_type is not BusinessDocType.NEW:
            raise NoDocumentNamed(
                f"a {edoc.business_type.name.lower()} package must name the document it changes "
                "(Bussiness/DocumentId or ReplacementInfo/DocumentId)",
                vi=f"gói tin {business_text(edoc.business_type).lower()} phải nêu văn bản được thay đổi "
                "(Bussiness/DocumentId hoặc ReplacementInfo/DocumentId)",
            )
        document_id = routing.tracking_document_id(edoc, related, attempt.sha256)
        attempt.document_id = document_id
        resolution = routing.resolve_recipients(ctx.directory, targets, sender=sender)
        received_at = ctx.now()
        record = DocumentRecord(
            document_id=document_id,
            sender=sender,
            business_type=int(edoc.business_type),
            subject=edoc.subject,
            code=str(edoc.code) or None,
            message_id=attempt.delivery.message_id,
            sha256=attempt.sha256,
            size=len(attempt.delivery.body),
            received_at=received_at,
            related_document_id=related[0] if related else None,
            edxml_document_id=written_id,
            type_name=edoc.document_type.type_name,
        )
        plan = self._claim(attempt, record, resolution, received_at)
        attempt.replies.extend(ctx.refusals_for(attempt, plan.refused, received_at))
        ctx.store.record_trace(TraceEvent(document_id, ctx.config.hub_id, "received", received_at))
        # Kept with the document: what it does differently from QCVN 102 (``vb track`` shows them).
        read_with = attempt.checked.warnings if attempt.checked is not None else ()
        for warning in (*read_with, *resolution.merged):
            event = TraceEvent(document_id, ctx.config.hub_id, warning.as_trace(), received_at)
            ctx.store.record_trace(event)
        attempt.outgoing += forward(
            ctx.config, attempt.delivery.body, kind=n.KIND_EDOC, to=plan.deliver,
            id_prefix=document_id, document_id=document_id, sender=sender, at=received_at,
        )  # fmt: skip
        attempt.forwarded.extend(plan.deliver)
        attempt.traces.extend(f"forwarded:{code}" for code in plan.deliver)
        self._evidence(attempt, record, plan)
        if plan.deliver:
            attempt.outcome = "forwarded"
        elif plan.already_done or not plan.refused:
            attempt.outcome = "already-forwarded"
        else:
            attempt.refusal = plan.refused[0].error  # nobody gets it: park it (its 02s are in replies)

    @staticmethod
    def _evidence(attempt: Attempt, record: DocumentRecord, plan: Plan) -> None:
        """Accepted: the document recorded now or pairs claimed now (not a redelivery's second look);
        delivered: each copy published, once the broker confirms it."""
        digest, message_id = record.sha256, attempt.delivery.message_id
        if plan.fresh or plan.claimed or plan.claimed_refused:
            attempt.evidence.append(witness.accepted(
                sender=record.sender, document_id=record.document_id, digest=digest, message_id=message_id,
                recipients=plan.claimed, refused=plan.claimed_refused, written_id=record.edxml_document_id,
                business_type=record.business_type,
            ))  # fmt: skip
        attempt.evidence_confirmed += [
            witness.delivered(sender=record.sender, document_id=record.document_id, recipient=code,
                              digest=digest, message_id=message_id)
            for code in plan.deliver
        ]

    def _original(self, document_id: str, sender: str) -> DocumentRecord:
        """The sender's own document ``document_id`` (as written in the change package)."""
        original = self.context.store.get_document(routing.document_key(sender, document_id))
        owner = routing.document_owner(document_id)
        if original is None and owner is not None and owner != sender:
            raise SenderNotAuthorised(
                f"{sender} cannot change document {document_id}: it belongs to {owner}",
                vi=f"{sender} không được thay đổi văn bản {document_id}: văn bản này của {owner}",
            )
        if original is None:
            raise UnknownDocument(
                f"document {document_id} from {sender} is not known to this hub",
                vi=f"trục không biết văn bản {document_id} của {sender}",
            )
        if original.sender != sender:  # cannot happen by the key; kept as the rule stated
            raise SenderNotAuthorised(
                f"{sender} cannot change document {document_id}: its sender is {original.sender}",
                vi=f"{sender} không được thay đổi văn bản {document_id}: văn bản đó do {original.sender} gửi",
            )
        return original

    def _recipients_of(self, document_id: str) -> list[str]:
        pairs = self.context.store.pairs(document_id)
        return [p.recipient for p in pairs if p.state != DeliveryState.REFUSED_BY_HUB]

    def _claim(
        self, attempt: Attempt, record: DocumentRecord, resolution: routing.Resolution, at: datetime
    ) -> Plan:
        """Record the document, claim each pair, and sort recipients into deliver / refuse / done."""
        store = self.context.store
        fresh = store.record_document(record)
        known = record if fresh else store.get_document(record.document_id)
        # The same message again (broker redelivery, or a publisher retry): finish what is unfinished.
        same_message = known is not None and (known.message_id, known.sha256) == (
            record.message_id,
            record.sha256,
        )
        retry = same_message or attempt.delivery.redelivered
        plan = Plan(fresh=fresh)
        for code in resolution.deliverable:
            claim = store.claim_pair(record.document_id, code, at=at, deadline=deadline_for(at))
            if claim.created:
                plan.claimed.append(code)
            state = claim.pair.state
            if claim.created or (retry and state == DeliveryState.ACCEPTED):
                plan.deliver.append(code)
            elif same_message:
                plan.already_done.append(code)
            else:
                written = record.edxml_document_id or record.document_id
                plan.refused.append(Refused(DuplicatePackage(written, code, state), code))
        for code, error in resolution.refused:
            claim = store.claim_pair(record.document_id, code, at=at, deadline=None)
            if claim.created:
                store.set_pair_state(record.document_id, code, DeliveryState.REFUSED_BY_HUB, at=at)
                plan.claimed_refused[code] = error.reason
            plan.refused.append(Refused(error, code))
        return plan
