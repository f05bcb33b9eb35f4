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
from vbcore.model import Attachment, Blob, Code, Edoc, Organization, PromulgationInfo, StaffInfo
from vbcore.status import BusinessDocType, StatusCode

AGENCY = "000.00.00.H24"


def make(root: Path, **config: object) -> FolderConnector:
    c = FolderConnector.from_config({"root": str(root), "settle_seconds": 0, **config},
                                    ConnectorContext(AGENCY, root / "work", "UBND thành phố Hà Nội"))
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


def test_a_delivered_document_has_its_package_attachments_and_a_bilingual_summary(tmp_path: Path) -> None:
    c = make(tmp_path)
    doc = incoming()
    receipt = c.deliver(doc)
    folder = tmp_path / "inbox" / receipt.dms_id
    assert (folder / "package.edxml").read_bytes() == b"<signed/>"
    assert [p.name for p in (folder / "attachments").iterdir()] == ["Công văn 7.pdf"]  # no path escape
    summary = (folder / "summary.txt").read_text(encoding="utf-8")
    expected = ("Trích yếu / Subject", "V/v triển khai liên thông văn bản", "7/VPCP-TH", "Chính phủ")
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
    half = tmp_path / "inbox" / f".{c.document_dir('X').name}.dead.tmp"
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
    assert record["meaning"] == "Đã tiếp nhận / Registered"
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
    assert c.on_revoke(request).status_code is StatusCode.CHANGE_ACCEPTED
    record = json.loads((tmp_path / "inbox" / receipt.dms_id / "changes" / "revoke.json").read_text())
    assert record["reason"] == "Ban hành nhầm"


def test_a_change_to_an_unknown_document_is_refused_naming_it(tmp_path: Path) -> None:
    c = make(tmp_path)
    request = ChangeRequest(BusinessDocType.UPDATE, "KHONG-CO", "000.00.00.G22", None, StaffInfo())
    decision = c.on_update(request)
    assert decision.status_code is StatusCode.CHANGE_REFUSED
    assert "KHONG-CO" in (decision.reason or "")


def test_a_pending_change_policy_waits_for_the_clerk(tmp_path: Path) -> None:
    c = make(tmp_path)
    doc = incoming()
    c.deliver(doc)
    request = ChangeRequest(BusinessDocType.REVOKE, doc.document_id, "000.00.00.G22", None, StaffInfo())
    assert c.on_revoke(request).status_code is None


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
