"""Reading packages: values, warnings, refusals with paths, attachments (base64, ZIP, spooling)."""

from __future__ import annotations

import base64
import gc
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from vbcore.edxml import EDXML_NS, ParseLimits, parse_xml, read_element, read_package, write_package
from vbcore.edxml.attachments import SPOOL_ABOVE
from vbcore.errors import AttachmentUnreadable, InvalidFieldValue, MalformedPackage, RequiredElementMissing
from vbcore.model import Attachment, Blob, Edoc, Organization, StatusPackage
from vbcore.status import StatusCode


def package(header: str = "", attachments: str = "", body: str = "") -> bytes:
    """A minimal document package around the given MessageHeader extras and attachments."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>
        {header}
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0">{body}</edXML:edXMLManifest></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>{attachments}</AttachmentEncoded>
</edXML>""".encode()


def attachment(encoded: str, content_type: str = "application/pdf", name: str = "a.pdf") -> str:
    return f"""<Attachment><ContentId>cid:1</ContentId><AttachmentName>{name}</AttachmentName>
      <ContentType>{content_type}</ContentType><ContentTransferEncoded>{encoded}</ContentTransferEncoded>
    </Attachment>"""


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def read_edoc(data: bytes, **kwargs: object) -> Edoc:
    doc = read_package(data, **kwargs).package  # type: ignore[arg-type]
    assert isinstance(doc, Edoc)
    return doc


def test_prefixed_and_default_namespace_elements_read_alike() -> None:
    doc = read_edoc(package("<Subject>Trích yếu</Subject><edXML:Content>Nội dung</edXML:Content>"))
    assert (doc.subject, doc.content) == ("Trích yếu", "Nội dung")
    assert doc.recipients == ("000.00.00.H41",)


def test_values_are_stripped_and_empty_elements_read_as_absent() -> None:
    doc = read_edoc(package("<Subject>\n   Về việc   \n</Subject><Content>  </Content><DueDate/>"))
    assert doc.subject == "Về việc"
    assert doc.content is None
    assert doc.due_date is None


def test_all_accepted_date_forms_read_as_the_same_day() -> None:
    for text in ("2019/01/17", "17/01/2019", "2019-01-17", "2019/1/17"):
        doc = read_edoc(package(f"<DueDate>{text}</DueDate>"))
        assert doc.due_date == date(2019, 1, 17), text


def test_status_timestamp_is_read_as_local_time_without_zone() -> None:
    data = package().replace(
        b"<edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>",
        b"<StatusCode>3</StatusCode><Timestamp>2018/09/28 17:25:11</Timestamp>",
    )
    status = read_package(data).package
    assert isinstance(status, StatusPackage)
    assert status.status_code is StatusCode.REGISTERED  # "3" reads as "03"
    assert status.timestamp == datetime(2018, 9, 28, 17, 25, 11)
    assert status.timestamp.tzinfo is None


def test_unreadable_date_is_refused_with_the_element_path() -> None:
    data = package("<PromulgationInfo><PromulgationDate>hôm qua</PromulgationDate></PromulgationInfo>")
    with pytest.raises(InvalidFieldValue) as caught:
        read_package(data)
    assert (
        caught.value.path == "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/PromulgationInfo/PromulgationDate"
    )
    assert caught.value.value == "hôm qua"


def test_unknown_status_code_is_refused() -> None:
    data = package().replace(b"<edXML:To>", b"<StatusCode>07</StatusCode><edXML:To>")
    with pytest.raises(InvalidFieldValue, match="StatusCode"):
        read_package(data)


def test_non_numeric_priority_is_refused_with_its_path() -> None:
    with pytest.raises(InvalidFieldValue, match="OtherInfo/Priority"):
        read_package(package("<OtherInfo><Priority>khẩn</Priority></OtherInfo>"))


def test_missing_sender_is_refused_naming_the_element() -> None:
    data = package().replace(b"<edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From>", b"")
    with pytest.raises(RequiredElementMissing, match="MessageHeader/From is missing"):
        read_package(data)


def test_unknown_elements_are_ignored_with_a_named_warning() -> None:
    result = read_package(package("<Subject>x</Subject><Urgency>cao</Urgency>"))
    assert result.package.subject == "x"  # type: ignore[union-attr]
    [unknown] = [w for w in result.warnings if w.code == "unknown-element"]
    assert unknown.value == "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Urgency"
    assert unknown.line == 8
    assert unknown.describe("en") == (
        "ignored unknown element edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Urgency (line 8)"
    )
    assert unknown.describe("vi").startswith("bỏ qua phần tử không xác định edXML/")


def test_base64_with_line_breaks_is_decoded() -> None:
    encoded = base64.encodebytes(b"%PDF-1.4 " * 50).decode()  # 76-column lines
    doc = read_edoc(package(attachments=attachment(encoded)))
    assert doc.attachments[0].content.read_bytes() == b"%PDF-1.4 " * 50


