"""A 50 MB attachment: written in chunks, read back streamed and spooled, equal byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vbcore.edxml import read_package, write_package_to
from vbcore.model import Attachment, Blob, Edoc, Organization

MiB = 1024 * 1024


def edoc_with_file(path: Path, *, zipped: bool) -> Edoc:
    att = Attachment("cid:scan", "bản scan.pdf", Blob.from_file(path), "application/pdf", zipped=zipped)
    return Edoc(from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.H41"),), attachments=(att,))


@pytest.mark.slow
@pytest.mark.parametrize("zipped", [False, True], ids=["raw", "zipped"])
def test_fifty_megabyte_attachment_reads_back_equal(tmp_path: Path, zipped: bool) -> None:
    source = tmp_path / "scan.pdf"
    # Random bytes do not compress: the zipped package is as large as the raw one.
    source.write_bytes(os.urandom(50 * MiB))
    package = tmp_path / "package.edxml"
    doc = edoc_with_file(source, zipped=zipped)
    with package.open("wb") as out:
        write_package_to(doc, out)
    # base64 makes 50 MiB into 66.7 MiB: within the default limit (it was over the 64 MiB of 0.x).
    assert package.stat().st_size > 66 * MiB
    spool = tmp_path / "spool"
    spool.mkdir()
    result = read_package(package, spool_dir=spool)
    assert isinstance(result.package, Edoc)
    (att,) = result.package.attachments
    assert att.content.path is not None
    assert att.content.path.parent == spool
    assert att.content == Blob.from_file(source)
    assert att.zipped is zipped
    assert result.package == doc


def test_a_whole_package_with_a_20_mb_attachment_parses_as_one_tree() -> None:
    # libxml2 caps a text node at 10 MB unless huge_tree is on; the hub parses whole packages.
    from vbcore.edxml import parse_xml

    blob = b"A" * (20 * MiB)
    data = b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x>' + blob + b"</x></edXML>"
    root = parse_xml(data)
    assert len(root[0].text or "") == 20 * MiB
