"""The package archive (``vbcore.store.archive``): content-addressed, write-once, checked on read."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from vbcore.errors import ArchiveCorrupt, ArchiveMissing
from vbcore.store import archive as archive_module
from vbcore.store.archive import PackageArchive, default_location


def test_a_package_is_kept_by_its_digest_and_read_back(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path / "a")
    data = b"<edXMLEnvelope>signed</edXMLEnvelope>"
    digest = archive.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert archive.path(digest) == tmp_path / "a" / digest[:2] / digest[2:4] / digest
    assert archive.get(digest) == data
    assert digest in archive
    assert archive.size(digest) == len(data)


def test_write_once_the_same_bytes_again_change_nothing(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path)
    digest = archive.put(b"one")
    before = archive.path(digest).stat()
    assert archive.put(b"one") == digest
    after = archive.path(digest).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]  # no temporary file left
    assert archive.path(digest).stat().st_mode & 0o222 == 0  # read-only


def test_an_altered_file_is_refused_on_read(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path)
    digest = archive.put(b"the package as signed")
    path = archive.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"the package as edited")
    with pytest.raises(ArchiveCorrupt, match=digest):
        archive.get(digest)


def test_a_missing_package_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArchiveMissing, match="0" * 64):
        PackageArchive(tmp_path).get("0" * 64)


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "0" * 63, "0" * 64 + "/x", ""])
def test_only_a_hex_digest_names_a_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a SHA-256"):
        PackageArchive(tmp_path).path(name)


def test_the_default_location_is_beside_a_sqlite_store() -> None:
    assert default_location("sqlite:///var/vbus.db") == Path("var/vbus.db.packages")
    assert default_location("sqlite:////srv/vbus/vbus.db") == Path("/srv/vbus/vbus.db.packages")
    assert default_location("var/hub.db") == Path("var/hub.db.packages")
    assert default_location("sqlite://") == Path("var/packages")
    assert default_location("postgresql://vbus@db/vbus") == Path("var/packages")


def test_a_batch_is_kept_together_and_once(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path)
    first = archive.put(b"already there")
    digests = archive.put_many([b"a", b"b", b"a", b"already there"])
    assert digests[2] == digests[0]
    assert digests[3] == first
    assert [archive.get(d) for d in digests] == [b"a", b"b", b"a", b"already there"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted({*digests})
    assert archive.put_many([]) == []


def test_a_failed_batch_leaves_no_temporary_file(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path / "a")
    archive.put(b"first")
    blocker = archive.path(hashlib.sha256(b"second").hexdigest()).parent
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"a file where its folder should be")
    with pytest.raises(OSError):
        archive.put_many([b"third", b"second"])
    assert not list(tmp_path.rglob(".incoming-*"))
    assert hashlib.sha256(b"third").hexdigest() not in archive


def _count_flushes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_fsync, real_syncfs = os.fsync, archive_module._SYNCFS

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(archive_module.os, "fsync", fsync)
    if real_syncfs is not None:

        def syncfs(fd: int) -> int:
            calls.append("syncfs")
            return real_syncfs(fd)

        monkeypatch.setattr(archive_module, "_SYNCFS", syncfs)
    return calls


@pytest.mark.skipif(archive_module._SYNCFS is None, reason="syncfs needs Linux 5.8 or later")
def test_a_batch_costs_two_flushes_not_three_per_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_flushes(monkeypatch)
    archive = PackageArchive(tmp_path / "packages")
    packages = [f"package {i}".encode() for i in range(20)]
    digests = archive.put_many(packages)
    assert calls == ["syncfs", "syncfs"]  # the files' data, then the renames
    assert [archive.get(d) for d in digests] == packages
    assert not list(tmp_path.rglob(".incoming-*"))


def test_without_syncfs_each_file_and_folder_is_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_flushes(monkeypatch)
    monkeypatch.setattr(archive_module, "_SYNCFS", None)
    archive = PackageArchive(tmp_path / "packages")
    packages = [f"package {i}".encode() for i in range(5)]
    digests = archive.put_many(packages)
    folders = {archive.path(d).parent for d in digests}
    assert calls.count("fsync") == 5 + len(folders) + len({f.parent for f in folders}) + 1
    assert [archive.get(d) for d in digests] == packages


def test_a_folder_removed_behind_the_archive_is_made_again(tmp_path: Path) -> None:
    archive = PackageArchive(tmp_path / "packages")
    first = archive.put(b"first")
    shutil.rmtree(archive.path(first).parent)
    assert archive.get(archive.put(b"first")) == b"first"


def test_the_archive_remembers_nothing_per_package_or_folder(tmp_path: Path) -> None:
    """A hub writes millions of packages in 65,536 folders: its archive object must not grow with them."""
    archive = PackageArchive(tmp_path / "packages")
    for i in range(300):
        archive.put_many([f"package {i}".encode(), f"status {i}".encode()])
    sizes = [len(v) for v in vars(archive).values() if isinstance(v, (dict, set, list))]
    assert all(size < 10 for size in sizes)
