"""The edXML schemas and vbcore.edxml.schema: minimal packages, each structural error with its path."""

from __future__ import annotations

import importlib.resources
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from vbcore.edxml import schema
from vbcore.errors import ForbiddenXmlConstruct, MalformedPackage, SchemaViolation

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"

MINIMAL_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>
        <To><OrganId>000.00.00.H41</OrganId></To>
        <To><OrganId>000.00.00.H14</OrganId></To>
        <DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</DocumentId>
        <Code><CodeNumber>12</CodeNumber><CodeNotation>VPCP-TTĐT</CodeNotation></Code>
        <PromulgationInfo>
          <Place>Hà Nội</Place><PromulgationDate>2025/10/20</PromulgationDate>
        </PromulgationInfo>
        <Subject>V/v kết nối liên thông</Subject>
        <OtherInfo><Priority>1</Priority></OtherInfo>
      </MessageHeader>
      <TraceHeaderList>
        <TraceHeader><OrganId>000.00.00.G22</OrganId><Timestamp>2025/10/20 08:30:00</Timestamp></TraceHeader>
        <Bussiness><BussinessDocType>0</BussinessDocType><Paper>0</Paper></Bussiness>
      </TraceHeaderList>
    </edXMLHeader>
    <edXMLBody>
      <edXMLManifest version="1.0">
        <Reference>
          <ContentId>cid:a1</ContentId><ContentType>application/pdf</ContentType>
          <AttachmentName>12-VPCP.pdf</AttachmentName>
        </Reference>
      </edXMLManifest>
    </edXMLBody>
  </edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:a1</ContentId><AttachmentName>12-VPCP.pdf</AttachmentName>
      <ContentType>application/pdf</ContentType><ContentTransferEncoded>JVBERi0xLjUK</ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
"""

MINIMAL_STATUS = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.H41</OrganId></From>
        <ResponseFor>
          <OrganId>000.00.00.G22</OrganId>
          <DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</DocumentId>
        </ResponseFor>
        <StatusCode>03</StatusCode>
        <Timestamp>2025/10/20 09:00:00</Timestamp>
      </MessageHeader>
    </edXMLHeader>
  </edXMLEnvelope>
</edXML>
"""


def swap(xml: str, old: str, new: str) -> bytes:
    """``xml`` with ``old`` (which must occur) replaced by ``new``, as bytes."""
    assert old in xml, f"test fixture does not contain {old!r}"
    return xml.replace(old, new, 1).encode()


def cut(xml: str, old: str) -> str:
    """``xml`` without ``old`` (which must occur)."""
    assert old in xml, f"test fixture does not contain {old!r}"
    return xml.replace(old, "", 1)


def paths(problems: list[schema.SchemaProblem]) -> list[str]:
    return [p.path for p in problems]


# --- valid packages ------------------------------------------------------------------------------


def test_minimal_document_validates() -> None:
    assert schema.validate(MINIMAL_DOCUMENT.encode()) == []


def test_minimal_status_validates() -> None:
    assert schema.validate(MINIMAL_STATUS.encode()) == []


def test_an_element_and_its_bytes_give_the_same_answer() -> None:
    bad = swap(MINIMAL_STATUS, "<StatusCode>03", "<StatusCode>07")
    assert schema.validate(etree.fromstring(bad), source=bad) == schema.validate(bad)
    # Without its bytes, a tree's problems have their line and no column.
    [alone] = schema.validate(etree.fromstring(bad))
    assert (alone.line, alone.column) == (11, None)


def test_status_is_told_apart_from_document_by_its_status_code() -> None:
    assert schema.package_kind(etree.fromstring(MINIMAL_STATUS.encode())) == "status"
    assert schema.package_kind(etree.fromstring(MINIMAL_DOCUMENT.encode())) == "document"


def test_document_id_may_come_last_as_the_vpcp_sdk_writes_it() -> None:
    moved = cut(MINIMAL_DOCUMENT, "<DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</DocumentId>")
    moved = swap(moved, "</OtherInfo>", "</OtherInfo><DocumentId>x-1</DocumentId>")
    assert schema.validate(moved) == []


