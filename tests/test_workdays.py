"""The overdue deadline: end of the working day in Vietnam (Asia/Ho_Chi_Minh, UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from vbcore.timezones import VIETNAM
from vbcore.workdays import OverduePolicy, deadline_for, next_working_day


def hanoi(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A local time in November 2026 (the 27th is a Friday) as the UTC instant the hub records."""
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


def test_a_document_accepted_on_a_working_afternoon_is_due_at_five_the_same_day() -> None:
    assert deadline_for(hanoi(27, 16)) == hanoi(27, 17)


def test_a_document_accepted_after_five_on_friday_is_due_on_monday() -> None:
    assert deadline_for(hanoi(27, 18)) == hanoi(30, 17)


def test_a_document_accepted_at_five_exactly_is_due_the_next_working_day() -> None:
    assert deadline_for(hanoi(26, 17)) == hanoi(27, 17)


def test_a_document_accepted_early_in_the_morning_is_due_the_same_day() -> None:
    # 06:30 local on Tuesday is still Monday 23:30 UTC: the local day is the one that counts.
    accepted = hanoi(24, 6, 30)
    assert accepted.date() == date(2026, 11, 23)
    assert deadline_for(accepted) == hanoi(24, 17)


def test_a_document_accepted_at_the_weekend_is_due_on_monday() -> None:
    assert deadline_for(hanoi(28, 10)) == hanoi(30, 17)
    assert deadline_for(hanoi(29, 23, 59)) == hanoi(30, 17)


def test_holidays_are_skipped_like_weekend_days() -> None:
    tet = OverduePolicy(holidays=frozenset({date(2027, 2, d) for d in range(5, 12)}))
    friday_evening = datetime(2027, 2, 5, 9, tzinfo=VIETNAM)  # a holiday itself
    assert deadline_for(friday_evening, tet) == datetime(2027, 2, 12, 17, tzinfo=VIETNAM)


def test_the_end_of_the_day_and_the_weekend_can_be_configured() -> None:
    saturday_mornings = OverduePolicy(end_of_day=time(16, 30), weekend=(6,))
    assert deadline_for(hanoi(27, 16, 45), saturday_mornings) == hanoi(28, 16, 30)
    assert deadline_for(hanoi(27, 16, 15), saturday_mornings) == hanoi(27, 16, 30)


def test_a_fixed_delay_replaces_the_working_day_rule() -> None:
    two_hours = OverduePolicy(fixed_delay=timedelta(hours=2))
    assert deadline_for(hanoi(28, 22), two_hours) == hanoi(29, 0)


def test_the_deadline_is_returned_in_utc() -> None:
    due = deadline_for(hanoi(27, 9))
    assert due.tzinfo == UTC
    assert due == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_for(datetime(2026, 11, 27, 9, 0))


def test_a_policy_without_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="no working day"):
        OverduePolicy(weekend=(0, 1, 2, 3, 4, 5, 6))
    with pytest.raises(ValueError, match="0 \\(Monday\\) to 6"):
        OverduePolicy(weekend=(7,))
    with pytest.raises(ValueError, match="positive"):
        OverduePolicy(fixed_delay=timedelta(0))


def test_holidays_covering_a_whole_year_are_reported_not_looped_over() -> None:
    start = date(2026, 11, 27)
    every_day = OverduePolicy(holidays=frozenset(start + timedelta(days=n) for n in range(400)))
    with pytest.raises(ValueError, match="check the holidays"):
        next_working_day(start, every_day)
