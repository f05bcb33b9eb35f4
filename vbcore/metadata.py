"""A document package's metadata as plain JSON/YAML data: what ``vb unpack`` writes and ``vb pack`` reads.

``edoc_to_data(edoc, file_names)`` and ``edoc_from_data(data, base_dir)`` are inverse: the data is the
model (``vbcore.model.Edoc``) field by field, with ``from`` for ``from_``, dates as ``yyyy-mm-dd``
(``yyyy/MM/dd`` is read too), timestamps as ``yyyy-mm-ddTHH:MM:SS`` (Vietnam local time, no zone, as
on the wire), enums by their number, and each attachment's bytes replaced by ``file``, a path relative
to the metadata file. So ``pack(unpack(x))`` gives back the same package (the signature aside: a
re-packed package is unsigned until signed again). Example::

    {"from": {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"},
     "to": [{"organ_id": "000.00.00.H24"}],
     "code": {"code_number": "123", "code_notation": "VPCP-TH"},
     "promulgation_info": {"place": "Hà Nội", "promulgation_date": "2025-07-01"},
     "document_type": {"type": 2, "type_name": "Công văn"},
     "subject": "V/v ...",
     "attachments": [{"file": "cong-van.pdf", "name": "Công văn.pdf", "content_type": "application/pdf",
                      "content_id": "cid:4f1c..."}]}

Hand-written metadata may be shorter: an organisation may be just its code (``"from": "000.00.00.G22"``,
``"to": ["000.00.00.H24"]``), and an attachment just ``{"file": "x.pdf"}`` (name from the file, MIME
type guessed, a fresh ``cid:``). Unknown keys are refused, naming the key and where it is.

``build_edoc(metadata=..., <option values>, today=...)`` is ``vb pack``: a metadata file with option
values on top, completed with what a new document needs. ``unpack_edoc(edoc, folder)`` is ``vb unpack``.
"""

from __future__ import annotations

import dataclasses
import json
import mimetypes
import re
import types
import typing
import uuid
from datetime import date, datetime
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

from vbcore.errors import ConfigurationError
from vbcore.mapping_files import load_mapping
from vbcore.model import (
    Attachment,
    Blob,
    Business,
    Edoc,
    ManifestReference,
    Organization,
    SignatureSummary,
    TraceHeader,
)
from vbcore.status import BusinessDocType

_RENAMED = {"from_": "from"}
_COMPLETED: dict[str, Any] = {"document_id": None, "trace_headers": [], "business": None, "manifest": []}
"""Keys that ``build_edoc`` fills in when the metadata does not have them at all."""
_SKIPPED = {SignatureSummary}


def edoc_to_data(edoc: Edoc, file_names: dict[str, str] | None = None) -> dict[str, Any]:
    """``edoc`` as JSON-able data; ``file_names`` maps an attachment's content id to its file name."""
    data: dict[str, Any] = _to_data(edoc)
    for key, empty in _COMPLETED.items():  # written even when empty, so pack does not complete them
        data.setdefault(key, empty)
    names = file_names or {}
    no_content = frozenset({"content"})
    data["attachments"] = [
        {"file": names.get(a.content_id, a.name), **_to_data(a, skip=no_content)} for a in edoc.attachments
    ]
    return data


def edoc_from_data(data: Any, base_dir: Path, *, where: str = "metadata") -> Edoc:
    """The ``Edoc`` described by ``data``; attachment files are read relative to ``base_dir``.

    Raises ``ConfigurationError`` naming the key and what is wrong with it.
    """
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: expected a mapping")
    data = dict(data)
    attachments = data.pop("attachments", None) or []
    if not isinstance(attachments, list):
        raise ConfigurationError(f"{where}.attachments: expected a list")
    for key in ("from", "to"):
        if key not in data:
            raise ConfigurationError(f"{where}: '{key}' is required")
    edoc = _from_data(Edoc, data, where)
    assert isinstance(edoc, Edoc)
    files = tuple(_attachment(a, base_dir, f"{where}.attachments[{i}]") for i, a in enumerate(attachments))
    return dataclasses.replace(edoc, attachments=files)


