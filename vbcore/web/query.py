"""A clerk's description of a letter, read into a search: "công văn 1234 gửi Hà Nội hôm qua".

What is recognised, with or without accents, in any order:

- a DocumentId (``000.00.00.G22,2026/11/24,1234/VPCP-KSTT``, or a UUID) or an agency code;
- a number, alone or with its notation (``1234``, ``số 1234``, ``1234/VPCP-KSTT``);
- a document type ("công văn", "quyết định", "báo cáo", ...);
- agencies by name, found in the directory without accents: after "gửi", "đến", "cho" the recipient,
  after "từ", "của", "do" the sender; a name that begins with "Bộ", "UBND", "Sở", "tỉnh", "thành
  phố"... without such a word is either;
- days in Vietnam time: "hôm nay", "hôm qua", "hôm kia", "tuần này", "tuần trước", "tháng này",
  "tháng trước", "3 ngày qua", "ngày 24/11", "24/11/2026", "từ 20/11 đến 24/11" (and "today",
  "yesterday", "this week", "last week");
- every other word: a word of the subject (accents ignored).

``parse`` returns the ``DocumentQuery`` and what it understood, piece by piece, for the board to show.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from vbcore.directory import Agency, Directory
from vbcore.identifiers import is_valid_code
from vbcore.store.board import DocumentQuery
from vbcore.text import fold
from vbcore.timezones import VIETNAM

TYPES = (
    "công văn", "quyết định", "thông báo", "báo cáo", "tờ trình", "kế hoạch", "giấy mời", "chỉ thị",
    "nghị quyết", "nghị định", "thông tư", "hướng dẫn", "biên bản", "công điện", "chương trình", "đề án",
    "phương án", "giấy giới thiệu", "giấy ủy quyền", "thông cáo", "quy chế", "quy định", "luật",
)  # fmt: skip
_TYPE_KEYS = {fold(t): t for t in TYPES}
_TO = {"gui", "den", "cho", "toi", "gui den", "gui cho", "to"}
_FROM = {"tu", "cua", "do", "from", "ben gui"}
_NAME_STARTS = {
    "bo",
    "ubnd",
    "hdnd",
    "so",
    "tinh",
    "tp",
    "cuc",
    "vien",
    "uy ban",
    "thanh pho",
    "van phong",
    "tong cuc",
}
_NUMBER_WORDS = {"so", "number", "no"}
_STOP = {"van ban", "vb", "v v", "ve viec", "tim", "cac", "nhung", "ngay", "luc"}
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")
_NUMBER = re.compile(r"^\d+[A-Za-z]?(?:/[^\s/]+(?:/[^\s/]+)?)?$")
_DOCUMENT_ID = re.compile(r"^[0-9A-Za-z.]+,\d{4}/\d{2}/\d{2},.+$")
_MAX_NAME_WORDS = 8


@dataclass(frozen=True)
class Understood:
    """One piece of the description: what it was read as (``kind``) and the value."""

    # document_id, number, type, sender, recipient, party, since, until, words or unknown_agency
    kind: str
    text: str  # the words as the clerk wrote them
    value: str  # the machine value (a code, a date, a folded word)
    label: str = ""  # for people: an agency's name, a day


@dataclass(frozen=True)
class ParsedQuery:
    query: DocumentQuery
    understood: tuple[Understood, ...] = field(default_factory=tuple)


@dataclass
class _Reader:
    raw: list[str]
    folded: list[str]
    directory: Directory
    today: date
    found: list[Understood] = field(default_factory=list)
    number: str | None = None
    document_id: str | None = None
    type_key: str | None = None
    senders: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None  # exclusive

    def text(self, i: int, j: int) -> str:
        return " ".join(self.raw[i:j])

    def phrase(self, i: int, n: int) -> str:
        return " ".join(self.folded[i : i + n])


def parse(text: str, directory: Directory, *, now: datetime) -> ParsedQuery:
    """Read ``text`` (see the module docstring); ``now`` fixes "hôm nay"."""
    raw = [t for t in re.split(r"\s+", text.strip()) if t][:64]  # a description, not a document
    r = _Reader(raw, [fold(t) for t in raw], directory, now.astimezone(VIETNAM).date())
    i = 0
    while i < len(raw):
        i = _step(r, i)
    since = None if r.since is None else _start_of(r.since)
    until = None if r.until is None else _start_of(r.until)
    query = DocumentQuery(
        document_id=r.document_id, number=r.number, type_key=r.type_key, senders=tuple(r.senders),
        recipients=tuple(r.recipients), parties=tuple(r.parties), words=tuple(r.words), since=since,
        until=until,
    )  # fmt: skip
    return ParsedQuery(query, tuple(r.found))


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VIETNAM)


def _step(r: _Reader, i: int) -> int:
    """Read what begins at token ``i``; return where the next piece begins."""
    token, word = r.raw[i], r.folded[i]
    if _DOCUMENT_ID.match(token) or _is_uuid(token):
        r.document_id = token
        r.found.append(Understood("document_id", token, token))
        return i + 1
    if (end := _dates(r, i)) is not None:
        return end
    if word in _NUMBER_WORDS and i + 1 < len(r.raw) and _NUMBER.match(r.raw[i + 1]):
        return _take_number(r, i + 1, start=i)
    if _NUMBER.match(token) and r.number is None and not is_valid_code(token):
        return _take_number(r, i, start=i)
    for n in (3, 2, 1):
        key = r.phrase(i, n)
        if key in _TYPE_KEYS and len(key.split()) == n and r.type_key is None:
            r.type_key = key
            r.found.append(Understood("type", r.text(i, i + n), key, _TYPE_KEYS[key]))
            return i + n
    for n in (2, 1):
        role = r.phrase(i, n)
        if len(role.split()) == n and (role in _TO or role in _FROM):
            end = _agency(r, i + n, "recipient" if role in _TO else "sender", start=i)
            if end is not None:
                return end
    if word in _NAME_STARTS or r.phrase(i, 2) in _NAME_STARTS or is_valid_code(token):
        end = _agency(r, i, "party", start=i)
        if end is not None:
            return end
    for n in (2, 1):
        if r.phrase(i, n) in _STOP and len(r.phrase(i, n).split()) == n:
            return i + n
    for part in word.split():
        if len(part) > 1:  # "V/v" is no word of the subject
            r.words.append(part)
            r.found.append(Understood("words", token, part))
    return i + 1


def _is_uuid(token: str) -> bool:
    try:
        uuid.UUID(token)
    except ValueError:
        return False
    return len(token) >= 32


def _take_number(r: _Reader, i: int, *, start: int) -> int:
    r.number = r.raw[i].rstrip(".,;")
    r.found.append(Understood("number", r.text(start, i + 1), r.number))
    return i + 1


def _agency(r: _Reader, i: int, role: str, *, start: int) -> int | None:
    """The longest run of words from ``i`` that names agencies in the directory (as a phrase)."""
    if i >= len(r.raw):
        return None
    if is_valid_code(r.raw[i]):
        codes, end = [r.raw[i]], i + 1
    else:
        codes, end = [], i
        for n in range(min(_MAX_NAME_WORDS, len(r.raw) - i), 0, -1):
            phrase = r.phrase(i, n)
            if len(phrase) < 3:
                continue
            matches = [a for a in r.directory.search(phrase) if _names(a, phrase)]
            if matches:
                codes, end = [a.code for a in matches], i + n
                break
    if not codes:
        if role == "party":
            return None
        r.found.append(Understood("unknown_agency", r.text(start, i + 1), r.folded[i]))
        return i + 1
    {"recipient": r.recipients, "sender": r.senders, "party": r.parties}[role].extend(codes)
    names = "; ".join(f"{a.name} ({a.code})" for c in codes if (a := r.directory.get(c)) is not None)
    r.found.append(Understood(role, r.text(start, end), ",".join(codes), names or ",".join(codes)))
    return end


def _names(agency: Agency, phrase: str) -> bool:
    names = [agency.name, agency.short_name or "", *agency.former_names]
    return phrase == fold(agency.code) or any(phrase in fold(n) for n in names if n)


# --- days ---------------------------------------------------------------------------------------


def _dates(r: _Reader, i: int) -> int | None:
    today = r.today
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    spans = {
        "hom nay": (today, today + timedelta(days=1)), "today": (today, today + timedelta(days=1)),
        "hom qua": (today - timedelta(days=1), today), "yesterday": (today - timedelta(days=1), today),
        "hom kia": (today - timedelta(days=2), today - timedelta(days=1)),
        "tuan nay": (monday, monday + timedelta(days=7)), "this week": (monday, monday + timedelta(days=7)),
        "tuan truoc": (monday - timedelta(days=7), monday), "last week": (monday - timedelta(days=7), monday),
        "thang nay": (first, next_first), "this month": (first, next_first),
        "thang truoc": (previous_first, first), "last month": (previous_first, first),
    }  # fmt: skip
    for n in (2, 1):
        key = r.phrase(i, n)
        if key in spans and len(key.split()) == n:
            r.since, r.until = spans[key]
            r.found.append(
                Understood("since", r.text(i, i + n), r.since.isoformat(), _span(r.since, r.until))
            )
            return i + n
    # "3 ngày qua", "3 ngay gan day", "last 3 days"
    m = re.fullmatch(r"(\d{1,3}) ngay (qua|gan day|truoc)", r.phrase(i, 3)) or re.fullmatch(
        r"(\d{1,3}) ngay (qua|gan day|truoc)", r.phrase(i, 4)
    )
    if m:
        n = len(m.group(0).split())
        r.since, r.until = today - timedelta(days=int(m.group(1)) - 1), today + timedelta(days=1)
        r.found.append(Understood("since", r.text(i, i + n), r.since.isoformat(), _span(r.since, r.until)))
        return i + n
    # "từ 20/11", "đến 24/11", "ngày 24/11", "24/11/2026"
    lead = r.folded[i]
    offset = 1 if lead in ("tu", "den", "ngay", "from", "to", "on") and i + 1 < len(r.raw) else 0
    day = _day(r.raw[i + offset], today)
    if day is None:
        return None
    end = i + offset + 1
    if offset and lead in ("tu", "from"):
        r.since = day
        r.found.append(Understood("since", r.text(i, end), day.isoformat(), f"{day:%d/%m/%Y}"))
    elif offset and lead in ("den", "to"):
        r.until = day + timedelta(days=1)
        r.found.append(Understood("until", r.text(i, end), day.isoformat(), f"{day:%d/%m/%Y}"))
    else:
        r.since, r.until = day, day + timedelta(days=1)
        r.found.append(Understood("since", r.text(i, end), day.isoformat(), f"{day:%d/%m/%Y}"))
    return end


def _day(token: str, today: date) -> date | None:
    m = _DATE.match(token)
    if not m:
        return None
    day, month = int(m.group(1)), int(m.group(2))
    year = int(m.group(3)) if m.group(3) else today.year
    if year < 100:
        year += 2000
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if not m.group(3) and found > today:  # "24/12" in January: last December
        found = found.replace(year=year - 1)
    return found


def _span(since: date, until: date) -> str:
    last = until - timedelta(days=1)
    return f"{since:%d/%m/%Y}" if last == since else f"{since:%d/%m/%Y} – {last:%d/%m/%Y}"
