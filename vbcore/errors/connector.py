"""Connectors: plugins that do not load, a DMS that is down or refuses, another axis over HTTP, and
what the runtime tells a sender when it gives an item up.
"""

from __future__ import annotations

from vbcore.errors.base import PackageRefused, VbusError


class ConnectorError(VbusError):
    """Base of connector plugin errors."""

    reason = "connector"
    reason_vi = "Lỗi trình kết nối"
    reason_en = "Connector error"


class ConnectorLoadError(ConnectorError):
    """A plugin could not be loaded or does not satisfy the contract."""

    reason = "connector-load"
    reason_vi = "Không nạp được trình kết nối"
    reason_en = "The connector cannot be loaded"


class DmsUnavailable(ConnectorError):
    """The DMS is down right now; the runtime retries with backoff."""

    reason = "dms-unavailable"
    reason_vi = "Hệ thống quản lý văn bản tạm thời không truy cập được"
    reason_en = "The document management system is unavailable"


class DmsRefused(ConnectorError):
    """The DMS refuses a document for good; it becomes a status 02 with this reason."""

    reason = "dms-refused"
    reason_vi = "Hệ thống quản lý văn bản từ chối tiếp nhận"
    reason_en = "The document management system refused the document"


class AxisUnavailable(DmsUnavailable):
    """The other axis did not answer, timed out or failed (HTTP 5xx): the runtime retries with backoff."""

    reason = "axis-unavailable"
    reason_vi = "Trục liên thông kia tạm thời không truy cập được"
    reason_en = "The other axis is unavailable"


class AxisAuthenticationFailed(AxisUnavailable):
    """The other axis refused our signed headers (HTTP 401/403): wrong system id or secret. Retried,
    not refused: the document is not at fault, and the operator's fix lets it through."""

    reason = "axis-authentication-failed"
    reason_vi = "Trục liên thông kia từ chối xác thực"
    reason_en = "The other axis refused our authentication"


class AxisRefused(DmsRefused):
    """The other axis refused a request for good (HTTP 4xx); ``str()`` carries its reason."""

    reason = "axis-refused"
    reason_vi = "Trục liên thông từ chối"
    reason_en = "The other axis refused it"


class NoRecipient(PackageRefused):
    """A document with no ``To``: there is nobody to send it to."""

    reason = "no-recipient"
    reason_vi = "Văn bản không có nơi nhận"
    reason_en = "The document has no recipient"


def _duration(seconds: float, lang: str) -> str:
    """``seconds`` for people: "2 h 5 min" / "2 giờ 5 phút" (minutes and up), else "40 s" / "40 giây"."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    words = ("giờ", "phút", "giây") if lang == "vi" else ("h", "min", "s")
    if hours:
        return f"{hours} {words[0]} {minutes} {words[1]}" if minutes else f"{hours} {words[0]}"
    return f"{minutes} {words[1]}" if minutes else f"{int(seconds)} {words[2]}"


class _GaveUp(PackageRefused):
    """The runtime retried an item up to the operator's limit, then gave up; ``error`` is the last
    failure as the connector (or the DMS) reported it, kept as it was written."""

    _what_en = "it"
    _what_vi = "việc này"

    def __init__(self, attempts: int, seconds: float, error: str) -> None:
        self.attempts = attempts
        self.seconds = seconds
        self.error = error
        super().__init__(
            f"{self._what_en} failed {attempts} times over {_duration(seconds, 'en')}; last: {error}",
            vi=f"{self._what_vi} bị lỗi {attempts} lần trong {_duration(seconds, 'vi')}; lần cuối: {error}",
        )


class DeliveryAbandoned(_GaveUp):
    """The receiving DMS kept failing on this document (or the connector raised on it): parked, 02."""

    reason = "dms-delivery-failed"
    reason_vi = "Hệ thống quản lý văn bản của cơ quan nhận không tiếp nhận được văn bản"
    reason_en = "The receiving agency's document management system could not take the document"
    _what_en = "delivering it into the DMS"
    _what_vi = "đưa văn bản vào hệ thống"


class ChangeAbandoned(_GaveUp):
    """The receiving DMS kept failing on a revoke/update/replace request: answered 16, parked."""

    reason = "dms-change-failed"
    reason_vi = "Hệ thống quản lý văn bản của cơ quan nhận không xử lý được yêu cầu thu hồi hoặc cập nhật"
    reason_en = "The receiving agency's document management system could not process the revoke or update"
    _what_en = "handing the request to the DMS"
    _what_vi = "chuyển yêu cầu vào hệ thống"


class StatusAbandoned(_GaveUp):
    """The DMS kept failing to record a status about a document it sent: parked (no answer exists)."""

    reason = "dms-status-failed"
    reason_vi = "Hệ thống quản lý văn bản không ghi nhận được trạng thái"
    reason_en = "The document management system could not record the status"
    _what_en = "recording it in the DMS"
    _what_vi = "ghi nhận vào hệ thống"


class SendingAbandoned(_GaveUp):
    """A document the DMS handed over could not be sent (the runtime kept failing on it)."""

    reason = "sending-failed"
    reason_vi = "Không gửi được văn bản"
    reason_en = "The document could not be sent"
    _what_en = "sending it"
    _what_vi = "gửi văn bản"


class EventAbandoned(_GaveUp):
    """A clerk's action could not become a status (the runtime kept failing on it)."""

    reason = "event-failed"
    reason_vi = "Không gửi được trạng thái xử lý văn bản"
    reason_en = "The status could not be sent"
    _what_en = "sending the status"
    _what_vi = "gửi trạng thái"


class EventDocumentUnknown(PackageRefused):
    """A clerk's action about a document this agency has no record of receiving (or of sending, for 13)."""

    reason = "event-unknown-document"
    reason_vi = "Không tìm thấy văn bản mà trạng thái nói đến"
    reason_en = "The document the status is about was not found"

    def __init__(self, document_id: str, *, revoke: bool = False) -> None:
        self.document_id = document_id
        if revoke:
            super().__init__(
                f"this agency has no record of sending {document_id}",
                vi=f"cơ quan chưa gửi văn bản {document_id} qua kết nối này",
            )
        else:
            super().__init__(
                f"this agency has no record of receiving {document_id}; name its sender in the event",
                vi=f"cơ quan chưa nhận văn bản {document_id} qua kết nối này; hãy ghi rõ cơ quan gửi",
            )


class EventDocumentAmbiguous(PackageRefused):
    """A clerk's action names a DocumentId that several senders used: it must name the sender."""

    reason = "event-ambiguous-document"
    reason_vi = "Có nhiều văn bản cùng mã định danh"
    reason_en = "Several documents have this identifier"

    def __init__(self, document_id: str, senders: list[str]) -> None:
        self.document_id = document_id
        self.senders = senders
        listed = ", ".join(senders)
        super().__init__(
            f"{document_id} came from {listed}; name the sender in the event",
            vi=f"văn bản {document_id} đến từ {listed}; hãy ghi rõ cơ quan gửi",
        )
