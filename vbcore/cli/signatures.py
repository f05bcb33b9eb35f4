"""``vb keys init``, ``vb sign``, ``vb verify``: development keys, and XML-DSig signatures on packages."""

from __future__ import annotations

from pathlib import Path

import click

from vbcore.cli.output import (
    agency_label,
    allow_sha1_option,
    check_signature_value,
    current_lang,
    directory_option,
    echo_json,
    existing_file,
    fail,
    failed,
    json_option,
    load_directory,
    read_file_package,
    trust_option,
    verify_file,
    write_atomically,
)
from vbcore.errors import (
    AgencyError,
    UnknownAgency,
    VbusError,
)
from vbcore.identifiers import is_test_tenant
from vbcore.lang import Text

# --- keys, sign, verify -----------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Keys and certificates: a development CA and signing certificates (never for production), and TLS
    certificates from the CA you give."""


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
    from vbcore.security.pki import init_dev_pki

    names = load_directory(directory_file)
    issued = []
    for code in agencies_:
        try:
            issued.append((code, names.resolve(code).name))
        except UnknownAgency:
            issued.append((code, code))  # a development unit the directory does not hold yet
        except AgencyError as e:
            if not is_test_tenant(code):
                raise fail(str(e)) from e
            issued.append((code, code))  # the shared platform's test tenants sign too
    pki = init_dev_pki(directory, issued, key_type="ec" if key_type == "ec" else "rsa")
    click.echo(f"CA certificate: {pki.ca_cert_path}  (give it to --trust)")
    for code, name in issued:
        click.echo(f"{code} ({name}): key {pki.key_path(code)}, certificate {pki.cert_path(code)}")


@click.command()
@click.argument("file", type=existing_file)
@click.option("--key", "key_file", required=True, type=existing_file, help="Private key (PEM).")
@click.option("--cert", "cert_file", required=True, type=existing_file, help="Certificate (chain) PEM.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed package [default: replace FILE].",
)
@click.option(
    "--algorithm", default="rsa-sha256", show_default=True, help="rsa-sha256, rsa-sha512, ecdsa-sha256..."
)
@directory_option
def sign(
    file: Path,
    key_file: Path,
    cert_file: Path,
    output: Path | None,
    algorithm: str,
    directory_file: Path | None,
) -> None:
    """Sign FILE (an edXML package) with an agency's key: one enveloped XML-DSig over the whole package."""
    from vbcore.security.signing import SigningKey, sign_package

    try:
        key = SigningKey.from_files(key_file, cert_file)
        signed = sign_package(file.read_bytes(), key, algorithm=algorithm)
    except VbusError as e:
        raise failed(e, about=str(file)) from e
    except ValueError as e:
        raise fail(f"{file}: {e}") from e
    target = output or file
    write_atomically(target, signed)
    directory = load_directory(directory_file)
    click.echo(f"{target}: signed by {agency_label(directory, key.agency_code)} ({algorithm})")
    pkg, _ = read_file_package(target)
    if key.agency_code and pkg.from_.organ_id != key.agency_code:
        click.echo(
            f"warning: the package's sender is {pkg.from_.organ_id}, not the certificate's agency "
            f"{key.agency_code}: receivers will refuse it",
            err=True,
        )


_VERIFIED = Text(
    "chữ ký hợp lệ ({algorithm}), do {signer} ký", "valid signature ({algorithm}), signed by {signer}"
)
_VALUE_ONLY = Text(
    "giá trị chữ ký khớp ({algorithm}) với chứng thư số kèm trong gói tin: {signer}; {certificate}. "
    "KHÔNG phải quyết định tin cậy: chưa kiểm tra chứng thư đến CA tin cậy nào (--no-chain)",
    "the signature value verifies ({algorithm}) with the certificate the package carries: {signer}; "
    "{certificate}. NOT a trust decision: the certificate was not checked against any trusted CA "
    "(--no-chain)",
)
_NOT_SENDER = Text(
    "chứng thư số không nêu người gửi của gói tin {sender}: bên nhận sẽ từ chối",
    "the certificate does not name the package's sender {sender}: receivers will refuse it",
)


@click.command()
@click.argument("file", type=existing_file)
@trust_option(required=False)
@click.option(
    "--no-chain",
    is_flag=True,
    help="Check only the signature value with the certificate the package carries, naming its signer; "
    "no trust anchor, so NOT a trust decision (as xmlsec1 --insecure). For diagnosis.",
)
@allow_sha1_option
@directory_option
@json_option
def verify(
    file: Path,
    trust: tuple[Path, ...],
    no_chain: bool,
    allow_sha1: bool,
    directory_file: Path | None,
    as_json: bool,
) -> None:
    """Verify FILE's signature against trusted CAs and its sender; exit 0 only if it is valid.

    The signing certificate must chain to a CA given with --trust and name the package's sender
    (From/OrganId); the signer's agency code and name are printed. With --no-chain instead, only the
    signature's value is checked, with the certificate the package carries: who signed it, not
    whether to believe it. No attachment is decoded: a broken attachment never hides the verdict.
    """
    if not trust and not no_chain:
        raise click.UsageError("give --trust CA.pem (or --no-chain to check the signature value only)")
    directory = load_directory(directory_file)
    lang = current_lang()
    try:
        if no_chain:
            result = check_signature_value(file.read_bytes(), allow_sha1, directory)
        else:
            result = verify_file(file.read_bytes(), trust, allow_sha1, directory)
    except VbusError as e:
        if as_json:
            echo_json(
                {"file": str(file), "valid": False, "reason": getattr(e, "reason", "error"), "error": str(e)}
            )
            raise SystemExit(1) from e
        raise failed(e, about=str(file)) from e
    if as_json:
        echo_json({"file": str(file), "valid": True, **result})
    elif no_chain:
        click.echo(f"{file}: {_VALUE_ONLY.format(**result)(lang)}")
        if not result["sender_matches"]:
            click.echo(f"{file}: {_NOT_SENDER.format(sender=result['sender'])(lang)}")
    else:
        click.echo(f"{file}: {_VERIFIED.format(**result)(lang)}")
