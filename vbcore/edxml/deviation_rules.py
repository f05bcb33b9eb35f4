"""The rules that find, in a package's tree, each deviation vbus reads with a named warning.

The schemas (``vbcore.edxml.schema``) let these through and refuse the rest; these rules name what
they let through, so that nothing is read silently (the catalogue and its texts: ``vbcore.deviations``;
what each means for the hub: docs/deviations.md):

- ``DocumentType/Type`` other than 1 and 2 (71 from the national axis, 18 from a provincial SDK);
- SOAP-era attributes on ``TraceHeaderList`` and an empty ``DigitalSignature`` placeholder;
- ``ContentId`` with ``cid:`` on one side only (``content_ids``);
- a ``TraceHeader`` that names no agency (empty, absent or ``null``);
- no signature at all, or a ``<Signature>`` outside XML-DSig (the SDK sample's placeholder, with its
  truncated certificate);
- a sender (``From/OrganId``) that is not a 13-character agency code: a 12-digit enterprise code, a
  bare level-1 code (``G12``), a code written level-1 first (``H37.DN.001``, ``G09.01``), a test tenant
  (``vxp.saas.03``), another shape of QĐ 20/2020 (``14.00.W00``).

``find(root)`` reads the tree as sent (with its signature): the hub runs it on the tree it parsed,
before the signature check, and the CLI on the file. It decodes nothing and never refuses.
"""

from __future__ import annotations

import base64
import binascii
import re

from lxml import etree

from vbcore import deviations as d
from vbcore.deviations import Deviation
from vbcore.edxml import content_ids
from vbcore.edxml.names import DSIG_NS
from vbcore.identifiers import STANDARD, is_test_tenant, is_valid_code

QCVN_DOCUMENT_TYPES = frozenset({"1", "2"})
SOAP_ATTRIBUTES = ("id", "version", "mustUnderstand", "actor")
_NO_AGENCY = frozenset({"", "null"})
_HOPS_SHOWN = 10
_PLACEHOLDER = "edXML/edXMLEnvelope/edXMLHeader/DigitalSignature"
_ENTERPRISE = re.compile(r"\d{12}")
_LEVEL1 = re.compile(r"[A-Z]\d{2}")
_LEVEL1_FIRST = re.compile(r"[A-Z]+\d+(\.[0-9A-Z]+)+")
_HEADER = "{*}edXMLEnvelope/{*}edXMLHeader"
_MESSAGE = f"{_HEADER}/{{*}}MessageHeader"


def find(root: etree._Element) -> list[Deviation]:
    """Every deviation the rules above find in the package, in the order of the package."""
    found: list[Deviation] = []
    message = root.find(_MESSAGE)
    if message is not None:
        found += _sender(message)
        found += _document_type(message)
    found += _trace(root.find(f"{_HEADER}/{{*}}TraceHeaderList"))
    placeholder = root.find(f"{_HEADER}/{{*}}DigitalSignature")
    if placeholder is not None:  # the schemas refuse one that is not empty; the lenient reader ignores it
        empty = not _text(placeholder) and len(placeholder) == 0
        kind, value = (d.DIGITAL_SIGNATURE_PLACEHOLDER, "") if empty else (d.UNKNOWN_ELEMENT, _PLACEHOLDER)
        found.append(Deviation(kind, value, line=_line(placeholder)))
    found += signature_deviations(root)
    found += content_ids.prefix_deviations(root)
    return found


def sender_deviation(code: str) -> str | None:
    """The deviation code of a sender that is not a 13-character agency code (None for one that is)."""
    if STANDARD.fullmatch(code):
        return None
    if is_test_tenant(code):
        return d.SENDER_TEST_TENANT
    if _ENTERPRISE.fullmatch(code):
        return d.SENDER_ENTERPRISE_CODE
    if _LEVEL1.fullmatch(code):
        return d.SENDER_LEVEL1_ONLY
    if is_valid_code(code):  # level 1 last, in groups of any width (QĐ 20/2020)
        return d.SENDER_GENERAL_SHAPE
    if _LEVEL1_FIRST.fullmatch(code):
        return d.SENDER_LEVEL1_FIRST
    return d.SENDER_UNRECOGNISED_CODE


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _sender(message: etree._Element) -> list[Deviation]:
    organ = message.find("{*}From/{*}OrganId")
    code = _text(organ)
    kind = sender_deviation(code) if code else None
    if kind is None or organ is None:
        return []
    return [Deviation(kind, code, path="edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId",
                      line=_line(organ))]  # fmt: skip


def _document_type(message: etree._Element) -> list[Deviation]:
    element = message.find("{*}DocumentType/{*}Type")
    value = _text(element)
    if element is None or not value.isdigit() or value in QCVN_DOCUMENT_TYPES:
        return []  # not a number: the schemas refuse it
    path = "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentType/Type"
    return [Deviation(d.DOCUMENT_TYPE_CODE, value, path=path, line=_line(element))]


def _trace(trace: etree._Element | None) -> list[Deviation]:
    if trace is None:
        return []
    found = []
    soap = [name for name in SOAP_ATTRIBUTES if name in trace.attrib]
    if soap:
        found.append(Deviation(d.TRACE_SOAP_ATTRIBUTES, ", ".join(soap), line=_line(trace)))
    hops = trace.findall("{*}TraceHeader")
    names = (_text(hop.find("{*}OrganId")).lower() for hop in hops)
    unnamed = [i for i, name in enumerate(names, start=1) if name in _NO_AGENCY]
    if unnamed:  # one warning for them all (a package may carry thousands of hops)
        shown = ", ".join(f"#{i}" for i in unnamed[:_HOPS_SHOWN])
        more = f" … (+{len(unnamed) - _HOPS_SHOWN})" if len(unnamed) > _HOPS_SHOWN else ""
        found.append(Deviation(d.TRACE_HOP_WITHOUT_AGENCY, shown + more, line=_line(hops[unnamed[0] - 1])))
    return found


def signature_deviations(root: etree._Element) -> list[Deviation]:
    """No signature where the reader looks for one (``unsigned``), or only one outside XML-DSig
    (``signature-placeholder``); nothing for an XML-DSig signature (whether it verifies is not said)."""
    places = (root.find(_HEADER), root.find("{*}edXMLEnvelope"), root)
    signatures = [s for place in places if place is not None for s in place.iterfind("{*}Signature")]
    if any(etree.QName(s).namespace == DSIG_NS for s in signatures):
        return []
    if not signatures:
        return [Deviation(d.UNSIGNED)]
    placeholder = signatures[0]
    state = _certificate_state(placeholder.findtext("{*}KeyInfo/{*}X509Data/{*}X509Certificate"))
    return [Deviation(d.SIGNATURE_PLACEHOLDER, state, line=_line(placeholder))]


def _certificate_state(text: str | None) -> str:
    """What the placeholder's certificate is, without parsing it (that is the security layer's work):
    absent, cut short (not whole base64, or a DER sequence shorter than its own length says), or there."""
    if not text or not text.strip():
        return d.NO_CERTIFICATE
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return d.CERTIFICATE_TRUNCATED
    declared = _der_length(der)
    if declared is None or declared > len(der):
        return d.CERTIFICATE_TRUNCATED
    return d.CERTIFICATE_PRESENT


def _der_length(der: bytes) -> int | None:
    """The whole length a DER SEQUENCE declares (header included); None when it is no sequence."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return None
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")
