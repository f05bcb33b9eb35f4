"""The broker options every ``vb`` command that touches RabbitMQ shares, declared once.

``--broker`` (``VBUS_BROKER``), ``--vhost`` (``VBUS_VHOST``), ``--prefix`` (``VBUS_PREFIX``),
``--hub-user`` (``VBUS_HUB_USER``), ``--user-prefix`` (``VBUS_USER_PREFIX``), ``--inbox-secret``
(``VBUS_INBOX_SECRET_FILE``) and ``--management-url`` (``VBUS_MANAGEMENT_URL``): set them once in the
environment and ``vb agency add``,
``vb hub run``, ``vb queues``, ``vb parked``, ``vb send`` and ``vb connector run`` all act on the same
installation. The vhost rule (``--vhost``, else the broker URL's, else ``/``; a URL naming another
vhost than ``--vhost`` is refused) is ``vbcore.transport.vhosts``; ``target`` applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from vbcore.cli.failures import current_lang, fail
from vbcore.lang import Text
from vbcore.transport.names import Names
from vbcore.transport.vhosts import resolve_vhost, with_vhost

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT = "http://guest:guest@127.0.0.1:15672"
DEFAULT_PREFIX = "vbus"
DEFAULT_HUB_USER = Names().hub_user


HUB_BROKER_HELP = "AMQP URL with the hub's user and password"


def broker_option(help_text: str = HUB_BROKER_HELP) -> Callable[[F], F]:
    """``--broker URL`` [``VBUS_BROKER``]; ``help_text`` says whose user the URL carries."""
    return click.option(
        "--broker",
        default=DEFAULT_BROKER,
        show_default=True,
        envvar="VBUS_BROKER",
        help=f"{help_text} [env VBUS_BROKER]; `;` separates failover nodes.",
    )


vhost_option = click.option(
    "--vhost",
    default=None,
    envvar="VBUS_VHOST",
    help="The installation's RabbitMQ vhost [env VBUS_VHOST; default: the broker URL's, else /].",
)
prefix_option = click.option(
    "--prefix",
    default=DEFAULT_PREFIX,
    show_default=True,
    envvar="VBUS_PREFIX",
    help="Name prefix of this installation [env VBUS_PREFIX].",
)
hub_user_option = click.option(
    "--hub-user",
    default=DEFAULT_HUB_USER,
    show_default=True,
    envvar="VBUS_HUB_USER",
    help="The hub's broker user (`vb hub provision` makes it); `vb hub run` and `vb parked` run as it.",
)
user_prefix_option = click.option(
    "--user-prefix",
    default="",
    envvar="VBUS_USER_PREFIX",
    help="Prefix of agencies' broker users (empty in production: the user is the agency's code; "
    "a test suite on a shared broker sets one) [env VBUS_USER_PREFIX].",
)
inbox_secret_option = click.option(
    "--inbox-secret",
    "inbox_secret_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VBUS_INBOX_SECRET_FILE",
    help="File with the secret that makes inbox names underivable (`vb hub provision` writes it) "
    "[env VBUS_INBOX_SECRET_FILE].",
)
management_option = click.option(
    "--management-url",
    default=DEFAULT_MANAGEMENT,
    show_default=True,
    envvar="VBUS_MANAGEMENT_URL",
    help="RabbitMQ management API, with an administrator's user and password [env VBUS_MANAGEMENT_URL].",
)


@dataclass(frozen=True)
class Target:
    """Where a command acts: the broker URL (naming the vhost), the vhost, the installation's names."""

    url: str
    vhost: str
    names: Names


def target(
    broker: str,
    vhost: str | None,
    prefix: str = DEFAULT_PREFIX,
    *,
    hub_user: str = DEFAULT_HUB_USER,
    user_prefix: str = "",
    inbox_secret_file: Path | None = None,
    inbox_names: Mapping[str, str] | None = None,
) -> Target:
    """The one vhost of this run (``vbcore.transport.vhosts``), the broker URL that names it, and the
    installation's names (its prefix, hub user, agencies' user prefix, and inbox names: derived from
    the operator's secret, or as an agency was told them)."""
    from vbcore.hub.admin import load_inbox_secret

    chosen = resolve_vhost(broker, vhost)
    secret = load_inbox_secret(inbox_secret_file) if inbox_secret_file is not None else ""
    names = Names(prefix=prefix, hub_user=hub_user, user_prefix=user_prefix, inbox_secret=secret,
                  inbox_names=dict(inbox_names or {}))  # fmt: skip
    return Target(with_vhost(broker, chosen), chosen, names)


def hub_transport(url: str, names: Names, user: str | None = None, *, forever: bool = False) -> Any:
    """The hub's transport (pika), for the commands that run as the hub: on the first node of ``url``'s
    ``;`` list that answers, failing over to the others; ``forever``: a lost connection is waited for
    as long as it takes (``vb hub run``), else for ``HUB_RECONNECT_TIMEOUT``."""
    from vbcore.transport.connect import HUB_RECONNECT_TIMEOUT, open_transport

    timeout = None if forever else HUB_RECONNECT_TIMEOUT
    return open_transport(url, user=user, names=names, role="hub", reconnect_timeout=timeout)


def _url_user(url: str) -> str:
    """The broker user an AMQP URL logs in as (of its first node; pika's default: guest)."""
    from urllib.parse import unquote, urlsplit

    first = url.split(";", 1)[0].strip()
    return unquote(urlsplit(first).username or "guest")


_AS_HUB_USER = Text(
    "phải {doing} với tư cách người dùng của trục {hub_user} (`vb hub provision`), không phải {user}: trục "
    "chỉ tin cơ quan gửi ghi trên thông điệp gửi lại khi nó do chính người dùng của trục gửi "
    "(--broker amqp://{hub_user}:MẬT_KHẨU@máy/vhost; người dùng khác của trục: --hub-user)",
    "{doing} as the hub's broker user {hub_user} (`vb hub provision`), not as {user}: the hub believes the "
    "sender recorded on a replayed message from its own user only "
    "(--broker amqp://{hub_user}:PASSWORD@host/vhost; another hub user: --hub-user)",
)
_DOING = {
    "run": Text("chạy trục", "run the hub"),
    "replay": Text("gửi lại thông điệp bị giữ lại", "replay a parked message"),
    "migrate": Text("chuyển đổi cài đặt", "migrate"),
}


def as_hub_user(broker: str, names: Names, doing: str) -> None:
    """``doing`` must run as the hub user: the hub believes a replay's recorded sender from it only."""
    user = _url_user(broker)
    if user != names.hub_user:
        lang = current_lang()
        raise fail(_AS_HUB_USER.format(doing=_DOING[doing](lang), hub_user=names.hub_user, user=user))
