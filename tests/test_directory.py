"""The agency directory: the shipped data, operators' files, resolve rules and search."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from vbcore.directory import KINDS, Agency, Directory
from vbcore.errors import ClosedAgencyCode, ConfigurationError, InvalidAgencyCode, UnknownAgency
from vbcore.identifiers import parse_code
from vbcore.text import fold

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def shipped() -> Directory:
    return Directory.default()


# --- the shipped data ---------------------------------------------------------------------------


def test_default_directory_is_read_once(shipped: Directory) -> None:
    assert Directory.default() is shipped


def test_shipped_directory_has_34_open_provinces_with_their_councils(shipped: Directory) -> None:
    ubnd = shipped.all(include_closed=False, kind="province-ubnd")
    hdnd = shipped.all(include_closed=False, kind="province-hdnd")
    assert len(ubnd) == 34
    numbers = [parse_code(a.code).level1_number for a in ubnd]
    assert numbers == [parse_code(a.code).level1_number for a in hdnd]
    assert all(parse_code(a.code).level1_letter == "K" for a in hdnd)


def test_shipped_directory_keeps_all_63_old_province_codes(shipped: Directory) -> None:
    numbers = {parse_code(a.code).level1_number for a in shipped.all(kind="province-ubnd")}
    assert numbers == set(range(1, 64))
    assert len(shipped.all(kind="province-ubnd")) - 34 == 29


def test_government_office_and_ministries_are_named_in_vietnamese(shipped: Directory) -> None:
    vpcp = shipped.resolve("000.00.00.G22")
    assert (vpcp.name, vpcp.kind, vpcp.short_name) == ("Văn phòng Chính phủ", "government-office", "VPCP")
    assert shipped.resolve("000.00.00.G16").name == "Bộ Văn hóa, Thể thao và Du lịch"
    assert shipped.resolve("000.00.00.G10").name == "Bộ Nông nghiệp và Môi trường"
    assert len(shipped.all(include_closed=False, kind="ministry")) == 21


def test_centrally_run_cities_are_named_thanh_pho(shipped: Directory) -> None:
    for number, city in [("24", "Hà Nội"), ("27", "Hải Phòng"), ("15", "Đà Nẵng"), ("57", "Huế"),
                         ("13", "Cần Thơ"), ("29", "Hồ Chí Minh")]:  # fmt: skip
        assert shipped.resolve(f"000.00.00.H{number}").name == f"UBND thành phố {city}"
        assert shipped.resolve(f"000.00.00.K{number}").name == f"HĐND thành phố {city}"
    assert shipped.resolve("000.00.00.H53").name == "UBND tỉnh Tây Ninh"


def test_every_closed_code_has_an_open_successor_and_a_decree(shipped: Directory) -> None:
    closed = [a for a in shipped.all() if a.closed]
    assert len(closed) == 5 + 29 * 2
    for a in closed:
        chain = shipped.successor_chain(a.code)
        assert chain, a.code
        assert not chain[-1].closed
        assert a.closed_by == "QĐ 09/2025/QĐ-TTg"
    assert shipped.problems() == []


def test_shipped_kinds_are_the_documented_ones(shipped: Directory) -> None:
    assert {a.kind for a in shipped.all()} <= set(KINDS)


# --- resolve --------------------------------------------------------------------------------------


def test_closed_code_names_its_successor_code_and_name(shipped: Directory) -> None:
    with pytest.raises(ClosedAgencyCode) as err:
        shipped.resolve("000.00.00.H47")
    assert err.value.successor == "000.00.00.H15"
    assert "000.00.00.H15" in str(err.value)
    assert "UBND thành phố Đà Nẵng" in str(err.value)
    assert "UBND tỉnh Quảng Nam" in str(err.value)


def test_closed_council_code_goes_to_the_successor_council(shipped: Directory) -> None:
    with pytest.raises(ClosedAgencyCode) as err:
        shipped.resolve("000.00.00.K02")
    assert err.value.successor == "000.00.00.K29"


def test_closed_ministry_names_the_merged_ministry(shipped: Directory) -> None:
    with pytest.raises(ClosedAgencyCode, match="Bộ Khoa học và Công nghệ"):
        shipped.resolve("000.00.00.G14")


def test_well_formed_code_not_in_the_directory_is_unknown(shipped: Directory) -> None:
    with pytest.raises(UnknownAgency) as err:
        shipped.resolve("000.00.00.Z99")
    assert err.value.code == "000.00.00.Z99"


def test_malformed_code_is_invalid_not_unknown(shipped: Directory) -> None:
    with pytest.raises(InvalidAgencyCode):
        shipped.resolve("000.00.00")


def test_unit_is_unknown_until_the_operator_loads_it(shipped: Directory) -> None:
    with pytest.raises(UnknownAgency):
        shipped.resolve("000.00.11.H53")
    ops = Directory.from_agencies([Agency("000.00.11.H53", "Sở Tài chính tỉnh Tây Ninh", "unit")])
    unit = shipped.merged_with(ops).resolve("000.00.11.H53")
    assert unit.name == "Sở Tài chính tỉnh Tây Ninh"


def test_loaded_unit_of_a_closed_province_points_to_the_province_successor(shipped: Directory) -> None:
    ops = Directory.from_agencies([Agency("001.00.10.H47", "UBND huyện X", "unit", parent="000.00.00.H47")])
    with pytest.raises(ClosedAgencyCode) as err:
        shipped.merged_with(ops).resolve("001.00.10.H47")
    assert err.value.code == "001.00.10.H47"
    assert err.value.successor == "000.00.00.H15"


def test_loaded_unit_whose_body_is_missing_is_unknown_and_reported() -> None:
    d = Directory.from_agencies([Agency("000.00.11.Z53", "Orphan unit", "unit")])
    with pytest.raises(UnknownAgency):
        d.resolve("000.00.11.Z53")
    assert d.problems() == ["000.00.11.Z53: its level-1 body 000.00.00.Z53 is not in the directory"]


def test_test_tenant_is_refused_unless_loaded_with_its_kind(shipped: Directory) -> None:
    with pytest.raises(InvalidAgencyCode, match="test tenant"):
        shipped.resolve("vxp.saas.03")
    ops = Directory.from_data([{"code": "vxp.saas.03", "name": "Đơn vị test vxp 3"}])
    tenant = shipped.merged_with(ops).resolve("vxp.saas.03")
    assert tenant.kind == "test-tenant"
    assert tenant.is_test_tenant


def test_successor_chain_follows_several_decrees_to_the_open_agency() -> None:
    d = Directory.from_data(
        [
            {"code": "000.00.00.H01", "name": "A", "closed": True, "successor": "000.00.00.H02"},
            {"code": "000.00.00.H02", "name": "B", "closed": True, "successor": "000.00.00.H03"},
            {"code": "000.00.00.H03", "name": "C"},
        ]
    )
    assert [a.code for a in d.successor_chain("000.00.00.H01")] == ["000.00.00.H02", "000.00.00.H03"]
    with pytest.raises(ClosedAgencyCode) as err:
        d.resolve("000.00.00.H01")
    assert err.value.successor == "000.00.00.H03"
    assert d.successor_chain("000.00.00.H03") == []


def test_successor_loop_stops_and_is_reported() -> None:
    d = Directory.from_data(
        [
            {"code": "000.00.00.H01", "name": "A", "closed": True, "successor": "000.00.00.H02"},
            {"code": "000.00.00.H02", "name": "B", "closed": True, "successor": "000.00.00.H01"},
        ]
    )
    assert [a.code for a in d.successor_chain("000.00.00.H01")] == ["000.00.00.H02"]
    with pytest.raises(ClosedAgencyCode) as err:
        d.resolve("000.00.00.H01")
    assert err.value.successor == "000.00.00.H02"
    assert "000.00.00.H01: its successors form a loop" in d.problems()


# --- search ---------------------------------------------------------------------------------------


def test_search_ignores_accents_and_case(shipped: Directory) -> None:
    assert [a.code for a in shipped.search("ha noi")] == ["000.00.00.H24", "000.00.00.K24"]
    assert shipped.search("TAY NINH")[0].code == "000.00.00.H53"
    assert shipped.search("Tây Ninh") == shipped.search("tay ninh")


def test_search_folds_d_with_stroke(shipped: Directory) -> None:
    codes = {a.code for a in shipped.search("dak lak")}
    assert codes == {"000.00.00.H16", "000.00.00.K16"}
    assert {a.code for a in shipped.search("ĐẮK LẮK")} == codes


def test_search_finds_codes_short_names_and_former_names(shipped: Directory) -> None:
    assert shipped.search("000.00.00.G22")[0].short_name == "VPCP"
    assert shipped.search("vpcp")[0].code == "000.00.00.G22"
    assert shipped.search("thua thien hue")[0].code == "000.00.00.H57"
    assert shipped.search("uy ban dan toc")[0].code == "000.00.00.G21"


def test_search_finds_closed_codes_unless_told_not_to(shipped: Directory) -> None:
    found = shipped.search("quang nam")
    assert [a.code for a in found] == ["000.00.00.H47", "000.00.00.K47"]
    assert all(a.closed for a in found)
    assert shipped.search("quang nam", include_closed=False) == []
    assert shipped.search("   ") == []


def test_search_matches_every_word_in_any_order(shipped: Directory) -> None:
    assert shipped.search("vung tau ba ria")[0].code == "000.00.00.H02"


def test_search_puts_open_agencies_before_closed_ones(shipped: Directory) -> None:
    found = shipped.search("binh")  # Ninh Bình (open) and Bình Định, Bình Dương... (closed)
    assert found[0].code == "000.00.00.H42"
    closed_flags = [a.closed for a in found]
    assert closed_flags == sorted(closed_flags)


# --- operators' files -----------------------------------------------------------------------------


def test_operator_yaml_file_adds_units_with_certificate_files(tmp_path: Path, shipped: Directory) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "stc.pem").write_text(CERT)
    f = tmp_path / "agencies.yaml"
    f.write_text(
        "format: vbus-directory/1\n"
        "agencies:\n"
        "  - code: 000.00.11.H53\n"
        "    name: Sở Tài chính tỉnh Tây Ninh\n"
        "    short_name: STC Tây Ninh\n"
        "    certificate_file: certs/stc.pem\n",
        encoding="utf-8",
    )
    ops = Directory.load(f)
    merged = shipped.merged_with(ops)
    unit = merged.resolve("000.00.11.H53")
    assert unit.kind == "unit"
    assert unit.parent == "000.00.00.H53"
    assert unit.certificate_pem == CERT
    assert [a.code for a in merged.children("000.00.00.H53")] == ["000.00.11.H53"]
    assert len(merged) == len(shipped) + 1


def test_operator_entry_replaces_the_shipped_one(tmp_path: Path, shipped: Directory) -> None:
    f = tmp_path / "agencies.json"
    f.write_text(json.dumps({"agencies": [{"code": "000.00.00.G22", "name": "Văn phòng Chính phủ",
                                           "kind": "government-office", "certificate": CERT}]}))  # fmt: skip
    merged = shipped.merged_with(Directory.load(f))
    assert merged.resolve("000.00.00.G22").certificate_pem == CERT
    assert shipped.resolve("000.00.00.G22").certificate_pem is None


def test_agency_round_trips_through_its_file_form(shipped: Directory) -> None:
    entries = [a.to_dict() for a in shipped.all()]
    again = Directory.from_data(json.loads(json.dumps({"agencies": entries}, ensure_ascii=False)))
    assert again.all() == shipped.all()


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"name": "x"}, "'code' is required"),
        ({"code": "000.00.00.H99"}, "'name' is required"),
        ({"code": "000.00.00.h99", "name": "x"}, "upper case"),
        ({"code": "000.00.00.H99", "name": "x", "kind": "province"}, "kind 'province'"),
        ({"code": "000.00.00.H99", "name": "x", "closed": "yes"}, "true or false"),
        ({"code": "000.00.00.H99", "name": "x", "sucessor": "000.00.00.H01"}, "unknown keys ['sucessor']"),
        ({"code": "000.00.00.H99", "name": "x", "successor": "H01"}, "not an agency code"),
        ({"code": "000.00.00.H99", "name": "x", "certificate": "abc"}, "not PEM"),
        ({"code": "000.00.00.H99", "name": 5}, "must be text"),
    ],
)
def test_bad_entries_are_refused_with_their_place(entry: dict[str, object], complaint: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        Directory.from_data([{"code": "000.00.00.H98", "name": "ok"}, entry], source="ops.yaml")
    assert "ops.yaml: entry 2" in str(err.value)
    assert complaint in str(err.value)


def test_a_code_listed_twice_in_one_file_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="listed twice"):
        Directory.from_data([{"code": "000.00.00.H98", "name": "a"}, {"code": "000.00.00.H98", "name": "b"}])


def test_unreadable_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("agencies:\n  - code: [unclosed\n")
    with pytest.raises(ConfigurationError, match=r"(?s)bad\.yaml: invalid YAML.*line 2"):
        Directory.load(f)


# --- accent folding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Hà Nội", "ha noi"),
        ("ĐẮK LẮK", "dak lak"),
        ("đồng tháp", "dong thap"),
        ("Bà Rịa - Vũng Tàu", "ba ria vung tau"),
        ("Thanh Hoá", "thanh hoa"),  # old-style tone placement
        ("Thanh Hóa", "thanh hoa"),
        ("000.00.00.H53", "000 00 00 h53"),
        ("  Huế  ", "hue"),
    ],
)
def test_fold_drops_marks_case_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_treats_decomposed_and_precomposed_text_alike() -> None:
    assert fold(unicodedata.normalize("NFD", "Quảng Ngãi")) == fold("Quảng Ngãi") == "quang ngai"


def test_every_shipped_agency_is_found_by_its_accent_free_name_and_by_its_code(shipped: Directory) -> None:
    for a in shipped.all():
        assert a in shipped.search(fold(a.name)), a.code
        assert shipped.search(a.code)[0] == a
