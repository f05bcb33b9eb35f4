"""Reading the parking queue from commands that do not need the broker otherwise (``vb track``,
``vb reconcile``): their broker options have no default URL, so nothing is contacted unless ``--broker``
or ``VBUS_BROKER`` says where; and how a document's parked messages read for people.

A parked message concerns a document when its ``x-vbus-document-id`` is the DocumentId as written or
the id the hub tracks it under (a status about the document carries its DocumentId too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from vbcore.cli.broker import DEFAULT_HUB_USER, DEFAULT_PREFIX, hub_transport, target
from vbcore.errors import NotReplayable, VbusError, one_line
from vbcore.hub.parked import ParkedFilter, ParkedMessage, reason_text, replay_headers, scan
from vbcore.lang import Lang, Text
from vbcore.transport import Transport
from vbcore.transport.names import Names

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--broker",
        default=None,
        envvar="VBUS_BROKER",
        help="AMQP URL with the hub's user: also read the parking queue [env VBUS_BROKER].",
    ),
    click.option(
        "--vhost", default=None, envvar="VBUS_VHOST", help="The installation's vhost [env VBUS_VHOST]."
    ),
    click.option(
        "--prefix",
        default=DEFAULT_PREFIX,
        show_default=True,
        envvar="VBUS_PREFIX",
        help="Name prefix of this installation [env VBUS_PREFIX].",
    ),
    click.option(
        "--hub-user",
        default=DEFAULT_HUB_USER,
        show_default=True,
        envvar="VBUS_HUB_USER",
        help="The hub's broker user [env VBUS_HUB_USER].",
    ),
    click.option(
        "--user-prefix",
        default="",
        envvar="VBUS_USER_PREFIX",
        help="Prefix of agencies' broker users (empty in production) [env VBUS_USER_PREFIX].",
    ),
)


def parked_options(f: F) -> F:
    """``--broker`` (no default), ``--vhost``, ``--prefix``, ``--hub-user``, ``--user-prefix``."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def parked_reader(
    broker: str | None, vhost: str | None, prefix: str, hub_user: str, user_prefix: str
) -> tuple[Callable[[], Transport], Names] | None:
    """How to open the parking queue (as the hub user), or None when no broker was given."""
    if not broker:
        return None
    at = target(broker, vhost, prefix, hub_user=hub_user, user_prefix=user_prefix)
    return (lambda: hub_transport(at.url, at.names)), at.names


def parked_about(
    reader: tuple[Callable[[], Transport], Names], document_ids: Iterable[str]
) -> list[ParkedMessage]:
    """The parked messages about a document known by ``document_ids`` (one pass over the queue)."""
    opener, names = reader
    which = ParkedFilter(document_ids=frozenset(document_ids))
    return [p for p in scan(opener, names) if which.matches(p, names)]


_T = {
    "head": Text("Bị giữ lại trong hàng đợi giữ lại:", "Parked in the parking queue:"),
    "line": Text("{id}  {kind} từ {who}: {why}", "{id}  {kind} from {who}: {why}"),
    "inbox": Text("{id}  {kind} trong hộp thư của {who}: {why}", "{id}  {kind} in the inbox of {who}: {why}"),
    "replay": Text("gửi lại: vb parked replay {id}", "replay: vb parked replay {id}"),
    "drop": Text(
        "không gửi lại được ({why}); khi đã xử lý: vb parked drop {id}",
        "cannot be replayed ({why}); once handled: vb parked drop {id}",
    ),
    "nobody": Text("(không có cơ quan gửi được xác thực)", "(no authenticated sender)"),
    "unread": Text("không đọc được hàng đợi giữ lại: {error}", "could not read the parking queue: {error}"),
}


def parked_lines(found: list[ParkedMessage], names: Names, lang: Lang) -> list[str]:
    """Each parked message about the document: what, from whom, why, and the command that settles it."""
    if not found:
        return []
    lines = [f"  {_T['head'](lang)}"]
    for p in found:
        kind = p.kind or "?"
        why = reason_text(p.reason, lang)
        if names.is_inbox(p.parked_from or "") and p.recipient:
            text = _T["inbox"].format(id=p.message_id, kind=kind, who=p.recipient, why=why)(lang)
        else:
            who = p.sender(names) or _T["nobody"](lang)
            text = _T["line"].format(id=p.message_id, kind=kind, who=who, why=why)(lang)
        lines.append(f"    {one_line(text)}")
        lines.append(f"      → {one_line(settle_text(p, names, lang))}")
    return lines


def _not_replayable(p: ParkedMessage, names: Names) -> NotReplayable | None:
    try:
        replay_headers(p, names)
    except NotReplayable as err:
        return err
    return None


def settle_text(p: ParkedMessage, names: Names, lang: Lang) -> str:
    err = _not_replayable(p, names)
    if err is not None:
        return _T["drop"].format(id=p.message_id, why=err.describe(lang))(lang)
    return _T["replay"].format(id=p.message_id)(lang)


def parked_json(found: list[ParkedMessage], names: Names) -> list[dict[str, Any]]:
    return [
        {
            "message_id": p.message_id,
            "kind": p.kind,
            "sender": p.sender(names),
            "recipient": p.recipient,
            "from_queue": p.parked_from,
            "reason": p.reason,
            "replayable": _not_replayable(p, names) is None,
        }
        for p in found
    ]


def unread_line(error: VbusError, lang: Lang) -> str:
    return _T["unread"].format(error=error.describe(lang))(lang)
