"""``vb track``: a document's timeline per recipient, overdue deliveries, documents since a time."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import vbcore.cli.track  # noqa: F401 - registers `vb track` (until vbcore.cli imports it)
from vbcore.cli import vb
from vbcore.cli.track import default_store_url
from vbcore.store import DocumentRecord, Refusal, StatusEvent, TraceEvent, open_store
from vbcore.workdays import deadline_for

SENDER, DANANG, HCM = "000.00.00.G12", "000.00.00.H15", "000.00.00.H29"
FRIDAY_0900 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A store holding one document to Đà Nẵng (registered, then revoked) and Hồ Chí Minh City (silent),
    and a refusal of a copy addressed to closed Quảng Nam."""
    url = f"sqlite:///{tmp_path}/vbus.db"
    store = open_store(url)
    at = FRIDAY_0900
    store.record_document(
        DocumentRecord("doc-1", SENDER, 0, "Về việc chuyển đổi số", "12/BTC-VP", "m-1", "ab" * 32, 4096, at)
    )
    for recipient in (DANANG, HCM):
        store.claim_pair("doc-1", recipient, at=at, deadline=deadline_for(at))
        store.mark_forwarded("doc-1", recipient, at=at + timedelta(seconds=1))
    store.record_status(
        StatusEvent(
            "doc-1", DANANG, "01", None, datetime(2026, 11, 27, 9, 5), at + timedelta(minutes=5), DANANG
        )
    )
    store.record_status(
        StatusEvent(
            "doc-1",
            DANANG,
            "03",
            "Vào sổ 345",
            datetime(2026, 11, 27, 10, 0),
            at + timedelta(hours=1),
            DANANG,
        )
    )
    store.record_status(
        StatusEvent(
            "doc-1", DANANG, "13", "Gửi nhầm", datetime(2026, 11, 27, 11, 0), at + timedelta(hours=2), SENDER
        )
    )
    store.record_status(
        StatusEvent(
            "doc-1", DANANG, "15", None, datetime(2026, 11, 27, 11, 30), at + timedelta(hours=3), DANANG
        )
    )
    store.record_refusal(
        Refusal("m-1", SENDER, "doc-1", "000.00.00.H47", "closed-agency", "000.00.00.H47 is closed", at)
    )
    store.record_trace(TraceEvent("doc-1", "hub-a", "received", at))
    store.record_trace(TraceEvent("doc-1", "hub-a", f"forwarded:{DANANG}", at + timedelta(seconds=1)))
    store.close()
    return url


def run(*args: str, lang: str = "vi") -> Result:
    return CliRunner().invoke(vb, ["--lang", lang, "track", *args], catch_exceptions=False)


def test_a_documents_timeline_names_each_recipient_and_status_in_vietnamese(store_url: str) -> None:
    result = run("doc-1", "--store", store_url, "--now", "2026-11-27T18:00")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "12/BTC-VP  Về việc chuyển đổi số" in out
    assert f"{DANANG} (UBND thành phố Đà Nẵng): 03 Đã tiếp nhận  [đã thu hồi]" in out
    assert f"{HCM} (UBND thành phố Hồ Chí Minh): Đã chuyển đến hộp thư  [quá hạn 01]" in out
    for line in ("01 Đã đến", "03 Đã tiếp nhận", "Vào sổ 345", "13 Thu hồi", "Gửi nhầm", "15 Đồng ý thu hồi"):
        assert line in out
    assert "2026-11-27 10:00:00" in out  # the status time as the package wrote it
    assert re.search(r"hạn 01 +2026-11-27 17:00:00", out)
    assert "closed-agency (gửi 000.00.00.H47): Mã định danh cơ quan đã ngừng sử dụng\n" in out
    assert "      000.00.00.H47 is closed\n" in out  # the sentence the sender got, on a line of its own
    assert f"forwarded:{DANANG}" in out


def test_the_same_timeline_reads_in_english_on_request(store_url: str) -> None:
    out = run("doc-1", "--store", store_url, "--now", "2026-11-27T18:00", lang="en").output
    assert f"{DANANG} (UBND thành phố Đà Nẵng): 03 Registered  [revoked]" in out
    assert f"{HCM} (UBND thành phố Hồ Chí Minh): Forwarded to the inbox  [01 overdue]" in out
    for line in ("01 Arrived", "13 Revocation requested", "15 Revocation or update accepted", "Vietnam time"):
        assert line in out
    assert re.search(r"01 due by +2026-11-27 17:00:00", out)
    assert "closed-agency (to 000.00.00.H47): The agency identifier is closed" in out
    for vietnamese in ("Đã đến", "hạn 01", "trục", "giờ Việt Nam", "quá hạn"):
        assert vietnamese not in out


