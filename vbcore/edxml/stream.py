"""Streaming parse of large packages: the tree without the attachments' base64 text.

A target parser (lxml's SAX-style ``target=``) hands the text of every ``ContentTransferEncoded``
to a ``Base64Decoder`` in the chunks libxml2 reads, and everything else to an lxml ``TreeBuilder``.
The result is an ordinary tree (for ``read_element``) plus the decoded content of each
``ContentTransferEncoded`` element, spooled to files when large: memory stays near the size of the
metadata, not of the attachments. (iterparse would not do: it hands over an element's text whole,
and libxml2 refuses a text node over 10 MB unless ``huge_tree`` is on.)

The same hardening as ``parser.parse_document``: size checked first, DOCTYPE refused, depth and
the number of elements bounded while parsing, the package's decoded and spooled totals counted in
one ``Budget``. An element or attribute name that libxml2 lets through in this mode but lxml's tree
cannot hold (``edXML:8Type``, ``a:b:c``) is refused with the path of the element it appears in.
One difference: in this mode libxml2 silently drops an undeclared prefix (the element
arrives with no namespace), so there is no repair to make; the reader takes unqualified names as
edXML and the result carries a warning.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from lxml import etree

from vbcore.deviations import UNQUALIFIED_ELEMENTS, Deviation
from vbcore.edxml.attachments import Base64Decoder, Spool
from vbcore.edxml.limits import Budget, ParseLimits
from vbcore.edxml.names import tag
from vbcore.edxml.parser import (
    check_size,
    doctype_refused,
    new_parser,
    refuse_doctype,
    too_deep,
    too_many_namespaces,
    translate_error,
)
from vbcore.errors import (
    MalformedPackage,
    PackageTooLarge,
    TooManyElements,
    VbusError,
)
from vbcore.model import Blob

CHUNK = 1 << 16
# Undeclared prefixes reach a target parser dropped (libxml2 reports no error in this mode): an
# ``edXML:ContentTransferEncoded`` without its declaration arrives with no namespace.
_CONTENT = frozenset({tag("ContentTransferEncoded"), "ContentTransferEncoded"})


class StreamedTree(NamedTuple):
    """A parsed tree whose ``ContentTransferEncoded`` texts were decoded aside into ``decoded``."""

    root: etree._Element
    decoded: dict[etree._Element, Blob]
    warnings: tuple[Deviation, ...]


def parse_streaming(
    source: bytes | Path, limits: ParseLimits, spool_dir: Path | None, budget: Budget | None = None
) -> StreamedTree:
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    check_size(size, limits)
    target = _Target(limits, spool_dir, budget or Budget(limits))
    parser = new_parser(target=target)
    try:
        for chunk in _chunks(source):
            parser.feed(chunk)
            target.fed += len(chunk)
            if target.fed > limits.max_bytes:  # the file grew while we read it
                raise PackageTooLarge(target.fed, limits.max_bytes)
        root = parser.close()
    except etree.XMLSyntaxError as err:
        target.discard()
        if target.failure is not None:
            raise target.failure from None
        raise translate_error(err, parser.error_log) from None
    except BaseException as err:
        target.discard()
        if target.failure is not None and target.failure is not err:
            raise target.failure from None
        raise
    if root is None:
        raise MalformedPackage("no root element", vi="không có phần tử gốc")
    warnings = (Deviation(UNQUALIFIED_ELEMENTS),) if target.unqualified else ()
    return StreamedTree(root, target.decoded, warnings)


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    with contextlib.ExitStack() as stack:
        if isinstance(source, bytes):
            view = memoryview(source)
            pieces: Iterator[bytes] = (bytes(view[i : i + CHUNK]) for i in range(0, len(view), CHUNK))
        else:
            f = stack.enter_context(source.open("rb"))
            pieces = iter(lambda: f.read(CHUNK), b"")
        head = next(pieces, b"")
        refuse_doctype(head)
        yield head
        yield from pieces


class _Target:
    """lxml parser target: tree for the metadata, decoders for the attachments' base64."""

    def __init__(self, limits: ParseLimits, spool_dir: Path | None, budget: Budget) -> None:
        # Any: lxml-stubs 0.5 has TreeBuilder.start without nsmap and end returning None (both wrong).
        self._builder: Any = etree.TreeBuilder()
        self._limits = limits
        self._spool_dir = spool_dir
        self._budget = budget
        self._path: list[str] = []  # local names of the open elements, for errors
        self._elements = 0
        self._namespaces = 0
        self._decoder: Base64Decoder | None = None
        self.decoded: dict[etree._Element, Blob] = {}
        self.fed = 0
        self.failure: VbusError | None = None
        self.unqualified = False

    def start(self, name: str, attrib: dict[str, str], nsmap: dict[str, str] | None = None) -> None:
        self._path.append(name.rsplit("}", 1)[-1])
        if len(self._path) > self._limits.max_depth:
            self._fail(too_deep(self._limits))
        self._elements += 1
        if self._elements > self._limits.max_elements:
            limit = self._limits.max_elements
            self._fail(
                TooManyElements(
                    f"the package holds more than the {limit} elements accepted (at {self.where()})",
                    vi=f"gói tin có hơn {limit} phần tử cho phép (tại {self.where()})",
                )
            )
        if nsmap:
            self._namespaces += len(nsmap)  # a target parser is handed the element's own declarations
            if self._namespaces > self._limits.max_namespace_declarations:
                limit = self._limits.max_namespace_declarations
                self._fail(too_many_namespaces(self._namespaces, limit, self.where()))
        if not name.startswith("{"):
            self.unqualified = True
        if name in _CONTENT:
            label = f"#{len(self.decoded) + 1}"
            self._decoder = Base64Decoder(Spool(self._spool_dir, self._budget, label), label, self._budget)
        # lxml hands the default namespace over as prefix '' but wants None back.
        namespaces = {(k or None): v for k, v in nsmap.items()} if nsmap else None
        try:
            self._builder.start(name, attrib, namespaces)
        except ValueError as err:  # a name libxml2 passed in this mode but an lxml tree cannot hold
            self._fail(
                MalformedPackage(
                    f"{err} (element {self.where()})",
                    vi=f"tên phần tử hoặc thuộc tính không hợp lệ tại {self.where()}",
                )
            )

    def where(self) -> str:
        return "/" + "/".join(self._path)

    def end(self, name: str) -> etree._Element:
        if self._path:
            self._path.pop()
        element: etree._Element = self._builder.end(name)
        if name in _CONTENT and self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            try:
                self.decoded[element] = decoder.close()
            except VbusError as err:
                self._fail(err)
        return element

    def data(self, text: str) -> None:
        if self._decoder is not None:
            try:
                self._decoder.feed(text)
            except VbusError as err:
                self._fail(err)
        else:
            self._builder.data(text)

    def doctype(self, *_: Any) -> None:
        self._fail(doctype_refused())

    def _fail(self, err: VbusError) -> NoReturn:
        # lxml stores an error raised in a callback and then still calls close(): remember ours so
        # close() re-raises it instead of the tree builder's "missing end tags".
        self.failure = err
        raise err

    def close(self) -> etree._Element | None:
        if self.failure is not None:
            raise self.failure
        try:
            root: etree._Element = self._builder.close()
        except etree.XMLSyntaxError:
            return None  # libxml2 stopped early: lxml raises its error (with line) next
        return root

    def discard(self) -> None:
        """Delete what a failed parse spooled."""
        if self._decoder is not None:
            self._decoder.abort()
        for blob in self.decoded.values():
            if blob.path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(blob.path)
        self.decoded.clear()
