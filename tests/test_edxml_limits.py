"""Per-package limits (vbcore.edxml.limits): each refused with what was over which limit, and where."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import MiB, attachment, bomb, package

from vbcore.edxml import ParseLimits, parse_xml, read_element, read_package
from vbcore.edxml.reader import MAX_WARNINGS
from vbcore.errors import (
    AttachmentsTooLarge,
    TooManyAttachments,
    TooManyElements,
    TooManyItems,
    TooManyNamespaces,
)
from vbcore.model import Edoc


def test_more_attachments_than_the_limit_are_refused_with_their_count() -> None:
    atts = "".join(attachment(b"x", content_id=f"cid:{i}", name=f"{i}.txt") for i in range(1001))
    with pytest.raises(TooManyAttachments, match="Attachment appears 1001 times; at most 1000 are accepted"):
        read_package(package(attachments=atts))


def test_the_hub_reading_without_attachments_still_counts_them() -> None:
    atts = "".join(attachment(b"x", content_id=f"cid:{i}") for i in range(11))
    with pytest.raises(TooManyAttachments):
        read_element(
            parse_xml(package(attachments=atts)), limits=ParseLimits(max_attachments=10), attachments=False
        )


def test_tens_of_thousands_of_addressees_are_refused_naming_the_element() -> None:
    to = "<To><OrganId>000.00.00.H24</OrganId></To>" * 20_000
    with pytest.raises(TooManyItems, match=r"MessageHeader/To appears 20001 times; at most 5000") as caught:
        read_package(package(header=to))
    assert caught.value.reason == "too-many-items"
    assert "xuất hiện 20001 lần" in caught.value.describe("vi")


def test_a_letter_to_every_commune_is_still_read() -> None:
    to = "<To><OrganId>000.00.00.H24</OrganId></To>" * 3321
    doc = read_package(package(header=to)).package
    assert isinstance(doc, Edoc)
    assert len(doc.to) == 3322


def test_too_many_trace_headers_are_refused_with_their_path() -> None:
    traces = (
        "<TraceHeaderList>" + "<TraceHeader><OrganId>x</OrganId></TraceHeader>" * 6000 + "</TraceHeaderList>"
    )
    data = package().replace(b"</MessageHeader>", b"</MessageHeader>" + traces.encode())
    with pytest.raises(TooManyItems, match="edXMLHeader/TraceHeaderList/TraceHeader appears 6000 times"):
        read_package(data)


def test_a_million_elements_are_refused_before_the_tree_is_built() -> None:
    data = package(header="<Padding>" + "<a/>" * 500_000 + "</Padding>")
    with pytest.raises(TooManyElements, match="more than the 200000 elements accepted"):
        read_package(data)


def test_the_streaming_parse_counts_elements_too_and_says_where() -> None:
    data = package(header="<Padding>" + "<a/>" * 600_000 + "</Padding>")
    assert len(data) > 2 * MiB  # streamed
    with pytest.raises(TooManyElements, match="at /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Padding/a"):
        read_package(data, limits=ParseLimits(max_elements=100_000))


def test_attachments_that_together_decode_past_the_limit_are_refused_naming_the_last(tmp_path: Path) -> None:
    atts = "".join(attachment(bytes(400_000), content_id=f"cid:{i}") for i in range(3))
    with pytest.raises(AttachmentsTooLarge, match=r"decode to more than 1000000 bytes .*attachment cid:2"):
        read_package(
            package(attachments=atts), limits=ParseLimits(max_decoded_bytes=1_000_000), spool_dir=tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_the_decoded_total_follows_the_package_size_unless_set() -> None:
    assert ParseLimits(max_bytes=80 * MiB).decoded_limit == 80 * MiB
    assert ParseLimits(max_decoded_bytes=MiB).decoded_limit == MiB


def test_reading_without_attachments_decodes_and_unzips_nothing(tmp_path: Path) -> None:
    atts = attachment(b"", encoded="not base64 at all!") + attachment(bomb(300 * MiB), content_id="cid:bomb")
    result = read_element(parse_xml(package(attachments=atts)), attachments=False, spool_dir=tmp_path)
    assert isinstance(result.package, Edoc)
    assert result.package.attachments == ()
    assert result.attachments_read is False
    assert list(tmp_path.iterdir()) == []


def test_warnings_are_kept_to_a_bounded_summary() -> None:
    unknown = "".join(f"<Unknown{i}/>" for i in range(300))
    result = read_package(package(header=unknown))
    assert len(result.warnings) == MAX_WARNINGS + 1
    more = result.warnings[-1]
    assert (more.code, more.value) == ("more-warnings", str(300 + 1 - MAX_WARNINGS))  # and "unsigned"
    assert more.describe("en") == f"... and {300 + 1 - MAX_WARNINGS} more warnings"


def test_base64_of_a_limit_sized_attachment_is_read_exactly_at_the_limit() -> None:
    content = bytes(1000)
    data = package(attachments=attachment(content))
    doc = read_package(data, limits=ParseLimits(max_decoded_bytes=1000)).package
    assert isinstance(doc, Edoc)
    assert doc.attachments[0].content.read_bytes() == content


def declarations(count: int) -> bytes:
    return b" ".join(b'xmlns:p%d="urn:vbus:%d"' % (i, i) for i in range(count))


def test_more_namespace_declarations_than_the_limit_are_refused_before_parsing() -> None:
    data = package().replace(b"<edXML xmlns", b"<edXML " + declarations(65) + b" xmlns", 1)
    with pytest.raises(TooManyNamespaces, match=r"declares 66 XML namespaces .*at most 64"):
        read_package(data)


def test_the_streaming_parse_counts_namespace_declarations_and_says_where() -> None:
    data = package(
        header="<Subject " + declarations(70).decode() + ">x</Subject>",
        attachments=attachment(bytes(2 * MiB)),
    )
    with pytest.raises(TooManyNamespaces, match="at /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject"):
        read_package(data)


def test_the_word_xmlns_in_a_text_is_not_a_declaration() -> None:
    doc = read_package(package(header="<Subject>" + "xmlns " * 100 + "</Subject>")).package
    assert isinstance(doc, Edoc)
    assert doc.subject is not None
    assert doc.subject.count("xmlns") == 100
