"""How the connector runtime retries: per lane, and per item, so one failure never blocks the rest.

The runtime works in three **lanes** (outgoing, incoming, events) that fail apart: each has its own
backoff, so a failing ``poll_outgoing`` does not stop deliveries into the DMS, and so on.

Within a lane, a failure is either the lane's or one item's:

- the broker is down (``TransportError``), or a lane-wide call (``poll_outgoing``, ``poll_events``,
  ``fetch``) fails: the **lane** backs off (``LaneDown``), holding its items;
- a connector error on one item (any exception but ``DmsUnavailable``) is **charged** to that item:
  it is set aside with its own backoff and the items behind it go on;
- ``DmsUnavailable`` on one item is ambiguous: the DMS may be down, or failing on that item only. It
  is charged to the item when the DMS's last answer before it, to any call in any lane (a poll,
  another item), got through, and came after the item's previous failure: the DMS works, only not for
  this item. Otherwise the DMS looks down: only the held item due first and one item never tried
  before (the *probe*) are tried, and when they fail too the lane backs off. A DMS down for everything
  (``DmsUnavailable`` on every call) is never charged: an outage is not a document's fault.

An item whose charged failures reach the operator's ``RetryLimit`` is given up: the lane's owner
records the decision in the ledger first (a crash then resumes it), then carries it out (a document is
parked with a 02 to its sender, an outgoing one marked failed, an event marked failed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from vbcore.connector.ledger import Failure, Ledger
from vbcore.connector.metrics import ConnectorMetrics
from vbcore.errors import DmsUnavailable, TransportError
from vbcore.logging import get_logger
from vbcore.retry import Backoff

log = get_logger("vbus.connector")

DEFAULT_ATTEMPTS = 10
DEFAULT_SECONDS = 3600.0
DEFAULT_MAX_DELAY = 300.0


@dataclass(frozen=True)
class RetryLimit:
    """When the runtime gives up on one item: after ``attempts`` charged failures AND ``seconds``
    since the first one (``None`` leaves that limit out; at least one is set). Between attempts the
    item waits ``initial * 2**(n-1)`` seconds of its lane's backoff, at most ``max_delay``."""

    attempts: int | None = DEFAULT_ATTEMPTS
    seconds: float | None = DEFAULT_SECONDS
    max_delay: float = DEFAULT_MAX_DELAY

    def __post_init__(self) -> None:
        if self.attempts is None and self.seconds is None:
            raise ValueError("a retry limit needs attempts, seconds, or both")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError("seconds must not be negative")

    def reached(self, failure: Failure, now: float) -> bool:
        if self.attempts is not None and failure.attempts < self.attempts:
            return False
        return self.seconds is None or now - failure.first_at >= self.seconds


class LaneDown(Exception):
    """Stop this lane's round: the lane backs off (the broker, or the DMS for everything, is down)."""


class ItemFailed(Exception):
    """One item failed; ``charged`` when it counts against the item (not a possible outage)."""

    def __init__(self, error: str, *, charged: bool) -> None:
        super().__init__(error)
        self.error = error
        self.charged = charged


@dataclass
class _Held:
    next_at: float = 0.0  # not before (monotonic clock), after a charged failure
    failed_at: int = 0  # ``Health.seq`` of its last failure
    error: str = ""  # the last failure, as reported


@dataclass
class Health:
    """What the DMS answered last, shared by the lanes: a call that got through, or ``DmsUnavailable``.
    ``seq`` orders the answers."""

    seq: int = 0
    last_success: int = 0  # ``seq`` of the last call that got through (0: none yet)
    suspect: bool = False  # the last answer was DmsUnavailable: the DMS may be down

    def answered(self) -> None:
        self.seq += 1
        self.last_success = self.seq
        self.suspect = False

    def unavailable(self) -> int:
        self.seq += 1
        self.suspect = True
        return self.seq

    def works_since(self, seq: int) -> bool:
        """The DMS's last answer got through, and came after ``seq``."""
        return not self.suspect and self.last_success > seq


