"""Packages that name a document this hub does not know yet, held a while before they are refused.

Several hub processes take turns on one ingress queue (docs/deployment.md). A sender's revoke, update
or replacement published right behind its document (a connector catching up sends both in one batch)
can be taken by one hub while another still has the document in hand, not committed: refused at once
as about an unknown document, a genuine 13 came back as a 02. So such a package is not refused at
once: it waits, unacknowledged and in hand (its bytes count in the hub's budget), and is tried again
after 0.25 s, 0.5 s, 1 s ... while its document may still come; after ``HubConfig.document_wait``
seconds it is refused as before, with the same reason.

Bounded: at most ``WAITING_PER_PUBLISHER`` of one broker user (an agency, or a gateway for every
agency behind it) and ``WAITING_AT_MOST`` in all wait at once, of ``WAITING_BYTES_AT_MOST`` bytes in
all, which also leave room in the hub's budget for one more package of the size limit (beyond, one is
refused at once, as before): an agency sending statuses about documents that never existed holds a
few slots for a few seconds, never the traffic behind them. Each try checks the package again (9 at
the default 30 s: after 0.25, 0.5, 1, 2, 4, 8, 8 s and at the wait's end): at most 9 x 16 MiB of
checks every 30 s, whatever an agency sends. A package that cannot name a document
(``NoDocumentNamed``) never waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from vbcore.transport import Delivery

WAITING_PER_PUBLISHER = 8
WAITING_AT_MOST = 64
WAITING_BYTES_AT_MOST = 16 * 1024 * 1024  # a large replacement overtaking its document is refused at once
FIRST_RETRY = 0.25  # seconds; doubled after each try, at most ``LAST_RETRY``
LAST_RETRY = 8.0


@dataclass
class _Waiting:
    delivery: Delivery
    publisher: str | None
    since: float  # when this hub first held it (monotonic seconds)
    next_try: float
    pause: float
    taken: bool = False  # in a batch now (``take_due``): in hand there, not here


class WaitingRoom:
    """The deliveries held for their document, by the identity of their ``Delivery``."""

    def __init__(self) -> None:
        self._by_id: dict[int, _Waiting] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def bytes(self) -> int:
        """The bytes of the packages held here (those taken into a batch too)."""
        return sum(len(w.delivery.body) for w in self._by_id.values())

    def waiting(self) -> list[Delivery]:
        """The deliveries held here now (not those taken into a batch)."""
        return [w.delivery for w in self._by_id.values() if not w.taken]

    def hold(
        self, delivery: Delivery, publisher: str | None, now: float, wait: float,
        most_bytes: int | None = None,
    ) -> bool:
        """Hold ``delivery`` (again) until its next try; False when it must be refused now: it has
        waited ``wait`` seconds already, or its ``publisher`` (the broker user that sent it) or everyone
        has as many waiting as allowed, or held it would bring the bytes of those held here above
        ``WAITING_BYTES_AT_MOST`` or ``most_bytes`` (the hub keeps room for one more package beside
        them: the traffic behind them must still come in)."""
        known = self._by_id.get(id(delivery))
        if known is not None:
            if now - known.since >= wait:  # let go after the batch (``after_batch``): an outage may
                return False  # hold it, and then it is refused when tried again, not held anew
            known.pause = min(known.pause * 2, LAST_RETRY)
            known.next_try = min(now + known.pause, known.since + wait)
            known.taken = False
            return True
        if wait <= 0 or len(self._by_id) >= WAITING_AT_MOST:
            return False
        if sum(1 for w in self._by_id.values() if w.publisher == publisher) >= WAITING_PER_PUBLISHER:
            return False
        limit = WAITING_BYTES_AT_MOST if most_bytes is None else min(most_bytes, WAITING_BYTES_AT_MOST)
        if self.bytes() + len(delivery.body) > limit:
            return False
        self._by_id[id(delivery)] = _Waiting(delivery, publisher, now, now + FIRST_RETRY, FIRST_RETRY)
        return True

    def take_due(self, now: float) -> list[Delivery]:
        """The deliveries whose next try has come, oldest first, taken into a batch: after it, each is
        held again (``hold``) or let go (``release``); its wait counts from when it was first held."""
        due = sorted((w for w in self._by_id.values() if not w.taken and w.next_try <= now),
                     key=lambda w: w.since)  # fmt: skip
        for w in due:
            w.taken = True
        return [w.delivery for w in due]

    def after_batch(self, held: list[Delivery]) -> None:
        """A batch is over: those of it an outage ``held`` stay taken (in hand with that batch, tried
        again with it); the others taken into it and not held again (``hold``) were settled: let go."""
        held_ids = {id(d) for d in held}
        for key, waiting in list(self._by_id.items()):
            if key in held_ids:
                waiting.taken = True
            elif waiting.taken:
                del self._by_id[key]

    def release(self, deliveries: list[Delivery]) -> None:
        """These are no longer waiting (planned, refused, or let go)."""
        for delivery in deliveries:
            self._by_id.pop(id(delivery), None)
