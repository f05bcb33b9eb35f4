"""What one round of the connector runtime did (``ConnectorRuntime.step``), for tests, logs and
``vb connector run --once``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepReport:
    sent: list[str] = field(default_factory=list)  # document ids submitted
    failed: list[str] = field(default_factory=list)  # outgoing ids marked failed
    delivered: list[str] = field(default_factory=list)  # document ids newly put into the DMS
    refused: list[str] = field(default_factory=list)  # document ids the DMS refused (02 sent)
    parked: list[str] = field(default_factory=list)  # messages given up on (02 or 16 sent), parked
    statuses_sent: list[str] = field(default_factory=list)  # "<document_id>:<code>"
    statuses_received: list[str] = field(default_factory=list)  # "<document_id>:<code>"
    changes: list[str] = field(default_factory=list)  # "<document_id>:<kind>:<15|16|pending>"
    events_failed: list[str] = field(default_factory=list)  # event ids marked failed (with a reason)
    waiting: bool = False  # a lane backs off (DMS or broker down) or holds items to retry later
    error: str | None = None  # why, per lane

    @property
    def idle(self) -> bool:
        return not (self.sent or self.failed or self.delivered or self.refused or self.parked
                    or self.statuses_sent or self.statuses_received or self.changes or self.events_failed)
