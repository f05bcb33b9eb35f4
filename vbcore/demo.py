"""``vb demo``: a whole interconnection in one process, with no server.

An in-memory broker, a SQLite tracking store, a development PKI in a temporary folder, one hub and six
agencies (Văn phòng Chính phủ, two ministries, three provinces). They exchange real-looking documents
(Vietnamese subjects, a PDF attachment, one document to five recipients, a revoke, one document to a
code closed by the 2025 merger) and answer with status receipts, every package signed and verified
on the way. ``run_demo`` returns the story; ``render_text``/``render_json`` print it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vbcore.agency import AgencyClient, Incoming
from vbcore.directory import Directory
from vbcore.hub.config import HubConfig, vietnam_local
from vbcore.hub.pipeline import Hub
from vbcore.hub.timeline import build_report
from vbcore.logging import quiet
from vbcore.model import (
    Attachment,
    Blob,
    Business,
    Code,
    DocumentType,
    Edoc,
    ManifestReference,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
)
from vbcore.pki import init_dev_pki
from vbcore.signing import SigningKey
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import TrackingStore, open_store
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names
from vbcore.trust import TrustStore

VPCP, NOI_VU, TAI_CHINH = "000.00.00.G22", "000.00.00.G09", "000.00.00.G12"
HA_NOI, DA_NANG, THANH_HOA = "000.00.00.H24", "000.00.00.H15", "000.00.00.H56"
QUANG_NAM_CLOSED = "000.00.00.H47"
AGENCIES = (VPCP, NOI_VU, TAI_CHINH, HA_NOI, DA_NANG, THANH_HOA)
STAFF = StaffInfo(department="Văn thư", staff="Nguyễn Thị Lan", email="vanthu@example.gov.vn")


class SimulatedClock:
    """Demo time: a working morning in Hà Nội, advancing a few minutes per step (UTC inside)."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, minutes: int) -> None:
        self.at += timedelta(minutes=minutes)


@dataclass
class DemoWorld:
    broker: InMemoryBroker
    hub: Hub
    store: TrackingStore
    directory: Directory
    clients: dict[str, AgencyClient]
    clock: SimulatedClock
    sent: list[str] = field(default_factory=list)

    def name(self, code: str) -> str:
        agency = self.directory.get(code)
        return agency.name if agency else code

    def org(self, code: str) -> Organization:
        return Organization(organ_id=code, organ_name=self.name(code), organization_in_charge=self.name(code))

    def pump(self) -> None:
        """Let the hub take everything waiting in its ingress."""
        self.hub.transport.drain(0)

    def inbox(self, code: str) -> list[Incoming]:
        got: list[Incoming] = []
        client = self.clients[code]
        while (incoming := client.fetch()) is not None:
            client.ack(incoming)
            got.append(incoming)
        return got


def build_world(workdir: Path, store_url: str | None = None) -> DemoWorld:
    directory = Directory.default()
    names = Names()
    hub_id = "vbus.hub"
    labels = [(code, agency.name if (agency := directory.get(code)) else code) for code in AGENCIES]
    pki = init_dev_pki(workdir / "pki", [*labels, (hub_id, "vbus hub (demo)")])
    trust = TrustStore.from_pem_files([pki.ca_cert_path])
    broker = InMemoryBroker()
    clock = SimulatedClock(datetime(2026, 11, 24, 1, 30, tzinfo=UTC))  # 08:30 in Hà Nội
    store = open_store(store_url or f"sqlite:///{workdir / 'vbus-demo.db'}")
    hub = Hub(
        InMemoryTransport(broker, names.hub_user, names),
        store,
        key=SigningKey.from_files(pki.key_path(hub_id), pki.cert_path(hub_id)),
        trust=trust,
        directory=directory,
        config=HubConfig(hub_id=hub_id, hub_name="vbus hub (demo)", names=names, clock=clock),
    )
    hub.start(list(AGENCIES))
    clients = {
        code: AgencyClient(
            InMemoryTransport(broker, code, names),
            agency=code,
            key=SigningKey.from_files(pki.key_path(code), pki.cert_path(code)),
            trust=trust,
            names=names,
        )
        for code in AGENCIES
    }
    return DemoWorld(broker, hub, store, directory, clients, clock)


