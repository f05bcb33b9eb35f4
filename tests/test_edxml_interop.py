"""Every real package in the interop set is either read or refused with its precise reason."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from vbcore.deviations import Deviation
from vbcore.edxml import DSIG_NS, read_package, write_package
from vbcore.errors import AttachmentUnreadable, MalformedPackage
from vbcore.model import Edoc, StatusPackage
from vbcore.status import BusinessDocType, ReceiverType, StatusCode

READABLE = [
    "bkav__edoc-service__edoc_new.edxml",
    "bkav__edoc-service__status_processing_05.edxml",
    "bkav__edoc-webapp__edoc_update.edxml",
    "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",
    "lgsp-quangnam__resources__edoc_new.edxml",
    "pvn-gateway__received__2019__5__852e179c-8eca-4502-ac38-0b97321f29c3.edxml",
    "pvn-gateway__received__2025__10__874e0f18-90dc-45fb-989a-65401470ba84.edxml",
    "pvn-gateway__received__2025__10__9e272474-0603-48a2-b525-9cd1af689612.edxml",
    "pvn-gateway__test_user_edxml.xml",
    "pvn-gateway__uploads__1da394ba-2117-4354-a23f-6ec3e47ba81b.edxml",
    "pvn-gateway__uploads__1f881896-6e3a-4a5f-87f1-c380878e148e.edxml",
    "pvn-gateway__uploads__b6e1f29d-cdc9-4fa7-8391-442e8566f14e.edxml",
    "pvn-gateway__uploads__bb5d2f68-bbce-49da-aa9a-2197cabec3bf.edxml",
    "pvn-gateway__uploads__bdb98a62-a2be-4c25-9075-8dcdbcdb1402.edxml",
    "vpcp-sdk-sample__edoc_new.edxml__attachment-unzipped__32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml",
    "vpcp-sdk-sample__edoc_replacement.edxml",
    "vpcp-sdk-sample__edoc_revocation.edxml",
    "vpcp-sdk-sample__edoc_update.edxml",
    "vpcp-sdk-sample__status.edxml",
    "vpcp-sdk-sample__status_acceptance_03.edxml",
    "vpcp-sdk-sample__status_assignment_04.edxml",
    "vpcp-sdk-sample__status_cancellation_13.edxml",
    "vpcp-sdk-sample__status_change-acceptance_15.edxml",
    "vpcp-sdk-sample__status_change-rejection_16.edxml",
    "vpcp-sdk-sample__status_finish_06.edxml",
    "vpcp-sdk-sample__status_inbox__01.edxml",
    "vpcp-sdk-sample__status_processing_05.edxml",
    "vpcp-sdk-sample__status_rejection_02.edxml",
]

# name -> (error class, words its message must contain, line, column)
REFUSED = {
    # Stray "1212" before the XML declaration.
    "vpcp-sdk-sample__edoc_new.edxml": (MalformedPackage, "Start tag expected", 1, 1),
    # Undeclared xlink: too, but first a </MessageHeader> closing <From>.
    "lgsp-quangnam__resources__edoc.edxml": (MalformedPackage, "tag mismatch", 74, 29),
    # Well-formed once xlink:/edXML: are declared, but its attachment is a JMeter placeholder,
    # "${__StringFromFile(test.txt,,,)}", not base64.
    "vpcp-sdk-sample__edoc.edxml": (AttachmentUnreadable, "invalid base64", None, None),
}
XLINK_REPAIRED = {
    "vpcp-sdk-sample__edoc_new.edxml__attachment-unzipped__32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml",
}

# What each readable sample does differently from QCVN 102, each deviation named (vbcore.deviations):
# real producers' packages carry no signature, or the SDK sample's placeholder; the shared platform's
# test tenants send as vxp.saas.03 and the national axis writes trace hops without an agency.
_PLACEHOLDER = ("signature-placeholder",)
_TENANT = ("sender-test-tenant", "unsigned")
_TENANT_TWO_HOPS = ("sender-test-tenant", "trace-hop-without-agency", "unsigned")
_TENANT_ONE_HOP = ("sender-test-tenant", "trace-hop-without-agency", "unsigned")
EXPECTED_WARNINGS: dict[str, tuple[str, ...]] = {
    "bkav__edoc-service__edoc_new.edxml": _PLACEHOLDER,
    "bkav__edoc-webapp__edoc_update.edxml": _PLACEHOLDER,
    "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml": _PLACEHOLDER,
    "lgsp-quangnam__resources__edoc_new.edxml": _PLACEHOLDER,
    "pvn-gateway__received__2019__5__852e179c-8eca-4502-ac38-0b97321f29c3.edxml": _PLACEHOLDER,
    "vpcp-sdk-sample__edoc_replacement.edxml": _PLACEHOLDER,
    "vpcp-sdk-sample__edoc_revocation.edxml": _PLACEHOLDER,
    "vpcp-sdk-sample__edoc_update.edxml": _PLACEHOLDER,
    "pvn-gateway__received__2025__10__874e0f18-90dc-45fb-989a-65401470ba84.edxml": _TENANT_TWO_HOPS,
    "pvn-gateway__received__2025__10__9e272474-0603-48a2-b525-9cd1af689612.edxml": _TENANT_TWO_HOPS,
    "pvn-gateway__test_user_edxml.xml": _TENANT,
    "pvn-gateway__uploads__1da394ba-2117-4354-a23f-6ec3e47ba81b.edxml": _TENANT,
    "pvn-gateway__uploads__1f881896-6e3a-4a5f-87f1-c380878e148e.edxml": _TENANT_ONE_HOP,
    "pvn-gateway__uploads__b6e1f29d-cdc9-4fa7-8391-442e8566f14e.edxml": _TENANT_ONE_HOP,
    "pvn-gateway__uploads__bb5d2f68-bbce-49da-aa9a-2197cabec3bf.edxml": _TENANT,
    "pvn-gateway__uploads__bdb98a62-a2be-4c25-9075-8dcdbcdb1402.edxml": _TENANT,
    "vpcp-sdk-sample__edoc_new.edxml__attachment-unzipped__32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml": (
        "prefix-repaired", "prefix-repaired", "sender-general-shape",
    ),
    **{name: ("unsigned",) for name in READABLE if "status" in name},
}


def codes(warnings: tuple[Deviation, ...]) -> tuple[str, ...]:
    return tuple(w.code for w in warnings)


def test_the_interop_set_is_exactly_the_readable_and_the_refused_files(interop_dir: Path) -> None:
    present = {p.name for p in interop_dir.iterdir() if p.name != "ORIGINS.md"}
    assert present == set(READABLE) | set(REFUSED)
    assert set(EXPECTED_WARNINGS) == set(READABLE)


@pytest.mark.parametrize("name", READABLE)
def test_interop_sample_is_read(interop_dir: Path, name: str) -> None:
    result = read_package(interop_dir / name)
    assert isinstance(result.package, StatusPackage if "status" in name else Edoc)
    assert codes(result.warnings) == EXPECTED_WARNINGS[name]
    if name in XLINK_REPAIRED:
        assert Deviation("prefix-repaired", "xlink") in result.warnings


@pytest.mark.parametrize("name", READABLE)
def test_interop_sample_survives_write_and_read_again(interop_dir: Path, name: str) -> None:
    first = read_package(interop_dir / name).package
    again = read_package(write_package(first))
    assert again.package == first
    # What vbus writes is unsigned until signed; the sender and the trace hops stay as they were.
    kept = {"sender-test-tenant", "sender-general-shape", "trace-hop-without-agency"}
    expected = (*(c for c in EXPECTED_WARNINGS[name] if c in kept), "unsigned")
    assert codes(again.warnings) == expected


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_broken_interop_sample_is_refused_with_its_reason(interop_dir: Path, name: str) -> None:
    error, words, line, column = REFUSED[name]
    with pytest.raises(error, match=words) as caught:
        read_package(interop_dir / name)
    if line is not None:
        assert isinstance(caught.value, MalformedPackage)
        assert (caught.value.line, caught.value.column) == (line, column)


def test_sdk_sample_with_undeclared_xlink_is_repaired_before_its_attachment_is_refused(
    interop_dir: Path,
) -> None:
    # The repair happens (else the error would be a MalformedPackage about the prefix).
    with pytest.raises(AttachmentUnreadable, match="cid:36b8a92e"):
        read_package(interop_dir / "vpcp-sdk-sample__edoc.edxml")


def test_update_sample_reads_its_receiver_list_and_business_type(interop_dir: Path) -> None:
    doc = read_package(interop_dir / "bkav__edoc-webapp__edoc_update.edxml").package
    assert isinstance(doc, Edoc)
    assert doc.business_type is BusinessDocType.UPDATE
    assert doc.business is not None
    assert doc.business.business_document_info is not None
    receivers = doc.business.business_document_info.receivers
    assert [(r.organ_id, r.receiver_type) for r in receivers] == [
        ("000.00.00.H41", ReceiverType.REMOVED),
        ("000.00.00.H14", ReceiverType.ADDED),
    ]
    assert doc.recipients == ("000.00.00.H53", "000.00.12.H53", "000.00.00.G17")
    assert doc.code.code_notation == "VPCP-TTĐT"


def test_replacement_sample_lists_the_documents_it_replaces(interop_dir: Path) -> None:
    doc = read_package(interop_dir / "vpcp-sdk-sample__edoc_replacement.edxml").package
    assert isinstance(doc, Edoc)
    assert doc.business is not None
    assert doc.business_type is BusinessDocType.REPLACE
    assert len(doc.business.replacement_info) == 2
    assert all(r.organ_ids for r in doc.business.replacement_info)


def test_day_first_date_of_the_provincial_producer_is_read(interop_dir: Path) -> None:
    doc = read_package(interop_dir / "bkav__edoc-service__edoc_new.edxml").package
    assert isinstance(doc, Edoc)
    assert doc.promulgation_info.promulgation_date == date(2020, 10, 30)


def test_status_sample_reads_code_addressee_and_timestamp(interop_dir: Path) -> None:
    status = read_package(interop_dir / "vpcp-sdk-sample__status_rejection_02.edxml").package
    assert isinstance(status, StatusPackage)
    assert status.status_code is StatusCode.REFUSED
    assert status.addressee == "000.00.00.G22"
    assert status.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert isinstance(status.timestamp, datetime)


def test_test_tenant_ids_are_read_as_they_are(interop_dir: Path) -> None:
    name = "pvn-gateway__received__2025__10__874e0f18-90dc-45fb-989a-65401470ba84.edxml"
    doc = read_package(interop_dir / name).package
    assert isinstance(doc, Edoc)
    assert doc.from_.organ_id == "vxp.saas.03"
    # A TraceHeader without OrganId (the axis's own hop) reads with an empty id, not a failure.
    assert [t.organ_id for t in doc.trace_headers] == ["null", ""]


def test_zip_wrapped_attachment_reads_as_the_original_file_with_the_manifest_type(interop_dir: Path) -> None:
    doc = read_package(interop_dir / "pvn-gateway__test_user_edxml.xml").package
    assert isinstance(doc, Edoc)
    (att,) = doc.attachments
    assert att.zipped is True
    assert att.content_type == "text/plain"  # the Attachment says application/zip, the manifest text/plain
    assert att.content.size == 10


def test_raw_pdf_attachment_is_not_marked_zipped(interop_dir: Path) -> None:
    name = "pvn-gateway__received__2025__10__9e272474-0603-48a2-b525-9cd1af689612.edxml"
    doc = read_package(interop_dir / name).package
    assert isinstance(doc, Edoc)
    (att,) = doc.attachments
    assert att.zipped is False
    assert att.content.read_bytes().startswith(b"%PDF")


def test_signature_in_the_dsig_namespace_and_without_xmlns_are_both_summarised(interop_dir: Path) -> None:
    with_ns = read_package(
        interop_dir
        / "vpcp-sdk-sample__edoc_new.edxml__attachment-unzipped__32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml"
    ).package
    without_ns = read_package(interop_dir / "bkav__edoc-webapp__edoc_update.edxml").package
    assert with_ns.signature is not None
    assert with_ns.signature.in_dsig_namespace
    assert without_ns.signature is not None
    assert not without_ns.signature.in_dsig_namespace
    assert without_ns.signature.signature_method == DSIG_NS + "rsa-sha1"
    assert without_ns.signature.digest_method == DSIG_NS + "sha1"
    assert with_ns.signature.certificate_der is not None
    assert with_ns.signature.certificate_der[:1] == b"\x30"
    # The bkav sample's X509Certificate is a truncated placeholder: no certificate, no failure.
    assert without_ns.signature.certificate_der is None
