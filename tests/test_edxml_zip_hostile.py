"""Hostile ZIP attachments: every failure is a refusal naming the attachment, nothing escapes the spool.

The first group are the exception types fuzzing found escaping the zip reader (each was a crash of
whoever read the package: the hub, then every receiver); the rest are ZIP bombs, lying sizes and
hostile entry names.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import (
    MiB,
    attachment,
    bomb,
    central_directory_offset_moved,
    corrupt_data,
    declared_size,
    header_offset_zip64,
    one_entry,
    package,
    utf8_flagged_bad_name,
    zip_of,
)

from vbcore.edxml import ParseLimits, read_package
from vbcore.edxml.zipped import unwrap_zip
from vbcore.errors import (
    AttachmentsTooLarge,
    AttachmentTooLarge,
    AttachmentUnreadable,
    CompressionRatioTooHigh,
)
from vbcore.model import Blob, Edoc

ESCAPED_BEFORE: dict[str, Callable[[], bytes]] = {
    # zlib.error: deflate data that is not deflate
    "corrupt deflate data": lambda: corrupt_data(one_entry()),
    # OSError("Invalid data stream") from bz2
    "corrupt bzip2 data": lambda: corrupt_data(one_entry(method=zipfile.ZIP_BZIP2)),
    # lzma.LZMAError
    "corrupt lzma data": lambda: corrupt_data(one_entry(method=zipfile.ZIP_LZMA), at=9, length=8),
    # UnicodeDecodeError: the UTF-8 flag on a name that is not UTF-8
    "a name flagged UTF-8 that is not": utf8_flagged_bad_name,
    # ValueError("negative seek value") from an offset the end record moved
    "a central directory offset past its place": lambda: central_directory_offset_moved(one_entry(), 1000),
    # OverflowError from a ZIP64 offset beyond any file
    "a ZIP64 offset of 2**64 - 1": lambda: header_offset_zip64(one_entry(), 2**64 - 1),
}


def read_attachment(
    content: bytes, tmp_path: Path, limits: ParseLimits | None = None, name: str = "a.pdf"
) -> Edoc:
    data = package(attachments=attachment(content, name=name, content_id="cid:hostile"))
    doc = read_package(data, spool_dir=tmp_path, limits=limits or ParseLimits()).package
    assert isinstance(doc, Edoc)
    return doc


@pytest.mark.parametrize("case", sorted(ESCAPED_BEFORE))
def test_a_broken_zip_is_refused_naming_the_attachment_never_another_exception(
    case: str, tmp_path: Path
) -> None:
    with pytest.raises(AttachmentUnreadable, match=r"attachment cid:hostile: .*ZIP") as caught:
        read_attachment(ESCAPED_BEFORE[case](), tmp_path)
    assert "tệp đính kèm cid:hostile" in caught.value.describe("vi")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", sorted(ESCAPED_BEFORE))
def test_a_broken_zip_in_a_spooled_file_is_refused_the_same_way(case: str, tmp_path: Path) -> None:
    # Over 1 MiB an attachment is read from a file, where bad seeks raise other types (OSError 22).
    spooled = tmp_path / "spooled.bin"
    spooled.write_bytes(ESCAPED_BEFORE[case]() + bytes(MiB))  # trailing bytes: ZIP readers allow them
    with pytest.raises(AttachmentUnreadable, match="attachment x: "):
        unwrap_zip(Blob.from_file(spooled), "x", tmp_path, ParseLimits())


def test_an_entry_with_an_empty_name_is_read_its_name_is_never_used(tmp_path: Path) -> None:
    # It raised IndexError (ZipInfo.is_dir) before: the reader does not need the entry's name at all.
    doc = read_attachment(one_entry(b"%PDF-1.4 body", name=""), tmp_path)
    assert doc.attachments[0].content.read_bytes() == b"%PDF-1.4 body"
    assert doc.attachments[0].zipped


def test_an_entry_that_inflates_past_its_declared_size_is_refused_without_writing_more(
    tmp_path: Path,
) -> None:
    archive = declared_size(one_entry(b"x" * 100_000), 10)  # says 10 bytes, holds 100,000
    with pytest.raises(AttachmentUnreadable, match="does not match its declared size"):
        read_attachment(archive, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_entry_that_ends_before_its_declared_size_is_refused(tmp_path: Path) -> None:
    archive = declared_size(one_entry(b"x" * 1000), 5000)
    with pytest.raises(AttachmentUnreadable, match="expands to 1000 bytes but declares 5000"):
        read_attachment(archive, tmp_path)


def test_a_zip_bomb_is_refused_by_its_ratio_before_anything_is_inflated(tmp_path: Path) -> None:
    with pytest.raises(CompressionRatioTooHigh, match=r"expands \d+ times .*at most 100 times"):
        read_attachment(bomb(20 * MiB), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_entry_declaring_more_than_the_unzipped_limit_is_refused_before_inflating(tmp_path: Path) -> None:
    limits = ParseLimits(max_unzipped_bytes=MiB, max_zip_ratio=10_000)
    with pytest.raises(AttachmentTooLarge, match=f"declares {2 * MiB} bytes, over {MiB}"):
        read_attachment(bomb(2 * MiB), tmp_path, limits)


def test_many_zip_bombs_in_one_package_stop_at_the_per_package_total(tmp_path: Path) -> None:
    # Each 7 MiB bomb passes the per-attachment limits (under the ratio-free size): together they
    # would spool 180 x 7 MiB; the package's total stops them at max_spooled_bytes.
    one = bomb(7 * MiB)
    atts = "".join(attachment(one, content_id=f"cid:{i}", name=f"{i}.pdf") for i in range(180))
    limits = ParseLimits(max_spooled_bytes=30 * MiB)
    with pytest.raises(AttachmentsTooLarge, match=f"expand to more than {30 * MiB} bytes .*attachment cid:4"):
        read_package(package(attachments=atts), spool_dir=tmp_path, limits=limits)
    assert list(tmp_path.iterdir()) == []


def test_the_default_per_package_total_is_512_mib() -> None:
    assert ParseLimits().max_spooled_bytes == 512 * MiB


def test_a_nested_zip_is_handed_on_as_it_is_never_expanded(tmp_path: Path) -> None:
    inner = zip_of({"bomb.pdf": bytes(5 * MiB)})
    outer = one_entry(inner, name="inner.zip")
    doc = read_attachment(outer, tmp_path)
    assert doc.attachments[0].zipped
    assert doc.attachments[0].content.read_bytes() == inner  # one level unwrapped, no more


@pytest.mark.parametrize(
    "entry_name",
    ["../../../etc/passwd", "/etc/passwd", "C:\\Windows\\evil.exe", "a\x00b.pdf", "đ" * 200 + ".pdf"],
)
def test_a_hostile_name_inside_the_zip_never_names_a_file(entry_name: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    content = b"%PDF-1.4 " + bytes(2 * MiB)  # large enough to be spooled to a file
    doc = read_attachment(one_entry(content, name=entry_name), spool, name="công văn.pdf")
    assert doc.attachments[0].content.read_bytes() == content
    assert doc.attachments[0].name == "công văn.pdf"  # the package's AttachmentName, not the entry's
    assert [p.parent for p in tmp_path.rglob("*") if p.is_file()] == [spool]


def test_an_encrypted_entry_is_refused_as_encrypted(tmp_path: Path) -> None:
    archive = bytearray(one_entry())
    archive[6] |= 1  # general purpose flag, local header
    cd = bytes(archive).find(b"PK\x01\x02")
    archive[cd + 8] |= 1  # and in the central directory
    with pytest.raises(AttachmentUnreadable, match="is encrypted"):
        read_attachment(bytes(archive), tmp_path)