def pdf_like(title: str) -> bytes:
    """A small file shaped like a PDF: enough to show that attachments travel byte for byte."""
    text = f"BT /F1 12 Tf 72 720 Td ({title}) Tj ET".encode()
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"4 0 obj << /Length " + str(len(text)).encode() + b" >> stream\n" + text + b"\nendstream endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def document(
    world: DemoWorld,
    sender: str,
    recipients: list[str],
    number: str,
    notation: str,
    subject: str,
    *,
    type_name: str = "Công văn",
    business: Business | None = None,
) -> Edoc:
    today = vietnam_local(world.clock()).date()
    document_id = f"{sender},{today:%Y/%m/%d},{number}/{notation}"
    file_name = f"{number}-{notation.replace('/', '-')}.pdf"
    content_id = f"cid:{document_id.encode().hex()[:32]}"
    return Edoc(
        from_=world.org(sender),
        to=tuple(world.org(code) for code in recipients),
        document_id=document_id,
        code=Code(number, notation),
        promulgation_info=PromulgationInfo("Hà Nội", today),
        document_type=DocumentType(type=2, type_detail="1", type_name=type_name),
        subject=subject,
        content=subject,
        signer_info=SignerInfo("KT. BỘ TRƯỞNG", "Thứ trưởng", "Trần Văn Minh"),
        due_date=today + timedelta(days=7),
        other_info=OtherInfo(priority=0, promulgation_amount=1, page_amount=2),
        business=business or Business(BusinessDocType.NEW, document_id=document_id, paper=0),
        manifest=(ManifestReference(content_id, "application/pdf", subject, file_name),),
        attachments=(Attachment(content_id, file_name, Blob(pdf_like(subject)), "application/pdf", subject),),
    )


def answer(world: DemoWorld, code: str, about: Incoming, status: StatusCode, description: str) -> None:
    edoc = about.package
    assert isinstance(edoc, Edoc)
    world.clients[code].submit(
        StatusPackage(
            from_=world.org(code),
            response_for=ResponseFor(
                organ_id=edoc.from_.organ_id,
                code=str(edoc.code),
                promulgation_date=edoc.promulgation_info.promulgation_date,
                document_id=edoc.effective_document_id,
            ),
            status_code=status,
            staff_info=STAFF,
            description=description,
            timestamp=vietnam_local(world.clock()),
        )
    )


