"""The folder connector: a DMS that is a set of folders (or a DMS that can import and export files).

Layout under ``root`` (created on start)::

    outbox/            to send: an .edxml package; or a .json/.yaml metadata file (vbcore.metadata's
                       format) + the attachment files it names; or a folder as ``vb unpack`` writes
                       one (metadata.json and the attachments)
    sent/              what was sent: the file, <name>.sent.json (its DocumentId), <name>.files/
    failed/            what could not be sent, or what the hub refused: the file, <name>.reason.txt
                       (one line per reason: every 02 of the hub, one per refused recipient),
                       <name>.files/ (and <name>.sent.json when it had left)
    inbox/<doc>/       per received document: package.edxml (as signed), attachments/, summary.txt,
                       document.json; changes/ holds revoke/update/replace requests about it
    statuses/          statuses about documents this agency sent (by this connector or not):
                       <doc>.<code>.<from agency>[.<refused recipient>].json, never one over another
    events/            a clerk or script drops {"document_id": ..., "code": "03", "description": ...}
                       ("sender": the document's sender, when two senders used one DocumentId)
    events/sent/, events/failed/   events that became statuses, and ones that could not (with
                       <name>.reason.txt: an unknown document, an invalid file)

Everything written for a clerk (reasons, ``summary.txt``) is in one language: the runtime's
(``ConnectorContext.lang``: Vietnamese unless ``VBUS_LANG``/``--lang`` says English); times in
``summary.txt`` are Vietnam local time. Attachment names from the sender are made safe, unique and
at most 255 bytes (``connectors.folder_names``): nothing is written outside the document's folder.

Safe against half-written files: only files renamed into place are taken. Names ending in ``.tmp`` or
``.part`` or starting with ``.`` are ignored, and so is any file modified less than ``settle_seconds``
ago. Writers should write ``x.json.tmp`` and rename it to ``x.json``; this connector does the same for
everything it writes (the inbox folder is built under a temporary name and renamed in one step).
Safe against restarts: a file leaves ``outbox/`` only once it was sent or failed, an event leaves
``events/`` only once its status was sent, and a document folder exists only once it is complete.

Status files carry the sender's agency in their name because one document sent to several agencies
gets a 03, 04, ... from each (``statuses/<doc>.<code>.json`` alone would be overwritten); a status
whose name is taken by another one gets a digest of its content in its name.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.folder_format import (
    MetadataInvalid,
    attachment_paths,
    edoc_from_metadata,
    safe_name,
    summary_text,
)
from connectors.folder_names import UniqueNames, free_path, safe_file_name
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
from vbcore.errors import ConfigurationError, VbusError
from vbcore.lang import Lang, Text
from vbcore.mapping_files import load_mapping
from vbcore.model import StaffInfo
from vbcore.status import StatusCode
from vbcore.timezones import vietnam_now

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


_free = free_path
_ID_CHARS, _CODE_CHARS = 100, 40  # a DocumentId's and an agency code's part of a file name
_METADATA_INVALID = Text("Tệp mô tả văn bản không hợp lệ: {detail}", "The metadata file is invalid: {detail}")
_EVENT_INVALID = Text("Tệp sự kiện không hợp lệ: {detail}", "The event file is invalid: {detail}")
_HUB_REFUSED = Text("Trục liên thông từ chối gửi đến {recipient}: {description}",
                    "The hub refused delivery to {recipient}: {description}")
_HUB_REFUSED_ALL = Text("Trục liên thông từ chối văn bản: {description}",
                        "The hub refused the document: {description}")
_TYPE_REFUSED = Text(
    "Tệp đính kèm {name} có kiểu {type}, hệ thống không nhận kiểu này (chỉ nhận: {allowed})",
    "Attachment {name} has type {type}, which this DMS does not accept (accepted: {allowed})",
)
_NOT_IN_DMS = Text("Văn bản {ids} không có trong hệ thống", "Document {ids} is not in this DMS")


def _detail(err: VbusError, lang: Lang) -> str:
    """The precise detail of ``err`` in ``lang`` (its English one where it has no Vietnamese yet)."""
    return (err.detail_vi if lang == "vi" else None) or str(err)


def _append_line(path: Path, line: str) -> None:
    """Add ``line`` to the text file ``path`` unless it is there already (a repeat after a crash)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if line not in text.splitlines():
        write_atomically(path, (text + line + "\n").encode("utf-8"))


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
        self.lang = context.lang
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
                        raise MetadataInvalid(f"attachments: {missing} not found in {path.parent}",
                                              vi=f"không tìm thấy tệp đính kèm {missing} trong {path.parent}")
                    continue  # an attachment is still being written: next round
                edoc = edoc_from_metadata(path, meta, self.context.agency, vietnam_now())
                found.append(Outgoing(item.name, edoc=edoc))
            except ConfigurationError as exc:
                reason = _METADATA_INVALID.format(detail=_detail(exc, self.lang))
                self.mark_failed(item.name, reason(self.lang))
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

    def _refused_letter(self, status: StatusUpdate) -> None:
        """The hub refused a letter this connector sent: it moves from sent/ to failed/ (with its
        DocumentId note and attachments), and the reason is added to failed/<name>.reason.txt."""
        letter = self._find_sent(self.failed_dir, status) or self._find_sent(self.sent_dir, status)
        if letter is None:
            return  # not here (moved away by a clerk): the status file keeps the refusal
        if letter.parent == self.sent_dir:
            target = _free(self.failed_dir / letter.name)
            for suffix in (".files", ".sent.json"):
                extra = letter.with_name(letter.name + suffix)
                if extra.exists():
                    extra.replace(target.with_name(target.name + suffix))
            letter.replace(target)
            letter = target
        template = _HUB_REFUSED if status.recipients else _HUB_REFUSED_ALL
        refused = ", ".join(status.recipients)
        line = template.format(recipient=refused, description=status.description or "")(self.lang)
        _append_line(letter.with_name(letter.name + ".reason.txt"), " ".join(line.split()))

    def _find_sent(self, folder: Path, status: StatusUpdate) -> Path | None:
        """The letter in ``folder`` sent as ``status.outgoing_id`` with ``status.document_id``."""
        assert status.outgoing_id is not None
        candidates = [folder / status.outgoing_id]
        if not (folder / f"{status.outgoing_id}.sent.json").exists():  # renamed on a name clash: look
            candidates = [p.with_name(p.name.removesuffix(".sent.json"))
                          for p in folder.glob("*.sent.json")]
        for path in candidates:
            note = path.with_name(path.name + ".sent.json")
            if path.exists() and note.exists():
                try:
                    if json.loads(note.read_text(encoding="utf-8")).get("document_id") == status.document_id:
                        return path
                except (OSError, ValueError):
                    continue
        return None

    # --- receiving ----------------------------------------------------------------------------
    def document_dir(self, sender: str, document_id: str) -> Path:
        """One folder per (sender, DocumentId): another sender's document under the same id is another."""
        digest = hashlib.sha256(f"{sender}|{document_id}".encode()).hexdigest()[:8]
        return self.inbox / f"{safe_name(document_id, _ID_CHARS)}-{digest}"

    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        target = self.document_dir(doc.sender, doc.document_id)
        if target.exists():  # renamed into place only when complete: it is there, whole
            return DmsReceipt(target.name, already_delivered=True)
        allowed = self.config.accept_content_types
        for a in doc.edoc.attachments:
            if allowed and a.content_type not in allowed:
                text = _TYPE_REFUSED.format(name=a.name, type=a.content_type, allowed=", ".join(allowed))
                raise DmsRefused(text("en"), vi=text("vi"))
        tmp = self.inbox / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        (tmp / "attachments").mkdir(parents=True)
        (tmp / "package.edxml").write_bytes(doc.raw)
        names, unique = [], UniqueNames()
        for a in doc.edoc.attachments:  # names from the sender: safe, bounded, unique (linear time)
            name = unique.take(safe_file_name(a.name, safe_name(a.content_id)))
            with (tmp / "attachments" / name).open("xb") as f:
                a.content.copy_to(f)
            names.append(name)
        files = [f"{n} ({(tmp / 'attachments' / n).stat().st_size} byte)" for n in names]
        summary = summary_text(doc.edoc, doc.document_id, doc.sender, doc.received_at, files, self.lang)
        (tmp / "summary.txt").write_text(summary, encoding="utf-8")
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
                detail = _detail(exc, self.lang) if isinstance(exc, VbusError) else str(exc)
                self.mark_event_failed(path.name, _EVENT_INVALID.format(detail=detail)(self.lang))
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
            sender=str(data["sender"]) if data.get("sender") else None,
        )

    def mark_event_sent(self, event_id: str) -> None:
        path = self.events_dir / event_id
        if path.exists():
            path.replace(_free(self.events_dir / "sent" / event_id))

    def mark_event_failed(self, event_id: str, reason: str) -> None:
        path = self.events_dir / event_id
        if path.exists():
            target = _free(self.events_dir / "failed" / event_id)
            path.replace(target)
            write_atomically(target.with_name(target.name + ".reason.txt"), reason.encode("utf-8") + b"\n")

    # --- statuses and changes -----------------------------------------------------------------
    def on_status(self, status: StatusUpdate) -> None:
        # Bounded parts: the name stays far below 255 bytes whatever the ids hold.
        # Bounded whatever the 02 names: its first refused recipient, and how many more.
        first, more = (status.recipients[0], len(status.recipients) - 1) if status.recipients else ("", 0)
        about = (f".{safe_name(first, _CODE_CHARS)}" if first else "") + (f"+{more}" if more else "")
        sender = safe_name(status.from_agency, _CODE_CHARS)
        base = f"{safe_name(status.document_id, _ID_CHARS)}.{status.code.value}.{sender}{about}"
        record = {
            "document_id": status.document_id, "code": status.code.value,
            "meaning": status.code.vietnamese if self.lang == "vi" else status.code.english,
            "from": status.from_agency, "from_hub": status.from_hub, "recipients": list(status.recipients),
            "description": status.description,
            "staff": {k: v for k, v in vars(status.staff).items() if v},
            "timestamp": status.timestamp.isoformat() if status.timestamp else None,
            "outgoing_id": status.outgoing_id,
        }
        data = _json(record)
        path = self.statuses_dir / f"{base}.json"
        if path.exists() and path.read_bytes() != data:  # another status under that name: keep both
            path = self.statuses_dir / f"{base}.{hashlib.sha256(data).hexdigest()[:8]}.json"
        if not path.exists():  # the same status again (after a crash) is written once
            write_atomically(path, data)
        if status.from_hub and status.code is StatusCode.REFUSED and status.outgoing_id is not None:
            self._refused_letter(status)

    def _change(self, request: ChangeRequest, ids: tuple[str, ...]) -> ChangeDecision:
        folders = [self.document_dir(request.sender, i) for i in ids]
        missing = [i for i, f in zip(ids, folders, strict=True) if not f.exists()]
        if missing:
            return ChangeDecision.refuse(_NOT_IN_DMS.format(ids=", ".join(missing))(self.lang))
        kind = request.kind.name.lower()
        record = {"kind": kind, "document_id": request.document_id, "sender": request.sender,
                  "reason": request.reason, "replaced": list(request.replaced_ids),
                  "policy": self.config.changes, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        for folder in folders:
            (folder / "changes").mkdir(exist_ok=True)
            write_atomically(_free(folder / "changes" / f"{kind}.json"), _json(record))
        return ChangeDecision.by_policy(self.config.changes, kind, self.lang)

    def on_change(self, request: ChangeRequest) -> ChangeDecision:
        # A replace names the documents it replaces; a revoke or an update, the one it changes.
        return self._change(request, request.replaced_ids or (request.document_id,))
