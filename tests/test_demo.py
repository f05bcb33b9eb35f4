"""`vb demo`: the whole interconnection in one process tells a complete, consistent story."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main as _entry  # noqa: F401 (the installed `vb` entry point must import)
from vbcore.cli import vb
from vbcore.cli.demo import run_demo


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run_demo().to_json()


def by_code(report: dict[str, Any], code: str) -> dict[str, Any]:
    [doc] = [d for d in report["documents"] if d["document"]["code"] == code]
    return doc


def test_the_demo_leaves_no_message_behind(report: dict[str, Any]) -> None:
    assert report["summary"]["queues"] == {"parked": 0, "ingress": 0, "inboxes": 0}
    assert report["summary"]["documents"] == 5


def test_the_circular_reaches_five_agencies_with_their_receipts(report: dict[str, Any]) -> None:
    circular = by_code(report, "1234/VPCP-KSTT")
    states = {r["recipient"]: r["state"] for r in circular["recipients"]}
    assert states == {
        "000.00.00.G09": "06", "000.00.00.G12": "03", "000.00.00.H24": "05",
        "000.00.00.H15": "01", "000.00.00.H56": "06",
    }  # fmt: skip
    thanh_hoa = next(r for r in circular["recipients"] if r["recipient"] == "000.00.00.H56")
    names = [e["name"] for e in thanh_hoa["statuses"]]
    assert names == ["Đã đến", "Đã tiếp nhận", "Đang xử lý", "Hoàn thành"]


def test_the_revoke_is_related_to_the_original_and_accepted_by_both_receivers(report: dict[str, Any]) -> None:
    revoke = by_code(report, "88b/BTC-NSNN")
    assert revoke["document"]["business"] == "revoke"
    original = by_code(report, "88/BTC-NSNN")["document"]
    assert revoke["document"]["related_document_id"] == original["document_id"]
    assert [[e["code"] for e in r["statuses"]] for r in revoke["recipients"]] == [["15"], ["15"]]


def test_the_closed_code_is_refused_naming_its_successor_while_the_other_recipient_gets_it(
    report: dict[str, Any],
) -> None:
    stale = by_code(report, "402/UBND-VX")
    states = {r["recipient"]: r["state"] for r in stale["recipients"]}
    assert states == {"000.00.00.H56": "forwarded", "000.00.00.H47": "refused-by-hub"}
    [refusal] = stale["refusals"]
    assert refusal["reason"] == "closed-agency"
    assert "000.00.00.H15" in refusal["detail"]
    assert "Đà Nẵng" in refusal["detail"]


def test_vb_demo_prints_a_readable_timeline_in_vietnamese() -> None:
    result = CliRunner().invoke(vb, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Văn phòng Chính phủ" in result.output
    assert "01 Đã đến" in result.output
    assert "Thu hồi" in result.output
    assert "000.00.00.H15 (UBND thành phố Đà Nẵng)" in result.output
    assert "Tổng kết: 5 văn bản" in result.output


def test_vb_demo_json_is_machine_readable(tmp_path: Any) -> None:
    result = CliRunner().invoke(vb, ["demo", "--json", "--store", f"sqlite:///{tmp_path / 'demo.db'}"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"]["refusals"] == 1
    assert (tmp_path / "demo.db").exists()


def test_vb_demo_reads_in_english_on_request() -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "demo"])
    assert result.exit_code == 0, result.output
    assert "01 Arrived" in result.output
    assert "15 Revocation or update accepted" in result.output
    assert "Summary: 5 documents" in result.output
    assert (
        "closed-agency (to 000.00.00.H47): The agency identifier is closed: agency code 000.00.00.H47 "
        "(UBND tỉnh Quảng Nam) is closed; send to its successor 000.00.00.H15" in result.output
    )
    for vietnamese in ("trục nhận", "Tổng kết", "hạn 01", "Đã đến", "giờ Việt Nam"):
        assert vietnamese not in result.output
