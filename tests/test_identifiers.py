"""Agency identifiers: shapes, parts, test tenants (docs/domain.md §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vbcore.errors import InvalidAgencyCode
from vbcore.identifiers import is_test_tenant, is_valid_code, parse_code


def test_standard_code_is_read_right_to_left() -> None:
    c = parse_code("001.00.10.H47")
    assert c.standard
    assert c.groups == ("001", "00", "10", "H47")
    assert (c.group(1), c.group(2), c.group(3), c.group(4), c.group(5)) == ("H47", "10", "00", "001", None)
    assert c.level1_letter == "H"
    assert c.level1_number == 47
    assert c.depth == 4


def test_level1_body_has_no_parent_and_units_point_to_their_body() -> None:
    body = parse_code("000.00.00.G22")
    assert body.is_level1
    assert body.parent is None
    assert body.level1_body == "000.00.00.G22"
    unit = parse_code("000.00.11.H53")
    assert not unit.is_level1
    assert unit.depth == 2
    assert unit.parent == "000.00.00.H53"


@pytest.mark.parametrize("code", ["01.02.G22", "14.00.W00", "001.00.20.JB2", "28.22.H17"])
def test_general_shape_codes_seen_in_the_wild_are_accepted(code: str) -> None:
    c = parse_code(code)
    assert not c.standard
    assert c.parent == f"000.00.00.{c.level1}"


def test_two_letter_level1_group_splits_into_letters_and_number() -> None:
    c = parse_code("001.00.20.JB2")
    assert (c.level1_letter, c.level1_number) == ("JB", 2)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "empty"),
        ("null", "single group"),
        ("NULL", "single group"),
        ("000.00.00.h53", "upper case"),
        ("000..00.H53", "empty group"),
        ("000.00.00.53H", "letters then digits"),
        ("000.00.00.H5-3", "0-9 A-Z"),
        (" 000.00.00.H53", "spaces"),
        ("0" * 30 + ".00.H53", "over 35"),
        ("vxp.saas.03", "test tenant"),
    ],
)
def test_invalid_codes_say_what_is_wrong_and_which_shape_was_expected(text: str, hint: str) -> None:
    with pytest.raises(InvalidAgencyCode) as err:
        parse_code(text)
    message = str(err.value)
    assert hint in message
    assert "LLL.KK.JJ.XNN" in message
    assert err.value.reason == "invalid-agency-code"
    assert not is_valid_code(text)


def test_test_tenant_ids_are_recognised_but_are_not_agency_codes() -> None:
    assert is_test_tenant("vxp.saas.03")
    assert is_test_tenant("vxp.saas.02")
    assert not is_test_tenant("000.00.00.G22")
    assert not is_test_tenant("vxp")
    assert not is_valid_code("vxp.saas.03")


@given(
    st.from_regex(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", fullmatch=True),
)
def test_every_standard_shaped_string_parses_and_round_trips(code: str) -> None:
    c = parse_code(code)
    assert str(c) == code
    assert ".".join(c.groups) == code
    assert c.standard
    assert (c.parent is None) == c.is_level1


@given(st.text(max_size=40))
def test_parse_code_either_returns_a_code_or_raises_invalid_agency_code(text: str) -> None:
    try:
        c = parse_code(text)
    except InvalidAgencyCode:
        assert not is_valid_code(text)
    else:
        assert is_valid_code(text)
        assert len(text) <= 35
        assert c.text == text
