"""The world the conformance kit runs a connector in: a real hub, a peer agency, the connector's runtime.

Everything is real: a development PKI, the hub pipeline with a SQLite store, the agencies' clients
that sign and verify, over the in-memory broker or a real RabbitMQ (a vhost of its own, one broker
user per agency, as ``BrokerAdmin`` provisions them). Only the clock is fake, so backoff needs no
sleeping. ``crash()`` drops the connector's process state without acknowledging anything; the next
``runtime()`` starts over from the DMS, the ledger file and the broker, as a restarted process would.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vbcore.agency import AgencyClient, Incoming
from vbcore.connector import Connector, ConnectorContext, IncomingDocument, StatusUpdate
from vbcore.connector.ledger import Ledger
from vbcore.connector.runtime import ConnectorRuntime, RetryLimit, StepReport
from vbcore.directory import Agency, Directory
from vbcore.edxml import write_package
from vbcore.hub.config import HubConfig
from vbcore.model import (
    Business,
    Edoc,
    Organization,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StatusPackage,
)
from vbcore.retry import Backoff
from vbcore.security.signing import SigningKey, TrustStore, sign_package
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import open_store
from vbcore.testing.devworld import DevKeys, letter
from vbcore.transport import Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names

ConnectorFactory = Callable[[ConnectorContext], Connector]
PDF = b"%PDF-1.4\n% vbus conformance kit\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


class FakeClock:
    """Monotonic seconds that only move when told (the runtime's backoff reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Peer:
    """The other agency: sends documents to the connector's agency and reads what comes back."""

    code: str
    client: AgencyClient
    received: list[Incoming] = field(default_factory=list)


def _unit_code(rng: random.Random, body: str) -> str:
    return f"{rng.randrange(100, 1000)}.{rng.randrange(10, 100)}.{rng.randrange(10, 100)}.{body}"


@dataclass(frozen=True)
class Identities:
    """Agency codes, hub user and their keys: made once per session (RSA keys cost ~50 ms each).

    Codes are random units of real level-1 bodies, so tests of several sessions can share one
    RabbitMQ (whose users are global) without taking each other's users.
    """

    agency: str
    agency_name: str
    peer: str
    hub_user: str  # the hub's broker user
    hub_id: str  # the hub's identity in its certificate and in the statuses it signs
    dev: DevKeys

    @property
    def trust(self) -> TrustStore:
        return self.dev.trust

    @property
    def keys(self) -> dict[str, SigningKey]:
        return self.dev.keys

    @classmethod
    def create(cls, directory: Path) -> Identities:
        rng = random.Random(uuid.uuid4().int)
        agency, peer = _unit_code(rng, "H24"), _unit_code(rng, "G22")
        hub_user = f"vbk-hub-{uuid.uuid4().hex[:8]}"
        # Not an agency code: a test-tenant-shaped id, which certificates may bind (vbcore.security.pki).
        hub_id = "vbk.hub"
        name = "Sở Nội vụ (kiểm thử)"
        dev = DevKeys.create(
            directory, [(hub_id, "vbus hub"), (agency, name), (peer, "Văn phòng (kiểm thử)")]
        )
        return cls(agency, name, peer, hub_user, hub_id, dev)


class World:
    """A hub, a peer and the connector under test, on ``transport`` ("memory" or "rabbitmq")."""

    def __init__(
        self,
        tmp: Path,
        factory: ConnectorFactory,
        *,
        transport: str = "memory",
        amqp_url: str | None = None,
        identities: Identities | None = None,
        retry: RetryLimit | None = None,
    ) -> None:
        ids = identities or Identities.create(tmp / "pki")
        # Few attempts, so that a scenario sees a poison document parked within a few rounds.
        self.retry = retry or RetryLimit(attempts=3, seconds=None)
        self.tmp, self.factory, self.kind = tmp, factory, transport
        self.agency, self.agency_name, self.peer_code = ids.agency, ids.agency_name, ids.peer
        prefix = f"vbk{uuid.uuid4().hex[:8]}"
        # Broker users are broker-wide: the world's agency users live under its own prefix.
        self.names = Names(prefix=prefix, hub_user=ids.hub_user, user_prefix=f"{prefix}-")
        self.clock = FakeClock()
        self.hub_id = ids.hub_id
        self.trust, self.keys = ids.trust, ids.keys
        self.dev = ids.dev
        units = [Agency(self.agency, self.agency_name, "unit", parent="000.00.00.H24"),
                 Agency(self.peer_code, "Văn phòng (kiểm thử)", "unit", parent="000.00.00.G22")]
        directory = Directory.default().merged_with(Directory.from_agencies(units))
        self._cleanups: list[Callable[[], Any]] = []
        self._connect = self._transports(amqp_url)
        self.hub_transport = self._connect(self.names.hub_user)
        config = HubConfig(hub_id=self.hub_id, names=self.names)
        self.hub = self.dev.hub(self.hub_transport, open_store("sqlite://"), config, directory)
        self.hub.start([self.agency, self.peer_code])
        self.peer = Peer(self.peer_code, self._client(self.peer_code))
        self.ledger_path = tmp / "ledger.sqlite3"
        self.work_dir = tmp / "connector-work"
        self._runtime: ConnectorRuntime | None = None
        self._transport: Transport | None = None
        self._ledger: Ledger | None = None
        self._seq = 0
        self.sent_raw: dict[str, bytes] = {}
        # "before:deliver" -> one-shot callables run before the next deliver (a fault, a crash...)
        self.hooks: dict[str, list[Callable[[], None]]] = {}
        # (method, document id or None for every call) -> the error it raises, every time
        self.faults: dict[tuple[str, str | None], Callable[[], BaseException]] = {}
        self.status_updates: list[StatusUpdate] = []  # every status the connector recorded

    # --- plumbing ----------------------------------------------------------------------------
    def _transports(self, amqp_url: str | None) -> Callable[[str], Transport]:
        if self.kind == "memory":
            from vbcore.transport.memory import InMemoryBroker, InMemoryTransport

            broker = InMemoryBroker()
            return lambda user: InMemoryTransport(broker, user, self.names)
        if self.kind != "rabbitmq" or amqp_url is None:
            raise ValueError(f"unknown transport {self.kind!r} (memory or rabbitmq with an amqp_url)")
        from vbcore.testing.conformance_rabbitmq import rabbitmq_transports

        connect: Callable[[str], Transport] = rabbitmq_transports(
            amqp_url, self.names, [self.agency, self.peer_code], self._cleanups
        )
        return connect

    def _client(self, code: str) -> AgencyClient:
        return self.dev.client(self._connect(self.names.agency_user(code)), code, self.names)

    def runtime(self) -> ConnectorRuntime:
        """The connector's running process (started on first use, and again after ``crash``)."""
        if self._runtime is None:
            context = ConnectorContext(self.agency, self.work_dir, self.agency_name)
            self.work_dir.mkdir(parents=True, exist_ok=True)
            connector = InterceptingConnector(self.factory(context), self.hooks, self.faults,
                                              self.status_updates)
            client = self._client(self.agency)
            self._transport = client.transport
            self._ledger = Ledger(self.ledger_path)
            self._runtime = ConnectorRuntime(
                connector, client, ledger=self._ledger, agency_name=self.agency_name,
                backoff=Backoff(initial=1.0, jitter=0.0), clock=self.clock, wall_clock=self.clock,
                retry=self.retry,
            )
        return self._runtime

    def crash(self) -> None:
        """The connector's process dies: nothing acknowledged, nothing closed cleanly."""
        if self._transport is not None:
            self._transport.close()  # unacked deliveries go back to the queue, redelivered
        if self._ledger is not None:
            self._ledger.close()
        self._runtime = self._transport = self._ledger = None

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
        self.crash()
        self.peer.client.transport.close()
        self.hub_transport.close()
        for cleanup in reversed(self._cleanups):
            cleanup()

    def once(self, when: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, at ``when`` = "before:<method>" or "after:<method>" of the connector."""
        self.hooks.setdefault(when, []).append(hook)

    def fail(self, method: str, error: Callable[[], BaseException], document_id: str | None = None) -> None:
        """Make the connector's ``method`` raise ``error()`` every time: for every call, or only for
        calls about ``document_id`` (a poison document). ``heal(method)`` ends it."""
        self.faults[(method, document_id)] = error

    def heal(self, method: str) -> None:
        for fault in [f for f in self.faults if f[0] == method]:
            del self.faults[fault]

    def agency_sends_elsewhere(self, edoc: Edoc) -> str:
        """The agency sends ``edoc`` without the connector (``vb send``, another machine)."""
        client = self._client(self.agency)
        try:
            client.submit(edoc)
        finally:
            client.transport.close()
        return edoc.effective_document_id

    def hub_copy_to_agency(self, edoc: Edoc, signer: str, message_id: str) -> str:
        """Put ``edoc`` signed by ``signer`` straight into the agency's inbox, as the hub forwards one."""
        doc_id = edoc.effective_document_id
        self.hub_transport.publish(
            self.names.delivery_exchange, self.agency, sign_package(write_package(edoc), self.keys[signer]),
            message_id=message_id, headers={n.KIND: n.KIND_EDOC, n.SENDER: signer, n.DOCUMENT_ID: doc_id},
        )  # fmt: skip
        return doc_id

    def parked(self) -> list[tuple[str, str]]:
        """(message id, reason) of every parked message, taken out of the parking queue (on RabbitMQ,
        after the broker's dead-lettering, which runs on its own, had a moment)."""
        found = []
        quiet_until = time.monotonic() + (0.0 if self.kind == "memory" else 1.5)
        while True:
            d = self.hub_transport.get(self.names.parked_queue)
            if d is not None:
                self.hub_transport.ack(d)
                found.append((d.message_id, d.headers.get(n.PARK_REASON, "")))
            elif time.monotonic() >= quiet_until:
                return found
            else:
                time.sleep(0.1)

    # --- moving things -----------------------------------------------------------------------
    def pump(self, rounds: int = 30) -> list[StepReport]:
        """Run hub and connector until nothing moves; the fake clock jumps past any backoff."""
        reports, quiet = [], 0
        wait = 0.0 if self.kind == "memory" else 0.05
        for _ in range(rounds):
            report = self.runtime().step()
            reports.append(report)
            moved = self.hub_transport.drain(wait)
            self.clock.advance(3600)
            quiet = quiet + 1 if (moved == 0 and report.idle and not report.waiting) else 0
            if quiet >= (2 if self.kind == "memory" else 4):
                break
        return reports

    def peer_inbox(self) -> list[Incoming]:
        """What reached the peer since the last call (verified, acknowledged)."""
        got = []
        timeout = 0.0 if self.kind == "memory" else 0.3
        while (incoming := self.peer.client.fetch(timeout)) is not None:
            self.peer.client.ack(incoming)
            got.append(incoming)
            timeout = 0.0 if self.kind == "memory" else 0.1
        self.peer.received.extend(got)
        return got

    def republish_to_agency(self, document_id: str) -> None:
        """Publish a document to the connector's inbox again, as the hub does after its own crash."""
        self.hub_transport.publish(
            self.names.delivery_exchange, self.agency, self.sent_raw[document_id],
            message_id=f"{document_id}|{self.agency}",
            headers={n.KIND: n.KIND_EDOC, n.SENDER: self.peer_code, n.DOCUMENT_ID: document_id},
        )

    # --- documents ---------------------------------------------------------------------------
    def document(self, sender: str, to: str, *, subject: str | None = None,
                 business: Business | None = None, document_id: str | None = None) -> Edoc:
        """A real-looking document with one PDF attachment."""
        self._seq += 1
        number = f"{self._seq}{secrets.randbelow(1000):03d}"
        return letter(
            sender, [to], number, notation="VP-KT", subject=subject or f"V/v kiểm thử kết nối số {self._seq}",
            pdf=PDF, business=business, document_id=document_id,
            signer_info=SignerInfo("KT. CHÁNH VĂN PHÒNG", "Phó Chánh Văn phòng", "Nguyễn Văn Kiểm"),
        )  # fmt: skip

    def peer_sends(self, edoc: Edoc) -> str:
        """The peer signs and sends ``edoc``; its signed bytes are kept in ``sent_raw``."""
        doc_id = edoc.effective_document_id
        raw = sign_package(write_package(edoc), self.keys[self.peer_code])
        self.sent_raw[doc_id] = raw
        self.peer.client.submit_signed(raw, kind=n.KIND_EDOC, document_id=doc_id)
        return doc_id

    def change(self, original: Edoc, kind: BusinessDocType, reason: str) -> Edoc:
        """The peer's revoke/update (same DocumentId) or replace (a new document) of ``original``."""
        doc_id = original.effective_document_id
        if kind is BusinessDocType.REPLACE:
            business = Business(kind, document_id=None, business_doc_reason=reason,
                                replacement_info=(ReplacementInfo(doc_id, (self.agency,)),))
            return self.document(self.peer_code, self.agency, subject="Văn bản thay thế", business=business)
        business = Business(kind, document_id=doc_id, business_doc_reason=reason)
        return self.document(self.peer_code, self.agency, business=business, document_id=doc_id)


def incoming_document(world: World, edoc: Edoc, signer: str | None = None) -> IncomingDocument:
    """``edoc`` from the peer (or from ``signer``) as the runtime would hand it to ``deliver``."""
    doc_id, sender = edoc.effective_document_id, signer or world.peer_code
    raw = sign_package(write_package(edoc), world.keys[sender])
    return IncomingDocument(doc_id, sender, edoc, raw, f"{doc_id}|{world.agency}", datetime.now(UTC))


def status_from_peer(world: World, edoc: Edoc, code: str, description: str | None = None) -> StatusPackage:
    """A status from the peer about ``edoc`` (addressed to the document's sender)."""
    return StatusPackage(
        from_=Organization(world.peer_code),
        response_for=ResponseFor(
            edoc.from_.organ_id, str(edoc.code), edoc.promulgation_info.promulgation_date,
            edoc.effective_document_id,
        ),
        status_code=StatusCode(code),
        description=description or StatusCode(code).vietnamese,
        timestamp=datetime(2026, 11, 24, 9, 30, int(code) % 60),
    )


class SimulatedCrash(BaseException):
    """Raised by a hook to stop the runtime mid-step, as a killed process would stop."""


class InterceptingConnector(Connector):
    """Wraps the connector under test so a scenario can inject faults before or after any call."""

    def __init__(
        self,
        inner: Connector,
        hooks: dict[str, list[Callable[[], None]]],
        faults: dict[tuple[str, str | None], Callable[[], BaseException]] | None = None,
        statuses: list[StatusUpdate] | None = None,
    ) -> None:
        self.inner, self.hooks = inner, hooks
        self.faults = {} if faults is None else faults
        self.statuses = [] if statuses is None else statuses
        self.name, self.version = inner.name, inner.version  # type: ignore[misc]
        self.context = inner.context

    def _call(self, method: str, *args: Any) -> Any:
        for hook in self._take(f"before:{method}"):
            hook()
        about = {getattr(a, "document_id", a) for a in args}
        for (name, document_id), error in self.faults.items():
            if name == method and (document_id is None or document_id in about):
                raise error()
        result = getattr(self.inner, method)(*args)
        for hook in self._take(f"after:{method}"):
            hook()
        return result

    def _take(self, key: str) -> list[Callable[[], None]]:
        queue = self.hooks.get(key, [])
        return [queue.pop(0)] if queue else []

    def start(self) -> None:
        self._call("start")

    def close(self) -> None:
        self._call("close")

    def poll_outgoing(self) -> Any:
        return self._call("poll_outgoing")

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        self._call("mark_sent", outgoing_id, document_id)

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        self._call("mark_failed", outgoing_id, reason)

    def deliver(self, doc: Any) -> Any:
        return self._call("deliver", doc)

    def poll_events(self) -> Any:
        return self._call("poll_events")

    def mark_event_sent(self, event_id: str) -> None:
        self._call("mark_event_sent", event_id)

    def mark_event_failed(self, event_id: str, reason: str) -> None:
        self._call("mark_event_failed", event_id, reason)

    def on_status(self, status: Any) -> None:
        self._call("on_status", status)
        self.statuses.append(status)

    def on_change(self, request: Any) -> Any:
        return self._call("on_change", request)
