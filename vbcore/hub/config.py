"""What a hub process is configured with: its identity, its checks' settings, and its clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from vbcore.edxml.limits import DEFAULT_LIMITS
from vbcore.evidence.checkpoint import DEFAULT_INTERVAL_ENTRIES, DEFAULT_INTERVAL_SECONDS
from vbcore.lang import DEFAULT_LANG, Lang
from vbcore.timezones import utc_now
from vbcore.transport.names import Names

DEFAULT_MAX_RECIPIENTS = 10_000
"""Recipients one package may name (``To``, and the receivers an update or replace lists); above it the
whole package is refused with one 02. The largest real mailing is a circular from a central body to
every unit of one level of the country: 3,321 communes and 34 provinces (QĐ 19/2025/QĐ-TTg) plus the
ministries, about 3,400 (a circular goes down the hierarchy, each level forwarding it; nobody writes to
all 111,339 registered agencies at once). 10,000 is three times that, and bounds what one package
costs the hub (one pair, one publish and one store row per recipient; 50,000 ``To`` blocked a hub for
40 s and would have answered with 49,999 02s)."""
DEFAULT_INFLIGHT_BYTES = 512 * 1024 * 1024
"""The hub's memory budget for message bodies: the packages handed to one hub process at once,
unacknowledged, are never more than this. RabbitMQ has no prefetch in bytes (``basic.qos`` prefetch-size
is ignored) and a running consumer's prefetch count cannot be changed (``basic.qos`` applies to
consumers created after it), so the ingress consumer's prefetch is ``inflight_bytes // max_bytes`` (6
with the defaults), whatever size the packages turn out to be; a batching hub (``vb hub run``) fills its
batch up to ``--prefetch`` (32) with ``basic.get``, one package at a time, while one more of
``max_bytes`` fits next to those in hand and those the consumer may still be sent (``Hub.gather``).
A consumer with a wider prefetch whose connection is read only while the budget has room is no way to
keep it: what the broker sent ahead waits unread, and RabbitMQ resets a connection it could not write to
for 30 s (its TCP send timeout), every delivery on it coming back with its x-delivery-count one higher.
A larger budget gives the consumer a larger prefetch and the batch fewer ``get`` round trips.
Checking one package needs about three times its size at its peak (its bytes, lxml's tree, an
attachment's base64 held aside: bench/bench_large_file.py)."""

DEFAULT_LINGER = 0.025
"""Seconds a batching hub waits at most for more deliveries once it has one (``Hub.gather``): under a
backlog a batch fills at once; at a steady 100 documents/s, waiting for a whole batch of 32 added about
120 ms to each document (bench/bench_hub.py, paced)."""

DEFAULT_DOCUMENT_WAIT = 30.0
"""Seconds a package about a document this hub does not know yet waits for it before it is refused
(``vbcore.hub.waiting``: with several hubs on one ingress, its document may be in another's hands)."""

MAX_DOCUMENT_WAIT = 600.0
"""The longest ``document_wait`` allowed: well under RabbitMQ's ``consumer_timeout`` (30 min by default),
past which the broker closes a channel holding a delivery unacknowledged, and all it held comes back."""

DEFAULT_PARKED_ALARM = 1000
"""Parked messages at or above this count raise the hub's alarm (``hub.parked_alarm`` in its log, and
``vb queues``): the parked queue is not capped (nothing is lost), a flood of garbage is seen instead."""

@dataclass(frozen=True)
class HubConfig:
    """Settings of one hub process; several processes with different ``hub_id`` may share a broker."""

    hub_id: str = "vbus.hub"
    hub_name: str = "vbus hub"
    # The hub's one size limit: the packages it reads (its readers' ``ParseLimits.max_bytes``, refused
    # before a byte is parsed) and the size its prefetch is counted in (``prefetch``).
    max_bytes: int = DEFAULT_LIMITS.max_bytes
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    inflight_bytes: int = DEFAULT_INFLIGHT_BYTES
    parked_alarm: int = DEFAULT_PARKED_ALARM
    linger: float = DEFAULT_LINGER  # ``DEFAULT_LINGER``
    document_wait: float = DEFAULT_DOCUMENT_WAIT  # ``DEFAULT_DOCUMENT_WAIT``; 0: refused at once
    names: Names = field(default_factory=Names)
    clock: Callable[[], datetime] = utc_now
    # The language of the hub's own refusal statuses (02), one language per line (``vbcore.lang``).
    lang: Lang = DEFAULT_LANG
    # After a store or broker outage a batching hub holds the batch, unacknowledged (given back to the
    # broker, each message would spend its delivery budget), and retries it after this pause in
    # seconds, doubled after each failure up to ``outage_pause_max``.
    outage_pause: float = 0.5
    outage_pause_max: float = 30.0
    # The evidence log's checkpoints (``vbcore.hub.evidence``): the head signed every so many entries or
    # seconds, whichever first, and on shutdown; ``tsa_url``: an RFC 3161 time-stamping authority.
    evidence_every_entries: int = DEFAULT_INTERVAL_ENTRIES
    evidence_every_seconds: float = DEFAULT_INTERVAL_SECONDS
    tsa_url: str | None = None

    def prefetch(self, requested: int) -> int:
        """The prefetch that keeps ``inflight_bytes`` whatever the packages' size (an unbatched hub):
        ``requested`` at most, and at least 1."""
        return max(1, min(requested, self.inflight_bytes // self.max_bytes))
