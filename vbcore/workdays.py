"""When a delivered document becomes overdue: the end of the working day in Vietnam.

The rule (docs/domain.md §5: the receiving system "sends 01 the same day"): a document accepted before the
end of a working day in Asia/Ho_Chi_Minh is due at the end of that day (17:00 local by default); one
accepted at or after the end of the day, or on a weekend day or a holiday, is due at the end of the
next working day. An operator may instead set a fixed delay (e.g. two hours) with ``fixed_delay``.

    >>> from datetime import datetime, timezone
    >>> friday_1800_local = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)
    >>> deadline_for(friday_1800_local).isoformat()  # Monday 17:00 in Hà Nội
    '2026-11-30T10:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from vbcore.timezones import VIETNAM

# A policy whose holidays leave no working day within a year is a configuration mistake, not a loop.
_SEARCH_LIMIT_DAYS = 366


@dataclass(frozen=True)
class OverduePolicy:
    """How long a recipient has to send status 01 before the pair is overdue.

    ``weekend`` holds ``date.weekday()`` numbers (5 Saturday, 6 Sunday); ``holidays`` local dates;
    ``fixed_delay``, when set, replaces the working-day rule with ``accepted_at + fixed_delay``.
    """

    end_of_day: time = time(17)
    weekend: tuple[int, ...] = (5, 6)
    holidays: frozenset[date] = frozenset()
    fixed_delay: timedelta | None = None
    zone: ZoneInfo = VIETNAM

    def __post_init__(self) -> None:
        if any(d not in range(7) for d in self.weekend):
            raise ValueError(f"weekend days are numbers 0 (Monday) to 6 (Sunday), not {self.weekend}")
        if len(set(self.weekend)) == 7:
            raise ValueError("a week with no working day leaves no deadline")
        if self.fixed_delay is not None and self.fixed_delay <= timedelta(0):
            raise ValueError(f"fixed_delay must be positive, not {self.fixed_delay}")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays


DEFAULT_POLICY = OverduePolicy()


def deadline_for(accepted_at_utc: datetime, policy: OverduePolicy = DEFAULT_POLICY) -> datetime:
    """The UTC time at which a document accepted at ``accepted_at_utc`` (timezone-aware) is overdue."""
    if accepted_at_utc.tzinfo is None:
        raise ValueError("accepted_at_utc must be timezone-aware (UTC)")
    if policy.fixed_delay is not None:
        return (accepted_at_utc + policy.fixed_delay).astimezone(UTC)
    local = accepted_at_utc.astimezone(policy.zone)
    day = local.date()
    if not (policy.is_working_day(day) and local.time() < policy.end_of_day):
        day = next_working_day(day, policy)
    return datetime.combine(day, policy.end_of_day, tzinfo=policy.zone).astimezone(UTC)


def next_working_day(after: date, policy: OverduePolicy = DEFAULT_POLICY) -> date:
    """The first working day strictly after ``after``."""
    day = after
    for _ in range(_SEARCH_LIMIT_DAYS):
        day += timedelta(days=1)
        if policy.is_working_day(day):
            return day
    raise ValueError(f"no working day within {_SEARCH_LIMIT_DAYS} days after {after}: check the holidays")
