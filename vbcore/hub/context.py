"""What the routers (``documents``, ``statuses``) need of the hub, and nothing more.

The pipeline (``Hub``) owns one ``RouterContext`` and hands it to both routers: they read the
configuration and its clock, write the store, resolve recipients against the directory, and have the
pipeline record and answer refusals, without knowing the pipeline (which imports them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vbcore.directory import Directory
from vbcore.hub.attempt import Attempt, Refused
from vbcore.hub.config import HubConfig
from vbcore.store.api import TrackingStore
from vbcore.transport import Outgoing

RefusalBuilder = Callable[[Attempt, list[Refused], datetime], list[Outgoing]]
"""Record each refusal (inside the store transaction) and return the signed 02 that answers them."""


@dataclass
class RouterContext:
    """Shared by the hub and its routers; the hub replaces ``config`` in place when it is given a new one."""

    config: HubConfig
    store: TrackingStore
    directory: Directory
    refusals_for: RefusalBuilder

    def now(self) -> datetime:
        return self.config.clock()
