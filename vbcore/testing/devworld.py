"""A development world: what ``vb demo``, the tests, the benchmarks and the conformance kit all set up.

- the six agencies of the demo (Văn phòng Chính phủ, two ministries, three provinces) and the hub's id;
- ``DevKeys``: a development PKI with every key loaded once and the trust store of its CA, which
  builds agencies' clients and hubs that sign with those keys, on any transport;
- ``MemoryWorld``: one hub and its agencies' clients on one in-memory broker, stepped by hand;
- ``letter``: a real-looking document with one PDF attachment.

Example::

    dev = six_agency_keys(tmp / "pki")
    world = MemoryWorld(open_store("sqlite://"), dev)
    world.start_hub()
    world.client(VPCP).submit(letter(VPCP, [HA_NOI], "101"))
    world.pump()
    [incoming] = world.inbox(HA_NOI)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

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
)
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import BusinessDocType
from vbcore.store import TrackingStore
from vbcore.transport import Transport
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

VPCP, NOI_VU, TAI_CHINH = "000.00.00.G22", "000.00.00.G09", "000.00.00.G12"
HA_NOI, DA_NANG, THANH_HOA = "000.00.00.H24", "000.00.00.H15", "000.00.00.H56"
QUANG_NAM_CLOSED = "000.00.00.H47"  # closed by the 2025 merger; the directory names its successor
SIX_AGENCIES = (VPCP, NOI_VU, TAI_CHINH, HA_NOI, DA_NANG, THANH_HOA)
HUB_ID = "vbus.hub"
DAY = date(2026, 11, 24)


@dataclass(frozen=True)
class DevKeys:
    """A development PKI and what is loaded from it: one signing key per code and the CA as trust."""

    pki: DevPki
    keys: dict[str, SigningKey]
    trust: TrustStore

    @classmethod
    def create(cls, directory: Path, agencies: Sequence[tuple[str, str]]) -> DevKeys:
        """A new PKI in ``directory`` with a certificate per ``(code, name)`` (RSA keys: ~50 ms each)."""
        return cls.load(init_dev_pki(directory, agencies))

    @classmethod
    def load(cls, pki: DevPki, codes: Iterable[str] | None = None) -> DevKeys:
        """The keys of ``codes`` (default: every agency the PKI was made with) from an existing PKI."""
        wanted = pki.agencies if codes is None else codes
        keys = {code: SigningKey.from_files(pki.key_path(code), pki.cert_path(code)) for code in wanted}
        return cls(pki, keys, TrustStore.from_pem_files([pki.ca_cert_path]))

    def client(
        self, transport: Transport, code: str, names: Names, *, key_of: str | None = None
    ) -> AgencyClient:
        """Agency ``code``'s client on ``transport`` (signing with ``key_of``'s key when given)."""
        key = self.keys[key_of or code]
        return AgencyClient(transport, agency=code, key=key, trust=self.trust, names=names)

    def hub(self, transport: Transport, store: TrackingStore, config: HubConfig, directory: Directory) -> Hub:
        """A hub signing as ``config.hub_id`` (not started)."""
        return Hub(transport, store, key=self.keys[config.hub_id], trust=self.trust, directory=directory,
                   config=config)  # fmt: skip


def six_agency_keys(directory: Path, *, hub_id: str = HUB_ID, hub_name: str = "vbus hub") -> DevKeys:
    """A PKI for the six agencies (named as the directory names them) and the hub."""
    known = Directory.default()
    labels = [(code, agency.name if (agency := known.get(code)) else code) for code in SIX_AGENCIES]
    return DevKeys.create(directory, [*labels, (hub_id, hub_name)])


class MemoryWorld:
    """A hub and its agencies' clients on one in-memory broker; nothing moves until ``pump``."""

    def __init__(
        self,
        store: TrackingStore,
        dev: DevKeys,
        *,
        config: HubConfig | None = None,
        directory: Directory | None = None,
        agencies: Sequence[str] = SIX_AGENCIES,
    ) -> None:
        self.broker = InMemoryBroker()
        self.store, self.dev = store, dev
        self.config = config or HubConfig(hub_id=HUB_ID)
        self.names = self.config.names
        self.directory = directory or Directory.default()
        self.agencies = tuple(agencies)
        self.hub: Hub | None = None
        self.clients: dict[str, AgencyClient] = {}

    @property
    def keys(self) -> dict[str, SigningKey]:
        return self.dev.keys

    @property
    def trust(self) -> TrustStore:
        return self.dev.trust

    def start_hub(self, *, batch: bool = False, prefetch: int = 16) -> Hub:
        """Start a hub process on the broker and store (again after a crash: a new process)."""
        transport = InMemoryTransport(self.broker, self.names.hub_user, self.names)
        self.hub = self.dev.hub(transport, self.store, self.config, self.directory)
        self.hub.start(list(self.agencies), batch=batch, prefetch=prefetch)
        return self.hub

    def client(self, code: str, *, key_of: str | None = None) -> AgencyClient:
        """Agency ``code``'s client (signing with ``key_of``'s key when given: a stolen or wrong key)."""
        if key_of is None and code in self.clients:
            return self.clients[code]
        transport = InMemoryTransport(self.broker, self.names.agency_user(code), self.names)
        client = self.dev.client(transport, code, self.names, key_of=key_of)
        if key_of is None:
            self.clients[code] = client
        return client

    def pump(self) -> int:
        """Let the hub take everything waiting in its ingress; how many messages it took."""
        assert self.hub is not None, "start_hub first"
        return self.hub.transport.drain(0)

    def inbox(self, code: str) -> list[Incoming]:
        """What reached agency ``code`` (verified and acknowledged)."""
        got: list[Incoming] = []
        client = self.client(code)
        while (incoming := client.fetch()) is not None:
            client.ack(incoming)
            got.append(incoming)
        return got

    def parked(self) -> int:
        return self.broker.depth(self.names.parked_queue)


