"""The core `vb` commands against the interop samples and packages they build themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from vbcore.cli import vb
from vbcore.edxml import read_package
from vbcore.model import Edoc

PVN_UPLOAD = "pvn-gateway__uploads__1da394ba-2117-4354-a23f-6ec3e47ba81b.edxml"
NOT_WELL_FORMED = "vpcp-sdk-sample__edoc_new.edxml"  # stray "1212" before the XML declaration
STATUS_02 = "vpcp-sdk-sample__status_rejection_02.edxml"
FOREIGN_SIGNATURE = "bkav__edoc-webapp__edoc_update.edxml"


@pytest.fixture
def run() -> CliRunner:
    """``vb`` in English (``VBUS_LANG=en``); the Vietnamese default is tested in its own tests."""
    return CliRunner(env={"VBUS_LANG": "en"})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    result = CliRunner().invoke(
        vb, ["keys", "init", str(d), "--agency", "000.00.00.G22", "--agency", "000.00.00.H24"]
    )
    assert result.exit_code == 0, result.output
    return d


def pack_args(out: Path, *extra: str) -> list[str]:
    return [
        "pack", "--from", "000.00.00.G22", "--to", "000.00.00.H24", "--to", "000.00.00.H53",
        "--number", "123", "--notation", "VPCP-TH", "--subject", "V/v thử nghiệm liên thông",
        "--type-name", "Công văn", "--date", "2025-07-01", "-o", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture
def packed(run: CliRunner, tmp_path: Path) -> Path:
    (tmp_path / "công văn.txt").write_text("Nội dung công văn\n", encoding="utf-8")
    (tmp_path / "phụ lục.pdf").write_bytes(b"%PDF-1.4 fake\n")
    out = tmp_path / "out.edxml"
    result = run.invoke(vb, pack_args(out, "--attach", str(tmp_path / "công văn.txt"),
                                      "--attach", str(tmp_path / "phụ lục.pdf")))  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


# --- validate -------------------------------------------------------------------------------------


def test_validate_accepts_a_real_producers_package(run: CliRunner, interop_dir: Path) -> None:
    result = run.invoke(vb, ["validate", str(interop_dir / PVN_UPLOAD)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"{PVN_UPLOAD}: valid")


def test_validate_reports_each_bad_file_with_its_line_and_exits_1(run: CliRunner, interop_dir: Path) -> None:
    good, bad = interop_dir / PVN_UPLOAD, interop_dir / NOT_WELL_FORMED
    result = run.invoke(vb, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    bad_lines = [line for line in result.output.splitlines() if line.startswith(f"{bad}:")]
    assert len(bad_lines) == 1
    assert "line 1" in bad_lines[0]
    assert f"{good}: valid" in result.output


def test_validate_names_schema_problems_with_line_numbers(run: CliRunner, packed: Path) -> None:
    broken = packed.with_name("broken.edxml")
    text = packed.read_text(encoding="utf-8")
    assert "<edXML:Type>2</edXML:Type>" in text
    broken.write_text(
        text.replace("<edXML:Type>2</edXML:Type>", "<edXML:Type>hai</edXML:Type>"), encoding="utf-8"
    )
    result = run.invoke(vb, ["validate", str(broken), "--json"])
    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert report["valid"] is False
    assert any("Type" in (p["path"] or p["message"]) and p["line"] for p in report["problems"])
    explained = run.invoke(vb, ["validate", "--explain", str(broken)])
    assert explained.exit_code == 1
    [line, unsigned] = explained.output.splitlines()  # the schema and the reader name it once
    assert line.startswith(f"{broken}: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentType/Type: ")
    assert "'hai'" in line
    assert line.endswith(", column 11)")
    assert "(line " in line
    assert unsigned.startswith(f"{broken}: warning [unsigned] the package carries no signature")


def test_validate_reads_in_vietnamese_by_default_with_the_path_line_and_value(
    packed: Path, interop_dir: Path
) -> None:
    broken = packed.with_name("broken.edxml")
    broken.write_text(packed.read_text(encoding="utf-8").replace("<edXML:Type>2<", "<edXML:Type>hai<"))
    vi = CliRunner(env={"VBUS_LANG": None})
    result = vi.invoke(vb, ["validate", str(broken), str(interop_dir / NOT_WELL_FORMED)])
    assert result.exit_code == 1
    where = re.search(r"\(dòng \d+, cột 11\)", result.output)
    assert where is not None
    assert (
        f"{broken}: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentType/Type: giá trị 'hai' "
        f"không đúng định dạng (mẫu '[0-9]{{1,9}}') {where.group()}" in result.output
    )
    assert "không tìm thấy thẻ mở đầu ('<'): nội dung không phải là XML (dòng 1, cột 1)" in result.output
    explained = vi.invoke(vb, ["validate", "--explain", str(broken)])
    assert f"giá trị 'hai' không đúng định dạng {where.group()}" in explained.output
    for english in ("value", "line", "expected", "not"):
        assert f" {english} " not in result.output + explained.output


# --- show -----------------------------------------------------------------------------------------


def test_show_reads_in_vietnamese_by_default(packed: Path, interop_dir: Path) -> None:
    vi = CliRunner(env={"VBUS_LANG": None})
    out = vi.invoke(vb, ["show", str(packed)]).output
    assert "từ             000.00.00.G22 (Văn phòng Chính phủ)" in out
    assert "nghiệp vụ      Văn bản mới" in out
    assert "chữ ký         không có chữ ký" in out
    foreign = vi.invoke(vb, ["show", str(interop_dir / FOREIGN_SIGNATURE)]).output
    assert "000.00.12.H53 (UBND Tỉnh Cao Bằng; không có trong danh bạ)" in foreign
    assert "có, nhưng không phải XML-DSig" in foreign


def test_show_lists_sender_recipients_attachments_with_directory_names(run: CliRunner, packed: Path) -> None:
    result = run.invoke(vb, ["show", str(packed)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "000.00.00.G22 (Văn phòng Chính phủ)" in out
    assert "000.00.00.H53 (UBND tỉnh Tây Ninh)" in out
    assert "123/VPCP-TH" in out
    assert "2025-07-01" in out
    assert "V/v thử nghiệm liên thông" in out
    assert "công văn.txt  text/plain  22 B" in out
    assert "phụ lục.pdf  application/pdf" in out
    assert "signature   unsigned" in out


def test_show_json_of_a_status_package(run: CliRunner, interop_dir: Path) -> None:
    result = run.invoke(vb, ["show", str(interop_dir / STATUS_02), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "status"
    assert data["status_code"] == "02"
    assert data["status"] == "Từ chối tiếp nhận"
    assert data["from_label"] == "000.00.00.H41 (UBND tỉnh Nghệ An)"
    assert data["signature"] == "unsigned"


def test_show_says_a_signature_outside_xmldsig_is_not_one(run: CliRunner, interop_dir: Path) -> None:
    result = run.invoke(vb, ["show", str(interop_dir / FOREIGN_SIGNATURE)])
    assert result.exit_code == 0
    assert "not XML-DSig" in result.output
    # an unknown code is shown with the package's own OrganName
    assert "000.00.12.H53 (UBND Tỉnh Cao Bằng; not in the directory)" in result.output


def test_show_names_test_tenants_as_such(run: CliRunner, interop_dir: Path) -> None:
    result = run.invoke(vb, ["show", str(interop_dir / PVN_UPLOAD)])
    assert "vxp.saas.03 (Đơn vị test vxp 3; a test tenant id, not in the directory)" in result.output


def test_show_of_an_unreadable_file_fails_with_the_reason(run: CliRunner, interop_dir: Path) -> None:
    result = run.invoke(vb, ["show", str(interop_dir / NOT_WELL_FORMED)])
    assert result.exit_code == 1
    assert "line 1" in result.output


# --- pack and unpack ------------------------------------------------------------------------------


def test_pack_builds_the_conventional_document_id_and_fills_names(packed: Path) -> None:
    edoc = read_package(packed).package
    assert isinstance(edoc, Edoc)
    assert edoc.document_id == "000.00.00.G22,2025/07/01,123/VPCP-TH"
    assert edoc.from_.organ_name == "Văn phòng Chính phủ"
    assert [o.organ_name for o in edoc.to] == ["UBND thành phố Hà Nội", "UBND tỉnh Tây Ninh"]
    assert edoc.document_type.type == 2
    assert [a.name for a in edoc.attachments] == ["công văn.txt", "phụ lục.pdf"]
    assert edoc.attachments[0].content.read_bytes() == "Nội dung công văn\n".encode()
    assert [m.attachment_name for m in edoc.manifest] == ["công văn.txt", "phụ lục.pdf"]
    assert edoc.trace_headers[0].organ_id == "000.00.00.G22"


def test_pack_refuses_a_closed_recipient_and_names_the_successor(run: CliRunner, tmp_path: Path) -> None:
    args = pack_args(tmp_path / "x.edxml")
    args[args.index("000.00.00.H53")] = "000.00.00.H39"  # Long An, merged into Tây Ninh
    result = run.invoke(vb, args)
    assert result.exit_code == 1
    assert "000.00.00.H53 (UBND tỉnh Tây Ninh)" in result.output
    assert not (tmp_path / "x.edxml").exists()


def test_pack_says_which_field_is_missing(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(vb, ["pack", "--from", "000.00.00.G22", "--to", "000.00.00.H24", "--number", "1",
                             "--subject", "s", "-o", str(tmp_path / "x.edxml")])  # fmt: skip
    assert result.exit_code == 1
    assert "--notation is missing" in result.output


def test_unpack_writes_original_bytes_and_metadata_that_pack_reads_back(
    run: CliRunner, packed: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "un"
    result = run.invoke(vb, ["unpack", str(packed), str(out_dir)])
    assert result.exit_code == 0, result.output
    assert (out_dir / "phụ lục.pdf").read_bytes() == b"%PDF-1.4 fake\n"
    meta = json.loads((out_dir / "metadata.json").read_text(encoding="utf-8"))
    assert meta["subject"] == "V/v thử nghiệm liên thông"
    again = tmp_path / "again.edxml"
    result = run.invoke(vb, ["pack", "--metadata", str(out_dir / "metadata.json"), "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert read_package(again).package == read_package(packed).package


def test_unpack_refuses_a_non_empty_folder_and_a_status_package(
    run: CliRunner, packed: Path, interop_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = run.invoke(vb, ["unpack", str(packed), str(tmp_path / "full")])
    assert result.exit_code == 1
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    status = run.invoke(vb, ["unpack", str(interop_dir / STATUS_02), str(tmp_path / "st")])
    assert status.exit_code == 1
    assert "status package" in status.output


# --- keys, sign, verify ---------------------------------------------------------------------------


def test_sign_then_verify_names_the_signer(run: CliRunner, packed: Path, pki: Path) -> None:
    signed = packed.with_name("signed.edxml")
    result = run.invoke(vb, ["sign", str(packed), "--key", str(pki / "000.00.00.G22.key.pem"),
                             "--cert", str(pki / "000.00.00.G22.pem"), "-o", str(signed)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "signed by 000.00.00.G22 (Văn phòng Chính phủ)" in result.output
    verified = run.invoke(vb, ["verify", str(signed), "--trust", str(pki / "ca.pem")])
    assert verified.exit_code == 0, verified.output
    assert "signed by 000.00.00.G22 (Văn phòng Chính phủ)" in verified.output
    shown = run.invoke(vb, ["show", str(signed), "--trust", str(pki / "ca.pem")])
    assert "present: rsa-sha256; verified, signed by 000.00.00.G22" in shown.output


def test_verify_fails_for_a_tampered_package(run: CliRunner, packed: Path, pki: Path) -> None:
    key, cert = str(pki / "000.00.00.G22.key.pem"), str(pki / "000.00.00.G22.pem")
    assert run.invoke(vb, ["sign", str(packed), "--key", key, "--cert", cert]).exit_code == 0
    text = packed.read_text(encoding="utf-8")
    packed.write_text(text.replace("V/v thử nghiệm", "V/v giả mạo"), encoding="utf-8")
    result = run.invoke(vb, ["verify", str(packed), "--trust", str(pki / "ca.pem"), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["valid"] is False
    assert data["reason"] == "signature-invalid"


def test_verify_refuses_a_signer_that_is_not_the_sender(run: CliRunner, packed: Path, pki: Path) -> None:
    key, cert = str(pki / "000.00.00.H24.key.pem"), str(pki / "000.00.00.H24.pem")
    result = run.invoke(vb, ["sign", str(packed), "--key", key, "--cert", cert])
    assert result.exit_code == 0
    assert "receivers will refuse it" in result.output
    verified = run.invoke(vb, ["verify", str(packed), "--trust", str(pki / "ca.pem")])
    assert verified.exit_code == 1


def test_verify_fails_for_an_unsigned_package(run: CliRunner, packed: Path, pki: Path) -> None:
    result = run.invoke(vb, ["verify", str(packed), "--trust", str(pki / "ca.pem")])
    assert result.exit_code == 1
    assert "no XML-DSig signature" in result.output


def test_pack_signs_at_once_with_key_and_cert(run: CliRunner, tmp_path: Path, pki: Path) -> None:
    out = tmp_path / "s.edxml"
    result = run.invoke(vb, pack_args(out, "--key", str(pki / "000.00.00.G22.key.pem"),
                                      "--cert", str(pki / "000.00.00.G22.pem")))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert run.invoke(vb, ["verify", str(out), "--trust", str(pki / "ca.pem")]).exit_code == 0


def test_keys_init_refuses_a_closed_agency(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(vb, ["keys", "init", str(tmp_path / "k"), "--agency", "000.00.00.G04"])
    assert result.exit_code == 1
    assert "000.00.00.G17 (Bộ Xây dựng)" in result.output


def test_keys_init_accepts_test_tenants_and_unknown_units(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(vb, ["keys", "init", str(tmp_path / "k"), "--agency", "vxp.saas.03",
                             "--agency", "000.00.11.H53", "--key-type", "ec"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "k" / "vxp.saas.03.pem").is_file()
    assert (tmp_path / "k" / "000.00.11.H53.key.pem").is_file()


def test_show_with_another_ca_says_the_signature_is_not_verified(
    run: CliRunner, packed: Path, pki: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert run.invoke(vb, ["keys", "init", str(other)]).exit_code == 0
    key, cert = str(pki / "000.00.00.G22.key.pem"), str(pki / "000.00.00.G22.pem")
    assert run.invoke(vb, ["sign", str(packed), "--key", key, "--cert", cert]).exit_code == 0
    result = run.invoke(vb, ["show", str(packed), "--trust", str(other / "ca.pem"), "--json"])
    assert result.exit_code == 0
    signature = json.loads(result.output)["signature"]
    assert signature.startswith("present: rsa-sha256; NOT verified:")
    assert "does not chain to a trusted CA" in signature


def test_vb_pack_of_vb_unpack_gives_back_a_test_tenants_package(
    run: CliRunner, interop_dir: Path, tmp_path: Path
) -> None:
    original = interop_dir / PVN_UPLOAD  # from vxp.saas.03 to vxp.saas.02, three attachments
    assert run.invoke(vb, ["unpack", str(original), str(tmp_path / "un")]).exit_code == 0
    again = tmp_path / "again.edxml"
    result = run.invoke(vb, ["pack", "--metadata", str(tmp_path / "un" / "metadata.json"), "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert "vxp.saas.03 is a test tenant id" in result.output
    assert read_package(again).package == read_package(original).package


def test_pack_refuses_a_malformed_code(run: CliRunner, tmp_path: Path) -> None:
    args = pack_args(tmp_path / "x.edxml")
    args[args.index("000.00.00.H24")] = "H24"
    result = run.invoke(vb, args)
    assert result.exit_code == 1
    assert "--to: 'H24' is not an agency code" in result.output


def test_a_file_that_cannot_be_written_is_one_line_in_the_chosen_language_not_a_traceback(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = ["keys", "init", str(blocker / "pki"), "--agency", "000.00.00.G22"]
    vi = CliRunner(env={"VBUS_LANG": None}).invoke(vb, args)
    assert (vi.exit_code, vi.output) == (1, f"Lỗi: tệp {blocker / 'pki'}: không phải là thư mục\n")
    en = CliRunner().invoke(vb, ["--lang", "en", *args])
    assert (en.exit_code, en.output) == (1, f"Error: file {blocker / 'pki'}: is not a folder\n")
