"""How a manifest ``Reference`` names its ``Attachment``: by ``ContentId``, with or without ``cid:``.

QCVN 102:2016 writes ``cid:<id>`` on both sides. Some producers write ``cid:`` in the manifest and not
on the attachment (a provincial builder, docs/domain.md §8), or the reverse: the two still name one
attachment, so they are matched without the prefix and the difference is a named warning
(``content-id-prefix``). What would break the link is refused, as the schema's key and keyref did
before (XSD 1.0 cannot compare values without a prefix): an attachment whose id is empty once the
prefix is taken off, two attachments with one id, a manifest reference that names no attachment.

Used by ``vbcore.edxml.schema`` (the refusals, part of every schema check) and by the deviation rules
(the warning), and by the reader to find a reference's attachment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from vbcore.deviations import CONTENT_ID_PREFIX, Deviation
from vbcore.edxml.names import tag
from vbcore.lang import Text

PREFIX = "cid:"


def normalised(content_id: str | None) -> str:
    """The id without surrounding spaces and without a leading ``cid:`` (in any case)."""
    text = (content_id or "").strip()
    return text[len(PREFIX) :] if text[: len(PREFIX)].lower() == PREFIX else text


@dataclass(frozen=True)
class IdProblem:
    """One broken link: the element where it shows, and what is wrong in both languages."""

    element: etree._Element
    text: Text  # the English one begins with the name the schema's identity constraint had


_REFERENCES = f"{tag('edXMLEnvelope')}/{tag('edXMLBody')}/{tag('edXMLManifest')}/{tag('Reference')}"
_ATTACHMENTS = f"{tag('AttachmentEncoded')}/{tag('Attachment')}"


def _ids(root: etree._Element, path: str) -> Iterator[tuple[etree._Element, str]]:
    for element in root.iterfind(path):
        content_id = element.find(tag("ContentId"))
        if content_id is not None:
            yield element, (content_id.text or "").strip()


def problems(root: etree._Element) -> list[IdProblem]:
    """Every broken link between the manifest and the attachments, in document order."""
    found: list[IdProblem] = []
    attachments: dict[str, etree._Element] = {}
    for element, written in _ids(root, _ATTACHMENTS):
        key = normalised(written)
        if not key:
            found.append(IdProblem(element, Text(
                f"ContentId {written!r} không nêu mã nào sau tiền tố cid:",
                f"AttachmentContentId: ContentId {written!r} names no id after the cid: prefix",
            )))  # fmt: skip
        elif key in attachments:
            found.append(IdProblem(element, Text(
                f"hai tệp đính kèm cùng ContentId {key!r} (có hoặc không có tiền tố cid:)",
                f"AttachmentContentId: two attachments have the ContentId {key!r} (with or without cid:)",
            )))  # fmt: skip
        else:
            attachments[key] = element
    for element, written in _ids(root, _REFERENCES):
        if normalised(written) not in attachments:
            found.append(IdProblem(element, Text(
                f"tham chiếu trong danh mục ghi ContentId {written!r} nhưng gói tin không có tệp đính kèm "
                "nào mang mã đó (có hoặc không có tiền tố cid:)",
                f"ReferenceNamesAnAttachment: the manifest reference names ContentId {written!r}, which no "
                "attachment of the package has (with or without cid:)",
            )))  # fmt: skip
    return found


def prefix_deviations(root: etree._Element) -> list[Deviation]:
    """A ``content-id-prefix`` warning for each reference whose attachment writes ``cid:`` differently."""
    attachments = {normalised(written): written for _, written in _ids(root, _ATTACHMENTS)}
    found: list[Deviation] = []
    for element, written in _ids(root, _REFERENCES):
        other = attachments.get(normalised(written))
        if other is not None and other != written:
            line = element.sourceline if isinstance(element.sourceline, int) else None
            found.append(Deviation(CONTENT_ID_PREFIX, normalised(written), line=line))
    return found
