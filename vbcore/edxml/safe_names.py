"""An attachment's name as the reader hands it on: one harmless path component, at most 255 bytes.

The name comes from the sender (``AttachmentName``), and receivers (the folder connector, a DMS)
save files under it. Whatever it says, what leaves the reader is a single file name on every
system: no ``/`` or ``\\`` (so no ``../``, no absolute path), no ``:`` (no drive letter ``C:``, no
NTFS stream), no control character (NUL included), not ``.`` or ``..``, and at most
``MAX_NAME_BYTES`` in UTF-8 (the limit of ext4, NTFS and most file systems: a long Vietnamese name
passes it quickly, each accented letter taking 2-3 bytes). What is removed becomes ``_``; a name
cut short keeps its extension. Vietnamese letters, spaces and other punctuation are kept, so every
name real producers send reads unchanged (``1896_QD-TTg_m_294779.doc``: producers already replace
the ``/`` of a document's code themselves).
"""

from __future__ import annotations

import re

MAX_NAME_BYTES = 255
_EXTENSION_BYTES = 16  # an extension longer than this is not kept apart when a name is cut
_UNSAFE = re.compile(r"[/\\:\x00-\x1f\x7f-\x9f]")


def safe_attachment_name(name: str) -> str:
    """``name`` made into one harmless file name (unchanged when it already is one)."""
    safe = _UNSAFE.sub("_", name)
    if safe and not safe.strip("."):  # "." and ".." name directories, not files
        safe = "_" * len(safe)
    if len(safe.encode("utf-8")) > MAX_NAME_BYTES:
        safe = _cut(safe)
    return safe


def _cut(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode("utf-8")) + 1 > _EXTENSION_BYTES:
        stem, extension = name, ""
    tail = f".{extension}" if extension else ""
    room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")  # never half a character
    return cut + tail
