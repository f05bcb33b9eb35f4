"""edXML bytes or tree -> the model's ``Edoc`` or ``StatusPackage`` (docs/domain.md §3-§4).

Lenient where producers differ (element order, where ``Signature`` lives and in which namespace,
date forms, ``edXML:`` prefix or default namespace, ZIP-wrapped or raw attachments), strict where a
value matters: a value that cannot be read raises ``InvalidFieldValue`` with the element's path,
bad base64 or a bad ZIP raises ``AttachmentUnreadable``. Unknown elements are ignored, each with a
warning in ``ReadResult.warnings``; every warning is a named ``vbcore.deviations.Deviation``, and
``read_package`` adds what the deviation rules find (``deviation_rules``). This reader is lenient on
its own: what vbus accepts is decided by ``vbcore.edxml.acceptance``, which adds the schemas.

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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from vbcore.deviations import (
    ATTACHMENT_NAME_MADE_SAFE,
    MAX_WARNINGS,
    STATUS_BODY_IGNORED,
    Deviation,
    summarise,
)
from vbcore.edxml import content_ids, deviation_rules
from vbcore.edxml.aside import HeldText
from vbcore.edxml.attachments import decode_base64_text, starts_with_zip
from vbcore.edxml.dialects import refuse_foreign_bytes, refuse_other_roots
from vbcore.edxml.fields import Fields, Warnings, local_name
from vbcore.edxml.limits import DEFAULT_LIMITS, Budget, ParseLimits
from vbcore.edxml.names import ZIP_CONTENT_TYPES
from vbcore.edxml.parser import parse_document
from vbcore.edxml.positions import locate_refusal
from vbcore.edxml.safe_names import safe_attachment_name
from vbcore.edxml.sections import read_edoc_header, read_signature, read_status_header
from vbcore.edxml.stream import parse_streaming
from vbcore.edxml.zipped import unwrap_zip
from vbcore.errors import AttachmentUnreadable, PackageRefused, TooManyAttachments
from vbcore.model import Attachment, Blob, Edoc, ManifestReference, StatusPackage

STREAM_ABOVE = 2 * 1024 * 1024
__all__ = [
    "MAX_WARNINGS", "Parsed", "ReadResult", "parse_source", "read_element", "read_package", "read_parsed",
]  # fmt: skip


@dataclass(frozen=True)
class ReadResult:
    """The package and what was read leniently; ``attachments_read`` is False when the
    attachments' content was not decoded (``read_element(..., attachments=False)``)."""

    package: Edoc | StatusPackage
    warnings: tuple[Deviation, ...] = ()
    attachments_read: bool = True


class Parsed(NamedTuple):
    """A package's tree as ``parse_source`` made it: the attachments a streaming parse decoded aside,
    what the parser repaired, and the bytes (or file) it came from, for the lines and columns of
    refusals."""

    root: etree._Element
    decoded: dict[etree._Element, Blob]
    warnings: tuple[Deviation, ...]
    source: bytes | Path
    budget: Budget


