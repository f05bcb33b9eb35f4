"""Schema validation of edXML packages against the XSDs that ship in ``vbcore.xsd``.

Two validators, each for what it does best (figures from docs/measurements.md, a 10 KB package):

- ``validate`` / ``check`` use lxml's ``XMLSchema`` (libxml2, in C): about 0.06 ms. The hub calls
  them for every package, so this is the only one on the hot path. Its messages are terse.
- ``explain`` uses ``xmlschema`` (pure Python): about 1.1 ms, twenty times slower, but its messages
  say what was expected where (``vb validate --explain``), which is what a user fixing a package needs.

Both take the package's kind from the document itself: a status package has ``StatusCode`` in its
``MessageHeader`` (and no body), everything else is a document package. Each problem carries the
element's path as local names with a position where siblings share a name
(``/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganId``), its line and, when the bytes are
at hand, its column (``vbcore.edxml.positions``).

The schemas are vbus's reading profile: strict where a package is refused, lenient exactly where a
deviation is read with a named warning (``vbcore.deviations``; the deviation rules name what the
schema lets through). One check XSD 1.0 cannot state is made here, beside the XSD, and is part of
every validation: a manifest reference names an attachment of the package, matched by ``ContentId``
with or without ``cid:`` (``vbcore.edxml.content_ids``).

Bytes are parsed with the project's hardened parser (``vbcore.edxml.parser``: no DTD, no entities,
no network, size and depth bounded, the undeclared ``xlink:``/``edXML:`` prefix repaired).
Attachments' base64 is not checked here: the reader decodes it strictly (see ``EncodedContent`` in
``edxml-types.xsd``).
"""

from __future__ import annotations

import importlib.resources
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from vbcore.edxml import content_ids
from vbcore.edxml.names import DSIG_NS, EDXML_NS
from vbcore.edxml.parser import parse_xml
from vbcore.edxml.positions import element_positions
from vbcore.edxml.xml_messages import schema_error_vi
from vbcore.errors import SchemaViolation

if TYPE_CHECKING:
    import xmlschema

__all__ = [
    "SCHEMA_FILES",
    "PackageKind",
    "SchemaProblem",
    "check",
    "element_path",
    "explain",
    "package_kind",
    "schema_directory",
    "validate",
]

PackageKind = Literal["document", "status"]

SCHEMA_FILES: dict[PackageKind, str] = {"document": "edxml-document.xsd", "status": "edxml-status.xsd"}

_STATUS_CODE_PATH = "/".join(
    f"{{{EDXML_NS}}}{name}" for name in ("edXMLEnvelope", "edXMLHeader", "MessageHeader", "StatusCode")
)


@dataclass(frozen=True)
class SchemaProblem:
    """One way a package breaks its schema: where (element path, line) and what, in English (the
    validator's own words) and in Vietnamese (``vbcore.edxml.xml_messages``)."""

    path: str
    line: int | None
    message: str
    message_vi: str = ""
    column: int | None = None

    def __str__(self) -> str:
        return self.describe("en")

    def describe(self, lang: str = "en") -> str:
        """``path (line N, column C): message`` in one language."""
        en = lang == "en"
        where = ""
        if self.line is not None:
            where = f" (line {self.line}" if en else f" (dòng {self.line}"
            if self.column is not None:
                where += f", column {self.column}" if en else f", cột {self.column}"
            where += ")"
        message = self.message if en else (self.message_vi or "không đúng lược đồ edXML")
        return f"{self.path}{where}: {message}"


def package_kind(root: etree._Element) -> PackageKind:
    """``"status"`` if the MessageHeader has a StatusCode, else ``"document"``."""
    return "status" if root.find(_STATUS_CODE_PATH) is not None else "document"


def validate(xml: bytes | etree._Element, *, source: bytes | Path | None = None) -> list[SchemaProblem]:
    """Every schema problem of the package, in document order; ``[]`` when it is valid.

    ``source``: the bytes a given tree was parsed from, for the problems' columns (bytes given as
    ``xml`` are their own source). Raises ``MalformedPackage`` (and its kin) when bytes are not a
    well-formed, acceptable XML document.
    """
    root = _root_of(xml)
    kind = package_kind(root)
    schema = _lxml_schema(kind)
    found = [] if schema.validate(root) else _problems_from_log(root, schema.error_log)
    found += _identity_problems(root, kind)
    return _with_columns(found, root, xml if isinstance(xml, bytes) else source)


