"""``vb demo``: a whole interconnection in one process, with no server.

An in-memory broker, a SQLite tracking store, a development PKI in a temporary folder, one hub and six
agencies (Văn phòng Chính phủ, two ministries, three provinces). They exchange real-looking documents
(Vietnamese subjects, a PDF attachment, one document to five recipients, a revoke, one document to a
code closed by the 2025 merger) and answer with status receipts, every package signed and verified
on the way. ``run_demo`` returns the story (``DemoReport``): each document's timeline
(``vbcore.store.timeline``) and a summary.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vbcore.agency import Incoming
from vbcore.directory import Directory
from vbcore.hub.config import HubConfig
from vbcore.lang import DEFAULT_LANG, Lang, Text
from vbcore.logging import quiet
from vbcore.model import (
    Business,
    Edoc,
    Organization,
    OtherInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
)
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import open_store
from vbcore.store.api import DeliveryState
from vbcore.store.timeline import Timeline, read_timeline, timeline_json
from vbcore.testing.devworld import (
    DA_NANG,
    HA_NOI,
    HUB_ID,
    NOI_VU,
    QUANG_NAM_CLOSED,
    SIX_AGENCIES,
    TAI_CHINH,
    THANH_HOA,
    VPCP,
    MemoryWorld,
    letter,
    six_agency_keys,
)
from vbcore.timezones import vietnam_local

AGENCIES = SIX_AGENCIES
STAFF = StaffInfo(department="Văn thư", staff="Nguyễn Thị Lan", email="vanthu@example.gov.vn")


class SimulatedClock:
    """Demo time: a working morning in Hà Nội, advancing a few minutes per step (UTC inside)."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, minutes: int) -> None:
        self.at += timedelta(minutes=minutes)


class DemoWorld(MemoryWorld):
    """The development world with the demo's clock, and the documents sent so far."""

    def __init__(
        self, workdir: Path, store_url: str | None, lang: Lang = DEFAULT_LANG, start: datetime | None = None
    ) -> None:
        self.clock = SimulatedClock(start or datetime(2026, 11, 24, 1, 30, tzinfo=UTC))  # 08:30 in Hà Nội
        config = HubConfig(hub_id=HUB_ID, hub_name="vbus hub (demo)", clock=self.clock, lang=lang)
        dev = six_agency_keys(workdir / "pki", hub_name=config.hub_name)
        super().__init__(open_store(store_url or f"sqlite:///{workdir / 'vbus-demo.db'}"), dev, config=config)
        self.sent: list[str] = []

    def name(self, code: str) -> str:
        agency = self.directory.get(code)
        return agency.name if agency else code

    def org(self, code: str) -> Organization:
        return Organization(organ_id=code, organ_name=self.name(code), organization_in_charge=self.name(code))


def build_world(
    workdir: Path, store_url: str | None = None, lang: Lang = DEFAULT_LANG, start: datetime | None = None
) -> DemoWorld:
    """``start``: when the story's morning begins (default: 24 November 2026, 08:30 in Hà Nội)."""
    world = DemoWorld(workdir, store_url, lang, start)
    world.start_hub()
    for code in AGENCIES:
        world.client(code)
    return world


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
    return letter(
        sender, recipients, number, notation=notation, subject=subject, day=today, org=world.org,
        type_name=type_name, business=business, content=subject,
        signer_info=SignerInfo("KT. BỘ TRƯỞNG", "Thứ trưởng", "Trần Văn Minh"),
        due_date=today + timedelta(days=7),
        other_info=OtherInfo(priority=0, promulgation_amount=1, page_amount=2),
    )  # fmt: skip


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
    # (Đà Nẵng itself listed beside it would be the same agency twice: delivered once, with a warning.)
    world.clock.advance(10)
    stale = document(
        world,
        HA_NOI,
        [QUANG_NAM_CLOSED, THANH_HOA],
        "402",
        "UBND-VX",
        "V/v phối hợp tổ chức Tuần Văn hóa miền Trung",
    )
    send[HA_NOI].submit(stale)
    world.sent.append(stale.effective_document_id)
    world.pump()
    world.inbox(THANH_HOA)
    for code in AGENCIES:
        world.inbox(code)  # every sender reads its receipts and refusals


@dataclass(frozen=True)
class DemoReport:
    """The story: each document's timeline, and a summary (counts and the queues left behind)."""

    timelines: list[Timeline]
    summary: dict[str, Any]
    directory: Directory

    def to_json(self) -> dict[str, Any]:
        """What ``vb demo --json`` prints: each document as ``vb track --json`` shows it, and the summary."""
        documents = [timeline_json(self.directory, t) for t in self.timelines]
        return {"documents": documents, "summary": self.summary}

    def summary_text(self, lang: Lang = DEFAULT_LANG) -> str:
        s = self.summary
        counts = _SUMMARY.format(**{k: s[k] for k in ("documents", "deliveries", "statuses", "refusals")},
                                 done=s["done"])
        queues = ", ".join(f"{_QUEUES[k](lang) if k in _QUEUES else k} {v}" for k, v in s["queues"].items())
        return f"{counts(lang)}\n{_QUEUES_HEAD(lang)}: {queues}"


_SUMMARY = Text(
    "Tổng kết: {documents} văn bản, {deliveries} lượt chuyển, {statuses} trạng thái, {refusals} từ chối, "
    "{done} lượt hoàn thành.",
    "Summary: {documents} documents, {deliveries} deliveries, {statuses} statuses, {refusals} refusals, "
    "{done} completed.",
)
_SUMMARY_COUNTS = ("documents", "deliveries", "statuses", "refusals", "done")
_QUEUES_HEAD = Text("Hàng đợi", "Queues")
_QUEUES = {
    "parked": Text("bị giữ lại", "parked"),
    "ingress": Text("cửa vào của trục", "ingress"),
    "inboxes": Text("hộp thư", "inboxes"),
}


def run_demo(
    store_url: str | None = None, workdir: Path | None = None, lang: Lang = DEFAULT_LANG
) -> DemoReport:
    """Run the whole story and return its report; the hub writes its refusals in ``lang``."""
    quiet()
    with tempfile.TemporaryDirectory(prefix="vbus-demo-") as tmp:
        world = build_world(workdir or Path(tmp), store_url, lang)
        try:
            run_story(world)
            return report(world)
        finally:
            world.store.close()


def report(world: DemoWorld) -> DemoReport:
    names = world.names
    timelines = [read_timeline(world.store, world.directory, d) for d in world.sent]
    pairs = [r.pair for t in timelines for r in t.recipients]
    summary = {
        "documents": len(timelines),
        "deliveries": sum(1 for p in pairs if p.state != DeliveryState.REFUSED_BY_HUB),
        "statuses": sum(1 for t in timelines for r in t.recipients for e in r.statuses
                        if e.document_id == t.document_id),
        "refusals": sum(len(t.refusals) for t in timelines),
        "done": sum(1 for p in pairs if p.state == StatusCode.DONE.value),
        "queues": {
            "parked": world.broker.depth(names.parked_queue),
            "ingress": world.broker.depth(names.ingress_queue),
            "inboxes": sum(world.broker.depth(names.inbox(code)) for code in AGENCIES),
        },
    }  # fmt: skip
    return DemoReport(timelines, summary, world.directory)