def parse_source(
    source: bytes | Path, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> Parsed:
    """The hardened parse of one package (streamed when large); another dialect is refused by name."""
    refuse_foreign_bytes(source)
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    budget = Budget(limits)
    if size > STREAM_ABOVE:
        streamed = parse_streaming(source, limits, spool_dir, budget)
        return Parsed(streamed.root, streamed.decoded, streamed.warnings, source, budget)
    data = source if isinstance(source, bytes) else source.read_bytes()
    parsed = parse_document(data, limits)
    return Parsed(parsed.root, {}, parsed.warnings, data, budget)


def read_package(
    source: bytes | Path, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> ReadResult:
    """Parse and read one package from bytes or a file (streamed when large), with every deviation
    it carries named (``deviation_rules``). This reads leniently: what vbus accepts is decided by
    ``vbcore.edxml.acceptance``, which adds the schemas."""
    parsed = parse_source(source, limits=limits, spool_dir=spool_dir)
    return read_parsed(parsed, limits=limits, spool_dir=spool_dir)


def read_parsed(
    parsed: Parsed,
    deviations: tuple[Deviation, ...] | None = None,
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    spool_dir: Path | None = None,
) -> ReadResult:
    """Read a tree from ``parse_source``; ``deviations``: those already found (default: found here).

    A refusal says where: the line and column of the element it concerns."""
    try:
        refuse_other_roots(parsed.root, parsed.source)
        found = tuple(deviation_rules.find(parsed.root)) if deviations is None else deviations
        before = parsed.warnings + found
        return _read(parsed.root, parsed.decoded, before, limits, spool_dir, parsed.budget)
    except PackageRefused as err:
        _discard(parsed.decoded)
        locate_refusal(err, parsed.root, parsed.source)
        raise


def read_element(
    root: etree._Element,
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    spool_dir: Path | None = None,
    attachments: bool = True,
    aside: Mapping[str, HeldText] | None = None,
) -> ReadResult:
    """Read an already parsed tree (e.g. the one ``signing.verify_package`` verified).

    ``attachments=False``: the package without its attachments (``Edoc.attachments`` is empty and
    ``attachments_read`` False); their number is still checked, their content is not touched.
    ``aside``: texts the tree holds a mark for (``VerifiedPackage.aside``: an attachment's base64 kept
    out of the verified tree), by mark.
    """
    budget = Budget(limits) if attachments else None
    return _read(root, {}, (), limits, spool_dir, budget, aside or {})


def _read(
    root: etree._Element,
    decoded: dict[etree._Element, Blob],
    warnings_before: tuple[Deviation, ...],
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget | None,
    aside: Mapping[str, HeldText] | None = None,
) -> ReadResult:
    """``budget`` None: leave the attachments' content alone."""
    refuse_other_roots(root, None)
    warnings: Warnings = list(warnings_before)
    try:
        return _read_checked(root, decoded, warnings, limits, spool_dir, budget, aside or {})
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
    aside: Mapping[str, HeldText],
) -> ReadResult:
    known = {"edXMLEnvelope", "AttachmentEncoded", "Signature"}
    top = Fields(root, "edXML", warnings, known, limits.max_repeats)
    envelope = top.fields("edXMLEnvelope", {"edXMLHeader", "edXMLBody", "Signature"}, required=True)
    # DigitalSignature: a builder's empty placeholder, named by the deviation rules.
    known_header = {"MessageHeader", "TraceHeaderList", "DigitalSignature", "Signature"}
    header = envelope.fields("edXMLHeader", known_header, required=True)
    message = header.one("MessageHeader", required=True)
    signature = read_signature(header, envelope, top)
    is_status = message is not None and any(local_name(c) == "StatusCode" for c in message)
    if is_status:
        status = read_status_header(header)
        if envelope.one("edXMLBody") is not None or top.one("AttachmentEncoded") is not None:
            warnings.append(Deviation(STATUS_BODY_IGNORED))
        return ReadResult(replace(status, signature=signature), _summary(warnings), budget is not None)
    doc = read_edoc_header(header)
    _count_attachments(top, limits)
    manifest = _read_manifest(envelope)
    attachments: tuple[Attachment, ...] = ()
    if budget is not None:
        attachments = _read_attachments(top, manifest, decoded, limits, spool_dir, budget, aside)
    edoc = Edoc(**{**doc, "manifest": manifest, "attachments": attachments, "signature": signature})
    return ReadResult(edoc, _summary(warnings), budget is not None)


def _summary(warnings: Warnings) -> tuple[Deviation, ...]:
    return summarise(warnings)


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
        where = f"{fields.path}/{name}"
        fields.warnings.append(Deviation(ATTACHMENT_NAME_MADE_SAFE, f"{given!r} -> {safe!r}", path=where))
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
    aside: Mapping[str, HeldText],
) -> tuple[Attachment, ...]:
    made: list[Blob] = []  # what this read spooled: deleted if the read fails
    try:
        return _decode_attachments(top, manifest, decoded, limits, spool_dir, budget, made, aside)
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
    aside: Mapping[str, HeldText],
) -> tuple[Attachment, ...]:
    encoded = top.fields("AttachmentEncoded", {"Attachment"})
    # A reference names its attachment with or without "cid:" (content_ids).
    by_id = {content_ids.normalised(ref.content_id): ref for ref in manifest}
    result: list[Attachment] = []
    for att in encoded.each("Attachment", _ATTACHMENT_FIELDS):
        content_id = att.text("ContentId") or ""
        name = _safe_name(att, "AttachmentName") or ""
        label = f"{content_id or name or '#' + str(len(result) + 1)}"
        try:
            content, zipped = _decode_one(att, label, decoded, limits, spool_dir, budget, made, aside)
        except PackageRefused as err:
            if err.path is None:  # said where: the element whose content it is
                err.path = f"{att.path}/ContentTransferEncoded"
            raise
        ref = by_id.get(content_ids.normalised(content_id))
        result.append(
            Attachment(
                content_id=content_id,
                name=name,
                content=content,
                content_type=_content_type(att.text("ContentType"), ref, name, zipped),
                description=att.text("Description"),
                zipped=zipped,
            )
        )
    return tuple(result)


def _decode_one(
    att: Fields,
    label: str,
    decoded: dict[etree._Element, Blob],
    limits: ParseLimits,
    spool_dir: Path | None,
    budget: Budget,
    made: list[Blob],
    aside: Mapping[str, HeldText],
) -> tuple[Blob, bool]:
    """One attachment's content (unwrapped when it is the SDK's one-entry ZIP), and whether it was."""
    element = att.one("ContentTransferEncoded")
    if element is None:
        raise AttachmentUnreadable(
            f"attachment {label}: no ContentTransferEncoded",
            vi=f"tệp đính kèm {label}: thiếu ContentTransferEncoded",
        )
    raw = decoded.get(element)
    if raw is None:
        text = element.text or ""
        raw = decode_base64_text(aside.get(text, text), label, spool_dir, budget)
        made.append(raw)
    if starts_with_zip(raw):
        inner = unwrap_zip(raw, label, spool_dir, limits, budget)
        if inner is not None:
            made.append(inner)
            _unlink([raw])  # the ZIP itself is not handed on: its spool file goes now
            return inner, True
    return raw, False


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
