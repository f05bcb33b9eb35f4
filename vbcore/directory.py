"""The agency directory: who an agency code names, whether it is still open, and where closed codes went.

The directory is data that changes by decree. vbus ships one (``vbcore/data/agencies.json``: the
Government Office, the ministries after Quyết định 09/2025/QĐ-TTg, the 34 provinces' UBND and HĐND,
and the codes that decree closed with their successors) and operators load their own on top of it
(their departments, districts, communes, certificates, test tenants)::

    directory = Directory.default().merged_with(Directory.load("/etc/vbus/agencies.yaml"))
    directory.resolve("000.00.00.H47")   # ClosedAgencyCode: ... send to its successor 000.00.00.H15 (...)

File format (JSON or YAML; the shipped file is JSON)::

    format: vbus-directory/1          # optional
    agencies:                         # required
      - code: 000.00.11.H53           # required; an agency code (vbcore.identifiers), or a test-tenant id
        name: Sở Tài chính tỉnh Tây Ninh      # required, as written (UTF-8, with diacritics)
        short_name: STC Tây Ninh      # optional
        kind: unit                    # government-office | ministry | province-ubnd | province-hdnd
                                      # | unit | test-tenant; optional, inferred from the code when absent
        parent: 000.00.00.H53         # optional; a unit's default is its level-1 body
        closed: false                 # optional, default false
        successor: null               # optional; where mail for a closed code goes now
        closed_by: QĐ 09/2025/QĐ-TTg  # optional; the decree that closed it
        former_names: []              # optional; earlier names, found by search
        note: null                    # optional; e.g. what part of the entry is inferred
        certificate: "-----BEGIN CERTIFICATE-----..."   # optional PEM registered for this agency,
        certificate_file: certs/stc.pem                 # or a PEM file, relative to this file

Unknown keys are refused (they are usually typos). ``merged_with`` replaces whole entries by code: to
add a certificate to a shipped agency, repeat its entry with the certificate.

Rules of ``resolve`` (kept simple on purpose):

- a code the directory holds and that is open resolves to its ``Agency``;
- a closed code raises ``ClosedAgencyCode`` naming where mail goes now: the end of its successor chain
  (code and name);
- a unit (any code that is not a level-1 body) resolves only if the operator loaded it, and only while
  its level-1 body is known and open; a loaded unit of a closed body raises ``ClosedAgencyCode`` with the
  unit's own successor if it has one, else the body's;
- a well-formed code the directory does not hold raises ``UnknownAgency``; a malformed one
  ``InvalidAgencyCode``. Test-tenant ids (``vxp.saas.03``) resolve only when loaded with kind
  ``test-tenant``; otherwise they raise ``InvalidAgencyCode`` saying what they are.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbcore.errors import ClosedAgencyCode, ConfigurationError, InvalidAgencyCode, UnknownAgency
from vbcore.identifiers import is_test_tenant, is_valid_code, parse_code
from vbcore.lang import Lang, Text
from vbcore.mapping_files import load_mapping
from vbcore.text import fold

KINDS = ("government-office", "ministry", "province-ubnd", "province-hdnd", "unit", "test-tenant")
_KEYS = {
    "code", "name", "short_name", "kind", "parent", "closed", "successor", "closed_by",
    "former_names", "note", "certificate", "certificate_file",
}  # fmt: skip


@dataclass(frozen=True)
class Agency:
    """One directory entry. ``certificate_pem`` is the PEM of a certificate registered for it, if any."""

    code: str
    name: str
    kind: str
    parent: str | None = None
    closed: bool = False
    successor: str | None = None
    certificate_pem: str | None = None
    short_name: str | None = None
    closed_by: str | None = None
    former_names: tuple[str, ...] = ()
    note: str | None = None

    @property
    def is_test_tenant(self) -> bool:
        return self.kind == "test-tenant"

    @property
    def label(self) -> str:
        """``000.00.00.H53 UBND tỉnh Tây Ninh``."""
        return f"{self.code} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The entry as the file format writes it (empty optional fields left out)."""
        d: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "short_name": self.short_name,
            "kind": self.kind,
            "parent": self.parent,
        }
        if self.closed:
            d.update(closed=True, successor=self.successor, closed_by=self.closed_by)
        if self.former_names:
            d["former_names"] = list(self.former_names)
        d.update(note=self.note, certificate=self.certificate_pem)
        return {k: v for k, v in d.items() if v is not None}