@pytest.mark.parametrize(
    "encoded", ["QUJD!!==", "QUJDRA", "QUI=QUJD", "${__StringFromFile(test.txt,,,)}", "QUJDñ"]
)
def test_invalid_base64_is_refused_as_unreadable_attachment(encoded: str) -> None:
    with pytest.raises(AttachmentUnreadable, match="cid:1"):
        read_package(package(attachments=attachment(encoded)))


def test_corrupt_zip_is_refused_as_unreadable_attachment() -> None:
    broken = zip_of({"a.pdf": b"%PDF" * 100})[:-30]  # cut off the central directory
    with pytest.raises(AttachmentUnreadable, match="ZIP"):
        read_package(package(attachments=attachment(base64.b64encode(broken).decode())))


def test_one_entry_zip_reads_as_its_entry_with_the_type_of_the_original() -> None:
    wrapped = base64.b64encode(zip_of({"x.pdf": "%PDF-1.7 nội dung".encode()})).decode()
    doc = read_edoc(
        package(attachments=attachment(wrapped, content_type="application/zip", name="Quyết định.pdf"))
    )
    (att,) = doc.attachments
    assert att.zipped is True
    assert att.content.read_bytes() == "%PDF-1.7 nội dung".encode()
    assert att.content_type == "application/pdf"  # guessed from the name when both types say "zip"


def test_zip_of_several_files_is_the_attachment_itself() -> None:
    archive = zip_of({"a.txt": b"a", "b.txt": b"b"})
    doc = read_edoc(
        package(attachments=attachment(base64.b64encode(archive).decode(), "application/zip", "hs.zip"))
    )
    (att,) = doc.attachments
    assert att.zipped is False
    assert att.content.read_bytes() == archive


def test_zip_entry_over_the_unzipped_limit_is_refused() -> None:
    bomb = zip_of({"zeros.bin": bytes(5_000_000)})  # about 5 KB compressed
    data = package(attachments=attachment(base64.b64encode(bomb).decode()))
    with pytest.raises(AttachmentUnreadable, match="over"):
        read_package(data, limits=ParseLimits(max_unzipped_bytes=1_000_000))


def test_read_element_reads_an_already_parsed_tree() -> None:
    data = package("<Subject>Đã ký</Subject>")
    assert read_element(parse_xml(data)).package == read_package(data).package


def big_edoc(size: int, *, zipped: bool = False) -> Edoc:
    content = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    att = Attachment("cid:big", "lớn.pdf", Blob(content), "application/pdf", zipped=zipped)
    return Edoc(from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.H41"),), attachments=(att,))


def test_streaming_and_tree_reads_of_a_large_package_agree(tmp_path: Path) -> None:
    data = write_package(big_edoc(3 * 1024 * 1024, zipped=True))  # over STREAM_ABOVE: streamed
    streamed = read_package(data, spool_dir=tmp_path).package
    tree = read_element(parse_xml(data), spool_dir=tmp_path).package
    assert streamed == tree == big_edoc(3 * 1024 * 1024, zipped=True)


def test_large_attachment_is_spooled_to_a_file_small_one_stays_in_memory(tmp_path: Path) -> None:
    doc = read_edoc(write_package(big_edoc(SPOOL_ABOVE + 1)), spool_dir=tmp_path)
    assert doc.attachments[0].content.path is not None
    assert doc.attachments[0].content.path.parent == tmp_path
    small = read_edoc(write_package(big_edoc(1000)), spool_dir=tmp_path)
    assert small.attachments[0].content.path is None


def test_temp_file_of_a_spooled_attachment_goes_with_its_blob() -> None:
    doc = read_edoc(write_package(big_edoc(SPOOL_ABOVE + 1)))
    path = doc.attachments[0].content.path
    assert path is not None
    assert path.exists()
    del doc
    gc.collect()
    assert not path.exists()


def test_failed_streaming_read_leaves_no_spooled_file_behind(tmp_path: Path) -> None:
    data = write_package(big_edoc(3 * 1024 * 1024))
    broken = data.replace(b"</edXML:AttachmentEncoded>", b"</edXML:Attachment>")  # mismatched end
    with pytest.raises(MalformedPackage, match="mismatch"):
        read_package(broken, spool_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_base64_with_character_references_and_cdata_is_decoded() -> None:
    lines = base64.encodebytes(b"%PDF-1.4 " * 50).decode().splitlines()
    encoded = "&#13;\n".join(lines[:3]) + "<![CDATA[" + "".join(lines[3:]) + "]]>"
    doc = read_edoc(package(attachments=attachment(encoded)))
    assert doc.attachments[0].content.read_bytes() == b"%PDF-1.4 " * 50


def test_streamed_base64_with_line_breaks_is_decoded(tmp_path: Path) -> None:
    content = bytes(range(256)) * 12_000  # about 3 MB: the package is streamed
    encoded = base64.encodebytes(content).decode().replace("\n", "&#13;\n")
    doc = read_edoc(package(attachments=attachment(encoded)), spool_dir=tmp_path)
    assert doc.attachments[0].content == Blob(content)
