"""Runs a gateway plugin (``vbcore.connector.gateway``): relays between the gateway's inbox on the hub and
another axis, for every agency reached via it.

One ``step()`` does two lanes that fail apart, each backing off on its own:

- **out** (vbus -> the other axis): each message in the gateway's inbox is for one agency behind it
  (``x-vbus-recipient``): a document or a status from a vbus agency, or the hub's 02 refusing what that
  agency sent. Its bytes are posted unchanged; the ledger remembers it was posted, then it is acked. A
  document the other axis refuses for good is answered with a 02 from the agency it was for, signed by
  the gateway (the hub takes it as the gateway's word, ``vbcore.hub.relay``), then acked; a status it
  refuses is parked with the reason for the operator. The hub's 02 about a package it refused before
  knowing its sender (it could not read it) is addressed to the gateway itself: it goes to the sender the
  other axis named for that package (the ledger remembers who published what).
- **in** (the other axis -> vbus): each package the other axis holds for vbus is published to the hub's
  ingress, bytes unchanged (the hub judges its sender's own signature), under a message id made of its
  id there, so a publish repeated after a crash is one message to the hub; then it is acknowledged
  there. One that is not an edXML package is refused there with the reason, and never published.

The one gap the other axis's interface leaves: a post whose answer was lost (a timeout) is posted again
on the retry, and the receiving DMS sees the same DocumentId twice (and keeps one).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from vbcore.agency import AgencyClient, Incoming
from vbcore.connector.gateway import Gateway, Taken
from vbcore.connector.ledger import Ledger
from vbcore.edxml import read_package, write_package
from vbcore.errors import DmsRefused, DmsUnavailable, PackageRefused, TransportError
from vbcore.lang import Text
from vbcore.logging import get_logger
from vbcore.model import Edoc, Organization, ResponseFor, StatusPackage
from vbcore.retry import Backoff
from vbcore.security.signing import sign_package
from vbcore.status import StatusCode
from vbcore.timezones import utc_now, vietnam_local
from vbcore.transport import names as n

__all__ = ["GatewayReport", "GatewayRuntime"]

log = get_logger("vbus.gateway")
T = TypeVar("T")
_REFUSED_THERE = Text(
    "Trục liên thông kia từ chối nhận văn bản: {reason}", "The other axis refused the document: {reason}"
)
_NOT_EDXML = Text("Không chuyển tiếp được vào trục: {reason}", "Cannot be relayed to the hub: {reason}")


class _LaneDown(Exception):
    """The other axis or the broker is unavailable: the lane's round stops and backs off."""


@dataclass
class GatewayReport:
    """What one round did (ids of the hub's messages posted out; ids of the other axis's packages in)."""

    posted: list[str] = field(default_factory=list)
    refused_there: list[str] = field(default_factory=list)  # documents the other axis refused (02 sent)
    relayed: list[str] = field(default_factory=list)
    refused_here: list[str] = field(default_factory=list)  # not edXML: refused back to the other axis
    parked: list[str] = field(default_factory=list)
    waiting: bool = False
    error: str | None = None

    @property
    def idle(self) -> bool:
        return not (self.posted or self.refused_there or self.relayed or self.refused_here or self.parked)


