"""Other code systems that name agencies, as a versioned alias table (docs/domain.md §8).

Since the 2025 reform several code systems name the same bodies, and they disagree: the agency
identifier of a merged province is its predecessor whose NAME it kept (Lào Cai ``000.00.00.H38``),
while its administrative-unit code of QĐ 19/2025/QĐ-TTg is its predecessor that hosts its SEAT
(``15``, Yên Bái's code until 30 June 2025). The national axis's agency list has its own ``code``
beside ``code102``. So no code is ever derived from another (no number read off a name, no code
computed from another system's): every mapping is a row of data, ``Alias``, with the system, the
code, the agency code it names, its validity (``valid_from`` .. ``valid_to``, both days included,
either open) and its source. A code that changed meaning has several rows; a code that closed has
rows that end; what it names now is the agency directory's business (the agency's successor).

File format (the ``aliases`` list of a directory file, beside ``agencies``)::

    aliases:
      - system: admin-unit          # admin-unit (QĐ 19/2025/QĐ-TTg) | axis (the national axis's code)
        code: "15"                  # text; admin-unit: 2 digits (province) or 5 (commune)
        agency: 000.00.00.H38       # the agency code it names while valid
        valid_from: 2025-07-01      # optional; absent: since before vbus knew
        valid_to: null              # optional; the last day it names this agency; absent: still valid
        source: QĐ 19/2025/QĐ-TTg   # required: where the mapping comes from
        note: null                  # optional

Two rows of one (system, code) may not overlap in time: that would derive one meaning from two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from vbcore.errors import ConfigurationError, InvalidAgencyCode
from vbcore.identifiers import is_test_tenant, parse_code
from vbcore.lang import Text

ADMIN_UNIT = "admin-unit"
AXIS = "axis"
SYSTEMS: dict[str, Text] = {
    ADMIN_UNIT: Text(
        "mã đơn vị hành chính (QĐ 19/2025/QĐ-TTg)", "administrative-unit code (QĐ 19/2025/QĐ-TTg)"
    ),
    AXIS: Text("mã trên Trục liên thông văn bản quốc gia", "code on the national axis"),
}
"""The code systems an alias may belong to, named for people."""

# Province codes have 2 digits and commune codes 5 (QĐ 19/2025/QĐ-TTg); districts (3 digits) were
# abolished on 1 July 2025 but their codes appear in older rows.
_ADMIN_UNIT_CODE = re.compile(r"\d{2}|\d{3}|\d{5}")
# The axis's own code is opaque text; it is bounded and printable so a list cannot smuggle anything.
_AXIS_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._\-]{0,63}")
_KEYS = {"system", "code", "agency", "valid_from", "valid_to", "source", "note"}


@dataclass(frozen=True)
class Alias:
    """``code`` of ``system`` names the agency ``agency`` from ``valid_from`` to ``valid_to`` (days
    included; None: open on that side), according to ``source``."""

    system: str
    code: str
    agency: str
    source: str
    valid_from: date | None = None
    valid_to: date | None = None
    note: str | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def overlaps(self, other: Alias) -> bool:
        starts_before_other_ends = (
            self.valid_from is None or other.valid_to is None or self.valid_from <= other.valid_to
        )
        ends_after_other_starts = (
            self.valid_to is None or other.valid_from is None or other.valid_from <= self.valid_to
        )
        return starts_before_other_ends and ends_after_other_starts

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"system": self.system, "code": self.code, "agency": self.agency}
        if self.valid_from is not None:
            d["valid_from"] = self.valid_from.isoformat()
        if self.valid_to is not None:
            d["valid_to"] = self.valid_to.isoformat()
        d["source"] = self.source
        if self.note:
            d["note"] = self.note
        return d


class AliasTable:
    """The aliases of a directory, by (system, code), each code's rows in time order."""

    def __init__(self, aliases: Iterable[Alias] = ()) -> None:
        self._rows: dict[tuple[str, str], list[Alias]] = {}
        for alias in aliases:
            rows = self._rows.setdefault((alias.system, alias.code), [])
            clash = next((r for r in rows if r.overlaps(alias)), None)
            if clash is not None:
                raise ConfigurationError(
                    f"{alias.system} code {alias.code}: the rows naming {clash.agency} ({clash.source}) and "
                    f"{alias.agency} ({alias.source}) overlap in time; a code names one agency at a time"
                )
            rows.append(alias)
            rows.sort(key=lambda r: r.valid_from or date.min)

    def __iter__(self) -> Iterator[Alias]:
        for rows in self._rows.values():
            yield from rows

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def lookup(self, system: str, code: str, on: date) -> Alias | None:
        """The row by which ``code`` of ``system`` names an agency on day ``on``, or None."""
        return next((r for r in self._rows.get((system, code), ()) if r.valid_on(on)), None)

    def history(self, system: str, code: str) -> list[Alias]:
        """Every row of ``code``, oldest first."""
        return list(self._rows.get((system, code), ()))

    def of_agency(self, agency: str) -> list[Alias]:
        """Every row naming ``agency``, in any system."""
        return [r for r in self if r.agency == agency]

    def merged_with(self, other: AliasTable) -> AliasTable:
        """Both tables; a row of ``other`` replaces this table's rows of the same code that it overlaps
        (an operator's correction wins), and must not overlap another row of ``other``."""
        replaced = [r for r in self if not any(o.overlaps(r) for o in other.history(r.system, r.code))]
        return AliasTable([*replaced, *other])


def alias_from_entry(entry: Any, where: str) -> Alias:
    """One ``aliases`` entry of a directory file, checked (``ConfigurationError`` says what is wrong)."""
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where}: expected a mapping with system, code, agency and source")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_KEYS)})")
    system, code, agency, source = (
        _required(entry, key, where) for key in ("system", "code", "agency", "source")
    )
    if system not in SYSTEMS:
        raise ConfigurationError(f"{where}: system {system!r} is not one of {', '.join(SYSTEMS)}")
    check_code(system, code, where)
    if not is_test_tenant(agency):
        try:
            parse_code(agency)
        except InvalidAgencyCode as e:
            raise ConfigurationError(f"{where}: {e}") from e
    valid_from, valid_to = _day(entry, "valid_from", where), _day(entry, "valid_to", where)
    if valid_from and valid_to and valid_to < valid_from:
        raise ConfigurationError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    note = entry.get("note")
    return Alias(system, code, agency, source, valid_from, valid_to, str(note) if note else None)


def check_code(system: str, code: str, where: str = "alias") -> None:
    """Raise ``ConfigurationError`` unless ``code`` has the shape of ``system``'s codes."""
    shape = _ADMIN_UNIT_CODE if system == ADMIN_UNIT else _AXIS_CODE
    if not shape.fullmatch(code):
        expected = (
            "2 digits (a province) or 5 (a commune)"
            if system == ADMIN_UNIT
            else "1-64 letters, digits, . _ -"
        )
        raise ConfigurationError(f"{where}: {system} code {code!r} is not {expected}")


def _required(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "code":
        raise ConfigurationError(f"{where}: write the code {value!r} as text in quotes (a leading 0 matters)")
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: '{key}' is required (text)")
    return value.strip()


def _day(entry: Mapping[str, Any], key: str, where: str) -> date | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, date):  # YAML reads an unquoted 2025-07-01 as a date
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise ConfigurationError(f"{where}: {key} {value!r} is not a date (YYYY-MM-DD)") from e
