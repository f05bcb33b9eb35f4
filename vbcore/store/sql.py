"""``SqlStore``: the one ``TrackingStore`` implementation, for SQLite and PostgreSQL alike.

The SQL is written once (``?`` placeholders, standard ``ON CONFLICT DO NOTHING``, ``SAVEPOINT``); the
driver adapts the little that differs. A store object is safe to share between threads: a lock
serialises its connection, held for the whole of a ``transaction()`` block. Across processes the
database does the work: ``claim_pair`` and ``record_document`` insert with ``ON CONFLICT DO NOTHING``
and then read, so of two processes claiming one pair exactly one sees ``created=True``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from vbcore.database.driver import Driver, Row, local_from_db, maybe_local, maybe_utc, utc_from_db
from vbcore.errors import PairNotClaimed
from vbcore.evidence.chain import Proof
from vbcore.evidence.checkpoint import Checkpoint
from vbcore.evidence.entry import Entry, EvidenceDraft, canonical_json
from vbcore.evidence.receipt import Receipt
from vbcore.evidence.statement import Statement
from vbcore.store import status_rules as rules
from vbcore.store.api import (
    KEY_SEPARATOR,
    ChangeMarker,
    ClaimResult,
    DeliveryState,
    DocumentRecord,
    OverdueSummary,
    PairRecord,
    Refusal,
    StatusEvent,
    TraceEvent,
    TrackingStore,
)
from vbcore.store.evidence_log import AuditReader, EvidenceLog, Signer
from vbcore.store.migrations import (
    MIGRATIONS,
    SEARCH_COLUMNS,
    Migration,
    migrate,
    schema_version,
    search_columns,
)

_PAGE_SIZE = 500  # documents_since reads this many rows at a time
T = TypeVar("T")


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware (UTC) datetime, not naive {at.isoformat()}")
    return at


def _text(value: object) -> str:
    return str(value)


def _maybe_text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int:
    return int(str(value))


def _maybe_local_time(value: object) -> datetime | None:
    return None if value is None else local_from_db(value)


@dataclass(frozen=True)
class _Table(Generic[T]):
    """A record type as stored: its table, whose columns are named and ordered as the record's fields,
    and how each column's value is read back."""

    name: str
    record: Callable[..., T]
    columns: tuple[str, ...]
    readers: tuple[Callable[[Any], object], ...]

    def select(self, rest: str) -> str:
        # Names and ``rest`` are fixed text of this module; values always travel as parameters.
        return f"SELECT {', '.join(self.columns)} FROM {self.name} {rest}"  # noqa: S608

    def insert(self, columns: Sequence[str] | None = None) -> str:
        names = columns or self.columns
        marks = ", ".join("?" for _ in names)
        return f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608

    def values(self, record: object, **given: object) -> tuple[object, ...]:
        """The record's values in column order, ``given`` ones (checked or converted) instead of its own."""
        return tuple(given[c] if c in given else getattr(record, c) for c in self.columns)

    def read(self, row: Row) -> T:
        return self.record(*(read(value) for read, value in zip(self.readers, row, strict=True)))


def _table(name: str, record: type[T], *readers: Callable[[Any], object]) -> _Table[T]:
    return _Table(name, record, tuple(f.name for f in fields(record)), readers)  # type: ignore[arg-type]


_DOCUMENTS = _table(
    "documents", DocumentRecord,
    _text, _text, _int, _maybe_text, _maybe_text, _text, _text, _int, utc_from_db, _maybe_text, _maybe_text,
    _maybe_text,
)  # fmt: skip
_PAIRS = _table(
    "pairs", PairRecord,
    _text, _text, _text, utc_from_db, maybe_utc, _maybe_text, maybe_utc, maybe_utc, _maybe_text,
)  # fmt: skip
_PAIR_STATUS = _table(
    "pairs", rules.PairStatus,
    _text, maybe_local, _maybe_text, maybe_utc, maybe_local, _maybe_text, maybe_local,
)  # fmt: skip
_STATUS_EVENTS = _table(
    "status_events", StatusEvent,
    _text, _text, _text, _maybe_text, _maybe_local_time, utc_from_db, _text, _maybe_text,
)  # fmt: skip
_REFUSALS = _table(
    "refusals", Refusal, _text, _maybe_text, _maybe_text, _maybe_text, _text, _text, utc_from_db
)
_TRACE = _table("trace_events", TraceEvent, _text, _text, _text, utc_from_db)
_INSERT_SEAL = (
    "INSERT INTO evidence_seals (seal_id, statement) VALUES (?, ?) ON CONFLICT (seal_id) DO NOTHING"
)
_INSERT_RECEIPT = (
    "INSERT INTO evidence_receipts (receipt_id, document_id, kind, recipient, seq, seal_id, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (receipt_id) DO NOTHING"
)
_SELECT_RECEIPTS = (
    "SELECT r.body, s.statement FROM evidence_receipts r JOIN evidence_seals s ON s.seal_id = r.seal_id"
)

