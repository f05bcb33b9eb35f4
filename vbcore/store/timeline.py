"""A document's delivery timeline, read from the tracking store: the one model ``vb track`` and
``vb demo`` both print.

``read_timeline(store, directory, document_id, now=...)`` gathers the document, the documents that
revoke, update or replace it, each recipient's pair with its statuses in the order of the time they
carry, the hub's refusals, its trace, the named warnings the hub read the document with
(``vbcore.deviations``: kept as trace events ``warning:<code>:<value>``), and for what a gateway relayed
from another axis how it was let in (``relays``: the gateway, the verdict on the sender's own signature,
the relay policy; kept as trace events ``relay:...``, ``vbcore.hub.relay``). ``render_text`` prints it
for people in one language (Vietnamese by default, English on request: status names as
``StatusCode.name_in``, times in Vietnam local time, the hub's refusals in the sentence the sender
received); ``timeline_json`` gives scripts a JSON-ready dict (times as ``datetime``; a status's
``status_time`` as the package wrote it, no zone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vbcore.deviations import Deviation
from vbcore.directory import RELAY_TEXT, Directory
from vbcore.errors import statement_of
from vbcore.lang import Lang, Text
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

_STATES = {
    DeliveryState.ACCEPTED: Text("Trục đã nhận", "Accepted by the hub"),
    DeliveryState.FORWARDED: Text("Đã chuyển đến hộp thư", "Forwarded to the inbox"),
    DeliveryState.REFUSED_BY_HUB: Text("Trục từ chối", "Refused by the hub"),
}
_CHANGES = {
    ChangeMarker.REVOKE_REQUESTED: Text("chờ đồng ý thu hồi", "revocation awaiting an answer"),
    ChangeMarker.CHANGE_REQUESTED: Text("chờ đồng ý cập nhật", "update awaiting an answer"),
    ChangeMarker.REVOKED: Text("đã thu hồi", "revoked"),
    ChangeMarker.REVOKE_REFUSED: Text("không đồng ý thu hồi", "revocation refused"),
    ChangeMarker.CHANGED: Text("đã cập nhật", "updated"),
    ChangeMarker.CHANGE_REFUSED: Text("không đồng ý cập nhật", "update refused"),
}
_BUSINESS = {
    BusinessDocType.NEW: Text("Văn bản mới", "New document"),
    BusinessDocType.REVOKE: Text("Thu hồi", "Revocation"),
    BusinessDocType.UPDATE: Text("Cập nhật", "Update"),
    BusinessDocType.REPLACE: Text("Thay thế", "Replacement"),
}
OVERDUE = Text("quá hạn 01", "01 overdue")
VIETNAM_TIME = Text("giờ Việt Nam", "Vietnam time")


@dataclass(frozen=True)
class RecipientTimeline:
    """One recipient's copy: the pair, the recipient's name in the directory, its statuses in order."""

    pair: PairRecord
    name: str | None
    statuses: tuple[StatusEvent, ...]
    overdue: bool


@dataclass(frozen=True)
class Relay:
    """A package a gateway relayed, as the hub recorded it: when, through which gateway, what its
    sender's own signature proved (``SignatureVerdict``), under which relay policy; ``detail`` names
    the CA the hub does not trust, for ``foreign-ca``."""

    at: datetime
    gateway: str
    verdict: str
    policy: str
    detail: str = ""

    @classmethod
    def from_trace(cls, event: TraceEvent) -> Relay | None:
        parts = event.event.split(":", 4)
        if len(parts) < 4 or parts[0] != "relay":
            return None
        return cls(event.at, parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else "")

    def text(self, lang: Lang) -> str:
        try:
            from vbcore.security.verdict import SignatureVerdict  # signxml: only for a relayed document

            verdict = SignatureVerdict(self.verdict).text()(lang)
        except ValueError:
            verdict = self.verdict
        policy = RELAY_TEXT[self.policy](lang) if self.policy in RELAY_TEXT else self.policy
        line = _T["relay"].format(gateway=self.gateway, verdict=verdict, policy=self.policy, what=policy)
        return line(lang) + (_T["relay_ca"].format(ca=self.detail)(lang) if self.detail else "")


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
    def relays(self) -> tuple[Relay, ...]:
        """How the packages a gateway relayed (the document, statuses about it) were let in."""
        return tuple(r for r in (Relay.from_trace(e) for e in self.trace) if r is not None)

    @property
    def warnings(self) -> tuple[Deviation, ...]:
        """What the hub read the document with (each once, though a redelivery recorded it again)."""
        found = (Deviation.from_trace(e.event) for e in self.trace)
        return tuple(dict.fromkeys(w for w in found if w is not None))

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


def code_name(code: str, lang: Lang = "vi") -> str | None:
    """``Đang xử lý`` (``Processing``) for ``05``; None for what is not a status code."""
    try:
        return StatusCode(code).name_in(lang)
    except ValueError:
        return None


def state_text(state: str | None, lang: Lang = "vi") -> str:
    """``05 Đang xử lý``; the store's own states named too (``forwarded``: Đã chuyển đến hộp thư)."""
    if state is None:
        return "-"
    name = code_name(state, lang)
    if name:
        return f"{state} {name}"
    known = _STATES.get(state)
    return known(lang) if known else state


