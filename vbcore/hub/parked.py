"""The parking queue, for operators: list, show, replay or drop parked messages, one or in bulk.

Browsing takes messages without acknowledging them and closes the connection afterwards, so the
broker puts every one back (nothing is removed except what ``drop`` or ``replay`` settles). ``scan``
streams them (memory does not grow with the queue); ``settle_many`` replays or drops every message a
``ParkedFilter`` matches (ids, reasons, senders) in ONE pass over the queue, on one connection. A pass
looks at as many messages as the queue held when it began: what is parked meanwhile (a replay the hub
refuses again goes back to the end of the queue) waits for the next pass, so a pass always ends.

Who sent a parked message is ``x-vbus-original-user``, recorded when it was parked from the broker's
``user_id`` (``transport.parking``), never from a header its publisher wrote; absent, it came with no
broker-validated identity. A replay goes back to the ingress exchange, published by the hub user (the
operator runs ``vb parked`` as it) and carrying that recorded user: the hub believes it from its own
user only, and checks the replayed package against it as if that agency had just sent it. A message
with no recorded sender cannot be replayed (nobody could be answered), nor one parked from an inbox
(it is a copy the hub already forwarded; the receiving agency refused it).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from vbcore.errors import NotReplayable, statement_of
from vbcore.lang import Lang
from vbcore.transport import Delivery, Outgoing, Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.parking import clean_text


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    reason: str | None
    parked_from: str | None
    original_user: str | None  # the broker-validated publisher; None: it came with no identity
    kind: str | None
    document_id: str | None
    size: int
    delivery: Delivery
    recipient: str | None = None  # whose inbox, for a copy the hub forwarded (parked from an inbox)

    @property
    def reason_code(self) -> str:
        """``not-processed`` of ``not-processed: the store was down``: the refusal's reason."""
        return reason_code(self.reason)

    def sender(self, names: Names) -> str | None:
        """The agency code of the broker-validated publisher (its broker user when it is no agency's)."""
        return names.agency_code(self.original_user) or self.original_user


def reason_code(park_reason: str | None) -> str:
    """The part of a park reason before its first ``:`` (a reason vbus does not know: all of it)."""
    return (park_reason or "").split(":", 1)[0].strip()


def reason_text(reason: str | None, lang: Lang) -> str:
    """``malformed: Gói tin không đúng cú pháp XML``: a park's or refusal's reason and its statement in
    ``lang`` (the detail after the reason is for developers, in English: ``vb parked show`` has it); a
    reason vbus does not know (a recipient's 02, the broker's own dead-lettering) is shown as it is."""
    if not reason:
        return "?"
    code = reason_code(reason)
    statement = statement_of(code, lang)
    return f"{code}: {statement}" if statement != code else reason


@dataclass(frozen=True)
class ParkedFilter:
    """Which parked messages a bulk command takes; empty: every one. Each given criterion must hold."""

    message_ids: frozenset[str] = frozenset()
    reasons: tuple[str, ...] = ()  # a reason code (``not-processed``), or the start of the whole reason
    senders: tuple[str, ...] = ()  # agency codes (or broker users)
    document_ids: frozenset[str] = frozenset()

    def matches(self, parked: ParkedMessage, names: Names) -> bool:
        if self.message_ids and parked.message_id not in self.message_ids:
            return False
        if self.document_ids and parked.document_id not in self.document_ids:
            return False
        reason = parked.reason or ""
        if self.reasons and not any(r in (parked.reason_code, reason) or reason.startswith(r)
                                    for r in self.reasons):  # fmt: skip
            return False
        return not self.senders or bool({parked.sender(names), parked.original_user} & set(self.senders))


def _parked(delivery: Delivery) -> ParkedMessage:
    h = delivery.headers
    return ParkedMessage(
        message_id=delivery.message_id,
        reason=h.get(n.PARK_REASON),
        parked_from=h.get(n.PARKED_FROM),
        original_user=h.get(n.ORIGINAL_USER),
        kind=h.get(n.KIND),
        document_id=h.get(n.DOCUMENT_ID),
        size=len(delivery.body),
        delivery=delivery,
        recipient=h.get(n.RECIPIENT),
    )


def scan(
    open_transport: Callable[[], Transport], names: Names, *, limit: int | None = None
) -> Generator[ParkedMessage, None, None]:
    """Every parked message (the first ``limit`` when given), streamed and left in the queue: the
    connection closes, and gives them all back, when the iteration ends or is abandoned."""
    transport = open_transport()
    try:
        count = 0
        while limit is None or count < limit:
            d = transport.get(names.parked_queue)
            if d is None:
                return
            count += 1
            yield _parked(d)
    finally:
        transport.close()


