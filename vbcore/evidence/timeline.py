"""The journey an evidence bundle proves, for people: one line per event in the order of the hub's
log, each with its UTC instant and Vietnam time, in one language (Vietnamese by default, English on
request, as ``vb track``), followed by the verdict: consistent, or every inconsistency found.

``journey(verified)`` gives the events (from the log entries the bundle proves, else from the hub's
receipts a recipient holds); ``render(verified, lang, label=...)`` the text ``vb evidence verify``
prints; ``label`` names an agency code (the CLI passes the directory's names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vbcore.errors import one_line
from vbcore.evidence.bundle import HUB, Verified
from vbcore.evidence.entry import (
    COPY_DELIVERED,
    OPERATOR_ACTION,
    PACKAGE_ACCEPTED,
    PACKAGE_REFUSED,
    STATUS_FORWARDED,
    STATUS_RECEIVED,
)
from vbcore.evidence.receipt import ACCEPTED, DELIVERED, REFUSED
from vbcore.lang import Lang, Text
from vbcore.status import StatusCode

_EVENTS = {
    PACKAGE_ACCEPTED: Text(
        "Trục nhận văn bản của {sender}, chuyển đến {n} nơi nhận",
        "The hub accepted the document from {sender} for {n} recipients",
    ),
    PACKAGE_REFUSED: Text(
        "Trục từ chối gói tin của {sender}: {reason}", "The hub refused the package from {sender}: {reason}"
    ),
    COPY_DELIVERED: Text("Đã chuyển vào hộp thư của {recipient}", "Delivered to the inbox of {recipient}"),
    STATUS_RECEIVED: Text(
        "Trục nhận trạng thái {code} của {sender}", "The hub received status {code} from {sender}"
    ),
    STATUS_FORWARDED: Text(
        "Trục chuyển trạng thái {code} của {sender} đến {recipient}",
        "The hub forwarded status {code} from {sender} to {recipient}",
    ),
    OPERATOR_ACTION: Text("Người vận hành: {action}", "Operator: {action}"),
}
_RECEIPTS = {
    ACCEPTED: _EVENTS[PACKAGE_ACCEPTED],
    REFUSED: _EVENTS[PACKAGE_REFUSED],
    DELIVERED: _EVENTS[COPY_DELIVERED],
}
_T = {
    "title": Text("Bằng chứng của văn bản {id}", "Evidence of document {id}"),
    "package": Text(
        "Gói tin: SHA-256 {digest}; người ký: {signer}", "Package: SHA-256 {digest}; signed by {signer}"
    ),
    "subject": Text("Trích yếu: {subject}", "Subject: {subject}"),
    "no_package": Text("Gói tin: không kiểm tra được", "Package: could not be checked"),
    "by_hub": Text("Trục xuất lúc {at} (người ký: {who})", "Exported by the hub at {at} (signed by {who})"),
    "by_agency": Text("Cơ quan {holder} xuất những gì mình nhận được, lúc {at} (người ký: {who})",
                      "Exported by agency {holder} from what it received, at {at} (signed by {who})"),
    "hub": Text("Trục làm chứng (ký điểm chốt và biên nhận): {hub}",
                "The hub that witnesses it (signed the checkpoints and receipts): {hub}"),
    "checkpoint": Text(
        "Điểm chốt của nhật ký: mục {seq} lúc {at}{tsa}", "Log checkpoint: entry {seq} at {at}{tsa}"
    ),
    "tsa": Text(", có dấu thời gian RFC 3161", ", with an RFC 3161 time-stamp"),
    "head": Text("Hành trình (giờ UTC | giờ Việt Nam):", "Journey (UTC | Vietnam time):"),
    "entry": Text("mục {seq}", "entry {seq}"),
    "refused_for": Text("; từ chối chuyển đến {recipient}: {reason}", "; refused for {recipient}: {reason}"),
    "receipt": Text("biên nhận có chữ ký", "signed receipt"),
    "statuses": Text("Trạng thái có chữ ký của nơi nhận:", "Statuses signed by the recipients:"),
    "status": Text("{signer} ký trạng thái {code} lúc {at} (giờ Việt Nam, theo gói tin)",
                   "{signer} signed status {code} at {at} (Vietnam time, as the package says)"),
    "ok": Text("Kết quả: gói bằng chứng nhất quán, mọi chữ ký hợp lệ.",
               "Result: the bundle is consistent and every signature verifies."),
    "bad": Text("Kết quả: KHÔNG HỢP LỆ, {n} điểm không nhất quán:", "Result: INVALID, {n} inconsistencies:"),
}  # fmt: skip


@dataclass(frozen=True)
class Event:
    at_utc: str
    at_local: str
    kind: str  # an entry kind
    sender: str
    recipient: str | None
    details: dict[str, Any]
    seq: int | None  # the log entry (None: known from a receipt only)
    receipt: bool  # a signed receipt of the hub's states it


def journey(verified: Verified) -> list[Event]:
    """The events the bundle proves, in the hub's order (the log's ``seq``, else the receipts' time)."""
    receipted = {int(r["seq"]) for r in verified.receipts}
    events = [
        Event(e.at_utc, e.at_local, e.kind, e.sender, e.recipient, e.body, e.seq, e.seq in receipted)
        for e in verified.entries
    ]
    logged = {e.seq for e in verified.entries}
    kinds = {ACCEPTED: PACKAGE_ACCEPTED, REFUSED: PACKAGE_REFUSED, DELIVERED: COPY_DELIVERED}
    for r in verified.receipts:
        if int(r["seq"]) in logged:
            continue
        digest_is_package = r["package_digest"] == verified.package_digest
        kind = (
            kinds[r["kind"]]
            if digest_is_package
            else (STATUS_RECEIVED if r["kind"] == ACCEPTED else STATUS_FORWARDED)
        )
        events.append(Event(r["at_utc"], r["at_local"], kind, r["sender"], r.get("recipient"), r, None, True))
    return sorted(events, key=lambda e: (e.at_utc, e.seq or 0))


