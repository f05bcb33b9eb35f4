"""The code systems after the 2025 reform: administrative-unit codes and the axis's codes as a versioned
alias table (no code derived from another), closing days, gateways in the directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vbcore.directory import RELAY_POLICIES, Directory
from vbcore.directory.aliases import ADMIN_UNIT, AXIS, Alias, AliasTable
from vbcore.errors import ClosedAgencyCode, ConfigurationError, InvalidAgencyCode

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


@pytest.fixture(scope="module")
def shipped() -> Directory:
    return Directory.default()


def test_lao_cai_has_one_agency_code_and_a_different_predecessor_in_administrative_unit_codes(
    shipped: Directory,
) -> None:
    # The agency identifier follows the NAME kept (Lào Cai, H38); the administrative-unit code follows
    # the SEAT (Yên Bái's 15): each is data, neither is computed from the other.
    assert shipped.resolve("000.00.00.H38").name == "UBND tỉnh Lào Cai"
    with pytest.raises(ClosedAgencyCode) as closed:
        shipped.resolve("000.00.00.H63")
    assert closed.value.successor == "000.00.00.H38"
    before, after = shipped.alias(ADMIN_UNIT, "15", BEFORE), shipped.alias(ADMIN_UNIT, "15", AFTER)
    assert before is not None
    assert after is not None
    assert (before.agency, before.source) == ("000.00.00.H63", "QĐ 124/2004/QĐ-TTg")
    assert (after.agency, after.source) == ("000.00.00.H38", "QĐ 19/2025/QĐ-TTg")
    old_lao_cai = shipped.alias(ADMIN_UNIT, "10", BEFORE)
    assert old_lao_cai is not None
    assert old_lao_cai.agency == "000.00.00.H38"
    assert shipped.alias(ADMIN_UNIT, "10", AFTER) is None  # the code closed; H38 is now "15"


def test_the_34_province_codes_of_2025_each_name_an_open_provincial_peoples_committee(
    shipped: Directory,
) -> None:
    named = {}
    for alias in shipped.aliases:
        if alias.system == ADMIN_UNIT and alias.valid_on(AFTER):
            named[alias.code] = shipped.resolve(alias.agency)
    assert len(named) == 34
    assert {a.kind for a in named.values()} == {"province-ubnd"}
    assert len({a.code for a in named.values()}) == 34


def test_the_63_province_codes_before_the_reform_each_name_a_different_committee(shipped: Directory) -> None:
    before = [a for a in shipped.aliases if a.system == ADMIN_UNIT and a.valid_on(BEFORE)]
    assert len(before) == 63
    assert len({a.agency for a in before}) == 63
    assert all(a.source for a in shipped.aliases)


def test_seven_merged_provinces_took_the_administrative_code_of_another_predecessor(
    shipped: Directory,
) -> None:
    differ = []
    for alias in shipped.aliases:
        if alias.system == ADMIN_UNIT and alias.valid_from == AFTER:
            previous = shipped.alias(ADMIN_UNIT, alias.code, BEFORE)
            assert previous is not None
            assert previous.agency != alias.agency
            differ.append(shipped.resolve(alias.agency).short_name)
    assert sorted(differ) == sorted(
        ["Lào Cai", "Bắc Ninh", "Quảng Trị", "Gia Lai", "Tây Ninh", "Đồng Tháp", "An Giang"]
    )


def test_closed_codes_carry_the_day_they_closed(shipped: Directory) -> None:
    assert shipped.closing_day("000.00.00.H47") == AFTER
    assert shipped.closing_day("000.00.00.G04") == date(2025, 3, 1)
    assert shipped.closing_day("000.00.00.H15") is None  # open
    units = Directory.from_data({"agencies": [{"code": "000.00.12.H47", "name": "Sở Y tế Quảng Nam"}]})
    assert shipped.merged_with(units).closing_day("000.00.12.H47") == AFTER  # its body closed


def test_two_rows_of_one_code_that_overlap_in_time_are_refused() -> None:
    rows = [
        Alias(ADMIN_UNIT, "15", "000.00.00.H63", "a", valid_to=date(2025, 6, 30)),
        Alias(ADMIN_UNIT, "15", "000.00.00.H38", "b", valid_from=date(2025, 6, 30)),
    ]
    with pytest.raises(ConfigurationError, match="overlap"):
        AliasTable(rows)


def test_an_operator_loads_commune_codes_with_their_validity(tmp_path: Path, shipped: Directory) -> None:
    path = tmp_path / "communes.yaml"
    path.write_text(
        "agencies:\n"
        "  - {code: 000.01.38.H38, name: UBND xã Thử Nghiệm}\n"
        "aliases:\n"
        "  - {system: admin-unit, code: '09999', agency: 000.01.38.H38, valid_from: 2025-07-01,"
        " source: Nghị quyết thử nghiệm}\n",
        encoding="utf-8",
    )
    directory = shipped.merged_with(Directory.load(path))
    row = directory.alias(ADMIN_UNIT, "09999", AFTER)
    assert row is not None
    assert directory.resolve(row.agency).name == "UBND xã Thử Nghiệm"
    assert directory.alias(ADMIN_UNIT, "09999", BEFORE) is None
    assert directory.alias(ADMIN_UNIT, "15", AFTER) is not None  # the shipped rows stay


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"system": "admin-unit", "code": "1234", "agency": "000.00.00.H38", "source": "x"}, "2 digits"),
        ({"system": "admin-unit", "code": 15, "agency": "000.00.00.H38", "source": "x"}, "as text"),
        ({"system": "postcode", "code": "15", "agency": "000.00.00.H38", "source": "x"}, "not one of"),
        ({"system": "admin-unit", "code": "15", "agency": "000.00.00.H38"}, "'source' is required"),
        ({"system": "axis", "code": "B Y T", "agency": "000.00.00.G18", "source": "x"}, "axis code"),
        ({"system": "admin-unit", "code": "15", "agency": "H38", "source": "x"}, "not an agency code"),
        (
            {
                "system": "axis",
                "code": "BYT",
                "agency": "000.00.00.G18",
                "source": "x",
                "valid_from": "2026-01-02",
                "valid_to": "2026-01-01",
            },
            "before valid_from",
        ),
    ],
)
def test_a_malformed_alias_is_refused_saying_why(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Directory.from_data({"agencies": [], "aliases": [entry]})


def test_a_gateway_is_in_the_directory_with_its_relay_policy_and_is_no_addressee() -> None:
    directory = Directory.from_data(
        {
            "agencies": [
                {
                    "code": "gw.truc-quoc-gia",
                    "name": "Cổng Trục quốc gia",
                    "kind": "gateway",
                    "relay": "unsigned",
                },
                {"code": "000.00.00.G18", "name": "Bộ Y tế", "via": "gw.truc-quoc-gia"},
                {"code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An"},
            ],
            "aliases": [
                {"system": AXIS, "code": "BYT", "agency": "000.00.00.G18", "source": "getAgenciesList"}
            ],
        }
    )
    assert directory.gateway_of("000.00.00.G18") == "gw.truc-quoc-gia"
    assert directory.gateway_of("000.00.00.H41") is None
    assert directory.relay_policy("gw.truc-quoc-gia") == "unsigned"
    assert directory.relay_policy("000.00.00.H41") is None
    assert directory.alias(AXIS, "BYT", AFTER).agency == "000.00.00.G18"  # type: ignore[union-attr]
    with pytest.raises(InvalidAgencyCode, match="gateway"):
        directory.resolve("gw.truc-quoc-gia")
    assert directory.problems() == []


def test_a_gateway_relays_what_its_policy_says_and_nothing_else_is_a_policy() -> None:
    assert RELAY_POLICIES == ("trusted", "foreign-ca", "unsigned")
    base = {"code": "gw.x", "name": "Cổng", "kind": "gateway"}
    assert Directory.from_data([base]).relay_policy("gw.x") == "trusted"
    with pytest.raises(ConfigurationError, match="relay"):
        Directory.from_data([{**base, "relay": "anything"}])
    with pytest.raises(ConfigurationError, match="relay"):
        Directory.from_data([{"code": "000.00.00.G18", "name": "Bộ Y tế", "relay": "unsigned"}])


def test_an_agency_reached_via_something_that_is_no_gateway_is_a_problem() -> None:
    directory = Directory.from_data(
        [
            {"code": "000.00.00.H41", "name": "Nghệ An"},
            {"code": "000.00.00.G18", "name": "Bộ Y tế", "via": "000.00.00.H41"},
        ]
    )
    assert directory.problems("en") == [
        "000.00.00.G18: its gateway 000.00.00.H41 is not in the directory (with kind gateway)"
    ]