@dataclass
class Lane:
    """One lane's backoff and the items it holds aside."""

    name: str
    backoff: Backoff
    limit: RetryLimit
    ledger: Ledger
    clock: Callable[[], float]  # monotonic: backoff
    wall: Callable[[], float]  # wall-clock seconds: the limit's time, kept across restarts
    health: Health
    metrics: ConnectorMetrics | None = None  # each failed try and each item given up are counted
    held: dict[str, _Held] = field(default_factory=dict)
    _head_tried: bool = False

    def begin_round(self) -> None:
        self._head_tried = False

    @property
    def waiting(self) -> bool:
        return self.backoff.waiting or bool(self.held)

    def held_summary(self) -> str | None:
        """For people watching: how many items wait aside, and the last error of one of them."""
        if not self.held:
            return None
        last = next(reversed(self.held.values())).error
        return f"{len(self.held)} item(s) held aside, last error: {last}"

    def next_due(self) -> float | None:
        """When this lane has something to retry (monotonic), None when nothing waits."""
        times = [h.next_at for h in self.held.values()]
        if self.backoff.waiting:
            times.append(self.backoff.retry_at)
        return min(times) if times else None

    def should_try(self, key: str, now: float) -> bool:
        """False while an item waits out its own backoff, or (DMS suspected down) after the one held
        item retried first this round: then only a never-tried item may probe the DMS, and the held
        ones keep their order for when it is back."""
        held = self.held.get(key)
        if held is None:
            return True
        if held.next_at > now:
            return False
        if self.health.suspect:
            if self._head_tried:
                return False
            self._head_tried = True
        return True

    def attempt(
        self,
        key: str,
        work: Callable[[], None],
        decide: Callable[[Failure], None],
        *,
        dms_answered: Callable[[], bool] | None = None,
    ) -> bool:
        """Run ``work`` for one item; True when it got through. At the limit, ``decide`` records the
        decision to give up (in the ledger), and ``work`` runs once more along the decided path.
        ``dms_answered``: whether the work that got through called the DMS (None: it did), else its
        success says nothing of the DMS's health."""
        decided = False
        if key in self.held:  # charged meanwhile (the DMS answered other calls): maybe at the limit
            failure = self.ledger.failure(key)
            if failure is not None and self.limit.reached(failure, self.wall()):
                self._decide(decide, failure)
                decided = True
        while True:
            try:
                work()
            except LaneDown:
                raise
            except ItemFailed as failure:
                charged = self._failed(key, failure)
            except TransportError as exc:
                raise LaneDown(f"broker unavailable: {exc}") from exc
            except sqlite3.Error as exc:
                raise LaneDown(f"the connector's ledger failed: {exc}") from exc
            except DmsUnavailable as exc:
                charged = self._failed(key, ItemFailed(f"{type(exc).__name__}: {exc}", charged=False))
            except Exception as exc:  # a bug on this item must not stop the lane: charged to it
                log.exception("connector.item_error", lane=self.name, item=key)
                charged = self._failed(key, ItemFailed(f"{type(exc).__name__}: {exc}", charged=True))
            else:
                self._succeeded(key, dms_answered is None or dms_answered())
                return True
            if charged is None or decided or not self.limit.reached(charged, self.wall()):
                return False
            self._decide(decide, charged)
            decided = True

    def _decide(self, decide: Callable[[Failure], None], failure: Failure) -> None:
        if self.metrics is not None:
            self.metrics.given_up(self.name)
        decide(failure)

    def _failed(self, key: str, failure: ItemFailed) -> Failure | None:
        """Hold the item and charge the failure to it, or, for a ``DmsUnavailable`` without evidence
        that the DMS works, count it as the DMS's (raising ``LaneDown`` when the DMS already looked
        down: back off). The item's charged ``Failure`` so far, or None."""
        held = self.held.setdefault(key, _Held())
        held.error = failure.error
        charged = failure.charged or self.health.works_since(held.failed_at)
        log.warning("connector.item_failed", lane=self.name, item=key, error=failure.error, charged=charged)
        if self.metrics is not None:
            self.metrics.retry(self.name)
        if not failure.charged:
            was_suspect = self.health.suspect
            held.failed_at = self.health.unavailable()
            self._head_tried = True
            if not charged and was_suspect:
                raise LaneDown(failure.error)
        if not charged:
            return None
        return self._charge(key, held, failure.error)

    def _charge(self, key: str, held: _Held, error: str) -> Failure:
        failure = self.ledger.record_failure(key, self.name, error, self.wall())
        delay = self.backoff.initial * self.backoff.factor ** (failure.attempts - 1)
        delay = min(self.limit.max_delay, delay)
        held.next_at = self.clock() + delay
        return failure

    def _succeeded(self, key: str, answered: bool = True) -> None:
        if self.held.pop(key, None) is not None or self.ledger.failure(key) is not None:
            self.ledger.clear_failure(key)
        if answered:
            self.health.answered()

    def keep_only(self, keys: set[str]) -> None:
        """Forget (in memory) held items the DMS no longer offers (a clerk took the file away...)."""
        for key in [k for k in self.held if k not in keys]:
            del self.held[key]
