"""``vb parked``: the parking queue for operators (``vbcore.hub.parked``): list (streamed, no cap),
show, and replay or drop one message, several, or every one matching ``--reason``/``--sender`` in ONE
pass over the queue. Dropping in bulk asks for ``--yes`` (without it: how many would go). Long work
shows its progress on stderr (``vbcore.cli.progress``)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from contextlib import closing
from typing import Any

import click

from vbcore.cli.broker import (
    Target,
    as_hub_user,
    broker_option,
    hub_transport,
    hub_user_option,
    prefix_option,
    target,
    vhost_option,
)
from vbcore.cli.failures import EXIT_FAILED, fail
from vbcore.cli.output import current_lang
from vbcore.cli.progress import Progress
from vbcore.cli.stores import open_existing_store
from vbcore.errors import NotReplayable, one_line
from vbcore.evidence.entry import package_digest
from vbcore.hub.parked import ParkedFilter, ParkedMessage, reason_text, scan, settle_many
from vbcore.lang import Text
from vbcore.store.accounts import Accounts, OperatorAction
from vbcore.timezones import utc_now
from vbcore.transport import Transport

_T = {
    "no_sender": Text(
        "(không có cơ quan gửi được máy chủ chuyển tin xác thực)", "(no broker-validated sender)"
    ),
    "parked_count": Text("{n} thông điệp bị giữ lại", "{n} parked"),
    "no_parked": Text("không có thông điệp bị giữ lại nào mang mã {id}", "no parked message {id}"),
    "replayed": Text("đã gửi lại {id} vào cửa vào của trục", "replayed {id}"),
    "dropped": Text("đã xóa {id}", "dropped {id}"),
    "skipped": Text("không gửi lại {id}: {why}", "not replayed {id}: {why}"),
    "replayed_n": Text(
        "đã gửi lại {n} thông điệp vào cửa vào của trục ({scanned} thông điệp đã xem); {skipped} không gửi "
        "lại được",
        "replayed {n} messages ({scanned} looked at); {skipped} could not be replayed",
    ),
    "dropped_n": Text(
        "đã xóa {n} thông điệp ({scanned} thông điệp đã xem)", "dropped {n} messages ({scanned} looked at)"
    ),
    "confirm": Text(
        "{n} thông điệp bị giữ lại khớp điều kiện; thêm --yes để xóa hẳn",
        "{n} parked messages match; add --yes to delete them for good",
    ),
    "progress_replay": Text("gửi lại", "replaying"),
    "unrecorded": Text(
        "cảnh báo: không có --store (hay VBUS_STORE), thao tác này không được ghi vào nhật ký bằng chứng "
        "của trục",
        "warning: no --store (or VBUS_STORE): this action is not recorded in the hub's evidence log",
    ),
    "progress_drop": Text("xóa", "dropping"),
    "which": Text(
        "cho MÃ_THÔNG_ĐIỆP..., hoặc --all, --reason, --sender",
        "give MESSAGE_ID..., or --all, --reason or --sender",
    ),
}

reason_option = click.option(
    "--reason",
    "reasons",
    multiple=True,
    metavar="REASON",
    help="Only messages parked for REASON (not-processed, or how the whole reason starts); repeatable.",
)
sender_option = click.option(
    "--sender",
    "senders",
    multiple=True,
    metavar="CODE",
    help="Only messages first published by agency CODE (or broker user); repeatable.",
)
record_option = click.option(
    "--store", "store_url", envvar="VBUS_STORE", default=None,
    help="The hub's tracking store: each replay or drop is recorded there, with who did it, in the "
    "operator actions and the evidence log ($VBUS_STORE).",
)
all_option = click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every parked message (with --reason/--sender: every one they match).",
)


@click.group()
def parked() -> None:
    """Messages the hub or an agency could not process, with the reason."""


def _opener(at: Target) -> Callable[[], Transport]:
    return lambda: hub_transport(at.url, at.names)


@parked.command("list")
@broker_option()
@vhost_option
@prefix_option
@hub_user_option
@reason_option
@sender_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Look at the first N messages only.")
@click.option("--json", "as_json", is_flag=True)
def parked_list(
    broker: str,
    vhost: str | None,
    prefix: str,
    hub_user: str,
    reasons: tuple[str, ...],
    senders: tuple[str, ...],
    limit: int | None,
    as_json: bool,
) -> None:
    """Every parked message (no cap; --limit to stop early): id, sender, kind and why it was parked.
    Nothing is removed."""
    at = target(broker, vhost, prefix, hub_user=hub_user)
    which = ParkedFilter(reasons=reasons, senders=senders)
    lang = current_lang()
    count = 0
    if as_json:
        click.echo("[", nl=False)
    for p in scan(_opener(at), at.names, limit=limit):
        if not which.matches(p, at.names):
            continue
        if as_json:
            click.echo(("," if count else "") + "\n  " + json.dumps(_row(p), ensure_ascii=False), nl=False)
        else:
            who, kind = p.original_user or _T["no_sender"](lang), p.kind or "?"
            why = reason_text(p.reason, lang) if p.reason else ""
            click.echo(one_line(f"{p.message_id}  {who}  {kind}  {why}".rstrip()))
        count += 1
    if as_json:
        click.echo("\n]" if count else "]")
    else:
        click.echo(_T["parked_count"].format(n=count)(lang))


def _row(p: ParkedMessage) -> dict[str, Any]:
    return {
        "message_id": p.message_id,
        "reason": p.reason,
        "from_queue": p.parked_from,
        "sender": p.original_user,
        "recipient": p.recipient,
        "kind": p.kind,
        "document_id": p.document_id,
        "size": p.size,
    }


@parked.command("show")
@click.argument("message_id")
@broker_option()
@vhost_option
@prefix_option
@hub_user_option
def parked_show(message_id: str, broker: str, vhost: str | None, prefix: str, hub_user: str) -> None:
    """One parked message's headers and body."""
    at = target(broker, vhost, prefix, hub_user=hub_user)
    with closing(scan(_opener(at), at.names)) as parked_messages:  # all given back at the first match
        found = next((p for p in parked_messages if p.message_id == message_id), None)
    if found is None:
        raise fail(_T["no_parked"].format(id=message_id))
    for key, value in sorted(found.delivery.headers.items()):
        click.echo(f"{key}: {value}")
    click.echo("")
    sys.stdout.flush()
    click.echo(found.delivery.body.decode("utf-8", errors="replace"))


