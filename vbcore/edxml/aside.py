"""An attachment's base64 held aside: a tree without it, and the text as the bytes it is in the package.

Signing and verifying a package canonicalise, copy and serialise its tree; an attachment's base64 is
almost all of it (a 50 MB attachment: 66.7 of a 67 MiB package), and each copy of it costs the
package's size in memory. So the base64 is kept out of the tree: a random mark stands in its place
(``vbus-aside-<hex>``: not base64, so a reader that is not given the text refuses to decode it), and
whoever writes the canonical form or the signed output writes the text where its mark is
(``Aside.pieces``): byte for byte the same output as with the text in the tree.

``parse_aside`` never puts the text in a tree at all: it finds each ``ContentTransferEncoded``'s
text in the bytes, parses the bytes with a mark in its place, and holds the text as a ``memoryview``
of the bytes it was given (no copy: a 67 MiB package costs the metadata's tree, not a second 67 MiB in
libxml2 and a third as a Python string; issue 13). Only a text over ``ASIDE_ABOVE`` made of base64's
characters and whitespace other than carriage returns is held so: a text libxml2 reads exactly as its
bytes (no reference, no markup, no line end to normalise) and that both the canonical form and the
serialiser write exactly as they are. Every check of the hardened parser runs on the bytes as sent;
the marked bytes are parsed with the same parser. Then each mark must be the whole text of a
``ContentTransferEncoded`` element without children (where else could it be: in a comment, an
attribute, a tail, CDATA?), else the package is parsed whole, as it would be without this module,
and so is a package the marked bytes do not parse as: its error is said about the bytes as sent.

``Aside.take`` does the same for a tree already parsed (a ``ContentTransferEncoded``'s text over
``ASIDE_ABOVE`` that both forms write as it is), at the cost of the text's copy while it is taken out.
Only an attachment's base64: it is the one text a reader looks up by its mark (``read_element(aside=)``);
any other (a 1 MiB ``Subject``) would be verified as sent and read as its mark.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from lxml import etree

from vbcore.deviations import Deviation
from vbcore.edxml.limits import DEFAULT_LIMITS, MiB, ParseLimits
from vbcore.edxml.names import tag
from vbcore.edxml.parser import (
    HUGE_TREE_ABOVE,
    check_before_parse,
    check_size,
    parse_checked,
    parse_document,
)
from vbcore.errors import SignatureInvalid, VbusError

__all__ = ["ASIDE_ABOVE", "Aside", "HeldText", "Parsed", "parse_aside"]

ASIDE_ABOVE = MiB
"""A text longer than this (an attachment's base64) is held aside while a package is signed or verified."""

HeldText = bytes | memoryview
"""A text held aside, UTF-8 (the base64 of ``parse_aside``: ASCII, a view of the package's bytes)."""

_CONTENT_TAG = tag("ContentTransferEncoded")
# The reader reads an unqualified ContentTransferEncoded too (an edXML: prefix left undeclared).
_CONTENT_TAGS = (_CONTENT_TAG, "ContentTransferEncoded")
_CONTENT = b"ContentTransferEncoded"
# Written as they are by libxml2's parser, its canonical form and its serialiser: no '&', '<', '>',
# no carriage return (read as a line feed), nothing outside ASCII.
_AS_IS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\t\n "
_SCAN = MiB
_ESCAPED = ("&", "<", ">", "\r")
_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
_ASCII_ENCODINGS = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})


class Parsed(NamedTuple):
    """A package's tree, the texts it holds a mark for, and what the parser had to repair."""

    root: etree._Element
    aside: Aside
    warnings: tuple[Deviation, ...]