class Directory:
    """An immutable set of agencies by code. Build with ``default``, ``load`` or ``from_agencies``."""

    def __init__(self, agencies: Iterable[Agency] = (), *, source: str = "") -> None:
        self._by_code: dict[str, Agency] = {}
        for a in agencies:
            self._by_code[a.code] = a
        self.source = source
        self._folded: dict[str, tuple[str, str]] = {}
        self._sorted: list[Agency] | None = None  # computed once: 111k agencies take ~0.6 s to order

    # --- construction ----------------------------------------------------------------------------

    @classmethod
    def default(cls) -> Directory:
        """The directory shipped with vbus (read once, then cached)."""
        return _default_directory()

    @classmethod
    def from_agencies(cls, agencies: Iterable[Agency], *, source: str = "") -> Directory:
        """A directory of these agencies; a code given twice is a ``ConfigurationError``."""
        items = list(agencies)
        seen: set[str] = set()
        for a in items:
            if a.code in seen:
                raise ConfigurationError(f"{source or 'directory'}: agency {a.code} is listed twice")
            seen.add(a.code)
        return cls(items, source=source)

    @classmethod
    def load(cls, path: str | Path) -> Directory:
        """An operator's directory file (JSON or YAML, format in the module docstring)."""
        p = Path(path)
        return cls.from_data(load_mapping(p), source=str(p), base_dir=p.parent)

    @classmethod
    def from_data(cls, data: Any, *, source: str = "directory", base_dir: Path | None = None) -> Directory:
        """A directory from already parsed file content (a mapping with ``agencies``, or a list)."""
        if isinstance(data, Mapping):
            extra = set(data) - {"format", "source", "agencies"}
            if extra:
                raise ConfigurationError(f"{source}: unknown top-level keys {sorted(extra)}")
            data = data.get("agencies")
        if not isinstance(data, list):
            raise ConfigurationError(f"{source}: expected a list of agencies (or a mapping with 'agencies')")
        return cls.from_agencies(
            (_agency_from_entry(e, f"{source}: entry {i + 1}", base_dir) for i, e in enumerate(data)),
            source=source,
        )

    def merged_with(self, other: Directory) -> Directory:
        """This directory with ``other``'s entries added on top (``other`` wins for a code in both)."""
        source = " + ".join(s for s in (self.source, other.source) if s)
        return Directory([*self._by_code.values(), *other._by_code.values()], source=source)

    # --- lookup ----------------------------------------------------------------------------------

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self.all())

    def registered_certificates(self) -> dict[str, str]:
        """Code -> PEM of every agency with a certificate registered in the directory."""
        return {a.code: a.certificate_pem for a in self.all() if a.certificate_pem}

    def all(self, *, include_closed: bool = True, kind: str | None = None) -> list[Agency]:
        """Every agency, level-1 bodies ordered by letter and number with their units after them."""
        if self._sorted is None:
            self._sorted = sorted(self._by_code.values(), key=_order)
        return [
            a for a in self._sorted if (include_closed or not a.closed) and (kind is None or a.kind == kind)
        ]

    def children(self, code: str) -> list[Agency]:
        """The agencies whose parent is ``code``."""
        return [a for a in self.all() if a.parent == code]

    def predecessors(self, code: str) -> list[Agency]:
        """The closed agencies whose successor is ``code`` (e.g. Quảng Nam's for Đà Nẵng)."""
        return [a for a in self.all() if a.closed and a.successor == code]

    def successor_chain(self, code: str) -> list[Agency]:
        """The agencies that follow ``code`` by successor links, ending at an open one when there is one.

        Empty for an open or unknown code. Stops at a successor the directory does not hold and at a loop.
        """
        agency = self._by_code.get(code)
        if agency is None or not agency.closed:
            return []
        return self._follow(agency.successor, {code})

    def _follow(self, code: str | None, seen: set[str]) -> list[Agency]:
        chain: list[Agency] = []
        while code and code not in seen:
            seen.add(code)
            current = self._by_code.get(code)
            if current is None:
                break
            chain.append(current)
            if not current.closed:
                break
            code = current.successor
        return chain

    def resolve(self, code: str) -> Agency:
        """The open agency ``code`` names; raises as the module docstring says."""
        agency = self._by_code.get(code)
        if agency is None:
            if is_test_tenant(code):
                raise InvalidAgencyCode(
                    f"{code!r} is a test tenant id of the shared platform, not an agency code; "
                    "load it in a directory file with kind test-tenant to accept it",
                    vi=f"{code!r} là mã thử nghiệm của nền tảng dùng chung, không phải mã định danh cơ quan; "
                    "muốn chấp nhận thì nạp nó trong tệp danh bạ với loại test-tenant",
                )
            parse_code(code)
            raise UnknownAgency(code)
        if agency.closed:
            raise self._closed(agency, agency)
        if agency.kind != "test-tenant" and is_valid_code(code):
            body_code = parse_code(code).level1_body
            if body_code != code:
                body = self._by_code.get(body_code)
                if body is None:
                    raise UnknownAgency(code)
                if body.closed:
                    raise self._closed(agency, body)
        return agency

    def _closed(self, agency: Agency, body: Agency) -> ClosedAgencyCode:
        """The error for ``agency``, closed itself or through ``body`` (its closed level-1 body)."""
        first = agency.successor if agency.closed or agency.successor else body.successor
        chain = self._follow(first, {agency.code, body.code})
        if chain and not chain[-1].closed:
            return ClosedAgencyCode(agency.code, chain[-1].code, agency.name, chain[-1].name)
        return ClosedAgencyCode(agency.code, first, agency.name)

    def search(self, text: str, *, include_closed: bool = True) -> list[Agency]:
        """Agencies whose code, name, short name or a former name contains ``text``, ignoring accents
        and case ("ha noi" finds "Hà Nội"); the whole phrase first, then entries holding every word."""
        query = fold(text)
        if not query:
            return []
        words = query.split()
        scored: list[tuple[int, Agency]] = []
        for a in self._by_code.values():
            if a.closed and not include_closed:
                continue
            code, names = self._folded_of(a)
            if query == code:
                score = 0
            elif query in code or query in names:
                score = 1
            elif all(w in code or w in names for w in words):
                score = 2
            else:
                continue
            scored.append((score, a))
        scored.sort(key=lambda s: (s[0], s[1].closed, _order(s[1])))
        return [a for _, a in scored]

    def _folded_of(self, a: Agency) -> tuple[str, str]:
        f = self._folded.get(a.code)
        if f is None:
            names = [a.name, a.short_name or "", *a.former_names]
            f = self._folded[a.code] = (fold(a.code), " | ".join(fold(n) for n in names))
        return f

    # --- consistency -----------------------------------------------------------------------------

    def problems(self, lang: Lang = "en") -> list[str]:
        """What an operator should fix, in ``lang``: successors or level-1 bodies missing, successor loops."""
        out: list[Text] = []
        for a in self.all():
            if a.successor and a.successor not in self._by_code:
                out.append(_PROBLEMS["successor"].format(code=a.code, successor=a.successor))
            chain = self.successor_chain(a.code)
            if chain and chain[-1].closed and chain[-1].successor in self._by_code:
                out.append(_PROBLEMS["loop"].format(code=a.code))
            if a.kind != "test-tenant" and is_valid_code(a.code):
                body = parse_code(a.code).level1_body
                if body != a.code and body not in self._by_code:
                    out.append(_PROBLEMS["body"].format(code=a.code, body=body))
        return [p(lang) for p in out]


