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
                                      # | unit | test-tenant | gateway; optional, inferred from the code
        parent: 000.00.00.H53         # optional; a unit's default is its level-1 body
        closed: false                 # optional, default false
        successor: null               # optional; where mail for a closed code goes now
        closed_by: QĐ 09/2025/QĐ-TTg  # optional; the decree that closed it
        closed_on: 2025-07-01         # optional; the first day the code is closed (in-flight mail)
        via: null                     # optional; the gateway (kind gateway) this agency is reached
                                      # through, on another axis; absent: it is on this hub itself
        relay: trusted                # kind gateway only: what it may relay (RELAY_POLICIES)
        former_names: []              # optional; earlier names, found by search
        note: null                    # optional; e.g. what part of the entry is inferred
        certificate: "-----BEGIN CERTIFICATE-----..."   # optional PEM registered for this agency,
        certificate_file: certs/stc.pem                 # or a PEM file, relative to this file
    aliases: []                       # optional; other code systems (``vbcore.directory.aliases``)

Unknown keys are refused (they are usually typos). ``merged_with`` replaces whole entries by code: to
add a certificate to a shipped agency, repeat its entry with the certificate. The shipped directory
also carries the provinces' administrative-unit codes (``vbcore/data/admin_units.json``); ``alias``
finds the agency a code of another system names on a given day.

A **gateway** (kind ``gateway``, an id such as ``gw.truc-quoc-gia``) is the bridge to another axis:
the agencies with ``via: <gateway>`` live there; the hub sends what is addressed to them to the
gateway's inbox and accepts what the gateway relays from them (docs/connectors.md). Its ``relay``
says what it may relay: ``trusted`` (signatures that chain to a CA the hub trusts), ``foreign-ca``
(also signatures by CAs the hub does not hold), ``unsigned`` (also packages without a signature).

Rules of ``resolve`` (kept simple on purpose):

- a code the directory holds and that is open resolves to its ``Agency``;
- a closed code raises ``ClosedAgencyCode`` naming where mail goes now: the end of its successor chain
  (code and name);
- a unit (any code that is not a level-1 body) resolves only if the operator loaded it, and only while
  its level-1 body is known and open; a loaded unit of a closed body raises ``ClosedAgencyCode`` with the
  unit's own successor if it has one, else the body's;
- a well-formed code the directory does not hold raises ``UnknownAgency``; a malformed one
  ``InvalidAgencyCode``. Test-tenant ids (``vxp.saas.03``) resolve only when loaded with kind
  ``test-tenant``; otherwise they raise ``InvalidAgencyCode`` saying what they are;
- a gateway is no addressee: it raises ``InvalidAgencyCode`` (mail goes to the agencies behind it).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from vbcore.directory.aliases import Alias, AliasTable, alias_from_entry
from vbcore.errors import ClosedAgencyCode, ConfigurationError, InvalidAgencyCode, UnknownAgency
from vbcore.identifiers import is_test_tenant, is_valid_code, parse_code
from vbcore.lang import Lang, Text
from vbcore.mapping_files import load_mapping
from vbcore.text import fold

KINDS = ("government-office", "ministry", "province-ubnd", "province-hdnd", "unit", "test-tenant", "gateway")
GATEWAY = "gateway"
RELAY_POLICIES = ("trusted", "foreign-ca", "unsigned")
"""What a gateway may relay, most careful first; each allows what the ones before it allow."""
DEFAULT_RELAY = "trusted"
RELAY_TEXT = {
    "trusted": Text(
        "chỉ gói tin ký bằng chứng thư số do CA được trục tin cậy cấp",
        "only packages signed with a certificate from a CA the hub trusts",
    ),
    "foreign-ca": Text(
        "gói tin có chữ ký số đúng, kể cả của CA trục không tin cậy; không nhận gói tin không ký",
        "packages whose signature verifies, by any CA; not unsigned packages",
    ),
    "unsigned": Text(
        "cả gói tin không có chữ ký số; không nhận chữ ký sai",
        "unsigned packages too; never a wrong signature",
    ),
}
"""What each relay policy lets in, for people (``vb track``, the 02 of a refusal, ``vb agencies show``)."""
_KEYS = {
    "code", "name", "short_name", "kind", "parent", "closed", "successor", "closed_by", "closed_on",
    "former_names", "note", "certificate", "certificate_file", "via", "relay",
}  # fmt: skip
_TOP_KEYS = {"format", "source", "agencies", "aliases", "version", "synced_at"}


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
    closed_on: date | None = None  # the first day the code is closed (None: not known)
    via: str | None = None  # the gateway it is reached through (None: on this hub)
    relay: str | None = None  # a gateway's relay policy (``RELAY_POLICIES``; None: ``trusted``)

    @property
    def is_test_tenant(self) -> bool:
        return self.kind == "test-tenant"

    @property
    def is_gateway(self) -> bool:
        return self.kind == GATEWAY

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
            d["closed_on"] = self.closed_on.isoformat() if self.closed_on else None
        if self.former_names:
            d["former_names"] = list(self.former_names)
        d.update(via=self.via, relay=self.relay, note=self.note, certificate=self.certificate_pem)
        return {k: v for k, v in d.items() if v is not None}


