"""edXML bytes or tree -> the model's ``Edoc`` or ``StatusPackage`` (docs/domain.md §3-§4).

Lenient where producers differ (element order, where ``Signature`` lives and in which namespace,
date forms, ``edXML:`` prefix or default namespace, ZIP-wrapped or raw attachments), strict where a
value matters: a value that cannot be read raises ``InvalidFieldValue`` with the element's path,
bad base64 or a bad ZIP raises ``AttachmentUnreadable``. Unknown elements are ignored, each with a
warning in ``ReadResult.warnings``.

Small packages are parsed into a tree by ``parser.parse_document`` (fastest); packages over
``STREAM_ABOVE`` bytes go through ``stream.parse_streaming``, which decodes the attachments' base64
in chunks as it reads, so memory does not grow with the attachments.

Every bound of ``vbcore.edxml.limits.ParseLimits`` holds for the whole package: elements, repeated
elements, attachments, and the bytes all attachments decode and expand to together (one
``Budget`` per read). Every failure is a ``PackageRefused`` that says what and where (line and
column, element path, or attachment); nothing else escapes. Attachment names are handed on made
safe (``safe_names``), with a warning when that changed them.

``read_element(root, attachments=False)`` reads everything but the attachments' content (their
number is still bounded): what the hub needs to route, without decoding or unzipping anything.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from vbcore.edxml.attachments import decode_base64_text, starts_with_zip
from vbcore.edxml.fields import Fields, Warnings, local_name
from vbcore.edxml.limits import DEFAULT_LIMITS, Budget, ParseLimits
from vbcore.edxml.names import EDXML_NS, ZIP_CONTENT_TYPES, tag
from vbcore.edxml.parser import parse_document
from vbcore.edxml.safe_names import safe_attachment_name
from vbcore.edxml.sections import read_edoc_header, read_signature, read_status_header
from vbcore.edxml.stream import parse_streaming
from vbcore.edxml.zipped import unwrap_zip
from vbcore.errors import AttachmentUnreadable, NotAnEdxmlPackage, TooManyAttachments
from vbcore.model import Attachment, Blob, Edoc, ManifestReference, StatusPackage

STREAM_ABOVE = 2 * 1024 * 1024
# Warnings kept per package (a package of 100,000 unknown elements is read, not echoed 100,000 times).
MAX_WARNINGS = 100


@dataclass(frozen=True)
class ReadResult:
    """The package and what was read leniently; ``attachments_read`` is False when the
    attachments' content was not decoded (``read_element(..., attachments=False)``)."""

    package: Edoc | StatusPackage
    warnings: tuple[str, ...] = ()
    attachments_read: bool = True


