"""``vb agencies sync``'s core: the other axis's list made into a versioned directory file with its
history, and a running hub's directory that follows the file."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from vbcore.directory import Directory
from vbcore.directory.aliases import AXIS
from vbcore.directory.sync import ADDED, CLOSED, RENAMED, REOPENED, UPDATED, plan_sync
from vbcore.directory.versions import SyncedDirectory, change_lines
from vbcore.directory.watch import DirectoryFiles
from vbcore.errors import ClosedAgencyCode, ConfigurationError

GW = "gw.truc-quoc-gia"
SOURCE = "http://axis.test/api"
DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 9)


@dataclass(frozen=True)
class Listed:
    code: str
    code102: str
    old_code: str | None = None
    name: str | None = None


FIRST = [
    Listed("BYT", "000.00.00.G18", None, "Bộ Y tế"),
    Listed("BTC", "000.00.00.G12", None, "Bộ Tài chính"),
    Listed("DNG", "000.00.00.H15", "000.00.00.H47", "UBND thành phố Đà Nẵng"),
    Listed("STC-HN", "000.00.01.H24", None, "Sở Tài chính Hà Nội"),
    Listed("NA-01", "000.00.05.H41", None, "Sở Y tế Nghệ An"),  # this hub's own province
    Listed("BNV", "000.00.00.G09", "000.00.00.G77", "Bộ Nội vụ"),  # an old code the hub never knew
]


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def sync(target: SyncedDirectory, listed: list[Listed], day: date):  # type: ignore[no-untyped-def]
    _, previous = target.load()
    plan = plan_sync(
        previous, listed, via=GW, source=SOURCE, today=day, local=["000.00.00.H41"], known=Directory.default()
    )
    return plan, target.apply(plan, by="operator@hub1", source=SOURCE, at=at(day))


def test_a_first_sync_adds_every_listed_agency_reached_via_the_gateway(tmp_path: Path) -> None:
    target = SyncedDirectory(tmp_path / "axis.json")
    plan, version = sync(target, FIRST, DAY1)
    assert version.number == 1
    assert plan.counts()[ADDED] == 5
    assert plan.counts()[CLOSED] == 1
    number, directory = target.load()
    assert number == 1
    assert directory.resolve("000.00.00.G18").via == GW
    assert directory.resolve("000.00.00.G18").short_name == "BYT"  # what the hub knew is kept
    assert "000.00.05.H41" not in directory  # local: this hub's own agencies stay off the synced layer
    assert "000.00.00.H47" not in directory  # the shipped directory closed it so already
    with pytest.raises(ClosedAgencyCode) as closed:
        Directory.default().merged_with(directory).resolve("000.00.00.H47")
    assert closed.value.successor == "000.00.00.H15"
    with pytest.raises(ClosedAgencyCode) as old:
        directory.resolve("000.00.00.G77")
    assert (old.value.successor, directory.closing_day("000.00.00.G77")) == ("000.00.00.G09", DAY1)
    row = directory.alias(AXIS, "BYT", DAY1)
    assert row is not None
    assert (row.agency, row.valid_from) == ("000.00.00.G18", DAY1)
    [record] = target.history()
    assert (record.by, record.source, record.at) == ("operator@hub1", SOURCE, at(DAY1))
    assert {c["kind"] for c in record.changes} == {ADDED, CLOSED}


def test_a_later_sync_shows_renamed_closed_reopened_and_recoded_agencies_and_keeps_the_history(
    tmp_path: Path,
) -> None:
    target = SyncedDirectory(tmp_path / "axis.json")
    sync(target, FIRST, DAY1)
    second = [
        Listed("BYT-2", "000.00.00.G18", None, "Bộ Y tế"),  # the axis code changed
        Listed("BTC", "000.00.00.G12", None, "Bộ Tài chính (đổi tên)"),
        Listed("DNG", "000.00.00.H15", "000.00.00.H47", "UBND thành phố Đà Nẵng"),
        Listed("BNV", "000.00.00.G09", "000.00.00.G77", "Bộ Nội vụ"),
        Listed("QNM", "000.00.00.H48", "000.00.00.G78", "UBND tỉnh Quảng Ngãi"),
    ]  # Sở Tài chính Hà Nội left the list
    plan, version = sync(target, second, DAY2)
    kinds = {c.code: c.kind for c in plan.changes}
    assert kinds == {
        "000.00.00.G18": UPDATED, "000.00.00.G12": RENAMED, "000.00.01.H24": CLOSED,
        "000.00.00.H48": ADDED, "000.00.00.G78": CLOSED,
    }  # fmt: skip
    _, directory = target.load()
    renamed = directory.resolve("000.00.00.G12")
    assert renamed.former_names == ("Bộ Tài chính",)
    with pytest.raises(ClosedAgencyCode) as gone:
        directory.resolve("000.00.01.H24")
    assert gone.value.successor is None
    old_row, new_row = directory.aliases.history(AXIS, "BYT")[0], directory.alias(AXIS, "BYT-2", DAY2)
    assert (old_row.valid_from, old_row.valid_to) == (DAY1, date(2026, 11, 8))  # ended, kept
    assert new_row is not None
    assert new_row.agency == "000.00.00.G18"
    assert [v.number for v in target.history()] == [1, 2]
    lines = change_lines(version, "en")
    assert "renamed  000.00.00.G12  Bộ Tài chính → Bộ Tài chính (đổi tên)" in lines
    assert "closed   000.00.00.G78  UBND tỉnh Quảng Ngãi → successor: 000.00.00.H48" in lines
    back, _ = sync(target, [*second, Listed("STC-HN", "000.00.01.H24", None, "Sở Tài chính Hà Nội")], DAY2)
    assert [(c.code, c.kind) for c in back.changes] == [("000.00.01.H24", REOPENED)]


def test_entries_that_are_not_agencies_are_left_out_and_reported_never_loaded(tmp_path: Path) -> None:
    hostile = [
        Listed("X", "DROP TABLE agencies", None, "x"),
        Listed("BYT", "000.00.00.G18", "not a code", "Bộ Y tế\x1b[31m đỏ\n"),
        Listed("BYT2", "000.00.00.G18", None, "again"),
        Listed("BYT", "000.00.00.G19", None, "Ngân hàng Nhà nước"),  # the axis code again
        Listed("", "000.00.00.G20", None, "Thanh tra Chính phủ"),
    ]
    plan = plan_sync(Directory(), hostile, via=GW, source=SOURCE, today=DAY1)
    assert sorted(a.code for a in plan.agencies) == ["000.00.00.G18", "000.00.00.G19", "000.00.00.G20"]
    assert plan.directory().resolve("000.00.00.G18").name == "Bộ Y tế\\x1b[31m đỏ"
    assert len(plan.skipped) == 5
    assert "entry 1: code102 'DROP TABLE agencies' is not an agency code: left out" in [
        s("en") for s in plan.skipped
    ]


def test_an_apply_interrupted_before_the_file_was_written_never_counts(tmp_path: Path) -> None:
    target = SyncedDirectory(tmp_path / "axis.json")
    sync(target, FIRST, DAY1)
    target.history_dir.joinpath("000002.json").write_text('{"half": ', encoding="utf-8")  # a crash
    assert [v.number for v in target.history()] == [1]
    _, version = sync(target, FIRST[:2], DAY2)
    assert version.number == 2
    assert [v.number for v in target.history()] == [1, 2]


def test_a_running_hubs_directory_follows_the_file_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "axis.json"
    target = SyncedDirectory(path)
    sync(target, FIRST[:1], DAY1)
    clock = [0.0]
    files = DirectoryFiles([path], interval=1.0, clock=lambda: clock[0])
    assert "000.00.01.H24" not in files()
    sync(target, FIRST, DAY2)
    assert "000.00.01.H24" not in files()  # looked at most once a second
    clock[0] += 1.0
    assert files().resolve("000.00.01.H24").via == GW
    path.write_text(json.dumps({"agencies": [{"code": "bad code", "name": "x"}]}), encoding="utf-8")
    clock[0] += 1.0
    assert files().resolve("000.00.01.H24").via == GW  # a broken file keeps the directory in force
    assert files.reloads == 1


def test_a_hub_does_not_start_on_a_broken_directory_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        DirectoryFiles([path])


def test_a_hub_reading_in_the_background_keeps_its_directory_until_the_new_one_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "axis.json"
    target = SyncedDirectory(path)
    sync(target, FIRST[:1], DAY1)
    files = DirectoryFiles([path], interval=0.0, background=True)
    sync(target, FIRST, DAY2)
    assert "000.00.01.H24" not in files()  # the read started; the hub goes on with what it has
    deadline = time.monotonic() + 30
    while "000.00.01.H24" not in files():
        assert time.monotonic() < deadline, "the background read never took effect"
        time.sleep(0.01)
    assert files.reloads == 1
