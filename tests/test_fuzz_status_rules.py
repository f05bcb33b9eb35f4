"""Property-based fuzzing of the status state machine (vbcore.store.status_rules).

The rule it promises: a status never moves a pair back in time, and at the same second the further
step wins. So whatever order statuses arrive in, a pair ends at the status that is latest by
(time, step), and any timestamp the reader accepts (1800..9999) is handled without an error.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fuzzing import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcore.edxml.names import EARLIEST_DATE, LATEST_DATE
from vbcore.store import ChangeMarker, StatusEvent
from vbcore.store.status_rules import RECEIPTS, PairStatus, effective_time, is_later

FUZZ = settings(max_examples=EXAMPLES, deadline=None)
STEP = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}  # the order QCVN 102 gives the receipts
NINE = datetime(2026, 11, 24, 9, 0)
# A few seconds only, so that many statuses share one.
moments = st.integers(0, 3).map(lambda s: NINE + timedelta(seconds=s))
receipts = st.lists(st.tuples(st.sampled_from(sorted(RECEIPTS)), moments), min_size=1, max_size=8)
START = PairStatus("forwarded", None, None, None, None, None, None)


def event(code: str, at: datetime) -> StatusEvent:
    return StatusEvent("d", "r", code, None, at, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), "r")


def apply(statuses: list[tuple[str, datetime]]) -> PairStatus:
    pair = START
    for code, at in statuses:
        pair = pair.with_receipt(event(code, at), at)
    return pair


def unambiguous(statuses: list[tuple[str, datetime]]) -> bool:
    """No two different codes at the same second and the same step (02 and 03 are the same step)."""
    keys = {(at, STEP[code]): code for code, at in statuses}
    return len(keys) == len({(at, STEP[code], code) for code, at in statuses})


@FUZZ
@given(statuses=receipts, order=st.randoms(use_true_random=False))
def test_a_pair_ends_at_the_latest_status_whatever_order_they_arrive_in(
    statuses: list[tuple[str, datetime]], order: random.Random
) -> None:
    latest = max(statuses, key=lambda s: (s[1], STEP[s[0]]))
    shuffled = list(statuses)
    order.shuffle(shuffled)
    pair = apply(shuffled)
    if unambiguous(statuses):
        assert pair.state == latest[0]
        assert pair.last_status == latest[0]
    assert pair.state_time == latest[1]  # whichever of a tie, it is never an earlier status


@FUZZ
@given(
    a=st.tuples(st.sampled_from(sorted(RECEIPTS)), moments),
    b=st.tuples(st.sampled_from(sorted(RECEIPTS)), moments),
)
def test_of_two_statuses_at_least_one_may_replace_the_other_and_only_a_later_one_does(
    a: tuple[str, datetime], b: tuple[str, datetime]
) -> None:
    a_over_b = is_later(a[1], a[0], b[1], b[0])
    b_over_a = is_later(b[1], b[0], a[1], a[0])
    assert a_over_b or b_over_a
    if (a[1], STEP[a[0]]) > (b[1], STEP[b[0]]):
        assert a_over_b
        assert not b_over_a


@FUZZ
@given(
    moment=st.datetimes(
        min_value=datetime.combine(EARLIEST_DATE, datetime.min.time()),
        max_value=datetime.combine(LATEST_DATE, datetime.max.time()),
    ).map(lambda t: t.replace(microsecond=0)),
    code=st.sampled_from([*sorted(RECEIPTS), "13", "15", "16"]),
)
def test_any_timestamp_the_reader_accepts_moves_a_pair_without_error(moment: datetime, code: str) -> None:
    at = effective_time(event(code, moment))
    assert at == moment  # a package's time is Vietnam local time already: kept as written
    pair = START.with_receipt(event(code, at), at) if code in RECEIPTS else START
    pair = pair.with_change(ChangeMarker.REVOKE_REQUESTED, code, at)
    assert pair.change == ChangeMarker.REVOKE_REQUESTED
    assert not is_later(at - timedelta(seconds=1), "06", at, code)