class Aside:
    """Texts taken out of a tree, by the mark that stands for each in it: held (``texts``), or made again
    each time they are written (``streams``: an attachment's base64 from its content, for a package
    signed as it is written, ``vbcore.edxml.writer.write_package_to``)."""

    def __init__(self) -> None:
        self.texts: dict[str, HeldText] = {}
        self.streams: dict[str, Callable[[], Iterable[bytes]]] = {}

    @property
    def held(self) -> bool:
        return bool(self.texts or self.streams)

    def hold(self, text: HeldText, lines: int = 0) -> str:
        """A mark for ``text``, ending in ``lines`` line feeds (``parse_aside``: as many as the text has, so
        that every element after it is on the line it is on in the package, ``sourceline``)."""
        mark = _new_mark() + "\n" * lines
        self.texts[mark] = text
        return mark

    def stream(self, text: Callable[[], Iterable[bytes]]) -> str:
        """A mark for the text ``text()`` gives, in chunks, each time it is called."""
        mark = _new_mark()
        self.streams[mark] = text
        return mark

    def take(self, root: Any, above: int = ASIDE_ABOVE) -> None:
        """Take out of ``root`` every ``ContentTransferEncoded`` leaf text longer than ``above`` that both
        forms write as it is (module docstring: no other text is read by its mark), and not a mark already
        (one ending in a held text's line feeds can be that long)."""
        for element in root.iter(*_CONTENT_TAGS):
            if len(element):
                continue
            text = element.text
            if text is None or len(text) <= above or text in self.texts or text in self.streams:
                continue
            if not any(c in text for c in _ESCAPED):
                element.text = self.hold(text.encode())

    def pieces(self, data: bytes) -> Iterator[HeldText]:
        """``data`` (a canonical form or a serialisation of the tree) with each mark it holds replaced by
        its text. A mark the form does not hold (its element was left out: the enveloped signature) is
        skipped; a mark found twice cannot be a mark (it is random), and is refused."""
        found = []
        for mark in [*self.texts, *self.streams]:
            at = data.find(mark.encode())
            if at >= 0:
                if data.find(mark.encode(), at + 1) >= 0:
                    raise SignatureInvalid(
                        "the package repeats a mark vbus put in it", vi="gói tin lặp lại dấu vbus đặt vào"
                    )
                found.append((at, mark))
        view = memoryview(data)
        done = 0
        for at, mark in sorted(found):
            yield view[done:at]
            if mark in self.texts:
                yield self.texts[mark]
            else:
                yield from self.streams[mark]()
            done = at + len(mark)
        yield view[done:]

    def joined(self, data: bytes) -> bytes:
        """``data`` with the texts in place, written piece by piece into one buffer (``getvalue`` hands it
        over without a copy; a streamed text is never whole but there)."""
        out = io.BytesIO()
        for piece in self.pieces(data):
            out.write(piece)
        return out.getvalue()


def _new_mark() -> str:
    return f"vbus-aside-{secrets.token_hex(16)}"


def parse_aside(data: bytes, limits: ParseLimits = DEFAULT_LIMITS, above: int = ASIDE_ABOVE) -> Parsed:
    """``parse_document``'s tree with each attachment's base64 over ``above`` held aside (module
    docstring); the same refusals, said about ``data``. A buffer that can change (``bytearray``, ``mmap``)
    is copied first: a text held as a view of it would be read as it is when read, not as it was verified."""
    check_size(len(data), limits)
    if not isinstance(data, bytes):
        data = bytes(data)
    regions = _regions(data, above) if len(data) > above and _ascii_compatible(data) else []
    if not regions:
        return _whole(data, limits)
    check_before_parse(data, limits)
    view = memoryview(data)
    aside = Aside()
    pieces: list[HeldText] = []
    done = 0
    for start, end in regions:
        pieces += [view[done:start], aside.hold(view[start:end], data.count(b"\n", start, end)).encode()]
        done = end
    pieces.append(view[done:])
    try:
        parsed = parse_checked(b"".join(pieces), limits, huge=len(data) > HUGE_TREE_ABOVE)
    except VbusError:
        return _whole(data, limits)
    if not _in_place(parsed.root, aside):
        return _whole(data, limits)
    return Parsed(parsed.root, aside, parsed.warnings)


def _whole(data: bytes, limits: ParseLimits) -> Parsed:
    parsed = parse_document(data, limits)
    return Parsed(parsed.root, Aside(), parsed.warnings)


def _regions(data: bytes, above: int) -> list[tuple[int, int]]:
    """Where a text over ``above`` that may be a ``ContentTransferEncoded``'s stands in ``data``: after
    the first ``>`` following the element's name, up to the next ``<``, all of it written as it is."""
    found = []
    at = data.find(_CONTENT)
    while at >= 0:
        start = data.find(b">", at) + 1
        end = data.find(b"<", start) if start else -1
        if end < 0:
            break
        if end - start > above and _as_is(data, start, end):
            found.append((start, end))
        at = data.find(_CONTENT, max(end, at + 1))
    return found


def _as_is(data: bytes, start: int, end: int) -> bool:
    """Every byte of ``data[start:end]`` is one of ``_AS_IS`` (read a megabyte at a time: 0.06 s for
    67 MiB, against 0.14 s for a regular expression)."""
    view = memoryview(data)
    return not any(
        bytes(view[at : min(at + _SCAN, end)]).translate(None, _AS_IS) for at in range(start, end, _SCAN)
    )


def _ascii_compatible(data: bytes) -> bool:
    """The package is read as UTF-8 (or ASCII): a byte of base64's alphabet is that character."""
    at = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    if data.startswith(b"<?xml", at):
        declaration = _DECLARATION.match(data, at)
        if declaration is None:
            return False
        encoding = _ENCODING.search(declaration.group())
        return encoding is None or encoding.group(1).lower() in _ASCII_ENCODINGS
    return data[at : at + 1] == b"<" and data[at + 1 : at + 2] not in (b"", b"\x00")


def _in_place(root: etree._Element, aside: Aside) -> bool:
    """Each mark is the whole text of a ``ContentTransferEncoded`` without children."""
    left = set(aside.texts)
    for element in root.iter(_CONTENT_TAG):
        text = element.text
        if text in left and len(element) == 0:
            left.discard(text)
    return not left
