"""What a package does differently from QCVN 102:2016 that vbus still reads: named warnings.

Real producers send packages that differ from the standard in ways that break neither meaning nor
security (docs/domain.md §8): vbus reads them, and says so. Each such deviation has a stable
``code`` (for scripts, logs, the tracking store) and one line for people in one language
(``describe(lang)``: Vietnamese by default, English on request). What does break meaning or security
is refused instead (``vbcore.errors``), never warned.

The catalogue below is the one list of what is read with a warning (``docs/deviations.md`` explains
each and what the hub does with it). Every layer uses it: the edXML reader and its acceptance profile
find them, the hub stores them with the document (as trace events ``warning:<code>:<value>``, so that
``vb track`` shows them), the CLI prints them. Standard library only (a base module).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vbcore.lang import Lang, Text

# --- the codes (each defined once, here) -----------------------------------------------------------

# Reading in general
UNKNOWN_ELEMENT = "unknown-element"
PREFIX_REPAIRED = "prefix-repaired"
UNQUALIFIED_ELEMENTS = "unqualified-elements"
STATUS_BODY_IGNORED = "status-body-ignored"
ATTACHMENT_NAME_MADE_SAFE = "attachment-name-made-safe"
MORE_WARNINGS = "more-warnings"
# What real producers send (issue 11)
DOCUMENT_TYPE_CODE = "document-type-code"
TRACE_SOAP_ATTRIBUTES = "trace-soap-attributes"
DIGITAL_SIGNATURE_PLACEHOLDER = "digital-signature-placeholder"
CONTENT_ID_PREFIX = "content-id-prefix"
TRACE_HOP_WITHOUT_AGENCY = "trace-hop-without-agency"
UNSIGNED = "unsigned"
SIGNATURE_PLACEHOLDER = "signature-placeholder"
SENDER_ENTERPRISE_CODE = "sender-enterprise-code"
SENDER_LEVEL1_ONLY = "sender-level1-only"
SENDER_LEVEL1_FIRST = "sender-level1-first"
SENDER_TEST_TENANT = "sender-test-tenant"
SENDER_GENERAL_SHAPE = "sender-general-shape"
SENDER_UNRECOGNISED_CODE = "sender-unrecognised-code"
# Found with the directory (the hub, vb show)
ADDRESSEE_OLD_AND_NEW_CODE = "addressee-old-and-new-code"
SENDER_NAME_DIFFERS = "sender-name-differs"

# What the hub does with a sender that is not a 13-character agency code, said once for all of them.
_DIRECTORY_DECIDES = Text(
    "trục chỉ nhận gói tin của người gửi có trong danh bạ của trục",
    "a hub accepts it only from a sender its directory holds",
)

CATALOGUE: dict[str, Text] = {
    UNKNOWN_ELEMENT: Text("bỏ qua phần tử không xác định {value}", "ignored unknown element {value}"),
    PREFIX_REPAIRED: Text(
        "tiền tố {value}: được dùng mà không khai báo: đã khai báo bổ sung với không gian tên duy nhất "
        "của nó",
        "the prefix {value}: is used without a declaration: declared with the one namespace it can mean",
    ),
    UNQUALIFIED_ELEMENTS: Text(
        "các phần tử không có không gian tên được đọc như edXML (thiếu khai báo tiền tố?)",
        "elements without a namespace read as edXML (an undeclared prefix?)",
    ),
    STATUS_BODY_IGNORED: Text(
        "bỏ qua edXMLBody/AttachmentEncoded của gói tin trạng thái",
        "a status package's edXMLBody/AttachmentEncoded ignored",
    ),
    ATTACHMENT_NAME_MADE_SAFE: Text(
        "tên tệp đính kèm {value}: đã đổi thành tên tệp an toàn",
        "attachment name {value}: read as a safe file name",
    ),
    MORE_WARNINGS: Text("... và {value} cảnh báo khác", "... and {value} more warnings"),
    DOCUMENT_TYPE_CODE: Text(
        "DocumentType/Type {value} không phải mã 1 hoặc 2 của QCVN 102: giữ nguyên mã như gói tin ghi",
        "DocumentType/Type {value} is not QCVN 102's 1 or 2: the code is kept as written",
    ),
    TRACE_SOAP_ATTRIBUTES: Text(
        "TraceHeaderList mang thuộc tính từ thời SOAP ({value}): bỏ qua",
        "TraceHeaderList carries SOAP-era attributes ({value}): ignored",
    ),
    DIGITAL_SIGNATURE_PLACEHOLDER: Text(
        "phần tử DigitalSignature rỗng (chỗ giữ chỗ của phần mềm tạo gói tin): bỏ qua, đó không phải chữ ký",
        "an empty DigitalSignature element (a builder's placeholder): ignored, it is no signature",
    ),
    CONTENT_ID_PREFIX: Text(
        "ContentId {value} có tiền tố cid: ở danh mục mà không có ở tệp đính kèm, hoặc ngược lại: "
        "đối chiếu không tính tiền tố",
        "ContentId {value} has cid: in the manifest and not on the attachment, or the reverse: "
        "matched without it",
    ),
    TRACE_HOP_WITHOUT_AGENCY: Text(
        'TraceHeader {value}: không ghi mã cơ quan (OrganId rỗng, thiếu hoặc "null"): đọc như chặng của '
        "hệ thống không tên",
        'TraceHeader {value}: no agency named (OrganId empty, absent or "null"): read as hops of an '
        "unnamed system",
    ),
    UNSIGNED: Text(
        "gói tin không có chữ ký: trục chỉ nhận khi chính sách của trục cho phép gói tin không ký "
        "(mặc định: từ chối)",
        "the package carries no signature: a hub accepts it only if its policy allows unsigned "
        "packages (by default it refuses it)",
    ),
    SIGNATURE_PLACEHOLDER: Text(
        "phần tử <Signature> ngoài không gian tên XML-DSig, {value}: bản mẫu sao chép, không chứng minh "
        "điều gì; gói tin được coi là không ký",
        "a <Signature> outside the XML-DSig namespace, {value}: a copied placeholder that proves "
        "nothing; the package counts as unsigned",
    ),
    SENDER_ENTERPRISE_CODE: Text(
        "người gửi {value} là mã số doanh nghiệp 12 chữ số, không phải mã định danh cơ quan; "
        + _DIRECTORY_DECIDES.vi,
        "the sender {value} is a 12-digit enterprise code, not an agency code; " + _DIRECTORY_DECIDES.en,
    ),
    SENDER_LEVEL1_ONLY: Text(
        "người gửi {value} chỉ ghi mã cấp 1, không theo dạng 13 ký tự LLL.KK.JJ.XNN; "
        + _DIRECTORY_DECIDES.vi,
        "the sender {value} is a bare level-1 code, not the 13-character LLL.KK.JJ.XNN; "
        + _DIRECTORY_DECIDES.en,
    ),
    SENDER_LEVEL1_FIRST: Text(
        "người gửi {value} ghi mã cấp 1 trước (trục quốc gia ghi cấp 1 sau cùng: LLL.KK.JJ.XNN); "
        + _DIRECTORY_DECIDES.vi,
        "the sender {value} is written level-1 first (the national axis writes level 1 last: "
        "LLL.KK.JJ.XNN); " + _DIRECTORY_DECIDES.en,
    ),
    SENDER_TEST_TENANT: Text(
        "người gửi {value} là mã thử nghiệm của nền tảng dùng chung, không phải cơ quan; "
        + _DIRECTORY_DECIDES.vi,
        "the sender {value} is a test tenant of the shared platform, not an agency; " + _DIRECTORY_DECIDES.en,
    ),
    SENDER_GENERAL_SHAPE: Text(
        "người gửi {value} theo dạng chung của QĐ 20/2020, không theo dạng 13 ký tự LLL.KK.JJ.XNN; "
        + _DIRECTORY_DECIDES.vi,
        "the sender {value} has the general shape of QĐ 20/2020, not the 13-character LLL.KK.JJ.XNN; "
        + _DIRECTORY_DECIDES.en,
    ),
    SENDER_UNRECOGNISED_CODE: Text(
        "người gửi {value} không theo dạng mã định danh nào đã biết; " + _DIRECTORY_DECIDES.vi,
        "the sender {value} is an agency code of no known shape; " + _DIRECTORY_DECIDES.en,
    ),
    ADDRESSEE_OLD_AND_NEW_CODE: Text(
        "To ghi một cơ quan bằng cả mã cũ đã đóng và mã hiện hành ({value}): chỉ chuyển một lần, đến mã "
        "hiện hành",
        "To lists one agency under its closed and its current code ({value}): delivered once, to the "
        "current code",
    ),
    SENDER_NAME_DIFFERS: Text(
        "tên người gửi trong gói tin khác tên trong danh bạ ({value})",
        "the sender's name in the package differs from the directory's ({value})",
    ),
}

# Values that are words rather than data: said in the line's language (a value of data is as written).
CERTIFICATE_TRUNCATED = "certificate-truncated"
CERTIFICATE_PRESENT = "certificate-present"
NO_CERTIFICATE = "no-certificate"
VALUE_TEXTS: dict[str, Text] = {
    CERTIFICATE_TRUNCATED: Text("chứng thư số bị cắt cụt", "its certificate cut short"),
    CERTIFICATE_PRESENT: Text("kèm một chứng thư số", "with a certificate"),
    NO_CERTIFICATE: Text("không kèm chứng thư số", "without a certificate"),
}

MAX_WARNINGS = 100
"""Warnings kept per package: a package of 100,000 unknown elements is read, not echoed 100,000 times
(nor stored so by the hub)."""


def summarise(warnings: Iterable[Deviation], limit: int = MAX_WARNINGS) -> tuple[Deviation, ...]:
    """Each warning once, at most ``limit`` of them, then one ``more-warnings`` saying how many more."""
    unique = list(dict.fromkeys(warnings))
    if len(unique) <= limit:
        return tuple(unique)
    return (*unique[:limit], Deviation(MORE_WARNINGS, str(len(unique) - limit)))


TRACE_PREFIX = "warning:"
"""A deviation kept in the hub's trace: ``warning:<code>:<value>`` (``as_trace``, ``from_trace``)."""


