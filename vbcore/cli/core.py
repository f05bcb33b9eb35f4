"""The core ``vb`` commands: validate and show; pack/unpack, keys/sign/verify and agencies live beside.

Each command reads files, calls one layer below (``vbcore.edxml``, ``vbcore.edxml.schema``,
``vbcore.security.signing``, ``vbcore.security.pki``, ``vbcore.directory``) and prints a readable
result, or JSON with ``--json``. Those layers are imported inside the commands, so ``vb --help``
stays fast and one command's missing dependency never breaks another. Exit codes: 0 success, 1
invalid or not found, 2 usage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from vbcore.cli.output import (
    agency_label,
    allow_sha1_option,
    current_lang,
    directory_option,
    echo_json,
    existing_file,
    human_size,
    json_option,
    load_directory,
    read_file_package,
    trust_option,
    verify_file,
)
from vbcore.directory import Directory
from vbcore.errors import (
    MalformedPackage,
    PackageRefused,
    VbusError,
)
from vbcore.lang import Lang, Text
from vbcore.model import Edoc, StatusPackage
from vbcore.store.timeline import business_text

# --- what people read, in one language ---------------------------------------------------------

_T = {
    "valid": Text("hợp lệ", "valid"),
    "warning": Text("cảnh báo", "warning"),
    "line": Text("dòng", "line"),
    "unsigned": Text("không có chữ ký", "unsigned"),
    "not_dsig": Text(
        "có, nhưng không phải XML-DSig (một <Signature> ngoài không gian tên XML-DSig)",
        "present but not XML-DSig (a <Signature> outside the XML-DSig namespace)",
    ),
    "present": Text("có: {algorithm}", "present: {algorithm}"),
    "unknown_algorithm": Text("thuật toán không rõ", "unknown algorithm"),
    "not_verified": Text(
        "{state} (chưa kiểm tra: hãy cho --trust CA.pem)", "{state} (not verified: give --trust CA.pem)"
    ),
    "not_valid": Text("{state}; KHÔNG hợp lệ: {why}", "{state}; NOT verified: {why}"),
    "verified": Text("{state}; hợp lệ, do {signer} ký", "{state}; verified, signed by {signer}"),
    "none": Text("(không có)", "(none)"),
}
_LABELS = {
    "status": Text("trạng thái", "status"),
    "from": Text("từ", "from"),
    "to": Text("gửi đến", "to"),
    "document": Text("văn bản", "document"),
    "description": Text("mô tả", "description"),
    "timestamp": Text("thời điểm", "timestamp"),
    "number": Text("số, ký hiệu", "number"),
    "date": Text("ngày ban hành", "date"),
    "type": Text("loại", "type"),
    "subject": Text("trích yếu", "subject"),
    "business": Text("nghiệp vụ", "business"),
    "attachment": Text("đính kèm", "attachment"),
    "signature": Text("chữ ký", "signature"),
    "warning": Text("cảnh báo", "warning"),
}
# The reader's warnings (English, for logs and scripts), as people read them.
_WARNINGS = [
    (re.compile(r"ignored unknown element (?P<path>\S+)"), "bỏ qua phần tử không xác định {path}"),
    (re.compile(r"undeclared (?P<prefix>\S+): prefix repaired"),
     "đã khai báo bổ sung tiền tố {prefix} còn thiếu"),
    (re.compile(r"a status package's edXMLBody/AttachmentEncoded ignored"),
     "bỏ qua edXMLBody/AttachmentEncoded của gói tin trạng thái"),
    (re.compile(r"elements without a namespace read as edXML"),
     "các phần tử không có không gian tên được đọc như edXML (thiếu khai báo tiền tố?)"),
]


def warning_text(warning: str, lang: Lang) -> str:
    """One of the reader's warnings in ``lang`` (an unknown one as it is: it names what it found)."""
    if lang == "en":
        return warning
    for pattern, template in _WARNINGS:
        m = pattern.search(warning)
        if m:
            return template.format(**m.groupdict())
    return warning


# --- validate ---------------------------------------------------------------------------------------


def _problem(e: PackageRefused) -> dict[str, Any]:
    return {"message": str(e), "message_vi": e.detail_vi or e.reason_vi, "line": getattr(e, "line", None),
            "path": None}  # fmt: skip


def _problems_of(path: Path, explain: bool) -> tuple[list[dict[str, Any]], list[str]]:
    from vbcore.edxml import read_package, schema

    data = path.read_bytes()
    problems: list[dict[str, Any]] = []
    warnings: list[str] = []
    try:
        warnings = list(read_package(data).warnings)
    except MalformedPackage as e:  # not XML, or not edXML: the schema has nothing to add
        return [_problem(e)], []
    except PackageRefused as e:
        problems.append(_problem(e))
    try:
        found = schema.explain(data) if explain else schema.validate(data)
    except PackageRefused as e:
        found = []
        problems.append(_problem(e))
    problems.extend(
        {"message": p.message, "message_vi": p.message_vi, "line": p.line, "path": p.path} for p in found
    )
    return problems, warnings


