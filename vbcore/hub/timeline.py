"""A document's delivery timeline, read from the tracking store: the one model ``vb track`` and
``vb demo`` both print.

``read_timeline(store, directory, document_id, now=...)`` gathers the document, the documents that
revoke, update or replace it, each recipient's pair with its statuses in the order of the time they
carry, the hub's refusals and its trace. ``render_text`` prints it for people in Vietnamese (status
names as ``StatusCode.vietnamese``, times in Vietnam local time); ``timeline_json`` gives scripts a
JSON-ready dict (times as ``datetime``; a status's ``status_time`` as the package wrote it, no zone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vbcore.directory import Directory
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store.api import (
    ChangeMarker,
    DeliveryState,
    DocumentRecord,
    PairRecord,
    Refusal,
    StatusEvent,
    TraceEvent,
    TrackingStore,
)
from vbcore.store.status_rules import effective_time, local_time
from vbcore.text import table

_STATE_VI = {
    DeliveryState.ACCEPTED: "Trục đã nhận",
    DeliveryState.FORWARDED: "Đã chuyển đến hộp thư",
    DeliveryState.REFUSED_BY_HUB: "Trục từ chối",
}
_CHANGE_VI = {
    ChangeMarker.REVOKE_REQUESTED: "chờ đồng ý thu hồi",
    ChangeMarker.CHANGE_REQUESTED: "chờ đồng ý cập nhật",
    ChangeMarker.REVOKED: "đã thu hồi",
    ChangeMarker.REVOKE_REFUSED: "không đồng ý thu hồi",
    ChangeMarker.CHANGED: "đã cập nhật",
    ChangeMarker.CHANGE_REFUSED: "không đồng ý cập nhật",
}
_BUSINESS_VI = {
    BusinessDocType.NEW: "Văn bản mới",
    BusinessDocType.REVOKE: "Thu hồi",
    BusinessDocType.UPDATE: "Cập nhật",
    BusinessDocType.REPLACE: "Thay thế",
}
OVERDUE = "quá hạn 01"


@dataclass(frozen=True)
class RecipientTimeline:
    """One recipient's copy: the pair, the recipient's name in the directory, its statuses in order."""

    pair: PairRecord
    name: str | None
    statuses: tuple[StatusEvent, ...]
    overdue: bool


@dataclass(frozen=True)
class Timeline:
    document_id: str
    document: DocumentRecord | None
    sender_name: str | None
    related: tuple[DocumentRecord, ...]  # the documents that revoke, update or replace this one
    recipients: tuple[RecipientTimeline, ...]
    refusals: tuple[Refusal, ...]
    trace: tuple[TraceEvent, ...]

    @property
    def found(self) -> bool:
        """Whether the store knows anything of the document."""
        return self.document is not None or bool(self.recipients or self.refusals or self.trace)


def read_timeline(
    store: TrackingStore, directory: Directory, document_id: str, *, now: datetime | None = None
) -> Timeline:
    """Everything the store holds about ``document_id``; overdue is judged at ``now`` (default: never)."""
    doc = store.get_document(document_id)
    related = tuple(store.related_documents(document_id))
    events = store.statuses(document_id) + [e for r in related for e in store.statuses(r.document_id)]
    return Timeline(
        document_id=document_id,
        document=doc,
        sender_name=agency_name(directory, doc.sender) if doc else None,
        related=related,
        recipients=tuple(recipient_timeline(directory, p, events, now) for p in store.pairs(document_id)),
        refusals=tuple(store.refusals(document_id=document_id)),
        trace=tuple(store.trace(document_id)),
    )


def tracked_ids(store: TrackingStore, text: str) -> list[str]:
    """The documents ``text`` names, as tracked ids: ``text`` itself when the store knows it (a
    DocumentId that begins with its sender's code, or a tracked id ``<sender>|<DocumentId>``), else every
    sender's document written with that DocumentId (one for a UUID; several when agencies reused one).
    Empty when the store knows nothing of it."""
    known = (
        store.get_document(text) is not None
        or bool(store.pairs(text))
        or bool(store.refusals(document_id=text))
        or bool(store.trace(text))
    )
    return [text] if known else store.tracked_ids_written_as(text)


def recipient_timeline(
    directory: Directory, pair: PairRecord, events: list[StatusEvent], now: datetime | None
) -> RecipientTimeline:
    """``pair`` with its recipient's statuses among ``events``, by the time they carry."""

    # Ordered as the store orders them (Vietnam local time, naive): a conversion to UTC would fail
    # for a status dated in the first hours of year 1.
    mine = sorted((e for e in events if e.recipient == pair.recipient), key=effective_time)
    overdue = now is not None and is_overdue(pair, now)
    return RecipientTimeline(pair, agency_name(directory, pair.recipient), tuple(mine), overdue)


def is_overdue(pair: PairRecord, now: datetime) -> bool:
    """The pair still waits for its first status and its deadline has passed."""
    waiting = pair.state in (DeliveryState.ACCEPTED, DeliveryState.FORWARDED) and pair.last_status is None
    return waiting and pair.deadline is not None and pair.deadline <= now


def agency_name(directory: Directory, code: str | None) -> str | None:
    agency = directory.get(code) if code else None
    return agency.name if agency else None


def code_name(code: str) -> str | None:
    """``Đang xử lý`` for ``05``; None for what is not a status code."""
    try:
        return StatusCode(code).vietnamese
    except ValueError:
        return None


def state_text(state: str | None) -> str:
    """``05 Đang xử lý``; the store's own states in Vietnamese (``forwarded``: Đã chuyển đến hộp thư)."""
    if state is None:
        return "-"
    name = code_name(state)
    return f"{state} {name}" if name else _STATE_VI.get(state, state)


def business_name(value: int) -> str:
    """``revoke`` for 1 (what scripts read); ``business_text`` is what people read."""
    try:
        return BusinessDocType(value).name.lower()
    except ValueError:
        return str(value)


def business_text(value: int) -> str:
    try:
        return _BUSINESS_VI[BusinessDocType(value)]
    except ValueError:
        return str(value)


def local(at: datetime | None) -> str:
    """Vietnam local time; a naive time (as a package writes it) is shown as written. Any year from 1
    to 9999 is shown with four digits."""
    if at is None:
        return "-"
    shown = at if at.tzinfo is None else local_time(at)
    return f"{shown.year:04d}-{shown:%m-%d %H:%M:%S}"


# --- for scripts -----------------------------------------------------------------------------------


def document_json(directory: Directory, doc: DocumentRecord) -> dict[str, Any]:
    return {
        **vars(doc),
        "sender_name": agency_name(directory, doc.sender),
        "business": business_name(doc.business_type),
    }


def recipient_json(r: RecipientTimeline) -> dict[str, Any]:
    pair = r.pair
    return {
        "recipient": pair.recipient,
        "name": r.name,
        "state": pair.state,
        "last_status": pair.last_status,
        "last_status_at": pair.last_status_at,
        "change": pair.change,
        "accepted_at": pair.accepted_at,
        "forwarded_at": pair.forwarded_at,
        "deadline": pair.deadline,
        "overdue": r.overdue,
        "statuses": [
            {
                "document_id": e.document_id,
                "code": e.code,
                "name": code_name(e.code),
                "status_time": e.status_time,
                "received_at": e.received_at,
                "from": e.from_agency,
                "description": e.description,
            }
            for e in r.statuses
        ],
    }


def timeline_json(directory: Directory, t: Timeline) -> dict[str, Any]:
    return {
        "document": None if t.document is None else document_json(directory, t.document),
        "related": [document_json(directory, r) for r in t.related],
        "recipients": [recipient_json(r) for r in t.recipients],
        "refusals": [vars(r) for r in t.refusals],
        "trace": [vars(e) for e in t.trace],
    }


# --- for people ------------------------------------------------------------------------------------

Label = Callable[[str], str]


def render_text(t: Timeline, label: Label | None = None, *, trace: bool = True) -> str:
    """The timeline in Vietnamese; ``label`` names an agency (default: ``code (name in the directory)``)."""
    names = {r.pair.recipient: r.name for r in t.recipients}
    if t.document is not None:
        names[t.document.sender] = t.sender_name

    def default(code: str) -> str:
        return f"{code} ({names[code]})" if names.get(code) else code

    name = label or default
    lines = [f"Văn bản {t.document_id}   (giờ Việt Nam, UTC+7)"]
    doc = t.document
    if doc is not None:
        about = f" {doc.related_document_id}" if doc.related_document_id else ""
        lines.append(f"  {doc.code or '(không số)'}  {doc.subject or '(không trích yếu)'}  "
                     f"[{business_text(doc.business_type)}{about}]")  # fmt: skip
        lines.append(f"  từ {name(doc.sender)}, trục nhận lúc {local(doc.received_at)}, {doc.size} byte")
    for r in t.related:
        kind = business_text(r.business_type)
        lines.append(f"  {kind}: {r.document_id}, trục nhận lúc {local(r.received_at)}")
    for recipient in t.recipients:
        lines += ["", *_indent(_recipient_lines(recipient, name))]
    if t.refusals:
        lines += ["", "  Trục từ chối:"]
        for ref in t.refusals:
            to = f" (gửi {ref.recipient})" if ref.recipient else ""
            lines.append(f"    {local(ref.at)}  {ref.reason}{to}: {ref.detail}")
    if trace and t.trace:
        lines += ["", "  Vết của trục:"]
        rows = [[local(e.at), e.hub_id, e.event] for e in t.trace]
        lines += _indent(_indent(table(["thời điểm", "trục", "sự kiện"], rows).splitlines()))
    return "\n".join(lines)


def _recipient_lines(r: RecipientTimeline, name: Label) -> list[str]:
    pair = r.pair
    marks = [m for m in (_CHANGE_VI.get(pair.change or "", pair.change), OVERDUE if r.overdue else None) if m]
    flag = f"  [{', '.join(marks)}]" if marks else ""
    rows = [["trục nhận", local(pair.accepted_at), "", ""]]
    if pair.forwarded_at:
        rows.append(["đã chuyển", local(pair.forwarded_at), "", ""])
    for e in r.statuses:
        when = local(e.status_time) if e.status_time else local(e.received_at)
        on = f" (văn bản {e.document_id})" if e.document_id != pair.document_id else ""
        rows.append([state_text(e.code), when, e.from_agency, (e.description or "") + on])
    if pair.deadline and not pair.last_status:
        rows.append(["hạn 01", local(pair.deadline), "", ""])
    header = f"{name(pair.recipient)}: {state_text(pair.state)}{flag}"
    return [header, *_indent(table(["trạng thái", "thời điểm", "từ", "mô tả"], rows).splitlines())]


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
