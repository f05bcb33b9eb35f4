"""The document model: plain typed dataclasses for edXML packages (docs/domain.md §3-§4).

The model knows nothing of XML, AMQP or signatures' cryptography: ``vbcore.edxml`` turns bytes into
these objects and back. Objects are frozen; sequences are tuples, so packages compare by value and
``read(write(x)) == x`` can be asserted.

Dates are ``datetime.date``; timestamps are naive ``datetime.datetime`` in Vietnam local time, as
the wire format carries them (``yyyy/MM/dd HH:mm:ss``, no zone).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from vbcore.status import BusinessDocType, ReceiverType, StatusCode


@dataclass(frozen=True)
class Organization:
    """``From`` or one ``To``."""

    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class Code:
    code_number: str | None = None
    code_notation: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.code_number, self.code_notation) if p)


@dataclass(frozen=True)
class PromulgationInfo:
    place: str | None = None
    promulgation_date: date | None = None


@dataclass(frozen=True)
class DocumentType:
    type: int | None = None
    type_detail: str | None = None
    type_name: str | None = None


@dataclass(frozen=True)
class SignerInfo:
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass(frozen=True)
class OtherInfo:
    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponseFor:
    """The document a package answers; in a status, ``organ_id`` is the party it is addressed to."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: date | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class StaffInfo:
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class TraceHeader:
    organ_id: str
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Receiver:
    organ_id: str
    receiver_type: ReceiverType


@dataclass(frozen=True)
class BusinessDocumentInfo:
    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True)
class ReplacementInfo:
    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Business:
    """``TraceHeaderList/Bussiness`` (sic): new, revoke, update or replace."""

    business_doc_type: BusinessDocType = BusinessDocType.NEW
    document_id: str | None = None
    business_doc_reason: str | None = None
    paper: int | None = None
    staff_info: StaffInfo | None = None
    business_document_info: BusinessDocumentInfo | None = None
    replacement_info: tuple[ReplacementInfo, ...] = ()


@dataclass(frozen=True)
class ManifestReference:
    content_id: str
    content_type: str | None = None
    description: str | None = None
    attachment_name: str | None = None


class Blob:
    """Attachment content: in memory, or in a file so a 50 MB attachment need not sit in RAM.

    Two blobs are equal when their bytes are equal (compared by SHA-256, computed once).
    """

    # __weakref__: a reader may tie a spooled temp file's deletion to its Blob (weakref.finalize).
    __slots__ = ("__weakref__", "_data", "_digest", "_path", "_size")

    def __init__(self, data: bytes | None = None, *, path: Path | None = None) -> None:
        if (data is None) == (path is None):
            raise ValueError("a Blob holds either bytes or a path")
        self._data = data
        self._path = path
        self._digest: str | None = None
        self._size: int | None = len(data) if data is not None else None

    @classmethod
    def from_file(cls, path: str | Path) -> Blob:
        return cls(path=Path(path))

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def size(self) -> int:
        if self._size is None:
            assert self._path is not None
            self._size = self._path.stat().st_size
        return self._size

    def open(self) -> BinaryIO:
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        return self._path.open("rb")

    def read_bytes(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._path is not None
        return self._path.read_bytes()

    def copy_to(self, target: BinaryIO) -> None:
        with self.open() as src:
            shutil.copyfileobj(src, target, 1 << 20)

    @property
    def sha256(self) -> str:
        if self._digest is None:
            h = hashlib.sha256()
            with self.open() as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
            self._digest = h.hexdigest()
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Blob):
            return NotImplemented
        return self.size == other.size and self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        where = str(self._path) if self._path is not None else "memory"
        return f"Blob({self.size} bytes, {where})"


@dataclass(frozen=True)
class Attachment:
    """One ``AttachmentEncoded/Attachment``, decoded to the original file.

    ``zipped`` records that the producer wrapped the file in a one-entry ZIP before base64 (the SDK
    does); ``content`` is always the original file's bytes and ``content_type`` its MIME type.
    """

    content_id: str
    name: str
    content: Blob
    content_type: str = "application/octet-stream"
    description: str | None = None
    zipped: bool = False


@dataclass(frozen=True)
class SignatureSummary:
    """What a package's ``Signature`` element declares (not whether it verifies: see ``signing``)."""

    in_dsig_namespace: bool
    signature_method: str | None = None
    digest_method: str | None = None
    canonicalization_method: str | None = None
    certificate_der: bytes | None = None


@dataclass(frozen=True)
class Edoc:
    """A document package."""

    from_: Organization
    to: tuple[Organization, ...]
    document_id: str | None = None
    code: Code = field(default_factory=Code)
    promulgation_info: PromulgationInfo = field(default_factory=PromulgationInfo)
    document_type: DocumentType = field(default_factory=DocumentType)
    subject: str | None = None
    content: str | None = None
    signer_info: SignerInfo = field(default_factory=SignerInfo)
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo = field(default_factory=OtherInfo)
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    trace_headers: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    manifest: tuple[ManifestReference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    signature: SignatureSummary | None = field(default=None, compare=False)

    @property
    def business_type(self) -> BusinessDocType:
        return self.business.business_doc_type if self.business else BusinessDocType.NEW

    @property
    def recipients(self) -> tuple[str, ...]:
        """The addressees' codes, in order, without repeats."""
        return tuple(dict.fromkeys(o.organ_id for o in self.to))

    @property
    def effective_document_id(self) -> str:
        """``DocumentId``, or the conventional one built from sender, date and code."""
        if self.document_id:
            return self.document_id
        d = self.promulgation_info.promulgation_date
        day = d.strftime("%Y/%m/%d") if d else ""
        return f"{self.from_.organ_id},{day},{self.code}"


@dataclass(frozen=True)
class StatusPackage:
    """A status package (docs/domain.md §4): one status about one document, addressed to one party."""

    from_: Organization
    response_for: ResponseFor
    status_code: StatusCode
    staff_info: StaffInfo = field(default_factory=StaffInfo)
    description: str | None = None
    timestamp: datetime | None = None
    signature: SignatureSummary | None = field(default=None, compare=False)

    @property
    def document_id(self) -> str | None:
        return self.response_for.document_id

    @property
    def addressee(self) -> str | None:
        return self.response_for.organ_id


Package = Edoc | StatusPackage