OVERDUE = "WHERE deadline <= ? AND state IN (?, ?) AND last_status IS NULL"
"""Pairs past their deadline nobody answered; ``last_status IS NULL`` is the partial index
``pairs_unanswered``'s condition (migration 10), so only unanswered pairs are read, however many were."""


class SqlStore(TrackingStore):
    def __init__(self, driver: Driver, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self._db = driver
        self._lock = threading.RLock()
        self._depth = 0
        self._flat = False  # inside a ``transaction(savepoints=False)``
        self._row_lock = " FOR UPDATE" if driver.dialect.name == "postgresql" else ""
        self._evidence = EvidenceLog(driver, self._query)
        try:
            self.applied_migrations = migrate(driver, self.transaction, migrations)
        except BaseException:
            driver.close()
            raise

    @property
    def dialect(self) -> str:
        return self._db.dialect.name

    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._db)

    # --- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, savepoints: bool = True) -> Iterator[None]:
        """Outermost block: BEGIN .. COMMIT; nested blocks: savepoints (an inner failure that the
        caller catches rolls back only the inner block). ``savepoints=False``: the blocks nested in this
        one are part of it, with no savepoint each, for a caller that catches no failure inside it
        (any failure undoes the whole block): the hub's per-message block made 9 savepoints, 18
        statements, a third of its store statements and on PostgreSQL as many round trips (issue 13)."""
        with self._lock:
            if self._flat:
                yield
                return
            depth = self._depth
            savepoint = f"vbus_sp{depth}"
            self._db.execute(self._db.dialect.begin if depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            self._flat = not savepoints
            try:
                yield
            except BaseException:
                self._depth, self._flat = depth, False
                self._undo(depth, savepoint)
                raise
            self._depth, self._flat = depth, False
            try:
                self._db.execute("COMMIT" if depth == 0 else f"RELEASE SAVEPOINT {savepoint}")
            except BaseException:
                self._undo(depth, savepoint)
                raise

    def _undo(self, depth: int, savepoint: str) -> None:
        try:
            if depth == 0:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                self._db.execute(f"RELEASE SAVEPOINT {savepoint}")
        except Exception:  # noqa: S110 - the original error is the one worth raising
            pass

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            return self._db.query(sql, params)

    # --- documents ------------------------------------------------------------------------------

    def record_document(self, doc: DocumentRecord) -> bool:
        """Also keeps the folded search columns of ``search_columns`` (the web board's search)."""
        with self.transaction():
            return (
                self._db.execute(
                    _DOCUMENTS.insert([*_DOCUMENTS.columns, *SEARCH_COLUMNS])
                    + " ON CONFLICT (document_id) DO NOTHING",
                    _DOCUMENTS.values(
                        doc,
                        business_type=int(doc.business_type),
                        received_at=_aware(doc.received_at, "received_at"),
                    )
                    + search_columns(doc.subject, doc.type_name),
                )
                == 1
            )

    def get_document(self, document_id: str) -> DocumentRecord | None:
        rows = self._query(_DOCUMENTS.select("WHERE document_id = ?"), (document_id,))
        return _DOCUMENTS.read(rows[0]) if rows else None

    def documents_written_as(self, edxml_document_id: str) -> list[DocumentRecord]:
        rows = self._query(
            _DOCUMENTS.select(
                "WHERE edxml_document_id = ? AND document_id = sender || ? || edxml_document_id"
                " ORDER BY received_at, document_id"
            ),
            (edxml_document_id, KEY_SEPARATOR),
        )
        return [_DOCUMENTS.read(r) for r in rows]

    def tracked_ids_written_as(self, edxml_document_id: str) -> list[str]:
        """Documents by their indexed DocumentId; refusals (of packages refused whole, never recorded as
        documents) by a scan, as ``vb track`` is a person's question, not the hub's hot path."""
        ids = [d.document_id for d in self.documents_written_as(edxml_document_id)]
        rows = self._query(
            "SELECT DISTINCT document_id FROM refusals WHERE document_id = sender || ? || ?",
            (KEY_SEPARATOR, edxml_document_id),
        )
        return list(dict.fromkeys([*ids, *sorted(str(r[0]) for r in rows)]))

    def related_documents(self, document_id: str) -> list[DocumentRecord]:
        rows = self._query(
            _DOCUMENTS.select("WHERE related_document_id = ? ORDER BY received_at, document_id"),
            (document_id,),
        )
        return [_DOCUMENTS.read(r) for r in rows]

    def documents_since(self, since: datetime) -> Iterator[DocumentRecord]:
        """Oldest first, read a page at a time (keyset pagination), so a long listing holds no lock."""
        rows = self._query(
            _DOCUMENTS.select("WHERE received_at >= ? ORDER BY received_at, document_id LIMIT ?"),
            (_aware(since, "since"), _PAGE_SIZE),
        )
        while rows:
            yield from (_DOCUMENTS.read(r) for r in rows)
            if len(rows) < _PAGE_SIZE:
                return
            last = _DOCUMENTS.read(rows[-1])
            rows = self._query(
                _DOCUMENTS.select(
                    "WHERE received_at > ? OR (received_at = ? AND document_id > ?)"
                    " ORDER BY received_at, document_id LIMIT ?"
                ),
                (last.received_at, last.received_at, last.document_id, _PAGE_SIZE),
            )

    # --- pairs ----------------------------------------------------------------------------------

    def delivery_pairs(
        self, *, accepted_since: datetime | None = None, accepted_before: datetime | None = None
    ) -> Iterator[tuple[PairRecord, DocumentRecord | None]]:
        """In key order, a page at a time (keyset pagination on the primary key, in the database's own
        collation both for the order and the comparison), so no page holds a lock for long."""
        columns = ", ".join([*(f"p.{c}" for c in _PAIRS.columns), *(f"d.{c}" for c in _DOCUMENTS.columns)])
        window, params = "", []
        for test, value in (("p.accepted_at >= ?", accepted_since), ("p.accepted_at < ?", accepted_before)):
            if value is not None:
                window += f" AND {test}"
                params.append(_aware(value, "accepted_since/accepted_before"))
        # Fixed text of this module; values travel as parameters.
        sql = (
            f"SELECT {columns} FROM pairs p LEFT JOIN documents d ON d.document_id = p.document_id"  # noqa: S608
            f" WHERE (p.document_id > ? OR (p.document_id = ? AND p.recipient > ?)){window}"
            " ORDER BY p.document_id, p.recipient LIMIT ?"
        )
        width = len(_PAIRS.columns)
        after = ("", "", "")
        while True:
            rows = self._query(sql, (*after, *params, _PAGE_SIZE))
            for row in rows:
                doc = None if row[width] is None else _DOCUMENTS.read(row[width:])
                yield _PAIRS.read(row[:width]), doc
            if len(rows) < _PAGE_SIZE:
                return
            last_document, last_recipient = str(rows[-1][0]), str(rows[-1][1])
            after = (last_document, last_document, last_recipient)

    def get_pair(self, document_id: str, recipient: str) -> PairRecord | None:
        rows = self._query(
            _PAIRS.select("WHERE document_id = ? AND recipient = ?"), (document_id, recipient)
        )
        return _PAIRS.read(rows[0]) if rows else None

    def claim_pair(
        self, document_id: str, recipient: str, *, at: datetime, deadline: datetime | None
    ) -> ClaimResult:
        """A claim of a revoke/update/replace package's delivery also marks the recipient's copy of
        the original as ``revoke-requested``/``change-requested``."""
        with self.transaction():
            created = (
                self._db.execute(
                    _PAIRS.insert(["document_id", "recipient", "state", "accepted_at", "deadline"])
                    + " ON CONFLICT (document_id, recipient) DO NOTHING",
                    (
                        document_id,
                        recipient,
                        DeliveryState.ACCEPTED,
                        _aware(at, "at"),
                        None if deadline is None else _aware(deadline, "deadline"),
                    ),
                )
                == 1
            )
            if created:
                self._mark_original(document_id, recipient, at)
            pair = self.get_pair(document_id, recipient)
        assert pair is not None  # inserted or found, in this transaction
        return ClaimResult(created=created, pair=pair)

    def _mark_original(self, document_id: str, recipient: str, at: datetime) -> None:
        doc = self.get_document(document_id)
        if doc is None or doc.related_document_id is None:
            return
        marker = rules.requested_marker(doc.business_type)
        current = self._pair_status(doc.related_document_id, recipient)
        if marker is None or current is None:
            return
        moved = current.with_change(marker, "13", rules.local_time(at))
        self._write_status(doc.related_document_id, recipient, current, moved)

    def set_pair_state(self, document_id: str, recipient: str, state: str, *, at: datetime) -> None:
        """Set by the hub (e.g. ``refused-by-hub``); a receipt dated before ``at`` will not undo it."""
        with self.transaction():
            changed = self._db.execute(
                "UPDATE pairs SET state = ?, state_time = ? WHERE document_id = ? AND recipient = ?",
                (state, rules.local_time(_aware(at, "at")), document_id, recipient),
            )
            if changed == 0:
                raise PairNotClaimed(document_id, recipient)

    def mark_forwarded(self, document_id: str, recipient: str, *, at: datetime) -> None:
        """Record the broker's confirmation; the state becomes ``forwarded`` unless a receipt came first."""
        with self.transaction():
            changed = self._db.execute(
                "UPDATE pairs SET forwarded_at = ?,"
                " state = CASE WHEN state = ? THEN ? ELSE state END"
                " WHERE document_id = ? AND recipient = ?",
                (_aware(at, "at"), DeliveryState.ACCEPTED, DeliveryState.FORWARDED, document_id, recipient),
            )
            if changed == 0:
                raise PairNotClaimed(document_id, recipient)

    def pairs(self, document_id: str) -> list[PairRecord]:
        rows = self._query(_PAIRS.select("WHERE document_id = ? ORDER BY recipient"), (document_id,))
        return [_PAIRS.read(r) for r in rows]

    def overdue(self, now: datetime) -> list[PairRecord]:
        """Pairs whose deadline has come (``deadline <= now``) and whose recipient has answered nothing:
        still ``accepted``/``forwarded`` with no status at all (a 01, a refusal 02, or a 15/16)."""
        rows = self._query(
            _PAIRS.select(OVERDUE + " ORDER BY deadline, document_id, recipient"),
            (_aware(now, "now"), DeliveryState.ACCEPTED, DeliveryState.FORWARDED),
        )
        return [_PAIRS.read(r) for r in rows]

    def overdue_summary(self, now: datetime) -> OverdueSummary:
        """``overdue``'s count and earliest deadline in one aggregate query (index ``pairs_unanswered``)."""
        [(count, oldest)] = self._query(
            "SELECT COUNT(*), MIN(deadline) FROM pairs " + OVERDUE,  # noqa: S608 - fixed text of this module
            (_aware(now, "now"), DeliveryState.ACCEPTED, DeliveryState.FORWARDED),
        )
        return OverdueSummary(_int(count), maybe_utc(oldest))

    # --- statuses -------------------------------------------------------------------------------

    def record_status(self, event: StatusEvent) -> None:
        """Keep the event; move the pair by the rules of ``status_rules`` (a status for a pair that was
        never claimed is kept as an event and moves nothing)."""
        at = rules.effective_time(event)
        with self.transaction():
            self._db.execute(
                _STATUS_EVENTS.insert(),
                _STATUS_EVENTS.values(
                    event,
                    status_time=None if event.status_time is None else rules.effective_time(event),
                    received_at=_aware(event.received_at, "received_at"),
                ),
            )
            if event.code in rules.RECEIPTS:
                self._move(event.document_id, event.recipient, lambda p: p.with_receipt(event, at))
            elif event.code == rules.REVOKE_REQUEST:
                self._move(
                    event.document_id,
                    event.recipient,
                    lambda p: p.with_change(ChangeMarker.REVOKE_REQUESTED, event.code, at),
                )
            elif event.code in rules.ANSWERS:
                self._answer(event, at)

    def _answer(self, event: StatusEvent, at: datetime) -> None:
        """A 15/16 marks the pair it names; about a revoke/update/replace package, also the recipient's
        copy of the original; about an original, also the change packages it answers (below)."""
        doc = self.get_document(event.document_id)
        targets: list[tuple[str, str | None]] = [(event.document_id, None)]
        if doc is not None and doc.related_document_id is not None:
            request = rules.requested_marker(doc.business_type)
            if request is not None:
                targets = [(event.document_id, request), (doc.related_document_id, request)]
        else:
            targets += self._changes_answered(event)
        for document_id, request in targets:
            current = self._pair_status(document_id, event.recipient)
            if current is None:
                continue
            marker = rules.answer_marker(event.code, request or current.change)
            moved = current.with_last_status(event, at).with_change(marker, event.code, at)
            self._write_status(document_id, event.recipient, current, moved)

    def _changes_answered(self, event: StatusEvent) -> list[tuple[str, str | None]]:
        """The revoke/update/replace packages of ``event``'s document that its recipient received before
        this answer and has not answered yet: receivers answer a change about the document it changes
        (QCVN 102), so such a 15/16 answers them too, and they are no longer waiting (overdue)."""
        answered: list[tuple[str, str | None]] = []
        for change in self.related_documents(event.document_id):
            request = rules.requested_marker(change.business_type)
            pair = self.get_pair(change.document_id, event.recipient)
            if request is None or pair is None or pair.last_status is not None:
                continue
            if pair.accepted_at <= _aware(event.received_at, "received_at"):
                answered.append((change.document_id, request))
        return answered

    def _move(
        self, document_id: str, recipient: str, step: Callable[[rules.PairStatus], rules.PairStatus]
    ) -> None:
        current = self._pair_status(document_id, recipient)
        if current is not None:
            self._write_status(document_id, recipient, current, step(current))

    def _pair_status(self, document_id: str, recipient: str) -> rules.PairStatus | None:
        rows = self._db.query(
            _PAIR_STATUS.select("WHERE document_id = ? AND recipient = ?" + self._row_lock),
            (document_id, recipient),
        )
        return _PAIR_STATUS.read(rows[0]) if rows else None

    def _write_status(
        self, document_id: str, recipient: str, old: rules.PairStatus, new: rules.PairStatus
    ) -> None:
        if new == old:
            return
        assignments = ", ".join(f"{c} = ?" for c in _PAIR_STATUS.columns)
        self._db.execute(
            f"UPDATE pairs SET {assignments} WHERE document_id = ? AND recipient = ?",  # noqa: S608 (fixed names)
            (*_PAIR_STATUS.values(new), document_id, recipient),
        )

    def recorded_status(self, event: StatusEvent) -> StatusEvent | None:
        """One indexed look-up of the pair's events (never the document's every event)."""
        where = "WHERE document_id = ? AND recipient = ? AND code = ? AND from_agency = ?"
        params: list[object] = [event.document_id, event.recipient, event.code, event.from_agency]
        for column, value in (
            ("status_time", None if event.status_time is None else rules.effective_time(event)),
            ("description", event.description),
        ):
            where += f" AND {column} IS NULL" if value is None else f" AND {column} = ?"
            params += [] if value is None else [value]
        rows = self._query(_STATUS_EVENTS.select(where + " ORDER BY id LIMIT 1"), params)
        return _STATUS_EVENTS.read(rows[0]) if rows else None

    def statuses(self, document_id: str) -> list[StatusEvent]:
        rows = self._query(_STATUS_EVENTS.select("WHERE document_id = ? ORDER BY id"), (document_id,))
        return [_STATUS_EVENTS.read(r) for r in rows]

    # --- refusals and trace ---------------------------------------------------------------------

    def record_refusal(self, refusal: Refusal) -> None:
        with self.transaction():
            self._db.execute(_REFUSALS.insert(), _REFUSALS.values(refusal, at=_aware(refusal.at, "at")))

    def refusals(
        self, *, since: datetime | None = None, sender: str | None = None, document_id: str | None = None
    ) -> list[Refusal]:
        where, params = ["1 = 1"], []
        for column, value in (("at >= ?", since), ("sender = ?", sender), ("document_id = ?", document_id)):
            if value is not None:
                where.append(column)
                params.append(_aware(value, "since") if isinstance(value, datetime) else value)
        # Only the fixed filters above enter the text; the values are parameters.
        rows = self._query(_REFUSALS.select(f"WHERE {' AND '.join(where)} ORDER BY at, id"), params)
        return [_REFUSALS.read(r) for r in rows]

    def record_trace(self, event: TraceEvent) -> None:
        with self.transaction():
            self._db.execute(_TRACE.insert(), _TRACE.values(event, at=_aware(event.at, "at")))

    def trace(self, document_id: str) -> list[TraceEvent]:
        rows = self._query(_TRACE.select("WHERE document_id = ? ORDER BY at, id"), (document_id,))
        return [_TRACE.read(r) for r in rows]

    # --- the evidence log (``vbcore.store.evidence_log``: one chain for every process on the store) ---

    def append_evidence(self, drafts: Sequence[EvidenceDraft], *, now: datetime) -> list[Entry]:
        """Inside the caller's transaction when there is one (it must be: the state change and its
        entries commit together), else in a transaction of its own."""
        with self.transaction():
            return self._evidence.append(drafts, _aware(now, "now"))

    def evidence_head(self) -> tuple[int, str, str | None]:
        with self._lock:
            return self._evidence.head()

    def checkpoint_evidence(
        self, sign: Signer, *, now: datetime, every_entries: int | None = None,
        every_seconds: float | None = None,
    ) -> Checkpoint | None:
        with self.transaction():
            return self._evidence.checkpoint(sign, _aware(now, "now"), every_entries=every_entries,
                                             every_seconds=every_seconds)

    def set_checkpoint_token(self, seq: int, token: str) -> None:
        with self.transaction():
            self._evidence.set_tsa_token(seq, token)

    def last_checkpoint(self) -> Checkpoint | None:
        with self._lock:
            return self._evidence.last_checkpoint()

    def evidence_entries(self, document_id: str) -> list[Entry]:
        with self._lock:
            return self._evidence.entries_of(document_id)

    def evidence_proof(self, seq: int) -> Proof | None:
        with self._lock:
            return self._evidence.proof(seq)

    def evidence_rows(self, after: int = 0) -> Iterator[tuple[Entry, str, str]]:
        return self._evidence.rows(after)

    def evidence_checkpoints(self) -> Iterator[Checkpoint]:
        return self._evidence.checkpoints()

    @contextmanager
    def read_snapshot(self) -> Iterator[AuditReader]:
        """One read-only snapshot of the whole store, for ``vb audit verify``: the log and the tables
        it is compared with are seen as of one instant while the hub keeps writing."""
        with self._lock:
            self._db.execute(self._db.dialect.begin_read)
            try:
                yield AuditReader(self._db)
            finally:
                self._db.execute("ROLLBACK")

    # --- the hub's receipts ------------------------------------------------------------------------

    def record_receipts(self, receipts: Sequence[Receipt]) -> None:
        """A seal is kept once for its whole batch; each receipt with its path to it. Write-once: the
        same receipt again (a redelivered batch) changes nothing."""
        with self.transaction():
            for seal_id, statement in {r.seal_id: r.seal for r in receipts}.items():
                self._db.execute(_INSERT_SEAL, (seal_id, statement.to_json()))
            for r in receipts:
                body = canonical_json({"receipt": r.payload, "path": list(r.path)}).decode()
                values = (r.id, r.document_id, r.kind, r.recipient, r.payload.get("seq"), r.seal_id, body)
                self._db.execute(_INSERT_RECEIPT, values)

    def evidence_links(self, first: int, last: int) -> dict[int, str]:
        sql = "SELECT seq, entry_hash FROM evidence_log WHERE seq >= ? AND seq <= ?"
        rows = self._query(sql, (first, last))
        return {int(str(seq)): str(link) for seq, link in rows}

    def receipts(
        self, document_id: str, *, kind: str | None = None, recipient: str | None = None
    ) -> list[Receipt]:
        where, params = ["r.document_id = ?"], [document_id]
        for column, value in (("r.kind = ?", kind), ("r.recipient = ?", recipient)):
            if value is not None:
                where.append(column)
                params.append(value)
        # Only the fixed filters above enter the text; the values are parameters.
        order = "ORDER BY r.seq, r.receipt_id"
        rows = self._query(f"{_SELECT_RECEIPTS} WHERE {' AND '.join(where)} {order}", params)
        found = []
        for body, statement in rows:
            kept = json.loads(str(body))
            found.append(Receipt(kept["receipt"], tuple(kept["path"]), Statement.from_json(str(statement))))
        return found

    # --- for the read models and accounts of this package (``board``, ``accounts``) -----------------
    # Their SQL is fixed text of those modules; values always travel as parameters.

    def select(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._query(sql, params)

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """One write, committed (or part of the caller's ``transaction()``); the rows it changed."""
        with self.transaction():
            return self._db.execute(sql, params)

    def documents_where(self, rest: str, params: Sequence[object] = ()) -> list[DocumentRecord]:
        """Documents selected by ``rest`` (``WHERE ... ORDER BY ... LIMIT ...``; ``d`` names the table)."""
        rows = self._query(_DOCUMENTS.select("d " + rest), params)
        return [_DOCUMENTS.read(r) for r in rows]

    def refusals_where(self, rest: str, params: Sequence[object] = ()) -> list[Refusal]:
        rows = self._query(_REFUSALS.select(rest), params)
        return [_REFUSALS.read(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
