"""The tracking store's interface: what the hub records and what operators query.

One implementation (``vbcore.store.sql``) serves SQLite (embedded default, WAL) and PostgreSQL with
one code path and versioned migrations; ``open_store(url)`` picks the driver from the URL.
Times are timezone-aware UTC ``datetime`` objects; ``status_time`` is what the status package says
(Vietnam local time, naive) and is stored as written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from vbcore.evidence.chain import Proof
from vbcore.evidence.checkpoint import Checkpoint
from vbcore.evidence.entry import Entry, EvidenceDraft
from vbcore.evidence.receipt import Receipt

KEY_SEPARATOR = "|"
"""Between the sender and a DocumentId that does not begin with the sender's code in the id a document
is tracked under (``DocumentRecord.document_id``). Neither agency codes nor test-tenant ids hold it."""


class DeliveryState:
    """Where one (document, recipient) pair stands; the last status code once receipts arrive."""

    ACCEPTED = "accepted"  # recorded by the hub, not yet in the recipient's inbox
    FORWARDED = "forwarded"  # confirmed by the broker into the recipient's inbox
    REFUSED_BY_HUB = "refused-by-hub"  # unknown/closed recipient etc.; a 02 went to the sender
    # After receipts arrive the state is the status code itself: "01" .. "06" or "02".
    # Answers 15/16 to a revoke or update do not change the state (the document's progress); they set
    # ``last_status`` and the pair's ``change`` marker (see ``ChangeMarker``).


class ChangeMarker:
    """``PairRecord.change``: where a revoke (13, or a BussinessDocType 1 package) or an update/replace
    (type 2/3) of this recipient's copy stands. ``None`` when nothing was asked."""

    REVOKE_REQUESTED = "revoke-requested"  # a 13, or a revoke package delivered to this recipient
    CHANGE_REQUESTED = "change-requested"  # an update/replace package delivered to this recipient
    REVOKED = "revoked"  # 15 in answer to a revoke
    REVOKE_REFUSED = "revoke-refused"  # 16 in answer to a revoke
    CHANGED = "changed"  # 15 in answer to an update/replace (or to no request the hub saw)
    CHANGE_REFUSED = "change-refused"  # 16 in answer to an update/replace (or to no request the hub saw)


@dataclass(frozen=True)
class DocumentRecord:
    document_id: str
    sender: str
    business_type: int  # 0 new, 1 revoke, 2 update, 3 replace
    subject: str | None
    code: str | None  # "number/notation"
    message_id: str
    sha256: str
    size: int
    received_at: datetime
    related_document_id: str | None = None  # the original, for revoke/update/replace
    # The DocumentId as the package wrote it; ``document_id`` is the id the hub tracks it under: the same
    # when it begins with the sender's code, else ``<sender>|<DocumentId>`` (``hub.routing.document_key``).
    edxml_document_id: str | None = None
    type_name: str | None = None  # DocumentType/TypeName as written ("Công văn"): what a clerk calls it


@dataclass(frozen=True)
class PairRecord:
    document_id: str
    recipient: str
    state: str
    accepted_at: datetime
    forwarded_at: datetime | None
    last_status: str | None
    last_status_at: datetime | None  # when the status in ``last_status`` reached the hub (UTC)
    deadline: datetime | None  # when a missing 01 makes the pair overdue
    change: str | None = None  # a ``ChangeMarker`` value, or None


@dataclass(frozen=True)
class OverdueSummary:
    """``TrackingStore.overdue_summary``: overdue pairs and the deadline of the most late one."""

    count: int
    oldest_deadline: datetime | None


@dataclass(frozen=True)
class StatusEvent:
    document_id: str
    recipient: str  # the pair it concerns (the status sender for receiver statuses)
    code: str
    description: str | None
    status_time: datetime | None  # as written in the status package
    received_at: datetime
    from_agency: str
    message_id: str | None = None  # the ingress message it came in (None: recorded before migration 5)


@dataclass(frozen=True)
class Refusal:
    message_id: str
    sender: str | None
    document_id: str | None
    recipient: str | None
    reason: str  # machine-readable, from the error's ``reason``
    detail: str  # the sentence sent to the sender
    at: datetime


