"""Shared output helpers of the ``vb`` commands: ``--json``, aligned tables, agency labels, failures.

Vietnamese is written as is: JSON with ``ensure_ascii=False`` and text through ``click.echo``, which
encodes for the terminal (UTF-8 on every supported system; Python's UTF-8 mode covers the C locale).
Failures and exit codes: ``vbcore.cli.failures`` (re-exported here: ``fail``, ``failed``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click

from vbcore.cli.failures import current_lang as current_lang
from vbcore.cli.failures import fail as fail
from vbcore.cli.failures import failed as failed
from vbcore.deviations import SENDER_NAME_DIFFERS, Deviation
from vbcore.directory import Directory
from vbcore.errors import (
    ClosedAgencyCode,
    ConfigurationError,
    InvalidAgencyCode,
    PackageRefused,
    UnknownAgency,
)
from vbcore.identifiers import is_test_tenant
from vbcore.lang import Lang, Text
from vbcore.model import Edoc, StatusPackage
from vbcore.text import fold
from vbcore.text import table as table  # re-exported: the CLI commands print tables
from vbcore.timezones import VIETNAM

F = TypeVar("F", bound=Callable[..., Any])

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (UTF-8) for scripts.")


allow_sha1_option = click.option(
    "--allow-sha1", is_flag=True, help="Accept SHA-1 signatures (older producers send them)."
)


def trust_option(*, required: bool) -> Callable[[F], F]:
    """``--trust PATH`` (repeatable): the CA certificates a signature is verified against."""
    return click.option(
        "--trust",
        required=required,
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="CA certificate(s) (PEM files, or one folder of them) to verify the signature against.",
    )


def directory_option(f: F) -> F:
    """``--directory FILE``: an operator's directory loaded on top of the shipped one."""
    return click.option(
        "--directory",
        "directory_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar="VBUS_DIRECTORY",
        help="Operator's directory file (JSON/YAML) added on top of the shipped one [env VBUS_DIRECTORY].",
    )(f)


def load_directory(directory_file: Path | None) -> Directory:
    """The shipped directory, with the operator's file on top when one is given."""
    base = Directory.default()
    if directory_file is None:
        return base
    try:
        return base.merged_with(Directory.load(directory_file))
    except ConfigurationError as e:
        raise failed(e, about=str(directory_file)) from e


_LABEL = {
    "none": Text("(không có)", "(none)"),
    "closed": Text("{name}; đã ngừng sử dụng, nay là {to}", "{name}; closed, now {to}"),
    "no_successor": Text("không có cơ quan kế thừa", "no successor"),
    "unknown": Text("{given}không có trong danh bạ", "{given}not in the directory"),
    "tenant": Text(
        "{given}mã thử nghiệm, không có trong danh bạ", "{given}a test tenant id, not in the directory"
    ),
    "not_code": Text(
        "{given}không phải mã định danh, không có trong danh bạ",
        "{given}not an agency code, not in the directory",
    ),
}


def agency_label(
    directory: Directory, code: str | None, name_in_package: str | None = None, *, lang: Lang | None = None
) -> str:
    """``000.00.00.H24 (UBND thành phố Hà Nội)``, with what the directory says of closed or unknown codes.

    For a code the directory does not hold, ``name_in_package`` (the package's own OrganName) is shown.
    Written in ``lang`` (default: this run's language).
    """
    lang = lang or current_lang()
    if not code:
        return _LABEL["none"](lang)
    given = f"{name_in_package}; " if name_in_package and name_in_package != code else ""
    held = directory.get(code)
    if held is not None and held.is_gateway:  # no addressee, but named in the directory
        return f"{code} ({held.name})"
    try:
        return f"{code} ({directory.resolve(code).name})"
    except ClosedAgencyCode as e:
        agency = directory.get(code)
        name = agency.name if agency else ""
        to = f"{e.successor} {e.successor_name}".strip() if e.successor else _LABEL["no_successor"](lang)
        return f"{code} ({_LABEL['closed'].format(name=name, to=to)(lang)})"
    except UnknownAgency:
        return f"{code} ({_LABEL['unknown'].format(given=given)(lang)})"
    except InvalidAgencyCode:
        what = _LABEL["tenant"] if is_test_tenant(code) else _LABEL["not_code"]
        return f"{code} ({what.format(given=given)(lang)})"


