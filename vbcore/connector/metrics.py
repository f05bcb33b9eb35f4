"""A connector runtime's metrics and its health: the small interface the runtime and its lanes call.

The runtime reports each round (``round``: what it sent, delivered, refused...; the items each lane
holds aside; which lanes back off), a lane that backs off (``lane_down``), and now and then the depth of
the agency's inbox (``inbox``: what waits at the hub for this DMS, the backlog a clerk feels). The lanes
report each failed try of an item (``retry``) and each item given up (``given_up``). Nothing here
reads the broker or the DMS: ``/metrics`` and ``/readyz`` answer from another thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

from vbcore import __version__
from vbcore.connector.report import StepReport
from vbcore.metrics import Registry
from vbcore.probes import Heartbeat, Readiness

SUBSYSTEM = "connector"
LANES = ("outgoing", "incoming", "events")
NOT_STARTED, STALLED = "not-started", "stalled"
_COUNTED = tuple(f.name for f in fields(StepReport) if f.type in ("list[str]", list))


class ConnectorMetrics:
    """One connector runtime's metrics (a ``Registry`` of its own unless given) and its readiness."""

    def __init__(self, registry: Registry | None = None, *, agency: str = "", connector: str = "",
                 heartbeat: Heartbeat | None = None) -> None:  # fmt: skip
        r = self.registry = registry or Registry()
        self.heartbeat = heartbeat or Heartbeat()
        self._items = r.counter(SUBSYSTEM, "items", "Items the runtime settled, by what happened (sent, "
                                "failed, delivered, refused, parked, statuses_sent, statuses_received, "
                                "changes, events_failed).", ["outcome"])
        self._retries = r.counter(SUBSYSTEM, "dms_retries", "Failed tries of one item that will be tried "
                                  "again (the DMS failed on it, or may be down), by lane.", ["lane"])
        self._given_up = r.counter(SUBSYSTEM, "given_up", "Items given up at the retry limit (a document "
                                   "parked with a 02, an outgoing one or an event marked failed), by lane.",
                                   ["lane"])
        self._lane_failures = r.counter(SUBSYSTEM, "lane_failures", "Rounds a lane stopped and backed off "
                                        "(the broker, or the DMS for everything, unavailable).", ["lane"])
        self._held = r.gauge(SUBSYSTEM, "held_items", "Items held aside to retry, by lane: the backlog the "
                             "DMS's failures leave.", ["lane"])
        self._down = r.gauge(SUBSYSTEM, "lane_down", "1 while a lane backs off.", ["lane"])
        self._inbox = r.gauge(SUBSYSTEM, "inbox_messages", "Messages waiting in this agency's inbox at the "
                              "hub (read now and then).")
        info = r.gauge(SUBSYSTEM, "info", "This connector runtime.", ["agency", "connector", "version"])
        info.labels(agency, connector, __version__).set(1)
        for lane in LANES:  # every series exists from the start: a rate over them never lacks data
            for metric in (self._retries, self._given_up, self._lane_failures, self._held, self._down):
                metric.labels(lane)
        self.started = False
        self.down: set[str] = set()

    def beat(self) -> None:
        self.heartbeat.beat()

    def round(self, report: StepReport, held: dict[str, int], down: Iterable[str]) -> None:
        """One round went by: ``report``'s items, the items each lane holds, the lanes backing off."""
        self.started = True
        for name in _COUNTED:
            items = getattr(report, name)
            if items:
                self._items.labels(name).inc(len(items))
        for lane, count in held.items():
            self._held.labels(lane).set(count)
        self.down = set(down)
        for lane in LANES:
            self._down.labels(lane).set(1 if lane in self.down else 0)

    def lane_down(self, lane: str) -> None:
        self._lane_failures.labels(lane).inc()

    def retry(self, lane: str) -> None:
        self._retries.labels(lane).inc()

    def given_up(self, lane: str) -> None:
        self._given_up.labels(lane).inc()

    def inbox(self, depth: int) -> None:
        self._inbox.set(depth)

    def readiness(self) -> Readiness:
        """Ready: a round went by, no lane backs off (the broker and the DMS answer), the loop turns."""
        reasons = [NOT_STARTED] if not self.started else []
        reasons += [f"{lane}-lane-down" for lane in LANES if lane in self.down]
        if not self.heartbeat.fresh():
            reasons.append(STALLED)
        return Readiness(not reasons, tuple(reasons))