def check(xml: bytes | etree._Element, *, source: bytes | Path | None = None) -> None:
    """Raise ``SchemaViolation`` listing every problem, unless the package is valid."""
    problems = validate(xml, source=source)
    if problems:
        first = problems[0]
        raise SchemaViolation(
            [p.describe("en") for p in problems],
            [p.describe("vi") for p in problems],
            line=first.line,
            column=first.column,
        )


def explain(xml: bytes | etree._Element, *, source: bytes | Path | None = None) -> list[SchemaProblem]:
    """Like ``validate``, with xmlschema's fuller messages (what was expected, which child was unexpected)."""
    import xmlschema  # deferred: about 0.4 s to import, and only ``vb validate --explain`` needs it

    root = _root_of(xml)
    kind = package_kind(root)
    schema = _xmlschema_schema(kind)
    # The tree is already parsed (hardened); wrapping it, xmlschema opens nothing and fetches nothing.
    resource = xmlschema.XMLResource(root, allow="none")
    found = [
        _problem_from_xmlschema(error)
        for error in schema.iter_errors(resource, namespaces={"edXML": EDXML_NS, "ds": DSIG_NS})
    ]
    found += _identity_problems(root, kind)
    return _with_columns(found, root, xml if isinstance(xml, bytes) else source)


_Found = list[tuple[SchemaProblem, "etree._Element | None"]]


def _identity_problems(root: etree._Element, kind: PackageKind) -> _Found:
    """What the XSD cannot say (``content_ids``): a reference names an attachment of the package."""
    if kind != "document":
        return []
    found: _Found = []
    for problem in content_ids.problems(root):
        line = problem.element.sourceline if isinstance(problem.element.sourceline, int) else None
        where = element_path(problem.element)
        found.append((SchemaProblem(where, line, problem.text.en, problem.text.vi), problem.element))
    return found


def _with_columns(found: _Found, root: etree._Element, source: bytes | Path | None) -> list[SchemaProblem]:
    """The problems, each with its element's column when the bytes are at hand (one pass over them)."""
    if source is None or not found:
        return [problem for problem, _ in found]
    positions = element_positions(source, root, [e for _, e in found if e is not None])
    result = []
    for problem, element in found:
        at = positions.get(element) if element is not None else None
        result.append(problem if at is None else replace(problem, line=at[0], column=at[1]))
    return result


# --- loading the schemas ---------------------------------------------------------------------------

# lxml's XMLSchema keeps the error log of its last run on the object, so one object must not be shared
# between threads validating at once. Each thread builds its own (about 5 ms, once) and validation
# stays parallel: libxml2 runs without the GIL.
_per_thread = threading.local()

_xmlschema_lock = threading.Lock()
_xmlschema_cache: dict[PackageKind, xmlschema.XMLSchema10] = {}


def schema_directory() -> Path:
    """The folder of the shipped XSDs, found through importlib.resources (package ``vbcore.xsd``)."""
    # The XSDs include and import one another by relative file name, so both libraries need them as
    # files in one folder: true for any normal (not zipped) install of the package.
    return Path(str(importlib.resources.files("vbcore.xsd")))


def _lxml_schema(kind: PackageKind) -> etree.XMLSchema:
    cache: dict[PackageKind, etree.XMLSchema] | None = getattr(_per_thread, "schemas", None)
    if cache is None:
        cache = _per_thread.schemas = {}
    schema = cache.get(kind)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        document = etree.parse(str(schema_directory() / SCHEMA_FILES[kind]), parser)
        schema = cache[kind] = etree.XMLSchema(document)
    return schema


def _xmlschema_schema(kind: PackageKind) -> xmlschema.XMLSchema10:
    import xmlschema

    with _xmlschema_lock:
        schema = _xmlschema_cache.get(kind)
        if schema is None:
            # "sandbox": the schema may read files of its own folder only; "always": defused parsing.
            path = schema_directory() / SCHEMA_FILES[kind]
            schema = xmlschema.XMLSchema10(str(path), allow="sandbox", defuse="always")
            _xmlschema_cache[kind] = schema
        return schema


