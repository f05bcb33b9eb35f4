"""The hub's evidence log as stored: entries, checkpoints and the one-row chain head (migration 8).

One chain for every hub process on one store
--------------------------------------------
Entries are numbered and linked under the lock of the single row of ``evidence_head`` (``seq``, the
last link, the last instant), taken by ``append`` inside the SAME transaction as the state change the
entries record, and held to its commit:

- PostgreSQL: ``SELECT ... FROM evidence_head WHERE id = 1 FOR UPDATE``. A second hub process
  appending at the same moment waits on that row lock; once the first commits, its ``SELECT ... FOR
  UPDATE`` returns the row as committed (READ COMMITTED re-reads a locked row after the wait), so it
  numbers its entries after the first's and links to its last entry. If the first rolls back, its
  entries vanish with its state change and the head is unchanged: no gap, no fork.
- SQLite: the store's write transactions begin ``BEGIN IMMEDIATE``, the database's one write lock:
  two processes never write at once, the head read in a write transaction is the committed one.

The head is the LAST lock a hub transaction takes (the pipeline appends once per batch, after every
other write of the batch), so two hubs cannot deadlock on it, and each holds it only from its append
to its commit. No state change commits without its entries, no entry without its state change; a
checkpoint (``checkpoint``) takes the same lock, so it signs a head that some commit really left.

The stored row keeps the entry's fields as hashed (times as the exact text, ``body`` as canonical
JSON), its content hash and its link: ``vb audit verify`` recomputes both (``vbcore.evidence.chain``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from vbcore.database.driver import Driver, Row, utc_from_db
from vbcore.evidence.chain import Proof
from vbcore.evidence.checkpoint import Checkpoint
from vbcore.evidence.entry import (
    GENESIS_HASH,
    Entry,
    EvidenceDraft,
    canonical_json,
    content_hash,
    format_utc,
    link_hash,
    next_instant,
    parse_utc,
)
from vbcore.evidence.statement import Statement

ENTRY_COLUMNS = (
    "seq", "at_utc", "at_local", "kind", "sender", "document_id", "recipient", "package_digest", "body",
    "content_hash", "entry_hash",
)  # fmt: skip
_SELECT_ENTRIES = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM evidence_log"  # noqa: S608 - fixed names
_SELECT_CHECKPOINTS = "SELECT statement, tsa_token FROM evidence_checkpoints"
_INSERT_ROWS = 200  # entries per multi-row INSERT (one statement, one round trip, for a whole batch)
_PAGE = 2000

Signer = Callable[[int, str, str], Checkpoint]
"""Signs the head: (seq, head_hash, at_utc) -> the checkpoint (``evidence.checkpoint.make_checkpoint``)."""


def _create_tables(db: Driver) -> None:
    """Migration 8. ``seq`` is SQLite's rowid (INTEGER PRIMARY KEY), PostgreSQL's BIGINT key."""
    key = "INTEGER PRIMARY KEY" if db.dialect.name == "sqlite" else "BIGINT PRIMARY KEY"
    db.execute(
        f"""CREATE TABLE evidence_log (
            seq {key},
            at_utc TEXT NOT NULL,
            at_local TEXT NOT NULL,
            kind TEXT NOT NULL,
            sender TEXT NOT NULL,
            document_id TEXT NOT NULL,
            recipient TEXT,
            package_digest TEXT,
            body TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            entry_hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX evidence_log_document ON evidence_log (document_id, seq)")
    db.execute(
        f"""CREATE TABLE evidence_checkpoints (
            seq {key},
            head_hash TEXT NOT NULL,
            at_utc TEXT NOT NULL,
            hub_id TEXT NOT NULL,
            statement TEXT NOT NULL,
            tsa_token TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE evidence_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq BIGINT NOT NULL,
            entry_hash TEXT NOT NULL,
            at_utc TEXT
        )"""
    )
    db.execute("INSERT INTO evidence_head (id, seq, entry_hash, at_utc) VALUES (1, 0, ?, NULL)",
               (GENESIS_HASH,))


MIGRATION_STEPS = (_create_tables,)


def _clean(value: str | None) -> str | None:
    """What a column can hold on both databases (PostgreSQL text has no NUL): hashed as stored."""
    return None if value is None else value.replace("\x00", "\ufffd")


def entry_from_row(row: Row) -> tuple[Entry, str, str]:
    """(the entry, its stored content hash, its stored link) from an ``ENTRY_COLUMNS`` row."""
    seq, at_utc, at_local, kind, sender, document_id, recipient, digest, body, content, link = row
    try:
        parsed = json.loads(str(body))
    except ValueError:
        parsed = {"unreadable body": str(body)}
    entry = Entry(
        seq=int(str(seq)), at_utc=str(at_utc), at_local=str(at_local), kind=str(kind), sender=str(sender),
        document_id=str(document_id), recipient=None if recipient is None else str(recipient),
        package_digest=None if digest is None else str(digest),
        body=parsed if isinstance(parsed, dict) else {"not an object": parsed},
    )  # fmt: skip
    return entry, str(content), str(link)


def checkpoint_from_row(row: Row) -> Checkpoint:
    statement, token = row
    return Checkpoint(Statement.from_json(str(statement)), None if token is None else str(token))


class EvidenceLog:
    """The evidence tables of one store; every method runs inside the caller's transaction (the
    store's lock held), except the iterators, which read page by page."""

    def __init__(self, db: Driver, query: Callable[[str, Sequence[object]], list[Row]]) -> None:
        self._db = db
        self._query = query
        self._for_update = " FOR UPDATE" if db.dialect.name == "postgresql" else ""

    def _lock_head(self) -> tuple[int, str, datetime | None]:
        [(seq, link, at)] = self._db.query(
            "SELECT seq, entry_hash, at_utc FROM evidence_head WHERE id = 1" + self._for_update  # noqa: S608
        )
        return int(str(seq)), str(link), None if at is None else parse_utc(str(at))

    def append(self, drafts: Sequence[EvidenceDraft], now: datetime) -> list[Entry]:
        """Number, date, hash and link ``drafts`` after the head, in order; insert them and move the
        head (call inside the transaction of the state change they record)."""
        if not drafts:
            return []
        seq, head, previous = self._lock_head()
        entries: list[Entry] = []
        values: list[object] = []
        for draft in drafts:
            previous = next_instant(previous, now)
            seq += 1
            entry = draft.numbered(seq, previous)
            entry = Entry(**{**entry.as_dict(), **{k: _clean(getattr(entry, k)) for k in _TEXT_FIELDS}})
            content = content_hash(entry)
            head = link_hash(head, content)
            entries.append(entry)
            values += [entry.seq, entry.at_utc, entry.at_local, entry.kind, entry.sender,
                       entry.document_id, entry.recipient, entry.package_digest,
                       canonical_json(entry.body).decode(), content, head]
        width = len(ENTRY_COLUMNS)
        for start in range(0, len(entries), _INSERT_ROWS):
            chunk = values[start * width : (start + _INSERT_ROWS) * width]
            groups = ", ".join(["(" + ", ".join("?" * width) + ")"] * (len(chunk) // width))
            names = ", ".join(ENTRY_COLUMNS)
            self._db.execute(f"INSERT INTO evidence_log ({names}) VALUES {groups}", chunk)  # noqa: S608
        self._db.execute(
            "UPDATE evidence_head SET seq = ?, entry_hash = ?, at_utc = ? WHERE id = 1",
            (seq, head, entries[-1].at_utc),
        )
        return entries

    def head(self) -> tuple[int, str, str | None]:
        """(the last entry's seq, its link, its instant) as committed: 0 and the genesis link at first."""
        [(seq, link, at)] = self._query("SELECT seq, entry_hash, at_utc FROM evidence_head WHERE id = 1", ())
        return int(str(seq)), str(link), None if at is None else str(at)

    def last_checkpoint(self) -> Checkpoint | None:
        rows = self._query(_SELECT_CHECKPOINTS + " ORDER BY seq DESC LIMIT 1", ())
        return checkpoint_from_row(rows[0]) if rows else None

    def checkpoint(
        self, sign: Signer, now: datetime, *, every_entries: int | None = None,
        every_seconds: float | None = None,
    ) -> Checkpoint | None:
        """Sign the head if it moved since the last checkpoint (and, when ``every_entries`` or
        ``every_seconds`` is given, only once that many entries or seconds have passed: whichever
        first); None when there is nothing to sign yet. Under the head's lock (same transaction)."""
        seq, head, head_at = self._lock_head()
        last = self._db.query("SELECT seq, at_utc FROM evidence_checkpoints ORDER BY seq DESC LIMIT 1")
        last_seq = int(str(last[0][0])) if last else 0
        if seq <= last_seq:
            return None
        if every_entries is not None or every_seconds is not None:
            enough = every_entries is not None and seq - last_seq >= every_entries
            # since the last checkpoint, or the first entry none covers yet
            since = last or self._db.query(
                "SELECT seq, at_utc FROM evidence_log WHERE seq = ?", (last_seq + 1,)
            )
            old = every_seconds is not None and (
                not since or now - parse_utc(str(since[0][1])) >= timedelta(seconds=every_seconds)
            )
            if not (enough or old):
                return None
        at = max(now, head_at) if head_at is not None else now
        checkpoint = sign(seq, head, format_utc(at))
        self._db.execute(
            "INSERT INTO evidence_checkpoints (seq, head_hash, at_utc, hub_id, statement, tsa_token)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (seq, head, checkpoint.at_utc, checkpoint.hub_id, checkpoint.statement.to_json(),
             checkpoint.tsa_token),
        )
        return checkpoint

    def set_tsa_token(self, seq: int, token: str) -> None:
        self._db.execute("UPDATE evidence_checkpoints SET tsa_token = ? WHERE seq = ?", (token, seq))

    def entries_of(self, document_id: str) -> list[Entry]:
        rows = self._query(_SELECT_ENTRIES + " WHERE document_id = ? ORDER BY seq", (document_id,))
        return [entry_from_row(r)[0] for r in rows]

    def proof(self, seq: int) -> Proof | None:
        """Entry ``seq`` with the links up to the first checkpoint at or after it; None before that
        checkpoint exists (or for no such entry)."""
        found = self._query(_SELECT_ENTRIES + " WHERE seq = ?", (seq,))
        checkpoints = self._query(_SELECT_CHECKPOINTS + " WHERE seq >= ? ORDER BY seq LIMIT 1", (seq,))
        if not found or not checkpoints:
            return None
        checkpoint = checkpoint_from_row(checkpoints[0])
        before = self._query("SELECT entry_hash FROM evidence_log WHERE seq = ?", (seq - 1,))
        prev = str(before[0][0]) if before else GENESIS_HASH
        links = self._query(
            "SELECT content_hash FROM evidence_log WHERE seq > ? AND seq <= ? ORDER BY seq",
            (seq, checkpoint.seq),
        )
        return Proof(entry_from_row(found[0])[0], prev, tuple(str(r[0]) for r in links), checkpoint)

    def rows(self, after: int = 0) -> Iterator[tuple[Entry, str, str]]:
        """Every stored entry in ``seq`` order with its stored hashes, a page at a time."""
        while True:
            page = self._query(_SELECT_ENTRIES + " WHERE seq > ? ORDER BY seq LIMIT ?", (after, _PAGE))
            yield from (entry_from_row(r) for r in page)
            if len(page) < _PAGE:
                return
            after = int(str(page[-1][0]))

    def checkpoints(self, after: int = 0) -> Iterator[Checkpoint]:
        while True:
            page = self._query("SELECT seq, statement, tsa_token FROM evidence_checkpoints WHERE seq > ?"
                               " ORDER BY seq LIMIT ?", (after, _PAGE))
            yield from (checkpoint_from_row(r[1:]) for r in page)
            if len(page) < _PAGE:
                return
            after = int(str(page[-1][0]))


_TEXT_FIELDS = ("at_utc", "at_local", "kind", "sender", "document_id", "recipient", "package_digest")


def _judged_at(value: object) -> datetime:
    """A row's time for the audit; one that cannot be read (an operator's edit) is taken as after the
    log began, so that it never exempts its row from being compared with the log."""
    try:
        return utc_from_db(value)
    except (ValueError, TypeError, OverflowError):
        return datetime.max.replace(tzinfo=UTC)


class AuditReader:
    """What ``vb audit verify`` compares with the log, each stream in document order (code point
    order: ``COLLATE "C"`` on PostgreSQL, SQLite's binary order), read through one snapshot
    (``SqlStore.read_snapshot``) a batch at a time."""

    def __init__(self, db: Driver) -> None:
        self._db = db
        self._c = ' COLLATE "C"' if db.dialect.name == "postgresql" else ""

    def log_began(self) -> datetime | None:
        """When migration 8 made the evidence log: what the store recorded before has no entries."""
        rows = self._db.query("SELECT applied_at FROM schema_version WHERE version = 8")
        return utc_from_db(rows[0][0]) if rows else None

    def documents(self) -> Iterator[tuple[str, str, datetime]]:
        """(document_id, sha256 of the first package recorded under it, when it was received)."""
        sql = f"SELECT document_id, sha256, received_at FROM documents ORDER BY document_id{self._c}"  # noqa: S608
        for row in self._db.stream(sql):
            yield str(row[0]), str(row[1]), _judged_at(row[2])

    def document_count(self) -> int:
        [(n,)] = self._db.query("SELECT COUNT(*) FROM documents")
        return int(str(n))

    def pairs(self) -> Iterator[tuple[str, str, bool]]:
        """(document_id, recipient, whether the broker confirmed its copy)."""
        sql = (f"SELECT document_id, recipient, forwarded_at FROM pairs"  # noqa: S608
               f" ORDER BY document_id{self._c}, recipient{self._c}")
        for row in self._db.stream(sql):
            yield str(row[0]), str(row[1]), row[2] is not None

    def statuses(self) -> Iterator[tuple[str, str, str, str | None, datetime]]:
        """(document_id, recipient, code, message_id, received_at) of every status event."""
        sql = ("SELECT document_id, recipient, code, message_id, received_at FROM status_events"  # noqa: S608
               f" ORDER BY document_id{self._c}, id")
        for row in self._db.stream(sql):
            yield (str(row[0]), str(row[1]), str(row[2]), None if row[3] is None else str(row[3]),
                   _judged_at(row[4]))

    def entries(self, kinds: Sequence[str]) -> Iterator[tuple[Entry, str, str]]:
        """The entries of ``kinds`` in document order, then ``seq``."""
        marks = ", ".join("?" for _ in kinds)
        sql = f"{_SELECT_ENTRIES} WHERE kind IN ({marks}) ORDER BY document_id{self._c}, seq"
        yield from (entry_from_row(r) for r in self._db.stream(sql, tuple(kinds)))

    def refusals(self) -> Iterator[tuple[str, str, str | None, str, str, datetime]]:
        """(document_id or "", sender or "", recipient, reason, message_id, at) of every refusal."""
        doc = "COALESCE(document_id, '')"
        sql = (f"SELECT {doc}, COALESCE(sender, ''), recipient, reason, message_id, at FROM refusals"  # noqa: S608
               f" ORDER BY {doc}{self._c}, id")
        for row in self._db.stream(sql):
            recipient = None if row[2] is None else str(row[2])
            yield str(row[0]), str(row[1]), recipient, str(row[3]), str(row[4]), _judged_at(row[5])

    def actions(self) -> Iterator[tuple[str, tuple[str | None, ...], datetime]]:
        """(document_id or "", (sender or "", actor, action, message_id, reason, outcome), at) of every
        operator action."""
        doc = "COALESCE(document_id, '')"
        sql = (f"SELECT {doc}, COALESCE(sender, ''), actor, action, message_id, reason, outcome, at"  # noqa: S608
               f" FROM operator_actions ORDER BY {doc}{self._c}, id")
        for row in self._db.stream(sql):
            yield str(row[0]), tuple(None if v is None else str(v) for v in row[1:7]), _judged_at(row[7])

    def receipt_ids(self) -> Iterator[tuple[int, str]]:
        """(seq, receipt_id) of every kept receipt, in ``seq`` order."""
        sql = "SELECT seq, receipt_id FROM evidence_receipts ORDER BY seq, receipt_id"
        yield from ((int(str(seq)), str(rid)) for seq, rid in self._db.stream(sql))

    def receipts(self) -> Iterator[Row]:
        """Every receipt the hub kept, by seal (a batch's together), with its seal and the log entry
        it names: (receipt_id, document_id, kind, recipient, seq, seal_id, body, seal statement,
        the entry's link, at_utc, document_id and package_digest; None when the log has no such entry)."""
        sql = ("SELECT r.receipt_id, r.document_id, r.kind, r.recipient, r.seq, r.seal_id, r.body,"  # noqa: S608
               " s.statement, l.entry_hash, l.at_utc, l.document_id, l.package_digest"
               " FROM evidence_receipts r LEFT JOIN evidence_seals s ON s.seal_id = r.seal_id"
               " LEFT JOIN evidence_log l ON l.seq = r.seq"
               f" ORDER BY r.seal_id{self._c}, r.receipt_id{self._c}")
        yield from self._db.stream(sql)

    def chain(self) -> Iterator[tuple[Entry, str, str]]:
        yield from (entry_from_row(r) for r in self._db.stream(_SELECT_ENTRIES + " ORDER BY seq"))

    def checkpoints(self) -> Iterator[Checkpoint]:
        yield from (checkpoint_from_row(r) for r in self._db.stream(_SELECT_CHECKPOINTS + " ORDER BY seq"))

    def at_utc_of(self, seq: int) -> str | None:
        """The stored instant of entry ``seq``, or None."""
        rows = self._db.query("SELECT at_utc FROM evidence_log WHERE seq = ?", (seq,))
        return str(rows[0][0]) if rows else None

    def count(self) -> int:
        [(n,)] = self._db.query("SELECT seq FROM evidence_head WHERE id = 1")
        return int(str(n))

    def head(self) -> tuple[int, str]:
        [(seq, link)] = self._db.query("SELECT seq, entry_hash FROM evidence_head WHERE id = 1")
        return int(str(seq)), str(link)