_PROBLEMS = {
    "successor": Text(
        "{code}: cơ quan kế thừa {successor} không có trong danh bạ",
        "{code}: successor {successor} is not in the directory",
    ),
    "loop": Text("{code}: chuỗi cơ quan kế thừa lặp vòng", "{code}: its successors form a loop"),
    "body": Text(
        "{code}: cơ quan cấp 1 {body} của nó không có trong danh bạ",
        "{code}: its level-1 body {body} is not in the directory",
    ),
}


def _order(a: Agency) -> tuple[int, str, int, str]:
    if a.kind == "test-tenant" or not is_valid_code(a.code):
        return (1, "", 0, a.code)
    c = parse_code(a.code)
    return (0, c.level1_letter, c.level1_number, a.code)


def _infer_kind(code: str) -> str:
    if is_test_tenant(code):
        return "test-tenant"
    c = parse_code(code)
    if not c.is_level1:
        return "unit"
    if c.text == "000.00.00.G22":
        return "government-office"
    return {"G": "ministry", "H": "province-ubnd", "K": "province-hdnd"}.get(c.level1_letter, "unit")


def _agency_from_entry(entry: Any, where: str, base_dir: Path | None) -> Agency:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where}: expected a mapping with at least 'code' and 'name'")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_KEYS)})")
    code = _text(entry, "code", where, required=True)
    assert code is not None
    where = f"{where} ({code})"
    kind = _text(entry, "kind", where)
    try:
        if kind is None:
            kind = _infer_kind(code)
        if kind not in KINDS:
            raise ConfigurationError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind == "test-tenant" and not (is_test_tenant(code) or is_valid_code(code)):
            raise ConfigurationError(f"{where}: {code!r} is neither a test-tenant id nor an agency code")
        default_parent = None if kind == "test-tenant" else parse_code(code).parent
        parent = _text(entry, "parent", where)
        successor = _text(entry, "successor", where)
        for other in (parent, successor):
            if other is not None and not is_test_tenant(other):
                parse_code(other)
    except InvalidAgencyCode as e:
        raise ConfigurationError(f"{where}: {e}") from e
    closed = entry.get("closed", False)
    if not isinstance(closed, bool):
        raise ConfigurationError(f"{where}: 'closed' must be true or false")
    former = entry.get("former_names") or []
    if not isinstance(former, list) or not all(isinstance(n, str) for n in former):
        raise ConfigurationError(f"{where}: 'former_names' must be a list of names")
    return Agency(
        code=code,
        name=_text(entry, "name", where, required=True) or "",
        kind=kind,
        parent=parent or default_parent,
        closed=closed,
        successor=successor,
        certificate_pem=_certificate(entry, where, base_dir),
        short_name=_text(entry, "short_name", where),
        closed_by=_text(entry, "closed_by", where),
        former_names=tuple(former),
        note=_text(entry, "note", where),
    )


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise ConfigurationError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: '{key}' must be text, not {type(value).__name__} {value!r}")
    return value.strip()


def _certificate(entry: Mapping[str, Any], where: str, base_dir: Path | None) -> str | None:
    pem = _text(entry, "certificate", where)
    file = _text(entry, "certificate_file", where)
    if pem and file:
        raise ConfigurationError(f"{where}: give 'certificate' or 'certificate_file', not both")
    if file:
        path = (base_dir or Path.cwd()) / file
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigurationError(f"{where}: cannot read certificate_file {path}: {e}") from e
    if not pem:
        return None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ConfigurationError(f"{where}: the certificate is not PEM (no BEGIN CERTIFICATE line)")
    return pem.strip() + "\n"


@functools.cache
def _default_directory() -> Directory:
    ref = importlib.resources.files("vbcore").joinpath("data/agencies.json")
    data = json.loads(ref.read_text(encoding="utf-8"))
    return Directory.from_data(data, source="vbcore/data/agencies.json")
