"""The board's access control: no page or API call without login, roles, agency scope, sessions that
expire, CSRF on every action, locked accounts, no secrets in logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from web_support import PASSWORD, Board, Clock, build, csrf_of, login, login_token

from vbcore.testing.devworld import DA_NANG, HA_NOI, NOI_VU
from vbcore.web.app import SESSION_COOKIE
from vbcore.web.auth import IDLE, LIFETIME, MAX_FAILURES

CIRCULAR = "1234/VPCP-KSTT"  # from Văn phòng Chính phủ to five agencies, Hà Nội among them
NOTICE = "88/BTC-NSNN"  # from Bộ Tài chính to Hà Nội and Thanh Hóa
REPORT = "215/BNV-CCVC"  # from Bộ Nội vụ to Văn phòng Chính phủ: Hà Nội has nothing to do with it


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    built = build(tmp_path_factory.mktemp("board"))
    yield built
    built.demo.store.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Board]:
    """A board of its own, for tests that lock accounts or move the clock."""
    built = build(tmp_path, clock=Clock())
    yield built
    built.demo.store.close()


def document_id(board: Board, code: str) -> str:
    rows = board.demo.store.select("SELECT document_id FROM documents WHERE code = ?", (code,))
    return str(rows[0][0])


ROUTES = [
    "/api/me",
    "/api/documents",
    "/api/search?q=x",
    "/api/timeline?document_id=x",
    "/api/overdue",
    "/api/refusals",
    "/api/parked",
    "/api/queues",
    "/api/agencies",
    "/api/stats/hourly",
    "/api/stats/first-receipt",
    "/api/stats/refusals",
    "/api/charts/hourly.svg",
    "/api/openapi.json",
    "/static/board.js",
]


@pytest.mark.parametrize("path", ROUTES)
def test_no_api_call_without_login(board: Board, path: str) -> None:
    assert board.client().get(path).status_code == 401


def test_no_action_without_login(board: Board) -> None:
    client = board.client()
    for path in ("/api/parked/replay", "/api/parked/drop", "/api/logout"):
        assert client.post(path, json={"message_id": "x"}).status_code == 401


def test_the_board_page_sends_a_stranger_to_the_login_page(board: Board) -> None:
    response = board.client().get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_a_session_cookie_that_was_never_issued_opens_nothing(board: Board) -> None:
    client = board.client()
    client.cookies.set(SESSION_COOKIE, "A" * 43)
    assert client.get("/api/me").status_code == 401


def test_login_without_the_login_forms_token_is_refused(board: Board) -> None:
    client = board.client()
    login_token(client)
    response = login(client, "viewer", PASSWORD, token="forged")
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies
    stranger = board.client()  # a forged form from another site: no login cookie at all
    response = stranger.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf": "x"})
    assert response.status_code == 403


def test_a_login_from_another_origin_is_refused(board: Board) -> None:
    client = board.client()
    token = login_token(client)
    response = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(board: Board) -> None:
    wrong = login(board.client(), "viewer", "not the password")
    unknown = login(board.client(), "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    message = re.compile(r'role="alert">([^<]*)<')
    assert message.findall(wrong.text) == message.findall(unknown.text) != [""]  # type: ignore[attr-defined]


def test_the_session_cookie_is_http_only_and_same_site_strict(board: Board) -> None:
    response = login(board.client(), "viewer", PASSWORD)
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")


def test_a_viewer_reads_but_may_not_replay_or_drop(board: Board) -> None:
    viewer = board.login("viewer")
    assert viewer.get("/api/parked").status_code == 200
    headers = {"X-CSRF-Token": csrf_of(viewer)}
    for action in ("replay", "drop"):
        assert (
            viewer.post(f"/api/parked/{action}", json={"message_id": "x"}, headers=headers).status_code == 403
        )
    assert board.demo.world.parked() == 2


def test_an_operators_action_needs_the_sessions_csrf_token(board: Board) -> None:
    operator = board.login("operator")
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf_of(board.login("viewer"))}):
        response = operator.post("/api/parked/drop", json={"message_id": "guest-0001"}, headers=headers)
        assert response.status_code == 403
    assert board.demo.world.parked() == 2


def test_an_action_from_another_origin_is_refused_even_with_the_token(board: Board) -> None:
    operator = board.login("operator")
    headers = {"X-CSRF-Token": csrf_of(operator), "Origin": "https://evil.example"}
    assert (
        operator.post("/api/parked/drop", json={"message_id": "guest-0001"}, headers=headers).status_code
        == 403
    )


def test_an_operators_replay_is_recorded_with_who_did_it(fresh: Board) -> None:
    operator = fresh.login("operator")
    parked = operator.get("/api/parked").json()["items"]
    letter = next(p for p in parked if p["kind"] == "edoc")
    response = operator.post(
        "/api/parked/replay",
        json={"message_id": letter["message_id"]},
        headers={"X-CSRF-Token": csrf_of(operator)},
    )
    assert response.json()["outcome"] == "done"
    [action] = fresh.context.accounts.actions(document_id=letter["document_id"])
    assert (action.actor, action.action, action.outcome) == ("operator", "replay", "done")
    fresh.demo.pump()  # the hub takes the replay and forwards the letter
    timeline = operator.get("/api/timeline", params={"document_id": letter["document_id"]})
    assert [a["actor"] for a in timeline.json()["actions"]] == ["operator"], timeline.text
    assert [r["state"] for r in timeline.json()["recipients"]] == ["forwarded"]


def test_an_agency_cannot_read_another_agencys_document_by_its_id(board: Board) -> None:
    hanoi = board.login("hanoi")
    response = hanoi.get("/api/timeline", params={"document_id": document_id(board, REPORT)})
    assert response.status_code == 404
    assert (
        hanoi.get("/api/documents", params={"document_id": document_id(board, REPORT)}).json()["total"] == 0
    )


def test_an_agency_sees_only_the_documents_its_agency_sent_or_received(board: Board) -> None:
    hanoi = board.login("hanoi")
    found = hanoi.get("/api/documents", params={"per_page": 100}).json()["items"]
    assert found
    for d in found:
        assert d["sender"] == HA_NOI or [r["recipient"] for r in d["recipients"]] == [HA_NOI]
    assert REPORT not in [d["code"] for d in found]


def test_a_recipient_agency_sees_its_own_copys_story_only(board: Board) -> None:
    hanoi = board.login("hanoi")
    t = hanoi.get("/api/timeline", params={"document_id": document_id(board, CIRCULAR)}).json()
    assert [r["recipient"] for r in t["recipients"]] == [HA_NOI]
    assert t["trace"] == []
    assert t["refusals"] == []
    viewer = board.login("viewer")
    everyone = viewer.get("/api/timeline", params={"document_id": document_id(board, CIRCULAR)}).json()
    assert len(everyone["recipients"]) == 5


def test_a_sender_agency_sees_every_recipient_of_its_letter(board: Board) -> None:
    taichinh = board.login("taichinh")
    t = taichinh.get("/api/timeline", params={"document_id": document_id(board, NOTICE)}).json()
    assert len(t["recipients"]) == 2


def test_an_agency_sees_no_parked_message_queue_or_other_agencys_figures(board: Board) -> None:
    hanoi = board.login("hanoi")
    for path in ("/api/parked", "/api/queues", "/api/charts/queues.svg"):
        assert hanoi.get(path).status_code == 403
    refusals = hanoi.get("/api/refusals").json()["items"]
    assert refusals
    assert {r["sender"] for r in refusals} == {HA_NOI}
    overdue = hanoi.get("/api/overdue", params={"per_page": 100}).json()["items"]
    assert all(HA_NOI in (o["sender"], o["recipient"]) for o in overdue)
    receipts = {r["recipient"] for r in hanoi.get("/api/stats/first-receipt").json()}
    assert NOI_VU not in receipts or any(o for o in overdue)  # only pairs Hà Nội is party to
    assert DA_NANG in {r["recipient"] for r in board.login("viewer").get("/api/stats/first-receipt").json()}


def test_an_agency_search_by_the_clerks_words_stays_in_its_scope(board: Board) -> None:
    hanoi = board.login("hanoi")
    found = hanoi.get("/api/search", params={"q": "báo cáo của Bộ Nội vụ"}).json()["results"]
    assert found["total"] == 0
    assert (
        board.login("viewer")
        .get("/api/search", params={"q": "báo cáo của Bộ Nội vụ"})
        .json()["results"]["total"]
        >= 1
    )


def test_a_session_ends_after_being_idle_and_after_its_lifetime(fresh: Board) -> None:
    client = fresh.login("viewer")
    fresh.clock.advance(IDLE - timedelta(seconds=1))
    assert client.get("/api/me").status_code == 200  # used: its idle deadline moves on
    fresh.clock.advance(IDLE - timedelta(seconds=1))
    assert client.get("/api/me").status_code == 200
    fresh.clock.advance(IDLE + timedelta(seconds=1))
    assert client.get("/api/me").status_code == 401
    busy = fresh.login("viewer")
    for _ in range(int(LIFETIME / (IDLE / 2)) + 1):
        fresh.clock.advance(IDLE / 2)
        last = busy.get("/api/me").status_code
    assert last == 401  # however busy, a session ends at its lifetime


def test_logging_out_ends_the_session(fresh: Board) -> None:
    client = fresh.login("viewer")
    token = client.cookies.get(SESSION_COOKIE)
    assert client.post("/api/logout", headers={"X-CSRF-Token": csrf_of(client)}).status_code == 204
    replayed = fresh.client()
    replayed.cookies.set(SESSION_COOKIE, token or "")
    assert replayed.get("/api/me").status_code == 401


def test_a_new_password_or_a_removed_account_ends_its_sessions(fresh: Board) -> None:
    client = fresh.login("viewer")
    assert fresh.context.auth.set_password("viewer", "một mật khẩu mới dài")
    assert client.get("/api/me").status_code == 401
    client = fresh.login("operator")
    assert fresh.context.accounts.remove("operator")
    assert client.get("/api/me").status_code == 401


def test_repeated_wrong_passwords_lock_the_account_for_a_while(fresh: Board) -> None:
    for _ in range(MAX_FAILURES):
        assert login(fresh.client(), "viewer", "guessing").status_code == 401  # type: ignore[attr-defined]
    assert login(fresh.client(), "viewer", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    fresh.clock.advance(timedelta(minutes=16))
    assert login(fresh.client(), "viewer", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_no_password_token_or_hash_reaches_the_log(fresh: Board) -> None:
    with structlog.testing.capture_logs() as logs:
        client = fresh.login("operator")
        login(fresh.client(), "operator", "a wrong guess 123")
        client.post(
            "/api/parked/drop", json={"message_id": "guest-0001"}, headers={"X-CSRF-Token": csrf_of(client)}
        )
    text = repr(logs)
    token = client.cookies.get(SESSION_COOKIE) or "?"
    account = fresh.context.accounts.get("operator")
    assert account is not None
    for secret in (PASSWORD, "a wrong guess 123", token, account.password_hash, csrf_of(client)):
        assert secret not in text
    assert "web.login" in text  # the events are logged, without them


def test_the_store_keeps_no_usable_session_token(fresh: Board) -> None:
    client = fresh.login("viewer")
    token = client.cookies.get(SESSION_COOKIE) or "?"
    rows = fresh.demo.store.select("SELECT token_sha256 FROM web_sessions")
    assert rows
    assert all(token not in str(r) for r in rows)


def test_pages_forbid_framing_and_inline_scripts(board: Board) -> None:
    response = board.login("viewer").get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text  # the board's one script is a file


def test_a_login_with_a_huge_password_is_refused_without_hashing_it(board: Board) -> None:
    client: TestClient = board.client()
    assert login(client, "viewer", "x" * 5000).status_code in (401, 403)  # type: ignore[attr-defined]


def test_an_agency_asking_for_a_shared_uuid_learns_nothing_of_the_other_senders(fresh: Board) -> None:
    from vbcore.store import DocumentRecord

    written = "3f2b9c1e-5d4a-4b8e-9c7f-1a2b3c4d5e6f"
    for sender in (HA_NOI, DA_NANG):
        key = f"{sender}|{written}"
        record = DocumentRecord(key, sender, 0, "Thư", None, f"m-{sender}", "ab" * 32, 1, fresh.clock.at,
                                edxml_document_id=written)  # fmt: skip
        fresh.demo.store.record_document(record)
    assert fresh.login("viewer").get("/api/timeline", params={"document_id": written}).status_code == 409
    mine = fresh.login("hanoi").get("/api/timeline", params={"document_id": written})
    assert mine.status_code == 200
    assert DA_NANG not in mine.text