def run_story(world: DemoWorld) -> None:
    """The day's traffic. Each step: agencies submit, the hub routes, receivers read and answer."""
    send = world.clients
    # 1. Văn phòng Chính phủ writes to two ministries and three provinces.
    circular = document(
        world,
        VPCP,
        [NOI_VU, TAI_CHINH, HA_NOI, DA_NANG, THANH_HOA],
        "1234",
        "VPCP-KSTT",
        "V/v triển khai kết nối, liên thông văn bản điện tử năm 2026",
    )
    send[VPCP].submit(circular)
    world.sent.append(circular.effective_document_id)
    world.pump()
    answers = {
        NOI_VU: ["01", "03", "05", "06"], TAI_CHINH: ["01", "03"], HA_NOI: ["01", "03", "05"],
        DA_NANG: ["01"], THANH_HOA: ["01", "03", "05", "06"],
    }  # fmt: skip
    texts = {
        "01": "Văn bản đã đến hệ thống", "03": "Đã vào sổ văn bản đến",
        "05": "Đang xử lý tại Văn phòng", "06": "Đã xử lý xong",
    }  # fmt: skip
    received = {code: world.inbox(code) for code in answers}
    for step in range(4):
        world.clock.advance(20)
        for code, codes in answers.items():
            if step < len(codes):
                answer(world, code, received[code][0], StatusCode(codes[step]), texts[codes[step]])
        world.pump()
    # 2. Bộ Nội vụ reports back to Văn phòng Chính phủ.
    world.clock.advance(15)
    report = document(
        world,
        NOI_VU,
        [VPCP],
        "215",
        "BNV-CCVC",
        "Báo cáo kết quả rà soát tổ chức bộ máy sau sắp xếp",
        type_name="Báo cáo",
    )
    send[NOI_VU].submit(report)
    world.sent.append(report.effective_document_id)
    world.pump()
    for got in world.inbox(VPCP):
        if got.kind == "edoc":
            answer(world, VPCP, got, StatusCode.ARRIVED, texts["01"])
            world.clock.advance(10)
            answer(world, VPCP, got, StatusCode.REGISTERED, texts["03"])
    world.pump()
    # 3. Bộ Tài chính sends, then takes the document back (BussinessDocType 1): receivers answer 15.
    world.clock.advance(15)
    notice = document(
        world,
        TAI_CHINH,
        [HA_NOI, THANH_HOA],
        "88",
        "BTC-NSNN",
        "V/v tạm ứng kinh phí chuyển đổi số quý IV",
    )
    send[TAI_CHINH].submit(notice)
    world.sent.append(notice.effective_document_id)
    world.pump()
    for code in (HA_NOI, THANH_HOA):
        for got in world.inbox(code):
            answer(world, code, got, StatusCode.ARRIVED, texts["01"])
    world.pump()
    world.clock.advance(30)
    revoke = document(
        world, TAI_CHINH, [HA_NOI, THANH_HOA], "88b", "BTC-NSNN",
        "Thu hồi Công văn số 88/BTC-NSNN do sai số liệu",
        business=Business(
            BusinessDocType.REVOKE, document_id=notice.effective_document_id,
            business_doc_reason="Sai số liệu phụ lục", paper=0,
        ),
    )  # fmt: skip
    send[TAI_CHINH].submit(revoke)
    world.sent.append(revoke.effective_document_id)
    world.pump()
    for code in (HA_NOI, THANH_HOA):
        for got in world.inbox(code):
            if got.kind == "edoc":
                answer(world, code, got, StatusCode.CHANGE_ACCEPTED, "Đồng ý thu hồi, đã hủy văn bản")
    world.pump()
    # 4. UBND Hà Nội writes to Quảng Nam, whose code closed on 1 July 2025: the hub names the successor.
    world.clock.advance(10)
    stale = document(
        world,
        HA_NOI,
        [QUANG_NAM_CLOSED, DA_NANG],
        "402",
        "UBND-VX",
        "V/v phối hợp tổ chức Tuần Văn hóa miền Trung",
    )
    send[HA_NOI].submit(stale)
    world.sent.append(stale.effective_document_id)
    world.pump()
    world.inbox(DA_NANG)
    for code in AGENCIES:
        world.inbox(code)  # every sender reads its receipts and refusals


def run_demo(store_url: str | None = None, workdir: Path | None = None) -> dict[str, Any]:
    """Run the whole story and return its report (what ``--json`` prints)."""
    quiet()
    with tempfile.TemporaryDirectory(prefix="vbus-demo-") as tmp:
        world = build_world(workdir or Path(tmp), store_url)
        try:
            run_story(world)
            return report(world)
        finally:
            world.store.close()


def report(world: DemoWorld) -> dict[str, Any]:
    names = world.hub.config.names
    depths = {
        "parked": world.broker.depth(names.parked_queue),
        "ingress": world.broker.depth(names.ingress_queue),
        "inboxes": sum(world.broker.depth(names.inbox(code)) for code in AGENCIES),
    }
    return build_report(world.store, world.directory, world.sent, depths)
