"""Read models for the web board: searching documents, pages of overdue pairs and refusals, and the
figures its charts draw. Everything is read from the tables the hub writes (and ``vb track`` reads):
overdue pairs are ``TrackingStore.overdue``'s, a document's story is ``timeline.read_timeline``'s; no
second bookkeeping.

``scope`` is an agency code (an agency account sees only what its agency sent or received) or None.
Times are timezone-aware UTC; hours are bucketed in Vietnam time, as people there count them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from vbcore.database.driver import utc_from_db
from vbcore.status import StatusCode
from vbcore.store.api import DeliveryState, DocumentRecord, PairRecord, Refusal
from vbcore.store.sql import SqlStore
from vbcore.timezones import VIETNAM

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
ARRIVED = StatusCode.ARRIVED.value  # "01"


@dataclass(frozen=True)
class Page:
    number: int = 1  # from 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (max(self.number, 1) - 1) * self.limit

    @property
    def limit(self) -> int:
        return max(1, min(self.size, MAX_PAGE_SIZE))


@dataclass(frozen=True)
class PageOf(Generic[T]):
    items: list[T]
    total: int
    page: Page


@dataclass(frozen=True)
class DocumentQuery:
    """What a search asks; every given criterion must hold. ``words`` and ``type_key`` are folded
    (``vbcore.text.fold``) like the stored search columns."""

    document_id: str | None = None  # as written or as tracked
    number: str | None = None  # "1234" (the number) or "1234/VPCP-KSTT" (number and notation)
    type_key: str | None = None  # "cong van"
    senders: tuple[str, ...] = ()  # any of these
    recipients: tuple[str, ...] = ()  # any of these
    parties: tuple[str, ...] = ()  # any of these, as sender or recipient
    words: tuple[str, ...] = ()  # each begins a word of the subject
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


def _scope(scope: str | None, alias: str = "d") -> tuple[str, list[object]]:
    """A document ``alias`` its agency sent or received."""
    if scope is None:
        return "", []
    return (
        f" AND ({alias}.sender = ? OR EXISTS (SELECT 1 FROM pairs s WHERE s.document_id = {alias}.document_id"  # noqa: S608
        " AND s.recipient = ?))",
        [scope, scope],
    )


def _where(q: DocumentQuery, scope: str | None) -> tuple[str, list[object]]:
    where, params = "WHERE 1 = 1", list[object]()
    if q.document_id:
        where += " AND (d.document_id = ? OR d.edxml_document_id = ?)"
        params += [q.document_id, q.document_id]
    if q.number:
        where += " AND (UPPER(d.code) = UPPER(?) OR d.code LIKE ? ESCAPE '\\')"
        params += [q.number, _like(q.number) + "/%"]
    if q.type_key:
        where += " AND d.type_key = ?"
        params.append(q.type_key)
    if q.senders:
        where += f" AND d.sender IN ({_in(q.senders)})"
        params += list(q.senders)
    if q.recipients:
        where += (
            " AND EXISTS (SELECT 1 FROM pairs r WHERE r.document_id = d.document_id"  # noqa: S608
            f" AND r.recipient IN ({_in(q.recipients)}))"
        )
        params += list(q.recipients)
    if q.parties:
        marks = _in(q.parties)
        where += (
            f" AND (d.sender IN ({marks}) OR EXISTS (SELECT 1 FROM pairs o"  # noqa: S608
            f" WHERE o.document_id = d.document_id AND o.recipient IN ({marks})))"
        )
        params += [*q.parties, *q.parties]
    for word in q.words:
        where += " AND (' ' || d.search_text) LIKE ? ESCAPE '\\'"
        params.append(f"% {_like(word)}%")
    if q.since is not None:
        where += " AND d.received_at >= ?"
        params.append(q.since)
    if q.until is not None:
        where += " AND d.received_at < ?"
        params.append(q.until)
    extra, more = _scope(scope)
    return where + extra, params + more


def search_documents(
    store: SqlStore, query: DocumentQuery, page: Page = Page(), *, scope: str | None = None
) -> PageOf[DocumentRecord]:
    """The newest first."""
    where, params = _where(query, scope)
    total = int(str(store.select(f"SELECT COUNT(*) FROM documents d {where}", params)[0][0]))  # noqa: S608
    items = store.documents_where(
        f"{where} ORDER BY d.received_at DESC, d.document_id DESC LIMIT ? OFFSET ?",
        [*params, page.limit, page.offset],
    )
    return PageOf(items, total, page)


def can_see_document(store: SqlStore, document_id: str, agency: str) -> bool:
    """Whether ``agency`` sent ``document_id`` (a recorded document or a refused package) or is one
    of its recipients."""
    doc = store.get_document(document_id)
    if doc is not None and doc.sender == agency:
        return True
    if any(p.recipient == agency for p in store.pairs(document_id)):
        return True
    return any(r.sender == agency for r in store.refusals(document_id=document_id))


def sent_by(store: SqlStore, document_id: str, agency: str) -> bool:
    doc = store.get_document(document_id)
    if doc is not None:
        return doc.sender == agency
    return any(r.sender == agency for r in store.refusals(document_id=document_id))


# --- overdue pairs and refusals ---------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    pair: PairRecord
    document: DocumentRecord | None
    late_by: timedelta


def overdue_page(
    store: SqlStore, now: datetime, page: Page = Page(), *, scope: str | None = None
) -> PageOf[Overdue]:
    """``TrackingStore.overdue(now)`` (what ``vb track --overdue`` lists), most late first."""
    documents: dict[str, DocumentRecord | None] = {}

    def document(document_id: str) -> DocumentRecord | None:
        if document_id not in documents:
            documents[document_id] = store.get_document(document_id)
        return documents[document_id]

    late = [
        Overdue(p, document(p.document_id), now - p.deadline)
        for p in store.overdue(now)
        if p.deadline is not None
        and (
            scope is None or p.recipient == scope or getattr(document(p.document_id), "sender", None) == scope
        )
    ]
    return PageOf(late[page.offset : page.offset + page.limit], len(late), page)


def refusals_page(
    store: SqlStore,
    page: Page = Page(),
    *,
    since: datetime | None = None,
    reason: str | None = None,
    scope: str | None = None,
) -> PageOf[Refusal]:
    """The newest first; an agency sees the refusals of what it sent."""
    where, params = "WHERE 1 = 1", []
    for test, value in (("at >= ?", since), ("reason = ?", reason), ("sender = ?", scope)):
        if value is not None:
            where += f" AND {test}"
            params.append(value)
    total = int(str(store.select(f"SELECT COUNT(*) FROM refusals {where}", params)[0][0]))  # noqa: S608
    items = store.refusals_where(f"{where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                                 [*params, page.limit, page.offset])  # fmt: skip
    return PageOf(items, total, page)


# --- what the charts draw ---------------------------------------------------------------------------


def documents_per_hour(
    store: SqlStore, since: datetime, until: datetime, *, scope: str | None = None
) -> list[tuple[datetime, int]]:
    """Every hour (Vietnam time) from ``since`` to ``until`` with the documents the hub received in it."""
    extra, more = _scope(scope)
    rows = store.select(
        f"SELECT d.received_at FROM documents d WHERE d.received_at >= ? AND d.received_at < ?{extra}",  # noqa: S608
        [since, until, *more],
    )
    counts = Counter(_hour(utc_from_db(at)) for (at,) in rows)
    hours, at = [], _hour(since)
    while at < until:
        hours.append((at, counts.get(at, 0)))
        at += timedelta(hours=1)
    return hours


def _hour(at: datetime) -> datetime:
    return at.astimezone(VIETNAM).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class FirstReceipts:
    """How long one recipient agency took to answer 01 to the pairs accepted in a window."""

    recipient: str
    seconds: list[float] = field(default_factory=list)  # each answered pair's time to 01, sorted
    waiting: int = 0  # pairs with no 01 yet


def time_to_first_receipt(
    store: SqlStore, since: datetime, until: datetime, *, scope: str | None = None
) -> list[FirstReceipts]:
    """Per recipient agency, the busiest first."""
    extra, more = _scope(scope)
    if scope is not None:
        extra, more = " AND (d.sender = ? OR p.recipient = ?)", [scope, scope]
    rows = store.select(
        "SELECT p.recipient, p.accepted_at, (SELECT MIN(e.received_at) FROM status_events e"  # noqa: S608
        " WHERE e.document_id = p.document_id AND e.recipient = p.recipient AND e.code = ?)"
        " FROM pairs p JOIN documents d ON d.document_id = p.document_id"
        f" WHERE p.accepted_at >= ? AND p.accepted_at < ? AND p.state <> ?{extra}",
        [ARRIVED, since, until, DeliveryState.REFUSED_BY_HUB, *more],
    )
    seconds: dict[str, list[float]] = defaultdict(list)
    waiting: Counter[str] = Counter()
    for recipient, accepted, first in rows:
        code = str(recipient)
        if first is None:
            waiting[code] += 1
        else:
            seconds[code].append(max(0.0, (utc_from_db(first) - utc_from_db(accepted)).total_seconds()))
    codes = set(seconds) | set(waiting)
    found = [FirstReceipts(c, sorted(seconds[c]), waiting[c]) for c in codes]
    return sorted(found, key=lambda f: (-(len(f.seconds) + f.waiting), f.recipient))


def refusals_by_reason(
    store: SqlStore, since: datetime, *, scope: str | None = None
) -> list[tuple[str, int]]:
    """The most frequent first."""
    where, params = "WHERE at >= ?", list[object]([since])
    if scope is not None:
        where += " AND sender = ?"
        params.append(scope)
    rows = store.select(
        f"SELECT reason, COUNT(*) FROM refusals {where} GROUP BY reason",  # noqa: S608
        params,
    )
    return sorted(((str(r), int(str(n))) for r, n in rows), key=lambda x: (-x[1], x[0]))
