"""The model's ``Edoc`` or ``StatusPackage`` -> edXML bytes, in the shape the VPCP SDK emits.

``<?xml version="1.0" encoding="UTF-8"?>``, root ``<edXML xmlns="...">``, then ``edXML:``-prefixed
elements: the envelope declares the prefix (as the SDK does) and so does ``AttachmentEncoded``,
which sits outside the envelope (the SDK sample forgets that declaration; we do not). Element order
is docs/domain.md §3's; dates ``yyyy/MM/dd``, timestamps ``yyyy/MM/dd HH:mm:ss``, status codes two digits.
An element whose value is None is omitted, and so is a section with nothing in it.

No ``Signature`` is written: ``vbcore.security.signing`` signs the bytes this module produces. Attachments
are streamed: each one's base64 goes to the output in chunks of about 1 MB (zipped first when
``zipped=True``), so writing a 50 MB attachment does not hold its base64 in memory.
"""

from __future__ import annotations

import functools
import io
import secrets
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from vbcore.edxml.aside import Aside
from vbcore.edxml.attachments import base64_chunks, zip_one
from vbcore.edxml.build import Builder, add_edoc_header, add_status_header
from vbcore.edxml.names import EDXML_NS, tag
from vbcore.model import Attachment, Blob, Edoc, StatusPackage

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_ROOT_OPEN = f'<edXML xmlns="{EDXML_NS}">\n'.encode()
_ROOT_CLOSE = b"</edXML>\n"


def write_package(pkg: Edoc | StatusPackage) -> bytes:
    out = io.BytesIO()
    write_package_to(pkg, out)
    return out.getvalue()


def write_package_to(pkg: Edoc | StatusPackage, stream: BinaryIO, aside: Aside | None = None) -> None:
    """``aside``: each attachment's base64 is not written but a mark of ``aside`` in its place, which
    makes it again from the attachment each time it is asked (``Aside.stream``): a package signed as
    it is written never holds its base64 whole (``vbcore.security.signing.sign_written``)."""
    stream.write(DECLARATION)
    stream.write(_ROOT_OPEN)
    stream.write(_serialise(_envelope(pkg)))
    if isinstance(pkg, Edoc) and pkg.attachments:
        _write_attachments(pkg.attachments, stream, aside)
    stream.write(_ROOT_CLOSE)


def _envelope(pkg: Edoc | StatusPackage) -> etree._Element:
    envelope = etree.Element(tag("edXMLEnvelope"), nsmap={"edXML": EDXML_NS})
    header = Builder(envelope).child("edXMLHeader")
    if isinstance(pkg, StatusPackage):
        add_status_header(header, pkg)
        return envelope
    add_edoc_header(header, pkg)
    manifest = Builder(envelope).child("edXMLBody").child("edXMLManifest")
    manifest.element.set("version", "1.0")
    for ref in pkg.manifest:
        r = manifest.child("Reference")
        r.text("ContentId", ref.content_id)
        r.text("ContentType", ref.content_type)
        r.text("Description", ref.description)
        r.text("AttachmentName", ref.attachment_name)
    return envelope


def _serialise(element: etree._Element) -> bytes:
    etree.indent(element, space="  ", level=1)
    return b"  " + etree.tostring(element, encoding="UTF-8", xml_declaration=False) + b"\n"


def _write_attachments(attachments: tuple[Attachment, ...], stream: BinaryIO, aside: Aside | None) -> None:
    # A random mark stands in for each base64 text (no package text can contain it by chance).
    mark = f"VBUS{secrets.token_hex(16)}"
    encoded = etree.Element(tag("AttachmentEncoded"), nsmap={"edXML": EDXML_NS})
    for att in attachments:
        a = Builder(encoded).child("Attachment")
        a.text("ContentId", att.content_id)
        a.text("AttachmentName", att.name)
        a.text("Description", att.description)
        a.text("ContentType", att.content_type)
        a.text("ContentTransferEncoded", mark)
    # The whole AttachmentEncoded is serialised once with a mark where each base64 text goes; the
    # pieces between marks are written as they are and each attachment's base64 streamed in between.
    pieces = _serialise(encoded).split(mark.encode())
    stream.write(pieces[0])
    for att, after in zip(attachments, pieces[1:], strict=True):
        content = zip_one(att.content, att.name) if att.zipped else att.content
        if aside is not None and content.size:  # empty: written as it is (<a></a>, never <a/>)
            stream.write(aside.stream(functools.partial(_base64_bytes, content)).encode())
        else:
            for chunk in _base64_bytes(content):
                stream.write(chunk)
        stream.write(after)


def _base64_bytes(content: Blob) -> Iterator[bytes]:
    return (chunk.encode("ascii") for chunk in base64_chunks(content))