def business_name(value: int) -> str:
    """``revoke`` for 1 (what scripts read); ``business_text`` is what people read."""
    try:
        return BusinessDocType(value).name.lower()
    except ValueError:
        return str(value)


def business_text(value: int, lang: Lang = "vi") -> str:
    try:
        return _BUSINESS[BusinessDocType(value)](lang)
    except ValueError:
        return str(value)


def change_text(change: str | None, lang: Lang = "vi") -> str | None:
    """A pair's revoke/update marker (``revoked``: đã thu hồi), or None."""
    if not change:
        return None
    known = _CHANGES.get(change)
    return known(lang) if known else change


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
        "warnings": [w.to_json() for w in t.warnings],
        "trace": [vars(e) for e in t.trace],
        "relays": [vars(r) for r in t.relays],
    }


# --- for people ------------------------------------------------------------------------------------

Label = Callable[[str], str]


_T = {
    "document": Text("Văn bản", "Document"),
    "no_number": Text("(không số)", "(no number)"),
    "no_subject": Text("(không trích yếu)", "(no subject)"),
    "from": Text(
        "từ {sender}, trục nhận lúc {at}, {size} byte",
        "from {sender}, received by the hub at {at}, {size} bytes",
    ),
    "related": Text("{kind}: {id}, trục nhận lúc {at}", "{kind}: {id}, received by the hub at {at}"),
    "refusals": Text("Trục từ chối:", "Refused by the hub:"),
    "refused_for": Text(" (gửi {code})", " (to {code})"),
    "trace": Text("Vết của trục:", "The hub's trace:"),
    "relays": Text("Chuyển tiếp từ trục khác:", "Relayed from another axis:"),
    "relay": Text(
        "qua cổng {gateway}; chữ ký số của cơ quan gửi: {verdict}; chính sách chuyển tiếp {policy} ({what})",
        "via gateway {gateway}; the sender's own signature: {verdict}; relay policy {policy} ({what})",
    ),
    "relay_ca": Text("; CA: {ca}", "; CA: {ca}"),
    "warnings": Text("Trục đọc gói tin với cảnh báo:", "The hub read the package with warnings:"),
    "trace_head": Text("thời điểm|trục|sự kiện", "time|hub|event"),
    "accepted": Text("trục nhận", "hub received"),
    "forwarded": Text("đã chuyển", "forwarded"),
    "on_document": Text(" (văn bản {id})", " (document {id})"),
    "due": Text("hạn 01", "01 due by"),
    "head": Text("trạng thái|thời điểm|từ|mô tả", "status|time|from|description"),
}


