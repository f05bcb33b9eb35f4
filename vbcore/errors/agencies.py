"""Agencies: codes that are malformed, unknown or closed (naming the successor), and senders that are
not who they say or may not send what they sent.
"""

from __future__ import annotations

from vbcore.errors.base import PackageRefused


class AgencyError(PackageRefused):
    reason = "agency"
    reason_vi = "Mã định danh cơ quan không hợp lệ"
    reason_en = "The agency identifier is not valid"


class InvalidAgencyCode(AgencyError):
    """Not an agency identifier of the 13-character or QĐ 20/2020 shape."""

    reason = "invalid-agency-code"
    reason_vi = "Mã định danh cơ quan sai định dạng"
    reason_en = "The agency identifier is malformed"


class UnknownAgency(AgencyError):
    """A well-formed code that the directory does not know."""

    reason = "unknown-agency"
    reason_vi = "Mã định danh cơ quan không có trong danh bạ"
    reason_en = "The agency identifier is not in the directory"

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"agency {code} is not in the directory", vi=f"cơ quan {code} không có trong danh bạ"
        )


class ClosedAgencyCode(AgencyError):
    """A code closed by a decree; ``successor`` is where mail for it goes now."""

    reason = "closed-agency"
    reason_vi = "Mã định danh cơ quan đã ngừng sử dụng"
    reason_en = "The agency identifier is closed"

    def __init__(self, code: str, successor: str | None, name: str = "", successor_name: str = "") -> None:
        self.code = code
        self.successor = successor
        self.successor_name = successor_name
        label = f"{code} ({name})" if name else code
        to = f"{successor} ({successor_name})" if successor and successor_name else successor
        then = f"; send to its successor {to}" if successor else ""
        then_vi = f"; hãy gửi đến cơ quan kế thừa {to}" if successor else ""
        super().__init__(f"agency code {label} is closed{then}", vi=f"mã {label} đã ngừng sử dụng{then_vi}")


class SenderNotAuthorised(AgencyError):
    """The broker user, the package's From/OrganId and the signing certificate do not agree."""

    reason = "sender-not-authorised"
    reason_vi = "Cơ quan gửi không được phép gửi thay cơ quan khác"
    reason_en = "The sender may not send on behalf of another agency"


class StatusNotAllowed(SenderNotAuthorised):
    """A status from an agency that may not send it about that document: a receipt from an agency the
    hub did not deliver the document to, a 13 from anyone but its sender. (Same ``reason``: it is the
    sender check applied to statuses, under a reason of its own.)"""

    reason = "status-not-allowed"
    reason_vi = "Cơ quan này không được gửi trạng thái này về văn bản"
    reason_en = "This agency may not send this status about the document"


class SenderUnknown(AgencyError):
    """The message carries no broker-validated identity of an agency: no ``user_id`` (RabbitMQ checks
    the property only when the publisher sets it), or a broker user that is no agency's. Nobody named
    in the package sent it for sure, so nobody is answered."""

    reason = "sender-unknown"
    reason_vi = "Không xác định được cơ quan gửi"
    reason_en = "The sender cannot be identified"



class ClosedSender(ClosedAgencyCode):
    """A document from a code that closed before the document was promulgated: the closed agency
    promulgates nothing new, its successor does."""

    reason = "closed-sender"
    reason_vi = "Mã cơ quan gửi đã ngừng sử dụng"
    reason_en = "The sender's agency identifier is closed"

    def __init__(self, code: str, successor: str | None, closed_on: str, promulgated: str) -> None:
        self.code, self.successor, self.successor_name = code, successor, ""
        then = f"; its successor {successor} sends them" if successor else ""
        then_vi = f"; cơ quan kế thừa {successor} ban hành thay" if successor else ""
        AgencyError.__init__(
            self,
            f"the sender's code {code} is closed since {closed_on} and the document is dated "
            f"{promulgated}: a closed agency promulgates no new documents{then}",
            vi=f"mã cơ quan gửi {code} đã ngừng sử dụng từ {closed_on} mà văn bản ban hành ngày "
            f"{promulgated}: cơ quan đã ngừng hoạt động không ban hành văn bản mới{then_vi}",
        )
