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

from vbcore.hub.pipeline import Hub
from vbcore.logging import get_logger

log = get_logger("vbus.hub")


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
    ``prefetch``) shares one publish with many confirms outstanding and one commit.
    """
    hub.start(agencies, prefetch=prefetch, batch=True)
    log.info("hub.started", hub_id=hub.config.hub_id, queue=hub.config.names.ingress_queue, prefetch=prefetch)
    try:
        while not stop:
            hub.transport.drain(0 if hub.flush() else tick)
        hub.flush()
    finally:
        hub.transport.close()
        hub.store.close()
        log.info("hub.stopped", hub_id=hub.config.hub_id)


@dataclass(frozen=True)
class OnceReport:
    """What ``run_once`` did: deliveries processed, and those put back after a store or broker failure."""

    processed: int
    requeued: int


def run_once(
    hub: Hub, *, agencies: list[str] | None = None, prefetch: int = 16, idle: float = 1.0, tick: float = 0.005
) -> OnceReport:
    """Process what waits on the ingress, then close the transport and the store (``vb hub run --once``).

    Ends after ``idle`` seconds without a delivery, or as soon as a delivery had to be put back (the
    store or the broker failed): retrying it at once would loop, and the caller must say it failed.
    """
    hub.start(agencies, prefetch=prefetch, batch=True)
    processed = 0
    last = time.monotonic()
    try:
        while hub.requeued == 0:
            hub.transport.drain(tick)
            done = hub.flush()
            processed += done
            if done:
                last = time.monotonic()
            elif time.monotonic() - last >= idle:
                break
    finally:
        hub.transport.close()
        hub.store.close()
    return OnceReport(processed, hub.requeued)
