"""``vb agencies sync``'s core: the other axis's agency list made into directory entries, and what
changed since the last sync (added, renamed, closed with successor, reopened, updated).

The list (the national axis's ``getAgenciesList``: ``code`` on the axis, ``code102`` as edXML writes it,
``oldCode`` when renamed) is hostile input like any other: entries that are not agency codes, repeat
a code or carry unprintable names are left out and reported, never loaded. What it becomes:

- each listed agency, under its ``code102``, reached ``via`` the gateway to that axis;
- its ``code`` as an alias of system ``axis`` (``vbcore.directory.aliases``), with the day it started;
  a code that changes meaning gets a new row and the old row ends the day before (history kept);
- each ``oldCode`` a closed entry whose successor is the listed code;
- an agency of the previous sync that the list no longer holds: closed, no successor named (mail to it
  is refused saying so, rather than going to an axis that no longer knows it);
- agencies whose level-1 body is one of ``local`` are this hub's own: left out (the list of the
  national axis names them too, as hosted by this province's platform).

What the hub knows already (``known``: the shipped directory and the operator's files) fills in what
the list does not say (a ministry's short name, a closed province's own name); an ``oldCode`` it holds
closed with the same successor is left to it.

Nothing here reads or writes files: ``vbcore.directory.versions`` applies a plan with its history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Protocol

from vbcore.directory import Agency, Directory, infer_kind
from vbcore.directory.aliases import AXIS, Alias, check_code
from vbcore.errors import ConfigurationError, printable
from vbcore.identifiers import is_test_tenant, is_valid_code, parse_code
from vbcore.lang import Lang, Text

MAX_NAME = 300
"""Characters of an agency's name at most (the longest real names are about 150)."""

ADDED, RENAMED, CLOSED, REOPENED, UPDATED = "added", "renamed", "closed", "reopened", "updated"
CHANGE_KINDS = (ADDED, RENAMED, CLOSED, REOPENED, UPDATED)
_NOTE_OLD = "oldCode in the agency list of {source}"
_NOTE_GONE = "no longer in the agency list of {source}"


class Listed(Protocol):
    """One entry of the other axis's agency list (``vbcore.connector.gateway.RemoteAgency``)."""

    @property
    def code(self) -> str: ...
    @property
    def code102(self) -> str: ...
    @property
    def old_code(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True)
class Change:
    """What one code became: ``kind`` (``CHANGE_KINDS``), the entry before and after."""

    kind: str
    code: str
    before: Agency | None
    after: Agency | None

    def line(self, lang: Lang) -> str:
        """One line for people, in ``lang``."""
        after, before = self.after, self.before
        name = after.name if after else before.name if before else ""
        values = {"code": self.code, "name": name, "old": before.name if before else "",
                  "successor": (after.successor if after else None) or ""}  # fmt: skip
        if self.kind == CLOSED and values["successor"]:
            return _LINES["closed_to"].format(**values)(lang)
        return _LINES[self.kind].format(**values)(lang)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
        }


_LINES = {
    ADDED: Text("thêm     {code}  {name}", "added    {code}  {name}"),
    RENAMED: Text("đổi tên  {code}  {old} → {name}", "renamed  {code}  {old} → {name}"),
    CLOSED: Text("ngừng    {code}  {name}", "closed   {code}  {name}"),
    "closed_to": Text(
        "ngừng    {code}  {name} → kế thừa: {successor}", "closed   {code}  {name} → successor: {successor}"
    ),
    REOPENED: Text("mở lại   {code}  {name}", "reopened {code}  {name}"),
    UPDATED: Text("cập nhật {code}  {name}", "updated  {code}  {name}"),
}


@dataclass(frozen=True)
class SyncPlan:
    """The synced layer after the sync, what changed, and the list's entries left out (and why)."""

    agencies: tuple[Agency, ...]
    aliases: tuple[Alias, ...]
    changes: tuple[Change, ...]
    skipped: tuple[Text, ...]

    def directory(self, source: str = "") -> Directory:
        return Directory.from_agencies(self.agencies, source=source, aliases=self.aliases)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in CHANGE_KINDS}


