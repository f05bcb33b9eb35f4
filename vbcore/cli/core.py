"""The core ``vb`` commands: validate and show; pack/unpack, keys/sign/verify and agencies live beside.

Each command reads files, calls one layer below (``vbcore.edxml``, ``vbcore.edxml.schema``,
``vbcore.security.signing``, ``vbcore.security.pki``, ``vbcore.directory``) and prints a readable
result, or JSON with ``--json``. Those layers are imported inside the commands, so ``vb --help``
stays fast and one command's missing dependency never breaks another. Exit codes: 0 success, 1
invalid or not found, 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli.failures import CommandFailed
from vbcore.cli.output import (
    agency_label,
    allow_sha1_option,
    current_lang,
    directory_option,
    directory_warnings,
    echo_json,
    existing_file,
    human_size,
    json_option,
    load_directory,
    read_file_package,
    trust_option,
    verify_file,
    warning_line,
)
from vbcore.directory import Directory
from vbcore.errors import VbusError
from vbcore.lang import Lang, Text
from vbcore.model import Edoc, StatusPackage
from vbcore.store.timeline import business_text

# --- what people read, in one language ---------------------------------------------------------

_T = {
    "valid": Text("hợp lệ", "valid"),
    "warning": Text("cảnh báo", "warning"),
    "line": Text("dòng", "line"),
    "column": Text("cột", "column"),
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
    "not_valid": Text("KHÔNG hợp lệ: {why}", "NOT verified: {why}"),
    "verified": Text("hợp lệ, do {signer} ký", "verified, signed by {signer}"),
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


# --- validate ---------------------------------------------------------------------------------------


def _where(problem: dict[str, Any], lang: Lang) -> str:
    """`` (line L, column C)`` unless the message already says where."""
    message = problem["message"] if lang == "en" else problem["message_vi"]
    if problem["line"] is None or f"({_T['line'](lang)} " in message:
        return ""
    column = f", {_T['column'](lang)} {problem['column']}" if problem.get("column") else ""
    return f" ({_T['line'](lang)} {problem['line']}{column})"


@click.command()
@click.argument("files", nargs=-1, required=True, type=existing_file)
@click.option("--explain", is_flag=True, help="Richer schema messages (xmlschema; slower on large files).")
@json_option
def validate(files: tuple[Path, ...], explain: bool, as_json: bool) -> None:
    """Check each FILE as vbus accepts packages: the schema, the named deviations, the reader.

    One line per problem, ``FILE: problem (line L, column C)``, and one per warning,
    ``FILE: warning [code] text`` (what the package does differently from QCVN 102 that vbus reads).
    Exits with 0 only if every file is accepted.
    """
    from vbcore.edxml.acceptance import report as report_of

    reports = [(path, report_of(path, explain=explain)) for path in files]
    if as_json:
        echo_json([
            {"file": str(path), "valid": r.accepted, "problems": [p.to_json() for p in r.problems],
             "warnings": [w.to_json() for w in r.warnings]}
            for path, r in reports
        ])  # fmt: skip
    else:
        lang = current_lang()
        for path, r in reports:
            for p in (problem.to_json() for problem in r.problems):
                message = p["message"] if lang == "en" else p["message_vi"]
                where = f"{p['path']}: " if p["path"] and p["path"] not in message else ""
                click.echo(f"{path}: {where}{message}{_where(p, lang)}")
            for w in r.warnings:
                click.echo(f"{path}: {_T['warning'](lang)} {warning_line(w, lang)}")
            if r.accepted:
                click.echo(f"{path}: {_T['valid'](lang)}")
    if not all(r.accepted for _, r in reports):
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
    return f"{state}; {_verdict(path, trust, allow_sha1, directory, lang)}"


def _verdict(path: Path, trust: tuple[Path, ...], allow_sha1: bool, directory: Directory, lang: Lang) -> str:
    """The signature checked against ``trust`` (no attachment decoded): verified by whom, or why not."""
    try:
        verified = verify_file(path.read_bytes(), trust, allow_sha1, directory)
    except VbusError as e:
        why = e.describe(lang) if e.has_vietnamese_detail or lang == "en" else e.reason_vi
        return _T["not_valid"].format(why=why)(lang)
    return _T["verified"].format(signer=verified["signer"])(lang)


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
    """What a package says: sender, recipients, number, date, subject, attachments, signature state,
    and every named warning it is read with (the directory's too: a sender's name it disagrees with).

    A package vbus refuses is refused here as by `vb validate`; with --trust, the signature's verdict
    is given first, so that a broken attachment never hides it."""
    directory = load_directory(directory_file)
    lang = current_lang()
    try:
        pkg, read_with = read_file_package(file)
    except CommandFailed:
        if trust:  # what the signature says, though an attachment (say) cannot be read
            verdict = _verdict(file, trust, allow_sha1, directory, lang)
            click.echo(f"{_LABELS['signature'](lang)}  {verdict}", err=True)
        raise
    warnings = read_with + directory_warnings(pkg, directory)
    summary = _edoc_summary(pkg, directory) if isinstance(pkg, Edoc) else _status_summary(pkg, directory)
    summary["signature"] = _signature_state(file, pkg, trust, allow_sha1, directory, lang)
    summary["warnings"] = [w.to_json() for w in warnings]
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
    rows += [("warning", warning_line(w, lang)) for w in warnings]
    labelled = [(_LABELS[key](lang), value) for key, value in rows]
    width = max(len(k) for k, _ in labelled)
    for key, value in labelled:
        click.echo(f"{key.ljust(width)}  {value or _T['none'](lang)}")
