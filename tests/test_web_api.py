"""The board's HTTP API on the demo's world: it finds letters as clerks describe them, shows the same
truth as ``vb track``, and replays and drops parked messages as ``vb parked`` does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import NOW, Board, build, csrf_of

from cli import vb
from vbcore.testing.devworld import HA_NOI

CIRCULAR = "1234/VPCP-KSTT"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    built = build(tmp_path_factory.mktemp("board"))
    yield built
    built.demo.store.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Board]:
    built = build(tmp_path)
    yield built
    built.demo.store.close()


def store_url(board: Board) -> str:
    [path] = board.demo.store.select("PRAGMA database_list")[0][2:3]
    return f"sqlite:///{path}"


def track_json(board: Board, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(
        vb, ["track", *args, "--json", "--now", NOW.isoformat(), "--store", store_url(board)]
    )
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


def test_the_clerks_sentence_finds_yesterdays_circular_to_ha_noi(board: Board) -> None:
    found = board.login("viewer").get("/api/search", params={"q": "công văn 1234 gửi Hà Nội hôm qua"}).json()
    assert [d["code"] for d in found["results"]["items"]] == [CIRCULAR]
    assert {u["kind"] for u in found["understood"]} == {"type", "number", "recipient", "since"}
    assert "UBND thành phố Hà Nội" in next(
        u["label"] for u in found["understood"] if u["kind"] == "recipient"
    )


def test_subject_words_find_letters_with_or_without_accents(board: Board) -> None:
    viewer = board.login("viewer")
    with_accents = viewer.get("/api/documents", params={"subject": "liên thông"}).json()
    without = viewer.get("/api/documents", params={"subject": "LIEN THONG"}).json()
    assert with_accents["total"] == without["total"] >= 1
    assert [d["code"] for d in with_accents["items"]] == [d["code"] for d in without["items"]]


def test_a_timeline_shows_what_vb_track_shows(board: Board) -> None:
    viewer = board.login("viewer")
    [doc] = viewer.get("/api/documents", params={"number": CIRCULAR}).json()["items"]
    api = viewer.get("/api/timeline", params={"document_id": doc["document_id"]}).json()
    track = track_json(board, doc["document_id"])
    mine = [
        (r["recipient"], r["state"], r["last_status"], r["overdue"], [s["code"] for s in r["statuses"]])
        for r in api["recipients"]
    ]
    theirs = [
        (r["recipient"], r["state"], r["last_status"], r["overdue"], [s["code"] for s in r["statuses"]])
        for r in track["recipients"]
    ]  # type: ignore[attr-defined]
    assert mine == theirs
    assert next(r["state_text"] for r in api["recipients"])  # and each state named for people


def test_overdue_pairs_are_vb_tracks_with_how_late_they_are(board: Board) -> None:
    viewer = board.login("viewer")
    api = viewer.get("/api/overdue", params={"per_page": 100}).json()
    track = track_json(board, "--overdue")["overdue"]
    assert api["total"] >= 1
    assert sorted((o["document_id"], o["recipient"]) for o in api["items"]) == sorted(
        (o["document_id"], o["recipient"])
        for o in track  # type: ignore[attr-defined]
    )
    first = api["items"][0]
    assert first["late_by_seconds"] > 0
    assert re.search(r"\d", first["late_text"])
    assert first["late_by_seconds"] >= api["items"][-1]["late_by_seconds"]


def test_english_on_request_one_language_per_line(board: Board) -> None:
    viewer = board.login("viewer")
    [doc] = viewer.get("/api/documents", params={"number": CIRCULAR}).json()["items"]
    vi = viewer.get("/api/timeline", params={"document_id": doc["document_id"]}).json()
    en = viewer.get("/api/timeline", params={"document_id": doc["document_id"], "lang": "en"}).json()
    assert vi["recipients"][0]["statuses"][0]["code_text"] == "Đã đến"
    assert en["recipients"][0]["statuses"][0]["code_text"] == "Arrived"
    page = viewer.get("/?lang=en")
    assert "Document interconnection board" in page.text
    assert "Bảng theo dõi" not in page.text


def test_replaying_a_parked_letter_delivers_it(fresh: Board) -> None:
    operator = fresh.login("operator")
    parked = operator.get("/api/parked").json()
    assert parked["total"] == 2
    letter = next(p for p in parked["items"] if p["replayable"] and p["kind"] == "edoc")
    assert letter["reason"].startswith("not-processed")
    result = operator.post(
        "/api/parked/replay",
        json={"message_id": letter["message_id"]},
        headers={"X-CSRF-Token": csrf_of(operator)},
    ).json()
    assert result["outcome"] == "done"
    assert letter["message_id"] in result["text"]
    fresh.demo.pump()
    assert operator.get("/api/parked").json()["total"] == 1
    [pair] = fresh.demo.store.pairs(letter["document_id"])
    assert (pair.recipient, pair.state) == (HA_NOI, "forwarded")


def test_dropping_removes_the_message_and_a_second_drop_finds_nothing(fresh: Board) -> None:
    operator = fresh.login("operator")
    headers = {"X-CSRF-Token": csrf_of(operator)}
    first = operator.post("/api/parked/drop", json={"message_id": "guest-0001"}, headers=headers).json()
    again = operator.post("/api/parked/drop", json={"message_id": "guest-0001"}, headers=headers).json()
    assert (first["outcome"], again["outcome"]) == ("done", "not-found")
    assert fresh.demo.world.parked() == 1
    assert [a.outcome for a in fresh.context.accounts.actions()] == ["not-found", "done"]


def test_a_message_without_a_verified_sender_is_not_replayable_and_stays_parked(fresh: Board) -> None:
    from vbcore.transport.memory import InMemoryTransport

    world = fresh.demo.world
    anonymous = InMemoryTransport(world.broker, "x", world.names, stamp_user_id=False)
    anonymous.publish(world.names.ingress_exchange, "", b"<x/>", message_id="anon-1")
    world.pump()
    operator = fresh.login("operator")
    listed = {p["message_id"]: p for p in operator.get("/api/parked").json()["items"]}
    assert listed["anon-1"]["replayable"] is False
    result = operator.post(
        "/api/parked/replay", json={"message_id": "anon-1"}, headers={"X-CSRF-Token": csrf_of(operator)}
    ).json()
    assert result["outcome"] == "not-replayable"
    assert "anon-1" in {p["message_id"] for p in operator.get("/api/parked").json()["items"]}


def test_queue_depths_flag_the_parked_alarm(fresh: Board) -> None:
    fresh.context.parked_alarm = 2
    queues = {q["name"]: q for q in fresh.login("viewer").get("/api/queues").json()}
    parked = queues[fresh.demo.world.names.parked_queue]
    assert (parked["messages"], parked["alarm"]) == (2, True)


def test_charts_are_svg_with_one_bar_per_hour_and_per_reason(board: Board) -> None:
    viewer = board.login("viewer")
    hourly = viewer.get("/api/charts/hourly.svg")
    assert hourly.headers["content-type"].startswith("image/svg+xml")
    hours = viewer.get("/api/stats/hourly").json()
    assert hourly.text.count('class="bar"') == len(hours) == 48
    reasons = viewer.get("/api/stats/refusals").json()
    assert viewer.get("/api/charts/refusals.svg").text.count('class="bar"') == len(reasons) >= 2
    spread = viewer.get("/api/charts/first-receipt.svg").text
    assert spread.count('class="box"') == min(12, len(viewer.get("/api/stats/first-receipt").json()))
    assert "<script" not in spread


def test_the_openapi_description_lists_every_route(board: Board) -> None:
    spec = board.login("viewer").get("/api/openapi.json").json()
    for path in (
        "/api/documents",
        "/api/search",
        "/api/timeline",
        "/api/overdue",
        "/api/refusals",
        "/api/parked",
        "/api/parked/replay",
        "/api/parked/drop",
        "/api/queues",
        "/api/agencies",
    ):
        assert path in spec["paths"]


def test_pages_of_results_are_bounded(board: Board) -> None:
    viewer = board.login("viewer")
    assert viewer.get("/api/documents", params={"per_page": 101}).status_code == 422
    page = viewer.get("/api/documents", params={"per_page": 5, "page": 2}).json()
    assert len(page["items"]) == 5
    assert page["total"] > 10