def attachment_from_file(
    path: Path, *, name: str | None = None, content_type: str | None = None
) -> Attachment:
    """An attachment for a file on disk: its name, its guessed MIME type, a fresh ``cid:`` content id."""
    guessed = mimetypes.guess_type(path.name)[0]
    return Attachment(
        content_id=f"cid:{uuid.uuid4()}",
        name=name or path.name,
        content=Blob.from_file(path),
        content_type=content_type or guessed or "application/octet-stream",
    )


def _attachment(item: Any, base_dir: Path, where: str) -> Attachment:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ConfigurationError(f"{where}: expected a mapping with 'file' (a path relative to the metadata)")
    item = dict(item)
    path = base_dir / item.pop("file")
    if not path.is_file():
        raise ConfigurationError(f"{where}: attachment file {path} does not exist")
    base = attachment_from_file(path, name=item.get("name"), content_type=item.get("content_type"))
    fields = {f.name for f in dataclasses.fields(Attachment)} - {"content"}
    unknown = set(item) - fields
    if unknown:
        allowed = ", ".join(["file", *sorted(fields)])
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)} (allowed: {allowed})")
    values = {k: _convert(_hints(Attachment)[k], v, f"{where}.{k}") for k, v in item.items() if v is not None}
    return dataclasses.replace(base, **values)


def build_edoc(
    *,
    metadata: Path | None = None,
    sender: str | None = None,
    recipients: tuple[str, ...] = (),
    number: str | None = None,
    notation: str | None = None,
    subject: str | None = None,
    doc_type: int | None = None,
    type_name: str | None = None,
    place: str | None = None,
    promulgation_date: date | None = None,
    attach: tuple[Path, ...] = (),
    today: datetime,
) -> Edoc:
    """The ``Edoc`` of ``vb pack``: the metadata file (if any) with the given values on top, completed.

    Completed with what a new document needs when absent: the promulgation date (``today``), type 2
    (administrative); and, when the metadata does not have the key at all (``vb unpack`` always writes
    them, ``null`` or empty included, so a round trip adds nothing): a ``TraceHeader`` of the sender at
    ``today``, ``Bussiness`` type 0 (new), the conventional DocumentId
    ``<from>,<yyyy/MM/dd>,<number>/<notation>`` and a manifest of the attachments.
    ``ConfigurationError`` names what is missing.
    """
    data: dict[str, Any] = dict(load_mapping(metadata)) if metadata else {}
    base_dir = metadata.parent if metadata else Path.cwd()
    if sender:
        data["from"] = sender
    if recipients:
        data["to"] = list(recipients)
    _update(data, "code", code_number=number, code_notation=notation)
    _update(data, "promulgation_info", place=place, promulgation_date=promulgation_date)
    _update(data, "document_type", type=doc_type, type_name=type_name)
    if subject:
        data["subject"] = subject
    for key, option in (("from", "--from"), ("to", "--to")):
        if not data.get(key):
            raise ConfigurationError(f"{option} is missing (or '{key}' in the metadata)")
    given = set(data)
    edoc = edoc_from_data(data, base_dir, where=str(metadata) if metadata else "metadata")
    for value, option in (
        (edoc.code.code_number, "--number"),
        (edoc.code.code_notation, "--notation"),
        (edoc.subject, "--subject"),
    ):
        if not value:
            raise ConfigurationError(f"{option} is missing (or its field in the metadata)")
    added = tuple(attachment_from_file(p) for p in attach)
    edoc = dataclasses.replace(edoc, attachments=edoc.attachments + added)
    if edoc.promulgation_info.promulgation_date is None:
        info = dataclasses.replace(edoc.promulgation_info, promulgation_date=today.date())
        edoc = dataclasses.replace(edoc, promulgation_info=info)
    if edoc.document_type.type is None:
        edoc = dataclasses.replace(edoc, document_type=dataclasses.replace(edoc.document_type, type=2))
    if "trace_headers" not in given:
        edoc = dataclasses.replace(edoc, trace_headers=(TraceHeader(edoc.from_.organ_id, today),))
    if "business" not in given:
        edoc = dataclasses.replace(edoc, business=Business(BusinessDocType.NEW))
    if "document_id" not in given:
        edoc = dataclasses.replace(edoc, document_id=edoc.effective_document_id)
    listed = edoc.manifest if "manifest" in given else ()
    unlisted = edoc.attachments if "manifest" not in given else added
    refs = tuple(ManifestReference(a.content_id, a.content_type, a.description, a.name) for a in unlisted)
    return dataclasses.replace(edoc, manifest=listed + refs)


