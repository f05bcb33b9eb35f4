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
from vbcore.metadata import build_edoc
from vbcore.model import Edoc

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


class MetadataInvalid(ConfigurationError):
    """An outgoing metadata file that cannot become a document; ``str()`` says which key and why."""

    reason = "metadata-invalid"


def safe_name(text: str, limit: int = 120) -> str:
    """A file or folder name for any id: DocumentIds hold ``,`` and ``/``."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "document"
    return cleaned[:limit]


_RESERVED = re.compile(r"[\x00-\x1f\x7f:*?\"<>|]")


def file_name(name: str, fallback: str = "attachment") -> str:
    """An attachment's own name, safe to create: no folders, no reserved characters; Vietnamese kept."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _RESERVED.sub("_", base).strip(" .") or fallback


def attachment_paths(meta: Mapping[str, Any], folder: Path) -> list[Path]:
    """The files a metadata file names (to move them with it)."""
    return [folder / _attachment_entry(a)[0] for a in meta.get("attachments") or []]


def _attachment_entry(entry: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping) and isinstance(entry.get("file"), str):
        return entry["file"], entry
    raise MetadataInvalid(f"attachments: {entry!r} is neither a file name nor {{'file': name, ...}}")


def edoc_from_metadata(path: Path, meta: Mapping[str, Any], agency: str, today: datetime) -> Edoc:
    """The document a metadata file describes, completed as ``vb pack`` completes it."""
    return build_edoc(metadata=path, sender=None if "from" in meta else agency, today=today)


_PRIORITY = {0: "Thường / normal", 1: "Khẩn / urgent", 2: "Thượng khẩn / very urgent",
             3: "Hỏa tốc / express", 4: "Hỏa tốc hẹn giờ / express, timed"}


def summary_text(edoc: Edoc, document_id: str, sender: str, received_at: str, files: list[str]) -> str:
    """A clerk-readable summary of an incoming document, Vietnamese first, English after the slash."""
    d = edoc.promulgation_info.promulgation_date
    org = edoc.from_
    lines = [
        "VĂN BẢN ĐẾN / INCOMING DOCUMENT",
        "",
        f"Số, ký hiệu / Number:          {edoc.code or '-'}",
        f"Cơ quan ban hành / From:       {org.organ_name or ''} ({org.organ_id})".replace(" ()", ""),
        f"Ngày ban hành / Date:          {d.strftime('%d/%m/%Y') if d else '-'}",
        f"Loại văn bản / Type:           {edoc.document_type.type_name or '-'}",
        f"Trích yếu / Subject:           {edoc.subject or '-'}",
        f"Người ký / Signed by:          {edoc.signer_info.full_name or '-'}",
        f"Độ khẩn / Priority:            {_PRIORITY.get(edoc.other_info.priority or 0, '-')}",
        f"Hạn xử lý / Due:               {edoc.due_date.strftime('%d/%m/%Y') if edoc.due_date else '-'}",
        f"Nơi nhận / To:                 {', '.join(edoc.recipients)}",
        "",
        "Tệp đính kèm / Attachments:",
        *([f"  - {f}" for f in files] or ["  (không có / none)"]),
        "",
        f"DocumentId:                    {document_id}",
        f"Chữ ký số của / Signed by agency: {sender} (đã kiểm tra / verified)",
        f"Nhận lúc / Received at (UTC):  {received_at}",
        "",
    ]
    return "\n".join(lines)