def browse(
    open_transport: Callable[[], Transport], names: Names, limit: int | None = None
) -> list[ParkedMessage]:
    """``scan``'s messages as a list (for a few; ``scan`` for a queue of any size)."""
    return list(scan(open_transport, names, limit=limit))


def replay_headers(parked: ParkedMessage, names: Names) -> dict[str, str]:
    """What a replay carries: the recorded sender, and the kind and DocumentId for the hub's log.

    Raises ``NotReplayable`` for a message the hub could not check against a sender, or that the
    ingress did not park."""
    if parked.parked_from not in (names.ingress_queue, names.legacy_ingress_queue):
        raise NotReplayable(
            f"{parked.message_id} was parked from {parked.parked_from}, not from the hub's ingress: only "
            "what the hub refused can be replayed to it",
            vi=f"{parked.message_id} được lưu giữ từ {parked.parked_from}, không phải từ hàng đợi tiếp nhận "
            "của trục: chỉ gói tin trục đã từ chối mới gửi lại được")
    if not parked.original_user:
        raise NotReplayable(
            f"{parked.message_id} came with no broker-validated sender: replayed, nobody could be answered",
            vi=f"{parked.message_id} không kèm cơ quan gửi do máy chủ xác thực: gửi lại thì không trả lời "
            "được ai")
    headers = {n.ORIGINAL_USER: parked.original_user}
    for key, value in ((n.KIND, parked.kind), (n.DOCUMENT_ID, parked.document_id)):
        if (text := clean_text(value)) is not None:
            headers[key] = text
    return headers


DEFAULT_BATCH = 256  # replays published together (many confirms outstanding), then acknowledged


@dataclass(frozen=True)
class SettleReport:
    scanned: int  # parked messages looked at
    settled: int  # replayed (or dropped)
    skipped: int  # matched but not replayable (``on_skipped`` was told why)
    missing: tuple[str, ...] = field(default=())  # ids asked for and not found


Progress = Callable[[int, int], None]  # (messages looked at, messages in the queue when the pass began)
Skipped = Callable[[ParkedMessage, NotReplayable], None]


def settle_many(
    open_transport: Callable[[], Transport],
    names: Names,
    which: ParkedFilter,
    *,
    replay: bool,
    batch: int = DEFAULT_BATCH,
    on_settled: Callable[[ParkedMessage], None] | None = None,
    on_skipped: Skipped | None = None,
    progress: Progress | None = None,
) -> SettleReport:
    """Replay (to the ingress, as the hub user) or drop every parked message ``which`` matches, in one
    pass over the queue as it stood when the pass began (with ids: the first copy of each, and the pass
    stops once all are found). A replay the hub cannot check against a sender is left in the queue and
    reported to ``on_skipped``. If the broker does not confirm a batch of replays, the batch stays
    parked and the error is raised (what was settled before stays settled)."""
    transport = open_transport()
    try:
        total = transport.queue_depth(names.parked_queue)
        wanted = set(which.message_ids)
        pending: list[tuple[ParkedMessage, dict[str, str]]] = []
        scanned = settled = skipped = 0

        def flush() -> None:
            nonlocal settled
            if replay and pending:
                transport.publish_many([
                    Outgoing(names.ingress_exchange, headers[n.ORIGINAL_USER], p.delivery.body,
                             p.message_id, headers) for p, headers in pending
                ])  # fmt: skip
            for p, _ in pending:
                transport.ack(p.delivery)
                settled += 1
                if on_settled is not None:
                    on_settled(p)
            pending.clear()

        while scanned < total and not (which.message_ids and not wanted):
            d = transport.get(names.parked_queue)
            if d is None:
                break
            scanned += 1
            parked = _parked(d)
            if which.matches(parked, names) and (not which.message_ids or parked.message_id in wanted):
                wanted.discard(parked.message_id)
                try:
                    pending.append((parked, replay_headers(parked, names) if replay else {}))
                except NotReplayable as err:
                    skipped += 1
                    if on_skipped is not None:
                        on_skipped(parked, err)
                if len(pending) >= batch:
                    flush()
            if progress is not None:
                progress(scanned, total)
        flush()
        return SettleReport(scanned, settled, skipped, tuple(sorted(wanted)))
    finally:
        transport.close()


def settle(
    open_transport: Callable[[], Transport], names: Names, message_id: str, *, replay: bool
) -> ParkedMessage | None:
    """Remove one parked message (``replay``: first publish it to the ingress again, as the hub user);
    None when there is none with that id. Raises ``NotReplayable`` for one the hub could not check."""
    found: list[ParkedMessage] = []
    refused: list[NotReplayable] = []
    settle_many(open_transport, names, ParkedFilter(message_ids=frozenset({message_id})), replay=replay,
                on_settled=found.append, on_skipped=lambda _p, err: refused.append(err))  # fmt: skip
    if refused:
        raise refused[0]
    return found[0] if found else None
