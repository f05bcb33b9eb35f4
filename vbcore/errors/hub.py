"""The hub's refusals while planning a delivery: duplicates, unknown documents, foreign DocumentIds,
too many recipients, recipients refused together, messages it could not process, its own faults.
"""

from __future__ import annotations

from vbcore.errors.base import PackageRefused


class NotProcessed(PackageRefused):
    """The hub took the message ``attempts`` times and never finished it (it crashed or was stopped
    each time): parked unread instead of tried again, and its sender told."""

    reason = "not-processed"
    reason_vi = "Trục liên thông không xử lý được gói tin"
    reason_en = "The hub could not process the package"

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(
            f"the hub took it {attempts} times without finishing; it is kept for the operator",
            vi=f"trục đã nhận gói tin {attempts} lần mà không xử lý xong; gói tin được lưu lại để người "
            "quản trị xử lý",
        )


class DuplicatePackage(PackageRefused):
    """The same document to the same recipient again; ``state`` is the original delivery's state."""

    reason = "duplicate"
    reason_vi = "Văn bản đã được gửi đến cơ quan này trước đó"
    reason_en = "The document was already sent to this agency"

    def __init__(self, document_id: str, recipient: str, state: str) -> None:
        self.document_id = document_id
        self.recipient = recipient
        self.state = state
        super().__init__(
            f"document {document_id} was already delivered to {recipient} (state: {state})",
            vi=f"văn bản {document_id} đã được chuyển đến {recipient} (trạng thái: {state})",
        )


class DuplicateStatus(PackageRefused):
    """The same status (same document, agency, code, time and description) in a new message: a replay.
    The same message again (a publisher's retry) is not one: the hub forwards it again, records it once."""

    reason = "duplicate-status"
    reason_vi = "Trạng thái này trục đã nhận trước đó"
    reason_en = "The hub already received this status"

    def __init__(self, document_id: str, code: str, sender: str, at: str) -> None:
        self.document_id = document_id
        self.code = code
        super().__init__(
            f"status {code} of {sender} about {document_id} dated {at} was already received and forwarded; "
            "it is not forwarded again",
            vi=f"trạng thái {code} của {sender} về văn bản {document_id} lúc {at} đã được trục nhận và "
            "chuyển trước đó; trục không chuyển lại",
        )


class UnknownDocument(PackageRefused):
    """A status, revoke, update or replace that names a document the hub never carried."""

    reason = "unknown-document"
    reason_vi = "Không tìm thấy văn bản gốc"
    reason_en = "The original document was not found"


class NoDocumentNamed(UnknownDocument):
    """A status or change package whose DocumentId is missing or empty: no document it could be about
    will ever come (the hub refuses it at once; an ``UnknownDocument`` may wait for its document,
    ``vbcore.hub.waiting``)."""

    reason = "no-document-named"
    reason_vi = "Gói tin không nêu văn bản gốc"
    reason_en = "The package names no original document"


class ForeignDocumentId(PackageRefused):
    """A package's DocumentId begins with another agency's code: DocumentIds are predictable, so an agency
    could otherwise take the id of another's next letter (the real letter then refused as a duplicate,
    its receipts sent to the wrong agency). A DocumentId belongs to its sender."""

    reason = "foreign-document-id"
    reason_vi = "Mã văn bản (DocumentId) mang mã định danh của cơ quan khác"
    reason_en = "The DocumentId carries another agency's code"

    def __init__(self, document_id: str, *, owner: str, sender: str) -> None:
        self.document_id = document_id
        self.owner = owner
        self.sender = sender
        super().__init__(
            f"DocumentId {document_id} begins with the code of {owner}, but the package is from {sender}; "
            f"a DocumentId begins with its sender's own code ({sender},yyyy/MM/dd,number/notation)",
            vi=f"DocumentId {document_id} bắt đầu bằng mã của {owner}, nhưng gói tin do {sender} gửi; "
            f"DocumentId phải bắt đầu bằng mã của chính cơ quan gửi ({sender},yyyy/MM/dd,số/ký hiệu)",
        )


class TooManyRecipients(PackageRefused):
    """A package names more recipients than the hub accepts in one package (``HubConfig.max_recipients``)."""

    reason = "too-many-recipients"
    reason_vi = "Gói tin gửi đến quá nhiều cơ quan nhận"
    reason_en = "The package names too many recipients"

    def __init__(self, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(
            f"the package names {count} recipients, over the hub's limit of {limit} for one package; "
            "split it into several packages",
            vi=f"gói tin gửi đến {count} cơ quan, vượt giới hạn {limit} cơ quan của trục cho một gói tin; "
            "hãy chia thành nhiều gói tin",
        )


MAX_NAMED_RECIPIENTS = 20
"""Refused recipients named in one 02 at most; the tracking store keeps every one."""


class RecipientsRefused(PackageRefused):
    """Several recipients of one package refused at once (unknown, closed, already delivered ...): ONE 02
    names them, a bounded list; ``reason`` is theirs when they share one."""

    reason = "recipients-refused"
    reason_vi = "Trục không chuyển văn bản đến một số cơ quan nhận"
    reason_en = "The hub did not deliver the document to some recipients"

    def __init__(self, refused: list[PackageRefused], named: int = MAX_NAMED_RECIPIENTS) -> None:
        self.refused = tuple(refused)
        reasons = {e.reason for e in refused}
        if len(reasons) == 1:
            self.reason = reasons.pop()
        shown, rest = refused[:named], len(refused) - named
        en = "; ".join(f"({i}) {e}" for i, e in enumerate(shown, 1))
        vi = "; ".join(f"({i}) {e.detail_vi or e}" for i, e in enumerate(shown, 1))
        if rest > 0:
            en += f"; and {rest} more (the hub keeps the whole list)"
            vi += f"; và {rest} cơ quan khác (trục lưu đủ danh sách)"
        super().__init__(f"{len(refused)} recipients: {en}", vi=f"{len(refused)} cơ quan: {vi}")


class HubInternalError(PackageRefused):
    """The hub failed on a package through a fault of its own (a bug), not of the package.

    The sender gets a 02 like any other refusal; ``reference`` is what the operator finds the fault by
    (the hub's log, the parked message's reason, the refusal in the tracking store)."""

    reason = "internal-error"
    reason_vi = "Lỗi nội bộ tại trục"
    reason_en = "Internal error at the hub"

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(
            "the hub could not process this package through a fault of its own, not of the package; "
            f"its operator was told and the package is kept at the hub (reference {reference})",
            vi="trục không xử lý được gói tin này do lỗi của chính trục, không phải của gói tin; người vận "
            f"hành đã được báo và gói tin được giữ lại tại trục (mã tham chiếu {reference})",
        )