@pytest.mark.parametrize(
    "tail",
    [
        "<ToPlaces><Place>Các bộ</Place></ToPlaces><OtherInfo/><ResponseFor/><SteeringType>1</SteeringType>",
        "<OtherInfo/><ResponseFor/><SteeringType>1</SteeringType><ToPlaces/>",
        "<OtherInfo/><SteeringType>1</SteeringType><ToPlaces/>",
        "<OtherInfo/><ToPlaces/><SteeringType>2</SteeringType>",
        "<ResponseFor/><ToPlaces/><SteeringType>0</SteeringType>",
        "<SteeringType>1</SteeringType>",
    ],
)
def test_to_places_may_stand_anywhere_in_the_tail(tail: str) -> None:
    assert (
        schema.validate(swap(MINIMAL_DOCUMENT, "<OtherInfo><Priority>1</Priority></OtherInfo>", tail)) == []
    )


def test_bussiness_may_come_before_the_trace_headers() -> None:
    trace = (
        "<TraceHeader><OrganId>000.00.00.G22</OrganId>"
        "<Timestamp>2025/10/20 08:30:00</Timestamp></TraceHeader>"
    )
    xml = cut(MINIMAL_DOCUMENT, trace)
    xml = swap(xml, "</Bussiness>", "</Bussiness>" + trace + trace)
    assert schema.validate(xml) == []


def test_dates_may_be_written_day_first() -> None:
    assert (
        schema.validate(swap(MINIMAL_DOCUMENT, "2025/10/20</Promulgation", "20/10/2025</Promulgation")) == []
    )


def test_unqualified_legacy_signature_is_accepted() -> None:
    legacy = (
        "<Signature><SignedInfo>"
        '<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        '<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
        '<Reference URI=""><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
        "<DigestValue>AA==</DigestValue></Reference>"
        "</SignedInfo><SignatureValue>AA==</SignatureValue></Signature>"
    )
    assert schema.validate(swap(MINIMAL_DOCUMENT, "</TraceHeaderList>", "</TraceHeaderList>" + legacy)) == []


def test_xml_dsig_signature_is_checked_against_the_w3c_schema() -> None:
    no_signature_value = (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        '<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference>"
        "</ds:SignedInfo></ds:Signature>"
    )
    problems = schema.validate(
        swap(MINIMAL_STATUS, "</MessageHeader>", "</MessageHeader>" + no_signature_value)
    )
    assert paths(problems) == ["/edXML/edXMLEnvelope/edXMLHeader/ds:Signature"]
    assert "SignatureValue" in problems[0].message


@pytest.mark.parametrize("platform_id", ["vxp.saas.03", "vbus.hub"])
def test_platform_names_are_valid_agency_ids(platform_id: str) -> None:
    assert schema.validate(swap(MINIMAL_STATUS, "000.00.00.H41", platform_id)) == []


def test_document_id_may_be_absent_as_qcvn_102_itself_defines_the_header() -> None:
    xml = cut(MINIMAL_DOCUMENT, "<DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</DocumentId>")
    assert schema.validate(xml.encode()) == []


def test_a_status_may_leave_out_the_document_id_it_cannot_name() -> None:
    xml = cut(MINIMAL_STATUS, "<DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</DocumentId>")
    assert schema.validate(xml.encode()) == []


# --- structural errors, each with its path ---------------------------------------------------------


def test_document_without_from_names_from_at_the_first_addressee() -> None:
    xml = cut(
        MINIMAL_DOCUMENT,
        "<From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>",
    )
    problems = schema.validate(xml.encode())
    assert paths(problems) == [f"{HEADER}/To[1]"]
    assert "Expected is ( edXML:From )" in problems[0].message


def test_status_without_from_is_reported_on_its_message_header() -> None:
    problems = schema.validate(swap(MINIMAL_STATUS, "<From><OrganId>000.00.00.H41</OrganId></From>", ""))
    assert paths(problems) == [HEADER]
    assert "edXML:From" in problems[0].message


def test_status_code_07_is_refused() -> None:
    problems = schema.validate(swap(MINIMAL_STATUS, "<StatusCode>03", "<StatusCode>07"))
    assert paths(problems) == [f"{HEADER}/StatusCode"]
    assert "'07'" in problems[0].message
    assert problems[0].line == 11


@given(st.text(alphabet="0123456789", min_size=1, max_size=3))
def test_only_the_known_status_codes_are_valid(code: str) -> None:
    problems = schema.validate(swap(MINIMAL_STATUS, "<StatusCode>03", f"<StatusCode>{code}"))
    known = code in {"01", "02", "03", "04", "05", "06", "13", "15", "16"}
    assert (problems == []) == known


def test_unknown_element_is_reported_where_it_stands() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "<Subject>", "<Colour>red</Colour><Subject>"))
    assert paths(problems) == [f"{HEADER}/Colour"]
    assert "not expected" in problems[0].message


