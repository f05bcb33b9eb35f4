"""An attachment's base64 held aside by the parser (issue 13): never in a tree, and nothing else changes.

``parse_aside`` parses the package's bytes with a mark where the base64 is; the tree is the one the
whole parse gives with that one text replaced, byte for byte in every form signing writes, and every
package it cannot hold so safely (the mark would land anywhere but a ``ContentTransferEncoded``'s
whole text, another encoding, a text libxml2 would not read as its bytes) is parsed whole.
"""

from __future__ import annotations

import base64
import os

import pytest
from lxml import etree

from vbcore.edxml import aside, write_package
from vbcore.edxml.aside import ASIDE_ABOVE, Parsed, parse_aside
from vbcore.edxml.limits import ParseLimits
from vbcore.edxml.parser import parse_document
from vbcore.errors import PackageRefused
from vbcore.testing.devworld import HA_NOI, VPCP, letter

ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
CONTENT = f"{{{ED}}}ContentTransferEncoded"
PDF = os.urandom(2 * ASIDE_ABOVE)


@pytest.fixture(scope="module")
def package() -> bytes:
    """A document with a 2 MiB attachment: 2.7 MiB of base64 on one line, as vbus writes it."""
    return write_package(letter(VPCP, [HA_NOI], "1", pdf=PDF))


def content(parsed: Parsed) -> etree._Element:
    element = parsed.root.find(f".//{CONTENT}")
    assert element is not None
    return element


def assert_held(parsed: Parsed, data: bytes, text: bytes) -> None:
    mark = content(parsed).text
    assert mark is not None
    assert mark.startswith("vbus-aside-")
    assert list(parsed.aside.texts) == [mark]
    held = parsed.aside.texts[mark]
    assert isinstance(held, memoryview)
    assert held.obj is data  # a view of the bytes given: no copy, in a tree or in Python
    assert bytes(held) == text


def test_the_base64_is_held_as_a_view_of_the_bytes_and_never_parsed(package: bytes) -> None:
    assert_held(parse_aside(package), package, base64.b64encode(PDF))


@pytest.mark.parametrize("method", ["xml", "c14n", "exclusive"])
def test_every_form_written_around_the_mark_is_the_whole_trees(package: bytes, method: str) -> None:
    held = parse_aside(package)
    whole = parse_document(package).root

    def form(root: etree._Element) -> bytes:
        if method == "xml":
            return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        return bytes(etree.tostring(root, method="c14n", exclusive=method == "exclusive"))

    assert held.aside.joined(form(held.root)) == form(whole)


def test_base64_in_lines_is_held_and_a_short_text_is_not(package: bytes) -> None:
    lines = base64.encodebytes(PDF)
    in_lines = package.replace(base64.b64encode(PDF), lines)
    assert_held(parse_aside(in_lines), in_lines, lines)
    assert parse_aside(package, above=len(package)).aside.texts == {}


@pytest.mark.parametrize(
    ("name", "change"),
    [
        # libxml2 reads these otherwise than as their bytes: the whole parse reads them.
        ("carriage returns", lambda b64: b64[:1000] + b"\r\n" + b64[1000:]),
        ("a character reference", lambda b64: b64[:1000] + b"&#65;" + b64[1000:]),
        ("CDATA", lambda b64: b"<![CDATA[" + b64 + b"]]>"),
        ("not ASCII", lambda b64: b64[:1000] + "é".encode() + b64[1000:]),
    ],
)
def test_a_text_not_read_as_its_bytes_is_parsed_whole(package: bytes, name: str, change: object) -> None:
    b64 = base64.b64encode(PDF)
    changed = package.replace(b64, change(b64))  # type: ignore[operator]
    parsed = parse_aside(changed)
    assert parsed.aside.texts == {}
    assert content(parsed).text == parse_document(changed).root.find(f".//{CONTENT}").text  # type: ignore[union-attr]


