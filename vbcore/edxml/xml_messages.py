"""libxml2's messages in Vietnamese: one template per error type, the names and values it quotes kept.

libxml2 (through lxml) reports well-formedness and XSD errors in English, with a machine-readable
type (``ERR_TAG_NAME_MISMATCH``, ``SCHEMAV_CVC_PATTERN_VALID``, ...). A refusal reaches a Vietnamese
clerk whole in Vietnamese (``vbcore.lang``): ``parse_error_vi`` and ``schema_error_vi`` read the type and
the few values the message quotes (element names, the value, the expected set, lengths) and fill a
Vietnamese sentence. English readers keep libxml2's own message. An unknown type still gets a
Vietnamese sentence naming the type, never the English text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Template = Callable[[re.Match[str]], str]


def _q(m: re.Match[str], group: str) -> str:
    value = m.group(group)
    return value if value is not None else "?"


# --- well-formedness ----------------------------------------------------------------------------

# type -> (pattern over libxml2's message, template). The first pattern that matches wins.
_PARSE: dict[str, list[tuple[str, Template]]] = {
    "ERR_DOCUMENT_EMPTY": [
        (r"Start tag expected", lambda m: "không tìm thấy thẻ mở đầu ('<'): nội dung không phải là XML"),
        (r"", lambda m: "tài liệu rỗng"),
    ],
    "ERR_DOCUMENT_START": [(r"", lambda m: "không tìm thấy thẻ mở đầu ('<'): nội dung không phải là XML")],
    "ERR_DOCUMENT_END": [(r"", lambda m: "còn nội dung sau khi phần tử gốc đã đóng")],
    "ERR_TAG_NOT_FINISHED": [
        (r"in tag (?P<tag>\S+) line (?P<line>\d+)",
         lambda m: f"dữ liệu kết thúc khi thẻ <{_q(m, 'tag')}> (mở ở dòng {_q(m, 'line')}) chưa được đóng"),
        (r"", lambda m: "dữ liệu kết thúc khi còn thẻ chưa được đóng"),
    ],
    "ERR_TAG_NAME_MISMATCH": [
        (r"mismatch: (?P<open>\S+) line (?P<line>\d+) and (?P<close>\S+)",
         lambda m: f"thẻ mở <{_q(m, 'open')}> (dòng {_q(m, 'line')}) không khớp với thẻ đóng "
                   f"</{_q(m, 'close')}>"),
        (r"", lambda m: "thẻ mở và thẻ đóng không khớp nhau"),
    ],
    "ERR_GT_REQUIRED": [
        (r"end of Start Tag (?P<tag>\S+)", lambda m: f"thẻ mở <{_q(m, 'tag')}> thiếu dấu '>' kết thúc"),
        (r"", lambda m: "thiếu dấu '>'"),
    ],
    "ERR_LTSLASH_REQUIRED": [(r"", lambda m: "thiếu thẻ đóng ('</')")],
    "ERR_NAME_REQUIRED": [(r"", lambda m: "tên phần tử hoặc thuộc tính không hợp lệ")],
    "ERR_ATTRIBUTE_REDEFINED": [
        (r"Attribute (?P<name>\S+) redefined", lambda m: f"thuộc tính '{_q(m, 'name')}' được ghi hai lần"),
    ],
    "ERR_ATTRIBUTE_NOT_STARTED": [(r"", lambda m: "giá trị thuộc tính phải nằm trong dấu nháy (\" hoặc ')")],
    "ERR_ATTRIBUTE_NOT_FINISHED": [(r"", lambda m: "giá trị thuộc tính thiếu dấu nháy đóng")],
    "ERR_ATTRIBUTE_WITHOUT_VALUE": [
        (r"attribute (?P<name>\S+)", lambda m: f"thuộc tính '{_q(m, 'name')}' thiếu giá trị"),
    ],
    "ERR_SPACE_REQUIRED": [
        (r"", lambda m: "cấu trúc thuộc tính sai (thiếu khoảng trắng giữa các thuộc tính?)"),
    ],
    "ERR_EQUAL_REQUIRED": [(r"", lambda m: "thiếu dấu '=' giữa tên và giá trị thuộc tính")],
    "ERR_LT_IN_ATTRIBUTE": [(r"", lambda m: "giá trị thuộc tính chứa ký tự '<' chưa được thoát (&lt;)")],
    "ERR_UNDECLARED_ENTITY": [
        (r"Entity '(?P<name>[^']*)'", lambda m: f"thực thể '{_q(m, 'name')}' không được khai báo"),
    ],
    "ERR_ENTITYREF_SEMICOL_MISSING": [(r"", lambda m: "tham chiếu thực thể thiếu dấu ';'")],
    "ERR_INVALID_CHAR": [
        (r"out of bounds", lambda m: "tham chiếu ký tự vượt ngoài bảng mã"),
        (r"CharRef: invalid xmlChar value (?P<code>\d+)",
         lambda m: f"tham chiếu đến ký tự không được phép trong XML (mã {_q(m, 'code')})"),
        (r"value (?P<code>\d+)", lambda m: f"ký tự không được phép trong XML (mã {_q(m, 'code')})"),
        (r"", lambda m: "ký tự không được phép trong XML"),
    ],
    "ERR_INVALID_CHARREF": [(r"", lambda m: "tham chiếu ký tự không hợp lệ")],
    "ERR_INVALID_DEC_CHARREF": [(r"", lambda m: "tham chiếu ký tự (thập phân) không hợp lệ")],
    "ERR_INVALID_HEX_CHARREF": [(r"", lambda m: "tham chiếu ký tự (thập lục phân) không hợp lệ")],
    "ERR_INVALID_ENCODING": [
        (r"", lambda m: "có byte không hợp lệ với bảng mã của tài liệu (thường là UTF-8)"),
    ],
    "ERR_UNSUPPORTED_ENCODING": [
        (r"encoding:? (?P<name>\S+)", lambda m: f"bảng mã '{_q(m, 'name')}' không được hỗ trợ"),
    ],
    "ERR_UNKNOWN_ENCODING": [(r"", lambda m: "bảng mã không xác định")],
    "ERR_UNKNOWN_VERSION": [
        (r"version '(?P<v>[^']*)'", lambda m: f"phiên bản XML '{_q(m, 'v')}' không được hỗ trợ"),
    ],
    "ERR_RESERVED_XML_NAME": [(r"", lambda m: "khai báo <?xml ...?> chỉ được đặt ở ngay đầu tài liệu")],
    "ERR_XMLDECL_NOT_FINISHED": [(r"", lambda m: "khai báo <?xml ...?> chưa kết thúc")],
    "ERR_HYPHEN_IN_COMMENT": [(r"", lambda m: "chú thích chứa chuỗi '--'")],
    "ERR_COMMENT_NOT_FINISHED": [(r"", lambda m: "chú thích chưa được đóng")],
    "ERR_CDATA_NOT_FINISHED": [(r"", lambda m: "khối CDATA chưa được đóng")],
    "ERR_MISPLACED_CDATA_END": [(r"", lambda m: "chuỗi ']]>' không được phép trong nội dung")],
    "ERR_PI_NOT_FINISHED": [(r"", lambda m: "chỉ thị xử lý (<? ... ?>) chưa kết thúc")],
    "ERR_PI_NOT_STARTED": [(r"", lambda m: "chỉ thị xử lý (<? ... ?>) không hợp lệ")],
    "ERR_EXTRA_CONTENT": [(r"", lambda m: "còn nội dung sau khi phần tử gốc đã đóng")],
    "ERR_INTERNAL_ERROR": [
        (r"Excessive depth", lambda m: "phần tử lồng nhau quá sâu"),
        (r"", lambda m: "trình phân tích XML gặp lỗi nội bộ"),
    ],
    "NS_ERR_UNDEFINED_NAMESPACE": [
        (r"prefix (?P<prefix>\S+) (?:for \S+ )?on (?P<on>\S+)",
         lambda m: f"tiền tố không gian tên '{_q(m, 'prefix')}' của <{_q(m, 'on')}> chưa được khai báo"),
        (r"", lambda m: "tiền tố không gian tên chưa được khai báo"),
    ],
    "NS_ERR_XML_NAMESPACE": [(r"", lambda m: "khai báo không gian tên không hợp lệ (rỗng hoặc dành riêng)")],
    "NS_ERR_QNAME": [(r"QName '(?P<name>[^']*)'", lambda m: f"tên '{_q(m, 'name')}' không hợp lệ")],
    "NS_ERR_ATTRIBUTE_REDEFINED": [(r"", lambda m: "một thuộc tính (cùng không gian tên) được ghi hai lần")],
}

TOO_LONG_TEXT_VI = (
    "một đoạn văn bản vượt 10 MB (trình phân tích dạng cây dừng ở đó; read_package đọc tệp lớn theo luồng)"
)


def parse_error_vi(type_name: str, message: str) -> str:
    """libxml2's well-formedness error ``type_name`` (with its English ``message``) in Vietnamese."""
    if "Text node too long" in message or "Resource limit exceeded" in message:
        return TOO_LONG_TEXT_VI
    if "Excessive depth" in message:
        return "phần tử lồng nhau quá sâu"
    return _fill(_PARSE.get(type_name, []), message) or f"lỗi cú pháp XML (libxml2: {type_name})"


