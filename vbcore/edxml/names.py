"""Namespaces of an edXML package and the wire formats of its values (docs/domain.md §3).

Reading is lenient where real producers disagree (``yyyy/MM/dd`` and ``dd/MM/yyyy``, ISO forms);
writing always emits the one shape the VPCP SDK emits (``yyyy/MM/dd``, ``yyyy/MM/dd HH:mm:ss``).
"""

from __future__ import annotations

import re
from datetime import date, datetime

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XLINK_NS = "http://www.w3.org/1999/xlink"

# Prefixes that real producers use without declaring them, and the only namespace each can mean.
# The parser declares them on the root element when (and only when) that is the sole defect.
WELL_KNOWN_PREFIXES: dict[str, str] = {"xlink": XLINK_NS, "edXML": EDXML_NS}

# MIME types that say "this is a ZIP" rather than what the file inside is.
ZIP_CONTENT_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/x-zip", "multipart/x-zip"}
)


def tag(local: str) -> str:
    """The Clark name of an element of the edXML namespace."""
    return f"{{{EDXML_NS}}}{local}"


_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})[/-](?P<m>\d{1,2})[/-](?P<d>\d{1,2})"),
    re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"),
)
_TIME = r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?)"


# The dates a package may carry, inclusive. Every date a real system writes is inside, its
# placeholders included (1899/12/30 of OLE and Delphi, 1900/01/01 of SQL Server and Excel,
# 1970/01/01 of Unix and Java, 9999/12/31 for "no end"); before 1800 nothing in a document system
# can be meant: .NET's 0001/01/01 (DateTime.MinValue), a year typed short (0202, 999). Such years
# also break what comes after the reader (four-digit years in the store, ``vb track``).
EARLIEST_DATE = date(1800, 1, 1)
LATEST_DATE = date(9999, 12, 31)


def parse_date(text: str) -> date:
    """``yyyy/MM/dd`` (the standard), ``dd/MM/yyyy`` (one provincial producer) or ``yyyy-MM-dd``.

    Raises ValueError for anything else. A time part, if present, is ignored.
    """
    for form in _DATE_FORMS:
        m = re.fullmatch(form.pattern + _TIME + "?", text)
        if m:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
    raise ValueError(text)


def parse_timestamp(text: str) -> datetime:
    """``yyyy/MM/dd HH:mm:ss`` (the standard), also with ``-``, ``T`` or a ``dd/MM/yyyy`` date.

    A date alone reads as midnight. Raises ValueError for anything else.
    """
    for form in _DATE_FORMS:
        m = re.fullmatch(form.pattern + _TIME + "?", text)
        if m:
            hour = int(m["H"]) if m["H"] else 0
            minute = int(m["M"]) if m["M"] else 0
            second = int(m["S"]) if m["S"] else 0
            return datetime(int(m["y"]), int(m["m"]), int(m["d"]), hour, minute, second)
    raise ValueError(text)


def format_date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: datetime) -> str:
    return f"{format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ValueError(text)


def format_bool(value: bool) -> str:
    return "true" if value else "false"
