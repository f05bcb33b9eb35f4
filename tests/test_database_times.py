"""How the SQL store writes times as text: one fixed width, so that they read back and sort."""

from __future__ import annotations

import datetime as dt

import pytest

from vbcore.database.driver import time_from_text, time_to_text

VN = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(1, 1, 1), "0001-01-01 00:00:00.000000"),  # strftime("%Y") wrote "1" here
        (dt.datetime(999, 12, 31, 23, 59, 59, 999999), "0999-12-31 23:59:59.999999"),
        (dt.datetime(2026, 11, 30, 12, 5, 7), "2026-11-30 12:05:07.000000"),  # microseconds even when 0
        (dt.datetime(2026, 11, 30, 12, 5, 7, 42, tzinfo=dt.UTC), "2026-11-30 12:05:07.000042"),
        (dt.datetime(2026, 11, 30, 19, 5, 7, tzinfo=VN), "2026-11-30 19:05:07.000000"),  # its own clock
    ],
)
def test_a_time_is_written_at_one_width_without_its_offset_and_reads_back(
    value: dt.datetime, text: str
) -> None:
    assert time_to_text(value) == text
    assert time_from_text(text) == value.replace(tzinfo=None)


def test_times_written_as_text_sort_as_the_times_do() -> None:
    times = [dt.datetime(1, 1, 1), dt.datetime(999, 1, 1), dt.datetime(2026, 1, 1, 0, 0, 0, 1),
             dt.datetime(2026, 1, 1), dt.datetime(9999, 12, 31)]  # fmt: skip
    assert sorted(times, key=time_to_text) == sorted(times)
