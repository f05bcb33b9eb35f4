"""File names the folder connector makes from names it is given: safe, unique and bounded.

An attachment's name comes from the sender's package: hostile until made safe. A name becomes one path
component that stays inside its folder (no ``/``, ``\\``, ``..``, absolute paths or drive letters), with
no NUL or control characters, no characters Windows shares refuse (``:*?"<>|``), no direction overrides
that disguise an extension (``evil\\u202efdp.exe``), and no reserved device name (``CON``, ``nul.txt``),
at most 255 bytes in UTF-8 (a Linux file name's limit: a long Vietnamese name reaches it in about 90
letters) keeping the extension and as much of the name as fits. ``UniqueNames`` makes a name unique in
its folder (``name-1.pdf``, ``name-2.pdf`` ...) in constant time per name, so 20,000 attachments with one
name cost 20,000 steps, not 200 million.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

MAX_NAME_BYTES = 255
_MAX_EXTENSION_BYTES = 20  # ".pdf", ".docx", ".tar.gz" parts; a longer tail is part of the name
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$",
                       re.IGNORECASE)
_FREE_TRIES = 20  # numbered names tried by ``free_path`` before a random one


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _truncate(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that is at most ``max_bytes`` in UTF-8 (never half a letter)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max(0, max_bytes)].decode("utf-8", "ignore")


def _split(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or _utf8(extension) + 1 > _MAX_EXTENSION_BYTES or " " in extension:
        return name, ""
    return stem, "." + extension


def fit(name: str, suffix: str = "") -> str:
    """``name`` with ``suffix`` before its extension, shortened to fit ``MAX_NAME_BYTES``."""
    stem, extension = _split(name)
    budget = MAX_NAME_BYTES - _utf8(extension) - _utf8(suffix)
    stem = _truncate(stem, budget).rstrip(" .") or "_"
    return stem + suffix + extension


def safe_file_name(name: str, fallback: str = "attachment") -> str:
    """One safe path component for ``name`` (its last part, cleaned and bounded); ``fallback`` when
    nothing usable is left. Vietnamese letters are kept."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    if not cleaned or set(cleaned) <= {"_", ".", " "}:
        cleaned = _UNSAFE.sub("_", fallback).strip(" .") or "attachment"
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    return fit(cleaned)


class UniqueNames:
    """Names already used in one folder (compared case-insensitively, as Windows and macOS do)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next: dict[str, int] = {}  # name -> the next number to try for it

    def take(self, name: str) -> str:
        """``name`` if unused, else ``name-<n>`` with the first free n; it is then used."""
        key = name.casefold()
        if key not in self._taken:
            self._taken.add(key)
            return name
        n = self._next.get(key, 1)
        while (candidate := fit(name, f"-{n}")).casefold() in self._taken:
            n += 1
        self._next[key] = n + 1
        self._taken.add(candidate.casefold())
        return candidate


def free_path(path: Path) -> Path:
    """``path``, or a free name beside it (``name-1.ext`` ..., then a random one): a bounded number of
    checks, however many files of that name the folder holds."""
    if not path.exists():
        return path
    for n in range(1, _FREE_TRIES + 1):
        candidate = path.with_name(fit(path.name, f"-{n}"))
        if not candidate.exists():
            return candidate
    return path.with_name(fit(path.name, f"-{uuid.uuid4().hex[:12]}"))