def pdf_like(title: str) -> bytes:
    """A small file shaped like a PDF: enough to show that attachments travel byte for byte."""
    text = f"BT /F1 12 Tf 72 720 Td ({title}) Tj ET".encode()
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"4 0 obj << /Length " + str(len(text)).encode() + b" >> stream\n" + text + b"\nendstream endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def organization(code: str) -> Organization:
    return Organization(code, organ_name=f"Cơ quan {code}")


def letter(
    sender: str,
    recipients: Sequence[str],
    number: str,
    *,
    notation: str = "VB",
    subject: str = "V/v triển khai liên thông văn bản điện tử",
    day: date = DAY,
    org: Callable[[str], Organization] = organization,
    pdf: bytes | None = None,
    type_name: str = "Công văn",
    business: Business | None = None,
    **fields: Any,
) -> Edoc:
    """A document ``number/notation`` of ``day`` with one PDF attachment (``pdf``, or one made
    from the subject). ``business`` defaults to a new document; ``fields`` are any other ``Edoc`` fields."""
    document_id = fields.pop("document_id", None) or f"{sender},{day:%Y/%m/%d},{number}/{notation}"
    file_name = f"{number}-{notation.replace('/', '-')}.pdf"
    content_id = f"cid:{uuid.uuid5(uuid.NAMESPACE_URL, document_id)}"
    return Edoc(
        from_=org(sender),
        to=tuple(org(code) for code in recipients),
        document_id=document_id,
        code=Code(number, notation),
        promulgation_info=PromulgationInfo("Hà Nội", day),
        document_type=DocumentType(2, "1", type_name),
        subject=subject,
        business=business or Business(BusinessDocType.NEW, document_id=document_id, paper=0),
        manifest=(ManifestReference(content_id, "application/pdf", subject, file_name),),
        attachments=(
            Attachment(content_id, file_name, Blob(pdf or pdf_like(subject)), "application/pdf", subject),
        ),
        **fields,
    )
