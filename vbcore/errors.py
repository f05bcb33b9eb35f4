"""Every error vbus raises, named for what happened.

This module imports nothing of the package (as dramatiq's ``errors.py``), so any layer may use it.
Each error that concerns a package carries a short machine-readable ``reason`` (used in refusal
statuses 02 and in the tracking store) and a human sentence (``str(err)``) that reaches the sender.
"""

from __future__ import annotations

import re

# A refusal's detail travels in a signed 02 (XML) and into logs and terminals: characters XML 1.0
# cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF) and the C1 controls a terminal
# obeys are written as escapes, and a detail is cut at this length, whatever a hostile package put
# into the values it echoes.
MAX_DETAIL_CHARS = 2000
_UNSAFE_CHAR = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` safe to put in XML and on a terminal line: bad characters escaped, length bounded."""
    safe = _UNSAFE_CHAR.sub(_escape, text)
    if len(safe) > MAX_DETAIL_CHARS:
        safe = safe[: MAX_DETAIL_CHARS - 1] + "…"
    return safe


class VbusError(Exception):
    """Root of every vbus error.

    ``reason`` is machine-readable (refusal statuses, the tracking store, metrics). For people, one
    language per line (``vbcore.lang``): ``reason_vi`` / ``reason_en`` is the short statement,
    ``detail_vi`` / ``str(err)`` the precise detail in the same language; ``describe(lang)`` joins
    them. Raise with both: ``SomethingWrong("the English detail", vi="chi tiết bằng tiếng Việt")``.
    """

    reason: str = "error"
    reason_vi: str = "Lỗi"
    reason_en: str = "Error"

    def __init__(self, message: str = "", *args: object, vi: str | None = None) -> None:
        super().__init__(message, *args)
        self.detail_vi = vi

    def describe(self, lang: str = "vi") -> str:
        """One line in one language: the short statement, then the precise detail.

        The Description of a refusal status, and what ``vb`` prints. Never mixes languages: an error
        raised without a Vietnamese detail gives only its Vietnamese statement (every refusal has its
        detail: ``tests/test_one_language.py`` checks each raise site)."""
        head = self.reason_en if lang == "en" else self.reason_vi
        detail = str(self) if lang == "en" else self.detail_vi
        return f"{head}: {detail}" if detail else head

    @property
    def has_vietnamese_detail(self) -> bool:
        """Whether ``describe("vi")`` carries the precise detail (or only the statement)."""
        return bool(self.detail_vi) or not str(self)


def statement_of(reason: str, lang: str = "vi") -> str:
    """The short statement of the error whose ``reason`` this is, in ``lang`` (the reason itself if
    no error has it): what a record that kept only the reason (the store's refusals) shows people."""
    stack: list[type[VbusError]] = [VbusError]
    while stack:
        cls = stack.pop()
        if cls.__dict__.get("reason") == reason:
            return cls.reason_en if lang == "en" else cls.reason_vi
        stack.extend(cls.__subclasses__())
    return reason


# --- reading packages -------------------------------------------------------------------------


class PackageRefused(VbusError):
    """A package that vbus will not accept; ``str()`` says why, precisely enough to fix it."""

    reason = "refused"
    reason_vi = "Văn bản bị từ chối"
    reason_en = "Package refused"

    def __init__(self, message: str = "", *args: object, vi: str | None = None) -> None:
        # The detail echoes what the package held: made safe here, once, for every refusal.
        super().__init__(printable(message), *args, vi=printable(vi) if vi is not None else None)


class MalformedPackage(PackageRefused):
    """The bytes are not well-formed XML (or not an edXML package at all)."""

    reason = "malformed"
    reason_vi = "Gói tin không đúng cú pháp XML"
    reason_en = "The package is not well-formed XML"

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, *, vi: str | None = None
    ) -> None:
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None else ""
        where_vi = f" (dòng {line}, cột {column})" if line is not None else ""
        super().__init__(f"{message}{where}", vi=f"{vi}{where_vi}" if vi else None)


class ForbiddenXmlConstruct(MalformedPackage):
    """A DOCTYPE, entity declaration or processing construct that the hardened parser refuses."""

    reason = "forbidden-xml"
    reason_vi = "Gói tin chứa cấu trúc XML bị cấm (DOCTYPE, thực thể)"
    reason_en = "The package holds a forbidden XML construct (DOCTYPE, entity)"


class PackageTooLarge(PackageRefused):
    """The package exceeds the configured size limit."""

    reason = "too-large"
    reason_vi = "Gói tin vượt quá dung lượng cho phép"
    reason_en = "The package is over the size limit"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"package is {size} bytes, over the limit of {limit} bytes",
            vi=f"gói tin {size} byte, vượt giới hạn {limit} byte",
        )


class PackageTooDeep(MalformedPackage):
    """Elements nest deeper than the configured limit."""

    reason = "too-deep"
    reason_vi = "Gói tin lồng phần tử quá sâu"
    reason_en = "The package nests elements too deeply"


class NotAnEdxmlPackage(MalformedPackage):
    """Well-formed XML, but not an edXML document or status package."""

    reason = "not-edxml"
    reason_vi = "Không phải gói tin edXML"
    reason_en = "Not an edXML package"


class InvalidFieldValue(PackageRefused):
    """An element holds a value that cannot be read (a date, a number, a code)."""

    reason = "invalid-value"
    reason_vi = "Giá trị của một trường không hợp lệ"
    reason_en = "A field holds an invalid value"

    def __init__(self, path: str, value: str, expected: str, expected_vi: str | None = None) -> None:
        self.path = path
        self.value = value
        want = f", cần {expected_vi}" if expected_vi else ""
        super().__init__(
            f"{path}: {value!r} is not {expected}", vi=f"{path}: giá trị {value!r} không hợp lệ{want}"
        )


class AttachmentUnreadable(PackageRefused):
    """An attachment's base64 or ZIP content cannot be decoded."""

    reason = "attachment-unreadable"
    reason_vi = "Không đọc được tệp đính kèm"
    reason_en = "An attachment cannot be read"


class AttachmentTooLarge(AttachmentUnreadable):
    """One attachment's ZIP entry says, or turns out, to expand past ``ParseLimits.max_unzipped_bytes``."""

    reason = "attachment-too-large"
    reason_vi = "Tệp đính kèm quá lớn khi giải nén"
    reason_en = "An attachment is too large once unzipped"


class CompressionRatioTooHigh(AttachmentTooLarge):
    """A ZIP entry expands more than ``ParseLimits.max_zip_ratio`` times its compressed size (a ZIP bomb)."""

    reason = "compression-ratio"
    reason_vi = "Tệp đính kèm nén với tỉ lệ bất thường (nghi ZIP bomb)"
    reason_en = "An attachment is compressed at an implausible ratio (a ZIP bomb?)"


class AttachmentsTooLarge(PackageRefused):
    """The attachments of one package together decode, or expand, past a per-package limit."""

    reason = "attachments-too-large"
    reason_vi = "Tổng dung lượng tệp đính kèm của gói tin vượt giới hạn"
    reason_en = "The package's attachments together are over the limit"

    def __init__(self, what: str, size: int, limit: int, label: str) -> None:
        self.size = size
        self.limit = limit
        verb_en = {"decoded": "decode to", "spooled": "expand to"}[what]
        verb_vi = {"decoded": "giải mã base64 ra", "spooled": "giải nén ra"}[what]
        super().__init__(
            f"the package's attachments together {verb_en} more than {limit} bytes "
            f"(reached at attachment {label})",
            vi=f"các tệp đính kèm của gói tin cộng lại {verb_vi} hơn {limit} byte (đến tệp {label})",
        )


class TooManyItems(PackageRefused):
    """One element repeated more often than ``ParseLimits`` allows (``To``, ``TraceHeader``, ...)."""

    reason = "too-many-items"
    reason_vi = "Một phần tử lặp lại quá nhiều lần"
    reason_en = "An element is repeated too many times"

    def __init__(self, path: str, count: int, limit: int) -> None:
        self.path = path
        self.count = count
        self.limit = limit
        super().__init__(
            f"{path} appears {count} times; at most {limit} are accepted",
            vi=f"{path} xuất hiện {count} lần; chỉ chấp nhận tối đa {limit}",
        )


class TooManyAttachments(TooManyItems):
    reason = "too-many-attachments"
    reason_vi = "Gói tin có quá nhiều tệp đính kèm"
    reason_en = "The package has too many attachments"


class TooManyNamespaces(MalformedPackage):
    """More ``xmlns`` declarations than ``ParseLimits.max_namespace_declarations``."""

    reason = "too-many-namespaces"
    reason_vi = "Gói tin khai báo quá nhiều không gian tên XML"
    reason_en = "The package declares too many XML namespaces"


class TooManyElements(MalformedPackage):
    """More elements in the package than ``ParseLimits.max_elements``."""

    reason = "too-many-elements"
    reason_vi = "Gói tin có quá nhiều phần tử XML"
    reason_en = "The package holds too many XML elements"


class SchemaViolation(PackageRefused):
    """The package does not conform to the edXML schema; ``problems`` lists each with its path."""

    reason = "schema"
    reason_vi = "Gói tin không đúng cấu trúc edXML (QCVN 102:2016)"
    reason_en = "The package does not follow the edXML schema (QCVN 102:2016)"

    SHOWN = 5  # problems written into the sentence; ``problems`` keeps them all

    def __init__(self, problems: list[str], problems_vi: list[str] | None = None) -> None:
        self.problems = problems
        self.problems_vi = problems_vi
        n = self.SHOWN
        more = f" (+{len(problems) - n} more)" if len(problems) > n else ""
        vi = None
        if problems_vi is not None:
            more_vi = f" (và {len(problems_vi) - n} lỗi khác)" if len(problems_vi) > n else ""
            vi = "; ".join(problems_vi[:n]) + more_vi
        super().__init__(f"schema violation: {'; '.join(problems[:n])}{more}", vi=vi)


# --- signatures -------------------------------------------------------------------------------


class SignatureError(PackageRefused):
    """Base of every signature failure."""

    reason = "signature"
    reason_vi = "Chữ ký số không hợp lệ"
    reason_en = "The digital signature is not valid"


class SignatureMissing(SignatureError):
    reason = "signature-missing"
    reason_vi = "Gói tin không có chữ ký số"
    reason_en = "The package is not signed"


class SignatureInvalid(SignatureError):
    """The signature does not verify: the package changed after signing, or the value is wrong."""

    reason = "signature-invalid"
    reason_vi = "Chữ ký số không hợp lệ: gói tin đã bị thay đổi hoặc chữ ký sai"
    reason_en = "The digital signature is not valid: the package changed or the signature is wrong"


class SignatureWrapping(SignatureError):
    """The signature does not cover the whole package (a signature-wrapping attempt)."""

    reason = "signature-wrapping"
    reason_vi = "Chữ ký số không bao trùm toàn bộ gói tin"
    reason_en = "The digital signature does not cover the whole package"


class WeakSignatureAlgorithm(SignatureError):
    """SHA-1 (or another algorithm the operator's policy refuses)."""

    reason = "weak-algorithm"
    reason_vi = "Thuật toán chữ ký số không được chấp nhận"
    reason_en = "The signature algorithm is not accepted"


class UntrustedCertificate(SignatureError):
    """The signing certificate does not chain to a trusted CA, or is expired."""

    reason = "untrusted-certificate"
    reason_vi = "Chứng thư số không được tin cậy hoặc đã hết hạn"
    reason_en = "The certificate is not trusted or has expired"


class SignerMismatch(SignatureError):
    """The signing certificate belongs to another agency than the package's sender."""

    reason = "signer-mismatch"
    reason_vi = "Chứng thư số không thuộc cơ quan gửi"
    reason_en = "The certificate does not belong to the sending agency"


class TooManyCertificates(SignatureError):
    """More certificates in the signature's ``KeyInfo`` than ``ParseLimits.max_certificates``."""

    reason = "too-many-certificates"
    reason_vi = "Chữ ký số kèm quá nhiều chứng thư số"
    reason_en = "The signature carries too many certificates"


class CertificateUnreadable(SignatureInvalid):
    """A certificate in the signature's ``KeyInfo`` is not a readable X.509 certificate."""

    reason = "certificate-unreadable"
    reason_vi = "Không đọc được chứng thư số kèm theo chữ ký"
    reason_en = "A certificate in the signature cannot be read"


# --- agencies and routing ---------------------------------------------------------------------


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


# --- infrastructure ---------------------------------------------------------------------------


class TransportError(VbusError):
    """The broker could not be reached, or refused an operation."""

    reason = "transport"
    reason_vi = "Lỗi máy chủ chuyển tin (RabbitMQ)"
    reason_en = "Broker error"


class ConnectionLost(TransportError):
    reason = "connection-lost"
    reason_vi = "Không kết nối được máy chủ chuyển tin (RabbitMQ)"
    reason_en = "The broker cannot be reached"


class PublishNotConfirmed(TransportError):
    """The broker did not confirm (nack, or returned as unroutable)."""

    reason = "publish-not-confirmed"
    reason_vi = "Máy chủ chuyển tin không xác nhận đã nhận thông điệp"
    reason_en = "The broker did not confirm the message"


class StoreError(VbusError):
    """The tracking store failed."""

    reason = "store"
    reason_vi = "Lỗi kho theo dõi"
    reason_en = "Tracking store error"


class ConfigurationError(VbusError):
    """A configuration file or option is wrong."""

    reason = "configuration"
    reason_vi = "Cấu hình không hợp lệ"
    reason_en = "Configuration error"


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


class AccessRefused(TransportError):
    """The broker refused the operation for this user (permissions, or a spoofed ``user_id``)."""

    reason = "access-refused"
    reason_vi = "Máy chủ chuyển tin từ chối quyền truy cập"
    reason_en = "The broker refused access"


class BrokerLoginRefused(AccessRefused):
    """The broker refused the user name or password (AMQP 403 at login)."""

    reason = "broker-login-refused"
    reason_vi = "Máy chủ chuyển tin từ chối đăng nhập"
    reason_en = "The broker refused the login"


class VhostNotFound(AccessRefused):
    """The broker has no such virtual host (AMQP 530 at login)."""

    reason = "vhost-not-found"
    reason_vi = "Máy chủ chuyển tin không có vhost này"
    reason_en = "The broker has no such vhost"


class VhostNotPermitted(AccessRefused):
    """The user exists but has no permissions on the virtual host (AMQP 530 at login)."""

    reason = "vhost-not-permitted"
    reason_vi = "Người dùng không có quyền trên vhost này"
    reason_en = "The user has no permissions on this vhost"


class QueueNotFound(TransportError):
    """The named queue (or exchange) does not exist on the broker."""

    reason = "queue-not-found"
    reason_vi = "Không có hàng đợi này trên máy chủ chuyển tin"
    reason_en = "The queue does not exist on the broker"


class ProvisioningFailed(TransportError):
    """The broker's management API refused or failed a provisioning step."""

    reason = "provisioning-failed"
    reason_vi = "Không cấp phát được trên máy chủ chuyển tin"
    reason_en = "Broker provisioning failed"


class ManagementApiUnreachable(ProvisioningFailed):
    """RabbitMQ's management HTTP API does not answer (plugin off, wrong URL, broker down)."""

    reason = "management-api-unreachable"
    reason_vi = "Không kết nối được API quản trị của RabbitMQ"
    reason_en = "The RabbitMQ management API is unreachable"


class AgencyAlreadyProvisioned(ConfigurationError):
    """``vb agency add`` for an agency that has a broker user or a key and certificate already."""

    reason = "agency-exists"
    reason_vi = "Cơ quan đã được cấp phát"
    reason_en = "The agency is already provisioned"


class NotReplayable(VbusError):
    """A parked message ``vb parked replay`` will not send to the hub again (the reason says why)."""

    reason = "not-replayable"
    reason_vi = "Không gửi lại được gói tin đang lưu giữ"
    reason_en = "The parked message cannot be replayed"


# --- tracking store ---------------------------------------------------------------------------


class StoreUrlInvalid(ConfigurationError):
    """A store URL that names no supported database (``sqlite://...`` or ``postgresql://...``)."""

    reason = "store-url-invalid"
    reason_vi = "Địa chỉ kho theo dõi không hợp lệ"
    reason_en = "The store URL is not valid"


class StoreNotFound(StoreError):
    """A command that only reads the store was pointed at a store that does not exist."""

    reason = "store-not-found"
    reason_vi = "Không tìm thấy kho theo dõi"
    reason_en = "The tracking store does not exist"


class StoreSchemaTooNew(StoreError):
    """The database was migrated by a newer vbus than this one; opening it could corrupt it."""

    reason = "store-schema-too-new"
    reason_vi = "Kho theo dõi do phiên bản vbus mới hơn tạo"
    reason_en = "The store was written by a newer vbus"

    def __init__(self, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the store's schema is version {found}; this vbus knows up to version {known}",
            vi=f"lược đồ của kho là phiên bản {found}; bản vbus này chỉ biết đến phiên bản {known}",
        )


class PairNotClaimed(StoreError):
    """A state change for a (document, recipient) pair that was never claimed."""

    reason = "pair-not-claimed"

    def __init__(self, document_id: str, recipient: str) -> None:
        self.document_id = document_id
        self.recipient = recipient
        super().__init__(
            f"no delivery of document {document_id} to {recipient} was claimed",
            vi=f"chưa ghi nhận việc chuyển văn bản {document_id} đến {recipient}",
        )


class RequiredElementMissing(InvalidFieldValue):
    """A package lacks an element it cannot do without (``path`` names it)."""

    reason = "missing-element"
    reason_vi = "Thiếu phần tử bắt buộc"
    reason_en = "A required element is missing"

    def __init__(self, path: str) -> None:
        PackageRefused.__init__(self, f"{path} is missing", vi=f"thiếu phần tử {path}")
        self.path = path
        self.value = ""


class ImplausibleDate(InvalidFieldValue):
    """A date or timestamp that reads, but cannot be meant (``vbcore.edxml.names.DATE_RANGE``)."""

    reason = "implausible-date"
    reason_vi = "Ngày tháng nằm ngoài khoảng chấp nhận"
    reason_en = "A date is outside the accepted range"

    def __init__(self, path: str, value: str, first: str, last: str) -> None:
        PackageRefused.__init__(
            self,
            f"{path}: {value!r} is outside the accepted range {first} to {last}",
            vi=f"{path}: giá trị {value!r} nằm ngoài khoảng chấp nhận từ {first} đến {last}",
        )
        self.path = path
        self.value = value


# --- another axis over its HTTP interface (connectors.axis_client) ----------------------------


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


# --- an agency's connector gives up, and what it tells people (vbcore.connector_runtime) ------


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


# --- `vb send --wait` (vbcore.hub.sending) ----------------------------------------------------


class SendRefused(VbusError):
    """The hub or a recipient refused what ``vb send`` sent (a 02 came back)."""

    reason = "send-refused"
    reason_vi = "Văn bản bị từ chối"
    reason_en = "The document was refused"


class VerdictTimedOut(VbusError):
    """``vb send --wait`` saw no verdict in time: neither the hub's 02 nor every recipient's status."""

    reason = "verdict-timed-out"
    reason_vi = "Chưa nhận được kết quả"
    reason_en = "No verdict yet"

    def __init__(self, seconds: float, silent: list[str]) -> None:
        self.seconds = seconds
        self.silent = silent
        who = ", ".join(silent)
        super().__init__(f"after {seconds:g} s, no answer from {who}",
                         vi=f"sau {seconds:g} giây, chưa có trả lời từ {who}")


def refusal_named(reason: str | None) -> type[VbusError] | None:
    """The error class whose machine ``reason`` this is (the hub sends it beside its 02), to say in
    any language what happened; None for a reason this vbus does not know."""
    if not reason:
        return None
    pending: list[type[VbusError]] = [VbusError]
    while pending:
        cls = pending.pop()
        if cls.__dict__.get("reason") == reason:
            return cls
        pending.extend(cls.__subclasses__())
    return None


# --- TLS on every link (issue 10) ---------------------------------------------------------------


class TlsRequired(ConfigurationError):
    """A plain link (``amqp://``, ``http://``, a PostgreSQL URL without ``sslmode=verify-full``) where the
    installation requires TLS (``VBUS_REQUIRE_TLS``, ``vb --require-tls``)."""

    reason = "tls-required"
    reason_vi = "Kết nối không mã hóa bị từ chối: hệ thống yêu cầu TLS"
    reason_en = "Plain connection refused: this installation requires TLS"


class TlsSettingsInvalid(ConfigurationError):
    """TLS parameters of a URL that cannot work (a file that cannot be read, a key that does not match
    its certificate, a parameter on a plain URL, verification turned off where it may not be)."""

    reason = "tls-settings"
    reason_vi = "Thiết lập TLS không hợp lệ"
    reason_en = "Invalid TLS settings"


class TlsVerificationFailed(TransportError):
    """The server's certificate did not verify (unknown CA, another host name, expired): not an outage,
    retrying cannot help."""

    reason = "tls-verification-failed"
    reason_vi = "Không xác thực được chứng thư số TLS của máy chủ"
    reason_en = "The server's TLS certificate could not be verified"


class TlsClientRefused(TransportError):
    """The server ended the TLS handshake: it does not trust the client certificate (or wants one)."""

    reason = "tls-client-refused"
    reason_vi = "Máy chủ từ chối chứng thư số TLS của bên kết nối"
    reason_en = "The server refused the client's TLS certificate"


class StoreTlsFailed(StoreError):
    """The PostgreSQL store's TLS: the server's certificate did not verify, or the server has no TLS.
    A ``StoreError`` (while the hub runs it is treated as the store being away), but ``vb`` reports it as
    a configuration to fix (exit 1), and a hub does not retry it at start."""

    reason = "store-tls"
    reason_vi = "Lỗi TLS khi kết nối kho theo dõi (PostgreSQL)"
    reason_en = "TLS error on the tracking store (PostgreSQL)"
