"""The core ``vb`` commands: validate, show, pack, unpack, keys, sign, verify (and ``vb agencies``).

Each command reads files, calls one layer below (``vbcore.edxml``, ``vbcore.schema``, ``vbcore.signing``,
``vbcore.pki``, ``vbcore.directory``) and prints a readable result, or JSON with ``--json``. Those
layers are imported inside the commands, so ``vb --help`` stays fast and one command's missing
dependency never breaks another. Exit codes: 0 success, 1 invalid or not found, 2 usage.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from vbcore.cli import vb
from vbcore.cli.output import (
    agency_label,
    directory_option,
    echo_json,
    fail,
    human_size,
    json_option,
    load_directory,
)
from vbcore.errors import (
    AgencyError,
    ClosedAgencyCode,
    InvalidAgencyCode,
    MalformedPackage,
    PackageRefused,
    UnknownAgency,
    VbusError,
)
from vbcore.model import Edoc, StatusPackage

_VN = timezone(timedelta(hours=7))
_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def vietnam_now() -> datetime:
    """Now, in Vietnam local time without a zone, as edXML writes timestamps."""
    return datetime.now(_VN).replace(tzinfo=None, microsecond=0)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so no reader sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_file_package(path: Path) -> tuple[Edoc | StatusPackage, tuple[str, ...]]:
    """The package in ``path`` and the reader's warnings; a refused package becomes a CLI error."""
    from vbcore.edxml import read_package

    try:
        result = read_package(path)
    except PackageRefused as e:
        raise fail(f"{path}: {e}") from e
    return result.package, result.warnings


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
@click.argument("files", nargs=-1, required=True, type=_existing_file)
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


def _signature_state(path: Path, pkg: Edoc | StatusPackage, trust: tuple[Path, ...], allow_sha1: bool) -> str:
    sig = pkg.signature
    if sig is None:
        return "unsigned"
    if not sig.in_dsig_namespace:
        return "present but not XML-DSig (a <Signature> outside the XML-DSig namespace)"
    state = f"present: {_algorithm_name(sig.signature_method)}"
    if not trust:
        return f"{state} (not verified: give --trust CA.pem)"
    try:
        verified = _verify(path.read_bytes(), pkg.from_.organ_id, trust, allow_sha1)
    except VbusError as e:
        return f"{state}; NOT verified: {e}"
    return f"{state}; verified, signed by {verified['signer']}"


def _verify(data: bytes, sender: str, trust: tuple[Path, ...], allow_sha1: bool) -> dict[str, Any]:
    from vbcore.signing import SignaturePolicy, TrustStore, verify_package
    from vbcore.trust import describe

    store = TrustStore.from_directory(trust[0]) if trust[0].is_dir() else TrustStore.from_pem_files(trust)
    verified = verify_package(
        data, trust=store, policy=SignaturePolicy(allow_sha1=allow_sha1), expected_agency=sender or None
    )
    directory = load_directory(None)
    return {
        "signer": agency_label(directory, verified.signer_agency),
        "signer_agency": verified.signer_agency,
        "algorithm": verified.algorithm,
        "certificate": describe(verified.certificate) if verified.certificate is not None else None,
    }


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
@click.argument("file", type=_existing_file)
@click.option(
    "--trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CA certificate(s) (PEM files, or one folder of them) to verify the signature against.",
)
@click.option("--allow-sha1", is_flag=True, help="Accept SHA-1 signatures when verifying.")
@directory_option
@json_option
def show(
    file: Path, trust: tuple[Path, ...], allow_sha1: bool, directory_file: Path | None, as_json: bool
) -> None:
    """What a package says: sender, recipients, number, date, subject, attachments, signature state."""
    directory = load_directory(directory_file)
    pkg, warnings = read_file_package(file)
    summary = _edoc_summary(pkg, directory) if isinstance(pkg, Edoc) else _status_summary(pkg, directory)
    summary["signature"] = _signature_state(file, pkg, trust, allow_sha1)
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


# --- keys, sign, verify -----------------------------------------------------------------------------


@vb.group()
def keys() -> None:
    """Development keys and certificates (never for production)."""


