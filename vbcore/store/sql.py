"""``SqlStore``: the one ``TrackingStore`` implementation, for SQLite and PostgreSQL alike.

The SQL is written once (``?`` placeholders, standard ``ON CONFLICT DO NOTHING``, ``SAVEPOINT``); the
driver adapts the little that differs. A store object is safe to share between threads: a lock
serialises its connection, held for the whole of a ``transaction()`` block. Across processes the
database does the work: ``claim_pair`` and ``record_document`` insert with ``ON CONFLICT DO NOTHING``
and then read, so of two processes claiming one pair exactly one sees ``created=True``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from vbcore.errors import PairNotClaimed
from vbcore.store import status_rules as rules
from vbcore.store.api import (
    ChangeMarker,
    ClaimResult,
    DeliveryState,
    DocumentRecord,
    PairRecord,
    Refusal,
    StatusEvent,
    TraceEvent,
    TrackingStore,
)
from vbcore.store.driver import Driver, Row, local_from_db, maybe_local, maybe_utc, utc_from_db
from vbcore.store.migrations import MIGRATIONS, Migration, migrate, schema_version

_SELECT_DOCUMENTS = (
    "SELECT document_id, sender, business_type, subject, code, message_id, sha256, size, received_at,"
    " related_document_id FROM documents"
)
_INSERT_DOCUMENT = (
    "INSERT INTO documents (document_id, sender, business_type, subject, code, message_id, sha256, size,"
    " received_at, related_document_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (document_id) DO NOTHING"
)
_SELECT_PAIRS = (
    "SELECT document_id, recipient, state, accepted_at, forwarded_at, last_status, last_status_at, deadline,"
    " change FROM pairs"
)
_SELECT_PAIR_STATUS = (
    "SELECT state, state_time, last_status, last_status_at, last_status_time, change, change_time FROM pairs"
    " WHERE document_id = ? AND recipient = ?"
)
_PAGE_SIZE = 500  # documents_since reads this many rows at a time


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware (UTC) datetime, not naive {at.isoformat()}")
    return at


def _text(value: object) -> str:
    return str(value)


def _maybe_text(value: object) -> str | None:
    return None if value is None else str(value)


def _document(row: Row) -> DocumentRecord:
    return DocumentRecord(
        document_id=_text(row[0]),
        sender=_text(row[1]),
        business_type=int(_text(row[2])),
        subject=_maybe_text(row[3]),
        code=_maybe_text(row[4]),
        message_id=_text(row[5]),
        sha256=_text(row[6]),
        size=int(_text(row[7])),
        received_at=utc_from_db(row[8]),
        related_document_id=_maybe_text(row[9]),
    )


def _pair(row: Row) -> PairRecord:
    return PairRecord(
        document_id=_text(row[0]),
        recipient=_text(row[1]),
        state=_text(row[2]),
        accepted_at=utc_from_db(row[3]),
        forwarded_at=maybe_utc(row[4]),
        last_status=_maybe_text(row[5]),
        last_status_at=maybe_utc(row[6]),
        deadline=maybe_utc(row[7]),
        change=_maybe_text(row[8]),
    )


class SqlStore(TrackingStore):
    def __init__(self, driver: Driver, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self._db = driver
        self._lock = threading.RLock()
        self._depth = 0
        self._row_lock = " FOR UPDATE" if driver.dialect.name == "postgresql" else ""
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
    def transaction(self) -> Iterator[None]:
        """Outermost block: BEGIN .. COMMIT; nested blocks: savepoints (an inner failure that the
        caller catches rolls back only the inner block)."""
        with self._lock:
            depth = self._depth
            savepoint = f"vbus_sp{depth}"
            self._db.execute(self._db.dialect.begin if depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth = depth
                self._undo(depth, savepoint)
                raise
            self._depth = depth
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
        with self.transaction():
            return (
                self._db.execute(
                    _INSERT_DOCUMENT,
                    (
                        doc.document_id,
                        doc.sender,
                        int(doc.business_type),
                        doc.subject,
                        doc.code,
                        doc.message_id,
                        doc.sha256,
                        doc.size,
                        _aware(doc.received_at, "received_at"),
                        doc.related_document_id,
                    ),
                )
                == 1
            )

    def get_document(self, document_id: str) -> DocumentRecord | None:
        rows = self._query(_SELECT_DOCUMENTS + " WHERE document_id = ?", (document_id,))
        return _document(rows[0]) if rows else None

    def related_documents(self, document_id: str) -> list[DocumentRecord]:
        rows = self._query(
            _SELECT_DOCUMENTS + " WHERE related_document_id = ? ORDER BY received_at, document_id",
            (document_id,),
        )
        return [_document(r) for r in rows]

    def documents_since(self, since: datetime) -> Iterator[DocumentRecord]:
        """Oldest first, read a page at a time (keyset pagination), so a long listing holds no lock."""
        rows = self._query(
            _SELECT_DOCUMENTS + " WHERE received_at >= ? ORDER BY received_at, document_id LIMIT ?",
            (_aware(since, "since"), _PAGE_SIZE),
        )
        while rows:
            yield from (_document(r) for r in rows)
            if len(rows) < _PAGE_SIZE:
                return
            last = _document(rows[-1])
            rows = self._query(
                _SELECT_DOCUMENTS
                + " WHERE received_at > ? OR (received_at = ? AND document_id > ?)"
                + " ORDER BY received_at, document_id LIMIT ?",
                (last.received_at, last.received_at, last.document_id, _PAGE_SIZE),
            )

    # --- pairs ----------------------------------------------------------------------------------

    def get_pair(self, document_id: str, recipient: str) -> PairRecord | None:
        rows = self._query(
            _SELECT_PAIRS + " WHERE document_id = ? AND recipient = ?", (document_id, recipient)
        )
        return _pair(rows[0]) if rows else None

    def claim_pair(
        self, document_id: str, recipient: str, *, at: datetime, deadline: datetime | None
    ) -> ClaimResult:
        """A claim of a revoke/update/replace package's delivery also marks the recipient's copy of
        the original as ``revoke-requested``/``change-requested``."""
        with self.transaction():
            created = (
                self._db.execute(
                    "INSERT INTO pairs (document_id, recipient, state, accepted_at, deadline)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (document_id, recipient) DO NOTHING",
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
        rows = self._query(_SELECT_PAIRS + " WHERE document_id = ? ORDER BY recipient", (document_id,))
        return [_pair(r) for r in rows]

    def overdue(self, now: datetime) -> list[PairRecord]:
        """Pairs whose deadline has come (``deadline <= now``) and whose recipient has answered nothing:
        still ``accepted``/``forwarded`` with no status at all (a 01, a refusal 02, or a 15/16)."""
        rows = self._query(
            _SELECT_PAIRS
            + " WHERE deadline <= ? AND state IN (?, ?) AND last_status IS NULL"
            + " ORDER BY deadline, document_id, recipient",
            (_aware(now, "now"), DeliveryState.ACCEPTED, DeliveryState.FORWARDED),
        )
        return [_pair(r) for r in rows]

    # --- statuses -------------------------------------------------------------------------------

    def record_status(self, event: StatusEvent) -> None:
        """Keep the event; move the pair by the rules of ``status_rules`` (a status for a pair that was
        never claimed is kept as an event and moves nothing)."""
        at = rules.effective_time(event)
        with self.transaction():
            self._db.execute(
                "INSERT INTO status_events"
                " (document_id, recipient, code, description, status_time, received_at, from_agency)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event.document_id,
                    event.recipient,
                    event.code,
                    event.description,
                    None if event.status_time is None else rules.effective_time(event),
                    _aware(event.received_at, "received_at"),
                    event.from_agency,
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
        doc = self.get_document(event.document_id)
        targets = [event.document_id]
        request: str | None = None
        if doc is not None and doc.related_document_id is not None:
            request = rules.requested_marker(doc.business_type)
            if request is not None:
                targets.append(doc.related_document_id)
        for document_id in targets:
            current = self._pair_status(document_id, event.recipient)
            if current is None:
                continue
            marker = rules.answer_marker(event.code, request or current.change)
            moved = current.with_last_status(event, at).with_change(marker, event.code, at)
            self._write_status(document_id, event.recipient, current, moved)

    def _move(
        self, document_id: str, recipient: str, step: Callable[[rules.PairStatus], rules.PairStatus]
    ) -> None:
        current = self._pair_status(document_id, recipient)
        if current is not None:
            self._write_status(document_id, recipient, current, step(current))

    def _pair_status(self, document_id: str, recipient: str) -> rules.PairStatus | None:
        rows = self._db.query(
            _SELECT_PAIR_STATUS + self._row_lock,
            (document_id, recipient),
        )
        if not rows:
            return None
        r = rows[0]
        return rules.PairStatus(
            state=_text(r[0]),
            state_time=maybe_local(r[1]),
            last_status=_maybe_text(r[2]),
            last_status_at=maybe_utc(r[3]),
            last_status_time=maybe_local(r[4]),
            change=_maybe_text(r[5]),
            change_time=maybe_local(r[6]),
        )

    def _write_status(
        self, document_id: str, recipient: str, old: rules.PairStatus, new: rules.PairStatus
    ) -> None:
        if new == old:
            return
        self._db.execute(
            "UPDATE pairs SET state = ?, state_time = ?, last_status = ?, last_status_at = ?,"
            " last_status_time = ?, change = ?, change_time = ? WHERE document_id = ? AND recipient = ?",
            (
                new.state,
                new.state_time,
                new.last_status,
                new.last_status_at,
                new.last_status_time,
                new.change,
                new.change_time,
                document_id,
                recipient,
            ),
        )

    def statuses(self, document_id: str) -> list[StatusEvent]:
        rows = self._query(
            "SELECT document_id, recipient, code, description, status_time, received_at, from_agency"
            " FROM status_events WHERE document_id = ? ORDER BY id",
            (document_id,),
        )
        return [
            StatusEvent(
                document_id=_text(r[0]),
                recipient=_text(r[1]),
                code=_text(r[2]),
                description=_maybe_text(r[3]),
                status_time=None if r[4] is None else local_from_db(r[4]),
                received_at=utc_from_db(r[5]),
                from_agency=_text(r[6]),
            )
            for r in rows
        ]

    # --- refusals and trace ---------------------------------------------------------------------

    def record_refusal(self, refusal: Refusal) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO refusals (message_id, sender, document_id, recipient, reason, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    refusal.message_id,
                    refusal.sender,
                    refusal.document_id,
                    refusal.recipient,
                    refusal.reason,
                    refusal.detail,
                    _aware(refusal.at, "at"),
                ),
            )

    def refusals(
        self, *, since: datetime | None = None, sender: str | None = None, document_id: str | None = None
    ) -> list[Refusal]:
        where, params = ["1 = 1"], []
        for column, value in (("at >= ?", since), ("sender = ?", sender), ("document_id = ?", document_id)):
            if value is not None:
                where.append(column)
                params.append(_aware(value, "since") if isinstance(value, datetime) else value)
        # Only the fixed filters above enter the text; the values are parameters.
        columns = "message_id, sender, document_id, recipient, reason, detail, at"
        filters = " AND ".join(where)
        rows = self._query(f"SELECT {columns} FROM refusals WHERE {filters} ORDER BY at, id", params)  # noqa: S608
        return [
            Refusal(
                message_id=_text(r[0]),
                sender=_maybe_text(r[1]),
                document_id=_maybe_text(r[2]),
                recipient=_maybe_text(r[3]),
                reason=_text(r[4]),
                detail=_text(r[5]),
                at=utc_from_db(r[6]),
            )
            for r in rows
        ]

    def record_trace(self, event: TraceEvent) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO trace_events (document_id, hub_id, event, at) VALUES (?, ?, ?, ?)",
                (event.document_id, event.hub_id, event.event, _aware(event.at, "at")),
            )

    def trace(self, document_id: str) -> list[TraceEvent]:
        rows = self._query(
            "SELECT document_id, hub_id, event, at FROM trace_events WHERE document_id = ? ORDER BY at, id",
            (document_id,),
        )
        return [TraceEvent(_text(r[0]), _text(r[1]), _text(r[2]), utc_from_db(r[3])) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
