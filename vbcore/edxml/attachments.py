"""Attachment content: strict base64 in chunks, spooling large files, writing the SDK's ZIP.

Small content stays in memory; past ``SPOOL_ABOVE`` bytes it moves to a file (``Blob.from_file``),
so a 50 MB attachment never needs to sit in RAM whole. Files spooled into the system temp dir
(``spool_dir=None``) are deleted when their ``Blob`` is garbage-collected; files spooled into a
caller's ``spool_dir`` belong to the caller. A spool file's name is made by ``mkstemp`` in that
directory: nothing the package says (an attachment's or a ZIP entry's name) ever names a file.

Every byte decoded and every byte spooled is counted against the package's ``Budget``
(``vbcore.edxml.limits``), so the limits hold across all of a package's attachments together.
Reading the SDK's one-entry ZIP is in ``vbcore.edxml.zipped``.

The standard library's ``base64`` and ``zipfile`` do the work; only whitespace is tolerated in
base64 (``validate=True`` refuses every other stray character, which lxml's XSD check accepts).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
import tempfile
import weakref
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vbcore.edxml.limits import Budget
from vbcore.errors import AttachmentUnreadable, PackageRefused
from vbcore.model import Blob

SPOOL_ABOVE = 1024 * 1024
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
# A fixed entry time makes ``write_package`` deterministic (the same package gives the same bytes).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_WHITESPACE = b" \t\r\n"


class Spool:
    """A write-only buffer that becomes a file past ``SPOOL_ABOVE`` bytes; ``blob()`` ends it.

    With a ``budget``, every write is counted against the package's total first (and refused,
    with the spool discarded, when over it); ``label`` names the attachment in that refusal.
    """

    def __init__(self, spool_dir: Path | None, budget: Budget | None = None, label: str = "") -> None:
        self._dir = spool_dir
        self._budget = budget
        self._label = label
        self._mem: io.BytesIO | None = io.BytesIO()
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self._budget is not None:
            try:
                self._budget.spool(len(data), self._label)
            except PackageRefused:
                self.discard()
                raise
        self.size += len(data)
        if self._mem is not None:
            self._mem.write(data)
            if self._mem.tell() > SPOOL_ABOVE:
                self._roll_over()
        else:
            assert self._file is not None
            self._file.write(data)

    def _roll_over(self) -> None:
        assert self._mem is not None
        fd, name = tempfile.mkstemp(prefix="vbus-att-", suffix=".bin", dir=self._dir)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._file.write(self._mem.getbuffer())
        self._mem = None

    def blob(self) -> Blob:
        if self._mem is not None:
            return Blob(self._mem.getvalue())
        assert self._file is not None
        assert self._path is not None
        self._file.close()
        blob = Blob.from_file(self._path)
        if self._dir is None:
            weakref.finalize(blob, _unlink_quietly, str(self._path))
        return blob

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            assert self._path is not None
            _unlink_quietly(str(self._path))
        self._mem = None


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class Base64Decoder:
    """Decodes base64 text fed in arbitrary chunks into a ``Spool``, strictly.

    Whitespace anywhere is skipped; any other character outside the alphabet, or data after the
    ``=`` padding, raises ``AttachmentUnreadable`` naming ``label``. With a ``budget``, the decoded
    bytes are counted against the package's total.
    """

    def __init__(self, spool: Spool, label: str, budget: Budget | None = None) -> None:
        self._spool = spool
        self._label = label
        self._budget = budget
        self._carry = b""
        self._ended = False

    def feed(self, text: str | bytes | memoryview) -> None:
        """``text``: characters, or their bytes in UTF-8 (a text held aside: ``vbcore.edxml.aside``)."""
        try:
            raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
            if not raw.isascii():
                raise UnicodeEncodeError("ascii", "", 0, 0, "")
        except UnicodeEncodeError:
            raise self._error("non-ASCII character in base64", "có ký tự ngoài ASCII trong base64") from None
        raw = self._carry + raw.translate(None, _WHITESPACE)
        if not raw:
            return
        usable = len(raw) - len(raw) % 4
        self._carry = raw[usable:]
        if usable:
            self._decode(raw[:usable])

    def _decode(self, quads: bytes) -> None:
        if self._ended:
            raise self._error("data after the base64 padding", "có dữ liệu sau phần đệm '=' của base64")
        if b"=" in quads[:-4]:
            raise self._error("'=' inside base64 data", "có dấu '=' ở giữa dữ liệu base64")
        try:
            decoded = base64.b64decode(quads, validate=True)
        except binascii.Error as err:
            raise self._error(f"invalid base64 ({err})", "dữ liệu base64 không hợp lệ") from None
        if self._budget is not None:
            try:
                self._budget.decode(len(decoded), self._label)
            except PackageRefused:
                self._spool.discard()
                raise
        self._spool.write(decoded)
        self._ended = quads.endswith(b"=")

    def close(self) -> Blob:
        if self._carry:
            left = len(self._carry)
            raise self._error(
                f"base64 length is not a multiple of 4 ({left} left over)",
                f"độ dài base64 không phải bội số của 4 (thừa {left} ký tự)",
            )
        return self._spool.blob()

    def abort(self) -> None:
        self._spool.discard()

    def _error(self, what: str, what_vi: str) -> AttachmentUnreadable:
        self._spool.discard()
        label = self._label
        return AttachmentUnreadable(f"attachment {label}: {what}", vi=f"tệp đính kèm {label}: {what_vi}")


def decode_base64_text(
    text: str | bytes | memoryview, label: str, spool_dir: Path | None, budget: Budget | None = None
) -> Blob:
    """Decode one attachment's whole base64 text (the tree path, or held aside as its bytes), a ``CHUNK``
    of it at a time: fed whole, a 67 MiB text made four whole copies on its way (ASCII bytes, whitespace
    removed, joined, sliced)."""
    decoder = Base64Decoder(Spool(spool_dir, budget, label), label, budget)
    for start in range(0, len(text), CHUNK):
        decoder.feed(text[start : start + CHUNK])
    return decoder.close()


def starts_with_zip(blob: Blob) -> bool:
    with blob.open() as f:
        return f.read(4) == ZIP_MAGIC


def zip_one(blob: Blob, entry_name: str) -> Blob:
    """Wrap ``blob`` in a one-entry deflated ZIP (as the VPCP SDK does), spooled like the rest."""
    spool = Spool(None)
    info = zipfile.ZipInfo(entry_name or "attachment", date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(_SpoolWriter(spool), "w") as archive, archive.open(info, "w") as dst:
        blob.copy_to(dst)  # type: ignore[arg-type]
    return spool.blob()


class _SpoolWriter(io.RawIOBase):
    """A non-seekable file object over a ``Spool`` (zipfile then writes data descriptors)."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._spool.write(bytes(data))
        return len(data)


def base64_chunks(blob: Blob) -> Iterator[str]:
    """The base64 text of ``blob``, in chunks of about 1 MB, one line (as the producers write it)."""
    with blob.open() as src:
        for chunk in iter(lambda: src.read(3 * (CHUNK // 4)), b""):
            yield base64.b64encode(chunk).decode("ascii")