@keys.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--agency", "agencies_", multiple=True, metavar="CODE", help="An agency to issue a certificate for."
)
@click.option("--key-type", type=click.Choice(["rsa", "ec"]), default="rsa", show_default=True)
@directory_option
def keys_init(
    directory: Path, agencies_: tuple[str, ...], key_type: str, directory_file: Path | None
) -> None:
    """A development CA in DIRECTORY (reused if present) and a key and certificate per --agency."""
    from vbcore.pki import init_dev_pki

    names = load_directory(directory_file)
    issued = []
    for code in agencies_:
        try:
            issued.append((code, names.resolve(code).name))
        except UnknownAgency:
            issued.append((code, code))  # a development unit the directory does not hold yet
        except AgencyError as e:
            raise fail(str(e)) from e
    pki = init_dev_pki(directory, issued, key_type="ec" if key_type == "ec" else "rsa")
    click.echo(f"CA certificate: {pki.ca_cert_path}  (give it to --trust)")
    for code, name in issued:
        click.echo(f"{code} ({name}): key {pki.key_path(code)}, certificate {pki.cert_path(code)}")


@vb.command()
@click.argument("file", type=_existing_file)
@click.option("--key", "key_file", required=True, type=_existing_file, help="Private key (PEM).")
@click.option("--cert", "cert_file", required=True, type=_existing_file, help="Certificate (chain) PEM.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed package [default: replace FILE].",
)
@click.option(
    "--algorithm", default="rsa-sha256", show_default=True, help="rsa-sha256, rsa-sha512, ecdsa-sha256..."
)
def sign(file: Path, key_file: Path, cert_file: Path, output: Path | None, algorithm: str) -> None:
    """Sign FILE (an edXML package) with an agency's key: one enveloped XML-DSig over the whole package."""
    from vbcore.signing import SigningKey, sign_package

    try:
        key = SigningKey.from_files(key_file, cert_file)
        signed = sign_package(file.read_bytes(), key, algorithm=algorithm)
    except (VbusError, ValueError) as e:
        raise fail(f"{file}: {e}") from e
    target = output or file
    write_atomically(target, signed)
    directory = load_directory(None)
    click.echo(f"{target}: signed by {agency_label(directory, key.agency_code)} ({algorithm})")
    pkg, _ = read_file_package(target)
    if key.agency_code and pkg.from_.organ_id != key.agency_code:
        click.echo(
            f"warning: the package's sender is {pkg.from_.organ_id}, not the certificate's agency "
            f"{key.agency_code}: receivers will refuse it",
            err=True,
        )


@vb.command()
@click.argument("file", type=_existing_file)
@click.option(
    "--trust",
    required=True,
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CA certificate(s) (PEM files, or one folder of them).",
)
@click.option("--allow-sha1", is_flag=True, help="Accept SHA-1 signatures (older producers send them).")
@json_option
def verify(file: Path, trust: tuple[Path, ...], allow_sha1: bool, as_json: bool) -> None:
    """Verify FILE's signature against trusted CAs and its sender; exit 0 only if it is valid."""
    pkg, _ = read_file_package(file)
    try:
        result = _verify(file.read_bytes(), pkg.from_.organ_id, trust, allow_sha1)
    except VbusError as e:
        if as_json:
            echo_json(
                {"file": str(file), "valid": False, "reason": getattr(e, "reason", "error"), "error": str(e)}
            )
            raise SystemExit(1) from e
        raise fail(f"{file}: {e}") from e
    if as_json:
        echo_json({"file": str(file), "valid": True, **result})
    else:
        click.echo(f"{file}: valid signature ({result['algorithm']}), signed by {result['signer']}")


# --- pack, unpack -----------------------------------------------------------------------------------


def _organization(directory: Any, code: str, given: Any, role: str) -> Any:
    """``given`` with its name filled from the directory; closed or malformed codes are refused."""
    from dataclasses import replace

    try:
        agency = directory.resolve(code)
    except (ClosedAgencyCode, InvalidAgencyCode) as e:
        raise fail(f"{role}: {e}") from e
    except UnknownAgency:
        click.echo(f"warning: {role} {code} is not in the directory; its name is left as given", err=True)
        return given
    return replace(
        given,
        organ_name=given.organ_name or agency.name,
        organization_in_charge=given.organization_in_charge or agency.name,
    )


