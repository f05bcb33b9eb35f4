"""Where an element stands in the bytes it was parsed from: its line and column, for refusals.

libxml2 gives a parse error its line and column, but a parsed element only its line (``sourceline``),
and none at all to a tree built by the streaming parser. A refusal must say both, also for a package
written on one line (as several producers write theirs), so the bytes are read once more with expat
(the standard library's parser, in C), counting start tags: the n-th element of the tree in document
order is the n-th start tag. This runs only when something is refused, on bytes the hardened parser
has already accepted (no DOCTYPE, so no entity; size and element count bounded): its cost is one linear
pass, whatever the number of elements asked for.

``element_at(root, path)`` finds the element a reader's path names (``edXML/edXMLEnvelope/edXMLHeader/
MessageHeader/To[2]/OrganId``), or the nearest ancestor that exists when the path names a missing one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from lxml import etree

from vbcore.edxml.fields import local_name
from vbcore.errors import PackageRefused

Position = tuple[int, int]  # line, column (both from 1, as libxml2 counts them)
_CHUNK = 1 << 16
_STEP = re.compile(r"(?P<name>[^\[\]/]+)(?:\[(?P<index>\d+)\])?")


class _Found(Exception):
    """Raised inside expat's handler to stop reading once every wanted element was met."""


def element_positions(
    source: bytes | Path, root: etree._Element, elements: Iterable[etree._Element]
) -> dict[etree._Element, Position]:
    """The line and column of each of ``elements`` (of the tree ``root``, parsed from ``source``).

    An element not found (a tree that does not come from these bytes, an encoding expat cannot read)
    is left out: the caller falls back to the line it has.
    """
    wanted_elements = list(elements)
    if not wanted_elements:
        return {}
    order = {e: i for i, e in enumerate(e for e in root.iter() if isinstance(e.tag, str))}
    wanted: dict[int, list[etree._Element]] = {}
    for element in wanted_elements:
        index = order.get(element)
        if index is not None:
            wanted.setdefault(index, []).append(element)
    if not wanted:
        return {}
    found: dict[etree._Element, Position] = {}
    last = max(wanted)
    parser = expat.ParserCreate()
    counter = iter(range(last + 1))

    def start(_name: str, _attributes: Any) -> None:
        index = next(counter)
        for element in wanted.get(index, ()):
            found[element] = (parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if index == last:
            raise _Found

    parser.StartElementHandler = start
    # Best effort: whatever expat cannot read (an encoding it lacks), the caller keeps the line it has.
    with contextlib.suppress(Exception):
        for chunk in _chunks(source):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return found


def element_position(
    source: bytes | Path | None, root: etree._Element, element: etree._Element
) -> tuple[int | None, int | None]:
    """One element's line and column; without ``source`` (or when not found), its line only."""
    if source is not None:
        found = element_positions(source, root, [element]).get(element)
        if found is not None:
            return found
    line = element.sourceline
    return (line if isinstance(line, int) else None, None)


def element_at(root: etree._Element, path: str) -> etree._Element:
    """The element ``path`` names (local names, ``[n]`` from 1), or its nearest existing ancestor."""
    steps = [s for s in path.strip("/").split("/") if s]
    node = root
    for step in steps[1:]:  # the first step is the root itself
        m = _STEP.fullmatch(step)
        if m is None:
            break
        same = [c for c in node if isinstance(c.tag, str) and local_name(c) == m["name"]]
        index = int(m["index"]) if m["index"] else 1
        if index > len(same):
            break
        node = same[index - 1]
    return node


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for at in range(0, len(source), _CHUNK):
            yield source[at : at + _CHUNK]
        return
    with source.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def locate_refusal(err: PackageRefused, root: etree._Element, source: bytes | Path | None) -> None:
    """Add the line and column of the element a refusal names by its path (``err.path``), once."""
    if err.line is not None or not err.path:
        return
    line, column = element_position(source, root, element_at(root, err.path))
    err.locate(line, column)
