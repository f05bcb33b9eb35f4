"""The hardened XML parser: the one way vbus turns bytes into an lxml tree.

Refused, each with its own error class (``vbcore.errors``):
- any DOCTYPE (``ForbiddenXmlConstruct``): no DTD, so no entity can be declared, so no XXE, no
  billion laughs, no quadratic blowup. ``resolve_entities=False`` alone is not enough: lxml then
  leaves an external entity unexpanded and accepts the document (docs/measurements.md);
- more than ``max_bytes`` (``PackageTooLarge``), checked before a byte is parsed;
- more than ``max_elements`` elements (``TooManyElements``), bounded before the parse by counting
  ``<`` (every element starts with one) so a package of a million empty elements never becomes a
  tree of a million nodes;
- more than ``max_namespace_declarations`` ``xmlns`` declarations (``TooManyNamespaces``), counted
  before the parse too: they make canonicalising the signed tree super-linear;
- elements nested deeper than ``max_depth`` (``PackageTooDeep``): libxml2 itself stops at 256
  levels, the configured limit is checked after the parse by one XPath;
- anything not well-formed (``MalformedPackage``, with libxml2's message, line and column).
  lxml's recover mode is never used: a repaired guess is not what the sender signed.

One repair, because real producers need it: a ``xlink:`` (or ``edXML:``) prefix used without a
declaration (the VPCP SDK samples). When that is the *only* defect, the prefix is declared on the
root element with the one namespace it can mean, the document is parsed again and the result
carries a warning. Any other defect is refused.
"""

from __future__ import annotations

import re
import threading
from typing import Any, NamedTuple

from lxml import etree

from vbcore.deviations import PREFIX_REPAIRED, Deviation
from vbcore.edxml.limits import DEFAULT_LIMITS, MiB, ParseLimits
from vbcore.edxml.names import WELL_KNOWN_PREFIXES
from vbcore.edxml.xml_messages import TOO_LONG_TEXT_VI, parse_error_vi
from vbcore.errors import (
    ForbiddenXmlConstruct,
    MalformedPackage,
    PackageTooDeep,
    PackageTooLarge,
    TooManyElements,
    TooManyNamespaces,
)

__all__ = ["DEFAULT_LIMITS", "ParseLimits", "parse_document", "parse_xml"]


class Parsed(NamedTuple):
    """A parsed tree and what the parser had to repair to get it."""

    root: etree._Element
    warnings: tuple[Deviation, ...]


# libxml2 refuses a text node over 10 MB unless ``huge_tree`` is on: a package with an attachment
# over ~7.5 MB needs it. ``huge_tree`` only lifts libxml2's own size caps; it is safe here because
# every DOCTYPE is refused (so no entity can expand), size is checked before parsing and depth after.
HUGE_TREE_ABOVE = 8 * MiB


def new_parser(target: Any = None, *, huge: bool = False) -> etree.XMLParser:
    """A fresh hardened parser (one per thread or per streaming parse: parsers keep state)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge,
        collect_ids=False,
        target=target,
    )


_per_thread = threading.local()


def _thread_parser(huge: bool = False) -> etree.XMLParser:
    """This thread's tree parser (a parser must not serve two threads at once; its log resets per parse)."""
    attr = "huge_parser" if huge else "parser"
    parser: etree.XMLParser | None = getattr(_per_thread, attr, None)
    if parser is None:
        parser = new_parser(huge=huge)
        setattr(_per_thread, attr, parser)
    return parser


