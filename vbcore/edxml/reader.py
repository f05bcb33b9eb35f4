"""edXML bytes or tree -> the model's ``Edoc`` or ``StatusPackage`` (domain.md §3-§4).

Lenient where producers differ (element order, where ``Signature`` lives and in which namespace,
date forms, ``edXML:`` prefix or default namespace, ZIP-wrapped or raw attachments), strict where a
value matters: a value that cannot be read raises ``InvalidFieldValue`` with the element's path,
bad base64 or a bad ZIP raises ``AttachmentUnreadable``. Unknown elements are ignored, each with a
warning in ``ReadResult.warnings``.

Small packages are parsed into a tree by ``parser.parse_document`` (fastest); packages over
``STREAM_ABOVE`` bytes go through ``stream.parse_streaming``, which decodes the attachments' base64
in chunks as it reads, so memory does not grow with the attachments.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from vbcore.edxml.attachments import decode_base64_text, starts_with_zip, unwrap_zip
from vbcore.edxml.fields import Fields, Warnings, local_name
from vbcore.edxml.names import EDXML_NS, ZIP_CONTENT_TYPES, tag
from vbcore.edxml.parser import DEFAULT_LIMITS, ParseLimits, parse_document
from vbcore.edxml.sections import read_edoc_header, read_signature, read_status_header
from vbcore.edxml.stream import parse_streaming
from vbcore.errors import AttachmentUnreadable, NotAnEdxmlPackage
from vbcore.model import Attachment, Blob, Edoc, ManifestReference, StatusPackage

STREAM_ABOVE = 2 * 1024 * 1024


@dataclass(frozen=True)
class ReadResult:
    package: Edoc | StatusPackage
    warnings: tuple[str, ...] = ()


def read_package(
    source: bytes | Path, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> ReadResult:
    """Parse and read one package from bytes or a file (streamed when large)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > STREAM_ABOVE:
        streamed = parse_streaming(source, limits, spool_dir)
        return _read(streamed.root, streamed.decoded, streamed.warnings, limits, spool_dir)
    data = source if isinstance(source, bytes) else source.read_bytes()
    parsed = parse_document(data, limits)
    return _read(parsed.root, {}, parsed.warnings, limits, spool_dir)


def read_element(
    root: etree._Element, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> ReadResult:
    """Read an already parsed tree (e.g. the one ``signing.verify_package`` verified)."""
    return _read(root, {}, (), limits, spool_dir)


def _read(
    root: etree._Element,
    decoded: dict[etree._Element, Blob],
    warnings_before: tuple[str, ...],
    limits: ParseLimits,
    spool_dir: Path | None,
) -> ReadResult:
    if root.tag != tag("edXML"):
        raise NotAnEdxmlPackage(
            f"the root element is {root.tag}, not {{{EDXML_NS}}}edXML",
            vi=f"phần tử gốc là {root.tag}, không phải {{{EDXML_NS}}}edXML",
        )
    warnings: Warnings = list(warnings_before)
    top = Fields(root, "edXML", warnings, {"edXMLEnvelope", "AttachmentEncoded", "Signature"})
    envelope = top.fields("edXMLEnvelope", {"edXMLHeader", "edXMLBody", "Signature"}, required=True)
    header = envelope.fields("edXMLHeader", {"MessageHeader", "TraceHeaderList", "Signature"}, required=True)
    message = header.one("MessageHeader", required=True)
    signature = read_signature(header, envelope, top)
    is_status = message is not None and any(local_name(c) == "StatusCode" for c in message)
    if is_status:
        status = read_status_header(header)
        if envelope.one("edXMLBody") is not None or top.one("AttachmentEncoded") is not None:
            warnings.append("a status package's edXMLBody/AttachmentEncoded ignored")
        return ReadResult(replace(status, signature=signature), tuple(warnings))
    doc = read_edoc_header(header)
    manifest = _read_manifest(envelope)
    attachments = _read_attachments(top, manifest, decoded, limits, spool_dir)
    edoc = Edoc(**{**doc, "manifest": manifest, "attachments": attachments, "signature": signature})
    return ReadResult(edoc, tuple(warnings))


def _read_manifest(envelope: Fields) -> tuple[ManifestReference, ...]:
    body = envelope.fields("edXMLBody", {"edXMLManifest"})
    manifest = body.fields("edXMLManifest", {"Reference"})
    refs = []
    for ref in manifest.each("Reference", {"ContentId", "ContentType", "Description", "AttachmentName"}):
        refs.append(
            ManifestReference(
                content_id=ref.text("ContentId") or "",
                content_type=ref.text("ContentType"),
                description=ref.text("Description"),
                attachment_name=ref.text("AttachmentName"),
            )
        )
    return tuple(refs)


_ATTACHMENT_FIELDS = {"ContentId", "AttachmentName", "Description", "ContentType", "ContentTransferEncoded"}


def _read_attachments(
    top: Fields,
    manifest: tuple[ManifestReference, ...],
    decoded: dict[etree._Element, Blob],
    limits: ParseLimits,
    spool_dir: Path | None,
) -> tuple[Attachment, ...]:
    encoded = top.fields("AttachmentEncoded", {"Attachment"})
    by_id = {ref.content_id: ref for ref in manifest}
    result: list[Attachment] = []
    for att in encoded.each("Attachment", _ATTACHMENT_FIELDS):
        content_id = att.text("ContentId") or ""
        name = att.text("AttachmentName") or ""
        label = f"{content_id or name or '#' + str(len(result) + 1)}"
        element = att.one("ContentTransferEncoded")
        if element is None:
            raise AttachmentUnreadable(
                f"attachment {label}: no ContentTransferEncoded",
                vi=f"tệp đính kèm {label}: thiếu ContentTransferEncoded",
            )
        raw = decoded.get(element)
        if raw is None:
            raw = decode_base64_text(element.text or "", label, spool_dir)
        content, zipped = raw, False
        if starts_with_zip(raw):
            inner = unwrap_zip(raw, label, spool_dir, limits.max_unzipped_bytes)
            if inner is not None:
                content, zipped = inner[0], True
        declared = att.text("ContentType")
        result.append(
            Attachment(
                content_id=content_id,
                name=name,
                content=content,
                content_type=_content_type(declared, by_id.get(content_id), name, zipped),
                description=att.text("Description"),
                zipped=zipped,
            )
        )
    return tuple(result)


def _content_type(declared: str | None, ref: ManifestReference | None, name: str, zipped: bool) -> str:
    """The original file's MIME type: the attachment's, unless it only says "ZIP" of a wrapped file."""
    candidates = [declared, ref.content_type if ref else None]
    for candidate in candidates:
        if candidate and not (zipped and candidate.lower() in ZIP_CONTENT_TYPES):
            return candidate
    if zipped:
        guessed = _MIME.guess_type(name, strict=False)[0] if name else None
        return guessed or "application/octet-stream"
    return "application/octet-stream"


# A table of Python's built-in types only: the guess must not depend on the host's mime.types.
_MIME = mimetypes.MimeTypes()