def test_addressee_without_organ_id_is_reported_with_its_position() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "<To><OrganId>000.00.00.H14</OrganId></To>", "<To/>"))
    assert paths(problems) == [f"{HEADER}/To[2]"]
    assert "edXML:OrganId" in problems[0].message


def test_bussiness_doc_type_9_is_refused() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "<BussinessDocType>0", "<BussinessDocType>9"))
    assert paths(problems) == ["/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType"]


def test_a_document_without_subject_is_refused_where_the_subject_was_due() -> None:
    problems = schema.validate(cut(MINIMAL_DOCUMENT, "<Subject>V/v kết nối liên thông</Subject>").encode())
    assert paths(problems) == [f"{HEADER}/OtherInfo"]
    assert "edXML:Subject" in problems[0].message


def test_priority_5_is_refused() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "<Priority>1", "<Priority>5"))
    assert paths(problems) == [f"{HEADER}/OtherInfo/Priority"]


def test_a_second_subject_is_refused() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "</Subject>", "</Subject><Subject>again</Subject>"))
    assert paths(problems) == [f"{HEADER}/Subject[2]"]


def test_the_same_addressee_twice_is_refused() -> None:
    problems = schema.validate(swap(MINIMAL_DOCUMENT, "000.00.00.H14", "000.00.00.H41"))
    assert len(problems) == 1
    assert problems[0].path.startswith(f"{HEADER}/To[2]")
    assert "EachAddresseeOnce" in problems[0].message


def test_a_manifest_reference_must_name_an_attachment_of_the_package() -> None:
    problems = schema.validate(
        swap(
            MINIMAL_DOCUMENT,
            "<ContentId>cid:a1</ContentId><ContentType>",
            "<ContentId>cid:zz</ContentId><ContentType>",
        )
    )
    assert paths(problems) == ["/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"]
    assert "ReferenceNamesAnAttachment" in problems[0].message
    assert problems[0].line is not None


def test_a_status_has_no_body() -> None:
    body = '<edXMLBody><edXMLManifest version="1.0"/></edXMLBody>'
    problems = schema.validate(swap(MINIMAL_STATUS, "</edXMLHeader>", "</edXMLHeader>" + body))
    assert paths(problems) == ["/edXML/edXMLEnvelope/edXMLBody"]


@pytest.mark.parametrize("bad_date", ["2025-10-20", "2025/13/01", "20/10/25", ""])
def test_promulgation_date_must_be_a_date(bad_date: str) -> None:
    problems = schema.validate(
        swap(MINIMAL_DOCUMENT, "2025/10/20</Promulgation", f"{bad_date}</Promulgation")
    )
    assert paths(problems) == [f"{HEADER}/PromulgationInfo/PromulgationDate"]


@pytest.mark.parametrize(
    "bad_id", ["000.00.00.g22", "000 00 00 G22", "G22-H41", "A" * 36, "Vbus.hub", "vbus", "vxp..03", ""]
)
def test_agency_ids_outside_the_decree_shape_are_refused(bad_id: str) -> None:
    problems = schema.validate(swap(MINIMAL_STATUS, "000.00.00.H41", bad_id))
    assert paths(problems) == [f"{HEADER}/From/OrganId"]


def test_a_foreign_root_is_refused_at_the_root() -> None:
    problems = schema.validate(b'<edXML xmlns="http://www.e-doc.vn/Schema/"><x/></edXML>')
    assert paths(problems) == ["/edXML"]


def test_problem_reads_as_path_line_and_message() -> None:
    problem = schema.SchemaProblem("/edXML/x", 3, "wrong")
    assert str(problem) == "/edXML/x (line 3): wrong"


# --- check, explain, parsing ---------------------------------------------------------------------


def test_check_raises_schema_violation_listing_each_problem() -> None:
    bad = swap(MINIMAL_STATUS, "<StatusCode>03", "<StatusCode>07")
    with pytest.raises(SchemaViolation) as caught:
        schema.check(bad)
    assert caught.value.reason == "schema"
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{HEADER}/StatusCode (line 11, column 9): ")
    assert (caught.value.line, caught.value.column) == (11, 9)


def test_check_passes_a_valid_package() -> None:
    schema.check(MINIMAL_DOCUMENT.encode())


def test_explain_names_the_expected_element() -> None:
    problems = schema.explain(swap(MINIMAL_DOCUMENT, "<To><OrganId>000.00.00.H14</OrganId></To>", "<To/>"))
    assert paths(problems) == [f"{HEADER}/To[2]"]
    assert "'edXML:OrganId' expected" in problems[0].message


