"""When a (document, recipient) pair becomes overdue: the store helper's working-day rule."""

from __future__ import annotations

from datetime import datetime

from vbcore.workdays import OverduePolicy
from vbcore.workdays import deadline_for as _workday_deadline

DEFAULT_POLICY = OverduePolicy()


def deadline_for(accepted_at: datetime, policy: OverduePolicy = DEFAULT_POLICY) -> datetime:
    """A 01 is due by the end of the working day the hub accepted the document (Asia/Ho_Chi_Minh)."""
    return _workday_deadline(accepted_at, policy)
