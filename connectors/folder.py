"""The folder connector: a DMS that is a set of folders (or a DMS that can import and export files).

Layout under ``root`` (created on start)::

    outbox/            to send: an .edxml package; or a .json/.yaml metadata file (vbcore.metadata's
                       format) + the attachment files it names; or a folder as ``vb unpack`` writes
                       one (metadata.json and the attachments)
    sent/              what was sent: the file, <name>.sent.json (its DocumentId), <name>.files/
    failed/            what could not be sent: the file, <name>.reason.txt, <name>.files/
    inbox/<doc>/       per received document: package.edxml (as signed), attachments/, summary.txt,
                       document.json; changes/ holds revoke/update/replace requests about it
    statuses/          statuses about sent documents: <doc>.<code>.<from agency>.json
    events/            a clerk or script drops {"document_id": ..., "code": "03", "description": ...}
    events/sent/, events/failed/   events that became statuses, and ones that could not (with reason)

Safe against half-written files: only files renamed into place are taken. Names ending in ``.tmp`` or
``.part`` or starting with ``.`` are ignored, and so is any file modified less than ``settle_seconds``
ago. Writers should write ``x.json.tmp`` and rename it to ``x.json``; this connector does the same for
everything it writes (the inbox folder is built under a temporary name and renamed in one step).
Safe against restarts: a file leaves ``outbox/`` only once it was sent or failed, an event leaves
``events/`` only once its status was sent, and a document folder exists only once it is complete.

Status files carry the sender's agency in their name because one document sent to several agencies
gets a 03, 04, ... from each (``statuses/<doc>.<code>.json`` alone would be overwritten).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.folder_format import (
    MetadataInvalid,
    attachment_paths,
    edoc_from_metadata,
    file_name,
    safe_name,
    summary_text,
)
from vbcore import __version__
from vbcore.connector import (
    ChangeDecision,
    ChangeRequest,
    Connector,
    ConnectorContext,
    DmsEvent,
    DmsReceipt,
    DmsRefused,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
    check_change_policy,
)
from vbcore.errors import ConfigurationError
from vbcore.mapping_files import load_mapping
from vbcore.model import StaffInfo
from vbcore.status import StatusCode

PACKAGE_SUFFIXES = (".edxml", ".xml")
METADATA_SUFFIXES = (".json", ".yaml", ".yml")
IGNORED_SUFFIXES = (".tmp", ".part")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` so a reader never sees it half-written: a temporary name, then rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _free(path: Path) -> Path:
    """``path``, or ``path`` with a numeric suffix if that name is taken."""
    n, candidate = 1, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def _vietnam_now() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None, microsecond=0)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n"


class FolderConnector(Connector):
    """Send from ``outbox/``, receive into ``inbox/``, statuses as files."""

    name = "folder"
    version = __version__

    @dataclass(frozen=True)
    class Config:
        root: Path
        settle_seconds: float = 2.0  # ignore files modified more recently than this
        changes: str = "pending"  # revoke/update/replace: pending (a clerk answers 15/16), accept, refuse
        accept_content_types: tuple[str, ...] = ()  # refuse (02) documents with other attachments; () = all

    config: FolderConnector.Config

    def __init__(self, config: FolderConnector.Config, context: ConnectorContext) -> None:
        super().__init__(config, context)
        check_change_policy("folder", config.changes)
        root = Path(config.root)
        self.outbox, self.sent_dir, self.failed_dir = root / "outbox", root / "sent", root / "failed"
        self.inbox, self.statuses_dir, self.events_dir = root / "inbox", root / "statuses", root / "events"

    def start(self) -> None:
        for d in (self.outbox, self.sent_dir, self.failed_dir, self.inbox, self.statuses_dir,
                  self.events_dir, self.events_dir / "sent", self.events_dir / "failed"):
            d.mkdir(parents=True, exist_ok=True)
        for leftover in self.inbox.glob(".*.tmp"):  # a delivery interrupted by a crash: redone later
            shutil.rmtree(leftover, ignore_errors=True)

    # --- files that are ready -----------------------------------------------------------------
    def _settled(self, path: Path) -> bool:
        if path.name.startswith(".") or path.suffix.lower() in IGNORED_SUFFIXES or not path.is_file():
            return False
        return time.time() - path.stat().st_mtime >= self.config.settle_seconds

    def _ready(self, folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
        files = [p for p in folder.iterdir() if p.suffix.lower() in suffixes and self._settled(p)]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def _ready_folders(self) -> list[tuple[Path, Path]]:
        """Outbox sub-folders holding a metadata file (as ``vb unpack`` writes them), all settled."""
        found = []
        for d in self.outbox.iterdir():
            if not d.is_dir() or d.name.startswith(".") or d.suffix.lower() in IGNORED_SUFFIXES:
                continue
            metas = [d / f"metadata{suffix}" for suffix in METADATA_SUFFIXES]
            meta = next((m for m in metas if m.is_file()), None)
            files = [f for f in d.rglob("*") if f.is_file() and not f.name.startswith(".")]
            if meta is not None and all(self._settled(f) for f in files):
                found.append((d, meta))
        return found

    # --- sending ------------------------------------------------------------------------------
    def poll_outgoing(self) -> Iterable[Outgoing]:
        candidates = [(p, p) for p in self._ready(self.outbox, PACKAGE_SUFFIXES + METADATA_SUFFIXES)]
        candidates += self._ready_folders()
        candidates.sort(key=lambda c: (c[1].stat().st_mtime_ns, c[0].name))
        found = []
        for item, path in candidates:
            if path.suffix.lower() in PACKAGE_SUFFIXES:
                found.append(Outgoing(item.name, edxml=path.read_bytes()))
                continue
            try:
                meta = load_mapping(path)
                files = attachment_paths(meta, path.parent)
                if not all(f.is_file() and self._settled(f) for f in files):
                    if any(not f.exists() for f in files):
                        missing = ", ".join(f.name for f in files if not f.exists())
                        raise MetadataInvalid(f"attachments: {missing} not found in {path.parent}")
                    continue  # an attachment is still being written: next round
                edoc = edoc_from_metadata(path, meta, self.context.agency, _vietnam_now())
                found.append(Outgoing(item.name, edoc=edoc))
            except ConfigurationError as exc:
                self.mark_failed(item.name, str(exc))
        return found

    def _move_out(self, outgoing_id: str, target_dir: Path) -> Path | None:
        """Move an outbox file (and the attachments it names) to ``target_dir``; its new path."""
        path = self.outbox / outgoing_id
        if not path.exists():
            return None  # moved before a crash
        if path.is_dir():  # a document folder moves in one rename
            target = _free(target_dir / outgoing_id)
            path.replace(target)
            return target
        files: list[Path] = []
        if path.suffix.lower() in METADATA_SUFFIXES:
            try:
                files = [f for f in attachment_paths(load_mapping(path), self.outbox) if f.is_file()]
            except ConfigurationError:
                files = []
        target = _free(target_dir / outgoing_id)
        path.replace(target)
        if files:
            holder = target.with_name(target.name + ".files")
            holder.mkdir(exist_ok=True)
            for f in files:
                f.replace(_free(holder / f.name))
        return target

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        target = self._move_out(outgoing_id, self.sent_dir)
        if target is not None:
            note = {"document_id": document_id, "sent_at": datetime.now(UTC).isoformat()}
            write_atomically(target.with_name(target.name + ".sent.json"), _json(note))

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        target = self._move_out(outgoing_id, self.failed_dir)
        if target is not None:
            write_atomically(target.with_name(target.name + ".reason.txt"), reason.encode("utf-8") + b"\n")

    # --- receiving ----------------------------------------------------------------------------
    def document_dir(self, document_id: str) -> Path:
        digest = hashlib.sha256(document_id.encode("utf-8")).hexdigest()[:8]
        return self.inbox / f"{safe_name(document_id, 100)}-{digest}"

    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        target = self.document_dir(doc.document_id)
        if target.exists():  # renamed into place only when complete: it is there, whole
            return DmsReceipt(target.name, already_delivered=True)
        allowed = self.config.accept_content_types
        for a in doc.edoc.attachments:
            if allowed and a.content_type not in allowed:
                accepted = ", ".join(allowed)
                raise DmsRefused(
                    f"attachment {a.name} has type {a.content_type}, which this DMS does not accept "
                    f"(accepted: {accepted})",
                    vi=f"tệp đính kèm {a.name} có kiểu {a.content_type}, hệ thống quản lý văn bản này không "
                    f"nhận kiểu đó (chỉ nhận: {accepted})",
                )
        tmp = self.inbox / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        (tmp / "attachments").mkdir(parents=True)
        (tmp / "package.edxml").write_bytes(doc.raw)
        names = []
        for a in doc.edoc.attachments:
            out = _free(tmp / "attachments" / file_name(a.name, safe_name(a.content_id)))
            with out.open("wb") as f:
                a.content.copy_to(f)
            names.append(out.name)
        received = doc.received_at.isoformat(timespec="seconds")
        files = [f"{n} ({(tmp / 'attachments' / n).stat().st_size} bytes)" for n in names]
        (tmp / "summary.txt").write_text(summary_text(doc.edoc, doc.document_id, doc.sender, received, files),
                                         encoding="utf-8")
        info = {
            "document_id": doc.document_id, "sender": doc.sender, "subject": doc.edoc.subject,
            "code": str(doc.edoc.code), "message_id": doc.message_id,
            "received_at": doc.received_at.isoformat(),
            "attachments": names,
        }
        (tmp / "document.json").write_bytes(_json(info))
        for written in tmp.rglob("*"):  # the folder appears complete: fsync contents before the rename
            if written.is_file():
                with written.open("rb") as fh:
                    os.fsync(fh.fileno())
        tmp.rename(target)
        return DmsReceipt(target.name)

    # --- events -------------------------------------------------------------------------------
    def poll_events(self) -> Iterable[DmsEvent]:
        events = []
        for path in self._ready(self.events_dir, METADATA_SUFFIXES):
            try:
                events.append(self._event(path))
            except (ConfigurationError, ValueError, TypeError) as exc:
                target = _free(self.events_dir / "failed" / path.name)
                path.replace(target)
                write_atomically(target.with_name(target.name + ".reason.txt"), f"{exc}\n".encode())
        return events

    def _event(self, path: Path) -> DmsEvent:
        data = load_mapping(path)
        if not data.get("document_id") or not data.get("code"):
            raise ConfigurationError(f"{path.name}: document_id and code are required")
        staff = data.get("staff") or {}
        if not isinstance(staff, dict):
            raise ConfigurationError(f"{path.name}: staff must be a mapping")
        at = data.get("at")
        when = datetime.fromisoformat(str(at).replace("/", "-")) if at else None
        return DmsEvent(
            event_id=path.name,
            document_id=str(data["document_id"]),
            code=StatusCode.parse(str(data["code"])),
            description=data.get("description"),
            staff=StaffInfo(**{k: str(v) for k, v in staff.items()}),
            at=when,
        )

    def mark_event_sent(self, event_id: str) -> None:
        path = self.events_dir / event_id
        if path.exists():
            path.replace(_free(self.events_dir / "sent" / event_id))

    # --- statuses and changes -----------------------------------------------------------------
    def on_status(self, status: StatusUpdate) -> None:
        name = f"{safe_name(status.document_id)}.{status.code.value}.{safe_name(status.from_agency)}.json"
        record = {
            "document_id": status.document_id, "code": status.code.value,
            "meaning": f"{status.code.vietnamese} / {status.code.english}", "from": status.from_agency,
            "from_hub": status.from_hub, "description": status.description,
            "staff": {k: v for k, v in vars(status.staff).items() if v},
            "timestamp": status.timestamp.isoformat() if status.timestamp else None,
            "outgoing_id": status.outgoing_id,
        }
        write_atomically(self.statuses_dir / name, _json(record))

    def _change(self, request: ChangeRequest, ids: tuple[str, ...]) -> ChangeDecision:
        folders = [self.document_dir(i) for i in ids]
        missing = [i for i, f in zip(ids, folders, strict=True) if not f.exists()]
        if missing:
            return ChangeDecision.refuse(f"document {', '.join(missing)} is not in this DMS")
        kind = request.kind.name.lower()
        record = {"kind": kind, "document_id": request.document_id, "sender": request.sender,
                  "reason": request.reason, "replaced": list(request.replaced_ids),
                  "policy": self.config.changes, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        for folder in folders:
            (folder / "changes").mkdir(exist_ok=True)
            write_atomically(_free(folder / "changes" / f"{kind}.json"), _json(record))
        return ChangeDecision.by_policy(self.config.changes, kind)

    def on_revoke(self, request: ChangeRequest) -> ChangeDecision:
        return self._change(request, (request.document_id,))

    def on_update(self, request: ChangeRequest) -> ChangeDecision:
        return self._change(request, (request.document_id,))

    def on_replace(self, request: ChangeRequest) -> ChangeDecision:
        return self._change(request, request.replaced_ids or (request.document_id,))
