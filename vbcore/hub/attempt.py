"""What the pipeline knows about one delivery as it goes, and what it will do about it."""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcore.errors import PackageRefused
from vbcore.evidence.entry import EvidenceDraft
from vbcore.hub.checks import CheckedPackage
from vbcore.transport import Delivery, Outgoing


@dataclass
class Attempt:
    """One ingress delivery on its way through the pipeline.

    The check and plan steps fill it in; the batch then publishes ``outgoing`` and ``replies``, marks
    ``forwarded`` in the store, and finally acks the delivery, or parks it when ``refusal`` (or
    ``internal_error``) is set.
    """

    delivery: Delivery
    sender: str | None
    kind: str = "unknown"
    document_id: str | None = None  # the id the hub tracks it under (``routing.document_key``)
    edxml_document_id: str | None = None  # the DocumentId as the package wrote it (a 02 names this one)
    checked: CheckedPackage | None = None
    sha256: str = ""
    refusal: PackageRefused | None = None  # the whole message is refused: parked after its 02 went out
    internal_error: str | None = None  # a bug: parked with this reason; ``refusal`` answers the sender
    outgoing: list[Outgoing] = field(default_factory=list)  # forwarded packages (must be confirmed)
    replies: list[Outgoing] = field(default_factory=list)  # the hub's signed 02s
    forwarded: list[str] = field(default_factory=list)  # recipients to mark forwarded after publishing
    traces: list[str] = field(default_factory=list)  # trace events recorded after publishing
    refused: list[str] = field(default_factory=list)  # for the log: recipients or reasons refused
    refused_reasons: list[str] = field(default_factory=list)  # for the metrics: each refusal's reason
    # The evidence log (``vbcore.hub.evidence``): entries appended with the plan's commit, and those
    # appended with the commit that follows the broker's confirms (copies delivered, statuses forwarded).
    evidence: list[EvidenceDraft] = field(default_factory=list)
    evidence_confirmed: list[EvidenceDraft] = field(default_factory=list)
    outcome: str = "pending"
    reason: str | None = None

    @property
    def delivered(self) -> list[str]:
        return [m.routing_key for m in self.outgoing]

    def forget_evidence(self) -> None:
        """The plan was undone (its savepoint rolled back): so are the events it described."""
        self.evidence.clear()
        self.evidence_confirmed.clear()


@dataclass(frozen=True)
class Refused:
    """One refusal to record and answer: the error, and the recipient it concerns (if one)."""

    error: PackageRefused
    recipient: str | None = None
