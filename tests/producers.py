# ruff: noqa: E501 (packages written one element a line, as their producers write them)
"""Packages as real producers send them (issue 11, docs/domain.md §8), built from their descriptions.

``CLEAN`` is a document package that follows QCVN 102:2016 (signed by the test that needs it, else
read as unsigned). Each entry of ``DEVIATIONS`` changes it the way one producer does and names the
warning vbus reads it with; each entry of ``REFUSED`` changes it the way that breaks meaning or
security and names the reason it is refused. ``PROVINCIAL_BUILDER`` is a whole package in the shape
of a provincial builder (all of its deviations at once).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PDF = base64.b64encode(b"%PDF-1.4 van ban\n").decode()

CLEAN = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName>
        </edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.H24</edXML:OrganId></edXML:To>
        <edXML:DocumentId>000.00.00.G22,2025/10/20,12/VPCP-TTĐT</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>12</edXML:CodeNumber><edXML:CodeNotation>VPCP-TTĐT</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place><edXML:PromulgationDate>2025/10/20</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>2</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
        <edXML:Subject>V/v kết nối liên thông</edXML:Subject>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:Timestamp>2025/10/20 08:30:00</edXML:Timestamp></edXML:TraceHeader>
        <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType></edXML:Bussiness>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference>
          <edXML:ContentId>cid:a1</edXML:ContentId>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:AttachmentName>12-VPCP.pdf</edXML:AttachmentName>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:a1</ContentId>
      <AttachmentName>12-VPCP.pdf</AttachmentName>
      <ContentType>application/pdf</ContentType>
      <ContentTransferEncoded>{PDF}</ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
"""

TRACE_LIST = "<edXML:TraceHeaderList>"
TRACE_END = "</edXML:TraceHeaderList>"
SENDER = "<edXML:From>\n          <edXML:OrganId>000.00.00.G22</edXML:OrganId>"
DOCUMENT_ID = "<edXML:DocumentId>000.00.00.G22,"
TRACE_ORGAN = "<edXML:TraceHeader><edXML:OrganId>000.00.00.G22</edXML:OrganId>"
# The SDK sample's signature, written without xmlns (it lands in the edXML namespace) and with the
# certificate cut short, as copied into real packages.
SDK_PLACEHOLDER = """<Signature>
        <SignedInfo>
          <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
          <SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>
          <Reference URI="">
            <Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>
            <DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>
            <DigestValue>aDfoSfRdEyIyaEdlhWaIbkFE8vk=</DigestValue>
          </Reference>
        </SignedInfo>
        <SignatureValue>MnYNUTlpq3lIpKSB3jRW4ZpQw1ibL9bC</SignatureValue>
        <KeyInfo><X509Data><X509Certificate>MIIFbjCCBFagAwIBAgIQVAEBAQAAAAAAAA</X509Certificate></X509Data></KeyInfo>
      </Signature>"""


def swap(xml: str, old: str, new: str) -> str:
    assert old in xml, f"the package does not contain {old!r}"
    return xml.replace(old, new, 1)


def with_sender(code: str) -> str:
    """``CLEAN`` sent by ``code`` (its DocumentId begins with the code, as producers write it)."""
    sent = swap(CLEAN, SENDER, SENDER.replace("000.00.00.G22", code))
    return swap(sent, DOCUMENT_ID, f"<edXML:DocumentId>{code},")


@dataclass(frozen=True)
class Case:
    """One producer's deviation (or fault): the package, and the code it is read (or refused) with."""

    name: str
    xml: str
    code: str
    value: str = ""

    @property
    def data(self) -> bytes:
        return self.xml.encode()


DEVIATIONS = [
    Case("type 71 from the national axis", swap(CLEAN, "<edXML:Type>2<", "<edXML:Type>71<"),
         "document-type-code", "71"),
    Case("type 18, a provincial SDK's default", swap(CLEAN, "<edXML:Type>2<", "<edXML:Type>18<"),
         "document-type-code", "18"),
    Case("SOAP-era attributes on TraceHeaderList",
         swap(CLEAN, TRACE_LIST, '<edXML:TraceHeaderList id="a1b2c3d4" version="1.0" mustUnderstand="1" '
                                 'actor="http://schemas.xmlsoap.org/soap/actor/next">'),
         "trace-soap-attributes", "id, version, mustUnderstand, actor"),
    Case("an empty DigitalSignature placeholder",
         swap(CLEAN, TRACE_END, f"{TRACE_END}\n      <edXML:DigitalSignature />"),
         "digital-signature-placeholder"),
    Case("cid: in the manifest, not on the attachment",
         swap(CLEAN, "<ContentId>cid:a1</ContentId>", "<ContentId>a1</ContentId>"), "content-id-prefix", "a1"),
    Case("cid: on the attachment, not in the manifest",
         swap(CLEAN, "<edXML:ContentId>cid:a1<", "<edXML:ContentId>a1<"), "content-id-prefix", "a1"),
    Case("a TraceHeader with an empty OrganId",
         swap(CLEAN, TRACE_ORGAN, "<edXML:TraceHeader><edXML:OrganId></edXML:OrganId>"),
         "trace-hop-without-agency", "#1"),
    Case("the SDK sample's placeholder signature, certificate truncated",
         swap(CLEAN, "</edXML:edXMLHeader>", f"  {SDK_PLACEHOLDER}\n    </edXML:edXMLHeader>"),
         "signature-placeholder", "certificate-truncated"),
    Case("a 12-digit enterprise code", with_sender("010203040506"), "sender-enterprise-code", "010203040506"),
    Case("a bare level-1 code", with_sender("G12"), "sender-level1-only", "G12"),
    Case("a code written level-1 first", with_sender("H37.DN.001"), "sender-level1-first", "H37.DN.001"),
    Case("a short code written level-1 first", with_sender("G09.01"), "sender-level1-first", "G09.01"),
    Case("a test tenant", with_sender("vxp.saas.03"), "sender-test-tenant", "vxp.saas.03"),
]  # fmt: skip

