"""`vb agencies`: list, show, search, check; with the shipped directory and an operator's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vbcore.cli import vb


@pytest.fixture
def run() -> CliRunner:
    """``vb`` in English (``VBUS_LANG=en``); ``vi`` runs the default, Vietnamese."""
    return CliRunner(env={"VBUS_LANG": "en"})


@pytest.fixture
def vi() -> CliRunner:
    return CliRunner(env={"VBUS_LANG": None})


def test_an_agency_reads_in_vietnamese_by_default(vi: CliRunner) -> None:
    shown = vi.invoke(vb, ["agencies", "show", "000.00.00.G14"]).output
    assert "trạng thái:    đã ngừng sử dụng theo QĐ 09/2025/QĐ-TTg" in shown
    assert "kế thừa:       000.00.00.G06 Bộ Khoa học và Công nghệ" in shown
    listed = vi.invoke(vb, ["agencies", "list", "--kind", "ministry", "--all-including-closed"]).output
    assert listed.splitlines()[0].split("  ")[0] == "mã"
    assert "đã ngừng sử dụng → 000.00.00.G06" in listed
    assert "bộ, cơ quan ngang bộ" in listed
    unknown = vi.invoke(vb, ["agencies", "show", "000.00.00.Z99"])
    assert unknown.output.startswith("Lỗi: 000.00.00.Z99 không có trong danh bạ")
    for english in ("closed", "open", "successor", "ministry"):
        assert english not in shown + listed


def test_list_shows_open_agencies_only_by_default(run: CliRunner) -> None:
    result = run.invoke(vb, ["agencies", "list", "--kind", "province-ubnd"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()[2:]
    assert len(lines) == 34
    assert any("000.00.00.H24" in line and "UBND thành phố Hà Nội" in line for line in lines)
    assert "H47" not in result.output


def test_list_including_closed_shows_where_they_went(run: CliRunner) -> None:
    result = run.invoke(vb, ["agencies", "list", "--kind", "province-ubnd", "--all-including-closed"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) - 2 == 63
    line = next(x for x in result.output.splitlines() if x.startswith("000.00.00.H47"))
    assert "closed → 000.00.00.H15" in line


def test_list_as_json_keeps_vietnamese_as_written(run: CliRunner) -> None:
    result = run.invoke(vb, ["agencies", "list", "--kind", "government-office", "--json"])
    assert result.exit_code == 0
    assert "Văn phòng Chính phủ" in result.output  # not \\u escapes
    data = json.loads(result.output)
    assert data == [
        {"code": "000.00.00.G22", "name": "Văn phòng Chính phủ", "short_name": "VPCP",
         "kind": "government-office", "closed": False}
    ]  # fmt: skip


def test_show_closed_code_names_its_successor(run: CliRunner) -> None:
    result = run.invoke(vb, ["agencies", "show", "000.00.00.G14"])
    assert result.exit_code == 0
    assert "Bộ Thông tin và Truyền thông" in result.output
    assert "closed by QĐ 09/2025/QĐ-TTg" in result.output
    assert "successor:    000.00.00.G06 Bộ Khoa học và Công nghệ" in result.output


def test_show_open_code_lists_the_codes_it_took_over(run: CliRunner) -> None:
    result = run.invoke(vb, ["agencies", "show", "000.00.00.H29", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["name"] == "UBND thành phố Hồ Chí Minh"
    assert data["predecessors"] == ["000.00.00.H02", "000.00.00.H09"]


def test_show_unknown_and_malformed_codes_fail_with_the_reason(run: CliRunner) -> None:
    unknown = run.invoke(vb, ["agencies", "show", "000.00.00.Z99"])
    assert unknown.exit_code == 1
    assert "000.00.00.Z99 is not in the directory" in unknown.output
    malformed = run.invoke(vb, ["agencies", "show", "G22"])
    assert malformed.exit_code == 1
    assert "LLL.KK.JJ.XNN" in malformed.output


def test_search_is_accent_insensitive_and_exits_1_when_nothing_matches(run: CliRunner) -> None:
    found = run.invoke(vb, ["agencies", "search", "tay ninh"])
    assert found.exit_code == 0
    assert "000.00.00.H53" in found.output
    assert "UBND tỉnh Tây Ninh" in found.output
    none = run.invoke(vb, ["agencies", "search", "atlantis"])
    assert none.exit_code == 1


def test_operator_directory_file_adds_units_and_test_tenants(run: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "ops.yaml"
    f.write_text(
        "agencies:\n"
        "  - {code: 000.00.11.H53, name: Sở Tài chính tỉnh Tây Ninh}\n"
        "  - {code: vxp.saas.03, name: Đơn vị test vxp 3}\n",
        encoding="utf-8",
    )
    shown = run.invoke(vb, ["agencies", "show", "000.00.00.H53", "--directory", str(f)])
    assert shown.exit_code == 0
    assert "unit:         000.00.11.H53 Sở Tài chính tỉnh Tây Ninh" in shown.output
    tenants = run.invoke(vb, ["agencies", "list", "--kind", "test-tenant", "--directory", str(f)])
    assert "vxp.saas.03" in tenants.output
    check = run.invoke(vb, ["agencies", "check", "--directory", str(f)])
    assert check.exit_code == 0
    assert "no problems" in check.output


def test_broken_operator_file_is_an_error_naming_the_entry(run: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "ops.json"
    f.write_text(json.dumps({"agencies": [{"code": "000.00.11.h53", "name": "x"}]}))
    result = run.invoke(vb, ["agencies", "list", "--directory", str(f)])
    assert result.exit_code == 1
    assert "entry 1 (000.00.11.h53)" in result.output
    assert "upper case" in result.output


def test_check_reports_missing_level1_bodies(run: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "ops.json"
    f.write_text(json.dumps({"agencies": [{"code": "000.00.11.Z53", "name": "Orphan"}]}))
    result = run.invoke(vb, ["agencies", "check", "--directory", str(f)])
    assert result.exit_code == 1
    assert "000.00.11.Z53: its level-1 body 000.00.00.Z53 is not in the directory" in result.output