def plan_sync(
    previous: Directory,
    listed: Iterable[Listed],
    *,
    via: str,
    source: str,
    today: date,
    local: Iterable[str] = (),
    known: Directory | None = None,
) -> SyncPlan:
    """The synced layer that ``listed`` makes of ``previous`` (the last sync's layer), reached ``via``."""
    local_bodies = set(local)
    known = known or Directory()
    skipped: list[Text] = []
    current: dict[str, Agency] = {}
    axis_codes: dict[str, str] = {}  # axis code -> code102
    old_codes: dict[str, tuple[str, str]] = {}  # oldCode -> (code102, name)
    for index, item in enumerate(listed, 1):
        entry = _entry(item, index, skipped)
        if entry is None:
            continue
        code, name, axis_code, old_code = entry
        if _body(code) in local_bodies:
            continue
        if code in current:
            skipped.append(_SKIP["twice"].format(index=index, code=code))
            continue
        if axis_code in axis_codes:
            skipped.append(_SKIP["axis_twice"].format(index=index, code=axis_code))
            axis_code = ""
        current[code] = _open_entry(previous.get(code) or known.get(code), code, name, via)
        if axis_code:
            axis_codes[axis_code] = code
        if old_code and old_code != code:
            old_codes.setdefault(old_code, (code, name))
    for old_code, (successor, name) in old_codes.items():
        if old_code in current or _body(old_code) in local_bodies:
            continue
        before, held = previous.get(old_code), known.get(old_code)
        if before is None and held is not None and held.closed and held.successor == successor:
            continue  # the hub knows it so already (a decree's closing, shipped)
        note = _NOTE_OLD.format(source=source)
        template = before or held
        current[old_code] = _closed_entry(template, old_code, template.name if template else name, via,
                                          successor, today, note)  # fmt: skip
    for before in previous.all():
        if before.code not in current:
            note = _NOTE_GONE.format(source=source)
            current[before.code] = (
                before
                if before.closed
                else _closed_entry(before, before.code, before.name, before.via, None, today, note)
            )
    aliases = _axis_aliases(previous, axis_codes, source, today)
    changes = _changes(previous, current, previous.aliases, aliases)
    return SyncPlan(tuple(current.values()), tuple(aliases), tuple(changes), tuple(skipped))


_SKIP = {
    "not_code": Text(
        "mục {index}: code102 {code!r} không phải mã định danh cơ quan: bỏ qua",
        "entry {index}: code102 {code!r} is not an agency code: left out",
    ),
    "old_not_code": Text(
        "mục {index}: oldCode {code!r} không phải mã định danh cơ quan: bỏ qua oldCode",
        "entry {index}: oldCode {code!r} is not an agency code: oldCode left out",
    ),
    "axis_code": Text(
        "mục {index}: code {code!r} trên trục không hợp lệ: bỏ qua code",
        "entry {index}: the axis code {code!r} is not valid: code left out",
    ),
    "twice": Text("mục {index}: {code} xuất hiện lần nữa: bỏ qua", "entry {index}: {code} again: left out"),
    "axis_twice": Text(
        "mục {index}: code {code} trên trục đã dùng cho cơ quan khác: bỏ qua code",
        "entry {index}: the axis code {code} names another agency already: code left out",
    ),
}