# No signature at all: read with "unsigned" (every DEVIATIONS package is unsigned too, unless signed).
UNSIGNED = Case("no signature at all", CLEAN, "unsigned")

REFUSED = [
    Case("a DigitalSignature that is not empty",
         swap(CLEAN, TRACE_END, f"{TRACE_END}<edXML:DigitalSignature>MIIB</edXML:DigitalSignature>"), "schema"),
    Case("another attribute on TraceHeaderList",
         swap(CLEAN, TRACE_LIST, '<edXML:TraceHeaderList route="x">'), "schema"),
    Case("a DocumentType/Type that is not a code", swap(CLEAN, "<edXML:Type>2<", "<edXML:Type>Công văn<"),
         "schema"),
    Case("a reference that names no attachment, with or without cid:",
         swap(CLEAN, "<ContentId>cid:a1</ContentId>", "<ContentId>a2</ContentId>"), "schema"),
    Case("two attachments under one id, cid: or not",
         swap(CLEAN, "</Attachment>", "</Attachment><Attachment><ContentId>a1</ContentId>"
              "<AttachmentName>b.pdf</AttachmentName><ContentTransferEncoded>QQ==</ContentTransferEncoded>"
              "</Attachment>"), "schema"),
    Case("an unknown element in the header",
         swap(CLEAN, "<edXML:Subject>", "<edXML:Urgency>cao</edXML:Urgency><edXML:Subject>"), "schema"),
    Case("a date that does not exist",
         swap(CLEAN, "<edXML:PromulgationDate>2025/10/20<", "<edXML:PromulgationDate>2025/02/30<"),
         "invalid-value"),
    Case("an attachment that is not base64",
         swap(CLEAN, PDF, "${__StringFromFile(test.txt,,,)}"), "attachment-unreadable"),
]  # fmt: skip

# A provincial builder's package (docs/domain.md §8): SOAP-era attributes, an empty DigitalSignature,
# Type 18, cid: in the manifest only, DocumentId last, a sender written level-1 first.
PROVINCIAL_BUILDER = f"""<?xml version="1.0" encoding="utf-8"?>
<edXML xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="{EDXML}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>H37.DN.001</edXML:OrganId><edXML:OrganName>Công ty Hữu Nghị</edXML:OrganName></edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.H37</edXML:OrganId><edXML:OrganName>UBND tỉnh Lạng Sơn</edXML:OrganName></edXML:To>
        <edXML:Code><edXML:CodeNumber>15</edXML:CodeNumber><edXML:CodeNotation>CV-HN</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>N/A</edXML:Place><edXML:PromulgationDate>2026/05/20</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>18</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName><edXML:TypeDetail>0</edXML:TypeDetail></edXML:DocumentType>
        <edXML:Subject>Báo cáo tình hình</edXML:Subject>
        <edXML:Content>Báo cáo tình hình</edXML:Content>
        <edXML:SignerInfo><edXML:Competence>Truc tiep</edXML:Competence><edXML:Position>Giám đốc</edXML:Position><edXML:FullName>Nguyễn Văn A</edXML:FullName></edXML:SignerInfo>
        <edXML:DueDate>2026/05/22</edXML:DueDate>
        <edXML:ToPlaces><edXML:Place>UBND tỉnh Lạng Sơn</edXML:Place></edXML:ToPlaces>
        <edXML:OtherInfo><edXML:Priority>0</edXML:Priority><edXML:PageAmount>1</edXML:PageAmount></edXML:OtherInfo>
        <edXML:SteeringType>0</edXML:SteeringType>
        <edXML:DocumentId>H37.DN.001,2026/05/20,15/CV-HN</edXML:DocumentId>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList id="9f1c2e3a" version="1.0" mustUnderstand="1" actor="http://schemas.xmlsoap.org/soap/actor/next">
        <edXML:TraceHeader><edXML:OrganId>H37.DN.001</edXML:OrganId><edXML:Timestamp>2026/05/20 09:15:00</edXML:Timestamp></edXML:TraceHeader>
        <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType><edXML:BussinessDocReason>Van ban dien tu moi</edXML:BussinessDocReason><edXML:Paper>0</edXML:Paper></edXML:Bussiness>
      </edXML:TraceHeaderList>
      <edXML:DigitalSignature />
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:5b0e" xlink:role="XLinkRole" xlink:type="simple">
          <edXML:Description>File dinh kem 1</edXML:Description>
          <edXML:AttachmentName>bao-cao.pdf</edXML:AttachmentName>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:ContentId>cid:5b0e</edXML:ContentId>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentType>application/pdf</ContentType>
      <ContentId>5b0e</ContentId>
      <Description>File dinh kem 1</Description>
      <ContentTransferEncoded>{PDF}</ContentTransferEncoded>
      <AttachmentName>bao-cao.pdf</AttachmentName>
    </Attachment>
  </AttachmentEncoded>
</edXML>
"""
PROVINCIAL_BUILDER_WARNINGS = [
    "sender-level1-first", "document-type-code", "trace-soap-attributes", "digital-signature-placeholder",
    "unsigned", "content-id-prefix",
]  # fmt: skip
