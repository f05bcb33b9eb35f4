"""The status-ordering rule and the revoke/update markers, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vbcore.status import BusinessDocType
from vbcore.store import ChangeMarker, StatusEvent
from vbcore.store.status_rules import answer_marker, effective_time, is_later, requested_marker

NINE = datetime(2026, 11, 24, 9, 0)


def test_a_later_status_replaces_an_earlier_one_whatever_its_code() -> None:
    assert is_later(datetime(2026, 11, 24, 9, 0, 1), "01", NINE, "06")
    assert not is_later(datetime(2026, 11, 24, 8, 59, 59), "06", NINE, "01")


@pytest.mark.parametrize(
    ("new", "old", "replaces"),
    [("03", "01", True), ("01", "03", False), ("02", "01", True), ("06", "05", True), ("05", "05", True)],
)
def test_at_the_same_time_only_an_equal_or_further_step_replaces(new: str, old: str, replaces: bool) -> None:
    assert is_later(NINE, new, NINE, old) is replaces


def test_anything_replaces_nothing() -> None:
    assert is_later(NINE, "01", None, None)


def test_a_status_time_with_a_zone_is_read_as_vietnam_local_time() -> None:
    event = StatusEvent(
        "d", "r", "01", None, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), datetime.now(UTC), "r"
    )
    assert effective_time(event) == NINE


def test_a_status_without_a_time_counts_from_its_arrival_in_vietnam_local_time() -> None:
    event = StatusEvent("d", "r", "01", None, None, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), "r")
    assert effective_time(event) == NINE


@pytest.mark.parametrize(
    ("business_type", "marker"),
    [
        (BusinessDocType.NEW, None),
        (BusinessDocType.REVOKE, ChangeMarker.REVOKE_REQUESTED),
        (BusinessDocType.UPDATE, ChangeMarker.CHANGE_REQUESTED),
        (BusinessDocType.REPLACE, ChangeMarker.CHANGE_REQUESTED),
    ],
)
def test_a_delivered_package_requests_what_its_business_type_says(
    business_type: int, marker: str | None
) -> None:
    assert requested_marker(business_type) == marker


@pytest.mark.parametrize(
    ("code", "asked", "marker"),
    [
        ("15", ChangeMarker.REVOKE_REQUESTED, ChangeMarker.REVOKED),
        ("16", ChangeMarker.REVOKE_REQUESTED, ChangeMarker.REVOKE_REFUSED),
        ("15", ChangeMarker.CHANGE_REQUESTED, ChangeMarker.CHANGED),
        ("16", ChangeMarker.CHANGE_REQUESTED, ChangeMarker.CHANGE_REFUSED),
        ("15", None, ChangeMarker.CHANGED),
        ("16", ChangeMarker.REVOKED, ChangeMarker.REVOKE_REFUSED),
    ],
)
def test_an_answer_is_marked_by_what_was_asked(code: str, asked: str | None, marker: str) -> None:
    assert answer_marker(code, asked) == marker