@dataclass(frozen=True)
class Deviation:
    """One deviation found in one package: its ``code``, the ``value`` it concerns, and where."""

    code: str
    value: str = ""
    path: str | None = None  # the element, as the reader names paths (edXML/edXMLEnvelope/...)
    line: int | None = None

    def text(self) -> Text:
        """The line for people in both languages (a code this vbus does not know: as it is)."""
        template = CATALOGUE.get(self.code)
        if template is None:
            plain = f"{self.code}: {self.value}" if self.value else self.code
            return Text(plain, plain)
        value = VALUE_TEXTS.get(self.value, Text(self.value, self.value))
        return Text(template.vi.format(value=value.vi), template.en.format(value=value.en))

    def describe(self, lang: Lang = "vi") -> str:
        """One line in one language, with the line of the package when known."""
        where = ""
        if self.line is not None:
            where = f" (line {self.line})" if lang == "en" else f" (dòng {self.line})"
        return self.text()(lang) + where

    def __str__(self) -> str:
        return f"{self.code}: {self.describe('en')}"

    def to_json(self) -> dict[str, Any]:
        """For ``--json``: the code, what it concerns, and the line in both languages."""
        return {
            "code": self.code,
            "value": self.value,
            "path": self.path,
            "line": self.line,
            "message": self.describe("en"),
            "message_vi": self.describe("vi"),
        }

    def as_trace(self) -> str:
        """The trace event that keeps it in the hub's store."""
        return f"{TRACE_PREFIX}{self.code}:{self.value}"

    @classmethod
    def from_trace(cls, event: str) -> Deviation | None:
        """The deviation a trace event keeps; None for any other event."""
        if not event.startswith(TRACE_PREFIX):
            return None
        code, _, value = event[len(TRACE_PREFIX) :].partition(":")
        return cls(code, value)
