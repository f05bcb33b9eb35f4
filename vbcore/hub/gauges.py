"""What a running hub reads now and then, never per message: the depths of its queues (the parked
queue's alarm with them) and the overdue pairs, for its metrics (``vbcore.hub.metrics``).

The runner calls ``refresh()`` on every turn of its loop; it works only when a reading is due. A
failed reading is counted as the broker's or the store's error and makes the hub not ready until the
next one (or a batch) gets through; it never stops the hub. Several hub processes each read the same
store: the overdue count is the installation's, so a dashboard takes their maximum, not their sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vbcore.errors import StoreError, TransportError
from vbcore.hub.pipeline import Hub

QUEUES_EVERY_SECONDS = 10.0
OVERDUE_EVERY_SECONDS = 60.0
"""The overdue count is one aggregate query on an indexed column; once a minute is plenty for a
deadline measured in working days."""


class Gauges:
    """The hub's periodic readings, each at its own pace."""

    def __init__(
        self,
        hub: Hub,
        *,
        queues_every: float = QUEUES_EVERY_SECONDS,
        overdue_every: float = OVERDUE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.queues_every, self.overdue_every = queues_every, overdue_every
        self.clock = clock
        self._next_queues = self._next_overdue = 0.0

    def refresh(self) -> None:
        now = self.clock()
        if now >= self._next_queues:
            self._next_queues = now + self.queues_every
            self.read_queues()
        if now >= self._next_overdue:
            self._next_overdue = now + self.overdue_every
            self.read_overdue()

    def read_queues(self) -> None:
        hub = self.hub
        try:
            parked = hub.check_parked()  # raises or clears the parked alarm too
            ingress = hub.transport.queue_depth(hub.config.names.ingress_queue)
        except TransportError:  # the broker away: the next drain says so; not ready meanwhile
            hub.metrics.broker_failed()
            return
        hub.metrics.queues(parked=parked, ingress=ingress)

    def read_overdue(self) -> None:
        hub = self.hub
        try:
            summary = hub.store.overdue_summary(hub.now())
        except StoreError:
            hub.metrics.store_failed()
            return
        hub.metrics.overdue(summary.count, summary.oldest_deadline, now=hub.now)