def test_explain_points_at_the_unexpected_child_and_what_was_expected_there() -> None:
    problems = schema.explain(swap(MINIMAL_DOCUMENT, "<Subject>", "<Colour>red</Colour><Subject>"))
    assert paths(problems) == [f"{HEADER}/Colour"]
    assert "Subject" in problems[0].message


def test_explain_gives_the_refused_value() -> None:
    problems = schema.explain(swap(MINIMAL_STATUS, "<StatusCode>03", "<StatusCode>07"))
    assert paths(problems) == [f"{HEADER}/StatusCode"]
    assert "'07'" in problems[0].message


def test_explain_agrees_that_valid_packages_are_valid() -> None:
    assert schema.explain(MINIMAL_DOCUMENT.encode()) == []
    assert schema.explain(MINIMAL_STATUS.encode()) == []


def test_malformed_bytes_raise_rather_than_report() -> None:
    with pytest.raises(MalformedPackage):
        schema.validate(b"<edXML><unclosed></edXML>")


def test_a_doctype_is_refused_before_validation() -> None:
    xml = b'<!DOCTYPE edXML [<!ENTITY x "y">]>' + MINIMAL_STATUS.split("?>", 1)[1].encode()
    with pytest.raises(ForbiddenXmlConstruct):
        schema.validate(xml)


def test_validation_from_many_threads_keeps_each_answer_its_own() -> None:
    good = MINIMAL_STATUS.encode()
    bad = swap(MINIMAL_STATUS, "<StatusCode>03", "<StatusCode>07")
    jobs = [good, bad] * 100
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(schema.validate, jobs))
    for job, problems in zip(jobs, results, strict=True):
        assert paths(problems) == ([] if job is good else [f"{HEADER}/StatusCode"])


# --- the shipped files ---------------------------------------------------------------------------

SHIPPED = {"edxml-document.xsd", "edxml-status.xsd", "edxml-types.xsd", "xmldsig-core-schema.xsd"}


def test_schemas_are_found_through_importlib_resources() -> None:
    folder = importlib.resources.files("vbcore.xsd")
    names = {entry.name for entry in folder.iterdir() if entry.name.endswith(".xsd")}
    assert names == SHIPPED
    assert str(schema.schema_directory()) == str(folder)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_schema_file_is_an_xsd_without_dtd(name: str) -> None:
    data = importlib.resources.files("vbcore.xsd").joinpath(name).read_bytes()
    assert b"<!DOCTYPE" not in data
    root = etree.fromstring(data)
    assert etree.QName(root).localname == "schema"
    # Everything resolves inside the package: includes and imports name sibling files only.
    locations = {el.get("schemaLocation") for el in root if el.get("schemaLocation") is not None}
    assert locations <= SHIPPED


def _components(data: bytes) -> bytes:
    """A schema's canonical form without comments and whitespace: its components only."""
    parser = etree.XMLParser(
        remove_comments=True, remove_blank_text=True, resolve_entities=False, load_dtd=False, no_network=True
    )
    root = etree.fromstring(data, parser)
    for element in root.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        element.tail = None
    return etree.tostring(root, method="c14n")


def test_the_xml_dsig_schema_is_the_w3c_one_component_for_component() -> None:
    # Written out by hand (no internet); checked against the copy of the W3C file that xmlschema ships.
    reference = importlib.resources.files("xmlschema").joinpath("schemas/DSIG/xmldsig-core-schema.xsd")
    if not reference.is_file():
        pytest.skip("this xmlschema version ships no copy of the W3C XML-DSig schema to compare with")
    ours = importlib.resources.files("vbcore.xsd").joinpath("xmldsig-core-schema.xsd").read_bytes()
    assert _components(ours) == _components(reference.read_bytes())


@pytest.mark.timeout(20)
def test_five_thousand_schema_errors_are_reported_in_linear_time() -> None:
    # Each TraceHeader lacks its Timestamp: one error per element. Finding each error's element by
    # scanning its siblings made this quadratic (9 s for 2,500, 137 s for 10,000 at the hub).
    traces = "<TraceHeader><OrganId>000.00.00.G22</OrganId></TraceHeader>" * 5000
    one = (
        "<TraceHeader><OrganId>000.00.00.G22</OrganId>"
        "<Timestamp>2025/10/20 08:30:00</Timestamp></TraceHeader>"
    )
    data = swap(MINIMAL_DOCUMENT, one, traces)
    problems = schema.validate(data)
    assert len(problems) == 5000
    assert problems[-1].path.endswith("/TraceHeaderList/TraceHeader[5000]")
