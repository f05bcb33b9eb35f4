"""``vb agencies sync``, ``history`` and ``alias``: the national axis's list (through the gateway plugin,
against the stand-in) made into a versioned directory, applied while a hub runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from gateway_world import GW, HA_NOI, UBND, Keys, Province, letter, make_keys

from connectors.axis_standin import StandInAgency
from vbcore.cli import vb
from vbcore.edxml import read_package
from vbcore.status import StatusCode
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names

NEW_UNIT, OLD_UNIT, NEXT_UNIT = "000.00.03.G18", "000.00.01.G18", "000.00.07.G18"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def province(tmp_path: Path, keys: Keys) -> Iterator[Province]:
    broker, names = InMemoryBroker(), Names()
    p = Province(tmp_path, keys, connect=lambda user: InMemoryTransport(broker, user, names), names=names)
    yield p
    p.close()


def run(*args: str, lang: str = "en") -> Result:
    return CliRunner().invoke(vb, ["--lang", lang, *args], catch_exceptions=False)


def sync_args(province: Province, *more: str) -> list[str]:
    config = province.tmp / "gateway.json"
    config.write_text(json.dumps(province.gateway_config), encoding="utf-8")
    return ["agencies", "sync", "--config", str(config), "--via", GW, "--local", "000.00.00.H41",
            "--local", "000.00.00.K41", "--directory", str(province.operator_file),
            "--out", str(province.synced.path), "--by", "nguyen.van.a@hub1", *more]  # fmt: skip


def change_the_axis_list(province: Province) -> None:
    """A ministry's department is added, another renumbered (its old code listed as oldCode)."""
    agencies = province.axis.agencies
    agencies.append(StandInAgency(NEW_UNIT, "sys-G18", "Cục Quản lý Khám chữa bệnh, Bộ Y tế"))
    old = next(a for a in agencies if a.code == OLD_UNIT)
    agencies[agencies.index(old)] = StandInAgency(NEXT_UNIT, "sys-G18", old.name, old_code=OLD_UNIT)


def test_a_dry_run_shows_the_difference_and_writes_nothing(province: Province) -> None:
    change_the_axis_list(province)
    before = province.synced.path.read_bytes()
    result = run(*sync_args(province, "--dry-run"))
    assert result.exit_code == 0, result.output
    assert f"added    {NEW_UNIT}  Cục Quản lý Khám chữa bệnh, Bộ Y tế" in result.output
    assert f"closed   {OLD_UNIT}  Đơn vị 01, Bộ Y tế → successor: {NEXT_UNIT}" in result.output
    assert "dry run: 2 added, 0 renamed, 1 closed, 0 reopened, 0 updated; nothing written" in result.output
    assert province.synced.path.read_bytes() == before


def test_a_sync_while_the_hub_runs_delivers_to_a_new_agency_and_refuses_a_closed_code_naming_its_successor(
    province: Province,
) -> None:
    change_the_axis_list(province)
    result = run(*sync_args(province), lang="vi")
    assert result.exit_code == 0, result.output
    assert "phiên bản 2: thêm 2, đổi tên 0, ngừng 1, mở lại 0, cập nhật 0" in result.output
    doc = letter(UBND, [NEW_UNIT, OLD_UNIT], "601")
    province.clients[UBND].submit(doc)
    province.pump()  # the hub has run all along: it takes the new version at its next batch
    [posted] = [m for m in province.axis.mailbox("sys-G18", "edoc") if m.to == (NEW_UNIT,)]
    assert read_package(posted.package).package == doc
    assert posted.from_ == UBND
    [refusal] = province.inbox(UBND)
    assert refusal.kind == n.KIND_REFUSAL
    assert refusal.headers[n.REFUSAL_REASON] == "closed-agency"
    assert f"hãy gửi đến cơ quan kế thừa {NEXT_UNIT}" in (refusal.package.description or "")
    assert refusal.package.status_code is StatusCode.REFUSED  # type: ignore[union-attr]


def test_the_history_says_who_applied_what_and_when(province: Province) -> None:
    change_the_axis_list(province)
    run(*sync_args(province))
    result = run("agencies", "history", str(province.synced.path), "--changes")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("version 1  ")
    assert "by test  from http://127.0.0.1:" in lines[0]
    [second] = [line for line in lines if line.startswith("version 2  ")]
    assert "by nguyen.van.a@hub1" in second
    assert "(added 2, closed 1)" in second
    assert f"  closed   {OLD_UNIT}  Đơn vị 01, Bộ Y tế → successor: {NEXT_UNIT}" in lines
    as_json = json.loads(run("agencies", "history", str(province.synced.path), "--json").output)
    assert [v["version"] for v in as_json] == [1, 2]


def test_a_sync_refuses_to_route_via_something_that_is_no_gateway(province: Province) -> None:
    args = sync_args(province)
    args[args.index("--via") + 1] = HA_NOI
    result = run(*args)
    assert result.exit_code == 1
    assert f"{HA_NOI} is not a gateway in the directory" in result.output


def test_a_sync_against_an_axis_that_is_down_says_try_later(province: Province) -> None:
    province.axis.fail_next(5, status=503, operation="getAgenciesList")
    before = province.synced.path.read_bytes()
    result = run(*sync_args(province))
    assert result.exit_code == 3, result.output
    assert "HTTP 503" in result.output
    assert province.synced.path.read_bytes() == before


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2025-06-30", "000.00.00.H63 (UBND tỉnh Yên Bái; closed, now 000.00.00.H38"),
        ("2025-07-01", "000.00.00.H38 (UBND tỉnh Lào Cai) (source: QĐ 19/2025/QĐ-TTg)"),
    ],
)
def test_an_administrative_unit_code_names_the_agency_of_its_day(on: str, expected: str) -> None:
    result = run("agencies", "alias", "admin-unit", "15", "--on", on)
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_a_closed_administrative_unit_code_says_which_agency_it_named_and_until_when() -> None:
    result = run("agencies", "alias", "admin-unit", "10", "--on", "2025-07-01", lang="vi")
    assert result.exit_code == 1
    assert "admin-unit 10: không còn dùng vào ngày 2025-07-01; mã này đã chỉ 000.00.00.H38" in result.output
    assert "đến 2025-06-30" in result.output


def test_show_names_a_gateways_relay_policy_and_the_gateway_an_agency_is_reached_via(tmp_path: Path) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        "agencies:\n"
        "  - {code: gw.truc-quoc-gia, name: Cổng Trục quốc gia, kind: gateway, relay: unsigned}\n"
        "  - {code: 000.00.00.G18, name: Bộ Y tế, via: gw.truc-quoc-gia}\n",
        encoding="utf-8",
    )
    gateway = run("agencies", "show", GW, "--directory", str(directory))
    assert "kind:          gateway to another axis" in gateway.output
    assert "relay policy:  unsigned (unsigned packages too; never a wrong signature)" in gateway.output
    reached = run("agencies", "show", "000.00.00.G18", "--directory", str(directory), lang="vi")
    assert "kết nối qua cổng:  gw.truc-quoc-gia (Cổng Trục quốc gia)" in reached.output
