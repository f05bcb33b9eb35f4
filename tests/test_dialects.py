"""Other edXML dialects are recognised and refused by name: the older SOAP + MIME edXML of e-doc.vn and a
provincial go.vn/eDoc one (issue 11, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vbcore.cli import vb
from vbcore.edxml import read_package
from vbcore.edxml.acceptance import examine
from vbcore.errors import ForeignDialect, NotAnEdxmlPackage
from vbcore.hub import checks

EDOC_VN = "http://www.e-doc.vn/Schema/"
GO_VN = "http://www.go.vn/eDoc"

SOAP_ENVELOPE = (
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
    f'xmlns:edXML="{EDOC_VN}" xmlns:xlink="http://www.w3.org/1999/xlink">'
    "<SOAP-ENV:Header>"
    '<edXML:MessageHeader SOAP-ENV:mustUnderstand="1">'
    "<edXML:From><edXML:OrganId>000.00.00.H37</edXML:OrganId>"
    "<edXML:OrganName>UBND tỉnh Lạng Sơn</edXML:OrganName>"
    "</edXML:From><edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:To>"
    "<edXML:Subject>Báo cáo</edXML:Subject></edXML:MessageHeader>"
    "<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>000.00.00.H37</edXML:OrganId>"
    "<edXML:Timestamp>2019-01-17T08:00:00</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList>"
    "</SOAP-ENV:Header><SOAP-ENV:Body><edXML:Manifest>"
    '<edXML:Reference xlink:href="cid:1">'
    "<edXML:AttachmentName>bc.pdf</edXML:AttachmentName></edXML:Reference>"
    "</edXML:Manifest></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
SOAP_AND_MIME = (
    "--Boundary\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    f"Content-ID: <Start>\r\n\r\n{SOAP_ENVELOPE}\r\n"
    "--Boundary\r\nContent-Type: application/pdf\r\nContent-ID: <1>\r\n\r\n"
    "%PDF-1.4 báo cáo\r\n--Boundary--\r\n"
).encode()
GO_VN_PACKAGE = (
    f'<?xml version="1.0" encoding="UTF-8"?><EdXMLEnvelope xmlns="{GO_VN}"><MessageHeader>'
    "<From><OrganId>H37.DN.001</OrganId><OrganName>Cty CP Hữu Nghị</OrganName></From>"
    "<To><OrganId>H37.DN.002</OrganId><OrganName>Sở KH&amp;CN</OrganName></To>"
    "<Code><CodeNumber>123</CodeNumber><CodeNotation>UBND-VP</CodeNotation></Code>"
    "<PromulgationInfo><Promulgator>Cty</Promulgator><PromulgationDate>2026-05-20</PromulgationDate></PromulgationInfo>"
    "<DocumentType>Công văn</DocumentType><Subject>Báo cáo</Subject>"
    "<DocumentId>97056f07-7371-42d0-a039-8b4917ed613f</DocumentId></MessageHeader>"
    "<Manifest><Attachment><Content>aGVsbG8=</Content></Attachment></Manifest></EdXMLEnvelope>"
).encode()
GO_VN_PREFIXED = (
    GO_VN_PACKAGE.replace(b"<", b"<e:")
    .replace(b"<e:/", b"</e:")
    .replace(b"<e:?", b"<?")
    .replace(f'xmlns="{GO_VN}"'.encode(), f'xmlns:e="{GO_VN}"'.encode())
)

DIALECTS = {
    "SOAP + MIME of e-doc.vn": (SOAP_AND_MIME, EDOC_VN, (1, 1)),
    "a bare SOAP envelope of e-doc.vn": (SOAP_ENVELOPE.encode(), EDOC_VN, (1, 1)),
    "go.vn/eDoc": (GO_VN_PACKAGE, GO_VN, (1, 39)),
    "go.vn/eDoc with a prefix": (GO_VN_PREFIXED, GO_VN, (1, 39)),
}


@pytest.mark.parametrize("name", DIALECTS)
def test_another_dialect_is_refused_naming_it_with_line_and_column(name: str) -> None:
    data, namespace, where = DIALECTS[name]
    for read in (examine, read_package):
        with pytest.raises(ForeignDialect) as caught:
            read(data)
        err = caught.value
        assert err.reason == "foreign-dialect"
        assert namespace in err.describe("en")
        assert "not QCVN 102:2016 edXML" in err.describe("en")
        assert "không phải edXML QCVN 102:2016" in err.describe("vi")
        assert (err.line, err.column) == where


def test_the_older_dialect_is_named_for_what_it_is() -> None:
    with pytest.raises(ForeignDialect) as caught:
        examine(SOAP_AND_MIME)
    assert caught.value.describe("en").startswith(
        "A package of another edXML dialect, not QCVN 102:2016: a MIME message of the older edXML "
        f"(namespace {EDOC_VN}, SOAP + MIME, before QCVN 102:2016)"
    )
    with pytest.raises(ForeignDialect, match="a provincial edXML dialect"):
        examine(GO_VN_PACKAGE)


def test_a_soap_envelope_of_anything_else_is_still_not_edxml_without_a_dialect_named() -> None:
    other = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    with pytest.raises(NotAnEdxmlPackage) as caught:
        examine(other)
    assert not isinstance(caught.value, ForeignDialect)


@pytest.mark.parametrize("name", DIALECTS)
def test_the_hub_refuses_another_dialect_by_name(name: str) -> None:
    data, namespace, _ = DIALECTS[name]
    with pytest.raises(ForeignDialect, match=namespace):
        checks.check_structure(data, checks.ParseLimits())


@pytest.mark.parametrize("name", DIALECTS)
def test_validate_and_show_name_the_dialect(name: str, tmp_path: Path) -> None:
    data, namespace, _ = DIALECTS[name]
    path = tmp_path / "old.edxml"
    path.write_bytes(data)
    run = CliRunner(env={"VBUS_LANG": None})
    validated = run.invoke(vb, ["validate", str(path), "--json"])
    assert validated.exit_code == 1
    [problem] = json.loads(validated.output)[0]["problems"]
    assert namespace in problem["message_vi"]
    shown = run.invoke(vb, ["show", str(path)])
    assert shown.exit_code == 1
    assert "Gói tin theo một phương ngữ edXML khác" in shown.output
