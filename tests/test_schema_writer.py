"""What vbus itself writes and signs validates against the schemas it checks others with."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from interop import interop_files
from lxml import etree
from strategies import edocs, statuses

from vbcore.edxml import DSIG_NS, read_package, schema, write_package
from vbcore.hub.config import HubConfig
from vbcore.hub.replies import refusal_status
from vbcore.model import Code, Edoc, Organization, StatusPackage
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SigningKey, sign_package

# Not well-formed (ORIGINS.md), or, for the SDK's JMeter template, an attachment that is the
# placeholder ${__StringFromFile(...)} rather than base64: nothing to read, so nothing to write.
UNREADABLE = {
    "vpcp-sdk-sample__edoc_new.edxml",
    "lgsp-quangnam__resources__edoc.edxml",
    "vpcp-sdk-sample__edoc.edxml",
}
READABLE = sorted(
    p.name for p in interop_files() if p.suffix in {".edxml", ".xml"} and p.name not in UNREADABLE
)


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    agencies = [("000.00.00.G22", "Văn phòng Chính phủ"), ("000.00.00.H41", "UBND tỉnh Nghệ An")]
    pki = init_dev_pki(tmp_path_factory.mktemp("pki"), agencies)
    return {code: SigningKey.from_files(pki.key_path(code), pki.cert_path(code)) for code, _ in agencies}


@pytest.mark.parametrize("name", READABLE)
def test_what_the_writer_writes_for_a_sample_validates(interop_dir: Path, name: str) -> None:
    package = read_package((interop_dir / name).read_bytes()).package
    assert schema.validate(write_package(package)) == []


@pytest.mark.parametrize(
    "name", ["bkav__edoc-webapp__edoc_update.edxml", "vpcp-sdk-sample__status_rejection_02.edxml"]
)
def test_a_package_signed_by_vbus_validates(
    interop_dir: Path, name: str, signing_keys: dict[str, SigningKey]
) -> None:
    package = read_package((interop_dir / name).read_bytes()).package
    signed = sign_package(write_package(package), signing_keys[package.from_.organ_id])
    assert etree.fromstring(signed).find(f".//{{{DSIG_NS}}}Signature") is not None
    assert schema.validate(signed) == []
    assert schema.explain(signed) == []


def test_the_hubs_refusal_of_a_package_it_could_not_read_validates(
    signing_keys: dict[str, SigningKey],
) -> None:
    status = refusal_status(
        HubConfig(),
        addressee="000.00.00.H41",
        document_id=None,
        description="malformed: Start tag expected, '<' not found (line 1, column 1)",
        at=datetime(2026, 11, 24, 1, 30, tzinfo=UTC),
    )
    assert schema.validate(sign_package(write_package(status), signing_keys["000.00.00.G22"])) == []


# --- generated packages ----------------------------------------------------------------------------
#
# The model leaves optional some fields that the schema requires (every real producer writes them):
# Subject; both CodeNumber and CodeNotation once Code is there; PromulgationDate once
# PromulgationInfo is there; DocumentType/Type; a Timestamp in each TraceHeader and in a status;
# ResponseFor/OrganId in a status (it routes the status); TypeDetail, DocumentInfo and
# DocumentReceiver are numbers, not words; an addressee appears once. The generated packages are
# completed on exactly those points; everything else the strategies produce must validate as written.

AT = datetime(2025, 10, 20, 8, 30, 0)


def complete_for_schema(edoc: Edoc) -> Edoc:
    code = edoc.code
    if code.code_number or code.code_notation:
        code = Code(code.code_number or "1", code.code_notation or "VPCP")
    promulgation = edoc.promulgation_info
    if promulgation.place is not None and promulgation.promulgation_date is None:
        promulgation = replace(promulgation, promulgation_date=date(2025, 10, 20))
    kind = edoc.document_type
    if kind.type_detail is not None and not kind.type_detail.isdigit():
        kind = replace(kind, type_detail=None)
    if (kind.type_detail or kind.type_name) and kind.type is None:
        kind = replace(kind, type=1)
    addressees: dict[str, Organization] = {}
    for organization in edoc.to:
        addressees.setdefault(organization.organ_id, organization)
    business = edoc.business
    if business is not None and business.business_document_info is not None:
        info = business.business_document_info
        flags = {"0", "1"}
        info = replace(
            info,
            document_info=info.document_info if info.document_info in flags else None,
            document_receiver=info.document_receiver if info.document_receiver in flags else None,
        )
        business = replace(business, business_document_info=info)
    return replace(
        edoc,
        subject=edoc.subject or "V/v kiểm thử",
        code=code,
        promulgation_info=promulgation,
        document_type=kind,
        to=tuple(addressees.values()),
        trace_headers=tuple(replace(t, timestamp=t.timestamp or AT) for t in edoc.trace_headers),
        business=business,
    )


def complete_status_for_schema(status: StatusPackage) -> StatusPackage:
    response_for = status.response_for
    if response_for.organ_id is None:
        response_for = replace(response_for, organ_id="000.00.00.G22")
    return replace(status, response_for=response_for, timestamp=status.timestamp or AT)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edocs())
def test_any_complete_document_the_writer_writes_validates(edoc: Edoc) -> None:
    assert schema.validate(write_package(complete_for_schema(edoc))) == []


@settings(max_examples=60, deadline=None)
@given(statuses())
def test_any_complete_status_the_writer_writes_validates(status: StatusPackage) -> None:
    assert schema.validate(write_package(complete_status_for_schema(status))) == []


def test_a_document_without_subject_is_written_but_not_valid() -> None:
    edoc = Edoc(from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.H41"),), document_id="d-1")
    problems = schema.validate(write_package(edoc))
    assert [p.path for p in problems] == ["/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"]
    assert "edXML:Subject" in problems[0].message