def test_the_json_timeline_carries_codes_names_times_refusals_and_trace(store_url: str) -> None:
    result = run("doc-1", "--store", store_url, "--json", "--now", "2026-11-27T16:00")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    danang, hcm = data["recipients"]
    assert (danang["recipient"], danang["name"], danang["state"]) == (DANANG, "UBND thành phố Đà Nẵng", "03")
    assert (danang["last_status"], danang["change"]) == ("15", "revoked")
    assert [(s["code"], s["name"]) for s in danang["statuses"]] == [
        ("01", "Đã đến"),
        ("03", "Đã tiếp nhận"),
        ("13", "Thu hồi"),
        ("15", "Đồng ý thu hồi/cập nhật"),
    ]
    assert danang["statuses"][0]["status_time"] == "2026-11-27T09:05:00"
    assert danang["statuses"][0]["received_at"] == "2026-11-27T02:05:00+00:00"
    assert (hcm["state"], hcm["overdue"], hcm["statuses"]) == ("forwarded", False, [])
    assert hcm["deadline"] == "2026-11-27T10:00:00+00:00"
    assert data["refusals"][0]["reason"] == "closed-agency"
    assert [t["event"] for t in data["trace"]] == ["received", f"forwarded:{DANANG}"]
    assert data["document"]["sender_name"] == "Bộ Tài chính"


def test_an_unknown_document_is_reported_with_exit_code_1(store_url: str) -> None:
    result = CliRunner().invoke(vb, ["track", "doc-404", "--store", store_url])
    assert result.exit_code == 1
    assert result.output == "Lỗi: không có văn bản doc-404 trong kho theo dõi\n"
    english = CliRunner().invoke(vb, ["--lang", "en", "track", "doc-404", "--store", store_url])
    assert english.output == "Error: document doc-404 is not in the tracking store\n"


@pytest.mark.parametrize("args", [["doc-1"], ["--overdue"], ["--since", "2026-11-27T09:00"]])
def test_a_read_command_refuses_a_store_that_does_not_exist_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "typo" / "vbus.db"
    result = CliRunner().invoke(vb, ["track", *args, "--store", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert f"không có kho nào tại {missing}" in result.output
    assert "--store" in result.output  # the fix
    assert not missing.exists()
    assert not missing.parent.exists()


def test_an_in_memory_store_is_refused_by_a_read_command() -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "track", "--overdue", "--store", "sqlite://"])
    assert result.exit_code == 1
    assert "in-memory store" in result.output


def test_overdue_lists_the_silent_recipient_after_five_only(store_url: str) -> None:
    before = run("--overdue", "--store", store_url, "--now", "2026-11-27T16:59")
    assert before.exit_code == 0
    assert "Không có gì quá hạn lúc 2026-11-27 16:59:00 (giờ Việt Nam)." in before.output
    after = run("--overdue", "--store", store_url, "--now", "2026-11-27T18:00+07:00")
    assert "1 lượt chuyển chưa có 01 đã quá hạn lúc 2026-11-27 18:00:00" in after.output
    assert (
        f"{HCM} (UBND thành phố Hồ Chí Minh)  Đã chuyển đến hộp thư  2026-11-27 17:00:00  1.0 giờ"
        in after.output
    )
    assert DANANG not in after.output
    english = run("--overdue", "--store", store_url, "--now", "2026-11-27T18:00+07:00", lang="en").output
    hcm = f"{HCM} (UBND thành phố Hồ Chí Minh)"
    assert f"{hcm}  Forwarded to the inbox  2026-11-27 17:00:00  1.0 h" in english
    assert "1 deliveries without a 01 past their deadline" in english
    data = json.loads(run("--overdue", "--store", store_url, "--now", "2026-11-27T11:00Z", "--json").output)
    assert [(p["document_id"], p["recipient"]) for p in data["overdue"]] == [("doc-1", HCM)]


def test_since_takes_a_local_time_and_lists_documents_with_their_recipients_states(store_url: str) -> None:
    listed = run("--since", "2026-11-27T09:00", "--store", store_url)
    assert listed.exit_code == 0, listed.output
    assert "1 văn bản trục nhận từ 2026-11-27 09:00:00 (giờ Việt Nam):" in listed.output
    assert f"Văn bản mới  Về việc chuyển đổi số  {DANANG}: 03 Đã tiếp nhận; {HCM}: Đã chuyển" in listed.output
    english = run("--since", "2026-11-27T09:00", "--store", store_url, lang="en").output
    assert "1 documents received since 2026-11-27 09:00:00 (Vietnam time):" in english
    assert f"New document  Về việc chuyển đổi số  {DANANG}: 03 Registered; {HCM}: Forwarded" in english
    later = run("--since", "2026-11-27T09:00:01", "--store", store_url)
    assert "Không có văn bản nào trục nhận từ" in later.output
    data = json.loads(run("--since", "2026-11-27T02:00Z", "--store", store_url, "--json").output)
    assert data["documents"][0]["recipients"] == {DANANG: "03", HCM: "forwarded"}


