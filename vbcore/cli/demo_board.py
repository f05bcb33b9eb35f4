"""``vb demo --web``: the demo's interconnection, with a few working days of traffic, served on the web
board (no server needed: an in-memory broker and a SQLite store in a temporary folder).

``demo_board`` builds it: ``vb demo``'s story on yesterday morning (so "hôm qua" finds its circular),
more letters on the days before with answers that came late or never (the overdue list, the charts),
and two parked messages: a letter the hub could not process while its store was down (replaying it
delivers the letter) and a message from a broker user that is no agency (it cannot be replayed). A
thread lets the hub take what reaches its ingress (a replay) every half second, as ``vb hub run`` would.
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from vbcore.cli.demo import DemoWorld, answer, build_world, document, run_story
from vbcore.lang import Lang, Text
from vbcore.status import StatusCode
from vbcore.store.sql import SqlStore
from vbcore.testing.devworld import DA_NANG, HA_NOI, NOI_VU, SIX_AGENCIES, TAI_CHINH, THANH_HOA, VPCP
from vbcore.timezones import VIETNAM, utc_now
from vbcore.transport.memory import InMemoryTransport
from vbcore.transport.names import DELIVERY_LIMIT
from vbcore.web.broker import BrokerView, QueueDepth

PUMP_EVERY = 0.5  # seconds
_SUBJECTS = (
    ("Công văn", "V/v báo cáo tình hình thực hiện dịch vụ công trực tuyến"),
    ("Công văn", "V/v góp ý dự thảo Nghị định về văn thư lưu trữ điện tử"),
    ("Giấy mời", "Mời dự hội nghị trực tuyến về chuyển đổi số quốc gia"),
    ("Báo cáo", "Báo cáo kết quả giải ngân vốn đầu tư công tháng 11"),
    ("Thông báo", "Thông báo kết luận của Thủ tướng Chính phủ tại phiên họp thường kỳ"),
    ("Kế hoạch", "Kế hoạch kiểm tra công tác cải cách hành chính năm 2026"),
    ("Quyết định", "Quyết định phê duyệt danh mục dữ liệu mở"),
    ("Tờ trình", "Tờ trình về việc điều chỉnh dự toán ngân sách"),
)
_NOTATIONS = {VPCP: "VPCP-TH", NOI_VU: "BNV-VP", TAI_CHINH: "BTC-NSNN", HA_NOI: "UBND-KT", DA_NANG: "UBND-VP",
              THANH_HOA: "UBND-THKH"}  # fmt: skip


@dataclass
class DemoBoard:
    world: DemoWorld
    broker: BrokerView
    stop: threading.Event

    @property
    def store(self) -> SqlStore:
        store = self.world.store
        assert isinstance(store, SqlStore)  # the demo opens one (vbcore.store.open_store)
        return store

    def pump_forever(self) -> threading.Thread:
        """Let the hub take what reaches its ingress (replays) until ``stop`` is set."""

        def pump() -> None:
            while not self.stop.wait(PUMP_EVERY):
                self.pump()

        thread = threading.Thread(target=pump, name="vbus-demo-hub", daemon=True)
        thread.start()
        return thread

    def pump(self) -> None:
        self.world.clock.at = utc_now()
        self.world.pump()


def _local(day: datetime, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day.date(), time(hour, minute), tzinfo=VIETNAM)


def demo_board(workdir: Path, *, now: datetime | None = None, lang: Lang = "vi", seed: int = 7) -> DemoBoard:
    """The demo world with its traffic, as of ``now`` (default: the real time)."""
    now = (now or utc_now()).astimezone(VIETNAM)
    yesterday = now - timedelta(days=1)
    world = build_world(workdir, None, lang, start=_local(yesterday, 8, 30))
    _earlier_days(world, now, random.Random(seed))
    world.clock.at = _local(yesterday, 8, 30)
    run_story(world)
    _parked(world, _local(yesterday, 15, 10))
    names = world.names
    broker = BrokerView(
        open_transport=lambda: InMemoryTransport(world.broker, names.hub_user, names),
        names=names,
        list_queues=lambda: [
            QueueDepth(q, world.broker.depth(q)) for q in sorted(world.broker.queue_names())
        ],
    )
    return DemoBoard(world, broker, threading.Event())


def _earlier_days(world: DemoWorld, now: datetime, rng: random.Random) -> None:
    """Letters of the five days before yesterday, answered after a while, some never (overdue)."""
    number = 500
    for days_back in (6, 5, 4, 3, 2):
        day = now - timedelta(days=days_back)
        for hour in (8, 9, 10, 11, 14, 15, 16):
            if rng.random() < 0.35:
                continue
            sender = rng.choice(SIX_AGENCIES)
            others = [c for c in SIX_AGENCIES if c != sender]
            recipients = rng.sample(others, rng.choice((1, 1, 2, 3)))
            type_name, subject = rng.choice(_SUBJECTS)
            number += 1
            world.clock.at = _local(day, hour, rng.randrange(0, 50))
            letter = document(world, sender, recipients, str(number), _NOTATIONS[sender], subject,
                              type_name=type_name)  # fmt: skip
            world.clients[sender].submit(letter)
            world.pump()
            _answer_later(world, recipients, rng)
    for code in SIX_AGENCIES:
        world.inbox(code)  # senders read their receipts


def _answer_later(world: DemoWorld, recipients: list[str], rng: random.Random) -> None:
    """Each recipient answers 01 after a delay that depends on the agency (one rarely answers)."""
    slow = {HA_NOI: 90, THANH_HOA: 45}
    for code in recipients:
        for got in world.inbox(code):
            if got.kind != "edoc" or (code == DA_NANG and rng.random() < 0.5):
                continue  # Đà Nẵng's clerk is on leave: half its letters wait (overdue)
            world.clock.advance(rng.randrange(3, 20) + int(slow.get(code, 0) * rng.random()))
            answer(world, code, got, StatusCode.ARRIVED, "Văn bản đã đến hệ thống")
            world.pump()


def _parked(world: DemoWorld, at: datetime) -> None:
    """Two parked messages: one the operator can replay now, one nobody can."""
    world.clock.at = at
    letter = document(world, DA_NANG, [HA_NOI], "77", "UBND-VP",
                      "V/v phối hợp tổ chức Tuần Văn hóa miền Trung tại Hà Nội")  # fmt: skip
    world.clients[DA_NANG].submit(letter)
    # The store was down: a hub took the letter and lost it DELIVERY_LIMIT times (as a crash would), so
    # the next hub parks it unread (not-processed) and tells Đà Nẵng. The store is back: replay it.
    for _ in range(DELIVERY_LIMIT):
        crashed = InMemoryTransport(world.broker, world.names.hub_user, world.names)
        crashed.get(world.names.ingress_queue)
        crashed.close()
    world.pump()
    stranger = InMemoryTransport(world.broker, "guest", world.names)
    stranger.publish(world.names.ingress_exchange, "", b"<not-edxml/>", message_id="guest-0001")
    world.pump()  # no agency's user: parked, answered to nobody, and not replayable
    for code in SIX_AGENCIES:
        world.inbox(code)


_SERVING = Text(
    "Bảng theo dõi của bản demo: {url}\nĐăng nhập: {user} / {password} (tài khoản vận hành, chỉ dùng cho lần "
    "chạy này)\nCtrl-C để dừng.",
    "The demo's board: {url}\nLog in: {user} / {password} (an operator account for this run only)\n"
    "Ctrl-C to stop.",
)
DEMO_OPERATOR = "demo"


def serve_demo(*, port: int, lang: Lang, echo: Callable[[str], None]) -> None:
    """Build the demo board, make a one-time operator account, serve on localhost until interrupted."""
    from vbcore.logging import quiet
    from vbcore.web.app import BoardContext
    from vbcore.web.auth import new_password
    from vbcore.web.serve import Server

    quiet()
    with tempfile.TemporaryDirectory(prefix="vbus-demo-web-") as tmp:
        demo = demo_board(Path(tmp), lang=lang)
        board = BoardContext(demo.store, demo.world.directory, demo.broker, default_lang=lang)
        password = new_password()
        board.auth.add(DEMO_OPERATOR, password, "operator")
        server = Server(board, port=port)
        url = server.start()
        demo.pump_forever()
        echo(_SERVING.format(url=f"{url}/", user=DEMO_OPERATOR, password=password)(lang))
        try:
            while not demo.stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            demo.stop.set()
            server.stop()
            demo.world.store.close()