def parse_xml(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse ``data`` with every hardening above; return the root element."""
    return parse_document(data, limits).root


def parse_document(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Parsed:
    """``parse_xml`` that also returns the repair warnings (the reader reports them)."""
    check_before_parse(data, limits)
    return parse_checked(data, limits, huge=len(data) > HUGE_TREE_ABOVE)


def check_before_parse(data: bytes, limits: ParseLimits) -> None:
    """Every check made on the bytes before they are parsed: size, DOCTYPE, elements, namespaces."""
    check_size(len(data), limits)
    refuse_doctype(data)
    check_markup_count(data, limits)
    check_namespace_count(data, limits)


def parse_checked(data: bytes, limits: ParseLimits, *, huge: bool) -> Parsed:
    """Parse bytes ``check_before_parse`` passed (or others derived from them: ``vbcore.edxml.aside``),
    with the prefix repair; the DOCTYPE and depth checks after the parse."""
    repaired: list[str] = []
    while True:
        parser = _thread_parser(huge=huge)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as err:
            fixable = repairable_prefixes(parser.error_log, done=repaired)
            if not fixable:
                raise translate_error(err, parser.error_log) from None
            data = declare_on_root(data, fixable)
            repaired.extend(fixable)
            continue
        break
    refuse_dtd_of(root)
    check_depth(root, limits)
    return Parsed(root, repair_warnings(repaired))


def check_size(size: int, limits: ParseLimits) -> None:
    if size > limits.max_bytes:
        raise PackageTooLarge(size, limits.max_bytes)


def check_markup_count(data: bytes, limits: ParseLimits) -> None:
    """Refuse, before parsing, a package that could hold more than ``max_elements`` elements.

    Every element begins with ``<`` and a well-formed one that is not empty ends with ``</``: more
    than twice the limit of ``<`` cannot be a package within it (``bytes.count`` runs at memory speed;
    text holds ``<`` only inside CDATA and comments, which real packages do not fill with markup).
    """
    tags = data.count(b"<")
    if tags > 2 * limits.max_elements:
        raise TooManyElements(
            f"the package holds {tags} '<': more than the {limits.max_elements} elements accepted",
            vi=f"gói tin có {tags} ký tự '<': vượt quá {limits.max_elements} phần tử cho phép",
        )


_DECLARATION = re.compile(rb"\sxmlns(?::[^\s=/>]+)?\s*=")


def check_namespace_count(data: bytes, limits: ParseLimits) -> None:
    """Refuse, before parsing, more than ``max_namespace_declarations`` ``xmlns`` declarations.

    ``bytes.count`` first (memory speed; an upper bound); only a package over the limit by that
    count is searched for real declarations (attribute names ``xmlns`` or ``xmlns:p``).
    """
    limit = limits.max_namespace_declarations
    if data.count(b"xmlns") <= limit:
        return
    declared = sum(1 for _ in _DECLARATION.finditer(data))
    if declared > limit:
        raise too_many_namespaces(declared, limit)


def too_many_namespaces(declared: int, limit: int, where: str = "") -> TooManyNamespaces:
    at, at_vi = (f" (at {where})", f" (tại {where})") if where else ("", "")
    return TooManyNamespaces(
        f"the package declares {declared} XML namespaces (xmlns); at most {limit} are accepted{at}",
        vi=f"gói tin khai báo {declared} không gian tên XML (xmlns); chỉ chấp nhận tối đa {limit}{at_vi}",
    )


def repair_warnings(prefixes: list[str]) -> tuple[Deviation, ...]:
    return tuple(Deviation(PREFIX_REPAIRED, p) for p in prefixes)


# --- DOCTYPE -------------------------------------------------------------------------------------

_DOCTYPE = b"<!DOCTYPE"


def refuse_doctype(data: bytes) -> None:
    """Refuse a DOCTYPE in the prolog before parsing (fast, and gives its line).

    Only the bytes before the root element's start tag are searched; ``refuse_dtd_of`` after the
    parse catches what this byte scan cannot see (e.g. a UTF-16 document).
    """
    at = data.find(_DOCTYPE, 0, _prolog_end(data))
    if at >= 0:
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        raise doctype_refused(line, column)


def refuse_dtd_of(root: etree._Element) -> None:
    info = root.getroottree().docinfo
    doctype = getattr(info, "doctype", "")  # not in lxml-stubs 0.5
    if doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise doctype_refused()


def doctype_refused(line: int | None = None, column: int | None = None) -> ForbiddenXmlConstruct:
    return ForbiddenXmlConstruct(
        "DOCTYPE declarations are not allowed", line, column, vi="không được dùng khai báo DOCTYPE"
    )


_ROOT_START = re.compile(rb"<[A-Za-z_]")


def _prolog_end(data: bytes) -> int:
    m = _ROOT_START.search(data)
    return m.start() if m else len(data)


# --- depth -----------------------------------------------------------------------------------------


def _deeper_than(depth: int) -> etree.XPath:
    # One compiled XPath walks the tree in C: is there an element at level depth + 1? Compiled
    # XPath objects are kept per thread (lxml does not promise they may be shared across threads).
    cache: dict[int, etree.XPath] = _per_thread.__dict__.setdefault("xpaths", {})
    if depth not in cache:
        cache[depth] = etree.XPath("boolean(/" + "/".join(["*"] * (depth + 1)) + ")")
    return cache[depth]


def check_depth(root: etree._Element, limits: ParseLimits) -> None:
    if _deeper_than(limits.max_depth)(root):
        raise too_deep(limits)


def too_deep(limits: ParseLimits) -> PackageTooDeep:
    return PackageTooDeep(
        f"elements nest deeper than {limits.max_depth} levels",
        vi=f"các phần tử lồng nhau sâu hơn {limits.max_depth} cấp",
    )


# --- errors and the prefix repair ------------------------------------------------------------------

_UNDEFINED_PREFIX = re.compile(r"Namespace prefix (\S+) (?:for \S+ )?on \S+ is not defined")


def repairable_prefixes(log: etree._ListErrorLog, *, done: list[str]) -> list[str]:
    """The well-known prefixes to declare, if every error in ``log`` is one of them undefined."""
    found: list[str] = []
    for entry in log:
        if entry.level_name == "WARNING":
            continue
        m = _UNDEFINED_PREFIX.search(entry.message)
        if entry.type_name != "NS_ERR_UNDEFINED_NAMESPACE" or not m:
            return []
        prefix = m.group(1)
        if prefix not in WELL_KNOWN_PREFIXES or prefix in done:
            return []
        if prefix not in found:
            found.append(prefix)
    return found


def declare_on_root(data: bytes, prefixes: list[str]) -> bytes:
    """Insert ``xmlns:<prefix>="..."`` declarations right after the root element's name."""
    m = re.compile(rb"<[^\s/>!?]+").search(data, _prolog_end(data))
    if m is None:  # no root element: nothing to repair (the caller's parse error stands)
        return data
    decls = b"".join(f' xmlns:{p}="{WELL_KNOWN_PREFIXES[p]}"'.encode() for p in prefixes)
    return data[: m.end()] + decls + data[m.end() :]


def translate_error(err: etree.XMLSyntaxError, log: etree._ListErrorLog) -> MalformedPackage:
    """The project's error for libxml2's first real error, with its line and column."""
    entries = [e for e in log if e.level_name != "WARNING"] or list(log)
    if entries:
        first = next((e for e in entries if e.type_name != "NS_ERR_UNDEFINED_NAMESPACE"), entries[0])
        message, line, column, kind = first.message.strip(), first.line, first.column, first.type_name
    else:
        message = re.sub(r", line \d+, column \d+$", "", str(err.msg))
        line, column = err.position if err.position else (None, None)
        kind = ""
    vi = parse_error_vi(kind, message)
    if "Excessive depth" in message:
        return PackageTooDeep(f"elements nest too deep: {message}", line, column, vi=vi)
    if "Text node too long" in message or "Resource limit exceeded" in message:
        return MalformedPackage(
            f"{message} (the tree parser stops at 10 MB of text; read_package streams larger attachments)",
            line,
            column,
            vi=TOO_LONG_TEXT_VI,
        )
    return MalformedPackage(message, line, column, vi=vi)