def test_a_mark_that_would_land_anywhere_else_gives_the_whole_parse(package: bytes) -> None:
    b64 = base64.b64encode(PDF)
    tail = b"<!-- ContentTransferEncoded --><ContentTransferEncoded/>" + b64[:2 * ASIDE_ABOVE]
    cases = {
        "a comment": package.replace(b"</edXML>", b"<!-- ContentTransferEncoded>" + b64
                                     + b"<x -->\n</edXML>"),
        "a tail": package.replace(b"</edXML>", b"<ContentTransferEncoded/>" + b64 + b"\n</edXML>"),
        "another element": package.replace(b"</edXML>", b"<ContentTransferEncodedX>" + b64
                                           + b"</ContentTransferEncodedX></edXML>"),
        "a tail after an empty element": package.replace(b"</edXML>", tail + b"</edXML>"),
        "no namespace": package.replace(b"</edXML>", b'<ContentTransferEncoded xmlns="">' + b64
                                        + b"</ContentTransferEncoded></edXML>"),
    }  # fmt: skip
    for name, changed in cases.items():
        assert len(aside._regions(changed, ASIDE_ABOVE)) == 2, name  # the mark would land there
        whole = parse_document(changed).root
        parsed = parse_aside(changed)
        assert parsed.aside.texts == {}, name
        assert etree.tostring(parsed.root) == etree.tostring(whole), name


@pytest.mark.parametrize("declaration", [b"ISO-8859-1", b"UTF-16", b"UTF-7"])
def test_another_encoding_is_parsed_whole(package: bytes, declaration: bytes) -> None:
    changed = package.replace(b'encoding="UTF-8"', b'encoding="' + declaration + b'"', 1)
    try:
        whole: object = etree.tostring(parse_document(changed).root)
    except PackageRefused as err:
        whole = type(err), str(err)
    if isinstance(whole, tuple):
        with pytest.raises(PackageRefused) as caught:
            parse_aside(changed)
        assert (type(caught.value), str(caught.value)) == whole
        return
    parsed = parse_aside(changed)
    assert parsed.aside.texts == {}
    assert etree.tostring(parsed.root) == whole


def refusal(parse: object, data: bytes, limits: ParseLimits) -> tuple[type, str, int | None, int | None]:
    with pytest.raises(PackageRefused) as caught:
        parse(data, limits)  # type: ignore[operator]
    err = caught.value
    return type(err), str(err), err.line, err.column


def test_hostile_packages_are_refused_exactly_as_by_the_whole_parse(package: bytes) -> None:
    b64 = base64.b64encode(PDF)
    spaced = b" ".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    cases = {
        "a DOCTYPE": (package.replace(b"?>", b"?>\n<!DOCTYPE e [<!ENTITY x SYSTEM 'file:///x'>]>", 1),
                      ParseLimits()),
        "malformed after the text": (package.replace(b"</edXML>", b"<a></b></edXML>"), ParseLimits()),
        "malformed after the text, same line": (package.replace(b64 + b"<", b64 + b"<<"), ParseLimits()),
        "too deep after the text": (package.replace(b"</edXML>", b"<a>" * 70 + b"</a>" * 70 + b"</edXML>"),
                                    ParseLimits()),
        "too large": (package, ParseLimits(max_bytes=len(package) - 1)),
        # " xmlns=" inside the base64 counts, as it does for the whole parse.
        "declarations in the text": (package.replace(b64, spaced.replace(b" ", b" xmlns= ", 80)),
                                     ParseLimits(max_namespace_declarations=64)),
        "too many elements": (package, ParseLimits(max_elements=10)),
    }  # fmt: skip
    for name, (data, limits) in cases.items():
        assert refusal(parse_aside, data, limits) == refusal(parse_document, data, limits), name


def test_an_undeclared_edxml_prefix_is_repaired_as_by_the_whole_parse(package: bytes) -> None:
    # The VPCP SDK's samples use edXML: without declaring it on AttachmentEncoded.
    undeclared = package.replace(b'<edXML:AttachmentEncoded xmlns:edXML="' + ED.encode() + b'">',
                                 b"<edXML:AttachmentEncoded>")  # fmt: skip
    assert undeclared != package
    parsed = parse_aside(undeclared)
    whole = parse_document(undeclared)
    assert parsed.warnings == whole.warnings != ()
    assert_held(parsed, undeclared, base64.b64encode(PDF))
    assert parsed.aside.joined(etree.tostring(parsed.root)) == etree.tostring(whole.root)