class Directory:
    """An immutable set of agencies by code. Build with ``default``, ``load`` or ``from_agencies``."""

    def __init__(
        self, agencies: Iterable[Agency] = (), *, source: str = "", aliases: AliasTable | None = None
    ) -> None:
        self._by_code: dict[str, Agency] = {}
        for a in agencies:
            self._by_code[a.code] = a
        self.source = source
        self.aliases = aliases or AliasTable()
        self._folded: dict[str, tuple[str, str]] = {}
        self._sorted: list[Agency] | None = None  # computed once: 111k agencies take ~0.6 s to order

    # --- construction ----------------------------------------------------------------------------

    @classmethod
    def default(cls) -> Directory:
        """The directory shipped with vbus (read once, then cached)."""
        return _default_directory()

    @classmethod
    def from_agencies(
        cls, agencies: Iterable[Agency], *, source: str = "", aliases: Iterable[Alias] = ()
    ) -> Directory:
        """A directory of these agencies; a code given twice is a ``ConfigurationError``."""
        items = list(agencies)
        seen: set[str] = set()
        for a in items:
            if a.code in seen:
                raise ConfigurationError(f"{source or 'directory'}: agency {a.code} is listed twice")
            seen.add(a.code)
        return cls(items, source=source, aliases=AliasTable(aliases))

    @classmethod
    def load(cls, path: str | Path) -> Directory:
        """An operator's directory file (JSON or YAML, format in the module docstring)."""
        p = Path(path)
        return cls.from_data(load_mapping(p), source=str(p), base_dir=p.parent)

    @classmethod
    def from_data(cls, data: Any, *, source: str = "directory", base_dir: Path | None = None) -> Directory:
        """A directory from already parsed file content (a mapping with ``agencies``, or a list)."""
        aliases: Any = []
        if isinstance(data, Mapping):
            extra = set(data) - _TOP_KEYS
            if extra:
                raise ConfigurationError(f"{source}: unknown top-level keys {sorted(extra)}")
            aliases = data.get("aliases") or []
            data = data.get("agencies")
        if not isinstance(data, list):
            raise ConfigurationError(f"{source}: expected a list of agencies (or a mapping with 'agencies')")
        if not isinstance(aliases, list):
            raise ConfigurationError(f"{source}: 'aliases' must be a list")
        return cls.from_agencies(
            (_agency_from_entry(e, f"{source}: entry {i + 1}", base_dir) for i, e in enumerate(data)),
            source=source,
            aliases=[alias_from_entry(e, f"{source}: alias {i + 1}") for i, e in enumerate(aliases)],
        )

    def merged_with(self, other: Directory) -> Directory:
        """This directory with ``other``'s entries added on top (``other`` wins for a code in both, and
        its aliases replace the rows they overlap)."""
        source = " + ".join(s for s in (self.source, other.source) if s)
        return Directory(
            [*self._by_code.values(), *other._by_code.values()],
            source=source,
            aliases=self.aliases.merged_with(other.aliases),
        )

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

    def gateway_of(self, code: str) -> str | None:
        """The gateway ``code`` is reached through (its ``via``), or None for an agency of this hub."""
        agency = self._by_code.get(code)
        return agency.via if agency is not None else None

    def relay_policy(self, gateway: str) -> str | None:
        """What ``gateway`` may relay (``RELAY_POLICIES``), or None when ``gateway`` is no gateway."""
        agency = self._by_code.get(gateway)
        if agency is None or not agency.is_gateway:
            return None
        return agency.relay or DEFAULT_RELAY

    def closing_day(self, code: str) -> date | None:
        """The day ``code`` closed: its own ``closed_on``, else its level-1 body's (None: open or unknown)."""
        agency = self._by_code.get(code)
        if agency is not None and agency.closed:
            return agency.closed_on
        if agency is not None and agency.kind not in ("test-tenant", GATEWAY) and is_valid_code(code):
            body = self._by_code.get(parse_code(code).level1_body)
            if body is not None and body.closed:
                return body.closed_on
        return None

    def alias(self, system: str, code: str, on: date) -> Alias | None:
        """The row by which ``code`` of ``system`` (``aliases.SYSTEMS``) names an agency on ``on``."""
        return self.aliases.lookup(system, code, on)

    def resolve(self, code: str) -> Agency:
        """The open agency ``code`` names; raises as the module docstring says."""
        agency = self._by_code.get(code)
        if agency is not None and agency.is_gateway:
            raise InvalidAgencyCode(
                f"{code} is a gateway to another axis, not an agency: address the agencies behind it",
                vi=f"{code} là cổng kết nối đến trục khác, không phải cơ quan: hãy gửi đến các cơ quan "
                "phía sau cổng",
            )
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
            if a.via and not (a.via in self._by_code and self._by_code[a.via].is_gateway):
                out.append(_PROBLEMS["via"].format(code=a.code, via=a.via))
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
    "via": Text(
        "{code}: cổng kết nối {via} không có trong danh bạ (với loại gateway)",
        "{code}: its gateway {via} is not in the directory (with kind gateway)",
    ),
    "body": Text(
        "{code}: cơ quan cấp 1 {body} của nó không có trong danh bạ",
        "{code}: its level-1 body {body} is not in the directory",
    ),
}