def to_jsonable(value: Any) -> Any:
    """Dates as ``yyyy-mm-dd``, timestamps ISO, enums by value, paths as text; containers recursively."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def echo_json(data: Any) -> None:
    click.echo(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2))


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


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


def read_file_package(path: Path) -> tuple[Edoc | StatusPackage, tuple[Deviation, ...]]:
    """The package in ``path`` as vbus accepts it (``vbcore.edxml.acceptance``: the decision the hub
    and ``vb validate`` make) and its named warnings; a refused package becomes a CLI error."""
    from vbcore.edxml.acceptance import examine

    try:
        result = examine(path)
    except PackageRefused as e:
        raise failed(e, about=str(path)) from e
    return result.package, result.warnings


def warning_line(warning: Deviation, lang: Lang) -> str:
    """A named warning as people read it: its code, then one line in ``lang``."""
    return f"[{warning.code}] {warning.describe(lang)}"


def verify_file(
    data: bytes, trust: tuple[Path, ...], allow_sha1: bool, directory: Directory
) -> dict[str, Any]:
    """Verify a package's signature against the CAs in ``trust`` and bind it to the package's sender,
    read from the verified tree without decoding an attachment (a broken attachment never hides the
    signature's verdict); who signed it.

    ``trust`` is PEM files, or one folder of them. Raises the signature errors of
    ``vbcore.security.signing``.
    """
    from vbcore.edxml import read_element
    from vbcore.security.signing import SignaturePolicy, TrustStore, bind_to_sender, verify_package

    store = TrustStore.from_directory(trust[0]) if trust[0].is_dir() else TrustStore.from_pem_files(trust)
    verified = verify_package(data, trust=store, policy=SignaturePolicy(allow_sha1=allow_sha1))
    sender = read_element(verified.root, attachments=False).package.from_.organ_id
    signer = bind_to_sender(verified, sender)
    return _signed_by(directory, signer, verified.algorithm, verified.certificate)


def check_signature_value(data: bytes, allow_sha1: bool, directory: Directory) -> dict[str, Any]:
    """``vb verify --no-chain``: the signature's value and digest against the certificate it carries,
    with no trust anchor (``signing.verify_signature_value``): who it names, not whether to believe it."""
    from vbcore.edxml import read_element
    from vbcore.security.signing import SignaturePolicy, verify_signature_value

    verified = verify_signature_value(data, policy=SignaturePolicy(allow_sha1=allow_sha1))
    sender = read_element(verified.root, attachments=False).package.from_.organ_id
    result = _signed_by(directory, verified.signer_agency, verified.algorithm, verified.certificate)
    return {**result, "sender": sender, "sender_matches": verified.signer_agency == sender,
            "trust_checked": False}  # fmt: skip


def _signed_by(directory: Directory, signer: str | None, algorithm: str, certificate: Any) -> dict[str, Any]:
    from vbcore.security.trust import describe

    return {
        "signer": agency_label(directory, signer),
        "signer_agency": signer,
        "algorithm": algorithm,
        "certificate": describe(certificate) if certificate is not None else None,
    }


def directory_warnings(pkg: Edoc | StatusPackage, directory: Directory) -> tuple[Deviation, ...]:
    """What the directory says of a package that its bytes cannot: a sender's name the directory
    disagrees with, and (a document) one agency addressed under its closed and its current code."""
    from vbcore.hub.routing import resolve_recipients

    found: list[Deviation] = []
    given = pkg.from_.organ_name or pkg.from_.organization_in_charge
    agency = directory.get(pkg.from_.organ_id)
    if given and agency is not None:
        known = [agency.name, agency.short_name or "", *agency.former_names]
        if fold(given) not in {fold(name) for name in known if name}:
            found.append(Deviation(SENDER_NAME_DIFFERS, f"{given!r} ≠ {agency.name!r}"))
    if isinstance(pkg, Edoc):
        codes = [o.organ_id for o in pkg.to]
        found += resolve_recipients(directory, codes, sender=pkg.from_.organ_id).merged
    return tuple(found)


def parse_time(value: str, option: str) -> datetime:
    """ISO 8601; without a zone it is Vietnam local time (what an operator in Vietnam means)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2026-11-24T08:00", param_hint=option
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM)).astimezone(UTC)
