"""``vb send``: turn a file (or metadata plus attachments) into signed bytes and submit them as an agency."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

from vbcore.edxml import read_package, write_package
from vbcore.mapping_files import load_mapping
from vbcore.metadata import edoc_from_data
from vbcore.model import Attachment, Blob, StatusPackage
from vbcore.signing import SigningKey, sign_package
from vbcore.transport import Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names


def package_to_send(
    file: Path | None, metadata: Path | None, attachments: list[Path], key_path: Path, cert_path: Path
) -> tuple[bytes, str, str | None]:
    """(signed bytes, kind, document id). A FILE that already carries a signature is sent as it is."""
    if file is not None:
        raw = file.read_bytes()
        package = read_package(raw).package
        signed = (
            raw
            if package.signature is not None
            else sign_package(raw, SigningKey.from_files(key_path, cert_path))
        )
    else:
        assert metadata is not None
        edoc = edoc_from_data(load_mapping(metadata), metadata.parent, where=str(metadata))
        extra = tuple(
            Attachment(f"cid:{uuid.uuid4()}", path.name, Blob.from_file(path)) for path in attachments
        )
        package = dataclasses.replace(edoc, attachments=edoc.attachments + extra)
        signed = sign_package(write_package(package), SigningKey.from_files(key_path, cert_path))
    if isinstance(package, StatusPackage):
        return signed, n.KIND_STATUS, package.document_id
    return signed, n.KIND_EDOC, package.effective_document_id


def submit(
    transport: Transport, names: Names, agency: str, signed: bytes, *, kind: str, document_id: str | None
) -> str:
    """Publish to the hub's ingress (confirmed); returns the message id."""
    message_id = uuid.uuid4().hex
    headers = {n.KIND: kind, n.SENDER: agency}
    if document_id:
        headers[n.DOCUMENT_ID] = document_id
    transport.publish(names.ingress_exchange, agency, signed, message_id=message_id, headers=headers)
    return message_id
