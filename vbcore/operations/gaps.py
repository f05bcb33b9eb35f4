"""What ``vb reconcile`` finds: a gap is one (document, recipient) that stopped somewhere between the
sender's DMS and the 01 back in it, with where it stopped and what the operator does about it.

``Stage`` names each place (machine values, English, for ``--json`` and scripts); ``gap_line`` and
``action_line`` say it for people in one language each (``vbcore.lang``). Connectors run on the
agencies' machines: an action about a connector is for that agency's operator, and says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vbcore.errors import one_line
from vbcore.hub.parked import reason_code, reason_text
from vbcore.lang import Lang, Text


class Stage:
    """Where a (document, recipient) stopped, in the order a document travels."""

    NOT_SENT = "not-sent"  # the sender's ledger recorded the sending; the broker never confirmed it
    NOT_AT_HUB = "not-at-hub"  # confirmed by the broker, but the hub has no record of it
    PARKED = "parked"  # its message (the document, or the 01 about it) waits in the parking queue
    REFUSED = "refused"  # the hub refused it (the sender got a 02)
    NOT_FORWARDED = "not-forwarded"  # the hub accepted it and never had the broker's confirmation of the copy
    NOT_DELIVERED = "not-delivered"  # in the recipient's inbox, not in its DMS (per its ledger)
    NOT_ANSWERED = "not-answered"  # in the recipient's DMS, its 01 never confirmed by the broker
    ANSWER_NOT_AT_HUB = "answer-not-at-hub"  # the recipient sent its 01; the hub never recorded it
    NO_ANSWER = "no-answer"  # forwarded, no 01 at the hub, and no ledger of the recipient to say why
    ANSWER_NOT_AT_SENDER = "answer-not-at-sender"  # the hub recorded the status; the sender's ledger lacks it
    REFUSED_BY_RECIPIENT = "refused-by-recipient"  # the recipient answered 02
    NOT_TRACKED = "not-tracked"  # in the recipient's DMS, but the hub's store has no record of it

    ALL = (
        NOT_SENT,
        NOT_AT_HUB,
        PARKED,
        REFUSED,
        NOT_FORWARDED,
        NOT_DELIVERED,
        NOT_ANSWERED,
        ANSWER_NOT_AT_HUB,
        NO_ANSWER,
        ANSWER_NOT_AT_SENDER,
        REFUSED_BY_RECIPIENT,
        NOT_TRACKED,
    )


# Park and refusal reasons that say the infrastructure failed, not the package: replaying is the fix.
REPLAY_REASONS = ("not-processed", "internal-error")


@dataclass(frozen=True)
class Gap:
    stage: str  # a ``Stage`` value
    document_id: str  # as the sender wrote it
    sender: str | None
    recipient: str | None
    tracked_id: str | None = None  # the id the hub tracks it under (``vb track``), when known
    reason: str | None = None  # the refusal's or park's reason (machine text), or the 02's description
    parked_id: str | None = None  # the parked message to replay or drop
    replayable: bool = False  # ``vb parked replay parked_id`` sends it to the hub again
    from_inbox: bool = False  # the parked message is a copy the hub forwarded, parked from an inbox
    code: str | None = None  # the status the hub recorded and the sender lacks (answer-not-at-sender)
    given_up: bool = False  # not-sent: the sender's runtime gave up (its DMS was told)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "action": action_key(self)}


_WHERE = {
    Stage.NOT_SENT: Text(
        "connector của bên gửi đã ghi là gửi nhưng máy chủ chuyển tin chưa xác nhận",
        "the sender's connector recorded the sending, the broker never confirmed it",
    ),
    Stage.NOT_AT_HUB: Text("đã gửi nhưng chưa đến trục", "sent but never reached the hub"),
    Stage.PARKED: Text("bị giữ lại ({reason})", "parked ({reason})"),
    Stage.REFUSED: Text("trục từ chối ({reason})", "refused by the hub ({reason})"),
    Stage.NOT_FORWARDED: Text("trục đã nhận nhưng chưa chuyển đi", "at the hub but not forwarded"),
    Stage.NOT_DELIVERED: Text(
        "đã chuyển đến hộp thư nhưng chưa vào hệ thống QLVB của bên nhận",
        "forwarded but not delivered into the recipient's DMS",
    ),
    Stage.NOT_ANSWERED: Text(
        "đã vào hệ thống QLVB của bên nhận nhưng 01 chưa được gửi đi",
        "delivered into the recipient's DMS, its 01 never sent",
    ),
    Stage.ANSWER_NOT_AT_HUB: Text(
        "bên nhận đã gửi 01 nhưng trục chưa ghi nhận", "delivered, but the 01 never recorded at the hub"
    ),
    Stage.NO_ANSWER: Text(
        "đã chuyển đến hộp thư, trục chưa nhận được 01 (không có sổ ghi của bên nhận)",
        "forwarded, no 01 at the hub (no ledger of the recipient)",
    ),
    Stage.ANSWER_NOT_AT_SENDER: Text(
        "trục đã ghi nhận {code} nhưng bên gửi chưa nhận được",
        "the {code} recorded at the hub but not at the sender",
    ),
    Stage.REFUSED_BY_RECIPIENT: Text(
        "bên nhận từ chối (02: {reason})", "refused by the recipient (02: {reason})"
    ),
    Stage.NOT_TRACKED: Text(
        "bên nhận đã nhận nhưng kho theo dõi của trục không có",
        "delivered, but the hub's store has no record of it",
    ),
}

_ACTIONS = {
    "replay": Text(
        "sau khi khắc phục nguyên nhân: vb parked replay {id}",
        "once the cause is fixed: vb parked replay {id}",
    ),
    "inbox-parked": Text(
        "connector của {recipient} đã bỏ cuộc hoặc máy chủ chuyển tin đã giữ lại sau nhiều lần giao: xem "
        "nhật ký connector của {recipient}, rồi vb parked drop {id} và đề nghị {sender} gửi lại",
        "the connector of {recipient} gave up on it or the broker's delivery limit parked it: see that "
        "connector's log, then vb parked drop {id} and ask {sender} to send it again",
    ),
    "drop-or-resend": Text(
        "{sender} đã nhận 02: khi nguyên nhân ở phía {sender} đã được sửa, gửi lại văn bản rồi vb parked "
        "drop {id}; khi nguyên nhân ở trục (danh bạ, chứng thư): vb parked replay {id}",
        "{sender} got a 02: when the cause at {sender} is fixed, send the document again, then vb parked "
        "drop {id}; when the cause was at the hub (directory, certificates): vb parked replay {id}",
    ),
    "drop": Text(
        "không có cơ quan gửi nào được xác thực để trả lời: xem vb parked show {id}, rồi vb parked drop {id}",
        "no authenticated sender to answer: see vb parked show {id}, then vb parked drop {id}",
    ),
    "restart-sender-connector": Text(
        "đề nghị {sender} khởi động lại connector (systemctl restart vbus-connector@{sender}): nó gửi lại "
        "những gì máy chủ chuyển tin chưa xác nhận",
        "ask {sender} to restart its connector (systemctl restart vbus-connector@{sender}): it sends again "
        "what the broker did not confirm",
    ),
    "resend-from-dms": Text(
        "hệ thống QLVB của {sender} đã được báo gửi không thành công: khắc phục rồi gửi lại từ hệ thống QLVB",
        "the DMS of {sender} was told the sending failed: fix the cause and send it again from the DMS",
    ),
    "check-hub": Text(
        "kiểm tra có tiến trình trục đang nhận (vb queues: hàng đợi vbus.hub.incoming) và khởi động lại trục "
        "(systemctl restart 'vbus-hub@*'); thông điệp vẫn chờ trong hàng đợi tiếp nhận",
        "check that a hub is consuming (vb queues: queue vbus.hub.incoming) and restart the hub "
        "(systemctl restart 'vbus-hub@*'); the message waits in the ingress",
    ),
    "resend": Text(
        "{sender} đã nhận 02: khắc phục nguyên nhân rồi gửi lại",
        "{sender} got a 02: fix the cause and send it again",
    ),
    "check-recipient-connector": Text(
        "đề nghị {recipient} kiểm tra connector (systemctl status vbus-connector@{recipient}) và hệ thống "
        "QLVB; hộp thư của nó: vb queues",
        "ask {recipient} to check its connector (systemctl status vbus-connector@{recipient}) and its DMS; "
        "its inbox: vb queues",
    ),
    "restart-recipient-connector": Text(
        "đề nghị {recipient} khởi động lại connector (systemctl restart vbus-connector@{recipient}): nó gửi "
        "lại 01 cho những văn bản hệ thống QLVB đã nhận",
        "ask {recipient} to restart its connector (systemctl restart vbus-connector@{recipient}): it sends "
        "the 01 again for what its DMS holds",
    ),
    "check-hub-answers": Text(
        "kiểm tra trục (vb queues: hàng đợi vbus.hub.incoming; vb parked list --sender {recipient})",
        "check the hub (vb queues: queue vbus.hub.incoming; vb parked list --sender {recipient})",
    ),
    "collect-ledger": Text(
        "thu thập sổ ghi của connector của {recipient} (docs/deployment.md, Đối soát) hoặc đề nghị "
        "{recipient} kiểm tra connector và hệ thống QLVB",
        "collect the ledger of {recipient}'s connector (docs/deployment.md, Reconciliation) or ask "
        "{recipient} to check its connector and DMS",
    ),
    "check-sender-connector": Text(
        "đề nghị {sender} kiểm tra connector (systemctl status vbus-connector@{sender}); hộp thư của nó: "
        "vb queues",
        "ask {sender} to check its connector (systemctl status vbus-connector@{sender}); its inbox: "
        "vb queues",
    ),
    "restore": Text(
        "kho theo dõi không có bản ghi này (khôi phục từ bản sao lưu cũ hơn?): xem docs/deployment.md, "
        "Khôi phục",
        "the store has no record of it (restored from an older backup?): see docs/deployment.md, Restore",
    ),
}


def action_key(gap: Gap) -> str:
    """Which of the actions fits ``gap`` (the ``action`` of its JSON)."""
    if gap.parked_id is not None:
        if gap.from_inbox:
            return "inbox-parked"
        if not gap.replayable:
            return "drop"
        return "replay" if reason_code(gap.reason) in REPLAY_REASONS else "drop-or-resend"
    return {
        Stage.NOT_SENT: "resend-from-dms" if gap.given_up else "restart-sender-connector",
        Stage.NOT_AT_HUB: "check-hub",
        Stage.PARKED: "inbox-parked",
        Stage.REFUSED: "resend",
        Stage.NOT_FORWARDED: "check-hub",
        Stage.NOT_DELIVERED: "check-recipient-connector",
        Stage.NOT_ANSWERED: "restart-recipient-connector",
        Stage.ANSWER_NOT_AT_HUB: "check-hub-answers",
        Stage.NO_ANSWER: "collect-ledger",
        Stage.ANSWER_NOT_AT_SENDER: "check-sender-connector",
        Stage.REFUSED_BY_RECIPIENT: "resend",
        Stage.NOT_TRACKED: "restore",
    }[gap.stage]


def where_text(gap: Gap, lang: Lang) -> str:
    reason = one_line(reason_text(gap.reason, lang))
    return _WHERE[gap.stage].format(reason=reason, code=one_line(gap.code or "01"))(lang)


def gap_line(gap: Gap, lang: Lang) -> str:
    """``[not-delivered] <DocumentId>  <sender> → <recipient>: <where it stopped>``, on one line whatever
    the ids hold (an agency writes its DocumentIds and message ids)."""
    who = f"{one_line(gap.sender or '?')} → {one_line(gap.recipient or '?')}"
    return f"[{gap.stage}] {one_line(gap.document_id)}  {who}: {where_text(gap, lang)}"


def action_line(gap: Gap, lang: Lang) -> str:
    text = _ACTIONS[action_key(gap)].format(
        id=one_line(gap.parked_id or ""),
        sender=one_line(gap.sender or "?"),
        recipient=one_line(gap.recipient or "?"),
    )
    return f"  → {text(lang)}"