@pytest.mark.parametrize(
    "args",
    [[], ["doc-1", "--overdue"], ["--overdue", "--since", "2026-11-27T09:00"]],
)
def test_exactly_one_of_a_document_overdue_or_since_is_required(store_url: str, args: list[str]) -> None:
    result = CliRunner().invoke(vb, ["track", *args, "--store", store_url])
    assert result.exit_code == 2
    assert "exactly one of DOCUMENT_ID, --overdue or --since" in result.output


def test_a_time_that_is_not_iso_8601_is_a_usage_error(store_url: str) -> None:
    result = CliRunner().invoke(vb, ["track", "--since", "yesterday", "--store", store_url])
    assert result.exit_code == 2
    assert "not an ISO 8601 time" in result.output


def test_the_store_defaults_to_vbus_store_then_var_vbus_db(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VBUS_STORE", raising=False)
    assert default_store_url() == "sqlite:///./var/vbus.db"
    monkeypatch.setenv("VBUS_STORE", store_url.removeprefix("sqlite:///"))
    assert default_store_url() == store_url
    assert "doc-1" in run("--since", "2026-11-27T00:00").output
    monkeypatch.setenv("VBUS_STORE", "postgresql://hub@db/vbus")
    assert default_store_url() == "postgresql://hub@db/vbus"


def test_a_store_that_cannot_be_opened_is_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(vb, ["--lang", "en", "track", "doc-1", "--store", "mysql://db/vbus"])
    assert result.exit_code == 1
    assert result.output.startswith("The store URL is not valid: mysql://db/vbus is not a store URL")


def test_statuses_dated_year_1_and_year_9999_are_shown_and_never_crash_vb_track(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/vbus.db"
    store = open_store(url)
    at = FRIDAY_0900
    store.record_document(DocumentRecord("doc-y", SENDER, 0, None, None, "m-y", "ab" * 32, 1, at))
    store.claim_pair("doc-y", DANANG, at=at, deadline=deadline_for(at))
    for code, when in (("01", datetime(1, 1, 1)), ("03", datetime(9999, 12, 31, 23, 59, 59))):
        store.record_status(StatusEvent("doc-y", DANANG, code, None, when, at, DANANG))
    store.close()
    text = run("doc-y", "--store", url)
    assert text.exit_code == 0, text.output
    assert "0001-01-01 00:00:00" in text.output
    assert "9999-12-31 23:59:59" in text.output
    data = json.loads(run("doc-y", "--store", url, "--json").output)
    assert [s["status_time"] for s in data["recipients"][0]["statuses"]] == [
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59",
    ]
    assert run("--overdue", "--store", url, "--now", "9999-12-31T00:00").exit_code == 0


A_UUID = "1da394ba-2117-4354-a23f-6ec3e47ba81b"


def uuid_store(tmp_path: Path, senders: tuple[str, ...]) -> str:
    """Documents tracked as the hub tracks a DocumentId without its sender's code: ``<sender>|<id>``."""
    url = f"sqlite:///{tmp_path}/vbus.db"
    store = open_store(url)
    for sender in senders:
        key = f"{sender}|{A_UUID}"
        record = DocumentRecord(key, sender, 0, f"Thư của {sender}", None, "m", "ab" * 32, 1, FRIDAY_0900)
        store.record_document(dataclasses.replace(record, edxml_document_id=A_UUID))
        store.claim_pair(key, HCM, at=FRIDAY_0900, deadline=None)
    store.close()
    return url


def test_a_uuid_document_id_alone_finds_its_one_document(tmp_path: Path) -> None:
    url = uuid_store(tmp_path, (SENDER,))
    result = run(A_UUID, "--store", url)
    assert result.exit_code == 0, result.output
    assert f"Thư của {SENDER}" in result.output


def test_a_document_id_two_senders_wrote_is_listed_and_each_found_by_sender(tmp_path: Path) -> None:
    url = uuid_store(tmp_path, (SENDER, DANANG))
    ambiguous = CliRunner().invoke(vb, ["track", A_UUID, "--store", url])
    assert ambiguous.exit_code == 1
    assert f"{SENDER}|{A_UUID}" in ambiguous.output
    assert f"{DANANG}|{A_UUID}" in ambiguous.output
    one = run(f"{DANANG}|{A_UUID}", "--store", url)
    assert one.exit_code == 0, one.output
    assert f"Thư của {DANANG}" in one.output
    assert f"Thư của {SENDER}" not in one.output
