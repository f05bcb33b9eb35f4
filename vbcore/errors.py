"""Every error vbus raises, named for what happened.

This module imports nothing of the package (as dramatiq's ``errors.py``), so any layer may use it.
Each error that concerns a package carries a short machine-readable ``reason`` (used in refusal
statuses 02 and in the tracking store) and a human sentence (``str(err)``) that reaches the sender.
"""

from __future__ import annotations


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

        The Description of a refusal status, and what ``vb`` prints.

        TRANSITIONAL: where a raise site gave no Vietnamese detail yet, the Vietnamese line still ends
        with the English detail (the 0.1 behaviour); issue 7 gives every refusal its Vietnamese detail
        and then removes this fallback."""
        if lang == "en":
            head, detail = self.reason_en, str(self)
        else:
            head, detail = self.reason_vi, self.detail_vi or str(self)
        return f"{head}: {detail}" if detail else head


# --- reading packages -------------------------------------------------------------------------


class PackageRefused(VbusError):
    """A package that vbus will not accept; ``str()`` says why, precisely enough to fix it."""

    reason = "refused"
    reason_vi = "Văn bản bị từ chối"
    reason_en = "Package refused"


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

    def __init__(self, path: str, value: str, expected: str) -> None:
        self.path = path
        self.value = value
        super().__init__(f"{path}: {value!r} is not {expected}", vi=f"{path}: giá trị {value!r} không hợp lệ")


class AttachmentUnreadable(PackageRefused):
    """An attachment's base64 or ZIP content cannot be decoded."""

    reason = "attachment-unreadable"
    reason_vi = "Không đọc được tệp đính kèm"
    reason_en = "An attachment cannot be read"


class SchemaViolation(PackageRefused):
    """The package does not conform to the edXML schema; ``problems`` lists each with its path."""

    reason = "schema"
    reason_vi = "Gói tin không đúng cấu trúc edXML (QCVN 102:2016)"
    reason_en = "The package does not follow the edXML schema (QCVN 102:2016)"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"schema violation: {shown}{more}")


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


class UnknownDocument(PackageRefused):
    """A status, revoke, update or replace that names a document the hub never carried."""

    reason = "unknown-document"
    reason_vi = "Không tìm thấy văn bản gốc"
    reason_en = "The original document was not found"


# --- infrastructure ---------------------------------------------------------------------------


class TransportError(VbusError):
    """The broker could not be reached, or refused an operation."""


class ConnectionLost(TransportError):
    pass


class PublishNotConfirmed(TransportError):
    """The broker did not confirm (nack, or returned as unroutable)."""


class StoreError(VbusError):
    """The tracking store failed."""


class ConfigurationError(VbusError):
    """A configuration file or option is wrong."""


class ConnectorError(VbusError):
    """Base of connector plugin errors."""


class ConnectorLoadError(ConnectorError):
    """A plugin could not be loaded or does not satisfy the contract."""


class DmsUnavailable(ConnectorError):
    """The DMS is down right now; the runtime retries with backoff."""


class DmsRefused(ConnectorError):
    """The DMS refuses a document for good; it becomes a status 02 with this reason."""

    reason = "dms-refused"
    reason_vi = "Hệ thống quản lý văn bản từ chối tiếp nhận"
    reason_en = "The document management system refused the document"


class AccessRefused(TransportError):
    """The broker refused the operation for this user (permissions, or a spoofed ``user_id``)."""

    reason = "access-refused"


class QueueNotFound(TransportError):
    """The named queue (or exchange) does not exist on the broker."""

    reason = "queue-not-found"


class ProvisioningFailed(TransportError):
    """The broker's management API (or ``rabbitmqctl``) refused or failed a provisioning step."""

    reason = "provisioning-failed"


class NotReplayable(VbusError):
    """A parked message ``vb parked replay`` will not send to the hub again (the reason says why)."""

    reason = "not-replayable"
    reason_vi = "Không gửi lại được gói tin đang lưu giữ"
    reason_en = "The parked message cannot be replayed"


# --- tracking store ---------------------------------------------------------------------------


class StoreUrlInvalid(ConfigurationError):
    """A store URL that names no supported database (``sqlite://...`` or ``postgresql://...``)."""

    reason = "store-url-invalid"


class StoreSchemaTooNew(StoreError):
    """The database was migrated by a newer vbus than this one; opening it could corrupt it."""

    reason = "store-schema-too-new"

    def __init__(self, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(f"the store's schema is version {found}; this vbus knows up to version {known}")


class PairNotClaimed(StoreError):
    """A state change for a (document, recipient) pair that was never claimed."""

    reason = "pair-not-claimed"

    def __init__(self, document_id: str, recipient: str) -> None:
        self.document_id = document_id
        self.recipient = recipient
        super().__init__(f"no delivery of document {document_id} to {recipient} was claimed")


class RequiredElementMissing(InvalidFieldValue):
    """A package lacks an element it cannot do without (``path`` names it)."""

    reason = "missing-element"
    reason_vi = "Thiếu phần tử bắt buộc"
    reason_en = "A required element is missing"

    def __init__(self, path: str) -> None:
        PackageRefused.__init__(self, f"{path} is missing", vi=f"thiếu phần tử {path}")
        self.path = path
        self.value = ""


# --- another axis over its HTTP interface (connectors.axis_client) ----------------------------


class AxisUnavailable(DmsUnavailable):
    """The other axis did not answer, timed out or failed (HTTP 5xx): the runtime retries with backoff."""

    reason = "axis-unavailable"


class AxisAuthenticationFailed(AxisUnavailable):
    """The other axis refused our signed headers (HTTP 401/403): wrong system id or secret. Retried,
    not refused: the document is not at fault, and the operator's fix lets it through."""

    reason = "axis-authentication-failed"


class AxisRefused(DmsRefused):
    """The other axis refused a request for good (HTTP 4xx); ``str()`` carries its reason."""

    reason = "axis-refused"
    reason_vi = "Trục liên thông từ chối"
    reason_en = "The other axis refused it"