# --- XSD validation -----------------------------------------------------------------------------

_VALUE = r"The value '(?P<value>[^']*)'"
_ATTRIBUTE_NOT_ALLOWED: tuple[str, Template] = (
    r"attribute '(?P<name>[^']*)' is not allowed", lambda m: f"thuộc tính '{_q(m, 'name')}' không được phép"
)
_SCHEMA: dict[str, list[tuple[str, Template]]] = {
    "SCHEMAV_ELEMENT_CONTENT": [
        (r"not expected\. Expected is (?:one of )?\( (?P<expected>.*) \)",
         lambda m: f"phần tử này không được phép ở đây; cần: {_q(m, 'expected')}"),
        (r"not expected", lambda m: "phần tử này không được phép ở đây"),
        (r"Missing child element\(s\)\. Expected is (?:one of )?\( (?P<expected>.*) \)",
         lambda m: f"thiếu phần tử con bắt buộc: {_q(m, 'expected')}"),
        (r"Missing child", lambda m: "thiếu phần tử con bắt buộc"),
    ],
    "SCHEMAV_CVC_ELT_1": [(r"", lambda m: "phần tử gốc không phải là edXML (QCVN 102:2016)")],
    "SCHEMAV_CVC_ENUMERATION_VALID": [
        (_VALUE + r" is not an element of the set (?P<set>\{.*\})",
         lambda m: f"giá trị '{_q(m, 'value')}' không thuộc tập giá trị cho phép {_q(m, 'set')}"),
    ],
    "SCHEMAV_CVC_PATTERN_VALID": [
        (_VALUE + r" is not accepted by the pattern '(?P<pattern>.*)'",
         lambda m: f"giá trị '{_q(m, 'value')}' không đúng định dạng (mẫu '{_q(m, 'pattern')}')"),
    ],
    "SCHEMAV_CVC_MAXLENGTH_VALID": [
        (r"length of '(?P<n>\d+)'; this exceeds the allowed maximum length of '(?P<max>\d+)'",
         lambda m: f"giá trị dài {_q(m, 'n')} ký tự, vượt quá tối đa {_q(m, 'max')}"),
    ],
    "SCHEMAV_CVC_MINLENGTH_VALID": [
        (r"length of '(?P<n>\d+)'; this underruns the allowed minimum length of '(?P<min>\d+)'",
         lambda m: f"giá trị dài {_q(m, 'n')} ký tự, ngắn hơn tối thiểu {_q(m, 'min')}"),
    ],
    "SCHEMAV_CVC_LENGTH_VALID": [
        (r"length of '(?P<n>\d+)'; this differs from the allowed length of '(?P<len>\d+)'",
         lambda m: f"giá trị dài {_q(m, 'n')} ký tự, phải đúng {_q(m, 'len')}"),
    ],
    "SCHEMAV_CVC_MININCLUSIVE_VALID": [
        (_VALUE + r" is less than the minimum value allowed \('(?P<min>[^']*)'\)",
         lambda m: f"giá trị '{_q(m, 'value')}' nhỏ hơn mức tối thiểu {_q(m, 'min')}"),
    ],
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": [
        (_VALUE + r" is greater than the maximum value allowed \('(?P<max>[^']*)'\)",
         lambda m: f"giá trị '{_q(m, 'value')}' lớn hơn mức tối đa {_q(m, 'max')}"),
    ],
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": [
        (_VALUE + r" must be greater than '(?P<min>[^']*)'",
         lambda m: f"giá trị '{_q(m, 'value')}' phải lớn hơn {_q(m, 'min')}"),
    ],
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": [
        (_VALUE + r" must be less than '(?P<max>[^']*)'",
         lambda m: f"giá trị '{_q(m, 'value')}' phải nhỏ hơn {_q(m, 'max')}"),
    ],
    "SCHEMAV_CVC_TOTALDIGITS_VALID": [(r"", lambda m: "giá trị có quá nhiều chữ số")],
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": [(r"", lambda m: "giá trị có quá nhiều chữ số thập phân")],
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": [
        (r"'(?P<value>[^']*)' is not a valid value of the atomic type '(?P<type>[^']*)'",
         lambda m: f"'{_q(m, 'value')}' không phải giá trị hợp lệ của kiểu {_q(m, 'type')}"),
    ],
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_2": [
        (r"'(?P<value>[^']*)' is not a valid value of the list type '(?P<type>[^']*)'",
         lambda m: f"'{_q(m, 'value')}' không phải giá trị hợp lệ của kiểu danh sách {_q(m, 'type')}"),
    ],
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_3": [
        (r"'(?P<value>[^']*)' is not a valid value of the union type '(?P<type>[^']*)'",
         lambda m: f"'{_q(m, 'value')}' không phải giá trị hợp lệ của kiểu {_q(m, 'type')}"),
    ],
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": [(r"", lambda m: "phần tử này phải rỗng (không có nội dung)")],
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": [(r"", lambda m: "không được có văn bản ở đây, chỉ có các phần tử con")],
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": [_ATTRIBUTE_NOT_ALLOWED],
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": [_ATTRIBUTE_NOT_ALLOWED],
    "SCHEMAV_CVC_COMPLEX_TYPE_4": [
        (r"attribute '(?P<name>[^']*)' is required",
         lambda m: f"thiếu thuộc tính bắt buộc '{_q(m, 'name')}'"),
    ],
    "SCHEMAV_CVC_IDC": [
        (r"Duplicate key-sequence \[(?P<key>.*)\] in (?:unique|key) identity-constraint '(?P<c>[^']*)'",
         lambda m: f"giá trị {_q(m, 'key')} bị lặp lại (ràng buộc {_q(m, 'c')})"),
        (r"No match found for key-sequence \[(?P<key>.*)\] of keyref '(?P<c>[^']*)'",
         lambda m: f"không tìm thấy {_q(m, 'key')} mà ràng buộc {_q(m, 'c')} tham chiếu đến"),
        (r"No precomputed value", lambda m: "giá trị không hợp lệ nên không kiểm tra được ràng buộc"),
    ],
}


def schema_error_vi(type_name: str, message: str) -> str:
    """libxml2's XSD error ``type_name`` (with its English ``message``) in Vietnamese (the element's
    path is written beside it by ``vbcore.edxml.schema``)."""
    return _fill(_SCHEMA.get(type_name, []), message) or f"không đúng lược đồ edXML (libxml2: {type_name})"


def _fill(rules: list[tuple[str, Template]], message: str) -> str | None:
    for pattern, template in rules:
        m = re.search(pattern, message, re.S)
        if m is not None:
            return template(m)
    return None