def render_text(t: Timeline, label: Label | None = None, *, trace: bool = True, lang: Lang = "vi") -> str:
    """The timeline in ``lang``; ``label`` names an agency (default: ``code (name in the directory)``).

    A refusal is the sentence the sender received (the store keeps that one, in the hub's configured
    language); when that is another language than ``lang``, the reason's statement in ``lang`` comes
    first and the sentence on a line of its own."""
    names = {r.pair.recipient: r.name for r in t.recipients}
    if t.document is not None:
        names[t.document.sender] = t.sender_name

    def default(code: str) -> str:
        return f"{code} ({names[code]})" if names.get(code) else code

    name = label or default
    lines = [f"{_T['document'](lang)} {t.document_id}   ({VIETNAM_TIME(lang)}, UTC+7)"]
    doc = t.document
    if doc is not None:
        about = f" {doc.related_document_id}" if doc.related_document_id else ""
        lines.append(f"  {doc.code or _T['no_number'](lang)}  {doc.subject or _T['no_subject'](lang)}  "
                     f"[{business_text(doc.business_type, lang)}{about}]")  # fmt: skip
        sent = _T["from"].format(sender=name(doc.sender), at=local(doc.received_at), size=doc.size)
        lines.append(f"  {sent(lang)}")
    for r in t.related:
        kind = business_text(r.business_type, lang)
        lines.append(f"  {_T['related'].format(kind=kind, id=r.document_id, at=local(r.received_at))(lang)}")
    for recipient in t.recipients:
        lines += ["", *_indent(_recipient_lines(recipient, name, lang))]
    if t.refusals:
        lines += ["", f"  {_T['refusals'](lang)}"]
        for ref in t.refusals:
            to = _T["refused_for"].format(code=ref.recipient)(lang) if ref.recipient else ""
            statement = statement_of(ref.reason, lang)
            if ref.detail and ref.detail.startswith(statement):  # the sender's sentence, in ``lang``
                lines.append(f"    {local(ref.at)}  {ref.reason}{to}: {ref.detail}")
            else:  # another language, or another shape: each on its own line
                lines.append(f"    {local(ref.at)}  {ref.reason}{to}: {statement}")
                if ref.detail:
                    lines.append(f"      {ref.detail}")
    if t.relays:
        lines += ["", f"  {_T['relays'](lang)}"]
        lines += [f"    {local(r.at)}  {r.text(lang)}" for r in t.relays]
    if t.warnings:
        lines += ["", f"  {_T['warnings'](lang)}"]
        lines += [f"    [{w.code}] {w.describe(lang)}" for w in t.warnings]
    events = [e for e in t.trace if Deviation.from_trace(e.event) is None]
    if trace and events:
        lines += ["", f"  {_T['trace'](lang)}"]
        rows = [[local(e.at), e.hub_id, e.event] for e in events]
        lines += _indent(_indent(table(_T["trace_head"](lang).split("|"), rows).splitlines()))
    return "\n".join(lines)


def _recipient_lines(r: RecipientTimeline, name: Label, lang: Lang) -> list[str]:
    pair = r.pair
    marks = [m for m in (change_text(pair.change, lang), OVERDUE(lang) if r.overdue else None) if m]
    flag = f"  [{', '.join(marks)}]" if marks else ""
    rows = [[_T["accepted"](lang), local(pair.accepted_at), "", ""]]
    if pair.forwarded_at:
        rows.append([_T["forwarded"](lang), local(pair.forwarded_at), "", ""])
    for e in r.statuses:
        when = local(e.status_time) if e.status_time else local(e.received_at)
        on = _T["on_document"].format(id=e.document_id)(lang) if e.document_id != pair.document_id else ""
        rows.append([state_text(e.code, lang), when, e.from_agency, (e.description or "") + on])
    if pair.deadline and not pair.last_status:
        rows.append([_T["due"](lang), local(pair.deadline), "", ""])
    header = f"{name(pair.recipient)}: {state_text(pair.state, lang)}{flag}"
    return [header, *_indent(table(_T["head"](lang).split("|"), rows).splitlines())]


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
