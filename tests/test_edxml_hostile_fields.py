"""Hostile values in a package's fields: names, dates, empty codes, names lxml cannot hold."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hostile import MiB, attachment, package

from vbcore.edxml import read_package
from vbcore.edxml.safe_names import MAX_NAME_BYTES, safe_attachment_name
from vbcore.errors import ImplausibleDate, InvalidFieldValue, MalformedPackage
from vbcore.model import Edoc, StatusPackage

# --- attachment names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../../etc/passwd", ".._.._.._etc_passwd"),
        ("/etc/passwd", "_etc_passwd"),
        ("C:\\Windows\\System32\\evil.exe", "C__Windows_System32_evil.exe"),
        ("..", "__"),
        (".", "_"),
        ("a\x7fb\x85c.pdf", "a_b_c.pdf"),
        ("Công văn số 12/UBND-VP.pdf", "Công văn số 12_UBND-VP.pdf"),
        ("1896_QD-TTg_m_294779.doc", "1896_QD-TTg_m_294779.doc"),
        ("GUIDE_INSTALL OPENVPN.SIGNED.PDF", "GUIDE_INSTALL OPENVPN.SIGNED.PDF"),
    ],
)
def test_an_attachment_name_is_made_one_harmless_file_name(given: str, safe: str) -> None:
    assert safe_attachment_name(given) == safe


def test_a_long_vietnamese_name_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = "Quyết định về việc phê duyệt kế hoạch " * 10 + ".pdf"
    safe = safe_attachment_name(name)
    assert len(name.encode()) > MAX_NAME_BYTES >= len(safe.encode())
    assert safe.endswith(".pdf")
    assert name.startswith(safe.removesuffix(".pdf"))  # cut at a whole character, not inside one


def test_the_reader_hands_on_the_safe_name_and_says_so_in_a_warning() -> None:
    result = read_package(package(attachments=attachment(b"%PDF", name="../../x\x7f.pdf")))
    doc = result.package
    assert isinstance(doc, Edoc)
    assert doc.attachments[0].name == ".._.._x_.pdf"
    [renamed] = [w for w in result.warnings if w.code == "attachment-name-made-safe"]
    assert renamed.value == "'../../x\\x7f.pdf' -> '.._.._x_.pdf'"


def test_a_nul_in_a_name_cannot_even_be_written_in_xml() -> None:
    with pytest.raises(MalformedPackage, match="line"):
        read_package(package(attachments=attachment(b"%PDF", name="a\x00.pdf")))


# --- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("status", "0999/12/31 23:59:59"),
        ("status", "0001/01/01 00:00:00"),
        ("document", "1799/12/31"),
        ("document", "0202/10/20"),
    ],
)
def test_a_date_that_cannot_be_meant_is_refused_naming_the_range(where: str, value: str) -> None:
    if where == "status":
        data = package(status=True, header=f"<StatusCode>01</StatusCode><Timestamp>{value}</Timestamp>")
        path = "MessageHeader/Timestamp"
    else:
        data = package(
            header=f"<PromulgationInfo><PromulgationDate>{value}</PromulgationDate></PromulgationInfo>"
        )
        path = "PromulgationInfo/PromulgationDate"
    with pytest.raises(
        ImplausibleDate, match=f"{path}: '{value}' is outside the accepted range 1800/01/01 to 9999/12/31"
    ):
        read_package(data)


@pytest.mark.parametrize("value", ["1800/01/01", "1899/12/30", "1900/01/01", "1970/01/01", "9999/12/31"])
def test_the_placeholder_dates_real_systems_write_are_read(value: str) -> None:
    data = package(header=f"<DueDate>{value}</DueDate>")
    doc = read_package(data).package
    assert isinstance(doc, Edoc)
    assert doc.due_date == date(*map(int, value.split("/")))


def test_a_status_timestamp_of_the_year_1900_is_read() -> None:
    data = package(
        status=True, header="<StatusCode>01</StatusCode><Timestamp>1900/01/01 00:00:00</Timestamp>"
    )
    status = read_package(data).package
    assert isinstance(status, StatusPackage)
    assert status.timestamp == datetime(1900, 1, 1)


# --- codes and names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "empty", ["<StatusCode></StatusCode>", "<StatusCode/>", "<StatusCode>  </StatusCode>"]
)
def test_an_empty_status_code_is_refused_with_its_path(empty: str) -> None:
    with pytest.raises(InvalidFieldValue, match=r"MessageHeader/StatusCode: '' is not a status code"):
        read_package(package(status=True, header=empty))


def test_an_element_name_lxml_cannot_hold_is_refused_in_a_streamed_package_with_its_path() -> None:
    big = attachment(bytes(2 * MiB))  # over 2 MB: streamed
    data = package(header="<edXML:8ypeName>x</edXML:8ypeName>", attachments=big)
    with pytest.raises(
        MalformedPackage, match=r"Invalid tag name .*element /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/"
    ):
        read_package(data)
