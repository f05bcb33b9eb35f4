"""The writer emits the shape real producers (and the VPCP SDK's parser) expect."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from datetime import date, datetime

from lxml import etree

from vbcore.edxml import DSIG_NS, EDXML_NS, write_package, write_package_to
from vbcore.model import (
    Attachment,
    Blob,
    Code,
    Edoc,
    ManifestReference,
    Organization,
    PromulgationInfo,
    ResponseFor,
    StatusPackage,
    TraceHeader,
)
from vbcore.status import StatusCode

SENDER = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ")
DOC = Edoc(
    from_=SENDER,
    to=(Organization("000.00.00.H41"), Organization("000.00.00.H53")),
    document_id="000.00.00.G22,2019/01/07,12/VPCP-TTĐT",
    code=Code("12", "VPCP-TTĐT"),
    promulgation_info=PromulgationInfo("Hà Nội", date(2019, 1, 7)),
    subject="V/v kết nối, liên thông",
    trace_headers=(TraceHeader("000.00.00.G22", datetime(2019, 1, 7, 8, 5, 3)),),
    manifest=(ManifestReference("cid:1", "application/pdf", None, "qd.pdf"),),
    attachments=(
        Attachment("cid:1", "qd.pdf", Blob(b"%PDF-1.7 raw"), "application/pdf"),
        Attachment("cid:2", "ghi chú.txt", Blob("Ghi chú".encode()), "text/plain", zipped=True),
    ),
)
STATUS = StatusPackage(
    from_=Organization("000.00.00.H41"),
    response_for=ResponseFor("000.00.00.G22", "12/VPCP-TTĐT", date(2019, 1, 7), "doc-1"),
    status_code=StatusCode.ARRIVED,
    timestamp=datetime(2019, 1, 7, 9, 0, 0),
)


def test_package_starts_with_the_sdks_declaration_and_default_namespace_root() -> None:
    out = write_package(DOC)
    assert out.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + EDXML_NS.encode() + b'">'
    )


def test_every_element_below_the_root_uses_the_edxml_prefix() -> None:
    root = etree.fromstring(write_package(DOC))
    assert root.prefix is None
    assert root.tag == f"{{{EDXML_NS}}}edXML"
    below = list(root.iter())[1:]
    assert below
    assert all(e.prefix == "edXML" and e.tag.startswith(f"{{{EDXML_NS}}}") for e in below)


def test_attachment_section_declares_its_own_prefix() -> None:
    # The SDK sample forgets this declaration (its AttachmentEncoded is not namespace-well-formed).
    out = write_package(DOC)
    assert f'<edXML:AttachmentEncoded xmlns:edXML="{EDXML_NS}">'.encode() in out


def test_dates_timestamps_and_status_codes_have_the_wire_format() -> None:
    doc_out = write_package(DOC).decode()
    assert "<edXML:PromulgationDate>2019/01/07</edXML:PromulgationDate>" in doc_out
    assert "<edXML:Timestamp>2019/01/07 08:05:03</edXML:Timestamp>" in doc_out
    status_out = write_package(STATUS).decode()
    assert "<edXML:StatusCode>01</edXML:StatusCode>" in status_out
    assert "<edXML:Timestamp>2019/01/07 09:00:00</edXML:Timestamp>" in status_out


def test_header_elements_come_in_the_standard_order() -> None:
    root = etree.fromstring(write_package(DOC))
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader/{{{EDXML_NS}}}MessageHeader")
    assert header is not None
    names = [etree.QName(e).localname for e in header]
    assert names == ["From", "To", "To", "DocumentId", "Code", "PromulgationInfo", "Subject"]
    status = etree.fromstring(write_package(STATUS))
    message = status.find(f".//{{{EDXML_NS}}}MessageHeader")
    assert message is not None
    assert [etree.QName(e).localname for e in message] == [
        "From", "ResponseFor", "StatusCode", "Timestamp",
    ]  # fmt: skip


def test_absent_values_are_omitted_not_written_empty() -> None:
    out = write_package(DOC).decode()
    assert not re.search(r"<edXML:\w+/>|<edXML:(\w+)>\s*</edXML:\1>", out)
    assert "DueDate" not in out
    assert "SignerInfo" not in out


def test_no_signature_is_written() -> None:
    out = write_package(DOC)
    assert b"Signature" not in out
    assert DSIG_NS.encode() not in out


def test_status_has_no_body_and_no_attachments() -> None:
    out = write_package(STATUS)
    assert b"edXMLBody" not in out
    assert b"AttachmentEncoded" not in out


def test_manifest_has_version_one_point_zero() -> None:
    root = etree.fromstring(write_package(DOC))
    manifest = root.find(f".//{{{EDXML_NS}}}edXMLManifest")
    assert manifest is not None
    assert manifest.get("version") == "1.0"


def encoded_attachments() -> list[bytes]:
    root = etree.fromstring(write_package(DOC))
    return [base64.b64decode(e.text or "") for e in root.iter(f"{{{EDXML_NS}}}ContentTransferEncoded")]


def test_raw_attachment_is_the_files_base64() -> None:
    assert encoded_attachments()[0] == b"%PDF-1.7 raw"


def test_zipped_attachment_is_a_one_entry_zip_of_the_file() -> None:
    with zipfile.ZipFile(io.BytesIO(encoded_attachments()[1])) as z:
        (entry,) = z.infolist()
        assert entry.filename == "ghi chú.txt"
        assert z.read(entry) == "Ghi chú".encode()


def test_writing_to_a_stream_gives_the_same_bytes() -> None:
    out = io.BytesIO()
    write_package_to(DOC, out)
    assert out.getvalue() == write_package(DOC)
