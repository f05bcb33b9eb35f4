"""The hardened parser refuses hostile and broken XML, each with its own error class."""

from __future__ import annotations

from pathlib import Path

import pytest

from vbcore.deviations import Deviation
from vbcore.edxml import DEFAULT_LIMITS, EDXML_NS, ParseLimits, parse_xml, read_package
from vbcore.edxml.limits import MAX_PACKAGE_BYTES
from vbcore.edxml.parser import parse_document
from vbcore.edxml.stream import parse_streaming
from vbcore.errors import (
    ForbiddenXmlConstruct,
    MalformedPackage,
    NotAnEdxmlPackage,
    PackageTooDeep,
    PackageTooLarge,
)

MiB = 1024 * 1024

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)
QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE kaboom [<!ENTITY a "'
    + b"a" * 50_000
    + b'">]>\n<kaboom>'
    + b"&a;" * 20_000
    + b"</kaboom>"
)
# The prolog's byte scan misses a DOCTYPE after a comment that looks like a start tag, and any
# DOCTYPE in UTF-16: the check after the parse catches both.
DOCTYPE_AFTER_TRICKY_COMMENT = b"<!-- <a -->\n<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"
DOCTYPE_IN_UTF16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode(
    "utf-16"
)

HOSTILE = {
    "xxe-file-read": XXE_FILE,
    "external-dtd": EXTERNAL_DTD,
    "billion-laughs": BILLION_LAUGHS,
    "quadratic-blowup": QUADRATIC,
    "doctype-after-comment": DOCTYPE_AFTER_TRICKY_COMMENT,
    "doctype-in-utf16": DOCTYPE_IN_UTF16,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_any_doctype_is_refused_as_a_forbidden_construct(name: str) -> None:
    with pytest.raises(ForbiddenXmlConstruct, match="DOCTYPE") as caught:
        parse_xml(HOSTILE[name])
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaks into the message


@pytest.mark.parametrize("name", ["xxe-file-read", "external-dtd", "billion-laughs", "quadratic-blowup"])
def test_streaming_parse_refuses_a_doctype_too(name: str) -> None:
    with pytest.raises(ForbiddenXmlConstruct):
        parse_streaming(HOSTILE[name], DEFAULT_LIMITS, None)


def test_doctype_refusal_gives_its_line() -> None:
    with pytest.raises(ForbiddenXmlConstruct) as caught:
        parse_xml(XXE_FILE)
    assert (caught.value.line, caught.value.column) == (2, 1)


def test_package_over_the_size_limit_is_refused_before_parsing() -> None:
    data = b"<" * (81 * MiB)  # not even XML: the size check comes first
    with pytest.raises(PackageTooLarge) as caught:
        parse_xml(data)
    assert caught.value.limit == MAX_PACKAGE_BYTES == 80 * MiB
    assert caught.value.size == 81 * MiB


def test_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.edxml"
    with big.open("wb") as f:
        f.truncate(81 * MiB)  # sparse: nothing is written, nothing need be read
    with pytest.raises(PackageTooLarge):
        read_package(big)


def test_a_smaller_configured_size_limit_is_honoured() -> None:
    with pytest.raises(PackageTooLarge):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", ParseLimits(max_bytes=1000))


def nested(depth: int) -> bytes:
    return b"<a>" * depth + b"</a>" * depth


def test_ten_thousand_levels_of_nesting_are_refused_as_too_deep() -> None:
    with pytest.raises(PackageTooDeep):
        parse_xml(nested(10_000))


def test_streaming_parse_refuses_deep_nesting_too() -> None:
    with pytest.raises(PackageTooDeep):
        parse_streaming(nested(10_000), DEFAULT_LIMITS, None)


def test_the_configured_depth_is_the_last_one_accepted() -> None:
    assert parse_xml(nested(64)).tag == "a"
    with pytest.raises(PackageTooDeep, match="64"):
        parse_xml(nested(65))
    assert parse_xml(nested(10), ParseLimits(max_depth=10)) is not None
    with pytest.raises(PackageTooDeep):
        parse_xml(nested(11), ParseLimits(max_depth=10))


def test_mismatched_tag_is_refused_with_line_and_column_not_recovered() -> None:
    with pytest.raises(MalformedPackage, match="mismatch") as caught:
        parse_xml(b"<a>\n  <b></a>")
    assert (caught.value.line, caught.value.column) == (2, 10)


def test_mismatched_tag_in_the_streaming_parse_keeps_libxml2s_message() -> None:
    with pytest.raises(MalformedPackage, match="mismatch") as caught:
        parse_streaming(b"<a>\n  <b></a>", DEFAULT_LIMITS, None)
    assert caught.value.line == 2


def test_text_before_the_declaration_is_refused_at_line_one() -> None:
    with pytest.raises(MalformedPackage, match="Start tag expected") as caught:
        parse_xml(b'1212<?xml version="1.0" encoding="UTF-8"?><a/>')
    assert (caught.value.line, caught.value.column) == (1, 1)


XLINK_DOC = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><Reference xlink:href=""/></edXML>""".encode()


def test_undeclared_xlink_prefix_is_declared_on_the_root_with_a_warning() -> None:
    parsed = parse_document(XLINK_DOC)
    assert parsed.warnings == (Deviation("prefix-repaired", "xlink"),)
    assert parsed.warnings[0].describe("en") == (
        "the prefix xlink: is used without a declaration: declared with the one namespace it can mean"
    )
    assert parsed.root.nsmap["xlink"] == "http://www.w3.org/1999/xlink"
    assert parsed.root[0].get("{http://www.w3.org/1999/xlink}href") == ""


def test_undeclared_unknown_prefix_is_refused_not_guessed() -> None:
    with pytest.raises(MalformedPackage, match="Namespace prefix foo"):
        parse_xml(f'<edXML xmlns="{EDXML_NS}"><foo:Reference/></edXML>'.encode())


def test_undeclared_xlink_with_another_defect_is_refused_for_the_other_defect() -> None:
    with pytest.raises(MalformedPackage, match="mismatch"):
        parse_xml(f'<edXML xmlns="{EDXML_NS}"><b><Reference xlink:href=""/></c></edXML>'.encode())


def test_root_that_is_not_edxml_is_refused_as_not_an_edxml_package() -> None:
    with pytest.raises(NotAnEdxmlPackage):
        read_package(b"<edXML><edXMLEnvelope/></edXML>")  # right name, no namespace
    with pytest.raises(NotAnEdxmlPackage):
        read_package(b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>')
