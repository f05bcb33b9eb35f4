"""Support for the hub tests (no tests here): a hub and its agencies in one process (in-memory broker,
SQLite store, dev PKI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from vbcore.agency import AgencyClient, Incoming
from vbcore.directory import Directory
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.model import (
    Attachment,
    Blob,
    Business,
    Code,
    DocumentType,
    Edoc,
    ManifestReference,
    Organization,
    PromulgationInfo,
    ResponseFor,
    StatusPackage,
)
from vbcore.pki import DevPki, init_dev_pki
from vbcore.signing import SigningKey
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import TrackingStore, open_store
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names
from vbcore.trust import TrustStore

G22, G09, G12, H24, H15, H56 = (
    "000.00.00.G22", "000.00.00.G09", "000.00.00.G12", "000.00.00.H24", "000.00.00.H15", "000.00.00.H56",
)  # fmt: skip
CLOSED_QUANG_NAM = "000.00.00.H47"
AGENCIES = (G22, G09, G12, H24, H15, H56)
HUB_ID = "vbus.hub"


def make_pki(directory: Path) -> DevPki:
    return init_dev_pki(directory, [(c, c) for c in AGENCIES] + [(HUB_ID, "vbus hub")])


class FixedClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


@dataclass
class World:
    broker: InMemoryBroker
    store: TrackingStore
    pki: DevPki
    trust: TrustStore
    keys: dict[str, SigningKey]
    names: Names = field(default_factory=Names)
    hub: Hub | None = None
    clients: dict[str, AgencyClient] = field(default_factory=dict)

    def start_hub(self, *, batch: bool = False) -> Hub:
        self.hub = Hub(
            InMemoryTransport(self.broker, self.names.hub_user, self.names),
            self.store,
            key=self.keys[HUB_ID],
            trust=self.trust,
            directory=Directory.default(),
            config=HubConfig(hub_id=HUB_ID, names=self.names, clock=FixedClock()),
        )
        self.hub.start(list(AGENCIES), batch=batch)
        return self.hub

    def client(self, code: str, *, key_of: str | None = None) -> AgencyClient:
        """Agency ``code``'s client (signing with ``key_of``'s key when given: a stolen or wrong key)."""
        if key_of is None and code in self.clients:
            return self.clients[code]
        client = AgencyClient(
            InMemoryTransport(self.broker, code, self.names),
            agency=code,
            key=self.keys[key_of or code],
            trust=self.trust,
            names=self.names,
        )
        if key_of is None:
            self.clients[code] = client
        return client

    def pump(self) -> int:
        assert self.hub is not None
        return self.hub.transport.drain(0)

    def inbox(self, code: str) -> list[Incoming]:
        got = []
        client = self.client(code)
        while (incoming := client.fetch()) is not None:
            client.ack(incoming)
            got.append(incoming)
        return got

    def parked(self) -> int:
        return self.broker.depth(self.names.parked_queue)


def edoc(
    sender: str,
    to: list[str],
    number: str = "101",
    *,
    subject: str = "V/v triển khai liên thông văn bản điện tử",
    business: Business | None = None,
) -> Edoc:
    day = date(2026, 11, 24)
    document_id = f"{sender},{day:%Y/%m/%d},{number}/VB"
    content = b"%PDF-1.4\n" + subject.encode() + b"\n%%EOF\n"
    return Edoc(
        from_=Organization(sender, organ_name=f"Cơ quan {sender}"),
        to=tuple(Organization(code, organ_name=f"Cơ quan {code}") for code in to),
        document_id=document_id,
        code=Code(number, "VB"),
        promulgation_info=PromulgationInfo("Hà Nội", day),
        document_type=DocumentType(2, "1", "Công văn"),
        subject=subject,
        business=business or Business(BusinessDocType.NEW, document_id=document_id, paper=0),
        manifest=(ManifestReference(f"cid:{number}", "application/pdf", subject, f"{number}.pdf"),),
        attachments=(Attachment(f"cid:{number}", f"{number}.pdf", Blob(content), "application/pdf"),),
    )


def status(sender: str, about: Edoc, code: StatusCode, description: str = "") -> StatusPackage:
    return StatusPackage(
        from_=Organization(sender, organ_name=f"Cơ quan {sender}"),
        response_for=ResponseFor(
            organ_id=about.from_.organ_id, code=str(about.code), document_id=about.effective_document_id
        ),
        status_code=code,
        description=description or code.vietnamese,
        timestamp=datetime(2026, 11, 24, 9, 0, 0) + timedelta(minutes=int(code.value)),
    )


def open_world(tmp: Path, pki: DevPki, keys: dict[str, SigningKey], store_url: str | None = None) -> World:
    store = open_store(store_url or f"sqlite:///{tmp / 'hub.db'}")
    trust = TrustStore.from_pem_files([pki.ca_cert_path])
    world = World(InMemoryBroker(), store, pki, trust, keys)
    world.start_hub()
    return world
