"""Reading one element's children by local name, with typed values and paths for errors.

An element of the edXML namespace or of no namespace counts (a producer's undeclared prefix
arrives with none); a ``Signature`` also in the XML-DSig namespace. Any other child is ignored and
named in the warnings. Values are stripped; an empty element reads as absent (None). A child
repeated more than ``max_repeats`` times is refused (``TooManyItems``) with its path; a date
outside ``names.EARLIEST_DATE`` .. ``LATEST_DATE`` is refused (``ImplausibleDate``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TypeVar

from lxml import etree

from vbcore.deviations import UNKNOWN_ELEMENT, Deviation
from vbcore.edxml.limits import DEFAULT_LIMITS
from vbcore.edxml.names import (
    DSIG_NS,
    EARLIEST_DATE,
    EDXML_NS,
    LATEST_DATE,
    format_date,
    parse_bool,
    parse_date,
    parse_timestamp,
)
from vbcore.errors import ImplausibleDate, InvalidFieldValue, RequiredElementMissing, TooManyItems
from vbcore.lang import Text

Warnings = list[Deviation]
Day = date  # ``date`` is a method's name inside Fields
T = TypeVar("T")
_EDXML_PREFIX = f"{{{EDXML_NS}}}"
_DSIG_SIGNATURE = f"{{{DSIG_NS}}}Signature"


def local_name(element: etree._Element) -> str | None:
    """The local name of an edXML (or unqualified) element; None for comments and foreign ones."""
    name = element.tag
    if not isinstance(name, str):
        return None
    # String slicing, not etree.QName: this runs for every element of every package.
    if name.startswith(_EDXML_PREFIX):
        return name[len(_EDXML_PREFIX) :]
    if not name.startswith("{"):
        return name
    return "Signature" if name == _DSIG_SIGNATURE else None


class Fields:
    """The known children of one element; unknown ones are reported once, here."""

    __slots__ = ("_children", "element", "max_repeats", "path", "warnings")

    def __init__(
        self,
        element: etree._Element | None,
        path: str,
        warnings: Warnings,
        known: set[str],
        max_repeats: int = DEFAULT_LIMITS.max_repeats,
    ):
        self.element = element
        self.path = path
        self.warnings = warnings
        self.max_repeats = max_repeats
        self._children: dict[str, list[etree._Element]] = {}
        if element is None:
            return
        for child in element:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            name = local_name(child)
            if name is not None and name in known:
                self._children.setdefault(name, []).append(child)
            else:
                where = f"{path}/{etree.QName(child).localname}"
                line = child.sourceline if isinstance(child.sourceline, int) else None
                warnings.append(Deviation(UNKNOWN_ELEMENT, where, path=where, line=line))
        for name, found in self._children.items():
            if len(found) > max_repeats:
                raise TooManyItems(f"{path}/{name}", len(found), max_repeats)

    def one(self, name: str, *, required: bool = False) -> etree._Element | None:
        found = self._children.get(name)
        if found:
            return found[0]
        if required:
            raise RequiredElementMissing(f"{self.path}/{name}")
        return None

    def all(self, name: str) -> list[etree._Element]:
        return self._children.get(name, [])

    def fields(self, name: str, known: set[str], *, required: bool = False) -> Fields:
        element = self.one(name, required=required)
        return Fields(element, f"{self.path}/{name}", self.warnings, known, self.max_repeats)

    def each(self, name: str, known: set[str]) -> Iterator[Fields]:
        for i, child in enumerate(self.all(name)):
            yield Fields(child, f"{self.path}/{name}[{i + 1}]", self.warnings, known, self.max_repeats)

    def present(self, name: str) -> bool:
        return name in self._children

    def text(self, name: str) -> str | None:
        element = self.one(name)
        if element is None or element.text is None:
            return None
        value = element.text.strip()
        return value or None

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(t for e in self.all(name) if e.text and (t := e.text.strip()))

    def _typed(self, name: str, convert: Callable[[str], T], expected: Text) -> T | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError:
            raise InvalidFieldValue(f"{self.path}/{name}", value, expected.en, expected.vi) from None

    def integer(self, name: str) -> int | None:
        return self._typed(name, int, Text("một số nguyên", "an integer"))

    def date(self, name: str) -> date | None:
        value = self._typed(name, parse_date, Text("một ngày (yyyy/MM/dd)", "a date (yyyy/MM/dd)"))
        return self._plausible(name, value, value)

    def timestamp(self, name: str) -> datetime | None:
        expected = Text("một thời điểm (yyyy/MM/dd HH:mm:ss)", "a timestamp (yyyy/MM/dd HH:mm:ss)")
        value = self._typed(name, parse_timestamp, expected)
        return self._plausible(name, value, value.date() if value is not None else None)

    def _plausible(self, name: str, value: T, day: Day | None) -> T:
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            first, last = format_date(EARLIEST_DATE), format_date(LATEST_DATE)
            raise ImplausibleDate(f"{self.path}/{name}", self.text(name) or "", first, last)
        return value

    def boolean(self, name: str) -> bool | None:
        return self._typed(name, parse_bool, Text("true hoặc false", "true or false"))

    def enum(self, name: str, convert: Callable[[str], T], expected: Text) -> T | None:
        return self._typed(name, convert, expected)