@dataclass(frozen=True)
class TraceEvent:
    document_id: str
    hub_id: str
    event: str  # "received", "verified", "forwarded:<recipient>", "status:<code>:<recipient>", ...
    at: datetime


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of claiming a (document, recipient) pair for delivery."""

    created: bool  # False: the pair existed already (a duplicate); ``pair`` is its current state
    pair: PairRecord


class TrackingStore(ABC):
    @abstractmethod
    def transaction(self, *, savepoints: bool = True) -> AbstractContextManager[None]:
        """Group writes; commit on exit, roll back on error. Calls outside one commit on their own."""

    @abstractmethod
    def record_document(self, doc: DocumentRecord) -> bool:
        """Insert; False if this document_id was already recorded (nothing changed)."""

    @abstractmethod
    def get_document(self, document_id: str) -> DocumentRecord | None: ...

    @abstractmethod
    def documents_written_as(self, edxml_document_id: str) -> list[DocumentRecord]:
        """Every sender's document whose DocumentId, as written, is this one (tracked under
        ``<sender>|<DocumentId>``), oldest first."""

    @abstractmethod
    def tracked_ids_written_as(self, edxml_document_id: str) -> list[str]:
        """The tracked ids (``<sender>|<DocumentId>``) of the documents and refusals of every sender
        that wrote this DocumentId: what ``vb track <DocumentId>`` looks for."""

    @abstractmethod
    def related_documents(self, document_id: str) -> list[DocumentRecord]:
        """The revoke/update/replace documents whose ``related_document_id`` is this one, oldest first."""

    @abstractmethod
    def get_pair(self, document_id: str, recipient: str) -> PairRecord | None: ...

    @abstractmethod
    def claim_pair(
        self, document_id: str, recipient: str, *, at: datetime, deadline: datetime | None
    ) -> ClaimResult:
        """Create the pair in state ACCEPTED, or return the existing one (duplicate detection)."""

    @abstractmethod
    def set_pair_state(self, document_id: str, recipient: str, state: str, *, at: datetime) -> None: ...

    @abstractmethod
    def mark_forwarded(self, document_id: str, recipient: str, *, at: datetime) -> None: ...

    @abstractmethod
    def record_status(self, event: StatusEvent) -> None:
        """Append the event and move the pair's state/last_status (a status never moves a pair backwards
        in time: an older status_time arriving late is recorded but does not replace a newer state)."""

    @abstractmethod
    def recorded_status(self, event: StatusEvent) -> StatusEvent | None:
        """The first recorded event of the same pair, code, sender, status time and description."""

    @abstractmethod
    def record_refusal(self, refusal: Refusal) -> None: ...

    @abstractmethod
    def record_trace(self, event: TraceEvent) -> None: ...

    @abstractmethod
    def pairs(self, document_id: str) -> list[PairRecord]: ...

    @abstractmethod
    def statuses(self, document_id: str) -> list[StatusEvent]: ...

    @abstractmethod
    def refusals(
        self, *, since: datetime | None = None, sender: str | None = None, document_id: str | None = None
    ) -> list[Refusal]: ...

    @abstractmethod
    def trace(self, document_id: str) -> list[TraceEvent]: ...

    # --- the hub's receipts (``vbcore.evidence.receipt``; migration 9) ------------------------------

    @abstractmethod
    def record_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Keep receipts and their seals (inside the transaction of the entries they sign)."""

    @abstractmethod
    def evidence_links(self, first: int, last: int) -> dict[int, str]:
        """The link (entry hash) of each evidence entry from ``first`` to ``last``, by seq: what a
        receipt names its entry by (inside the transaction that appended them)."""

    @abstractmethod
    def receipts(
        self, document_id: str, *, kind: str | None = None, recipient: str | None = None
    ) -> list[Receipt]:
        """The receipts issued about ``document_id`` (of ``kind``, about ``recipient``), in log order."""

    @abstractmethod
    def overdue(self, now: datetime) -> list[PairRecord]:
        """Pairs past their deadline with no status 01 (or later) yet."""

    def overdue_summary(self, now: datetime) -> OverdueSummary:
        """How many pairs ``overdue(now)`` would list, and the earliest deadline among them: what the
        hub's metrics read every minute, as one aggregate rather than the list."""
        deadlines = [p.deadline for p in self.overdue(now) if p.deadline is not None]
        return OverdueSummary(len(deadlines), min(deadlines, default=None))

    @abstractmethod
    def documents_since(self, since: datetime) -> Iterator[DocumentRecord]: ...

    @abstractmethod
    def delivery_pairs(
        self, *, accepted_since: datetime | None = None, accepted_before: datetime | None = None
    ) -> Iterator[tuple[PairRecord, DocumentRecord | None]]:
        """Every pair (accepted in the window, when given) with its document (None when the document's
        own record is missing), read a page at a time: memory does not grow with the store."""

    # The evidence log (issue 9; ``vbcore.store.evidence_log`` says how several processes keep one chain).

    @abstractmethod
    def append_evidence(self, drafts: Sequence[EvidenceDraft], *, now: datetime) -> list[Entry]:
        """Number, date, hash and link the entries after the chain head, inside the transaction of the
        state change they record (the head stays locked until it commits)."""

    @abstractmethod
    def evidence_head(self) -> tuple[int, str, str | None]:
        """(last seq, its link, its UTC instant) as committed."""

    @abstractmethod
    def checkpoint_evidence(
        self, sign: Callable[[int, str, str], Checkpoint], *, now: datetime, every_entries: int | None = None,
        every_seconds: float | None = None,
    ) -> Checkpoint | None:
        """Sign and keep the head if it moved (and the interval passed, when given); else None."""

    @abstractmethod
    def set_checkpoint_token(self, seq: int, token: str) -> None:
        """Keep the RFC 3161 time-stamp obtained for the checkpoint at ``seq``."""

    @abstractmethod
    def last_checkpoint(self) -> Checkpoint | None: ...

    @abstractmethod
    def evidence_entries(self, document_id: str) -> list[Entry]:
        """The document's entries, in chain order."""

    @abstractmethod
    def evidence_proof(self, seq: int) -> Proof | None:
        """Entry ``seq`` and the links to the first checkpoint that covers it (None before it exists)."""

    @abstractmethod
    def close(self) -> None: ...
