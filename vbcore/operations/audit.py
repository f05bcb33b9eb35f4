"""``vb audit verify``: the hub's evidence log re-checked whole, and the tracking store against it.

Two passes over one read-only snapshot of the store (``SqlStore.read_snapshot``), each streamed, so
memory does not grow with the log (bench/bench_evidence.py measures a million entries):

1. The chain, in ``seq`` order (``evidence.chain.ChainWalk``): every entry's content hash and link,
   ``seq`` without gaps, instants strictly increasing, every checkpoint's signature against the trust
   store and its head against the chain, its RFC 3161 time-stamp when it has one; the first entry
   altered, removed, inserted, reordered or rewritten is named, and the walk stops there (what follows
   a break cannot be judged).
2. The store against the log, document by document (both read in document order and merged; one
   document's rows in memory at a time): each document has its ``package-accepted`` entry with the same
   SHA-256, each pair is a recipient an accepted entry claimed and vice versa, a pair marked forwarded
   has its ``copy-delivered`` entry and vice versa, each status event its ``status-received`` entry and
   vice versa. What the store recorded before the evidence log began (migration 8) is counted, not
   judged. Findings here are listed up to ``max_findings`` and counted beyond.
3. The hub's receipts, by seal: each seal's signature (once per seal, the hub's certificate), each
   receipt's path to the sealed root, its row, and the log entry it names (link, instant, document,
   package). An operator who rewrites the log and re-signs its checkpoints with the hub's own key
   still leaves the receipts the hub issued naming the old links.

The store is only as good as the chain: a store finding names the document, and a chain finding
says which entries can no longer be believed.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from vbcore.errors import EvidenceInvalid
from vbcore.evidence.chain import CHECKPOINT_INVALID, CHECKPOINT_MISSING, ChainWalk, Finding
from vbcore.evidence.checkpoint import Checkpoint, verify_timestamp
from vbcore.evidence.entry import (
    COPY_DELIVERED,
    OPERATOR_ACTION,
    PACKAGE_ACCEPTED,
    PACKAGE_REFUSED,
    STATUS_RECEIVED,
    Entry,
    parse_utc,
)
from vbcore.evidence.receipt import Receipt, under_seal, verify_seal
from vbcore.evidence.statement import Statement
from vbcore.hub.receipts import RECEIPT_KEY
from vbcore.security.trust import TrustStore
from vbcore.store.evidence_log import AuditReader
from vbcore.store.sql import SqlStore

MAX_FINDINGS = 100
MAX_UNSIGNED_AGE = timedelta(minutes=10)
"""How old an entry may be and still carry no checkpoint: a running hub signs the head at least every
``DEFAULT_INTERVAL_SECONDS`` (60 s) while entries come in, and on shutdown. An older unsigned entry
means checkpoints were removed (and the log perhaps rewritten: nothing signed vouches for it), or the
hub stopped without its shutdown checkpoint: both are findings, never "intact"."""
Progress = Callable[[str, int, int], None]  # (phase "chain" | "store", done, total)
T = TypeVar("T")

# what a store finding is
UNLOGGED = "unlogged"  # a store row with no entry: inserted into the store, or its entry removed
UNRECORDED = "unrecorded"  # an entry with no store row: removed from the store
CHANGED = "changed"  # the store row says something else than its entry


@dataclass(frozen=True)
class Discrepancy:
    """The store and the log disagree about ``document_id``."""

    document_id: str
    what: str
    en: str
    vi: str

    def describe(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


@dataclass
class AuditReport:
    entries: int = 0
    head: int = 0
    checkpoints: int = 0  # verified
    covered: int = 0  # the last entry a verified checkpoint vouches for
    timestamped: int = 0  # checkpoints whose RFC 3161 time-stamp verified
    hubs: list[str] = field(default_factory=list)  # the hubs that signed the checkpoints checked
    receipts: int = 0  # the hub's receipts checked against their seals and the log
    documents: int = 0
    before_log: int = 0  # documents recorded before the evidence log began: not judged
    chain: Finding | None = None
    tsa: list[Finding] = field(default_factory=list)
    store: list[Discrepancy] = field(default_factory=list)
    store_total: int = 0

    @property
    def clean(self) -> bool:
        return self.chain is None and not self.tsa and self.store_total == 0


def audit(
    store: SqlStore, trust: TrustStore, *, tsa_trust: TrustStore | None = None, hub_id: str | None = None,
    max_unsigned_age: timedelta = MAX_UNSIGNED_AGE, now: datetime | None = None,
    progress: Progress | None = None, max_findings: int = MAX_FINDINGS,
    on_discrepancy: Callable[[Discrepancy], None] | None = None,
) -> AuditReport:
    """Check the log and the store (see the module docstring); never raises for what it finds. Every
    checkpoint must be signed by a certificate that binds the hub id it states (with ``hub_id``: that
    hub's), never merely one the CA issued: an agency's would do otherwise."""
    report = AuditReport()
    tell = progress or (lambda _phase, _done, _total: None)
    with store.read_snapshot() as reader:
        found = _recorder(report, max_findings, on_discrepancy)
        _walk_chain(reader, trust, tsa_trust or trust, report, tell, hub_id, found)
        _unsigned(reader, report, max_unsigned_age, now or datetime.now(UTC))
        _cross_check(reader, report, tell, found)
        _check_receipts(reader, trust, hub_id, report, found)
    return report


def _recorder(report: AuditReport, max_findings: int,
              on_discrepancy: Callable[[Discrepancy], None] | None) -> Callable[[Discrepancy], None]:
    def found(item: Discrepancy) -> None:
        report.store_total += 1
        if len(report.store) < max_findings:
            report.store.append(item)
            if on_discrepancy is not None:
                on_discrepancy(item)

    return found


# --- the chain ---------------------------------------------------------------------------------------

def _walk_chain(reader: AuditReader, trust: TrustStore, tsa_trust: TrustStore, report: AuditReport,
                tell: Progress, hub_id: str | None, found: Callable[[Discrepancy], None]) -> None:
    head_seq, head_hash = reader.head()
    report.head = head_seq
    walk = ChainWalk(_stamped(reader.checkpoints(), tsa_trust, report, trust), trust, hub_id)
    kept = reader.receipt_ids()  # (seq, receipt_id) in seq order, merged with the walk
    pending = next(kept, None)
    for row in reader.chain():
        report.entries += 1
        entry = row[0]
        while pending is not None and pending[0] < entry.seq:
            pending = next(kept, None)
        here = set()
        while pending is not None and pending[0] == entry.seq:
            here.add(pending[1])
            pending = next(kept, None)
        named = entry.body.get(RECEIPT_KEY)
        if isinstance(named, str) and named not in here:  # "no entry without its receipt"
            what = f"{entry.seq} ({entry.kind})"
            found(Discrepancy(entry.document_id, UNRECORDED,
                              f"entry {what} names receipt {named[:40]}, which the store no longer holds",
                              f"mục {what} ghi biên nhận {named[:40]}, mà kho không còn giữ"))
        if walk.feed(*row) is not None:
            break
        if report.entries % 1000 == 0:
            tell("chain", report.entries, head_seq)
    tell("chain", report.entries, head_seq)
    report.chain = walk.finish(head_seq, head_hash)
    report.checkpoints, report.covered = walk.checkpoints_checked, walk.covered
    report.hubs = sorted(walk.hubs)


def _unsigned(reader: AuditReader, report: AuditReport, max_age: timedelta, now: datetime) -> None:
    """An intact chain whose entries after the last checkpoint are older than ``max_age``."""
    if report.chain is not None or report.covered >= report.entries:
        return
    first = report.covered + 1
    at = reader.at_utc_of(first)
    try:
        old = at is None or parse_utc(at) < now - max_age
    except EvidenceInvalid:
        old = True
    if old:
        report.chain = Finding(
            first, CHECKPOINT_MISSING,
            f"entries {first} to {report.entries} carry no checkpoint although entry {first} is from {at}: "
            "the checkpoints were removed (nothing the hub signed vouches for these entries), or the hub "
            "stopped without its shutdown checkpoint",
            f"các mục {first} đến {report.entries} không có điểm chốt nào dù mục {first} từ lúc {at}: các "
            "điểm chốt đã bị xóa (không gì trục đã ký bảo đảm cho các mục này), hoặc trục đã dừng mà không "
            "ký điểm chốt khi tắt")


def _stamped(
    checkpoints: Iterator[Checkpoint], trust: TrustStore, report: AuditReport, hub_trust: TrustStore
) -> Iterator[Checkpoint]:
    """The checkpoints as they are, each time-stamp checked on the way (a bad one is a finding)."""
    for checkpoint in checkpoints:
        if checkpoint.tsa_token is not None:
            try:
                verify_timestamp(checkpoint, trust, hub_trust)
                report.timestamped += 1
            except EvidenceInvalid as exc:
                report.tsa.append(Finding(checkpoint.seq, CHECKPOINT_INVALID,
                                          f"checkpoint at entry {checkpoint.seq}: {exc}",
                                          f"điểm chốt tại mục {checkpoint.seq}: {exc.detail_vi or exc}"))
        yield checkpoint


# --- the store against the log ----------------------------------------------------------------------

_KINDS = (PACKAGE_ACCEPTED, COPY_DELIVERED, STATUS_RECEIVED, PACKAGE_REFUSED, OPERATOR_ACTION)


def _grouped(rows: Iterable[T], key: Callable[[T], str]) -> Iterator[tuple[str, list[T]]]:
    for document_id, group in itertools.groupby(rows, key):
        yield document_id, list(group)


def _cross_check(reader: AuditReader, report: AuditReport, tell: Progress,
                 found: Callable[[Discrepancy], None]) -> None:
    began = reader.log_began()
    total = reader.document_count()
    streams: list[Iterator[tuple[str, list[Any]]]] = [
        _grouped(reader.documents(), lambda r: r[0]),
        _grouped(reader.pairs(), lambda r: r[0]),
        _grouped(reader.statuses(), lambda r: r[0]),
        _grouped(reader.refusals(), lambda r: r[0]),
        _grouped(reader.actions(), lambda r: r[0]),
        _grouped(reader.entries(_KINDS), lambda r: r[0].document_id),
    ]
    current: list[tuple[str, list[Any]] | None] = [next(s, None) for s in streams]

    while any(c is not None for c in current):
        key = min(c[0] for c in current if c is not None)
        groups: list[list[Any]] = []
        for i, c in enumerate(current):
            if c is not None and c[0] == key:
                groups.append(c[1])
                current[i] = next(streams[i], None)
            else:
                groups.append([])
        documents, pairs, statuses, refusals, actions, entries = groups
        if documents:
            report.documents += 1
            if report.documents % 1000 == 0:
                tell("store", report.documents, total)
        old = began is not None and bool(documents) and documents[0][2] < began
        report.before_log += old
        logged = [e for e, _, _ in entries]
        for item in _compare(key, documents, pairs, statuses, logged, began, old):
            found(item)
        for item in _compare_refusals(key, refusals, actions, logged, began):
            found(item)
    tell("store", report.documents, total)


def _compare(document_id: str, documents: list[Any], pairs: list[Any], statuses: list[Any],
             entries: list[Entry], began: datetime | None, old: bool) -> Iterator[Discrepancy]:
    d = document_id
    accepted = [e for e in entries if e.kind == PACKAGE_ACCEPTED]
    if not old:
        if documents and not accepted:
            yield Discrepancy(d, UNLOGGED, f"document {d} is in the store but no entry accepted it",
                              f"văn bản {d} có trong kho theo dõi nhưng không có mục nào ghi nhận tiếp nhận")
        if accepted and not documents:
            seq = accepted[0].seq
            yield Discrepancy(
                d, UNRECORDED, f"entry {seq} accepted document {d}, which the store no longer has",
                f"mục {seq} ghi nhận tiếp nhận văn bản {d} nhưng kho theo dõi không còn văn bản này")
        if accepted and documents and documents[0][1] != accepted[0].package_digest:
            seq = accepted[0].seq
            yield Discrepancy(
                d, CHANGED, f"the store's SHA-256 of document {d} is not the one entry {seq} logged",
                f"mã SHA-256 của văn bản {d} trong kho theo dõi khác mã mục {seq} đã ghi")
        yield from _compare_pairs(d, pairs, entries, accepted)
    yield from _compare_statuses(d, statuses, entries, began)


def _compare_pairs(
    d: str, pairs: list[Any], entries: list[Entry], accepted: list[Entry]
) -> Iterator[Discrepancy]:
    claimed: set[str] = set()
    for entry in accepted:
        claimed.update(str(r) for r in entry.body.get("recipients", []))
        claimed.update(str(r) for r in entry.body.get("refused", {}))
    delivered = {e.recipient for e in entries if e.kind == COPY_DELIVERED}
    stored = {recipient: forwarded for _, recipient, forwarded in pairs}
    for recipient in sorted(set(stored) - claimed):
        yield Discrepancy(d, UNLOGGED, f"the pair ({d}, {recipient}) is in the store but no entry claimed it",
                          f"cặp ({d}, {recipient}) có trong kho theo dõi nhưng không mục nào ghi nhận")
    for recipient in sorted(claimed - set(stored)):
        yield Discrepancy(d, UNRECORDED, f"the pair ({d}, {recipient}) was logged but is not in the store",
                          f"cặp ({d}, {recipient}) đã được ghi nhận nhưng không còn trong kho theo dõi")
    for recipient, forwarded in sorted(stored.items()):
        if forwarded and recipient not in delivered:
            yield Discrepancy(d, UNLOGGED,
                              f"the store says the copy for {recipient} was delivered; no entry says so",
                              f"kho theo dõi ghi bản gửi {recipient} đã chuyển; không mục nào ghi vậy")
        if not forwarded and recipient in delivered:
            yield Discrepancy(d, CHANGED, f"an entry says the copy for {recipient} was delivered; the store "
                              "says not", f"một mục ghi bản gửi {recipient} đã chuyển; kho theo dõi ghi chưa")


def _compare_statuses(d: str, statuses: list[Any], entries: list[Entry],
                      began: datetime | None) -> Iterator[Discrepancy]:
    logged = Counter((e.recipient, str(e.body.get("code")), e.body.get("message_id"))
                     for e in entries if e.kind == STATUS_RECEIVED)
    stored = Counter((recipient, code, message_id) for _, recipient, code, message_id, at in statuses
                     if began is None or at >= began)
    for (recipient, code, _mid), n in sorted((stored - logged).items(), key=str):
        yield Discrepancy(d, UNLOGGED, f"{n} status {code} about {recipient} in the store with no entry",
                          f"{n} trạng thái {code} về {recipient} có trong kho theo dõi mà không có mục nào")
    for (recipient, code, _mid), n in sorted((logged - stored).items(), key=str):
        yield Discrepancy(d, UNRECORDED, f"{n} status {code} about {recipient} logged but not in the store",
                          f"{n} trạng thái {code} về {recipient} đã được ghi nhận nhưng không có trong kho "
                          "theo dõi")


def _compare_refusals(d: str, refusals: list[Any], actions: list[Any], entries: list[Entry],
                      began: datetime | None) -> Iterator[Discrepancy]:
    """Each refusal (the 02 the sender got) and each operator action has its entry, and vice versa."""
    def since(at: datetime) -> bool:
        return began is None or at >= began

    logged = Counter((e.sender, e.recipient, str(e.body.get("reason")), str(e.body.get("message_id")))
                     for e in entries if e.kind == PACKAGE_REFUSED)
    stored = Counter((sender, recipient, reason, message_id)
                     for _, sender, recipient, reason, message_id, at in refusals if since(at))
    name = d or "(none)"
    for direction, items in (("stored", stored - logged), ("logged", logged - stored)):
        for (_, recipient, reason, mid), n in sorted(items.items(), key=str):
            en = f"{n} refusal ({reason}) of message {mid} for {recipient or 'all'} about document {name}"
            vi = f"{n} lần từ chối ({reason}) tin {mid} cho {recipient or 'mọi nơi nhận'} về văn bản {name}"
            yield _one_side(d, direction, en, vi)
    body = ("actor", "action", "message_id", "reason", "outcome")
    logged_actions = Counter((e.sender, *(e.body.get(k) for k in body))
                             for e in entries if e.kind == OPERATOR_ACTION)
    stored_actions = Counter(values for _, values, at in actions if since(at))
    for side, differing in (("stored", stored_actions - logged_actions),
                            ("logged", logged_actions - stored_actions)):
        for values, n in sorted(differing.items(), key=str):
            en = f"{n} operator action {values[2]} by {values[1]} on message {values[3]}"
            vi = f"{n} thao tác {values[2]} của {values[1]} trên tin {values[3]}"
            yield _one_side(d, side, en, vi)


def _one_side(d: str, direction: str, en: str, vi: str) -> Discrepancy:
    """In the store with no entry (``stored``), or logged but not in the store."""
    if direction == "stored":
        return Discrepancy(d, UNLOGGED, f"{en} in the store with no entry",
                           f"{vi} có trong kho theo dõi mà không có mục nào")
    return Discrepancy(d, UNRECORDED, f"{en} logged but not in the store",
                       f"{vi} đã được ghi nhận nhưng không có trong kho theo dõi")


# --- the hub's receipts against their seals and the log -----------------------------------------------

def _receipt_finding(found: Callable[[Discrepancy], None], document: str,
                     receipt: str) -> Callable[..., None]:
    def bad(en: str, vi: str, what: str = CHANGED) -> None:
        found(Discrepancy(document, what, f"receipt {receipt}: {en}", f"biên nhận {receipt}: {vi}"))

    return bad


def _check_receipts(reader: AuditReader, trust: TrustStore, hub_id: str | None, report: AuditReport,
                    found: Callable[[Discrepancy], None]) -> None:
    """Each kept receipt: its seal signed by the hub (verified once per seal: the rows come by seal),
    its path to the sealed root, its row's columns as it says, and the log entry it names, with that
    link and instant, about that document and package. An operator who edits a receipt, or the log
    under it, leaves receipts that no longer match."""
    current: tuple[str, dict[str, Any] | EvidenceInvalid] | None = None
    for row in reader.receipts():
        receipt_id, document, kind, _, _, seal_id, body, statement = (str(v) for v in row[:8])
        link, at_utc, entry_document, entry_digest = row[8:12]
        report.receipts += 1
        bad = _receipt_finding(found, document, f"{receipt_id[:40]} ({kind})")

        try:
            kept = json.loads(body)
            receipt = Receipt(kept["receipt"], tuple(kept["path"]), Statement.from_json(statement))
            if current is None or current[0] != seal_id:
                try:
                    current = (seal_id, verify_seal(receipt, trust, hub_id))
                except EvidenceInvalid as exc:
                    current = (seal_id, exc)
            if isinstance(current[1], EvidenceInvalid):
                raise current[1]
            said = under_seal(receipt, current[1])
        except (EvidenceInvalid, ValueError, KeyError, TypeError) as exc:
            vi = exc.detail_vi if isinstance(exc, EvidenceInvalid) else str(exc)
            bad(str(exc), vi or str(exc))
            continue
        stated = (str(said["id"]), said["document_id"], said["kind"], said.get("recipient"), said["seq"],
                  str(current[1].get("root")))
        if stated != (receipt_id, document, kind, row[3], row[4], seal_id):
            bad("its row in the store does not say what the receipt says",
                "dòng của nó trong kho không ghi đúng nội dung biên nhận")
        if link is None:
            bad(f"it names log entry {said['seq']}, which the log does not hold",
                f"nó ghi mục nhật ký {said['seq']}, mà nhật ký không có", UNRECORDED)
        elif (str(link), str(at_utc), str(entry_document), entry_digest) != (
            said["entry_hash"], said["at_utc"], said["document_id"], said["package_digest"]
        ):
            bad(f"log entry {said['seq']} is not the one it was issued for (link, time, document or package)",
                f"mục nhật ký {said['seq']} không phải mục mà nó được cấp cho (mắt xích, thời điểm, văn bản "
                "hoặc gói tin)")
