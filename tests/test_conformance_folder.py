"""The folder connector passes the conformance kit, on the in-memory broker and on RabbitMQ."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.folder import FolderConnector, write_atomically
from vbcore.connector import ConnectorContext
from vbcore.metadata import edoc_to_data
from vbcore.model import Edoc
from vbcore.testing.conformance import ConnectorConformance


class FolderDms:
    """Drives the folders as a clerk and a script would (``DmsDriver`` of the conformance kit)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_outgoing(self, edoc: Edoc) -> str:
        outbox = self.root / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        stem = f"cv-{uuid.uuid4().hex[:8]}"
        names = {}
        for i, a in enumerate(edoc.attachments):
            name = f"{stem}-{i}-{a.name}"
            write_atomically(outbox / name, a.content.read_bytes())
            names[a.content_id] = name
        write_atomically(outbox / f"{stem}.json", json.dumps(edoc_to_data(edoc, names)).encode())
        return f"{stem}.json"

    def outgoing_state(self, outgoing_id: str) -> str:
        if (self.root / "sent" / outgoing_id).exists():
            return "sent"
        if (self.root / "failed" / outgoing_id).exists():
            return "failed"
        return "pending"

    def failure_reason(self, outgoing_id: str) -> str | None:
        path = self.root / "failed" / f"{outgoing_id}.reason.txt"
        return path.read_text(encoding="utf-8") if path.exists() else None

    def _documents(self) -> list[dict[str, object]]:
        inbox = self.root / "inbox"
        if not inbox.exists():
            return []
        folders = [d for d in inbox.iterdir() if d.is_dir() and not d.name.startswith(".")]
        docs = [json.loads((d / "document.json").read_text(encoding="utf-8")) | {"dir": d} for d in folders]
        return sorted(docs, key=lambda d: (str(d["received_at"]), d["dir"].stat().st_mtime_ns))

    def delivered(self) -> list[str]:
        return [str(d["document_id"]) for d in self._documents()]

    def delivered_attachments(self, document_id: str) -> dict[str, bytes]:
        for d in self._documents():
            if d["document_id"] == document_id:
                folder = Path(str(d["dir"])) / "attachments"
                return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}
        raise KeyError(document_id)

    def emit_event(self, document_id: str, code: str, description: str | None = None) -> None:
        events = self.root / "events"
        events.mkdir(parents=True, exist_ok=True)
        body = {"document_id": document_id, "code": code, "description": description,
                "staff": {"staff": "Trần Thị Văn Thư", "department": "Văn thư"}}
        write_atomically(events / f"{uuid.uuid4().hex}.json", json.dumps(body, ensure_ascii=False).encode())

    def statuses(self, document_id: str) -> list[tuple[str, str]]:
        folder = self.root / "statuses"
        records = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
        mine = [r for r in records if r["document_id"] == document_id]
        mine.sort(key=lambda r: r["timestamp"] or "")
        return [(r["code"], r["from"]) for r in mine]


class TestFolderConnector(ConnectorConformance):
    @pytest.fixture
    def dms(self, tmp_path: Path) -> FolderDms:
        return FolderDms(tmp_path / "dms")

    @pytest.fixture
    def connector_factory(self, dms: FolderDms) -> Callable[[ConnectorContext], FolderConnector]:
        config = {"root": str(dms.root), "settle_seconds": 0}
        return lambda context: FolderConnector.from_config(config, context)


@pytest.mark.rabbitmq
class TestFolderConnectorOnRabbitMQ(TestFolderConnector):
    transport = "rabbitmq"
