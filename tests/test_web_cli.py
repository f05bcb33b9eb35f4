"""``vb web user add/remove/passwd/list`` and ``vb demo --web``, the README's one command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli import vb
from vbcore.store import open_store
from vbcore.store.accounts import Accounts
from vbcore.web.passwords import verify_password

PASSWORD = "một mật khẩu đủ dài"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/vbus.db"
    open_store(url).close()  # the hub made it
    return url


def run(*args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(vb, ["--lang", "en", "web", *args], input=stdin)


def account(store_url: str, name: str) -> object:
    store = open_store(store_url)
    try:
        return Accounts(store).get(name)
    finally:
        store.close()


def test_an_account_is_added_with_a_password_typed_twice_and_stored_hashed(store_url: str) -> None:
    result = run(
        "user", "add", "Lan", "--role", "operator", "--store", store_url, stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    found = account(store_url, "lan")  # usernames are kept in lower case
    assert found is not None
    assert found.role == "operator"  # type: ignore[attr-defined]
    assert PASSWORD not in found.password_hash  # type: ignore[attr-defined]
    assert verify_password(found.password_hash, PASSWORD)  # type: ignore[attr-defined]
    assert PASSWORD not in result.output  # type: ignore[attr-defined]


def test_a_generated_password_is_printed_once_and_works(store_url: str) -> None:
    result = run("user", "add", "hanoi", "--role", "agency", "--agency", "000.00.00.H24", "--generate",
                 "--store", store_url)  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    [password] = re.findall(r"shown once\): (\S+)", result.output)  # type: ignore[attr-defined]
    found = account(store_url, "hanoi")
    assert verify_password(found.password_hash, password)  # type: ignore[attr-defined]
    assert found.agency == "000.00.00.H24"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["bad name", "--role", "viewer"],
        ["x", "--role", "agency"],  # an agency account without its agency
        ["x", "--role", "viewer", "--agency", "000.00.00.H24"],
        ["x", "--role", "agency", "--agency", "Hà Nội"],
    ],
)
def test_a_wrong_account_is_refused_in_one_line(store_url: str, args: list[str]) -> None:
    result = run("user", "add", *args, "--generate", "--store", store_url)
    assert result.exit_code != 0  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_a_short_password_or_a_taken_username_is_refused(store_url: str) -> None:
    short = run("user", "add", "lan", "--role", "viewer", "--store", store_url, stdin="short\nshort\n")
    assert short.exit_code != 0  # type: ignore[attr-defined]
    assert run("user", "add", "lan", "--role", "viewer", "--generate", "--store", store_url).exit_code == 0  # type: ignore[attr-defined]
    again = run("user", "add", "LAN", "--role", "operator", "--generate", "--store", store_url)
    assert again.exit_code != 0  # type: ignore[attr-defined]
    assert "taken" in again.output  # type: ignore[attr-defined]


def test_passwd_list_and_remove(store_url: str) -> None:
    run("user", "add", "lan", "--role", "viewer", "--generate", "--store", store_url)
    changed = run("user", "passwd", "lan", "--store", store_url, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert changed.exit_code == 0  # type: ignore[attr-defined]
    assert verify_password(account(store_url, "lan").password_hash, PASSWORD)  # type: ignore[attr-defined]
    assert "lan  viewer" in run("user", "list", "--store", store_url).output  # type: ignore[attr-defined]
    assert run("user", "remove", "lan", "--store", store_url).exit_code == 0  # type: ignore[attr-defined]
    assert account(store_url, "lan") is None
    assert run("user", "remove", "lan", "--store", store_url).exit_code != 0  # type: ignore[attr-defined]


def test_vb_web_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = run("--store", f"sqlite:///{tmp_path}/missing.db", "--no-broker")
    assert result.exit_code != 0  # type: ignore[attr-defined]
    assert "no store" in result.output  # type: ignore[attr-defined]


@pytest.mark.slow
def test_vb_demo_web_serves_the_demo_with_a_one_time_login() -> None:
    """The README's one command: no server needed, a login printed once, the board on localhost."""
    command = [sys.executable, "-c", "from cli import main; main()", "--lang", "en", "demo", "--web"]
    command += ["--port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Log in:" in line:
                break
        text = "".join(lines)
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", text)
        login = re.search(r"Log in: (\S+) / (\S+)", text)
        assert url, text
        assert login, text
        with httpx.Client(base_url=url.group(1)) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token
            form = {"username": login.group(1), "password": login.group(2), "csrf": token.group(1)}
            assert client.post("/login", data=form).status_code == 303
            assert (
                client.get("/api/search", params={"q": "công văn 1234 hôm qua"}).json()["results"]["total"]
                == 1
            )
            assert client.get("/api/parked").json()["total"] == 2
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:  # a demo that did not stop fails the test, and is not left running behind it
            if process.poll() is None:
                process.kill()
                process.wait()


def test_vb_web_reads_its_store_from_the_configuration_file(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "hub.db"
    config = tmp_path / "web.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{missing}"\n[web]\nport = 8123\n', encoding="utf-8")
    result = CliRunner().invoke(vb, ["--lang", "en", "web", "--config", str(config)])
    assert result.exit_code == 1
    assert str(missing) in result.output  # the file's store, refused because it does not exist
