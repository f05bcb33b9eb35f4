"""`vb send`: sign a package as an agency, submit it to the hub, and (``--wait``) report the verdict.

Exit status with ``--wait``: 0 when every recipient answered without refusing (for a status: no
refusal came within the wait), 1 when the hub or a recipient refused it (02), 3 when some recipient
had not answered in time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli.broker import broker_option, prefix_option, target, vhost_option
from vbcore.cli.failures import current_lang
from vbcore.errors import SendRefused, VbusError, VerdictTimedOut, printable
from vbcore.lang import Text
from vbcore.security.trust import TrustStore

EXIT_REFUSED = 1
EXIT_TIMED_OUT = 3
DEFAULT_WAIT_SECONDS = 60.0

_SENT = Text("Đã gửi {kind} {document_id} với tư cách {agency} (thông điệp {message_id})",
             "Sent {kind} {document_id} as {agency} (message {message_id})")
_KINDS = {"edoc": Text("văn bản", "document"), "status": Text("trạng thái", "status")}
_WAITING = Text("Đang chờ kết quả (tối đa {seconds:g} giây)...",
                "Waiting for the verdict (up to {seconds:g} s)...")
_NOT_REFUSED = Text("Không bị từ chối trong {seconds:g} giây.", "Not refused within {seconds:g} s.")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Build the document from a JSON/YAML metadata file (as `vb pack`).",
)
@click.option(
    "--attach", "attachments", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--folder", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Send every package file of this folder (not hidden, by name), each signed if it is "
                   "not yet; a summary at the end (exit 1 if a file failed, 3 if the broker was lost).")
@click.option("--as", "agency", required=True, help="The sending agency's code (its broker user).")
@click.option("--key", "key_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", "cert_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--wait", "wait", type=float, is_flag=False, flag_value=DEFAULT_WAIT_SECONDS, default=None,
              metavar="[SECONDS]",
              help=f"Wait for the verdict (default {DEFAULT_WAIT_SECONDS:g} s): the hub's refusal, or each "
                   "recipient's first status. Exit 1 when refused, 3 when not every recipient answered.")
@click.option("--trust", "trust_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="CA certificate(s) to verify the answers with (--wait; default: ca.pem beside --cert).")
@broker_option("AMQP URL with the sending agency's user and password")
@vhost_option
@prefix_option
def send(
    file: Path | None,
    metadata: Path | None,
    attachments: tuple[Path, ...],
    folder: Path | None,
    agency: str,
    key_path: Path,
    cert_path: Path,
    wait: float | None,
    trust_path: Path | None,
    broker: str,
    vhost: str | None,
    prefix: str,
) -> None:
    """Sign a package as AGENCY and submit it to the hub (an unsigned FILE is signed first)."""
    from vbcore.agency import AgencyClient
    from vbcore.agency.sending import package_to_send, submit, wait_for_verdict
    from vbcore.security.signing import SigningKey
    from vbcore.transport.connect import open_transport

    language = current_lang()  # vb --lang, or VBUS_LANG
    at = target(broker, vhost, prefix)
    broker, names = at.url, at.names
    if [file, metadata, folder].count(None) != 2:
        raise click.UsageError("give one of FILE, --metadata or --folder")
    if folder is not None:
        if wait is not None or attachments:
            raise click.UsageError("--folder sends the files as they are: no --wait, no --attach")
        _send_folder(folder, agency, SigningKey.from_files(key_path, cert_path), broker, names)
        return
    if wait is not None and wait <= 0:
        raise click.UsageError("--wait needs a number of seconds above 0")
    trust_file = trust_path or cert_path.parent / "ca.pem"
    if wait is not None and not trust_file.exists():
        raise click.UsageError(f"--trust is missing and {trust_file} does not exist (needed by --wait)")
    # Expected errors end as one line in the chosen language (the ``vb`` group does it).
    to_send = package_to_send(file, metadata, list(attachments), key_path, cert_path)
    with open_transport(broker, names=names, role="agency") as transport:
        message_id = submit(transport, names, agency, to_send.signed, kind=to_send.kind,
                            document_id=to_send.document_id)
        sent = _SENT.format(kind=_KINDS[to_send.kind](language), document_id=to_send.document_id or "",
                            agency=agency, message_id=message_id)
        click.echo(sent(language))
        if wait is None:
            return
        click.echo(_WAITING.format(seconds=wait)(language), err=True)
        client = AgencyClient(transport, agency=agency, key=SigningKey.from_files(key_path, cert_path),
                              trust=_trust(trust_file), names=names, lang=language)
        verdict = wait_for_verdict(client, message_id=message_id, document_id=to_send.document_id,
                                   recipients=to_send.recipients, timeout=wait)
    for line in verdict.lines(language):
        click.echo(line)
    if verdict.refused:
        click.echo(SendRefused().describe(language), err=True)
        raise click.exceptions.Exit(EXIT_REFUSED)
    if not verdict.complete:
        if not to_send.recipients:  # a status: no news is no refusal
            click.echo(_NOT_REFUSED.format(seconds=wait)(language))
            return
        click.echo(VerdictTimedOut(wait, verdict.pending).describe(language), err=True)
        raise click.exceptions.Exit(EXIT_TIMED_OUT)


def _trust(path: Path) -> TrustStore:
    return TrustStore.from_directory(path) if path.is_dir() else TrustStore.from_pem_files([path])


# --- vb send --folder ------------------------------------------------------------------------------

_FOLDER = {
    "progress": Text("đang gửi", "sending"),
    "sent": Text("{file}: đã gửi {kind} {document_id} (thông điệp {message_id})",
                 "{file}: sent {kind} {document_id} (message {message_id})"),
    "failed": Text("{file}: không gửi được: {reason}", "{file}: not sent: {reason}"),
    "summary": Text("Đã gửi {sent}/{total} tệp; {failed} tệp không gửi được",
                    "Sent {sent} of {total} files; {failed} could not be sent"),
    "stopped": Text("Mất kết nối tới máy chủ chuyển tin: {n} tệp chưa gửi (từ {first}); hãy gửi lại sau",
                    "The broker was lost: {n} files not sent (from {first}); send them again later"),
    "empty": Text("Thư mục {folder} không có tệp nào để gửi", "The folder {folder} has no file to send"),
}


def _send_folder(folder: Path, agency: str, key: Any, broker: str, names: Any) -> None:
    """Every file of ``folder``, one line each on stdout (sent or why not), the progress on stderr,
    then the summary; exit 1 when a file failed, 3 when the broker was lost midway."""
    from vbcore.agency.bulk import folder_files, send_folder
    from vbcore.cli.failures import EXIT_FAILED, EXIT_UNAVAILABLE, fail, failed, os_failed
    from vbcore.cli.progress import Progress
    from vbcore.transport.connect import open_transport

    lang = current_lang()
    files = folder_files(folder)
    if not files:
        raise fail(_FOLDER["empty"].format(folder=folder))
    progress = Progress(_FOLDER["progress"], lang)
    with open_transport(broker, names=names, role="agency") as transport:
        report = send_folder(transport, names, agency, files, key, progress=progress.update)
    progress.finish()
    for sent in report.sent:
        line = _FOLDER["sent"].format(file=printable(sent.path.name), kind=_KINDS[sent.kind],
                                      document_id=printable(sent.document_id or ""),
                                      message_id=sent.message_id)  # fmt: skip
        click.echo(line(lang))
    for path, err in report.failed:
        reason = failed(err).lines[0] if isinstance(err, VbusError) else os_failed(err).lines[0]
        click.echo(_FOLDER["failed"].format(file=printable(path.name), reason=reason)(lang))
    total = len(files)
    click.echo(_FOLDER["summary"].format(sent=len(report.sent), total=total, failed=len(report.failed))(lang))
    if report.stopped_by is not None:
        stopped = _FOLDER["stopped"].format(n=len(report.not_sent), first=printable(report.not_sent[0].name))
        click.echo(stopped(lang), err=True)
        raise click.exceptions.Exit(EXIT_UNAVAILABLE)
    if report.failed:
        raise click.exceptions.Exit(EXIT_FAILED)
