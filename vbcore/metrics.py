"""Prometheus metrics: the official client library (``prometheus_client``), entering the project here only.

Each process (a hub, a connector runtime, the web board) owns one ``Registry`` of its own, never the
library's global one: tests build as many hubs as they like side by side, and what a process exposes
is exactly what it registered. The hub's and the connectors' metric sets (``vbcore.hub.metrics``,
``vbcore.connector.metrics``) are written on top of it; the pipeline and the runtime call those small
interfaces, never the library. ``Registry.exposition()`` is what ``/metrics`` answers, whoever serves it
(``vbcore.probes`` here, the web board's own server there).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["Counter", "Gauge", "Histogram", "Registry"]

NAMESPACE = "vbus"
"""Every metric vbus registers is named ``vbus_<subsystem>_<name>``: one prefix to find them by."""
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Time buckets from a millisecond (a small status alone) to half a minute (a batch held by a slow
store): the hub's measured work per package is 1-10 ms (docs/measurements.md)."""


_SUFFIXES = {
    "counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count"),
}


class Registry:
    """The metrics of one process. ``process=True`` adds the process's own (memory, CPU, open files,
    garbage collection) as a real process exposes them; tests leave them out."""

    def __init__(self, *, process: bool = False) -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        if process:
            ProcessCollector(registry=self._registry)
            PlatformCollector(registry=self._registry)
            GCCollector(registry=self._registry)

    def counter(self, subsystem: str, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter, exposed as ``vbus_<subsystem>_<name>_total``."""
        return Counter(name, documentation, labels, namespace=NAMESPACE, subsystem=subsystem,
                       registry=self._registry)  # fmt: skip

    def gauge(self, subsystem: str, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, namespace=NAMESPACE, subsystem=subsystem,
                     registry=self._registry)  # fmt: skip

    def histogram(
        self,
        subsystem: str,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = SECONDS_BUCKETS,
    ) -> Histogram:
        return Histogram(name, documentation, labels, namespace=NAMESPACE, subsystem=subsystem,
                         registry=self._registry, buckets=buckets)  # fmt: skip

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """The current value of one sample (its full name: ``vbus_hub_received_total``), None if absent."""
        return self._registry.get_sample_value(name, labels or {})

    def names(self) -> set[str]:
        """Every series name a query may use, registered whether or not it has a sample yet (a counter's
        ``_total``, a histogram's ``_bucket``, ``_sum`` and ``_count``)."""
        found: set[str] = set()
        for family in self._registry.collect():
            found.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        return found

    def exposition(self) -> tuple[bytes, str]:
        """What ``/metrics`` answers: the text format and its content type."""
        return generate_latest(self._registry), CONTENT_TYPE_LATEST