@vb.command()
@click.option("--from", "sender", metavar="CODE", help="The sender's agency code.")
@click.option("--to", "recipients", multiple=True, metavar="CODE", help="A recipient's agency code (repeat).")
@click.option("--number", help="Số: the document's number.")
@click.option("--notation", help="Ký hiệu: the document's notation.")
@click.option("--subject", help="Trích yếu.")
@click.option(
    "--type", "doc_type", type=click.IntRange(1, 2), help="1 legal normative, 2 administrative [2]."
)
@click.option("--type-name", help='E.g. "Công văn", "Quyết định".')
@click.option("--place", help="Place of promulgation.")
@click.option(
    "--date",
    "promulgation_date",
    type=click.DateTime(["%Y-%m-%d", "%Y/%m/%d"]),
    help="Promulgation date [today, Vietnam time].",
)
@click.option("--attach", multiple=True, type=_existing_file, help="A file to attach (repeat).")
@click.option("--metadata", type=_existing_file, help="JSON/YAML metadata (the format `vb unpack` writes).")
@click.option("--key", "key_file", type=_existing_file, help="Sign at once with this key (with --cert).")
@click.option("--cert", "cert_file", type=_existing_file, help="The signing certificate.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@directory_option
def pack(
    sender: str | None,
    recipients: tuple[str, ...],
    number: str | None,
    notation: str | None,
    subject: str | None,
    doc_type: int | None,
    type_name: str | None,
    place: str | None,
    promulgation_date: datetime | None,
    attach: tuple[Path, ...],
    metadata: Path | None,
    key_file: Path | None,
    cert_file: Path | None,
    output: Path,
    directory_file: Path | None,
) -> None:
    """Build an edXML package from options and/or a metadata file plus attachment files.

    Options override the metadata file. Organisation names come from the directory; DocumentId is
    built the conventional way, ``<from>,<yyyy/MM/dd>,<number>/<notation>``.
    """
    from vbcore.edxml import write_package
    from vbcore.metadata import build_edoc

    if (key_file is None) != (cert_file is None):
        raise click.UsageError("--key and --cert go together")
    directory = load_directory(directory_file)
    try:
        edoc = build_edoc(
            metadata=metadata,
            sender=sender,
            recipients=recipients,
            number=number,
            notation=notation,
            subject=subject,
            doc_type=doc_type,
            type_name=type_name,
            place=place,
            promulgation_date=promulgation_date.date() if promulgation_date else None,
            attach=attach,
            today=vietnam_now(),
        )
    except VbusError as e:
        raise fail(str(e)) from e
    from dataclasses import replace

    edoc = replace(
        edoc,
        from_=_organization(directory, edoc.from_.organ_id, edoc.from_, "--from"),
        to=tuple(_organization(directory, o.organ_id, o, "--to") for o in edoc.to),
    )
    data = write_package(edoc)
    if key_file is not None and cert_file is not None:
        from vbcore.signing import SigningKey, sign_package

        try:
            data = sign_package(data, SigningKey.from_files(key_file, cert_file))
        except (VbusError, ValueError) as e:
            raise fail(str(e)) from e
    write_atomically(output, data)
    state = "signed" if key_file else "unsigned"
    click.echo(
        f"{output}: {edoc.effective_document_id} to {len(edoc.to)} recipient(s), "
        f"{len(edoc.attachments)} attachment(s), {state}"
    )


@vb.command()
@click.argument("file", type=_existing_file)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into DIRECTORY even if it is not empty.")
def unpack(file: Path, directory: Path, force: bool) -> None:
    """Write FILE's attachments (original bytes) and metadata.json (what `vb pack --metadata` reads)."""
    from vbcore.metadata import unpack_edoc

    pkg, warnings = read_file_package(file)
    if not isinstance(pkg, Edoc):
        raise fail(
            f"{file}: a status package ({pkg.status_code.value}) carries no attachments; see `vb show`"
        )
    if directory.exists() and any(directory.iterdir()) and not force:
        raise fail(f"{directory} is not empty (use --force to write into it)")
    written = unpack_edoc(pkg, directory)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    for name in written:
        click.echo(str(directory / name))


from vbcore.cli import agencies as _agencies  # noqa: E402,F401  (registers `vb agencies`)
