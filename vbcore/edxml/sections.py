"""Reading the header sections of a package: ``MessageHeader``, ``TraceHeaderList``, ``Signature``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from lxml import etree

from vbcore.edxml.fields import Fields
from vbcore.edxml.names import DSIG_NS
from vbcore.errors import InvalidFieldValue
from vbcore.lang import Text
from vbcore.model import (
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignatureSummary,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from vbcore.status import BusinessDocType, ReceiverType, StatusCode

# What each enumerated field expects, for the error that says its value is not one of them.
_STATUS_CODE = Text("một mã trạng thái (01-06, 13, 15, 16)", "a status code (01-06, 13, 15, 16)")
_BUSINESS_TYPE = Text("một loại nghiệp vụ (0-3)", "a business type (0-3)")
_RECEIVER_TYPE = Text("một loại nơi nhận (0 hoặc 1)", "a receiver type (0 or 1)")

_ORGANIZATION = {
    "OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email", "Telephone", "Fax", "Website",
}  # fmt: skip
_EDOC_HEADER = {
    "From", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "Subject", "Content",
    "SignerInfo", "DueDate", "ToPlaces", "OtherInfo", "ResponseFor", "SteeringType",
}  # fmt: skip
_STATUS_HEADER = {"From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp"}
_RESPONSE_FOR = {"OrganId", "Code", "PromulgationDate", "DocumentId"}
_STAFF = {"Department", "Staff", "Email", "Mobile"}
_OTHER_INFO = {
    "Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount", "PageAmount", "Direction",
    "Appendixes",
}  # fmt: skip
_BUSINESS = {
    "DocumentId", "BussinessDocType", "BussinessDocReason", "Paper", "StaffInfo", "BussinessDocumentInfo",
    "ReplacementInfoList",
}  # fmt: skip


def read_organization(f: Fields) -> Organization:
    return Organization(
        organ_id=f.text("OrganId") or "",
        organ_name=f.text("OrganName"),
        organization_in_charge=f.text("OrganizationInCharge"),
        organ_add=f.text("OrganAdd"),
        email=f.text("Email"),
        telephone=f.text("Telephone"),
        fax=f.text("Fax"),
        website=f.text("Website"),
    )


def read_response_for(f: Fields) -> ResponseFor:
    return ResponseFor(
        organ_id=f.text("OrganId"),
        code=f.text("Code"),
        promulgation_date=f.date("PromulgationDate"),
        document_id=f.text("DocumentId"),
    )


def read_staff(f: Fields) -> StaffInfo:
    return StaffInfo(
        department=f.text("Department"), staff=f.text("Staff"), email=f.text("Email"), mobile=f.text("Mobile")
    )


def read_status_header(header: Fields) -> StatusPackage:
    m = header.fields("MessageHeader", _STATUS_HEADER, required=True)
    code = m.enum("StatusCode", StatusCode.parse, _STATUS_CODE)
    if code is None:  # present (the reader routes here only then) but empty
        raise InvalidFieldValue(f"{m.path}/StatusCode", "", _STATUS_CODE.en, _STATUS_CODE.vi)
    _ = header.fields("TraceHeaderList", {"TraceHeader", "Bussiness"})  # read for its warnings only
    return StatusPackage(
        from_=read_organization(m.fields("From", _ORGANIZATION, required=True)),
        response_for=read_response_for(m.fields("ResponseFor", _RESPONSE_FOR)),
        status_code=code,
        staff_info=read_staff(m.fields("StaffInfo", _STAFF)),
        description=m.text("Description"),
        timestamp=m.timestamp("Timestamp"),
    )


def read_edoc_header(header: Fields) -> dict[str, Any]:
    """The ``Edoc`` fields that come from ``edXMLHeader`` (keyword arguments)."""
    m = header.fields("MessageHeader", _EDOC_HEADER, required=True)
    code = m.fields("Code", {"CodeNumber", "CodeNotation"})
    prom = m.fields("PromulgationInfo", {"Place", "PromulgationDate"})
    dtype = m.fields("DocumentType", {"Type", "TypeDetail", "TypeName"})
    signer = m.fields("SignerInfo", {"Competence", "Position", "FullName"})
    responses = [read_response_for(r) for r in m.each("ResponseFor", _RESPONSE_FOR)]
    trace = header.fields("TraceHeaderList", {"TraceHeader", "Bussiness"})
    return {
        "from_": read_organization(m.fields("From", _ORGANIZATION, required=True)),
        "to": tuple(read_organization(t) for t in m.each("To", _ORGANIZATION)),
        "document_id": m.text("DocumentId"),
        "code": Code(code.text("CodeNumber"), code.text("CodeNotation")),
        "promulgation_info": PromulgationInfo(prom.text("Place"), prom.date("PromulgationDate")),
        "document_type": DocumentType(
            dtype.integer("Type"), dtype.text("TypeDetail"), dtype.text("TypeName")
        ),
        "subject": m.text("Subject"),
        "content": m.text("Content"),
        "signer_info": SignerInfo(
            signer.text("Competence"), signer.text("Position"), signer.text("FullName")
        ),
        "due_date": m.date("DueDate"),
        "to_places": m.fields("ToPlaces", {"Place"}).texts("Place"),
        "other_info": _read_other_info(m.fields("OtherInfo", _OTHER_INFO)),
        # An all-empty ResponseFor is the SDK's placeholder for "answers nothing".
        "response_for": tuple(r for r in responses if r != ResponseFor()),
        "steering_type": m.integer("SteeringType"),
        "trace_headers": tuple(
            TraceHeader(t.text("OrganId") or "", t.timestamp("Timestamp"))
            for t in trace.each("TraceHeader", {"OrganId", "Timestamp"})
        ),
        "business": _read_business(trace),
    }


def _read_other_info(f: Fields) -> OtherInfo:
    return OtherInfo(
        priority=f.integer("Priority"),
        sphere_of_promulgation=f.text("SphereOfPromulgation"),
        typer_notation=f.text("TyperNotation"),
        promulgation_amount=f.integer("PromulgationAmount"),
        page_amount=f.integer("PageAmount"),
        direction=f.boolean("Direction"),
        appendixes=f.fields("Appendixes", {"Appendix"}).texts("Appendix"),
    )


def _read_business(trace: Fields) -> Business | None:
    if not trace.present("Bussiness"):
        return None
    b = trace.fields("Bussiness", _BUSINESS)
    doc_type = b.enum("BussinessDocType", lambda s: BusinessDocType(int(s)), _BUSINESS_TYPE)
    info = None
    if b.present("BussinessDocumentInfo"):
        i = b.fields("BussinessDocumentInfo", {"DocumentInfo", "DocumentReceiver", "ReceiverList"})
        receivers = tuple(
            _read_receiver(r)
            for r in i.fields("ReceiverList", {"Receiver"}).each("Receiver", {"OrganId", "ReceiverType"})
        )
        info = BusinessDocumentInfo(i.text("DocumentInfo"), i.text("DocumentReceiver"), receivers)
    replacements = tuple(
        ReplacementInfo(r.text("DocumentId") or "", r.fields("OrganIdList", {"OrganId"}).texts("OrganId"))
        for r in b.fields("ReplacementInfoList", {"ReplacementInfo"}).each(
            "ReplacementInfo", {"DocumentId", "OrganIdList"}
        )
    )
    return Business(
        business_doc_type=doc_type if doc_type is not None else BusinessDocType.NEW,
        document_id=b.text("DocumentId"),
        business_doc_reason=b.text("BussinessDocReason"),
        paper=b.integer("Paper"),
        staff_info=read_staff(b.fields("StaffInfo", _STAFF)) if b.present("StaffInfo") else None,
        business_document_info=info,
        replacement_info=replacements,
    )


def _read_receiver(r: Fields) -> Receiver:
    kind = r.enum("ReceiverType", lambda s: ReceiverType(int(s)), _RECEIVER_TYPE)
    # Without a ReceiverType the receiver is taken as added (REMOVED is 0: test None, not falsiness).
    return Receiver(r.text("OrganId") or "", ReceiverType.ADDED if kind is None else kind)


# --- Signature -----------------------------------------------------------------------------------


def read_signature(*places: Fields) -> SignatureSummary | None:
    """What the first ``Signature`` found (header, envelope, root) declares; not whether it verifies."""
    for place in places:
        element = place.one("Signature")
        if element is not None:
            return _summarise(element)
    return None


def _summarise(sig: etree._Element) -> SignatureSummary:
    def algorithm(path: str) -> str | None:
        found = sig.find(path)
        return found.get("Algorithm") if found is not None else None

    cert_text = sig.findtext("{*}KeyInfo/{*}X509Data/{*}X509Certificate")
    certificate = None
    if cert_text:
        try:
            certificate = base64.b64decode("".join(cert_text.split()), validate=True) or None
        except (binascii.Error, ValueError):
            certificate = None  # a copied or truncated placeholder: verification will say so
    return SignatureSummary(
        in_dsig_namespace=etree.QName(sig).namespace == DSIG_NS,
        signature_method=algorithm("{*}SignedInfo/{*}SignatureMethod"),
        digest_method=algorithm("{*}SignedInfo/{*}Reference/{*}DigestMethod"),
        canonicalization_method=algorithm("{*}SignedInfo/{*}CanonicalizationMethod"),
        certificate_der=certificate,
    )
