"""The core ``vb`` commands: validate and show; pack/unpack, keys/sign/verify and agencies live beside.

Each command reads files, calls one layer below (``vbcore.edxml``, ``vbcore.schema``, ``vbcore.signing``,
``vbcore.pki``, ``vbcore.directory``) and prints a readable result, or JSON with ``--json``. Those
layers are imported inside the commands, so ``vb --help`` stays fast and one command's missing
dependency never breaks another. Exit codes: 0 success, 1 invalid or not found, 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli import vb
from vbcore.cli.output import (
    agency_label,
    allow_sha1_option,
    directory_option,
    echo_json,
    existing_file,
    human_size,
    json_option,
    load_directory,
    read_file_package,
    trust_option,
)
from vbcore.directory import Directory
from vbcore.errors import (
    MalformedPackage,
    PackageRefused,
    VbusError,
)
from vbcore.model import Edoc, StatusPackage

# --- validate ---------------------------------------------------------------------------------------


def _problems_of(path: Path, explain: bool) -> tuple[list[dict[str, Any]], list[str]]:
    from vbcore import schema
    from vbcore.edxml import read_package

    data = path.read_bytes()
    problems: list[dict[str, Any]] = []
    warnings: list[str] = []
    try:
        warnings = list(read_package(data).warnings)
    except MalformedPackage as e:  # not XML, or not edXML: the schema has nothing to add
        return [{"message": str(e), "line": e.line, "path": None}], []
    except PackageRefused as e:
        problems.append({"message": str(e), "line": getattr(e, "line", None), "path": None})
    try:
        found = schema.explain(data) if explain else schema.validate(data)
    except PackageRefused as e:
        found = []
        problems.append({"message": str(e), "line": getattr(e, "line", None), "path": None})
    problems.extend({"message": p.message, "line": p.line, "path": p.path} for p in found)
    return problems, warnings


@vb.command()
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
        for r in report:
            for p in r["problems"]:
                line = (
                    f" (line {p['line']})" if p["line"] is not None and "(line " not in p["message"] else ""
                )
                where = f"{p['path']}: " if p["path"] else ""
                click.echo(f"{r['file']}: {where}{p['message']}{line}")
            for w in r["warnings"]:
                click.echo(f"{r['file']}: warning: {w}")
            if r["valid"]:
                click.echo(f"{r['file']}: valid")
    if not all(r["valid"] for r in report):
        raise SystemExit(1)


# --- show -------------------------------------------------------------------------------------------


def _algorithm_name(uri: str | None) -> str:
    return uri.rsplit("#", 1)[-1] if uri else "unknown algorithm"


def _signature_state(
    path: Path, pkg: Edoc | StatusPackage, trust: tuple[Path, ...], allow_sha1: bool, directory: Directory
) -> str:
    sig = pkg.signature
    if sig is None:
        return "unsigned"
    if not sig.in_dsig_namespace:
        return "present but not XML-DSig (a <Signature> outside the XML-DSig namespace)"
    state = f"present: {_algorithm_name(sig.signature_method)}"
    if not trust:
        return f"{state} (not verified: give --trust CA.pem)"
    try:
        from vbcore.cli.signatures import verify_file

        verified = verify_file(path.read_bytes(), pkg.from_.organ_id, trust, allow_sha1, directory)
    except VbusError as e:
        return f"{state}; NOT verified: {e}"
    return f"{state}; verified, signed by {verified['signer']}"


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


@vb.command()
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
    pkg, warnings = read_file_package(file)
    summary = _edoc_summary(pkg, directory) if isinstance(pkg, Edoc) else _status_summary(pkg, directory)
    summary["signature"] = _signature_state(file, pkg, trust, allow_sha1, directory)
    summary["warnings"] = list(warnings)
    if as_json:
        echo_json(summary)
        return
    if isinstance(pkg, StatusPackage):
        rows = [
            ("status", f"{summary['status_code']} {summary['status']}"),
            ("from", summary["from_label"]),
            ("to", summary["to_label"]),
            ("document", summary["document_id"]),
            ("description", summary["description"]),
            ("timestamp", str(summary["timestamp"] or "")),
        ]
    else:
        rows = [("document", summary["document_id"]), ("from", summary["from_label"])]
        rows += [("to", t["label"]) for t in summary["to"]]
        rows += [
            ("number", summary["code"]),
            ("date", str(summary["promulgation_date"] or "")),
            ("type", " ".join(str(x) for x in (summary["type"], summary["type_name"]) if x is not None)),
            ("subject", summary["subject"]),
            ("business", summary["business_type"]),
        ]
        rows += [
            ("attachment", f"{a['name']}  {a['content_type']}  {human_size(a['size'])}")
            for a in summary["attachments"]
        ]
    rows += [("signature", summary["signature"])]
    rows += [("warning", w) for w in warnings]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value or '(none)'}")


# Registered on ``vb`` when imported (``vbcore.cli`` imports only this module).
from vbcore.cli import agencies as _agencies  # noqa: E402,F401
from vbcore.cli import packing as _packing  # noqa: E402,F401
from vbcore.cli import signatures as _signatures  # noqa: E402,F401
