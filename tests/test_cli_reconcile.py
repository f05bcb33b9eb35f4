"""``vb reconcile`` on the command line: one language per line, JSON for scripts, exit status 1 on any
gap and 0 when there is none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_reconcile import G09, H15, H24, Bus

from vbcore.cli import vb
from vbcore.connector.ledger import Ledger


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    b = Bus(tmp_path)
    yield b
    b.close()


def run(bus: Bus, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        vb,
        [
            *args[:2],
            "reconcile",
            "--store",
            f"sqlite:///{bus.tmp / 'hub.db'}",
            "--ledger",
            str(bus.folder),
            *args[2:],
        ],
    )
    return result.exit_code, result.stdout


def test_no_gap_is_said_in_vietnamese_and_exits_0(bus: Bus) -> None:
    bus.whole_way(bus.doc_id(), G09, (H24, H15))
    code, out = run(bus, "--lang", "vi")
    assert code == 0, out
    assert (
        "Đã đối chiếu 2 lượt chuyển trong kho theo dõi với 2 lượt gửi và 2 văn bản đã nhận trong 3 sổ ghi"
        in out
    )
    assert "hàng đợi giữ lại không được đọc" in out
    assert out.rstrip().endswith("Không có khoảng trống nào.")


def test_each_gap_is_two_lines_in_one_language_and_the_exit_status_is_1(bus: Bus) -> None:
    doc = bus.doc_id()
    bus.sent(doc, G09, (H24,))
    bus.accepted(doc, G09, (H24,))
    bus.forwarded(doc, H24)
    code, out = run(bus, "--lang", "en")
    assert code == 1
    lines = out.splitlines()
    assert (
        lines[0]
        == f"[not-delivered] {doc}  {G09} → {H24}: forwarded but not delivered into the recipient's DMS"
    )
    assert lines[1].startswith(
        f"  → ask {H24} to check its connector (systemctl status vbus-connector@{H24})"
    )
    assert lines[-1] == "1 gaps: not-delivered 1"
    code, out = run(bus, "--lang", "vi")
    assert "đã chuyển đến hộp thư nhưng chưa vào hệ thống QLVB của bên nhận" in out.splitlines()[0]
    assert out.splitlines()[-1] == "1 khoảng trống: not-delivered 1"


def test_json_lists_the_gaps_and_a_summary(bus: Bus) -> None:
    first, second = bus.doc_id(), bus.doc_id()
    bus.sent(first, G09, (H24,))
    bus.sent(second, G09, (H24,), confirmed=False)
    code, out = run(bus, "--lang", "en", "--json")
    assert code == 1
    data = json.loads(out)
    assert [(g["stage"], g["document_id"], g["action"]) for g in data["gaps"]] == [
        ("not-at-hub", first, "check-hub"),
        ("not-sent", second, "restart-sender-connector"),
    ]
    assert data["summary"]["gaps"] == 2
    assert data["summary"]["by_stage"] == {"not-at-hub": 1, "not-sent": 1}
    assert {entry["agency"] for entry in data["summary"]["ledgers"]} == {G09, H24, H15}
    bus.ledgers[G09].record_sent(f"out-{second}")
    bus.accepted(first, G09, (H24,))
    bus.accepted(second, G09, (H24,))
    for doc in (first, second):
        bus.forwarded(doc, H24)
        bus.delivered(doc, G09, H24)
        bus.status_at_hub(doc, H24)
        bus.status_at_sender(doc, G09, H24)
    code, out = run(bus, "--lang", "en", "--json")
    assert (code, json.loads(out)["gaps"]) == (0, [])


def test_a_store_that_does_not_exist_is_refused(bus: Bus, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        vb, ["--lang", "en", "reconcile", "--store", f"sqlite:///{tmp_path / 'none.db'}"]
    )
    assert result.exit_code == 1
    assert "there is no store at" in result.output


def test_progress_goes_to_stderr_as_plain_lines_when_it_is_no_terminal(bus: Bus) -> None:
    bus.whole_way(bus.doc_id(), G09, (H24,))
    result = CliRunner().invoke(
        vb,
        [
            "--lang",
            "en",
            "reconcile",
            "--store",
            f"sqlite:///{bus.tmp / 'hub.db'}",
            "--ledger",
            str(bus.folder),
        ],
    )
    assert result.stderr.splitlines() == [
        "reading the connectors' ledgers: 1",
        "reading the connectors' ledgers: 3",
    ]
    assert "reading" not in result.stdout


def test_an_agency_copies_its_ledger_for_the_operator_while_its_connector_runs(
    bus: Bus, tmp_path: Path
) -> None:
    running = bus.ledgers[H24]  # still open, as the running connector holds it
    running.record_delivered("D", G09, None, None, dms_id="dms-9")
    collected = tmp_path / "collected"
    collected.mkdir()
    result = CliRunner().invoke(
        vb,
        [
            "--lang",
            "en",
            "connector",
            "ledger-copy",
            str(collected),
            "--state",
            str(bus.folder / f"{H24}.sqlite3"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"copied the ledger of {H24} to {collected / f'{H24}.sqlite3'}"
    from vbcore.operations import find_ledgers

    [copy] = find_ledgers([collected])
    assert copy.agency == H24
    assert Ledger(copy.path).delivered(G09, "D") is not None


def test_copying_a_ledger_that_is_not_there_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        vb,
        ["--lang", "en", "connector", "ledger-copy", str(tmp_path), "--work-dir", str(tmp_path / "nowhere")],
    )
    assert result.exit_code == 1
    assert "there is no ledger at" in result.output
    assert not (tmp_path / "nowhere").exists()
