"""``vb pack`` and ``vb unpack``: build a package from options, metadata and files; take one apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click

from vbcore.cli.output import (
    current_lang,
    directory_option,
    existing_file,
    fail,
    failed,
    load_directory,
    read_file_package,
    warning_line,
    write_atomically,
)
from vbcore.directory import Directory
from vbcore.errors import (
    ClosedAgencyCode,
    InvalidAgencyCode,
    UnknownAgency,
    VbusError,
)
from vbcore.identifiers import is_test_tenant
from vbcore.lang import Text
from vbcore.model import Edoc, Organization
from vbcore.timezones import vietnam_now

_WARNING = Text("cảnh báo", "warning")

# --- pack, unpack -----------------------------------------------------------------------------------


def _organization(directory: Directory, given: Organization, role: str) -> Organization:
    """``given`` with its name filled from the directory.

    Closed and malformed codes are refused (the error names a closed code's successor); a code the
    directory does not hold, or a test tenant's id, only draws a warning: the package is still built.
    """
    code = given.organ_id
    try:
        agency = directory.resolve(code)
    except ClosedAgencyCode as e:
        raise fail(f"{role}: {e}") from e
    except InvalidAgencyCode as e:
        if not is_test_tenant(code):
            raise fail(f"{role}: {e}") from e
        click.echo(f"warning: {role} {code} is a test tenant id, not in the directory", err=True)
        return given
    except UnknownAgency:
        click.echo(f"warning: {role} {code} is not in the directory; its name is left as given", err=True)
        return given
    return replace(
        given,
        organ_name=given.organ_name or agency.name,
        organization_in_charge=given.organization_in_charge or agency.name,
    )


@click.command()
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
@click.option("--attach", multiple=True, type=existing_file, help="A file to attach (repeat).")
@click.option("--metadata", type=existing_file, help="JSON/YAML metadata (the format `vb unpack` writes).")
@click.option("--key", "key_file", type=existing_file, help="Sign at once with this key (with --cert).")
@click.option("--cert", "cert_file", type=existing_file, help="The signing certificate.")
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
        raise failed(e) from e
    edoc = replace(
        edoc,
        from_=_organization(directory, edoc.from_, "--from"),
        to=tuple(_organization(directory, o, "--to") for o in edoc.to),
    )
    data = write_package(edoc)
    if key_file is not None and cert_file is not None:
        from vbcore.security.signing import SigningKey, sign_package

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


@click.command()
@click.argument("file", type=existing_file)
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
    lang = current_lang()
    for w in warnings:
        click.echo(f"{_WARNING(lang)}: {warning_line(w, lang)}", err=True)
    for name in written:
        click.echo(str(directory / name))
