"""The folder connector's file formats: the outbox's metadata files, and the inbox's readable summary.

An outgoing metadata file (``outbox/*.json`` or ``*.yaml``) is the project's metadata format
(``vbcore.metadata``: what ``vb unpack`` writes and ``vb pack`` reads), with attachment files named
relative to the outbox. ``from`` may be left out (it is the connector's agency); DocumentId, date,
manifest and ``Bussiness`` are completed as ``vb pack`` completes them::

    {"to": ["000.00.00.G22"],
     "code": {"code_number": "123", "code_notation": "UBND-VP"},
     "subject": "V/v ...",
     "attachments": [{"file": "cv123.pdf"}]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from vbcore.errors import ConfigurationError
from vbcore.lang import DEFAULT_LANG, Lang, Text
from vbcore.metadata import build_edoc
from vbcore.model import Edoc
from vbcore.timezones import vietnam_local

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


class MetadataInvalid(ConfigurationError):
    """An outgoing metadata file that cannot become a document; ``str()`` says which key and why."""

    reason = "metadata-invalid"


def safe_name(text: str, limit: int = 120) -> str:
    """A file or folder name for any id (ASCII, bounded): DocumentIds hold ``,`` and ``/``."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "document"
    return cleaned[:limit]


def attachment_paths(meta: Mapping[str, Any], folder: Path) -> list[Path]:
    """The files a metadata file names (to move them with it)."""
    return [folder / _attachment_entry(a)[0] for a in meta.get("attachments") or []]


def _attachment_entry(entry: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping) and isinstance(entry.get("file"), str):
        return entry["file"], entry
    raise MetadataInvalid(f"attachments: {entry!r} is neither a file name nor {{'file': name, ...}}",
                          vi=f"attachments: {entry!r} không phải tên tệp hay {{'file': tên tệp, ...}}")


def edoc_from_metadata(path: Path, meta: Mapping[str, Any], agency: str, today: datetime) -> Edoc:
    """The document a metadata file describes, completed as ``vb pack`` completes it."""
    return build_edoc(metadata=path, sender=None if "from" in meta else agency, today=today)


_PRIORITY = {0: Text("Thường", "normal"), 1: Text("Khẩn", "urgent"), 2: Text("Thượng khẩn", "very urgent"),
             3: Text("Hỏa tốc", "express"), 4: Text("Hỏa tốc hẹn giờ", "express, timed")}
_LABELS = {
    "title": Text("VĂN BẢN ĐẾN", "INCOMING DOCUMENT"),
    "number": Text("Số, ký hiệu", "Number"),
    "from": Text("Cơ quan ban hành", "From"),
    "date": Text("Ngày ban hành", "Date"),
    "type": Text("Loại văn bản", "Type"),
    "subject": Text("Trích yếu", "Subject"),
    "signer": Text("Người ký", "Signed by"),
    "priority": Text("Độ khẩn", "Priority"),
    "due": Text("Hạn xử lý", "Due"),
    "to": Text("Nơi nhận", "To"),
    "attachments": Text("Tệp đính kèm", "Attachments"),
    "none": Text("(không có)", "(none)"),
    "document_id": Text("Mã định danh văn bản", "DocumentId"),
    "signed_by": Text("Chữ ký số của cơ quan", "Signed by agency"),
    "verified": Text("đã kiểm tra", "verified"),
    "received": Text("Nhận lúc (giờ Việt Nam)", "Received at (Vietnam time)"),
}


def summary_text(edoc: Edoc, document_id: str, sender: str, received_at: datetime, files: list[str],
                 lang: Lang = DEFAULT_LANG) -> str:
    """A clerk-readable summary of an incoming document, in one language; times in Vietnam local time."""
    label = {key: text(lang) for key, text in _LABELS.items()}
    width = max(len(v) for v in label.values()) + 2
    d = edoc.promulgation_info.promulgation_date
    org = edoc.from_
    priority = _PRIORITY.get(edoc.other_info.priority or 0)
    received = vietnam_local(received_at)

    def line(key: str, value: object) -> str:
        return f"{(label[key] + ':').ljust(width)}{value}"

    lines = [
        label["title"],
        "",
        line("number", edoc.code or "-"),
        line("from", f"{org.organ_name or ''} ({org.organ_id})".replace(" ()", "").strip()),
        line("date", d.strftime("%d/%m/%Y") if d else "-"),
        line("type", edoc.document_type.type_name or "-"),
        line("subject", edoc.subject or "-"),
        line("signer", edoc.signer_info.full_name or "-"),
        line("priority", priority(lang) if priority else "-"),
        line("due", edoc.due_date.strftime("%d/%m/%Y") if edoc.due_date else "-"),
        line("to", ", ".join(edoc.recipients)),
        "",
        f"{label['attachments']}:",
        *([f"  - {f}" for f in files] or [f"  {label['none']}"]),
        "",
        line("document_id", document_id),
        line("signed_by", f"{sender} ({label['verified']})"),
        line("received", received.strftime("%d/%m/%Y %H:%M:%S")),
        "",
    ]
    return "\n".join(lines)
