"""``vb evidence export`` and ``vb evidence verify``: one document's proof, for an auditor or a court.

``export DOCUMENT_ID FILE`` (at the hub: the tracking store, the package archive and the hub's key)
writes the document's evidence bundle (``vbcore.operations.evidence``, format in
``vbcore.evidence.bundle``). ``verify FILE --trust CA.pem`` checks a bundle on any machine with
nothing but the CA certificate(s): no store, no broker, no configuration; it prints the journey
(Vietnamese by default, ``vb --lang en`` for English) and exits 1 on any inconsistency, each named.
``vb connector evidence export`` (``vbcore.cli.connectors``) writes the same format from what a
recipient's connector holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vbcore.cli.failures import EXIT_FAILED, fail
from vbcore.cli.output import agency_label, current_lang, echo_json, load_directory, to_jsonable, trust_option
from vbcore.cli.stores import default_store_url, open_existing_store
from vbcore.lang import Lang, Text

if TYPE_CHECKING:
    from vbcore.operations.evidence import Exported

F = TypeVar("F", bound=Callable[..., Any])

_T = {
    "written": Text(
        "Đã ghi gói bằng chứng {file}: {entries} mục nhật ký, {receipts} biên nhận, {statuses} trạng thái "
        "có chữ ký, {checkpoints} điểm chốt ({size} byte)",
        "Wrote the evidence bundle {file}: {entries} log entries, {receipts} receipts, {statuses} signed "
        "statuses, {checkpoints} checkpoints ({size} bytes)",
    ),
    "missing": Text(
        "kho lưu gói tin không có gói trạng thái {digest} (nhận trước khi có kho lưu): trong gói bằng chứng "
        "chỉ có mục nhật ký của nó",
        "the package archive does not hold the status package {digest} (received before the archive "
        "existed): the bundle holds only its log entry",
    ),
    "several": Text(
        "{id} là mã của nhiều văn bản; hãy chọn một: {keys}",
        "{id} names several documents; choose one: {keys}",
    ),
    "invalid": Text("gói bằng chứng KHÔNG hợp lệ", "the evidence bundle is NOT valid"),
}


def signing_key_options(key_help: str) -> Callable[[F], F]:
    """``--key`` and ``--cert``: the key that signs a bundle, and its certificate (chain)."""
    existing = click.Path(exists=True, dir_okay=False, path_type=Path)

    def decorate(command: F) -> F:
        command = click.option("--cert", "cert_path", type=existing, required=True)(command)
        return click.option("--key", "key_path", type=existing, required=True, help=key_help)(command)

    return decorate


def _written(file: Path, done: Exported, lang: Lang) -> None:
    """The one line saying what an export wrote (``done``: ``operations.evidence``'s summary)."""
    click.echo(_T["written"].format(file=file, entries=done.entries, receipts=done.receipts,
                                    statuses=done.statuses, checkpoints=done.checkpoints,
                                    size=done.bytes)(lang))  # fmt: skip


@click.group("evidence")
def evidence() -> None:
    """Evidence of a document's journey: export a bundle, verify one offline."""


@evidence.command("export")
@click.argument("document_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--store", "store_url", default=None, help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db]."
)
@click.option(
    "--archive",
    "archive_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="VBUS_ARCHIVE",
    help="The hub's package archive [default: beside a SQLite store].",
)
@signing_key_options("The hub's private key (it signs the bundle, and a checkpoint if one is due).")
@click.option(
    "--hub-id", default="vbus.hub", show_default=True, help="The hub's identity, as in `vb hub run`."
)
def evidence_export(
    document_id: str,
    file: Path,
    store_url: str | None,
    archive_path: Path | None,
    key_path: Path,
    cert_path: Path,
    hub_id: str,
) -> None:
    """Write DOCUMENT_ID's evidence bundle to FILE (a ZIP file; see `vb evidence verify`)."""
    from vbcore.operations.evidence import export_document
    from vbcore.security.signing import SigningKey
    from vbcore.store.archive import PackageArchive, default_location
    from vbcore.store.timeline import tracked_ids
    from vbcore.timezones import utc_now

    lang = current_lang()
    url = store_url or default_store_url()
    store = open_existing_store(url)
    try:
        keys = tracked_ids(store, document_id)
        if len(keys) > 1:
            raise fail(_T["several"].format(id=document_id, keys=", ".join(keys)))
        archive = PackageArchive(archive_path or default_location(url))
        key = SigningKey.from_files(key_path, cert_path)
        done = export_document(store, archive, keys[0] if keys else document_id, file, key, hub_id=hub_id,
                               now=utc_now())  # fmt: skip
    finally:
        store.close()
    for digest in done.missing:
        click.echo(_T["missing"].format(digest=digest)(lang), err=True)
    _written(file, done, lang)


@evidence.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@trust_option(required=True)
@click.option("--hub", "hub_id", default=None,
              help="The id of the hub whose certificate must have signed the evidence (its --hub-id, as its "
              "certificate names it); without it, the bundle's hub is shown and must be no party.")
@click.option("--json", "as_json", is_flag=True, help="Print what the bundle proves as JSON.")
def evidence_verify(file: Path, trust: tuple[Path, ...], hub_id: str | None, as_json: bool) -> None:
    """Check the evidence bundle FILE against the CA certificate(s) only, and print the journey it
    proves. Exit 0 when every piece is consistent, 1 otherwise (each inconsistency is named)."""
    from vbcore.evidence.bundle import verify_bundle
    from vbcore.evidence.timeline import journey, render
    from vbcore.security.trust import TrustStore

    lang = current_lang()
    store = TrustStore.from_directory(trust[0]) if trust[0].is_dir() else TrustStore.from_pem_files(trust)
    verified = verify_bundle(file, store, hub_id)
    directory = load_directory(None)
    if as_json:
        echo_json(to_jsonable({
            "ok": verified.ok, "document_id": verified.document_id, "holder": verified.holder,
            "exporter": verified.exporter, "hub": verified.hub, "package_sha256": verified.package_digest,
            "journey": [vars(e) for e in journey(verified)],
            "problems": [{"member": p.member, "en": p.en, "vi": p.vi} for p in verified.problems],
        }))  # fmt: skip
    else:
        click.echo(render(verified, lang, lambda code: agency_label(directory, code, lang=lang)))
    if not verified.ok:
        raise fail(_T["invalid"], exit_code=EXIT_FAILED)


@click.group("evidence")
def connector_evidence() -> None:
    """What this agency's connector can prove of the documents it received."""


@connector_evidence.command("export")
@click.argument("document_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The connector's ledger (its --state; vbus-connector/ledger.sqlite3).",
)
@click.option("--sender", default=None, help="The sender, when several agencies wrote DOCUMENT_ID.")
@signing_key_options("This agency's private key (it signs the bundle).")
def connector_evidence_export(
    document_id: str, file: Path, state_path: Path, sender: str | None, key_path: Path, cert_path: Path
) -> None:
    """Write the evidence bundle of DOCUMENT_ID as this agency received it to FILE: the package as
    signed and the hub's receipts (`vb evidence verify` checks it)."""
    from vbcore.connector.ledger import Ledger
    from vbcore.operations.evidence import export_received
    from vbcore.security.signing import SigningKey

    ledger = Ledger(state_path)
    try:
        done = export_received(ledger, document_id, file, SigningKey.from_files(key_path, cert_path),
                               sender=sender)  # fmt: skip
    finally:
        ledger.close()
    _written(file, done, current_lang())
