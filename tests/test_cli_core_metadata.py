"""metadata.json, the format `vb unpack` writes and `vb pack` reads: round trips and hand-written files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from vbcore.edxml import read_package, write_package
from vbcore.errors import ConfigurationError, PackageRefused
from vbcore.metadata import build_edoc, unpack_edoc
from vbcore.model import Attachment, Blob, Edoc, Organization
from vbcore.status import BusinessDocType

NOW = datetime(2025, 7, 1, 9, 30, 0)


def interop_documents(interop_dir: Path) -> list[Path]:
    found = []
    for path in sorted(interop_dir.iterdir()):
        try:
            pkg = read_package(path).package
        except PackageRefused:
            continue
        if isinstance(pkg, Edoc) and pkg.code.code_number and pkg.code.code_notation and pkg.subject:
            found.append(path)
    return found


def test_every_readable_interop_document_survives_unpack_then_pack(interop_dir: Path, tmp_path: Path) -> None:
    paths = interop_documents(interop_dir)
    assert len(paths) >= 10
    for i, path in enumerate(paths):
        original = read_package(path).package
        assert isinstance(original, Edoc)
        folder = tmp_path / str(i)
        unpack_edoc(original, folder)
        rebuilt = build_edoc(metadata=folder / "metadata.json", today=NOW)
        assert rebuilt == original, path.name
        assert read_package(write_package(rebuilt)).package == original, path.name


def test_update_and_revocation_details_survive_the_round_trip(interop_dir: Path, tmp_path: Path) -> None:
    original = read_package(interop_dir / "vpcp-sdk-sample__edoc_update.edxml").package
    assert isinstance(original, Edoc)
    assert original.business_type is BusinessDocType.UPDATE
    unpack_edoc(original, tmp_path)
    rebuilt = build_edoc(metadata=tmp_path / "metadata.json", today=NOW)
    assert rebuilt.business == original.business


def test_hand_written_yaml_metadata_may_use_codes_and_bare_files(tmp_path: Path) -> None:
    (tmp_path / "qd.pdf").write_bytes(b"%PDF-1.7\n")
    meta = tmp_path / "meta.yaml"
    meta.write_text(
        "from: 000.00.00.G22\n"
        "to: [000.00.00.H24, 000.00.00.H53]\n"
        "code: {code_number: '45', code_notation: QĐ-TTg}\n"
        "promulgation_info: {place: Hà Nội, promulgation_date: 2025/06/30}\n"
        "document_type: {type: 1, type_name: Quyết định}\n"
        "subject: Quyết định về mã định danh\n"
        "other_info: {priority: 1}\n"
        "attachments:\n  - file: qd.pdf\n    description: Bản ký số\n",
        encoding="utf-8",
    )
    edoc = build_edoc(metadata=meta, today=NOW)
    assert edoc.from_ == Organization("000.00.00.G22")
    assert edoc.recipients == ("000.00.00.H24", "000.00.00.H53")
    assert edoc.promulgation_info.promulgation_date == date(2025, 6, 30)
    assert edoc.other_info.priority == 1
    assert edoc.document_id == "000.00.00.G22,2025/06/30,45/QĐ-TTg"
    [att] = edoc.attachments
    assert (att.name, att.content_type, att.description) == ("qd.pdf", "application/pdf", "Bản ký số")
    assert att.content_id.startswith("cid:")
    assert edoc.manifest[0].content_id == att.content_id
    assert edoc.business is not None
    assert edoc.business.business_doc_type is BusinessDocType.NEW
    assert edoc.trace_headers[0].timestamp == NOW


def test_options_override_the_metadata_file(tmp_path: Path) -> None:
    meta = tmp_path / "m.json"
    meta.write_text('{"from": "000.00.00.G22", "to": ["000.00.00.H24"], "subject": "cũ",'
                    ' "code": {"code_number": "1", "code_notation": "A"}}', encoding="utf-8")  # fmt: skip
    edoc = build_edoc(metadata=meta, subject="mới", number="2", recipients=("000.00.00.H53",), today=NOW)
    assert (edoc.subject, str(edoc.code), edoc.recipients) == ("mới", "2/A", ("000.00.00.H53",))


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"from": "000.00.00.G22", "to": ["x"], "subjet": "typo"}', "unknown keys ['subjet']"),
        ('{"from": "000.00.00.G22", "to": ["x"], "other_info": {"priority": "high"}}', "other_info.priority"),
        ('{"from": "000.00.00.G22", "to": ["x"], "attachments": [{"file": "nope.pdf"}]}', "does not exist"),
        ('{"to": ["x"]}', "--from is missing"),
    ],
)
def test_bad_metadata_names_the_key(tmp_path: Path, content: str, complaint: str) -> None:
    meta = tmp_path / "m.json"
    meta.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        build_edoc(metadata=meta, today=NOW)
    assert complaint in str(err.value)


def test_unpack_makes_attachment_names_safe_and_unique(tmp_path: Path) -> None:
    def att(name: str, data: bytes) -> Attachment:
        return Attachment(content_id=f"cid:{len(data)}", name=name, content=Blob(data))

    edoc = Edoc(
        from_=Organization("000.00.00.G22"),
        to=(Organization("000.00.00.H24"),),
        attachments=(att("../../etc/passwd", b"a"), att("a/b\\c.txt", b"bb"), att("c.txt", b"ccc"),
                     att("metadata.json", b"dddd"), att("", b"eeeee")),
    )  # fmt: skip
    out = tmp_path / "out"
    names = unpack_edoc(edoc, out)
    assert names == ["passwd", "c.txt", "c-2.txt", "metadata-2.json", "attachment-5", "metadata.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert (out / "c-2.txt").read_bytes() == b"ccc"
    assert not (tmp_path / "etc").exists()
