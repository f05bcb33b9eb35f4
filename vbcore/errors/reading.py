"""Reading a package: what the hardened parser, the schema and the reader refuse (malformed XML, sizes
and counts over the limits, attachments that cannot be decoded, fields that do not parse).
"""

from __future__ import annotations

from vbcore.errors.base import PackageRefused


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


class ForeignDialect(NotAnEdxmlPackage):
    """A package of another edXML dialect (the older SOAP + MIME one, a provincial one): recognised,
    named, and refused (vbus reads QCVN 102:2016 only)."""

    reason = "foreign-dialect"
    reason_vi = "Gói tin theo một phương ngữ edXML khác, không phải QCVN 102:2016"
    reason_en = "A package of another edXML dialect, not QCVN 102:2016"


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

    def __init__(
        self,
        problems: list[str],
        problems_vi: list[str] | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problems = problems
        self.problems_vi = problems_vi
        self.line, self.column = line, column  # of the first problem (each problem says its own)
        n = self.SHOWN
        more = f" (+{len(problems) - n} more)" if len(problems) > n else ""
        vi = None
        if problems_vi is not None:
            more_vi = f" (và {len(problems_vi) - n} lỗi khác)" if len(problems_vi) > n else ""
            vi = "; ".join(problems_vi[:n]) + more_vi
        super().__init__(f"schema violation: {'; '.join(problems[:n])}{more}", vi=vi)


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
