"""What the web board's tests share: the demo board (``vb demo --web``'s world), accounts of each role,
and a logged-in test client."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from vbcore.cli.demo_board import DemoBoard, demo_board
from vbcore.testing.devworld import HA_NOI, TAI_CHINH
from vbcore.web.app import BoardContext, create_app

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Hà Nội: the story was yesterday
PASSWORD = "đúng ngựa pin kẹp giấy"  # a pass phrase with Vietnamese letters
ACCOUNTS = {
    "viewer": ("viewer", None),
    "operator": ("operator", None),
    "hanoi": ("agency", HA_NOI),
    "taichinh": ("agency", TAI_CHINH),
}


@dataclass
class Clock:
    at: datetime = NOW

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@dataclass
class Board:
    demo: DemoBoard
    context: BoardContext
    clock: Clock
    clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self) -> TestClient:
        return TestClient(create_app(self.context), base_url="http://board.test")

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        assert login(client, username, password).status_code == 303
        return client


def build(tmp: Path, *, clock: Clock | None = None) -> Board:
    clock = clock or Clock()
    demo = demo_board(tmp, now=NOW)
    context = BoardContext(demo.store, demo.world.directory, demo.broker, clock=clock)
    for name, (role, agency) in ACCOUNTS.items():
        assert context.auth.add(name, PASSWORD, role, agency)
    return Board(demo, context, clock)


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def login(client: TestClient, username: str, password: str, *, token: str | None = None) -> object:
    token = token if token is not None else login_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token}, follow_redirects=False
    )


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="vbus-csrf" content="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


Step = Callable[[], None]
