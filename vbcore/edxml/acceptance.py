"""What vbus accepts: the one decision on a package, which the hub and every ``vb`` command use.

A package is refused, saying why and where (line and column), or read, with every way it differs from
QCVN 102:2016 named (``vbcore.deviations``). The decision is made in one place, in this order:

1. another dialect is recognised and refused by name (``dialects``: the older SOAP + MIME edXML of
   e-doc.vn, the provincial go.vn/eDoc one);
2. the hardened parse (``parser``, ``stream``);
3. the schemas (``schema``): vbus's reading profile, strict where a package is refused and lenient
   exactly where a deviation is read with a warning, plus the one check XSD 1.0 cannot state (a
   manifest reference names an attachment, ``cid:`` or not: ``content_ids``);
4. the deviation rules (``deviation_rules``): the name of each deviation the schemas let through;
5. the reader (``reader``): values that must read (dates that exist, base64, ZIP, limits).

Why the schemas and the rules together, rather than a reader that decides alone: the XSDs are what
other producers can check their packages against, and the hub validates with them in C for a few
hundredths of a millisecond. So they are kept as the contract, loosened only where a real producer's
deviation is read, and each loosening has its rule and its code; a test checks that each deviation
passes the schemas and carries its warning, and that what the schemas refuse is refused by ``vb show``
as by ``vb validate`` (they both call ``examine``/``report`` here). The reader stays lenient on its own
(``read_package``): a tool reading what the hub already accepted needs no second decision.

The hub parses once and calls ``accept_tree`` on its tree, then verifies the signature and reads the
verified tree without decoding attachments; ``examine`` is the same decision for a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from lxml import etree

from vbcore.deviations import UNQUALIFIED_ELEMENTS, Deviation, summarise
from vbcore.edxml import deviation_rules, schema
from vbcore.edxml.aside import Aside, parse_aside
from vbcore.edxml.dialects import refuse_foreign_bytes, refuse_other_roots
from vbcore.edxml.limits import DEFAULT_LIMITS, ParseLimits
from vbcore.edxml.names import EDXML_NS
from vbcore.edxml.parser import parse_xml
from vbcore.edxml.reader import Parsed, ReadResult, parse_source, read_parsed
from vbcore.errors import PackageRefused
from vbcore.model import Edoc, StatusPackage


def accept_tree(root: etree._Element, source: bytes | Path | None = None) -> tuple[Deviation, ...]:
    """The decision on a parsed tree (as sent, signature included): raise what refuses it (another
    dialect, a schema problem), else return the deviations it is read with. ``source``: the bytes it
    was parsed from, for columns."""
    refuse_other_roots(root, source)
    schema.check(root, source=source)
    return tuple(deviation_rules.find(root))  # summarised with the reader's own (``summarise``)


def examine(
    source: bytes | Path, *, limits: ParseLimits = DEFAULT_LIMITS, spool_dir: Path | None = None
) -> ReadResult:
    """Read one package as vbus accepts it (``vb show``, ``vb unpack``): refused (``PackageRefused``,
    with line and column) or read with its warnings."""
    parsed = parse_source(source, limits=limits, spool_dir=spool_dir)
    try:
        deviations = accept_tree(_qualified(parsed), parsed.source)
    except PackageRefused:
        _discard(parsed)  # what a streaming parse decoded aside
        raise
    return read_parsed(parsed, deviations, limits=limits, spool_dir=spool_dir)


@dataclass(frozen=True)
class Problem:
    """One reason a package is refused, for ``vb validate``: what (both languages) and where."""

    message: str
    message_vi: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "message_vi": self.message_vi, "path": self.path,
                "line": self.line, "column": self.column}  # fmt: skip


@dataclass(frozen=True)
class Report:
    """Everything ``vb validate`` says of one package: each problem (none: accepted), the warnings."""

    problems: list[Problem] = field(default_factory=list)
    warnings: tuple[Deviation, ...] = ()
    package: Edoc | StatusPackage | None = None

    @property
    def accepted(self) -> bool:
        return not self.problems


def report(source: bytes | Path, *, explain: bool = False, limits: ParseLimits = DEFAULT_LIMITS) -> Report:
    """The same decision as ``examine``, with every schema problem listed rather than the first
    refusal (``explain``: xmlschema's fuller messages)."""
    try:
        parsed = parse_source(source, limits=limits)
    except PackageRefused as err:  # not XML (or another dialect's MIME): nothing more to say
        return Report([_problem_of(err)])
    try:
        refuse_other_roots(parsed.root, parsed.source)
    except PackageRefused as err:  # not edXML: the schemas have nothing to add
        _discard(parsed)
        return Report([_problem_of(err)])
    root = _qualified(parsed)
    check = schema.explain if explain else schema.validate
    problems = [
        Problem(p.message, p.message_vi, p.path, p.line, p.column) for p in check(root, source=parsed.source)
    ]
    deviations = tuple(deviation_rules.find(root))
    try:
        result = read_parsed(parsed, deviations, limits=limits)
    except PackageRefused as err:
        said = {p.path for p in problems}
        again = err.path is not None and f"/{err.path}" in said  # the schema named that element already
        return Report(problems if again else [*problems, _problem_of(err)], summarise(deviations))
    return Report(problems, result.warnings, None if problems else result.package)


def _problem_of(err: PackageRefused) -> Problem:
    return Problem(str(err), err.detail_vi or err.reason_vi, err.path, err.line, err.column)


def _qualified(parsed: Parsed) -> etree._Element:
    """The tree the schemas check. A streamed parse drops an undeclared prefix (its elements arrive
    with no namespace, and the reader takes them as edXML, with a warning): the schemas do the same."""
    if not any(w.code == UNQUALIFIED_ELEMENTS for w in parsed.warnings):
        return parsed.root
    for element in parsed.root.iter():
        if isinstance(element.tag, str) and not element.tag.startswith("{"):
            element.tag = f"{{{EDXML_NS}}}{element.tag}"
    return parsed.root


def _discard(parsed: Parsed) -> None:
    for blob in parsed.decoded.values():
        if blob.path is not None:
            blob.path.unlink(missing_ok=True)


class Accepted(NamedTuple):
    """A package's tree as the hub parsed it, the deviations it is read with, and the texts it holds a
    mark for (``vbcore.edxml.aside``: an attachment's base64, left in the bytes)."""

    root: etree._Element
    deviations: tuple[Deviation, ...]
    aside: Aside | None = None


def accept(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Accepted:
    """The decision on bytes in hand (the hub's): dialect, hardened parse (one tree, never streamed:
    the hub holds the bytes anyway; an attachment's base64 held aside, where the schemas read a string
    as they read the mark in its place), schemas, deviations. Raises what refuses it, with line and
    column: a package refused with its base64 aside is judged again whole, so that what is said of it
    is what is said of the tree as sent."""
    refuse_foreign_bytes(data)
    parsed = parse_aside(data, limits)
    try:
        return Accepted(parsed.root, accept_tree(parsed.root, data), parsed.aside)
    except PackageRefused:
        if not parsed.aside.texts:
            raise
    root = parse_xml(data, limits)
    return Accepted(root, accept_tree(root, data))