@click.command()
@click.argument("files", nargs=-1, required=True, type=existing_file)
@click.option("--explain", is_flag=True, help="Richer schema messages (xmlschema; slower on large files).")
@json_option
def validate(files: tuple[Path, ...], explain: bool, as_json: bool) -> None:
    """Read each FILE as an edXML package and check it against the schema.

    One line per problem, ``FILE: problem (line L)``. Exits with 0 only if every file is valid.
    """
    report: list[dict[str, Any]] = []
    for path in files:
        problems, warnings = _problems_of(path, explain)
        report.append({"file": str(path), "valid": not problems, "problems": problems, "warnings": warnings})
    if as_json:
        echo_json(report)
    else:
        lang = current_lang()
        for r in report:
            for p in r["problems"]:
                message = p["message"] if lang == "en" else p["message_vi"]
                shown = p["line"] is not None and f"({_T['line'](lang)} " not in message
                line = f" ({_T['line'](lang)} {p['line']})" if shown else ""
                where = f"{p['path']}: " if p["path"] else ""
                click.echo(f"{r['file']}: {where}{message}{line}")
            for w in r["warnings"]:
                click.echo(f"{r['file']}: {_T['warning'](lang)}: {warning_text(w, lang)}")
            if r["valid"]:
                click.echo(f"{r['file']}: {_T['valid'](lang)}")
    if not all(r["valid"] for r in report):
        raise SystemExit(1)


# --- show -------------------------------------------------------------------------------------------


def _algorithm_name(uri: str | None, lang: Lang) -> str:
    return uri.rsplit("#", 1)[-1] if uri else _T["unknown_algorithm"](lang)


def _signature_state(
    path: Path, pkg: Edoc | StatusPackage, trust: tuple[Path, ...], allow_sha1: bool, directory: Directory,
    lang: Lang,
) -> str:
    sig = pkg.signature
    if sig is None:
        return _T["unsigned"](lang)
    if not sig.in_dsig_namespace:
        return _T["not_dsig"](lang)
    state = _T["present"].format(algorithm=_algorithm_name(sig.signature_method, lang))(lang)
    if not trust:
        return _T["not_verified"].format(state=state)(lang)
    try:
        verified = verify_file(path.read_bytes(), pkg.from_.organ_id, trust, allow_sha1, directory)
    except VbusError as e:
        why = e.describe(lang) if e.has_vietnamese_detail or lang == "en" else e.reason_vi
        return _T["not_valid"].format(state=state, why=why)(lang)
    return _T["verified"].format(state=state, signer=verified["signer"])(lang)


def _edoc_summary(edoc: Edoc, directory: Any) -> dict[str, Any]:
    d = edoc.promulgation_info.promulgation_date
    return {
        "kind": "document",
        "from": edoc.from_.organ_id,
        "from_name": edoc.from_.organ_name,
        "from_label": agency_label(directory, edoc.from_.organ_id, edoc.from_.organ_name),
        "to": [
            {
                "organ_id": o.organ_id,
                "organ_name": o.organ_name,
                "label": agency_label(directory, o.organ_id, o.organ_name),
            }
            for o in edoc.to
        ],
        "document_id": edoc.effective_document_id,
        "code": str(edoc.code),
        "promulgation_date": d,
        "place": edoc.promulgation_info.place,
        "type": edoc.document_type.type,
        "type_name": edoc.document_type.type_name,
        "subject": edoc.subject,
        "business_type": edoc.business_type.name.lower(),
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "size": a.content.size, "zipped": a.zipped}
            for a in edoc.attachments
        ],
    }


def _status_summary(status: StatusPackage, directory: Any) -> dict[str, Any]:
    return {
        "kind": "status",
        "from": status.from_.organ_id,
        "from_label": agency_label(directory, status.from_.organ_id, status.from_.organ_name),
        "to": status.addressee,
        "to_label": agency_label(directory, status.addressee),
        "document_id": status.document_id,
        "status_code": status.status_code.value,
        "status": status.status_code.vietnamese,
        "description": status.description,
        "timestamp": status.timestamp,
    }


@click.command()
@click.argument("file", type=existing_file)
@trust_option(required=False)
@allow_sha1_option
@directory_option
@json_option
def show(
    file: Path, trust: tuple[Path, ...], allow_sha1: bool, directory_file: Path | None, as_json: bool
) -> None:
    """What a package says: sender, recipients, number, date, subject, attachments, signature state."""
    directory = load_directory(directory_file)
    lang = current_lang()
    pkg, warnings = read_file_package(file)
    summary = _edoc_summary(pkg, directory) if isinstance(pkg, Edoc) else _status_summary(pkg, directory)
    summary["signature"] = _signature_state(file, pkg, trust, allow_sha1, directory, lang)
    summary["warnings"] = list(warnings)
    if as_json:
        echo_json(summary)
        return
    if isinstance(pkg, StatusPackage):
        rows = [
            ("status", f"{summary['status_code']} {pkg.status_code.name_in(lang)}"),
            ("from", agency_label(directory, pkg.from_.organ_id, pkg.from_.organ_name, lang=lang)),
            ("to", agency_label(directory, pkg.addressee, lang=lang)),
            ("document", summary["document_id"]),
            ("description", summary["description"]),
            ("timestamp", str(summary["timestamp"] or "")),
        ]
    else:
        rows = [
            ("document", summary["document_id"]),
            ("from", agency_label(directory, pkg.from_.organ_id, pkg.from_.organ_name, lang=lang)),
        ]
        rows += [("to", agency_label(directory, o.organ_id, o.organ_name, lang=lang)) for o in pkg.to]
        rows += [
            ("number", summary["code"]),
            ("date", str(summary["promulgation_date"] or "")),
            ("type", " ".join(str(x) for x in (summary["type"], summary["type_name"]) if x is not None)),
            ("subject", summary["subject"]),
            ("business", business_text(int(pkg.business_type), lang)),
        ]
        rows += [
            ("attachment", f"{a['name']}  {a['content_type']}  {human_size(a['size'])}")
            for a in summary["attachments"]
        ]
    rows += [("signature", summary["signature"])]
    rows += [("warning", warning_text(w, lang)) for w in warnings]
    labelled = [(_LABELS[key](lang), value) for key, value in rows]
    width = max(len(k) for k, _ in labelled)
    for key, value in labelled:
        click.echo(f"{key.ljust(width)}  {value or _T['none'](lang)}")
