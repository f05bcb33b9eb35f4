"""Attachment content: strict base64 in chunks, the SDK's one-entry ZIP, spooling large files.

Small content stays in memory; past ``SPOOL_ABOVE`` bytes it moves to a file (``Blob.from_file``),
so a 50 MB attachment never needs to sit in RAM whole. Files spooled into the system temp dir
(``spool_dir=None``) are deleted when their ``Blob`` is garbage-collected; files spooled into a
caller's ``spool_dir`` belong to the caller.

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

from vbcore.errors import AttachmentUnreadable
from vbcore.model import Blob

SPOOL_ABOVE = 1024 * 1024
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
# A fixed entry time makes ``write_package`` deterministic (the same package gives the same bytes).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_WHITESPACE = b" \t\r\n"


class Spool:
    """A write-only buffer that becomes a file past ``SPOOL_ABOVE`` bytes; ``blob()`` ends it."""

    def __init__(self, spool_dir: Path | None) -> None:
        self._dir = spool_dir
        self._mem: io.BytesIO | None = io.BytesIO()
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
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
    ``=`` padding, raises ``AttachmentUnreadable`` naming ``label``.
    """

    def __init__(self, spool: Spool, label: str) -> None:
        self._spool = spool
        self._label = label
        self._carry = b""
        self._ended = False

    def feed(self, text: str) -> None:
        try:
            raw = text.encode("ascii")
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
            self._spool.write(base64.b64decode(quads, validate=True))
        except binascii.Error as err:
            raise self._error(f"invalid base64 ({err})", "dữ liệu base64 không hợp lệ") from None
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


def decode_base64_text(text: str, label: str, spool_dir: Path | None) -> Blob:
    """Decode one attachment's whole base64 text (the tree path)."""
    decoder = Base64Decoder(Spool(spool_dir), label)
    decoder.feed(text)
    return decoder.close()


def starts_with_zip(blob: Blob) -> bool:
    with blob.open() as f:
        return f.read(4) == ZIP_MAGIC


def unwrap_zip(blob: Blob, label: str, spool_dir: Path | None, max_unzipped: int) -> tuple[Blob, str] | None:
    """The single entry of a one-entry ZIP and its name; None if the ZIP holds several files.

    A ZIP of several entries is taken to be the attachment itself (a user's archive), not the
    SDK's wrapping. A corrupt ZIP, a CRC error, an encrypted entry or an entry larger than
    ``max_unzipped`` raises ``AttachmentUnreadable``.
    """
    try:
        with blob.open() as raw, zipfile.ZipFile(raw) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
            if len(entries) != 1:
                return None
            entry = entries[0]
            if entry.file_size > max_unzipped:
                raise AttachmentUnreadable(
                    f"attachment {label}: ZIP entry is {entry.file_size} bytes, over {max_unzipped}",
                    vi=f"tệp đính kèm {label}: tệp trong ZIP {entry.file_size} byte, vượt quá {max_unzipped}",
                )
            spool = Spool(spool_dir)
            with archive.open(entry) as src:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    spool.write(chunk)
                    if spool.size > max_unzipped:
                        spool.discard()
                        raise AttachmentUnreadable(
                            f"attachment {label}: ZIP entry expands past {max_unzipped}",
                            vi=f"tệp đính kèm {label}: giải nén tệp trong ZIP vượt quá {max_unzipped} byte",
                        )
            return spool.blob(), entry.filename
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError) as err:
        raise AttachmentUnreadable(
            f"attachment {label}: unreadable ZIP ({err})",
            vi=f"tệp đính kèm {label}: tệp ZIP hỏng, không đọc được",
        ) from None


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