def _order(a: Agency) -> tuple[int, str, int, str]:
    if a.kind in ("test-tenant", GATEWAY) or not is_valid_code(a.code):
        return (1, "", 0, a.code)
    c = parse_code(a.code)
    return (0, c.level1_letter, c.level1_number, a.code)


def infer_kind(code: str) -> str:
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
            kind = infer_kind(code)
        if kind not in KINDS:
            raise ConfigurationError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind in ("test-tenant", GATEWAY) and not (is_test_tenant(code) or is_valid_code(code)):
            raise ConfigurationError(f"{where}: {code!r} is neither a test-tenant id nor an agency code")
        default_parent = None if kind in ("test-tenant", GATEWAY) else parse_code(code).parent
        parent = _text(entry, "parent", where)
        successor = _text(entry, "successor", where)
        via = _text(entry, "via", where)
        for other in (parent, successor, via):
            if other is not None and not is_test_tenant(other):
                parse_code(other)
    except InvalidAgencyCode as e:
        raise ConfigurationError(f"{where}: {e}") from e
    relay = _text(entry, "relay", where)
    if relay is not None and (kind != GATEWAY or relay not in RELAY_POLICIES):
        raise ConfigurationError(
            f"{where}: 'relay' is for a gateway only, one of {', '.join(RELAY_POLICIES)}; not {relay!r}"
        )
    if via is not None and kind == GATEWAY:
        raise ConfigurationError(f"{where}: a gateway is not reached via another gateway")
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
        closed_on=_day(entry, "closed_on", where),
        via=via,
        relay=relay,
    )


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
    agencies, admin_units = _shipped("agencies.json"), _shipped("admin_units.json")
    return Directory(agencies.all(), source=agencies.source, aliases=admin_units.aliases)


def _shipped(name: str) -> Directory:
    ref = importlib.resources.files("vbcore").joinpath(f"data/{name}")
    return Directory.from_data(json.loads(ref.read_text(encoding="utf-8")), source=f"vbcore/data/{name}")
