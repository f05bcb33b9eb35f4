"""vbcore.store: where the hub records documents, deliveries, statuses, refusals and its trace.

``open_store(url)`` opens (and migrates) a ``TrackingStore`` at a database URL (``sqlite:///var/vbus.db``,
``sqlite://``, ``postgresql://user@host/db?schema=NAME``: every form and option in ``vbcore.database``).

A store object may be shared by the threads of one process; several processes (hub workers) each open
their own. See ``vbcore.store.status_rules`` for how statuses move a pair, and ``ChangeMarker`` for
revokes and updates.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

from vbcore.database import open_driver
from vbcore.errors import TlsRequired
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
from vbcore.tls import DOCS, REQUIRE_TLS_ENV, tls_required

VERIFY_FULL = "verify-full"

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
    "require_verified_server",
]


def open_store(url: str) -> SqlStore:
    """Open the store at ``url`` and bring its schema up to date (see the module docstring)."""
    require_verified_server(url)
    return SqlStore(open_driver(url))


def require_verified_server(url: str) -> None:
    """When the installation requires TLS (``vbcore.tls``), a PostgreSQL store URL must ask libpq to
    verify the server: ``sslmode=verify-full`` (the chain and the host name; ``require`` and
    ``verify-ca`` encrypt but would talk to anyone holding any certificate, or any of the CA's). A
    SQLite store is a file on this machine: no link."""
    parts = urlsplit(url)
    if not tls_required() or parts.scheme not in ("postgresql", "postgres"):
        return
    mode = dict(parse_qsl(parts.query)).get("sslmode") or os.environ.get("PGSSLMODE")
    if mode != VERIFY_FULL:
        raise TlsRequired(
            f"the store URL asks for sslmode={mode or 'prefer (the default)'} and this installation requires "
            f"TLS ({REQUIRE_TLS_ENV}): add ?sslmode={VERIFY_FULL}&sslrootcert=/path/ca.pem (see {DOCS})",
            vi=f"địa chỉ kho theo dõi dùng sslmode={mode or 'prefer (mặc định)'} mà hệ thống yêu cầu TLS "
            f"({REQUIRE_TLS_ENV}): hãy thêm ?sslmode={VERIFY_FULL}&sslrootcert=/đường/dẫn/ca.pem "
            f"(xem {DOCS})",
        )
