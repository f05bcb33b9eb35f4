"""A document's delivery timeline from the tracking store, for people (Vietnamese status names) and
for scripts (a JSON-ready dict). Used by ``vb demo``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from vbcore.directory import Directory
from vbcore.hub.config import vietnam_local
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store.api import DeliveryState, TrackingStore

_STATE_VI = {
    DeliveryState.ACCEPTED: "Trục đã nhận",
    DeliveryState.FORWARDED: "Đã chuyển đến hộp thư",
    DeliveryState.REFUSED_BY_HUB: "Trục từ chối",
}
_BUSINESS_VI = {
    BusinessDocType.NEW: "Văn bản mới",
    BusinessDocType.REVOKE: "Thu hồi",
    BusinessDocType.UPDATE: "Cập nhật",
    BusinessDocType.REPLACE: "Thay thế",
}


def state_name(state: str) -> str:
    try:
        return StatusCode(state).vietnamese
    except ValueError:
        return _STATE_VI.get(state, state)


def _local(at: datetime | None) -> str | None:
    if at is None:
        return None
    local = at if at.tzinfo is None else vietnam_local(at)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def document_timeline(store: TrackingStore, directory: Directory, document_id: str) -> dict[str, Any] | None:
    doc = store.get_document(document_id)
    if doc is None:
        return None

    def name(code: str | None) -> str | None:
        agency = directory.get(code) if code else None
        return agency.name if agency else code

    events_by_recipient: dict[str, list[dict[str, Any]]] = {}
    for event in store.statuses(document_id):
        events_by_recipient.setdefault(event.recipient, []).append(
            {
                "code": event.code,
                "name": state_name(event.code),
                "at": _local(event.status_time or event.received_at),
                "from": event.from_agency,
                "description": event.description,
            }
        )
    refusals = [
        {"recipient": r.recipient, "reason": r.reason, "detail": r.detail}
        for r in store.refusals(document_id=document_id)
    ]
    recipients = [
        {
            "code": pair.recipient,
            "name": name(pair.recipient),
            "state": pair.state,
            "state_name": state_name(pair.state),
            "change": pair.change,
            "forwarded_at": _local(pair.forwarded_at),
            "events": events_by_recipient.get(pair.recipient, []),
        }
        for pair in store.pairs(document_id)
    ]
    return {
        "document_id": doc.document_id,
        "sender": doc.sender,
        "sender_name": name(doc.sender),
        "subject": doc.subject,
        "code": doc.code,
        "business_type": BusinessDocType(doc.business_type).name.lower(),
        "business_type_name": _BUSINESS_VI[BusinessDocType(doc.business_type)],
        "related_document_id": doc.related_document_id,
        "received_at": _local(doc.received_at),
        "recipients": recipients,
        "refusals": refusals,
    }


def build_report(
    store: TrackingStore, directory: Directory, document_ids: Iterable[str], queues: Mapping[str, int]
) -> dict[str, Any]:
    documents = [t for d in document_ids if (t := document_timeline(store, directory, d)) is not None]
    pairs = [r for d in documents for r in d["recipients"]]
    return {
        "documents": documents,
        "summary": {
            "documents": len(documents),
            "deliveries": sum(1 for p in pairs if p["state"] != DeliveryState.REFUSED_BY_HUB),
            "statuses": sum(len(p["events"]) for p in pairs),
            "refusals": sum(len(d["refusals"]) for d in documents),
            "done": sum(1 for p in pairs if p["state"] == StatusCode.DONE.value),
            "queues": dict(queues),
        },
    }


def render_text(report: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for doc in report["documents"]:
        lines.append("")
        head = f"{doc['code'] or doc['document_id']}  [{doc['business_type_name']}]  {doc['subject'] or ''}"
        lines.append(head)
        lines.append(f"  từ {doc['sender']} {doc['sender_name']}, trục nhận lúc {doc['received_at']}")
        if doc["related_document_id"]:
            lines.append(f"  liên quan đến {doc['related_document_id']}")
        for r in doc["recipients"]:
            lines.append(f"  → {r['code']} {r['name']}: {r['state_name']}")
            if r["forwarded_at"]:
                lines.append(f"      {r['forwarded_at']}  đã chuyển đến hộp thư")
            for e in r["events"]:
                text = f" — {e['description']}" if e["description"] else ""
                lines.append(f"      {e['at']}  {e['code']} {e['name']}{text}")
        for f in doc["refusals"]:
            lines.append(f"  ✗ {f['recipient'] or ''} trục từ chối ({f['reason']}): {f['detail']}")
    s = report["summary"]
    lines += [
        "",
        f"Tổng kết: {s['documents']} văn bản, {s['deliveries']} lượt chuyển, {s['statuses']} trạng thái, "
        f"{s['refusals']} từ chối, {s['done']} lượt hoàn thành.",
        "Hàng đợi: " + ", ".join(f"{k} {v}" for k, v in s["queues"].items()),
    ]
    return "\n".join(lines)
