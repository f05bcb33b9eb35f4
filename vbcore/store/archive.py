"""The package archive: the exact signed bytes of every package the hub accepted, kept by their SHA-256.

Evidence needs the package *as signed*: a bundle (``vbcore.evidence.bundle``) holds these bytes and a
verifier checks the sender's XML signature on them years later. The tracking store keeps only the
digest; the bytes live here, content-addressed:

- one file per package, named by the hex SHA-256 of its bytes and nothing else (no name an agency
  chose ever reaches the file system), under two levels of folders (``ab/cd/abcd...``) so that no
  folder holds millions of files;
- write-once: written to a temporary file, made durable, renamed into place, and the rename made
  durable, all before the store commits the entry that names it (``Hub``: the archive is written
  before the batch's transaction); a package that is already there is not written again (the same
  bytes again: a redelivery, a duplicate) and an existing file is never replaced;
- a batch costs two flushes, not three per package: on Linux 5.8 or later (where ``syncfs`` reports
  write-back errors) one ``syncfs`` of the archive's file system after the batch's files are written
  and one after they are renamed; elsewhere, or where a folder of the archive lies on another file
  system, each file and each folder is ``fsync``'d as before;
- read back checked: ``get`` recomputes the digest and refuses a file that changed (``ArchiveCorrupt``).

Where: ``default_location(store_url)`` beside a SQLite store (``vbus.db`` -> ``vbus.db.packages/``),
``./var/packages`` for a PostgreSQL one (several hub machines then share a mounted folder), or the
operator's ``--archive`` / ``[hub] archive``. Standard library only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from vbcore.errors import ArchiveCorrupt, ArchiveMissing

_DIGEST = re.compile(r"[0-9a-f]{64}")
DEFAULT_SERVER_ARCHIVE = Path("var") / "packages"


def default_location(store_url: str) -> Path:
    """Beside a SQLite store's file (``<file>.packages``); ``./var/packages`` otherwise (an in-memory
    SQLite store or PostgreSQL)."""
    if urlsplit(store_url).scheme == "sqlite":
        rest = store_url[len("sqlite:") :].split("?", 1)[0]
        path = rest[3:] if rest.startswith("///") else ""  # as ``vbcore.database`` reads it
        if path and path != ":memory:":
            return Path(path).with_name(Path(path).name + ".packages")
    if "://" not in store_url and store_url:  # a plain path to a SQLite file
        return Path(store_url).with_name(Path(store_url).name + ".packages")
    return DEFAULT_SERVER_ARCHIVE


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked_digest(digest: str) -> str:
    """``digest`` when it is 64 lower-case hex characters (the only names the archive uses)."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest[:80]!r}")
    return digest


class PackageArchive:
    """Signed packages by SHA-256 in folder ``root`` (created on first use)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._dev: int | None = None  # the root's file system (st_dev)
        self._elsewhere = False  # a file of this batch lies on another file system

    def path(self, digest: str) -> Path:
        d = checked_digest(digest)
        return self.root / d[:2] / d[2:4] / d

    def __contains__(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, data: bytes) -> str:
        """Keep ``data`` (durably: on disk when this returns); return its digest."""
        return self.put_many([data])[0]

    def put_many(self, packages: list[bytes]) -> list[str]:
        """Keep each of ``packages`` durably; their digests. A batch's files are all written before
        any is flushed, and flushed together (see the module's docstring)."""
        digests = [digest_of(data) for data in packages]
        pending: dict[Path, str] = {}  # target -> its temporary file, not yet renamed
        self._elsewhere = False
        try:
            for digest, data in zip(digests, packages, strict=True):
                target = self.path(digest)
                if target in pending or target.is_file():
                    continue  # write-once: a file is only ever renamed into place whole, never replaced
                fd, pending[target] = self._temporary(target.parent)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
            if not pending:
                return digests
            folders = {target.parent for target in pending}
            whole = _SYNCFS is not None and not self._elsewhere  # else file by file, folder by folder
            if whole:
                _syncfs(self.root)  # every file's data, and the temporary names
            else:
                for tmp in pending.values():
                    _fsync_file(tmp)
            for target, tmp in list(pending.items()):
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
                del pending[target]
        except BaseException:
            for tmp in pending.values():
                Path(tmp).unlink(missing_ok=True)
            raise
        if whole:
            _syncfs(self.root)  # the renames
        else:  # the renames, and the folders made for them, in their parents: leaf, its parent, the root
            for folder in [*folders, *{f.parent for f in folders}, self.root]:
                _fsync_folder(folder)
        return digests

    def _temporary(self, folder: Path) -> tuple[int, str]:
        """A new temporary file in ``folder``, made if missing (tried first: a folder is missing only
        for the first package of its prefix, so nothing is remembered per folder). Notes whether the
        file lies on another file system than the root (a mount inside the archive)."""
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        if os.fstat(fd).st_dev != self._root_dev():
            self._elsewhere = True
        return fd, name

    def _root_dev(self) -> int:
        if self._dev is None:
            self._dev = self.root.stat().st_dev
        return self._dev

    def get(self, digest: str) -> bytes:
        """The bytes whose SHA-256 is ``digest``; ``ArchiveMissing`` or ``ArchiveCorrupt`` otherwise."""
        target = self.path(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise ArchiveMissing(digest, str(self.root)) from None
        if digest_of(data) != digest:
            raise ArchiveCorrupt(digest, str(target))
        return data

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size


def _fsync_file(path: str) -> None:
    """Flush a written file's data to the disk (``fsync`` acts on the file, whichever descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX: the folder's entry); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        found = tuple(int(part) for part in platform.release().split("-")[0].split(".")[:2])
    except ValueError:
        return False
    return found >= (major, minor)


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs`` on Linux 5.8 or later (before 5.8 it did not report write-back errors)."""
    if platform.system() != "Linux" or not _kernel_at_least(5, 8):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _load_syncfs()


def _syncfs(folder: Path) -> None:
    """Flush the whole file system that holds ``folder`` (data and names), or raise ``OSError``."""
    assert _SYNCFS is not None
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), str(folder))
    finally:
        os.close(fd)
