"""Reading the VPCP SDK's wrapping: an attachment zipped as one entry, then base64-encoded.

The ZIP comes from the sender, so everything in it is hostile: the central directory's sizes and
offsets, the entry's name, its compression method and its data. What is checked, in this order:

1. the archive opens (the standard library's ``zipfile`` reads the central directory);
2. it holds exactly one file entry (otherwise the ZIP is the attachment itself, not a wrapping:
   it is handed on as it is and nothing in it is expanded, nested ZIPs included);
3. the entry is not encrypted, uses a method ``zipfile`` reads, declares at most
   ``max_unzipped_bytes`` and at most ``max_zip_ratio`` times its compressed size, and its
   compressed size fits in the archive: all from the declarations, before one byte is inflated;
4. inflating it yields exactly the declared size and checksum: ``zipfile`` stops at the declared
   size (so an entry that lies never writes more than it declared, which the checks above bound)
   and then compares the CRC-32, which fails for data longer than declared; data that ends short
   of it is refused here (``zipfile`` accepts it when the CRC matches). Every byte written is
   counted against the package's ``Budget``.

Any failure is an ``AttachmentUnreadable`` (or its ``AttachmentTooLarge`` /
``CompressionRatioTooHigh``) naming the attachment and what was wrong. ``zipfile`` raises a dozen
exception types on corrupt input (``BadZipFile``, ``zlib.error``, ``lzma.LZMAError``, ``OSError``
from bz2, ``ValueError`` and ``OverflowError`` from seeks to declared offsets, ``IndexError``,
``UnicodeDecodeError`` from entry names, ``EOFError``, ``NotImplementedError``...): every call into
it is guarded here, and only here, so none of them escapes as anything but a refusal. The entry's
name is never used to name a file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vbcore.edxml.attachments import CHUNK, Spool
from vbcore.edxml.limits import ZIP_RATIO_FREE_BELOW, Budget, ParseLimits
from vbcore.errors import AttachmentTooLarge, AttachmentUnreadable, CompressionRatioTooHigh
from vbcore.model import Blob

T = TypeVar("T")

_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_ENCRYPTED = 0x1


def unwrap_zip(
    blob: Blob, label: str, spool_dir: Path | None, limits: ParseLimits, budget: Budget | None = None
) -> Blob | None:
    """The content of a one-entry ZIP; None when the ZIP holds several (or no) files."""
    with blob.open() as raw:
        archive = _guarded(label, "", lambda: zipfile.ZipFile(raw))
        with archive:
            files = [info for info in archive.infolist() if not info.filename.endswith("/")]
            if len(files) != 1:
                return None
            entry = files[0]
            _check_declared(entry, blob.size, label, limits)
            return _inflate(archive, entry, label, spool_dir, budget)


def _guarded(label: str, entry: str, call: Callable[[], T]) -> T:
    """``call()``, with anything ``zipfile`` raises on corrupt input turned into a refusal."""
    try:
        return call()
    except zipfile.BadZipFile as err:
        if "CRC" in str(err):
            raise _unreadable(
                label,
                f"ZIP entry {entry!r} does not match its declared size and checksum (CRC-32)",
                f"mục {entry!r} trong tệp ZIP không khớp kích thước và mã kiểm tra (CRC-32) đã khai báo",
            ) from None
        raise _unreadable(label, f"unreadable ZIP ({err})", "tệp ZIP hỏng") from None
    except Exception as err:  # zlib.error, LZMAError, OSError, ValueError, OverflowError, ...: see above
        kind = type(err).__name__
        what = f"unreadable ZIP ({kind}: {err})"
        raise _unreadable(label, what, "tệp ZIP hỏng (giải nén thất bại)") from None


def _unreadable(label: str, what: str, what_vi: str) -> AttachmentUnreadable:
    return AttachmentUnreadable(f"attachment {label}: {what}", vi=f"tệp đính kèm {label}: {what_vi}")


def _check_declared(entry: zipfile.ZipInfo, archive_size: int, label: str, limits: ParseLimits) -> None:
    """Refuse on the central directory's word alone, before anything is inflated."""
    name = entry.filename
    if entry.flag_bits & _ENCRYPTED:
        raise _unreadable(label, f"ZIP entry {name!r} is encrypted", f"mục {name!r} trong tệp ZIP bị mã hóa")
    if entry.compress_type not in _METHODS:
        method = entry.compress_type
        raise _unreadable(
            label,
            f"ZIP entry {name!r} uses compression method {method}; stored, deflate, bzip2 and lzma are read",
            f"mục {name!r} trong tệp ZIP dùng phương thức nén {method}; "
            "chỉ đọc được stored, deflate, bzip2, lzma",
        )
    declared, packed = entry.file_size, entry.compress_size
    if declared > limits.max_unzipped_bytes:
        raise AttachmentTooLarge(
            f"attachment {label}: ZIP entry {name!r} declares {declared} bytes, "
            f"over {limits.max_unzipped_bytes}",
            vi=f"tệp đính kèm {label}: mục {name!r} khai báo {declared} byte khi giải nén, "
            f"vượt giới hạn {limits.max_unzipped_bytes}",
        )
    if packed > archive_size:
        raise _unreadable(
            label,
            f"ZIP entry {name!r} declares {packed} compressed bytes in an archive of {archive_size}",
            f"mục {name!r} khai báo {packed} byte nén trong một tệp ZIP chỉ có {archive_size} byte",
        )
    if declared > ZIP_RATIO_FREE_BELOW and declared > limits.max_zip_ratio * max(packed, 1):
        ratio = declared // max(packed, 1)
        raise CompressionRatioTooHigh(
            f"attachment {label}: ZIP entry {name!r} expands {ratio} times ({packed} -> {declared} bytes); "
            f"at most {limits.max_zip_ratio} times is accepted",
            vi=f"tệp đính kèm {label}: mục {name!r} giải nén gấp {ratio} lần ({packed} -> {declared} byte); "
            f"chỉ chấp nhận tối đa {limits.max_zip_ratio} lần",
        )


def _inflate(
    archive: zipfile.ZipFile,
    entry: zipfile.ZipInfo,
    label: str,
    spool_dir: Path | None,
    budget: Budget | None,
) -> Blob:
    name = entry.filename
    spool = Spool(spool_dir, budget, label)
    try:
        source = _guarded(label, name, lambda: archive.open(entry))
        with source:
            while chunk := _guarded(label, name, lambda: source.read(CHUNK)):
                spool.write(chunk)
    except BaseException:
        spool.discard()
        raise
    if spool.size != entry.file_size:  # zipfile accepts data that ends early when its CRC matches
        spool.discard()
        raise _unreadable(
            label,
            f"ZIP entry {name!r} expands to {spool.size} bytes but declares {entry.file_size}",
            f"mục {name!r} giải nén ra {spool.size} byte nhưng khai báo {entry.file_size}",
        )
    return spool.blob()