def render(verified: Verified, lang: Lang = "vi", label: Callable[[str], str] = str) -> str:
    lines = [_T["title"].format(id=verified.document_id)(lang)]
    if verified.package is not None:
        signer = label(verified.package_signer) if verified.package_signer else "-"
        lines.append(_T["package"].format(digest=verified.package_digest, signer=signer)(lang))
        if verified.package.subject:
            lines.append(_T["subject"].format(subject=verified.package.subject)(lang))
    else:
        lines.append(_T["no_package"](lang))
    who = label(verified.exporter) if verified.exporter else "-"
    at = _shown(verified.exported_at)
    by = "by_hub" if verified.holder == HUB else "by_agency"
    lines.append(_T[by].format(holder=label(verified.holder), at=at, who=who)(lang))
    if verified.hub is not None:
        lines.append(_T["hub"].format(hub=label(verified.hub))(lang))
    for seq, checkpoint_at, stamped in sorted(set(verified.checkpoints)):
        tsa = _T["tsa"] if stamped else Text("", "")
        lines.append(_T["checkpoint"].format(seq=seq, at=_shown(checkpoint_at), tsa=tsa)(lang))
    lines += ["", _T["head"](lang)]
    for event in journey(verified):
        lines.append(f"  {event.at_utc} | {_local(event.at_local)} | {_line(event, lang, label)}")
    if verified.statuses:
        lines += ["", _T["statuses"](lang)]
        for _, status, status_signer in verified.statuses:
            code = _code(status.status_code.value, lang)
            when = status.timestamp.strftime("%Y-%m-%d %H:%M:%S") if status.timestamp else "-"
            who = label(status_signer or status.from_.organ_id)
            lines.append("  " + _T["status"].format(signer=who, code=code, at=when)(lang))
    lines = [one_line(line) for line in lines]  # what a bundle holds, made safe for a terminal
    lines.append("")
    if verified.ok:
        lines.append(_T["ok"](lang))
    else:
        lines.append(_T["bad"].format(n=len(verified.problems))(lang))
        lines += [f"  - {p.describe(lang)}" for p in verified.problems]
    return "\n".join(lines)


def _line(event: Event, lang: Lang, label: Callable[[str], str]) -> str:
    d = event.details
    code = _code(str(d.get("code") or d.get("status_code") or ""), lang)
    recipients = d.get("recipients")
    text = _EVENTS.get(event.kind, Text(event.kind, event.kind)).format(
        sender=label(event.sender),
        recipient=label(event.recipient) if event.recipient else "-",
        n=len(recipients) if isinstance(recipients, list) else "?",
        reason=d.get("detail") or d.get("reason") or "-",
        code=code,
        action=d.get("action") or d.get("summary") or "-",
    )(lang)
    refused = d.get("refused") if event.kind == PACKAGE_ACCEPTED else None
    if isinstance(refused, dict):  # the recipients the hub refused it for, each with its 02's reason
        text += "".join(
            _T["refused_for"].format(recipient=label(str(code)), reason=str(reason))(lang)
            for code, reason in sorted(refused.items())
        )
    marks = [_T["entry"].format(seq=event.seq)(lang)] if event.seq is not None else []
    if event.receipt:
        marks.append(_T["receipt"](lang))
    return f"{text} [{', '.join(marks)}]" if marks else text


def _code(code: str, lang: Lang) -> str:
    try:
        return f"{code} {StatusCode(code).name_in(lang)}"
    except ValueError:
        return code or "?"


def _shown(at_utc: str) -> str:
    return at_utc.replace("T", " ") if at_utc else "-"


def _local(at_local: str) -> str:
    """``2026-11-30 08:43:28`` from ``2026-11-30T08:43:28.123456+07:00``."""
    return at_local[:19].replace("T", " ") if at_local else "-"