def _update(data: dict[str, Any], key: str, **values: Any) -> None:
    given = {k: v for k, v in values.items() if v is not None}
    if given:
        current = data.get(key) or {}
        if not isinstance(current, dict):
            raise ConfigurationError(f"metadata: '{key}' must be a mapping")
        data[key] = {**current, **given}


def unpack_edoc(edoc: Edoc, directory: Path) -> list[str]:
    """Write the attachments (original bytes) and ``metadata.json`` into ``directory``; the names written.

    File names are the attachments' own, made safe (no folders, no control characters) and unique.
    """
    directory.mkdir(parents=True, exist_ok=True)
    used = {METADATA_FILE}
    names: dict[str, str] = {}
    for i, a in enumerate(edoc.attachments, 1):
        name = _unique(_safe_name(a.name) or f"attachment-{i}", used)
        used.add(name)
        names[a.content_id] = name
        with (directory / name).open("wb") as out:
            a.content.copy_to(out)
    text = json.dumps(edoc_to_data(edoc, names), ensure_ascii=False, indent=2)
    (directory / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
    return [*names.values(), METADATA_FILE]


METADATA_FILE = "metadata.json"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).strip(" .")


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    n = 2
    while f"{stem}-{n}{dot}{suffix}" in used:
        n += 1
    return f"{stem}-{n}{dot}{suffix}"


# --- generic dataclass <-> data -----------------------------------------------------------------------


def _to_data(obj: Any, skip: frozenset[str] = frozenset()) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            empty = value is None or value == ()
            if empty or f.name in skip or type(value) in _SKIPPED or f.name == "attachments":
                continue
            converted = _to_data(value)
            if converted != {}:
                out[_RENAMED.get(f.name, f.name)] = converted
        return out
    if isinstance(obj, tuple):
        return [_to_data(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_data(cls: type, data: Any, where: str) -> Any:
    if cls is Organization and isinstance(data, str):
        return Organization(organ_id=data)
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: expected a mapping, not {data!r}")
    hints = _hints(cls)
    names = {_RENAMED.get(f.name, f.name): f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(names) - ({"attachments"} if cls is Edoc else set())
    if unknown:
        allowed = ", ".join(sorted(names))
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)} (allowed: {allowed})")
    values = {
        names[k]: _convert(hints[names[k]], v, f"{where}.{k}")
        for k, v in data.items()
        if k in names and v is not None
    }
    try:
        return cls(**values)
    except TypeError as e:
        raise ConfigurationError(f"{where}: {e}") from e


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value, where)
    if origin is tuple:
        inner = typing.get_args(hint)[0]
        items = value if isinstance(value, list) else [value]
        return tuple(_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(items))
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _from_data(hint, value, where)
        try:
            return _scalar(hint, value)
        except (TypeError, ValueError) as e:
            raise ConfigurationError(f"{where}: {value!r} is not a valid {hint.__name__} ({e})") from e
    return value


def _scalar(hint: type, value: Any) -> Any:
    if issubclass(hint, IntEnum):
        return hint(int(value))
    if issubclass(hint, Enum):
        return hint(value)
    if hint is datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("/", "-"))
    if hint is date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):  # YAML reads 2025-07-01 as a date already
            return value
        return date.fromisoformat(str(value).replace("/", "-"))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ValueError("expected true or false")
    if hint is int:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return int(value)
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        raise ValueError("expected text")
    return value
