"""The folder connector's own behaviour: half-written files, restarts, the inbox, the files it writes."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.folder import FolderConnector, write_atomically
from vbcore.connector import ChangeRequest, ConnectorContext, DmsRefused, IncomingDocument, StatusUpdate
from vbcore.errors import ConfigurationError
from vbcore.lang import Lang
from vbcore.model import Attachment, Blob, Code, Edoc, Organization, PromulgationInfo, StaffInfo
from vbcore.status import BusinessDocType, StatusCode

AGENCY = "000.00.00.H24"


def make(root: Path, lang: Lang = "vi", **config: object) -> FolderConnector:
    c = FolderConnector.from_config({"root": str(root), "settle_seconds": 0, **config},
                                    ConnectorContext(AGENCY, root / "work", "UBND Hà Nội", lang=lang))
    c.start()
    return c


def age(path: Path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def metadata(outbox: Path, name: str, **extra: object) -> Path:
    body = {"to": ["000.00.00.G22"], "code": {"code_number": "12", "code_notation": "UBND-VP"},
            "subject": "V/v báo cáo tháng 11", **extra}
    path = outbox / name
    write_atomically(path, json.dumps(body, ensure_ascii=False).encode())
    return path


def incoming(document_id: str = "000.00.00.G22,2026/11/24,7/VPCP-TH", content_type: str = "application/pdf",
             ) -> IncomingDocument:
    edoc = Edoc(
        from_=Organization("000.00.00.G22", "Văn phòng Chính phủ"),
        to=(Organization(AGENCY),),
        document_id=document_id,
        code=Code("7", "VPCP-TH"),
        promulgation_info=PromulgationInfo("Hà Nội", datetime(2026, 11, 24).date()),
        subject="V/v triển khai liên thông văn bản",
        attachments=(Attachment("cid:1", "../../etc/Công văn 7.pdf", Blob(b"%PDF-1.4 x"), content_type),),
    )
    return IncomingDocument(document_id, "000.00.00.G22", edoc, b"<signed/>", "m1", datetime.now(UTC))


def test_files_being_written_are_not_taken(tmp_path: Path) -> None:
    c = make(tmp_path, settle_seconds=60)
    outbox = tmp_path / "outbox"
    for name in ("a.json.tmp", "b.json.part", ".c.json"):
        metadata(outbox, name)
        age(outbox / name)
    fresh = metadata(outbox, "fresh.json")
    assert list(c.poll_outgoing()) == []
    age(fresh)
    assert [o.id for o in c.poll_outgoing()] == ["fresh.json"]


def test_a_metadata_file_waits_for_its_attachment_to_settle(tmp_path: Path) -> None:
    c = make(tmp_path, settle_seconds=60)
    outbox = tmp_path / "outbox"
    (outbox / "cv.pdf").write_bytes(b"%PDF-1.4")
    age(metadata(outbox, "cv.json", attachments=[{"file": "cv.pdf"}]))
    assert list(c.poll_outgoing()) == []
    assert (outbox / "cv.json").exists()  # waiting, not failed
    age(outbox / "cv.pdf")
    [out] = c.poll_outgoing()
    assert out.edoc is not None
    assert out.edoc.from_.organ_id == AGENCY
    assert out.edoc.attachments[0].content.read_bytes() == b"%PDF-1.4"


def test_invalid_metadata_goes_to_failed_with_the_reason(tmp_path: Path) -> None:
    c = make(tmp_path)
    write_atomically(tmp_path / "outbox" / "bad.json", b'{"subject": "no recipient"}')
    assert list(c.poll_outgoing()) == []
    assert (tmp_path / "failed" / "bad.json").exists()
    assert "to" in (tmp_path / "failed" / "bad.json.reason.txt").read_text()


def test_metadata_naming_a_missing_attachment_fails_naming_it(tmp_path: Path) -> None:
    c = make(tmp_path)
    metadata(tmp_path / "outbox", "cv.json", attachments=[{"file": "khong-co.pdf"}])
    assert list(c.poll_outgoing()) == []
    assert "khong-co.pdf" in (tmp_path / "failed" / "cv.json.reason.txt").read_text()


def test_mark_sent_moves_the_file_and_its_attachments_out_of_the_outbox(tmp_path: Path) -> None:
    c = make(tmp_path)
    (tmp_path / "outbox" / "cv.pdf").write_bytes(b"%PDF")
    metadata(tmp_path / "outbox", "cv.json", attachments=[{"file": "cv.pdf"}])
    [out] = c.poll_outgoing()
    c.mark_sent(out.id, "DOC-1")
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == []
    assert json.loads((tmp_path / "sent" / "cv.json.sent.json").read_text())["document_id"] == "DOC-1"
    assert (tmp_path / "sent" / "cv.json.files" / "cv.pdf").read_bytes() == b"%PDF"
    c.mark_sent(out.id, "DOC-1")  # again after a crash: nothing to move, no error
    assert list(c.poll_outgoing()) == []


def test_mark_failed_writes_the_reason_beside_the_file(tmp_path: Path) -> None:
    c = make(tmp_path)
    write_atomically(tmp_path / "outbox" / "x.edxml", b"<not-edxml/>")
    [out] = c.poll_outgoing()
    c.mark_failed(out.id, "không phải gói edXML / not an edXML package")
    assert (tmp_path / "failed" / "x.edxml").read_bytes() == b"<not-edxml/>"
    assert "not an edXML" in (tmp_path / "failed" / "x.edxml.reason.txt").read_text(encoding="utf-8")


def test_a_delivered_document_has_its_package_attachments_and_a_summary(tmp_path: Path) -> None:
    c = make(tmp_path)
    doc = incoming()
    receipt = c.deliver(doc)
    folder = tmp_path / "inbox" / receipt.dms_id
    assert (folder / "package.edxml").read_bytes() == b"<signed/>"
    assert [p.name for p in (folder / "attachments").iterdir()] == ["Công văn 7.pdf"]  # no path escape
    summary = (folder / "summary.txt").read_text(encoding="utf-8")
    expected = ("Trích yếu:", "V/v triển khai liên thông văn bản", "7/VPCP-TH", "Chính phủ")
    for text in expected:
        assert text in summary
    assert json.loads((folder / "document.json").read_text())["document_id"] == doc.document_id


def test_delivering_the_same_document_again_registers_it_once(tmp_path: Path) -> None:
    c = make(tmp_path)
    first = c.deliver(incoming())
    again = c.deliver(incoming())
    assert again.already_delivered
    assert again.dms_id == first.dms_id
    assert len(list((tmp_path / "inbox").iterdir())) == 1


def test_an_interrupted_delivery_leaves_no_document_and_is_cleaned_on_start(tmp_path: Path) -> None:
    c = make(tmp_path)
    half = tmp_path / "inbox" / f".{c.document_dir('000.00.00.G22', 'X').name}.dead.tmp"
    (half / "attachments").mkdir(parents=True)
    make(tmp_path)  # restart
    assert not half.exists()
    assert list((tmp_path / "inbox").iterdir()) == []


def test_a_document_with_an_unaccepted_attachment_type_is_refused_naming_it(tmp_path: Path) -> None:
    c = make(tmp_path, accept_content_types=["application/pdf"])
    with pytest.raises(DmsRefused, match="application/x-msdownload"):
        c.deliver(incoming(content_type="application/x-msdownload"))
    assert list((tmp_path / "inbox").iterdir()) == []


def test_statuses_from_two_recipients_do_not_overwrite_each_other(tmp_path: Path) -> None:
    c = make(tmp_path)
    for agency in ("000.00.00.G22", "000.00.00.G12"):
        c.on_status(StatusUpdate("D,1", StatusCode.REGISTERED, agency, "Đã vào sổ", StaffInfo(staff="An"),
                                 datetime(2026, 11, 24, 9, 0), "cv.json"))
    files = sorted(p.name for p in (tmp_path / "statuses").iterdir())
    assert files == ["D_1.03.000.00.00.G12.json", "D_1.03.000.00.00.G22.json"]
    record = json.loads((tmp_path / "statuses" / files[0]).read_text(encoding="utf-8"))
    assert record["meaning"] == "Đã tiếp nhận"
    assert record["outgoing_id"] == "cv.json"


def test_events_are_offered_until_marked_sent_and_bad_ones_are_set_aside(tmp_path: Path) -> None:
    c = make(tmp_path)
    events = tmp_path / "events"
    write_atomically(events / "e1.json", json.dumps({"document_id": "D", "code": "3"}).encode())
    write_atomically(events / "bad.json", json.dumps({"document_id": "D", "code": "99"}).encode())
    assert [(e.event_id, e.code) for e in c.poll_events()] == [("e1.json", StatusCode.REGISTERED)]
    assert [e.event_id for e in c.poll_events()] == ["e1.json"]
    c.mark_event_sent("e1.json")
    assert list(c.poll_events()) == []
    assert (events / "sent" / "e1.json").exists()
    assert "99" in (events / "failed" / "bad.json.reason.txt").read_text()


def test_a_change_to_a_known_document_is_recorded_and_follows_the_policy(tmp_path: Path) -> None:
    c = make(tmp_path, changes="accept")
    doc = incoming()
    receipt = c.deliver(doc)
    request = ChangeRequest(BusinessDocType.REVOKE, doc.document_id, "000.00.00.G22", "Ban hành nhầm",
                            StaffInfo())
    assert c.on_change(request).status_code is StatusCode.CHANGE_ACCEPTED
    record = json.loads((tmp_path / "inbox" / receipt.dms_id / "changes" / "revoke.json").read_text())
    assert record["reason"] == "Ban hành nhầm"


def test_a_change_to_an_unknown_document_is_refused_naming_it(tmp_path: Path) -> None:
    c = make(tmp_path)
    request = ChangeRequest(BusinessDocType.UPDATE, "KHONG-CO", "000.00.00.G22", None, StaffInfo())
    decision = c.on_change(request)
    assert decision.status_code is StatusCode.CHANGE_REFUSED
    assert "KHONG-CO" in (decision.reason or "")


def test_a_pending_change_policy_waits_for_the_clerk(tmp_path: Path) -> None:
    c = make(tmp_path)
    doc = incoming()
    c.deliver(doc)
    request = ChangeRequest(BusinessDocType.REVOKE, doc.document_id, "000.00.00.G22", None, StaffInfo())
    assert c.on_change(request).status_code is None


def test_an_unknown_change_policy_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="changes must be one of"):
        make(tmp_path, changes="maybe")


def test_a_folder_written_by_vb_unpack_is_sent_and_moved_whole(tmp_path: Path) -> None:
    from vbcore.metadata import unpack_edoc

    c = make(tmp_path)
    edoc = incoming().edoc
    edoc = Edoc(from_=Organization(AGENCY), to=(Organization("000.00.00.G22"),), code=edoc.code,
                subject=edoc.subject, attachments=edoc.attachments)
    staging = tmp_path / "outbox" / ".cv-7.tmp"
    unpack_edoc(edoc, staging)
    assert list(c.poll_outgoing()) == []  # still being written
    staging.rename(tmp_path / "outbox" / "cv-7")
    [out] = c.poll_outgoing()
    assert out.id == "cv-7"
    assert out.edoc is not None
    assert out.edoc.attachments[0].content.read_bytes() == b"%PDF-1.4 x"
    c.mark_sent("cv-7", "DOC-7")
    assert (tmp_path / "sent" / "cv-7" / "metadata.json").exists()
    assert json.loads((tmp_path / "sent" / "cv-7.sent.json").read_text())["document_id"] == "DOC-7"
    assert list(c.poll_outgoing()) == []


# --- attachment names from the sender: safe, unique, bounded, in linear time --------------------


def with_attachments(names: list[str]) -> IncomingDocument:
    document_id = "000.00.00.G22,2026/11/24,8/VPCP-TH"
    doc = incoming(document_id)
    attachments = tuple(Attachment(f"cid:{i}", name, Blob(f"tệp {i}".encode()), "application/pdf")
                        for i, name in enumerate(names))
    edoc = Edoc(from_=doc.edoc.from_, to=doc.edoc.to, document_id=document_id, code=doc.edoc.code,
                subject=doc.edoc.subject, attachments=attachments)
    return IncomingDocument(document_id, doc.sender, edoc, doc.raw, doc.message_id, doc.received_at)


def test_an_attachment_name_over_255_bytes_is_shortened_keeping_its_extension(tmp_path: Path) -> None:
    long_name = "Quyết định về việc phê duyệt kế hoạch chuyển đổi số " * 4 + "năm 2026.pdf"
    assert len(long_name) < 255 < len(long_name.encode("utf-8"))  # few letters, many bytes
    c = make(tmp_path)
    receipt = c.deliver(with_attachments([long_name]))
    [written] = (tmp_path / "inbox" / receipt.dms_id / "attachments").iterdir()
    assert len(written.name.encode("utf-8")) <= 255
    assert written.name.startswith("Quyết định về việc phê duyệt")
    assert written.suffix == ".pdf"
    assert written.read_bytes() == "tệp 0".encode()


HOSTILE_NAMES = [
    "../../../../tmp/escape.pdf", "/etc/passwd", "..\\..\\Windows\\win.ini", "C:\\Windows\\evil.dll",
    "a\x00b.pdf", "..", ".", "", "   ", "CON", "nul.txt", "Aux.pdf", "lpt1", ".hidden.pdf",
    "hóa đơn\u202efdp.exe", "tab\there.pdf", "x" * 400, "y." + "z" * 300, "ổ" * 200 + ".docx",
    "bảng lương.pdf", "BẢNG LƯƠNG.pdf", "bảng lương.pdf",
]


def test_hostile_attachment_names_stay_inside_the_document_folder_each_its_own_file(tmp_path: Path) -> None:
    c = make(tmp_path)
    receipt = c.deliver(with_attachments(HOSTILE_NAMES))
    folder = tmp_path / "inbox" / receipt.dms_id / "attachments"
    written = sorted(folder.iterdir())
    assert len(written) == len(HOSTILE_NAMES)  # nothing lost, nothing overwritten
    assert len({p.name.casefold() for p in written}) == len(written)
    contents = sorted(p.read_bytes() for p in written)
    assert contents == sorted(f"tệp {i}".encode() for i in range(len(HOSTILE_NAMES)))
    everything = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(tmp_path / "inbox" / receipt.dms_id) or p.is_relative_to(tmp_path / "work")
               for p in everything)
    for p in written:
        assert len(p.name.encode("utf-8")) <= 255
        assert not p.name.startswith(".")
        assert not {"\x00", "\u202e", "\t", "/", "\\"} & set(p.name)
        assert p.name.split(".")[0].upper() not in ("CON", "NUL", "AUX", "LPT1", "PRN")
    assert not (tmp_path.parent / "tmp" / "escape.pdf").exists()
    info = json.loads((tmp_path / "inbox" / receipt.dms_id / "document.json").read_text(encoding="utf-8"))
    assert sorted(info["attachments"]) == sorted(p.name for p in written)


def test_many_attachments_with_one_name_get_unique_names_with_a_bounded_number_of_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 1500
    checks = [0]
    real = Path.exists

    def counting_exists(self: Path, *args: object, **kwargs: object) -> bool:
        checks[0] += 1
        return real(self)

    c = make(tmp_path)
    monkeypatch.setattr(Path, "exists", counting_exists)
    receipt = c.deliver(with_attachments(["công văn.pdf"] * count))
    monkeypatch.setattr(Path, "exists", real)
    names = sorted(p.name for p in (tmp_path / "inbox" / receipt.dms_id / "attachments").iterdir())
    assert len(set(names)) == count
    assert {"công văn.pdf", f"công văn-{count - 1}.pdf"} <= set(names)
    assert checks[0] < 10 * count  # linear: a quadratic search checks ~count²/2 names (over a million)


# --- what a clerk reads: refused letters, every 02, one language -----------------------------------


def hub_refusal(document_id: str, outgoing_id: str | None, description: str) -> StatusUpdate:
    return StatusUpdate(document_id, StatusCode.REFUSED, "vbus.hub", description, StaffInfo(),
                        datetime(2026, 11, 24, 9, 0), outgoing_id, from_hub=True)


def test_a_letter_the_hub_refuses_moves_to_failed_with_every_reason_and_every_02_is_kept(
    tmp_path: Path,
) -> None:
    c = make(tmp_path)
    (tmp_path / "outbox" / "cv.pdf").write_bytes(b"%PDF")
    metadata(tmp_path / "outbox", "cv.json", attachments=[{"file": "cv.pdf"}])
    [out] = c.poll_outgoing()
    c.mark_sent(out.id, "DOC-1")
    reasons = ["Mã định danh cơ quan đã ngừng sử dụng: mã 000.00.00.H47 đã ngừng sử dụng",
               "Mã định danh cơ quan đã ngừng sử dụng: mã 000.00.00.H23 đã ngừng sử dụng"]
    for reason in reasons:
        c.on_status(hub_refusal("DOC-1", "cv.json", reason))
    c.on_status(hub_refusal("DOC-1", "cv.json", reasons[0]))  # again, after a crash: harmless
    assert (tmp_path / "failed" / "cv.json").exists()
    assert (tmp_path / "failed" / "cv.json.files" / "cv.pdf").read_bytes() == b"%PDF"
    assert not (tmp_path / "sent" / "cv.json").exists()
    text = (tmp_path / "failed" / "cv.json.reason.txt").read_text(encoding="utf-8")
    assert all(text.count(r) == 1 for r in reasons)
    statuses = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "statuses").iterdir()]
    assert sorted(s["description"] for s in statuses) == sorted(reasons)


def test_a_refusal_of_a_letter_sent_elsewhere_is_kept_as_a_status(tmp_path: Path) -> None:
    c = make(tmp_path)
    c.on_status(hub_refusal("DOC-2", None, "Chữ ký số không hợp lệ"))
    [record] = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "statuses").iterdir()]
    assert (record["code"], record["outgoing_id"]) == ("02", None)
    assert list((tmp_path / "failed").iterdir()) == []


def test_the_summary_is_in_one_language_with_the_time_in_vietnam(tmp_path: Path) -> None:
    doc = incoming()
    doc = IncomingDocument(doc.document_id, doc.sender, doc.edoc, doc.raw, doc.message_id,
                           datetime(2026, 11, 24, 2, 30, tzinfo=UTC))
    vi = (tmp_path / "vi").joinpath
    receipt = make(tmp_path / "vi").deliver(doc)
    summary = vi("inbox", receipt.dms_id, "summary.txt").read_text(encoding="utf-8")
    assert "Trích yếu" in summary
    assert "24/11/2026 09:30" in summary
    assert "Subject" not in summary
    assert "Received" not in summary
    en = make(tmp_path / "en", lang="en")
    summary = (tmp_path / "en" / "inbox" / en.deliver(doc).dms_id / "summary.txt").read_text(encoding="utf-8")
    assert "Subject" in summary
    assert "24/11/2026 09:30" in summary
    assert "Trích yếu" not in summary
    assert "Nhận lúc" not in summary


def test_reasons_for_the_clerk_are_in_the_configured_language(tmp_path: Path) -> None:
    cases: list[tuple[Lang, str, str]] = [("vi", "Tệp mô tả", "metadata file"),
                                          ("en", "metadata file", "Tệp mô tả")]
    for lang, expected, foreign in cases:
        c = make(tmp_path / lang, lang=lang)
        write_atomically(tmp_path / lang / "outbox" / "bad.json", b'{"subject": "no recipient"}')
        assert list(c.poll_outgoing()) == []
        text = (tmp_path / lang / "failed" / "bad.json.reason.txt").read_text(encoding="utf-8")
        assert expected in text
        assert foreign not in text


def test_a_status_with_hostile_ids_is_written_under_a_bounded_name_inside_statuses(tmp_path: Path) -> None:
    c = make(tmp_path)
    long_id = "../" * 40 + "ổ" * 200
    c.on_status(StatusUpdate(long_id, StatusCode.REFUSED, "vbus.hub/../" + "x" * 300, "lý do", StaffInfo(),
                             None, None, from_hub=True, recipients=("/etc/" + "y" * 300, "000.00.00.H24")))
    [written] = (tmp_path / "statuses").iterdir()
    assert len(written.name.encode("utf-8")) < 255
    assert json.loads(written.read_text(encoding="utf-8"))["document_id"] == long_id
    assert [p for p in tmp_path.rglob("*") if p.is_file() and "statuses" not in p.parts] == []
