"""Building the header sections of a package as lxml elements, in docs/domain.md §3's order.

Every ``text``/``child`` call appends in call order, so the order of the calls below *is* the
element order on the wire. None is omitted; ``section`` drops a container left empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from lxml import etree

from vbcore.edxml.names import format_bool, format_date, format_timestamp, tag
from vbcore.model import Edoc, Organization, ResponseFor, StaffInfo, StatusPackage


class Builder:
    """Appends edXML children to one element."""

    __slots__ = ("element",)

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def child(self, name: str) -> Builder:
        return Builder(etree.SubElement(self.element, tag(name)))

    def text(self, name: str, value: str | int | bool | date | None) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            value = format_bool(value)
        elif isinstance(value, datetime):
            value = format_timestamp(value)
        elif isinstance(value, date):
            value = format_date(value)
        etree.SubElement(self.element, tag(name)).text = str(value)

    @contextmanager
    def section(self, name: str) -> Iterator[Builder]:
        """A child container, removed again if nothing was put in it."""
        built = self.child(name)
        yield built
        if len(built.element) == 0:
            self.element.remove(built.element)


def add_organization(parent: Builder, name: str, org: Organization) -> None:
    o = parent.child(name)
    o.text("OrganId", org.organ_id)
    o.text("OrganizationInCharge", org.organization_in_charge)
    o.text("OrganName", org.organ_name)
    o.text("OrganAdd", org.organ_add)
    o.text("Email", org.email)
    o.text("Telephone", org.telephone)
    o.text("Fax", org.fax)
    o.text("Website", org.website)


def add_response_for(parent: Builder, r: ResponseFor) -> None:
    with parent.section("ResponseFor") as b:
        b.text("OrganId", r.organ_id)
        b.text("Code", r.code)
        b.text("PromulgationDate", r.promulgation_date)
        b.text("DocumentId", r.document_id)


def add_staff(parent: Builder, s: StaffInfo) -> None:
    with parent.section("StaffInfo") as b:
        b.text("Department", s.department)
        b.text("Staff", s.staff)
        b.text("Email", s.email)
        b.text("Mobile", s.mobile)


def add_status_header(header: Builder, pkg: StatusPackage) -> None:
    m = header.child("MessageHeader")
    add_organization(m, "From", pkg.from_)
    add_response_for(m, pkg.response_for)
    add_staff(m, pkg.staff_info)
    m.text("StatusCode", pkg.status_code.value)
    m.text("Description", pkg.description)
    m.text("Timestamp", pkg.timestamp)


def add_edoc_header(header: Builder, doc: Edoc) -> None:
    m = header.child("MessageHeader")
    add_organization(m, "From", doc.from_)
    for to in doc.to:
        add_organization(m, "To", to)
    m.text("DocumentId", doc.document_id)
    with m.section("Code") as b:
        b.text("CodeNumber", doc.code.code_number)
        b.text("CodeNotation", doc.code.code_notation)
    with m.section("PromulgationInfo") as b:
        b.text("Place", doc.promulgation_info.place)
        b.text("PromulgationDate", doc.promulgation_info.promulgation_date)
    with m.section("DocumentType") as b:
        b.text("Type", doc.document_type.type)
        b.text("TypeDetail", doc.document_type.type_detail)
        b.text("TypeName", doc.document_type.type_name)
    m.text("Subject", doc.subject)
    m.text("Content", doc.content)
    with m.section("SignerInfo") as b:
        b.text("Competence", doc.signer_info.competence)
        b.text("Position", doc.signer_info.position)
        b.text("FullName", doc.signer_info.full_name)
    m.text("DueDate", doc.due_date)
    with m.section("ToPlaces") as b:
        for place in doc.to_places:
            b.text("Place", place)
    _add_other_info(m, doc)
    for r in doc.response_for:
        add_response_for(m, r)
    m.text("SteeringType", doc.steering_type)
    with header.section("TraceHeaderList") as trace:
        for t in doc.trace_headers:
            th = trace.child("TraceHeader")
            th.text("OrganId", t.organ_id)
            th.text("Timestamp", t.timestamp)
        _add_business(trace, doc)


def _add_other_info(m: Builder, doc: Edoc) -> None:
    o = doc.other_info
    with m.section("OtherInfo") as b:
        b.text("Priority", o.priority)
        b.text("SphereOfPromulgation", o.sphere_of_promulgation)
        b.text("TyperNotation", o.typer_notation)
        b.text("PromulgationAmount", o.promulgation_amount)
        b.text("PageAmount", o.page_amount)
        b.text("Direction", o.direction)
        with b.section("Appendixes") as apps:
            for appendix in o.appendixes:
                apps.text("Appendix", appendix)


def _add_business(trace: Builder, doc: Edoc) -> None:
    bz = doc.business
    if bz is None:
        return
    b = trace.child("Bussiness")
    b.text("DocumentId", bz.document_id)
    b.text("BussinessDocType", int(bz.business_doc_type))
    b.text("BussinessDocReason", bz.business_doc_reason)
    b.text("Paper", bz.paper)
    if bz.staff_info is not None:
        staff = b.child("StaffInfo")
        staff.text("Department", bz.staff_info.department)
        staff.text("Staff", bz.staff_info.staff)
        staff.text("Email", bz.staff_info.email)
        staff.text("Mobile", bz.staff_info.mobile)
    info = bz.business_document_info
    if info is not None:
        i = b.child("BussinessDocumentInfo")
        i.text("DocumentInfo", info.document_info)
        i.text("DocumentReceiver", info.document_receiver)
        with i.section("ReceiverList") as receivers:
            for rc in info.receivers:
                r = receivers.child("Receiver")
                r.text("OrganId", rc.organ_id)
                r.text("ReceiverType", int(rc.receiver_type))
    with b.section("ReplacementInfoList") as replacements:
        for rep in bz.replacement_info:
            r = replacements.child("ReplacementInfo")
            r.text("DocumentId", rep.document_id)
            with r.section("OrganIdList") as ids:
                for organ_id in rep.organ_ids:
                    ids.text("OrganId", organ_id)