class GatewayRuntime:
    """Drives one gateway plugin over the gateway's ``AgencyClient`` (its broker user and key)."""

    def __init__(
        self,
        gateway: Gateway,
        client: AgencyClient,
        *,
        ledger: Ledger,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        fetch_batch: int = 100,
    ) -> None:
        self.gateway, self.client, self.ledger = gateway, client, ledger
        self.code = client.agency
        ledger.claim_agency(self.code)
        template = backoff or Backoff()
        self.out_lane, self.in_lane = (
            Backoff(initial=template.initial, factor=template.factor, maximum=template.maximum,
                    jitter=template.jitter)
            for _ in range(2)
        )  # fmt: skip
        self.clock, self.fetch_batch = clock, fetch_batch
        self._started = False

    def start(self) -> None:
        if not self._started:
            self.gateway.start()
            self._started = True

    def close(self) -> None:
        if self._started:
            self.gateway.close()
            self._started = False

    def step(self) -> GatewayReport:
        """One round of each lane that is not backing off. Never sleeps."""
        self.start()
        report, errors = GatewayReport(), []
        for name, lane, work in (
            ("out", self.out_lane, self._out_round),
            ("in", self.in_lane, self._in_round),
        ):
            if not lane.ready(self.clock()):
                errors.append(f"{name}: {lane.last_error}")
                continue
            try:
                work(report)
            except _LaneDown as exc:
                lane.failed(self.clock(), str(exc))
                log.warning("gateway.retry", lane=name, error=str(exc))
                errors.append(f"{name}: {exc}")
                continue
            lane.succeeded()
        report.waiting = self.out_lane.waiting or self.in_lane.waiting
        report.error = "; ".join(errors) or None
        return report

    # --- vbus -> the other axis ------------------------------------------------------------------
    def _out_round(self, report: GatewayReport) -> None:
        for _ in range(self.fetch_batch):
            try:
                incoming = self.client.fetch()
            except TransportError as exc:
                raise _LaneDown(f"broker unavailable during fetch: {exc}") from exc
            if incoming is None:
                return
            self._out_one(incoming, report)

    def _out_one(self, incoming: Incoming, report: GatewayReport) -> None:
        try:
            parked = self._out(incoming, report)
        except _LaneDown:
            self._settle(lambda: self.client.requeue(incoming))
            raise
        if not parked:
            self._settle(lambda: self.client.ack(incoming))

    def _out(self, incoming: Incoming, report: GatewayReport) -> bool:
        """Post one message of the inbox; True when it was parked instead (the caller acks the rest)."""
        key = f"gw-out:{incoming.delivery.message_id}"
        if self.ledger.is_done(key):
            return False  # posted before a crash; only the ack was missing
        recipient = incoming.headers.get(n.RECIPIENT) or ""
        if incoming.kind == n.KIND_REFUSAL and recipient in ("", self.code):
            publisher = self._publisher_of(incoming)  # refused before the hub knew the remote sender
            if publisher is None:
                log.error("gateway.refusal_unrouted", message_id=incoming.delivery.message_id)
                self.ledger.mark_done(key, "unrouted")
                return False
            recipient = publisher
        kind = "edoc" if incoming.kind == n.KIND_EDOC else "status"
        try:
            posted = self._call(lambda: self.gateway.post(incoming.raw, kind=kind, sender=incoming.signer,
                                                          recipients=[recipient]))  # fmt: skip
        except DmsRefused as exc:
            parked = self._refused_there(incoming, recipient, exc, report)
            self.ledger.mark_done(key, f"refused: {exc}")
            return parked
        self.ledger.mark_done(key, posted)
        report.posted.append(incoming.delivery.message_id)
        return False

    def _refused_there(
        self, incoming: Incoming, recipient: str, exc: DmsRefused, report: GatewayReport
    ) -> bool:
        """A document the other axis will never take: a 02 from its recipient, signed by the gateway, to
        its vbus sender (False). Anything else refused there is parked for the operator with the reason
        (True)."""
        package = incoming.package
        if not isinstance(package, Edoc):
            self._settle(lambda: self.client.park(incoming, f"{exc.reason}: {exc}"))
            report.parked.append(incoming.delivery.message_id)
            return True
        lang = self.gateway.context.lang
        status = StatusPackage(
            from_=Organization(recipient),
            response_for=ResponseFor(
                incoming.signer, str(package.code) or None, package.promulgation_info.promulgation_date,
                package.effective_document_id,
            ),
            status_code=StatusCode.REFUSED,
            description=_REFUSED_THERE.format(reason=exc.describe(lang))(lang),
            timestamp=vietnam_local(utc_now()).replace(microsecond=0),
        )  # fmt: skip
        self._publish(
            sign_package(write_package(status), self.client.key),
            n.KIND_STATUS,
            f"gw|{self.code}|refused|{incoming.delivery.message_id}",
            package.effective_document_id,
        )
        report.refused_there.append(package.effective_document_id)
        return False

    def _publisher_of(self, incoming: Incoming) -> str | None:
        """The remote sender of the package the hub's 02 refuses, as the other axis named it."""
        published = incoming.headers.get(n.REFUSED_MESSAGE_ID, "")
        known = self.ledger.value(f"gw-msg:{published}")
        return json.loads(known).get("sender") if known else None

    # --- the other axis -> vbus ------------------------------------------------------------------
    def _in_round(self, report: GatewayReport) -> None:
        for taken in self._call(lambda: list(self.gateway.take())):
            self._in(taken, report)

    def _in(self, taken: Taken, report: GatewayReport) -> None:
        key = f"gw-in:{taken.id}"
        if not self.ledger.is_done(key):
            try:
                package = read_package(taken.package).package
            except PackageRefused as exc:
                lang = self.gateway.context.lang
                reason = _NOT_EDXML.format(reason=exc.describe(lang))(lang)
                self._call(lambda: self.gateway.mark_refused(taken.id, reason))
                report.refused_here.append(taken.id)
                return
            kind = n.KIND_STATUS if isinstance(package, StatusPackage) else n.KIND_EDOC
            document_id = (
                package.document_id if isinstance(package, StatusPackage) else package.effective_document_id
            )
            message_id = f"gw|{self.code}|{taken.id}"
            sender = taken.sender or package.from_.organ_id
            self.ledger.mark_done(f"gw-msg:{message_id}", json.dumps({"id": taken.id, "sender": sender}))
            self._publish(taken.package, kind, message_id, document_id)
            self.ledger.mark_done(key, message_id)
            report.relayed.append(taken.id)
        self._call(lambda: self.gateway.mark_taken(taken.id))

    # --- plumbing ----------------------------------------------------------------------------------
    def _publish(self, body: bytes, kind: str, message_id: str, document_id: str | None) -> None:
        try:
            self.client.submit_signed(body, kind=kind, message_id=message_id, document_id=document_id)
        except TransportError as exc:
            raise _LaneDown(f"broker unavailable during publish: {exc}") from exc

    def _call(self, call: Callable[[], T]) -> T:
        """A call to the other axis: its outage (or a refused login) stops the lane's round."""
        try:
            return call()
        except DmsUnavailable as exc:
            raise _LaneDown(f"the other axis is unavailable: {exc}") from exc

    def _settle(self, call: Callable[[], None]) -> None:
        try:
            call()
        except TransportError as exc:  # the connection is gone: the broker gives the message back
            raise _LaneDown(f"broker unavailable during ack: {exc}") from exc
