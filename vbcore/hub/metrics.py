"""The hub's metrics and its health: the small interface the pipeline and the runner call.

The pipeline reports each settled batch (``batch``) and each outage (``outage``, ``recovered``); the
runner beats the heartbeat every turn of its loop and ``vbcore.hub.gauges`` sets, now and then, what
is read from the broker and the store (parked and ingress depths, overdue pairs). Nothing here reads
the store or the broker itself: ``/metrics`` and ``/readyz`` answer from another thread.

Counters count what was settled, once: a batch held by an outage is counted when it is finally
processed, not each time it is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from vbcore import __version__
from vbcore.errors import StoreError
from vbcore.hub.attempt import Attempt
from vbcore.metrics import Registry
from vbcore.model import StatusPackage
from vbcore.probes import Heartbeat, Readiness
from vbcore.timezones import utc_now
from vbcore.transport import names as n

SUBSYSTEM = "hub"
NOT_CONSUMING, OUTAGE_HOLD = "not-consuming", "outage-hold"
STORE_DOWN, BROKER_DOWN, STALLED = "store-unavailable", "broker-unavailable", "stalled"
_SETTLED = ("forwarded", "refused", "parked", "unsettled")  # not "held"/"requeued": tried again later


class HubMetrics:
    """One hub process's metrics (a ``Registry`` of its own unless given) and what ``/readyz`` says."""

    def __init__(self, registry: Registry | None = None, *, hub_id: str = "vbus.hub",
                 heartbeat: Heartbeat | None = None) -> None:  # fmt: skip
        r = self.registry = registry or Registry()
        self.heartbeat = heartbeat or Heartbeat()
        self._received = r.counter(SUBSYSTEM, "received", "Messages taken from the ingress and settled, by "
                                   "kind (edoc, status; unknown: refused before it could be read).", ["kind"])
        self._forwarded = r.counter(SUBSYSTEM, "forwarded", "Packages forwarded (every copy confirmed, then "
                                    "acknowledged), by kind.", ["kind"])
        self._copies = r.counter(SUBSYSTEM, "copies", "Copies published to recipients' inboxes, by kind.",
                                 ["kind"])
        self._refused = r.counter(SUBSYSTEM, "refused", "Refusals answered with a 02: a whole package, or "
                                  "one of its recipients, by reason.", ["reason"])
        self._statuses = r.counter(SUBSYSTEM, "statuses", "Statuses forwarded, by code (01..06, 02, 13, 15, "
                                   "16).", ["code"])
        self._seconds = r.histogram(SUBSYSTEM, "pipeline_seconds", "Time a message spends in the pipeline, "
                                    "from its check to its acknowledgement (its batch's time).")
        self._store_errors = r.counter(SUBSYSTEM, "store_errors", "Failures of the tracking store.")
        self._broker_errors = r.counter(SUBSYSTEM, "broker_errors", "Failures of the broker.")
        self._outages = r.counter(SUBSYSTEM, "outages", "Batches held back by a store or broker outage.")
        self._held = r.gauge(SUBSYSTEM, "outage_held_messages", "Messages held unacknowledged by an outage, "
                             "retried after a pause.")
        self._waiting = r.gauge(SUBSYSTEM, "waiting_for_document_messages", "Messages about a document "
                                "not known yet, held a while for it before they are refused.")
        self._parked = r.gauge(SUBSYSTEM, "parked_messages", "Messages in the parking queue.")
        self._ingress = r.gauge(SUBSYSTEM, "ingress_messages", "Messages waiting in the ingress queue.")
        self._overdue = r.gauge(SUBSYSTEM, "overdue_pairs", "(document, recipient) pairs past their "
                                "deadline (the working day) with no status at all.")
        self._overdue_oldest = r.gauge(SUBSYSTEM, "overdue_oldest_seconds", "How long ago the most overdue "
                                       "pair's deadline passed (0: none overdue).")
        self._consuming = r.gauge(SUBSYSTEM, "consuming", "1 while this process consumes the ingress.")
        info = r.gauge(SUBSYSTEM, "info", "This hub process.", ["hub_id", "version"])
        info.labels(hub_id, __version__).set(1)
        self.store_ok = True  # the store's last answer got through
        self.broker_ok = True
        self.is_consuming = False
        self.held = 0

    # --- the pipeline and the runner --------------------------------------------------------------

    def beat(self) -> None:
        """The runner's loop turned (``/healthz``; systemd's watchdog)."""
        self.heartbeat.beat()

    def consuming(self, on: bool) -> None:
        self.is_consuming = on
        self._consuming.set(1 if on else 0)

    def batch(self, attempts: Iterable[Attempt], seconds: float) -> None:
        """A batch went through (each message forwarded, refused or parked) in ``seconds``."""
        for attempt in attempts:
            if attempt.outcome not in _SETTLED:
                continue
            self._received.labels(attempt.kind).inc()
            self._seconds.observe(seconds)
            for reason in attempt.refused_reasons:
                self._refused.labels(reason).inc()
            if attempt.outcome != "forwarded":
                continue
            self._forwarded.labels(attempt.kind).inc()
            if attempt.outgoing:
                self._copies.labels(attempt.kind).inc(len(attempt.outgoing))
            package = attempt.checked.package if attempt.checked is not None else None
            if attempt.kind == n.KIND_STATUS and isinstance(package, StatusPackage):
                self._statuses.labels(package.status_code.value).inc()

    def outage(self, error: Exception, held: int) -> None:
        """``held`` messages wait, unacknowledged, because the store or the broker failed."""
        if isinstance(error, StoreError):
            self.store_failed()
        else:
            self.broker_failed()
        self._outages.inc()
        self.holding(held)

    def holding(self, held: int) -> None:
        """``held`` messages wait for the outage's pause (fewer once those on a connection lost since are
        let go: the broker gives them again)."""
        self.held = held
        self._held.set(held)

    def waiting(self, count: int) -> None:
        """``count`` messages wait for the document they name (``vbcore.hub.waiting``)."""
        self._waiting.set(count)

    def recovered(self) -> None:
        """A batch went through the store and the broker."""
        self.store_ok = self.broker_ok = True
        self.holding(0)

    # --- what ``vbcore.hub.gauges`` reads now and then ---------------------------------------------

    def queues(self, *, parked: int, ingress: int) -> None:
        self.broker_ok = True
        self._parked.set(parked)
        self._ingress.set(ingress)

    def overdue(self, count: int, oldest_deadline: datetime | None,
                now: Callable[[], datetime] = utc_now) -> None:  # fmt: skip
        self.store_ok = True
        self._overdue.set(count)
        late = 0.0 if oldest_deadline is None else max(0.0, (now() - oldest_deadline).total_seconds())
        self._overdue_oldest.set(late)

    def store_failed(self) -> None:
        self.store_ok = False
        self._store_errors.inc()

    def broker_failed(self) -> None:
        self.broker_ok = False
        self._broker_errors.inc()

    # --- /readyz ------------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Ready: consuming, no batch held by an outage, the store and the broker answering, the loop
        turning. A load balancer (or the operator) reads the reasons otherwise."""
        checks = (
            (self.is_consuming, NOT_CONSUMING),
            (self.held == 0, OUTAGE_HOLD),
            (self.store_ok, STORE_DOWN),
            (self.broker_ok, BROKER_DOWN),
            (self.heartbeat.fresh(), STALLED),
        )
        reasons = tuple(reason for ok, reason in checks if not ok)
        return Readiness(not reasons, reasons)
