"""What the pipeline knows about one delivery as it goes, and the refusals it collects."""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcore.errors import PackageRefused
from vbcore.transport import Delivery


@dataclass
class Attempt:
    """One ingress delivery on its way through the pipeline (feeds refusals and the log line)."""

    delivery: Delivery
    sender: str | None
    kind: str = "unknown"
    document_id: str | None = None
    delivered: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    outcome: str = "pending"
    reason: str | None = None


@dataclass(frozen=True)
class Refused:
    """One refusal to record and answer: the error, and the recipient it concerns (if one)."""

    error: PackageRefused
    recipient: str | None = None
