"""Other edXML dialects: recognised, named, refused (vbus reads QCVN 102:2016 packages only).

Two are still met (docs/domain.md §3):

- the older generation of edXML, namespace ``http://www.e-doc.vn/Schema/``: a SOAP envelope
  (``MessageHeader`` and ``TraceHeaderList`` in the SOAP header, a ``Manifest`` in the SOAP body)
  inside a MIME multipart message whose other parts are the attachments;
- a provincial dialect, namespace ``http://www.go.vn/eDoc``: an ``EdXMLEnvelope`` root (no ``edXML``
  root), its children unprefixed, attachments as base64 ``Content`` in the envelope.

A clerk who receives one needs to hear which it is (its sender must send QCVN 102:2016 instead), not
that it is "not well-formed" or "not edXML". ``refuse_foreign_bytes`` looks at the first bytes before
any parse (a MIME message is not XML), ``refuse_foreign_root`` at the parsed root.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from vbcore.edxml.names import EDXML_NS, tag
from vbcore.edxml.positions import element_position
from vbcore.errors import ForeignDialect, NotAnEdxmlPackage
from vbcore.lang import Text

EDOC_VN_NS = "http://www.e-doc.vn/Schema/"
GO_VN_NS = "http://www.go.vn/eDoc"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SNIFF_BYTES = 64 * 1024  # where a MIME message's SOAP part names its namespace

_MIME_STARTS = (b"--", b"mime-version:", b"content-type:")
_READS = Text(
    f"vbus chỉ đọc gói tin QCVN 102:2016 (không gian tên {EDXML_NS}): bên gửi phải gửi gói tin theo chuẩn đó",
    f"vbus reads QCVN 102:2016 packages only (namespace {EDXML_NS}): the sender must send one of those",
)
EDOC_VN = Text(
    f"edXML thế hệ cũ (không gian tên {EDOC_VN_NS}, SOAP + MIME, trước QCVN 102:2016)",
    f"the older edXML (namespace {EDOC_VN_NS}, SOAP + MIME, before QCVN 102:2016)",
)
GO_VN = Text(
    f"phương ngữ edXML của một tỉnh (không gian tên {GO_VN_NS}, gốc EdXMLEnvelope)",
    f"a provincial edXML dialect (namespace {GO_VN_NS}, root EdXMLEnvelope)",
)


def refuse_foreign_bytes(source: bytes | Path) -> None:
    """Refuse a MIME message that carries the older e-doc.vn edXML, before it is parsed as XML."""
    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:16].lower()
    if start.startswith(_MIME_STARTS) and EDOC_VN_NS.encode() in head:
        raise _refused(Text("một thông điệp MIME theo ", "a MIME message of "), EDOC_VN, 1, 1)


def refuse_foreign_root(root: etree._Element, line: int | None = None, column: int | None = None) -> None:
    """Refuse a parsed package whose root belongs to another dialect (``line``/``column``: the root's)."""
    namespace = etree.QName(root).namespace
    at = line if line is not None else (root.sourceline if isinstance(root.sourceline, int) else None)
    if namespace == GO_VN_NS:
        raise _refused(Text("một gói tin theo ", "a package of "), GO_VN, at, column)
    if namespace == EDOC_VN_NS:
        raise _refused(Text("một gói tin theo ", "a package of "), EDOC_VN, at, column)
    if namespace == SOAP_ENV_NS and next(root.iter(f"{{{EDOC_VN_NS}}}*"), None) is not None:
        raise _refused(Text("một phong bì SOAP theo ", "a SOAP envelope of "), EDOC_VN, at, column)


def refuse_other_roots(root: etree._Element, source: bytes | Path | None = None) -> None:
    """Refuse a root that is not ``edXML``: another dialect by its name, anything else as not edXML.
    ``source`` (the bytes the tree was parsed from) gives the root's column."""
    if root.tag == tag("edXML"):
        return
    line, column = element_position(source, root, root)
    refuse_foreign_root(root, line, column)
    raise NotAnEdxmlPackage(
        f"the root element is {root.tag}, not {{{EDXML_NS}}}edXML",
        line,
        column,
        vi=f"phần tử gốc là {root.tag}, không phải {{{EDXML_NS}}}edXML",
    )


def _refused(what: Text, dialect: Text, line: int | None, column: int | None) -> ForeignDialect:
    return ForeignDialect(
        f"{what.en}{dialect.en}, not QCVN 102:2016 edXML; {_READS.en}",
        line,
        column,
        vi=f"{what.vi}{dialect.vi}, không phải edXML QCVN 102:2016; {_READS.vi}",
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(SNIFF_BYTES)