# --- problems and their paths ------------------------------------------------------------------------


def _root_of(xml: bytes | etree._Element) -> etree._Element:
    return parse_xml(xml) if isinstance(xml, bytes) else xml


_CLARK_EDXML = "{" + EDXML_NS + "}"
_CLARK_DSIG = "{" + DSIG_NS + "}"


def _readable(message: str) -> str:
    """Namespaces as the prefixes producers write (``edXML:``, ``ds:``) instead of ``{uri}``."""
    return message.strip().replace(_CLARK_EDXML, "edXML:").replace(_CLARK_DSIG, "ds:")


def element_path(element: etree._Element) -> str:
    """``/edXML/.../To[2]/OrganId``: local names (``ds:`` for XML-DSig), [n] where siblings share a name."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        qname = etree.QName(node)
        step = ("ds:" if qname.namespace == DSIG_NS else "") + qname.localname
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def _problems_from_log(root: etree._Element, log: etree._ListErrorLog) -> _Found:
    problems: _Found = []
    locate = _Locator(root)
    for entry in log:
        element = locate.at(entry.path)
        if element is None:  # never ``or``: an element without children is falsy
            element = locate.by_line(entry.message, entry.line)
        path = locate.path(element) if element is not None else (entry.path or element_path(root))
        message = _readable(entry.message)
        # libxml2 follows a facet failure with a second, vaguer line about the same value: keep the first.
        if problems and problems[-1][0].path == path and "is not a valid value of the" in message:
            continue
        problem = SchemaProblem(path, entry.line, message, schema_error_vi(entry.type_name, message))
        problems.append((problem, element))
    return problems


# One step of libxml2's node path: "*", "*[3]", "edXML:To", "edXML:To[2]", "From", "@version", "text()".
_STEP = re.compile(r"(?:(?P<prefix>[^:\[\]/]+):)?(?P<name>[^:\[\]/]+)(?:\[(?P<index>\d+)\])?")
_NAMED_ELEMENT = re.compile(r"Element '(\{[^}]*\}[^']+|[^'{]+)'")


class _Locator:
    """Elements for libxml2's error paths, and their element paths, in linear time overall.

    A package can break the schema once per element (5,000 ``TraceHeader`` without a ``Timestamp``):
    finding each error's element by scanning its siblings made the report quadratic (137 s for
    10,000 at the hub). Every list of siblings is built once and kept, with each child's position.
    """

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._candidates: dict[tuple[etree._Element, str | None, str], list[etree._Element]] = {}
        self._same_tag: dict[etree._Element, dict[Any, list[etree._Element]]] = {}
        self._position: dict[etree._Element, int] = {}
        self._lines: dict[tuple[str, int], etree._Element] | None = None

    def at(self, libxml2_path: str | None) -> etree._Element | None:
        """The element that libxml2's ``xmlGetNodePath`` names, or None if it cannot be followed.

        libxml2 writes an element of a default namespace as ``*`` (its position counts every element
        sibling) and a prefixed one as ``prefix:name`` (its position counts siblings of that name and
        prefix). The first step is the root itself; attribute and text steps stop at their element.
        """
        if not libxml2_path or not libxml2_path.startswith("/"):
            return None
        node = self.root
        for step in libxml2_path.split("/")[2:]:
            if step.startswith("@") or step.endswith("()"):
                break
            m = _STEP.fullmatch(step)
            if m is None:
                return None
            key = (node, m["prefix"], m["name"])
            candidates = self._candidates.get(key)
            if candidates is None:
                candidates = [c for c in node if isinstance(c.tag, str) and _step_matches(c, m)]
                self._candidates[key] = candidates
            index = int(m["index"]) if m["index"] else 1
            if index > len(candidates):
                return None
            node = candidates[index - 1]
        return node

    def by_line(self, message: str, line: int | None) -> etree._Element | None:
        """The element a message names, found by its line (libxml2 gives no path for keyref errors)."""
        m = _NAMED_ELEMENT.match(message)
        if m is None or line is None:
            return None
        if self._lines is None:
            self._lines = {}
            for element in self.root.iter():
                at = element.sourceline
                if isinstance(element.tag, str) and isinstance(at, int):
                    self._lines.setdefault((element.tag, at), element)
        return self._lines.get((m.group(1), line))

    def path(self, element: etree._Element) -> str:
        """``element_path``, with each parent's children grouped by tag once."""
        steps: list[str] = []
        node: etree._Element | None = element
        while node is not None:
            parent = node.getparent()
            qname = etree.QName(node)
            step = ("ds:" if qname.namespace == DSIG_NS else "") + qname.localname
            if parent is not None:
                same = self._siblings(parent, node)
                if len(same) > 1:
                    step += f"[{self._position[node]}]"
            steps.append(step)
            node = parent
        return "/" + "/".join(reversed(steps))

    def _siblings(self, parent: etree._Element, node: etree._Element) -> list[etree._Element]:
        groups = self._same_tag.get(parent)
        if groups is None:
            groups = self._same_tag[parent] = {}
            for child in parent:
                group = groups.setdefault(child.tag, [])
                group.append(child)
                self._position[child] = len(group)
        return groups[node.tag]


