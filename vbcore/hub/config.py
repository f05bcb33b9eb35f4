"""What a hub process is configured with: its identity, its checks' settings, and its clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vbcore.lang import DEFAULT_LANG, Lang
from vbcore.transport.names import Names

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Packages above this are refused before parsing (one gateway caps at 50 MB: domain.md §3)."""

VIETNAM_OFFSET = timedelta(hours=7)


def utc_now() -> datetime:
    return datetime.now(UTC)


def vietnam_local(at: datetime) -> datetime:
    """The naive Vietnam local time that edXML timestamps carry (no zone on the wire)."""
    return (at.astimezone(UTC) + VIETNAM_OFFSET).replace(tzinfo=None)


@dataclass(frozen=True)
class HubConfig:
    """Settings of one hub process; several processes with different ``hub_id`` may share a broker."""

    hub_id: str = "vbus.hub"
    hub_name: str = "vbus hub"
    max_bytes: int = DEFAULT_MAX_BYTES
    names: Names = field(default_factory=Names)
    clock: Callable[[], datetime] = utc_now
    # The language of the hub's own refusal statuses (02), one language per line (``vbcore.lang``).
    lang: Lang = DEFAULT_LANG
    # After a store or broker outage a batching hub holds the batch, unacknowledged (given back to the
    # broker, each message would spend its delivery budget), and retries it after this pause in
    # seconds, doubled after each failure up to ``outage_pause_max``.
    outage_pause: float = 0.5
    outage_pause_max: float = 30.0