def read_package(
    source: bytes | Path, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> ReadResult:
    """Parse and read one package from bytes or a file (streamed when large)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    budget = Budget(limits)
    if size > STREAM_ABOVE:
        streamed = parse_streaming(source, limits, spool_dir, budget)
        return _read(streamed.root, streamed.decoded, streamed.warnings, limits, spool_dir, budget)
    data = source if isinstance(source, bytes) else source.read_bytes()
    parsed = parse_document(data, limits)
    return _read(parsed.root, {}, parsed.warnings, limits, spool_dir, budget)


def read_element(
    root: etree._Element,
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    spool_dir: Path | None = None,
    attachments: bool = True,
) -> ReadResult:
    """Read an already parsed tree (e.g. the one ``signing.verify_package`` verified).

    ``attachments=False``: the package without its attachments (``Edoc.attachments`` is empty and
    ``attachments_read`` False); their number is still checked, their content is not touched.
    """
    budget = Budget(limits) if attachments else None
    return _read(root, {}, (), limits, spool_dir, budget)


def _read(
    root: etree._Element,
    decoded: dict[etree._Element, Blob],
    warnings_before: tuple[str, ...],
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget | None,
) -> ReadResult:
    """``budget`` None: leave the attachments' content alone."""
    if root.tag != tag("edXML"):
        raise NotAnEdxmlPackage(
            f"the root element is {root.tag}, not {{{EDXML_NS}}}edXML",
            vi=f"phần tử gốc là {root.tag}, không phải {{{EDXML_NS}}}edXML",
        )
    warnings: Warnings = list(warnings_before)
    try:
        return _read_checked(root, decoded, warnings, limits, spool_dir, budget)
    except BaseException:
        _discard(decoded)
        raise


def _read_checked(
    root: etree._Element,
    decoded: dict[etree._Element, Blob],
    warnings: Warnings,
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget | None,
) -> ReadResult:
    known = {"edXMLEnvelope", "AttachmentEncoded", "Signature"}
    top = Fields(root, "edXML", warnings, known, limits.max_repeats)
    envelope = top.fields("edXMLEnvelope", {"edXMLHeader", "edXMLBody", "Signature"}, required=True)
    header = envelope.fields("edXMLHeader", {"MessageHeader", "TraceHeaderList", "Signature"}, required=True)
    message = header.one("MessageHeader", required=True)
    signature = read_signature(header, envelope, top)
    is_status = message is not None and any(local_name(c) == "StatusCode" for c in message)
    if is_status:
        status = read_status_header(header)
        if envelope.one("edXMLBody") is not None or top.one("AttachmentEncoded") is not None:
            warnings.append("a status package's edXMLBody/AttachmentEncoded ignored")
        return ReadResult(replace(status, signature=signature), _summary(warnings), budget is not None)
    doc = read_edoc_header(header)
    _count_attachments(top, limits)
    manifest = _read_manifest(envelope)
    attachments = (
        _read_attachments(top, manifest, decoded, limits, spool_dir, budget) if budget is not None else ()
    )
    edoc = Edoc(**{**doc, "manifest": manifest, "attachments": attachments, "signature": signature})
    return ReadResult(edoc, _summary(warnings), budget is not None)


def _summary(warnings: Warnings) -> tuple[str, ...]:
    unique = list(dict.fromkeys(warnings))
    if len(unique) <= MAX_WARNINGS:
        return tuple(unique)
    return (*unique[:MAX_WARNINGS], f"... and {len(unique) - MAX_WARNINGS} more warnings")


def _discard(decoded: dict[etree._Element, Blob]) -> None:
    """Delete what a failed read had spooled (the streaming parse decodes before reading)."""
    _unlink(list(decoded.values()))


def _unlink(blobs: list[Blob]) -> None:
    for blob in blobs:
        if blob.path is not None:
            blob.path.unlink(missing_ok=True)


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
                attachment_name=_safe_name(ref, "AttachmentName"),
            )
        )
    return tuple(refs)


def _safe_name(fields: Fields, name: str) -> str | None:
    given = fields.text(name)
    if given is None:
        return None
    safe = safe_attachment_name(given)
    if safe != given:
        fields.warnings.append(f"{fields.path}/{name}: {given!r} read as the safe file name {safe!r}")
    return safe


def _count_attachments(top: Fields, limits: ParseLimits) -> None:
    encoded = top.one("AttachmentEncoded")
    if encoded is None:
        return
    count = sum(1 for child in encoded if local_name(child) == "Attachment")
    if count > limits.max_attachments:
        raise TooManyAttachments("edXML/AttachmentEncoded/Attachment", count, limits.max_attachments)


_ATTACHMENT_FIELDS = {"ContentId", "AttachmentName", "Description", "ContentType", "ContentTransferEncoded"}


def _read_attachments(
    top: Fields,
    manifest: tuple[ManifestReference, ...],
    decoded: dict[etree._Element, Blob],
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget,
) -> tuple[Attachment, ...]:
    made: list[Blob] = []  # what this read spooled: deleted if the read fails
    try:
        return _decode_attachments(top, manifest, decoded, limits, spool_dir, budget, made)
    except BaseException:
        _unlink(made)
        raise


def _decode_attachments(
    top: Fields,
    manifest: tuple[ManifestReference, ...],
    decoded: dict[etree._Element, Blob],
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget,
    made: list[Blob],
) -> tuple[Attachment, ...]:
    encoded = top.fields("AttachmentEncoded", {"Attachment"})
    by_id = {ref.content_id: ref for ref in manifest}
    result: list[Attachment] = []
    for att in encoded.each("Attachment", _ATTACHMENT_FIELDS):
        content_id = att.text("ContentId") or ""
        name = _safe_name(att, "AttachmentName") or ""
        label = f"{content_id or name or '#' + str(len(result) + 1)}"
        element = att.one("ContentTransferEncoded")
        if element is None:
            raise AttachmentUnreadable(
                f"attachment {label}: no ContentTransferEncoded",
                vi=f"tệp đính kèm {label}: thiếu ContentTransferEncoded",
            )
        raw = decoded.get(element)
        if raw is None:
            raw = decode_base64_text(element.text or "", label, spool_dir, budget)
            made.append(raw)
        content, zipped = raw, False
        if starts_with_zip(raw):
            inner = unwrap_zip(raw, label, spool_dir, limits, budget)
            if inner is not None:
                made.append(inner)
                _unlink([raw])  # the ZIP itself is not handed on: its spool file goes now
                content, zipped = inner, True
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
