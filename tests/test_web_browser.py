"""The board in a real headless Chromium (Debian's, driven by Playwright; nothing is downloaded): load,
search as a clerk would, open a timeline, replay a parked message, switch to English, a phone's screen,
and screenshots checked by size and by key pixels.

``VBUS_SAVE_SCREENSHOTS=1`` also writes the laptop's screenshot to ``docs/board.png`` for the README."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from png import read_png
from web_support import PASSWORD, Board, build

from vbcore.web.serve import Server

pytestmark = pytest.mark.slow

# The flags Chromium needs here: no sandbox as root, and none of its own connections to the internet.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
HEADER_BLUE = (0x0F, 0x3D, 0x6E)
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    built = build(tmp_path_factory.mktemp("board"))
    yield built
    built.demo.store.close()


@pytest.fixture(scope="module")
def url(board: Board) -> Iterator[str]:
    server = Server(board.context)
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        launched.close()


def logged_in(browser: Any, url: str, user: str, viewport: dict[str, int] = LAPTOP) -> Any:
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#results table")
    page.errors = errors
    return page


def test_the_login_page_is_vietnamese_and_leads_to_the_board(browser: Any, url: str) -> None:
    page = browser.new_page()
    page.goto(f"{url}/")
    assert page.url.endswith("/login")
    assert page.text_content("h1") == "Bảng theo dõi liên thông văn bản"
    page.fill("#username", "viewer")
    page.fill("#password", "sai mật khẩu rồi")
    page.click("#login")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.text_content("[role=alert]")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#results table")
    assert page.locator("#results tbody tr").count() >= 10
    page.close()


def test_a_clerks_search_finds_the_letter_and_its_timeline(browser: Any, url: str) -> None:
    page = logged_in(browser, url, "viewer")
    page.fill("#q", "công văn 1234 gửi Hà Nội hôm qua")
    page.press("#q", "Enter")
    page.wait_for_selector(".chip.recipient")
    assert page.locator(".chip").count() == 4
    assert page.locator("#results tbody tr").count() == 1
    page.click(".doc-link")
    page.wait_for_selector(".recipient-card")
    cards = page.locator(".recipient-card")
    assert cards.count() == 5
    ha_noi = page.locator('.recipient-card[data-recipient="000.00.00.H24"]')
    assert "05 Đang xử lý" in ha_noi.text_content()
    assert ha_noi.locator(".step").count() == 5  # received, forwarded, 01, 03, 05
    assert page.errors == []
    page.close()


def test_overdue_pairs_are_highlighted_with_how_late(browser: Any, url: str) -> None:
    page = logged_in(browser, url, "viewer")
    page.wait_for_selector("#overdue .late-row")
    late = page.locator("#overdue .badge.late").first.text_content()
    assert late.startswith("trễ ")
    page.close()


def test_an_operator_replays_a_parked_message_from_the_board(browser: Any, url: str, board: Board) -> None:
    page = logged_in(browser, url, "operator")
    page.wait_for_selector("#parked tbody tr")
    assert page.locator("#parked tbody tr").count() == 2
    row = page.locator("#parked tbody tr").filter(has_text="not-processed")
    message_id = row.get_attribute("data-message-id")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.replay").click()
    page.wait_for_selector("#notice.ok")
    assert "Đã gửi lại" in page.text_content("#notice")
    page.wait_for_function("document.querySelectorAll('#parked tbody tr').length === 1")
    board.demo.pump()  # the hub takes the replay
    replayed = board.context.accounts.actions()[0]
    assert (replayed.actor, replayed.message_id, replayed.outcome) == ("operator", message_id, "done")
    page.close()


def test_an_agency_account_sees_no_parked_messages(browser: Any, url: str) -> None:
    page = logged_in(browser, url, "hanoi")
    assert page.locator("#parked-panel").is_hidden()
    assert page.locator("#chart-queues").count() == 0
    page.close()


def test_the_board_switches_to_english(browser: Any, url: str) -> None:
    page = logged_in(browser, url, "viewer")
    page.click("#switch-lang")
    page.wait_for_selector("#results table")
    assert page.text_content("h1") == "Document interconnection board"
    assert page.get_attribute("html", "lang") == "en"
    page.close()


def _screenshot(page: Any, path: Path, *, for_readme: bool = False) -> bytes:
    data: bytes = page.screenshot(path=str(path), full_page=True)
    if for_readme and os.environ.get("VBUS_SAVE_SCREENSHOTS"):
        shutil.copyfile(path, DOCS / path.name)
    return data


def _charts_drawn(page: Any) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth > 0)"
    )


def test_a_laptop_screenshot_shows_the_header_the_results_and_the_charts(
    browser: Any, url: str, tmp_path: Path
) -> None:
    page = logged_in(browser, url, "operator")
    page.fill("#q", "công văn 1234 gửi Hà Nội hôm qua")
    page.press("#q", "Enter")
    page.wait_for_selector(".chip.recipient")
    page.click(".doc-link")
    page.wait_for_selector(".recipient-card")
    page.wait_for_selector("#overdue .late-row")
    _charts_drawn(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot = read_png(_screenshot(page, tmp_path / "board.png", for_readme=True))
    assert shot.width == LAPTOP["width"]
    assert shot.height > LAPTOP["height"]  # the whole board, below the fold too
    top = read_png(page.locator("header.top").screenshot())  # wherever the page is scrolled to
    assert top.width == LAPTOP["width"]
    assert top.pixel(2, 2) == HEADER_BLUE  # the header bar, in its padding
    assert len({top.pixel(x, top.height // 2) for x in range(0, 300, 3)}) > 2  # and the title written on it
    for selector in ("#results table", ".recipient-card", "#overdue .late-row", "#chart-hourly"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 10
    page.close()


def test_on_a_phone_the_board_fits_the_screen_in_one_column(browser: Any, url: str, tmp_path: Path) -> None:
    page = logged_in(browser, url, "viewer", PHONE)
    page.wait_for_selector("#overdue .late-row")
    _charts_drawn(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    panels = [page.locator(s).bounding_box() for s in ("#results-panel", "#overdue-panel", "#refusals-panel")]
    assert len({round(p["x"]) for p in panels if p}) == 1  # one column
    shot = read_png(_screenshot(page, tmp_path / "board-phone.png"))
    assert shot.width == PHONE["width"]
    page.close()


def test_a_subject_written_as_html_is_shown_as_text_and_never_runs(
    browser: Any, url: str, board: Board
) -> None:
    """Every byte from an agency is hostile: a subject that is markup stays text on the board."""
    from vbcore.store import DocumentRecord
    from vbcore.testing.devworld import HA_NOI

    hostile = '<img src=x onerror="window.__owned=1"><script>window.__owned=2</script>'
    doc_id = f"{HA_NOI},2026/11/24,666/XSS"
    record = DocumentRecord(doc_id, HA_NOI, 0, hostile, "666/XSS", "m-xss", "ab" * 32, 1, board.clock.at,
                            edxml_document_id=doc_id, type_name="<b>Công văn</b>")  # fmt: skip
    board.demo.store.record_document(record)
    page = logged_in(browser, url, "viewer")
    page.fill("#q", "666/XSS")
    page.press("#q", "Enter")
    # The board lists recent letters before the search answers: wait for the searched one's row.
    row = page.locator("#results tbody tr", has_text="666/XSS").first
    row.wait_for()
    assert row.text_content().count("<img src=x") == 1
    row.locator(".doc-link").click()
    page.wait_for_selector(".doc-head")
    assert page.evaluate("window.__owned") is None
    assert page.locator("#results img, #timeline img, #results script, #timeline script").count() == 0
    assert page.errors == []
    page.close()
