"""Vietnam's time, defined once for the whole code base.

edXML timestamps carry naive Vietnam local time (no zone on the wire, docs/domain.md §3); the hub,
its store and its logs keep instants in UTC. Vietnam has kept UTC+07:00 without daylight saving
since 1975: ``VIETNAM_OFFSET`` converts the wire's naive times, and ``VIETNAM`` (the IANA zone, the
same offset for every date vbus meets) is the calendar of working days and of ``vb track``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM_OFFSET = timedelta(hours=7)
"""Vietnam's offset from UTC (ICT, UTC+07:00): the only place it is written."""
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def utc_now() -> datetime:
    """Now, timezone-aware UTC (the default clock of the hub and the agency client)."""
    return datetime.now(UTC)


def vietnam_local(at: datetime) -> datetime:
    """The naive Vietnam local time that edXML timestamps carry (no zone on the wire)."""
    return (at.astimezone(UTC) + VIETNAM_OFFSET).replace(tzinfo=None)


def vietnam_now() -> datetime:
    """Now in naive Vietnam local time, to the second (what a clerk's screen and a file show)."""
    return vietnam_local(utc_now()).replace(microsecond=0)
