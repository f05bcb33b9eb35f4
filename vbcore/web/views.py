"""The store's records as the API's models, with the texts for people in one language: the same
functions as ``vb track`` (``vbcore.store.timeline``) name states, statuses and changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from vbcore.directory import Directory
from vbcore.errors import NotReplayable, statement_of
from vbcore.hub.parked import ParkedMessage, replay_headers
from vbcore.lang import Lang
from vbcore.store.accounts import OperatorAction
from vbcore.store.api import DocumentRecord, PairRecord, Refusal, TrackingStore
from vbcore.store.board import Overdue
from vbcore.store.timeline import (
    RecipientTimeline,
    Timeline,
    agency_name,
    business_name,
    business_text,
    change_text,
    code_name,
    is_overdue,
    state_text,
)
from vbcore.transport.names import Names
from vbcore.web import schemas as s
from vbcore.web.texts import BOARD


def late_text(late: timedelta, lang: Lang) -> str:
    hours = int(late.total_seconds() // 3600)
    if hours >= 24:
        return BOARD["late_days"].format(d=hours // 24, h=hours % 24)(lang)
    return BOARD["late_hours"].format(h=max(hours, 0))(lang)


def document(
    store: TrackingStore, directory: Directory, doc: DocumentRecord, now: datetime, lang: Lang, *,
    recipients: bool = True, only: str | None = None,
) -> s.DocumentOut:  # fmt: skip
    """``only``: show that recipient's pair alone (an agency that received the document)."""
    pairs = store.pairs(doc.document_id) if recipients else []
    return s.DocumentOut(
        document_id=doc.document_id, written_id=doc.edxml_document_id, sender=doc.sender,
        sender_name=agency_name(directory, doc.sender), type_name=doc.type_name, code=doc.code,
        subject=doc.subject, business=business_name(doc.business_type),
        business_text=business_text(doc.business_type, lang), received_at=doc.received_at,
        related_document_id=doc.related_document_id,
        recipients=[brief(directory, p, now, lang) for p in pairs if only is None or p.recipient == only],
    )  # fmt: skip


def brief(directory: Directory, pair: PairRecord, now: datetime, lang: Lang) -> s.RecipientBrief:
    return s.RecipientBrief(
        recipient=pair.recipient, name=agency_name(directory, pair.recipient), state=pair.state,
        state_text=state_text(pair.state, lang), overdue=is_overdue(pair, now),
    )  # fmt: skip


def recipient(r: RecipientTimeline, now: datetime, lang: Lang) -> s.RecipientTimelineOut:
    pair = r.pair
    late = now - pair.deadline if r.overdue and pair.deadline else None
    return s.RecipientTimelineOut(
        recipient=pair.recipient, name=r.name, state=pair.state, state_text=state_text(pair.state, lang),
        last_status=pair.last_status, last_status_at=pair.last_status_at, change=pair.change,
        change_text=change_text(pair.change, lang), accepted_at=pair.accepted_at,
        forwarded_at=pair.forwarded_at, deadline=pair.deadline, overdue=r.overdue,
        late_by_seconds=None if late is None else late.total_seconds(),
        late_text=None if late is None else late_text(late, lang),
        statuses=[
            s.StatusOut(
                document_id=e.document_id, code=e.code, code_text=code_name(e.code, lang) or e.code,
                status_time=None if e.status_time is None else e.status_time.isoformat(),
                received_at=e.received_at, from_agency=e.from_agency, description=e.description,
            )
            for e in r.statuses
        ],
    )  # fmt: skip


def refusal(directory: Directory, ref: Refusal, lang: Lang) -> s.RefusalOut:
    return s.RefusalOut(
        at=ref.at, message_id=ref.message_id, sender=ref.sender,
        sender_name=agency_name(directory, ref.sender),
        document_id=ref.document_id, recipient=ref.recipient, reason=ref.reason,
        reason_text=statement_of(ref.reason, lang), detail=ref.detail,
    )  # fmt: skip


def timeline(
    store: TrackingStore, directory: Directory, t: Timeline, actions: list[OperatorAction], now: datetime,
    lang: Lang, *, only: str | None = None,
) -> s.TimelineOut:  # fmt: skip
    """``only``: the story of that recipient's copy alone (no other recipient, refusal or trace)."""
    recipients = [r for r in t.recipients if only is None or r.pair.recipient == only]
    return s.TimelineOut(
        document_id=t.document_id,
        document=None if t.document is None else document(store, directory, t.document, now, lang, only=only),
        related=[document(store, directory, d, now, lang, only=only) for d in t.related],
        recipients=[recipient(r, now, lang) for r in recipients],
        refusals=[] if only else [refusal(directory, ref, lang) for ref in t.refusals],
        trace=[] if only else [s.TraceOut(at=e.at, hub_id=e.hub_id, event=e.event) for e in t.trace],
        actions=[] if only else [
            s.ActionOut(at=a.at, actor=a.actor, action=a.action, message_id=a.message_id, outcome=a.outcome)
            for a in actions
        ],
    )  # fmt: skip


def overdue(directory: Directory, o: Overdue, lang: Lang) -> s.OverdueOut:
    p, d = o.pair, o.document
    assert p.deadline is not None
    return s.OverdueOut(
        document_id=p.document_id, code=d.code if d else None, subject=d.subject if d else None,
        sender=d.sender if d else None, sender_name=agency_name(directory, d.sender) if d else None,
        recipient=p.recipient, recipient_name=agency_name(directory, p.recipient), state=p.state,
        state_text=state_text(p.state, lang), deadline=p.deadline, late_by_seconds=o.late_by.total_seconds(),
        late_text=late_text(o.late_by, lang),
    )  # fmt: skip


def reason_text(reason: str | None, lang: Lang) -> str:
    """``malformed: …``: the park header's reason with its statement in ``lang`` (as ``vb parked list``)."""
    if not reason:
        return ""
    code = reason.split(":", 1)[0].strip()
    statement = statement_of(code, lang)
    return f"{code}: {statement}" if statement != code else reason


def replayable(p: ParkedMessage, names: Names) -> bool:
    """What ``vb parked replay`` would accept (``hub.parked.replay_headers``'s rule, not a copy of it)."""
    try:
        replay_headers(p, names)
    except NotReplayable:
        return False
    return True


def parked(p: ParkedMessage, names: Names, lang: Lang) -> s.ParkedOut:
    sender = names.agency_code(p.original_user)
    return s.ParkedOut(
        message_id=p.message_id, reason=p.reason, reason_text=reason_text(p.reason, lang),
        parked_from=p.parked_from, sender=sender or p.original_user, kind=p.kind, document_id=p.document_id,
        size=p.size, replayable=replayable(p, names),
    )  # fmt: skip