def _entry(item: Listed, index: int, skipped: list[Text]) -> tuple[str, str, str, str] | None:
    """(code102, name, axis code, oldCode) of one listed entry, checked; None when it is left out."""
    code = str(getattr(item, "code102", "") or getattr(item, "code", "") or "").strip()
    if not _is_code(code):
        skipped.append(_SKIP["not_code"].format(index=index, code=printable(code)[:80]))
        return None
    name = printable(" ".join(str(item.name or "").split()))[:MAX_NAME] or code
    axis_code = str(item.code or "").strip()
    try:
        check_code(AXIS, axis_code)
    except ConfigurationError:
        skipped.append(_SKIP["axis_code"].format(index=index, code=printable(axis_code)[:80]))
        axis_code = ""
    old_code = str(item.old_code or "").strip()
    if old_code and not _is_code(old_code):
        skipped.append(_SKIP["old_not_code"].format(index=index, code=printable(old_code)[:80]))
        old_code = ""
    return code, name, axis_code, old_code


def _is_code(code: str) -> bool:
    return is_valid_code(code) or is_test_tenant(code)


def _body(code: str) -> str:
    return parse_code(code).level1_body if is_valid_code(code) else code


def _open_entry(before: Agency | None, code: str, name: str, via: str) -> Agency:
    """``code`` open under ``name``; what ``before`` (the last sync's entry, or the hub's own) said
    beyond the list is kept, and a name it had becomes a former name."""
    former = list(before.former_names) if before else []
    if before is not None and before.name != name and before.name not in former:
        former.append(before.name)
    return Agency(
        code=code, name=name, kind=before.kind if before else infer_kind(code),
        parent=before.parent if before else (None if is_test_tenant(code) else parse_code(code).parent),
        short_name=before.short_name if before else None, former_names=tuple(former), via=via,
    )  # fmt: skip


def _closed_entry(
    before: Agency | None,
    code: str,
    name: str,
    via: str | None,
    successor: str | None,
    today: date,
    note: str,
) -> Agency:
    if before is not None and before.closed and before.successor == successor and before.via == via:
        return before
    base = _open_entry(before, code, before.name if before else name, via or "")
    kept_day = before.closed_on if before is not None and before.closed else None
    return replace(base, closed=True, successor=successor, via=via, note=note, closed_on=kept_day or today,
                   closed_by=before.closed_by if before else None)  # fmt: skip


def _axis_aliases(
    previous: Directory, axis_codes: Mapping[str, str], source: str, today: date
) -> list[Alias]:
    """Every axis row of ``previous`` (rows of codes that changed meaning or left end yesterday; a row
    that began today and ends today is dropped), and a new row for each code that names a new agency."""
    yesterday = today - timedelta(days=1)
    rows: list[Alias] = []
    still: set[str] = set()
    for row in previous.aliases:
        if row.system != AXIS or row.valid_to is not None:
            rows.append(row)
            continue
        if axis_codes.get(row.code) == row.agency:
            rows.append(row)
            still.add(row.code)
        elif row.valid_from is None or row.valid_from < today:
            rows.append(replace(row, valid_to=yesterday))
    for axis_code, code in axis_codes.items():
        if axis_code not in still:
            rows.append(Alias(AXIS, axis_code, code, f"getAgenciesList of {source}", valid_from=today))
    return rows


def _changes(
    previous: Directory, current: Mapping[str, Agency], old_rows: Iterable[Alias], new_rows: Iterable[Alias]
) -> list[Change]:
    axis_before = {r.agency: r.code for r in old_rows if r.system == AXIS and r.valid_to is None}
    axis_after = {r.agency: r.code for r in new_rows if r.system == AXIS and r.valid_to is None}
    changes = []
    for code, after in current.items():
        before = previous.get(code)
        if before is None:
            changes.append(Change(CLOSED if after.closed else ADDED, code, None, after))
        elif before.closed and not after.closed:
            changes.append(Change(REOPENED, code, before, after))
        elif after.closed and not before.closed:
            changes.append(Change(CLOSED, code, before, after))
        elif not after.closed and before.name != after.name:
            changes.append(Change(RENAMED, code, before, after))
        elif before != after or axis_before.get(code) != axis_after.get(code):
            changes.append(Change(UPDATED, code, before, after))
    return changes