def _which(
    ids: tuple[str, ...], every: bool, reasons: tuple[str, ...], senders: tuple[str, ...]
) -> ParkedFilter:
    if ids and (every or reasons or senders):
        raise click.UsageError("give MESSAGE_IDs, or --all/--reason/--sender, not both")
    if not (ids or every or reasons or senders):
        raise click.UsageError(_T["which"](current_lang()))
    return ParkedFilter(message_ids=frozenset(ids), reasons=reasons, senders=senders)


@parked.command("replay")
@click.argument("message_ids", nargs=-1)
@all_option
@reason_option
@sender_option
@record_option
@broker_option()
@vhost_option
@prefix_option
@hub_user_option
def parked_replay(
    message_ids: tuple[str, ...],
    every: bool,
    reasons: tuple[str, ...],
    senders: tuple[str, ...],
    store_url: str | None,
    broker: str,
    vhost: str | None,
    prefix: str,
    hub_user: str,
) -> None:
    """Publish parked messages to the hub's ingress again (after fixing their cause), as the hub user:
    the hub checks each against the sender the broker validated when it was first published. One pass
    over the queue, whatever the number of messages."""
    which = _which(message_ids, every, reasons, senders)
    at = target(broker, vhost, prefix, hub_user=hub_user)
    as_hub_user(at.url, at.names, "replay")
    _settle(at, which, replay=True, store_url=store_url)


@parked.command("drop")
@click.argument("message_ids", nargs=-1)
@all_option
@reason_option
@sender_option
@click.option(
    "--yes", is_flag=True, help="Confirm a drop by --all/--reason/--sender (without: how many match)."
)
@record_option
@broker_option()
@vhost_option
@prefix_option
@hub_user_option
def parked_drop(
    message_ids: tuple[str, ...],
    every: bool,
    reasons: tuple[str, ...],
    senders: tuple[str, ...],
    yes: bool,
    store_url: str | None,
    broker: str,
    vhost: str | None,
    prefix: str,
    hub_user: str,
) -> None:
    """Delete parked messages for good: the ones named, or every one --all/--reason/--sender match
    (with --yes)."""
    which = _which(message_ids, every, reasons, senders)
    at = target(broker, vhost, prefix, hub_user=hub_user)
    if not message_ids and not yes:
        matching = sum(1 for p in scan(_opener(at), at.names) if which.matches(p, at.names))
        raise fail(_T["confirm"].format(n=matching))
    _settle(at, which, replay=False, store_url=store_url)


Record = Callable[[str, ParkedMessage | None, str], None]


def _recorder(store_url: str | None, replay: bool) -> Record:
    """Each action as an operator action and an ``operator-action`` entry of the hub's evidence log
    (``Accounts.record_action``, as the board's buttons); without a store, a warning that it is not."""
    if not store_url:
        click.echo(_T["unrecorded"](current_lang()), err=True)
        return lambda _id, _p, _outcome: None
    accounts = Accounts(open_existing_store(store_url if "://" in store_url else f"sqlite:///{store_url}"))
    actor = f"vb:{getpass.getuser()}"

    def record(message_id: str, p: ParkedMessage | None, outcome: str) -> None:
        accounts.record_action(OperatorAction(
            at=utc_now(), actor=actor, action="replay" if replay else "drop", message_id=message_id,
            document_id=p.document_id if p else None, sender=p.original_user if p else None,
            reason=p.reason if p else None, outcome=outcome,
            package_digest=package_digest(p.delivery.body) if p else None,
        ))  # fmt: skip

    return record


def _settle(at: Target, which: ParkedFilter, *, replay: bool, store_url: str | None) -> None:
    lang = current_lang()
    by_id = bool(which.message_ids)
    progress = Progress(_T["progress_replay" if replay else "progress_drop"], lang)
    record = _recorder(store_url, replay)

    def settled(p: ParkedMessage) -> None:
        record(p.message_id, p, "done")
        if by_id:
            click.echo(one_line(_T["replayed" if replay else "dropped"].format(id=p.message_id)(lang)))

    def skipped(p: ParkedMessage, err: NotReplayable) -> None:
        record(p.message_id, p, "not-replayable")
        click.echo(one_line(_T["skipped"].format(id=p.message_id, why=err.describe(lang))(lang)))

    try:
        report = settle_many(
            _opener(at),
            at.names,
            which,
            replay=replay,
            on_settled=settled,
            on_skipped=skipped,
            progress=None if by_id else progress.update,
        )
    finally:
        progress.finish()
    for missing in report.missing:
        record(missing, None, "not-found")
    if by_id:
        if report.missing:
            raise fail(_T["no_parked"].format(id=", ".join(report.missing)))
        if report.skipped:
            raise click.exceptions.Exit(EXIT_FAILED)
        return
    done = _T["replayed_n"] if replay else _T["dropped_n"]
    click.echo(done.format(n=report.settled, scanned=report.scanned, skipped=report.skipped)(lang))
