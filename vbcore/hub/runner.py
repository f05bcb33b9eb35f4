"""Running a hub process until it is told to stop: SIGTERM or SIGINT drain and exit cleanly.

"Drain" means: stop taking new deliveries, finish the one in hand (the pipeline acks only after the
store committed), then close the connection; anything prefetched but not started goes back to the
queue for another hub process.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType

from vbcore.errors import ConnectionLost
from vbcore.hub.gauges import Gauges
from vbcore.hub.pipeline import Hub
from vbcore.logging import get_logger

log = get_logger("vbus.hub")

PARKED_CHECK_SECONDS = 10.0  # how often a running hub looks at the parked queue's depth


class StopFlag:
    """Set by a signal; checked between deliveries."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self, *_: object) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("hub.stopping", signal=signal.Signals(signum).name)
            self.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def run(
    hub: Hub, stop: StopFlag, *, agencies: list[str] | None = None, prefetch: int = 16, tick: float = 0.005
) -> None:
    """Consume the ingress until ``stop`` is set, then close the transport and the store.

    Deliveries are processed in batches: whatever arrived during one short ``drain`` (at most
    ``prefetch``) shares one publish with many confirms outstanding and one commit. Every
    ``PARKED_CHECK_SECONDS`` the parked queue's depth is checked against the alarm threshold (and
    read, with the ingress's and the overdue pairs, for the metrics: ``vbcore.hub.gauges``); every turn
    beats the heartbeat of ``/healthz``.
    """
    hub.start(agencies, prefetch=prefetch, batch=True)
    config = hub.config
    log.info("hub.started", hub_id=config.hub_id, queue=config.names.ingress_queue,
             prefetch=prefetch, max_bytes=config.max_bytes,
             inflight_bytes=config.inflight_bytes)
    gauges = Gauges(hub, queues_every=PARKED_CHECK_SECONDS)  # and the overdue pairs, for the metrics

    def waiting() -> bool:  # while every broker node is away: alive, and stoppable
        hub.metrics.beat()
        return bool(stop)

    hub.transport.while_reconnecting(waiting)
    try:
        while not stop:
            try:
                hub.transport.drain(0 if hub.flush() else tick)
                hub.gather(tick)  # small deliveries in hand: more of them, within the memory budget
            except ConnectionLost as err:
                if stop:  # SIGTERM while waiting for a node: what is in hand goes back to the broker
                    break
                # A connection that kept dropping as soon as it was opened: the next turn reconnects.
                # A running hub never exits because the broker is away.
                log.warning("hub.broker_lost", error=str(err))
                time.sleep(tick)
            hub.metrics.beat()
            gauges.refresh()
        hub.flush()
    finally:
        hub.metrics.consuming(False)
        hub.checkpoint_now()  # the evidence log's head, signed on shutdown
        hub.transport.close()
        hub.store.close()
        log.info("hub.stopped", hub_id=hub.config.hub_id)


@dataclass(frozen=True)
class OnceReport:
    """What ``run_once`` did: deliveries processed, and those held or put back after a store or broker
    failure."""

    processed: int
    requeued: int


def run_once(
    hub: Hub, *, agencies: list[str] | None = None, prefetch: int = 16, idle: float = 1.0, tick: float = 0.005
) -> OnceReport:
    """Process what waits on the ingress, then close the transport and the store (``vb hub run --once``).

    Ends after ``idle`` seconds without a delivery and none waiting for its document (at most
    ``HubConfig.document_wait`` seconds, ``vbcore.hub.waiting``), or as soon as an outage of the store
    or the broker held a batch: waiting it out is a running hub's job; the caller must say it failed.
    Closing the transport hands the held deliveries back to the broker, unacknowledged.
    """
    hub.start(agencies, prefetch=prefetch, batch=True)
    processed = 0
    last = time.monotonic()
    try:
        while hub.requeued == 0:
            hub.transport.drain(tick)
            hub.gather(tick)  # as ``run``: with every slot of the consumer waiting, more come by get
            done = hub.flush()
            processed += done
            if done:
                last = time.monotonic()
            elif not len(hub.waiting) and time.monotonic() - last >= idle:
                break
    finally:
        hub.checkpoint_now()  # the evidence log's head, signed on shutdown
        hub.transport.close()
        hub.store.close()
    return OnceReport(processed, hub.requeued)
