"""``vb web``: serve the web board on the tracking store (and the broker, for parked messages and queue
depths); ``vb web user add/remove/passwd/list``: its accounts, kept in the store's database.

A password is typed at a hidden prompt (twice) or generated and printed once (``--generate``); it never
appears on the command line, where ``ps`` and the shell's history would show it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli.broker import (
    broker_option,
    hub_transport,
    hub_user_option,
    management_option,
    prefix_option,
    target,
    vhost_option,
)
from vbcore.cli.config_options import config_option
from vbcore.cli.output import current_lang, directory_option, load_directory
from vbcore.cli.stores import default_store_url, open_existing_store
from vbcore.hub.config import DEFAULT_PARKED_ALARM
from vbcore.lang import Text

DEFAULT_PORT = 8080
_T = {
    "serving": Text("Bảng theo dõi: {url} (Ctrl-C để dừng)", "The board: {url} (Ctrl-C to stop)"),
    "added": Text("đã tạo tài khoản {name} ({role})", "added account {name} ({role})"),
    "taken": Text("tên đăng nhập {name} đã có", "username {name} is taken"),
    "removed": Text(
        "đã xóa tài khoản {name} và kết thúc các phiên của nó", "removed {name} and ended its sessions"
    ),
    "changed": Text(
        "đã đổi mật khẩu của {name}; các phiên đang mở đã kết thúc",
        "changed {name}'s password; its open sessions ended",
    ),
    "no_account": Text("không có tài khoản {name}", "no account {name}"),
    "password": Text("mật khẩu (hiện một lần duy nhất): {password}", "password (shown once): {password}"),
    "no_accounts": Text("chưa có tài khoản nào", "no accounts yet"),
    "prompt": Text("Mật khẩu", "Password"),
}


def _store_option(f: Any) -> Any:
    return click.option(
        "--store",
        "store_url",
        default=None,
        help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db].",
    )(f)


def _store(store_url: str | None) -> Any:
    return open_existing_store(store_url or default_store_url())


@click.group(invoke_without_command=True)
@click.pass_context
@config_option("web")
@_store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@directory_option
@click.option("--no-broker", is_flag=True, help="Serve the store only: no parked messages, no queue depths.")
@broker_option("AMQP URL with the hub's user (for parked messages)")
@vhost_option
@prefix_option
@hub_user_option
@management_option
@click.option(
    "--parked-alarm", default=DEFAULT_PARKED_ALARM, show_default=True, type=click.IntRange(1),
    help="Parked messages at or above this count are shown as an alarm.",
)  # fmt: skip
@click.option(
    "--secure-cookies/--no-secure-cookies", default=None,
    help="Mark cookies Secure [default: when the request came over https; behind a TLS proxy, say so].",
)  # fmt: skip
def web(ctx: click.Context, store_url: str | None, host: str, port: int, directory_file: Path | None,
        no_broker: bool, broker: str, vhost: str | None, prefix: str, hub_user: str, management_url: str,
        parked_alarm: int, secure_cookies: bool | None) -> None:  # fmt: skip
    """Serve the web board and its HTTP API (accounts: `vb web user add`)."""
    if ctx.invoked_subcommand is not None:
        return
    from vbcore.logging import configure
    from vbcore.web.app import BoardContext
    from vbcore.web.serve import serve

    configure(json=True)
    board = BoardContext(
        _store(store_url), load_directory(directory_file),
        broker=None if no_broker else _broker_view(broker, vhost, prefix, hub_user, management_url),
        parked_alarm=parked_alarm, default_lang=current_lang(), secure_cookies=secure_cookies,
    )  # fmt: skip
    click.echo(_T["serving"].format(url=f"http://{host}:{port}/")(current_lang()))
    serve(board, host=host, port=port)


def _broker_view(broker: str, vhost: str | None, prefix: str, hub_user: str, management_url: str) -> Any:
    from vbcore.transport.provision import BrokerAdmin
    from vbcore.web.broker import BrokerView, QueueDepth

    at = target(broker, vhost, prefix, hub_user=hub_user)
    admin = BrokerAdmin(management_url, vhost=at.vhost, names=at.names)
    return BrokerView(
        open_transport=lambda: hub_transport(at.url, at.names), names=at.names,
        list_queues=lambda: [QueueDepth(q.name, q.messages, q.consumers) for q in admin.queues()],
    )  # fmt: skip


@web.group("user")
def user() -> None:
    """The board's accounts: viewer (reads), operator (also replays and drops), agency (its own letters)."""


def _password(generate: bool) -> str:
    from vbcore.web.auth import new_password

    if generate:
        password = new_password()
        click.echo(_T["password"].format(password=password)(current_lang()))
        return password
    entered: str = click.prompt(_T["prompt"](current_lang()), hide_input=True, confirmation_prompt=True)
    return entered


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "operator", "agency"]), required=True)
@click.option("--agency", "agency_code", default=None, help="The agency an agency account sees (its code).")
@click.option("--generate", is_flag=True, help="Generate the password and print it once.")
@_store_option
def user_add(
    username: str, role: str, agency_code: str | None, generate: bool, store_url: str | None
) -> None:
    """Add an account (the password is asked twice, hidden)."""
    from vbcore.cli.failures import fail
    from vbcore.store.accounts import Accounts
    from vbcore.web.auth import Authenticator, check_account, normalise_username

    lang = current_lang()
    name = normalise_username(username)
    check_account(name, role, agency_code)
    store = _store(store_url)
    try:
        auth = Authenticator(Accounts(store))
        if auth.accounts.get(name) is not None:
            raise fail(_T["taken"].format(name=name))
        if not auth.add(name, _password(generate), role, agency_code):
            raise fail(_T["taken"].format(name=name))
    finally:
        store.close()
    click.echo(_T["added"].format(name=name, role=role)(lang))


@user.command("remove")
@click.argument("username")
@_store_option
def user_remove(username: str, store_url: str | None) -> None:
    """Remove an account and end its sessions."""
    from vbcore.cli.failures import fail
    from vbcore.store.accounts import Accounts
    from vbcore.web.auth import normalise_username

    name = normalise_username(username)
    store = _store(store_url)
    try:
        if not Accounts(store).remove(name):
            raise fail(_T["no_account"].format(name=name))
    finally:
        store.close()
    click.echo(_T["removed"].format(name=name)(current_lang()))


@user.command("passwd")
@click.argument("username")
@click.option("--generate", is_flag=True, help="Generate the password and print it once.")
@_store_option
def user_passwd(username: str, generate: bool, store_url: str | None) -> None:
    """Set an account's password (its open sessions end, a lock is lifted)."""
    from vbcore.cli.failures import fail
    from vbcore.store.accounts import Accounts
    from vbcore.web.auth import Authenticator, normalise_username

    name = normalise_username(username)
    store = _store(store_url)
    try:
        auth = Authenticator(Accounts(store))
        if auth.accounts.get(name) is None:
            raise fail(_T["no_account"].format(name=name))
        auth.set_password(name, _password(generate))
    finally:
        store.close()
    click.echo(_T["changed"].format(name=name)(current_lang()))


@user.command("list")
@_store_option
def user_list(store_url: str | None) -> None:
    """Every account: username, role and agency."""
    from vbcore.store.accounts import Accounts

    store = _store(store_url)
    try:
        accounts = Accounts(store)
        found = [a for name in accounts.usernames() if (a := accounts.get(name)) is not None]
    finally:
        store.close()
    if not found:
        click.echo(_T["no_accounts"](current_lang()))
    for a in found:
        click.echo(f"{a.username}  {a.role}  {a.agency or ''}".rstrip())