def _step_matches(child: etree._Element, step: re.Match[str]) -> bool:
    if step["name"] == "*" and step["prefix"] is None:
        return True
    qname = etree.QName(child)
    if qname.localname != step["name"]:
        return False
    if step["prefix"] is None:
        return qname.namespace is None
    return child.prefix == step["prefix"]


def _problem_from_xmlschema(error: Any) -> tuple[SchemaProblem, etree._Element | None]:
    """A SchemaProblem from an ``xmlschema.XMLSchemaValidationError`` (typed Any: no stubs), and its
    element."""
    element = getattr(error, "invalid_child", None)
    if element is None:
        element = error.elem
    is_element = element is not None and isinstance(getattr(element, "tag", None), str)
    path = element_path(element) if is_element else str(error.path or "/")
    line = getattr(element, "sourceline", None) if is_element else error.sourceline
    message = str(error.reason or error.message)
    expected = getattr(error, "expected", None)
    if expected and "expected" not in message:
        names = ", ".join(str(getattr(e, "prefixed_name", None) or e) for e in expected)
        message += f" Expected: {names}."
    if isinstance(error.obj, str):
        message += f" (the value is {error.obj!r})"
    problem = SchemaProblem(path, line, _readable(message), _xmlschema_vi(error, is_element))
    return problem, element if is_element else None


def _xmlschema_vi(error: Any, is_element: bool) -> str:
    """xmlschema's error in Vietnamese, from what it is (its class and validator), not its English."""
    expected = getattr(error, "expected", None)
    wanted = ", ".join(str(getattr(e, "prefixed_name", None) or e) for e in expected) if expected else ""
    value = f"giá trị {error.obj!r} " if isinstance(error.obj, str) else "giá trị "
    kind = type(error).__name__
    facet = type(getattr(error, "validator", None)).__name__
    if kind == "XMLSchemaChildrenValidationError":
        if getattr(error, "invalid_child", None) is not None:
            return f"phần tử này không được phép ở đây{'; cần: ' + wanted if wanted else ''}"
        return f"thiếu phần tử con bắt buộc{': ' + wanted if wanted else ''}"
    reasons = {
        "XsdPatternFacets": "không đúng định dạng",
        "XsdEnumerationFacets": "không thuộc tập giá trị cho phép",
        "XsdMinLengthFacet": "ngắn hơn độ dài tối thiểu",
        "XsdMaxLengthFacet": "dài hơn độ dài tối đa",
        "XsdLengthFacet": "không đúng độ dài quy định",
        "XsdMinInclusiveFacet": "nhỏ hơn mức tối thiểu",
        "XsdMaxInclusiveFacet": "lớn hơn mức tối đa",
    }
    if facet in reasons:
        return value + reasons[facet]
    if "attribute" in str(getattr(error, "reason", "") or ""):
        return "thuộc tính không hợp lệ hoặc không được phép"
    if not is_element or kind == "XMLSchemaDecodeError":
        return value + "không hợp lệ với kiểu dữ liệu của lược đồ"
    return "không đúng lược đồ edXML"
