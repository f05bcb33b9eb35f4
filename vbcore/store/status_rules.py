"""How a status moves a delivery pair: the ordering rule and the revoke/update markers.

Every status is kept as an event; this module decides what it does to the pair it concerns:

- receipts 01-06 and 02 move ``state`` to the code and set ``last_status``;
- 13 (the sender asks to take the document back) sets ``change`` to ``revoke-requested``;
- 15/16 (the recipient's answer to a revoke or an update) set ``last_status`` and turn ``change`` into
  ``revoked``/``revoke-refused`` or ``changed``/``change-refused``; ``state`` keeps the document's progress.
  An answer recorded for the revoke/update package itself also marks the recipient's copy of the original.

A status never moves a pair backwards in time: each of ``state``, ``last_status`` and ``change`` remembers
the time of the status that set it (its ``status_time``, or its arrival in Vietnam local time when the
package carried none) and only a status at the same time or later replaces it. At the same second the
further step wins (03 over 01), so a DMS that sends 01 and 03 in one second ends at 03 in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from vbcore.status import BusinessDocType
from vbcore.store.api import ChangeMarker, StatusEvent
from vbcore.timezones import VIETNAM

RECEIPTS = frozenset({"01", "02", "03", "04", "05", "06"})
REVOKE_REQUEST = "13"
ANSWERS = frozenset({"15", "16"})

_RANK = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5, "13": 1, "15": 6, "16": 6}
_REQUESTED = {BusinessDocType.REVOKE: ChangeMarker.REVOKE_REQUESTED}
_ANSWER = {
    ("revoke", "15"): ChangeMarker.REVOKED,
    ("revoke", "16"): ChangeMarker.REVOKE_REFUSED,
    ("change", "15"): ChangeMarker.CHANGED,
    ("change", "16"): ChangeMarker.CHANGE_REFUSED,
}


def local_time(instant: datetime) -> datetime:
    """An aware instant as a naive Vietnam local time (the clock status packages are written in).

    An instant that Vietnam time would push past either end of the calendar (year 1 at +14:00, year
    9999 at UTC) is clamped to ``datetime.min``/``max``: a status may carry any time, and the store
    must still order and keep it."""
    try:
        return instant.astimezone(VIETNAM).replace(tzinfo=None)
    except OverflowError:
        return datetime.max if instant.year > 1 else datetime.min


def effective_time(event: StatusEvent) -> datetime:
    if event.status_time is not None:
        return local_time(event.status_time) if event.status_time.tzinfo else event.status_time
    return local_time(event.received_at)


def is_later(new_time: datetime, new_code: str, old_time: datetime | None, old_code: str | None) -> bool:
    """True when a status (or marker) at ``new_time`` may replace one set at ``old_time``."""
    if old_time is None:
        return True
    if new_time != old_time:
        return new_time > old_time
    return _RANK.get(new_code, 0) >= _RANK.get(old_code or "", 0)


def requested_marker(business_type: int) -> str | None:
    """The marker a delivered revoke/update/replace package puts on the recipient's original copy."""
    if business_type == BusinessDocType.NEW:
        return None
    return _REQUESTED.get(BusinessDocType(business_type), ChangeMarker.CHANGE_REQUESTED)


def answer_marker(code: str, request: str | None) -> str:
    """The marker a 15/16 leaves, given what was asked (a marker or a business type's request)."""
    kind = "revoke" if request is not None and request.startswith("revoke") else "change"
    return _ANSWER[(kind, code)]


@dataclass(frozen=True)
class PairStatus:
    """The columns of a pair that statuses move, each with the time of the status that set it."""

    state: str
    state_time: datetime | None
    last_status: str | None
    last_status_at: datetime | None
    last_status_time: datetime | None
    change: str | None
    change_time: datetime | None

    def with_receipt(self, event: StatusEvent, at: datetime) -> PairStatus:
        pair = self
        if is_later(at, event.code, pair.state_time, pair.state if pair.state in _RANK else None):
            pair = replace(pair, state=event.code, state_time=at)
        return pair.with_last_status(event, at)

    def with_last_status(self, event: StatusEvent, at: datetime) -> PairStatus:
        if not is_later(at, event.code, self.last_status_time, self.last_status):
            return self
        return replace(self, last_status=event.code, last_status_at=event.received_at, last_status_time=at)

    def with_change(self, marker: str, code: str, at: datetime) -> PairStatus:
        old_code = (
            "13" if self.change in (ChangeMarker.REVOKE_REQUESTED, ChangeMarker.CHANGE_REQUESTED) else "15"
        )
        if self.change is not None and not is_later(at, code, self.change_time, old_code):
            return self
        return replace(self, change=marker, change_time=at)
