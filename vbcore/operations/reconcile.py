"""Reconciliation: what every connector's ledger says it sent and received, what the hub tracked, and
what every recipient acknowledged, compared; each (document, recipient) that stopped on the way is a
``Gap`` (``vbcore.operations.gaps``: where it stopped, what to do).

``reconcile(store, ledgers, parked=...)`` reads three sources once each, in streams:

1. the ledgers (``vbcore.operations.ledgers``): per sender, what it sent to whom and whether the broker
   confirmed it, and the statuses that came back; per recipient, what reached its DMS and whether its
   01 (or 02) was confirmed;
2. the store's pairs with their documents (``TrackingStore.delivery_pairs``, a page at a time);
3. optionally the parking queue (``vbcore.hub.parked.scan``), to name the parked message to replay.

They meet in a scratch SQLite file (``workbook``), so memory stays flat however large the store (see
``bench/bench_reconcile.py``). Then four checks, each a streamed query: what senders sent that the hub
never tracked; each pair the hub tracked, against both ledgers; what recipients hold that the hub never
tracked; parked messages no gap explained. A check is made only where its evidence was given: without
an agency's ledger, its side is not judged (``Reconciliation.unledgered`` names such agencies).

What is compared is the way to the 01: new documents and replacements (delivered into the DMS and
answered 01/02). A revoke or an update is checked as far as its forwarding: its 15/16 may rightly wait
for days. Windows (``since``/``until``) choose what is checked by when it started (sent, accepted by the
hub, delivered); every source is still read whole around them, so a document sent just before ``until``
and accepted just after is not a gap.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from vbcore.connector.ledger import Ledger
from vbcore.hub.parked import ParkedMessage
from vbcore.hub.routing import document_key, document_owner
from vbcore.operations.checks import Checks
from vbcore.operations.gaps import Gap
from vbcore.operations.ledgers import LedgerFile, find_ledgers
from vbcore.operations.workbook import Workbook, stamp
from vbcore.store import TrackingStore, open_store
from vbcore.store.api import KEY_SEPARATOR, DocumentRecord, PairRecord
from vbcore.transport.names import Names

KEEP_GAPS = 1000  # ``Reconciliation.gaps`` keeps the first ones (``on_gap`` sees every one)
# The hub's pairs read around a window: an agency's clock may run ahead of the hub's by this much.
CLOCK_SKEW = timedelta(days=1)
SHOWN_UNLEDGERED = 20

Progress = Callable[[str, int], None]  # (phase: "ledgers", "store", "parked", "checks"; items so far)


@dataclass
class Reconciliation:
    """What a reconciliation read and found. ``gaps`` keeps the first ``KEEP_GAPS``; ``total`` counts all."""

    ledgers: list[LedgerFile] = field(default_factory=list)
    pairs: int = 0  # pairs of the store in the window
    sent: int = 0  # (document, recipient) rows of the senders' ledgers in the window
    delivered: int = 0  # documents in the recipients' ledgers in the window
    parked: int | None = None  # messages in the parking queue (None: not read)
    by_stage: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    unledgered: int = 0  # agencies in the store with no ledger given
    unledgered_shown: tuple[str, ...] = ()  # the first few of them

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())

    def add(self, gap: Gap) -> None:
        self.by_stage[gap.stage] = self.by_stage.get(gap.stage, 0) + 1
        if len(self.gaps) < KEEP_GAPS:
            self.gaps.append(gap)


def reconcile(
    store: TrackingStore | str,
    ledgers: Sequence[Path | str] | Sequence[LedgerFile],
    *,
    parked: Iterable[ParkedMessage] | None = None,
    names: Names | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_gap: Callable[[Gap], None] | None = None,
    progress: Progress | None = None,
    work_dir: Path | None = None,
) -> Reconciliation:
    """Compare the store (an open store, or its URL) with the ledgers (paths of ledger files or of
    folders holding them) and, when given, the parking queue's messages; ``on_gap`` gets each gap as
    it is found. ``names`` tells agencies' broker users (parked messages' senders) from their codes."""
    found = [f for f in ledgers if isinstance(f, LedgerFile)]
    files = (
        found
        if len(found) == len(ledgers)
        else find_ledgers([p for p in ledgers if not isinstance(p, LedgerFile)]) + found
    )
    own_store = isinstance(store, str)
    tracking = open_store(store) if isinstance(store, str) else store
    result = Reconciliation(ledgers=files)
    report = _Reporter(result, on_gap)
    try:
        with tempfile.TemporaryDirectory(prefix="vbus-reconcile-", dir=work_dir) as folder:
            book = Workbook(Path(folder))
            try:
                run = _Run(book, tracking, names or Names(), _Window(since, until), report, progress)
                run.load_ledgers(files)
                run.load_store()
                if parked is not None:
                    run.load_parked(parked)
                book.index()
                run.check()
            finally:
                book.close()
    finally:
        if own_store:
            tracking.close()
    return result


@dataclass(frozen=True)
class _Window:
    since: datetime | None
    until: datetime | None

    def holds(self, at: datetime | None) -> bool:
        if at is None:
            return True
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


class _Reporter:
    def __init__(self, result: Reconciliation, on_gap: Callable[[Gap], None] | None) -> None:
        self.result, self.on_gap = result, on_gap

    def __call__(self, gap: Gap) -> None:
        self.result.add(gap)
        if self.on_gap is not None:
            self.on_gap(gap)


def _written_id(key: str, doc: DocumentRecord | None) -> tuple[str | None, str]:
    """(sender, DocumentId as written) of a tracked id, from its document or from the id itself."""
    if doc is not None:
        return doc.sender, doc.edxml_document_id or doc.document_id.removeprefix(doc.sender + KEY_SEPARATOR)
    owner, sep, written = key.partition(KEY_SEPARATOR)
    return (owner, written) if sep else (document_owner(key), key)


class _Run:
    def __init__(
        self,
        book: Workbook,
        store: TrackingStore,
        names: Names,
        window: _Window,
        report: _Reporter,
        progress: Progress | None,
    ) -> None:
        self.book, self.store, self.names, self.window = book, store, names, window
        self.report, self.result = report, report.result
        self.progress = progress or (lambda _phase, _n: None)

    # --- reading ---------------------------------------------------------------------------------
    def load_ledgers(self, files: list[LedgerFile]) -> None:
        agencies: dict[str, tuple[str | None, int]] = {}
        for number, file in enumerate(files, 1):
            ledger = Ledger(file.path)
            try:
                self.result.sent += self.book.add("sent", self._sent_rows(file.agency, ledger))
                self.result.delivered += self.book.add("delivered", self._delivered_rows(file.agency, ledger))
                self.book.add(
                    "answers",
                    (
                        (file.agency, s.document_id, s.from_agency, s.code)
                        for s in ledger.all_statuses_received()
                    ),
                    ignore=True,
                )
                since = stamp(ledger.statuses_since)
            finally:
                ledger.close()
            earlier, count = agencies.get(file.agency, (since, 0))
            agencies[file.agency] = (max(filter(None, (earlier, since)), default=None), count + 1)
            self.progress("ledgers", number)
        self.book.add("ledgers", ((code, since, count) for code, (since, count) in agencies.items()))
        # Counted in the window only (rows outside it are read for look-ups, not checked).
        self.result.sent = self._count("sent")
        self.result.delivered = self._count("delivered")

    def _count(self, table: str) -> int:
        row = self.book.one(f"SELECT count(*) FROM {table} WHERE in_window = 1")  # noqa: S608 - fixed names
        return int(str(row[0])) if row else 0

    def _sent_rows(self, owner: str, ledger: Ledger) -> Iterator[tuple[object, ...]]:
        for s in ledger.all_sent():
            key, in_window = document_key(owner, s.document_id), int(self.window.holds(s.at))
            for recipient in s.recipients:
                yield owner, key, s.document_id, recipient, int(s.confirmed), int(s.given_up), in_window

    def _delivered_rows(self, owner: str, ledger: Ledger) -> Iterator[tuple[object, ...]]:
        for d in ledger.all_delivered():
            yield (
                owner,
                d.sender,
                d.document_id,
                int(d.answer_sent),
                d.refused_reason,
                int(self.window.holds(d.at)),
            )

    def load_store(self) -> None:
        since = None if self.window.since is None else self.window.since - CLOCK_SKEW
        until = None if self.window.until is None else self.window.until + CLOCK_SKEW
        pairs = self.store.delivery_pairs(accepted_since=since, accepted_before=until)
        self.book.add("hub", self._hub_rows(pairs))
        self.result.pairs = self._count("hub")

    def _hub_rows(
        self, pairs: Iterator[tuple[PairRecord, DocumentRecord | None]]
    ) -> Iterator[tuple[object, ...]]:
        for number, (pair, doc) in enumerate(pairs, 1):
            sender, written = _written_id(pair.document_id, doc)
            yield (
                pair.document_id,
                pair.recipient,
                sender,
                written,
                doc.business_type if doc else None,
                pair.state,
                stamp(pair.last_status_at),
                int(self.window.holds(pair.accepted_at)),
            )
            if number % 10_000 == 0:
                self.progress("store", number)

    def load_parked(self, parked: Iterable[ParkedMessage]) -> None:
        def rows() -> Iterator[tuple[object, ...]]:
            for number, p in enumerate(parked, 1):
                from_inbox = self.names.is_inbox(p.parked_from or "")
                replayable = not from_inbox and p.original_user is not None
                yield (
                    number,
                    p.message_id,
                    p.kind,
                    p.document_id,
                    p.reason,
                    p.sender(self.names),
                    p.recipient,
                    int(from_inbox),
                    int(replayable),
                    0,
                )
                self.progress("parked", number)

        self.result.parked = self.book.add("parked", rows())

    # --- checking --------------------------------------------------------------------------------
    def check(self) -> None:
        checks = Checks(self.book, self.store, self.report, self.progress)
        checks.sent_never_tracked()
        checks.tracked_pairs()
        checks.delivered_never_tracked()
        checks.parked_unexplained()
        self._unledgered()

    def _unledgered(self) -> None:
        query = (
            "SELECT agency FROM (SELECT sender AS agency FROM hub WHERE in_window = 1 AND sender IS NOT NULL"
            " UNION SELECT recipient FROM hub WHERE in_window = 1)"
            " WHERE agency NOT IN (SELECT agency FROM ledgers) ORDER BY agency"
        )
        shown: list[str] = []
        count = 0
        for (agency,) in self.book.rows(query):
            count += 1
            if len(shown) < SHOWN_UNLEDGERED:
                shown.append(str(agency))
        self.result.unledgered, self.result.unledgered_shown = count, tuple(shown)
