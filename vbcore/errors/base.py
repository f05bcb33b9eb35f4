"""The root of every vbus error (``VbusError``), the refusal of a package (``PackageRefused``), and
what every error module shares: one-line statements in either language (``statement_of``,
``refusal_named``) and details made safe for XML and terminals (``printable``).
"""

from __future__ import annotations

import re

# A refusal's detail travels in a signed 02 (XML) and into logs and terminals: characters XML 1.0
# cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF) and the C1 controls a terminal
# obeys are written as escapes, and a detail is cut at this length, whatever a hostile package put
# into the values it echoes.
MAX_DETAIL_CHARS = 2000


_LINE_UNSAFE = re.compile("[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_CHAR = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``printable``, and on one line: a value an agency chose (a message id, a DocumentId) printed in a
    list of lines cannot start a line of its own, nor reorder what a terminal shows of the line (the
    bidirectional controls of "Trojan Source", U+202A-202E, U+2066-2069, U+200E/200F, U+061C) or
    break it (U+2028/2029): those are escaped as ``\\uXXXX``."""
    line = printable(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return _LINE_UNSAFE.sub(_escape, line)


def printable(text: str) -> str:
    """``text`` safe to put in XML and on a terminal line: bad characters escaped, length bounded."""
    safe = _UNSAFE_CHAR.sub(_escape, text)
    if len(safe) > MAX_DETAIL_CHARS:
        safe = safe[: MAX_DETAIL_CHARS - 1] + "…"
    return safe


class VbusError(Exception):
    """Root of every vbus error.

    ``reason`` is machine-readable (refusal statuses, the tracking store, metrics). For people, one
    language per line (``vbcore.lang``): ``reason_vi`` / ``reason_en`` is the short statement,
    ``detail_vi`` / ``str(err)`` the precise detail in the same language; ``describe(lang)`` joins
    them. Raise with both: ``SomethingWrong("the English detail", vi="chi tiết bằng tiếng Việt")``.
    """

    reason: str = "error"
    reason_vi: str = "Lỗi"
    reason_en: str = "Error"

    def __init__(self, message: str = "", *args: object, vi: str | None = None) -> None:
        super().__init__(message, *args)
        self.detail_vi = vi

    def describe(self, lang: str = "vi") -> str:
        """One line in one language: the short statement, then the precise detail.

        The Description of a refusal status, and what ``vb`` prints. Never mixes languages: an error
        raised without a Vietnamese detail gives only its Vietnamese statement (every refusal has its
        detail: ``tests/test_one_language.py`` checks each raise site)."""
        head = self.reason_en if lang == "en" else self.reason_vi
        detail = str(self) if lang == "en" else self.detail_vi
        return f"{head}: {detail}" if detail else head

    @property
    def has_vietnamese_detail(self) -> bool:
        """Whether ``describe("vi")`` carries the precise detail (or only the statement)."""
        return bool(self.detail_vi) or not str(self)


def statement_of(reason: str, lang: str = "vi") -> str:
    """The short statement of the error whose ``reason`` this is, in ``lang`` (the reason itself if
    no error has it): what a record that kept only the reason (the store's refusals) shows people."""
    stack: list[type[VbusError]] = [VbusError]
    while stack:
        cls = stack.pop()
        if cls.__dict__.get("reason") == reason:
            return cls.reason_en if lang == "en" else cls.reason_vi
        stack.extend(cls.__subclasses__())
    return reason


class PackageRefused(VbusError):
    """A package that vbus will not accept; ``str()`` says why, precisely enough to fix it."""

    reason = "refused"
    reason_vi = "Văn bản bị từ chối"
    reason_en = "Package refused"

    # Where in the package, when known: the line and column (from 1), the element's path.
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __init__(self, message: str = "", *args: object, vi: str | None = None) -> None:
        # The detail echoes what the package held: made safe here, once, for every refusal.
        super().__init__(printable(message), *args, vi=printable(vi) if vi is not None else None)

    def locate(self, line: int | None, column: int | None = None) -> None:
        """Say where in the package it was refused (once): ``(line L, column C)`` ends the detail in
        both languages. A refusal that already says where keeps what it says."""
        if self.line is not None or line is None:
            return
        self.line, self.column = line, column
        where = f"line {line}, column {column}" if column else f"line {line}"
        where_vi = f"dòng {line}, cột {column}" if column else f"dòng {line}"
        first = str(self.args[0]) if self.args else ""
        self.args = (f"{first} ({where})", *self.args[1:])
        if self.detail_vi is not None:
            self.detail_vi = f"{self.detail_vi} ({where_vi})"


def refusal_named(reason: str | None) -> type[VbusError] | None:
    """The error class whose machine ``reason`` this is (the hub sends it beside its 02), to say in
    any language what happened; None for a reason this vbus does not know."""
    if not reason:
        return None
    pending: list[type[VbusError]] = [VbusError]
    while pending:
        cls = pending.pop()
        if cls.__dict__.get("reason") == reason:
            return cls
        pending.extend(cls.__subclasses__())
    return None
