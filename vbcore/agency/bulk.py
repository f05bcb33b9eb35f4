"""``vb send --folder``: every package file of a folder signed (when it is not yet) and submitted as one
agency, on one connection, with the agency's key loaded once.

A file that cannot be read or is no package is set aside with its error and the others go on; the
broker lost midway stops the run (what is left is named, nothing is sent twice by this run). The
caller loads the key (a key that cannot be loaded stops everything, once) and prints the summary and
the progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vbcore.agency.sending import file_to_send, submit
from vbcore.errors import TransportError, VbusError
from vbcore.security.signing import SigningKey
from vbcore.transport import Transport
from vbcore.transport.names import Names


@dataclass(frozen=True)
class Sent:
    path: Path
    kind: str
    document_id: str | None
    message_id: str


@dataclass
class FolderReport:
    """What ``send_folder`` did with each file: sent, failed (with the error), or not tried because the
    broker was lost (``stopped_by``)."""

    sent: list[Sent] = field(default_factory=list)
    failed: list[tuple[Path, VbusError | OSError]] = field(default_factory=list)
    not_sent: list[Path] = field(default_factory=list)
    stopped_by: TransportError | None = None


def folder_files(folder: Path) -> list[Path]:
    """The files to send: every regular file directly in ``folder`` not hidden (``.name``: editors'
    and the folder connector's temporary files), in the order of their names."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def send_folder(
    transport: Transport,
    names: Names,
    agency: str,
    files: list[Path],
    key: SigningKey,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> FolderReport:
    """Submit each of ``files`` as ``agency``, signing with ``key`` those not signed yet."""
    report = FolderReport()
    for done, path in enumerate(files):
        if progress is not None:
            progress(done, len(files))
        try:
            to_send = file_to_send(path.read_bytes(), lambda: key)
        except (VbusError, OSError) as err:
            report.failed.append((path, err))
            continue
        try:
            message_id = submit(transport, names, agency, to_send.signed, kind=to_send.kind,
                                document_id=to_send.document_id)  # fmt: skip
        except TransportError as err:
            report.stopped_by = err
            report.not_sent = files[done:]
            break
        report.sent.append(Sent(path, to_send.kind, to_send.document_id, message_id))
    if progress is not None:
        progress(len(report.sent) + len(report.failed), len(files))
    return report
