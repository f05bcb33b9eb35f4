"""vbcore.store: where the hub records documents, deliveries, statuses, refusals and its trace.

``open_store(url)`` opens (and migrates) a ``TrackingStore`` at a database URL (``sqlite:///var/vbus.db``,
``sqlite://``, ``postgresql://user@host/db?schema=NAME``: every form and option in ``vbcore.database``).

A store object may be shared by the threads of one process; several processes (hub workers) each open
their own. See ``vbcore.store.status_rules`` for how statuses move a pair, and ``ChangeMarker`` for
revokes and updates.
"""

from __future__ import annotations

from vbcore.database import open_driver
from vbcore.store.api import (
    ChangeMarker,
    ClaimResult,
    DeliveryState,
    DocumentRecord,
    PairRecord,
    Refusal,
    StatusEvent,
    TraceEvent,
    TrackingStore,
)
from vbcore.store.sql import SqlStore

__all__ = [
    "ChangeMarker",
    "ClaimResult",
    "DeliveryState",
    "DocumentRecord",
    "PairRecord",
    "Refusal",
    "SqlStore",
    "StatusEvent",
    "TraceEvent",
    "TrackingStore",
    "open_store",
]


def open_store(url: str) -> SqlStore:
    """Open the store at ``url`` and bring its schema up to date (see the module docstring)."""
    return SqlStore(open_driver(url))
