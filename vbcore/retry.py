"""Exponential backoff for a resource that is down (a DMS, a broker), driven by an injectable clock.

The connector runtime does not sleep inside ``step()``: it asks ``Backoff.ready(now)`` and skips the
round while waiting, so tests drive time with a fake clock instead of sleeping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``initial``, ``initial*factor``, ... capped at ``maximum``, with +-``jitter`` spread."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.1
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def delay(self) -> float:
        """The delay the current failure count calls for (0 when nothing failed)."""
        if self.failures == 0:
            return 0.0
        base = min(self.maximum, self.initial * self.factor ** (self.failures - 1))
        spread = base * self.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread)) if spread else base

    def failed(self, now: float, error: str) -> float:
        """Record one more failure at ``now``; return when to retry."""
        self.failures += 1
        self.last_error = error
        self.retry_at = now + self.delay()
        return self.retry_at

    def succeeded(self) -> None:
        self.failures = 0
        self.retry_at = 0.0
        self.last_error = None

    def ready(self, now: float) -> bool:
        return now >= self.retry_at

    @property
    def waiting(self) -> bool:
        return self.failures > 0
