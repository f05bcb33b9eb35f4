"""``vb track``: where a document stands with each recipient, what is overdue, what arrived since.

Reads the tracking store only (``vbcore.store``); never writes. Times are shown in Vietnam local time
(UTC+7) as text, and as ISO 8601 UTC in ``--json`` (a status's own ``status_time`` as the package
wrote it, without a zone). A ``--since``/``--now`` value without a zone is Vietnam local time.

The store URL comes from ``--store``, else ``VBUS_STORE`` (a URL, or a path to a SQLite file),
else ``sqlite:///./var/vbus.db``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from vbcore.cli import vb
from vbcore.cli.output import (
    agency_label,
    directory_option,
    echo_json,
    fail,
    json_option,
    load_directory,
    table,
)
from vbcore.directory import Directory
from vbcore.errors import VbusError
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import DocumentRecord, PairRecord, StatusEvent, TrackingStore, open_store
from vbcore.workdays import VIETNAM

DEFAULT_STORE_PATH = "./var/vbus.db"


def default_store_url() -> str:
    """``VBUS_STORE`` (a URL, or a SQLite file path), else ``./var/vbus.db``."""
    value = os.environ.get("VBUS_STORE", "").strip() or DEFAULT_STORE_PATH
    return value if "://" in value else f"sqlite:///{value}"


def parse_time(value: str, option: str) -> datetime:
    """ISO 8601; without a zone it is Vietnam local time (what an operator in Vietnam means)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2026-11-24T08:00", param_hint=option
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM)).astimezone(UTC)


def local(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def status_name(code: str | None) -> str:
    """``05 Đang xử lý``; the store's own states (``forwarded`` ...) as they are."""
    if code is None:
        return "-"
    try:
        return f"{code} {StatusCode(code).vietnamese}"
    except ValueError:
        return code


def business_type_name(value: int) -> str:
    try:
        return BusinessDocType(value).name.lower()
    except ValueError:
        return str(value)


@vb.command("track")
@click.argument("document_id", required=False)
@click.option(
    "--store", "store_url", default=None, help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db]."
)
@click.option("--overdue", is_flag=True, help="List deliveries whose 01 is overdue.")
@click.option("--since", "since_text", metavar="TIME", help="List documents received since TIME (ISO 8601).")
@click.option("--now", "now_text", metavar="TIME", help="Check --overdue as of TIME instead of now.")
@directory_option
@json_option
def track(
    document_id: str | None,
    store_url: str | None,
    overdue: bool,
    since_text: str | None,
    now_text: str | None,
    directory_file: Path | None,
    as_json: bool,
) -> None:
    """Show DOCUMENT_ID's delivery to each recipient (statuses, refusals, the hub's trace),
    or list overdue deliveries (--overdue), or documents received since a time (--since)."""
    if sum((document_id is not None, overdue, since_text is not None)) != 1:
        raise click.UsageError("give exactly one of DOCUMENT_ID, --overdue or --since TIME")
    now = parse_time(now_text, "--now") if now_text else datetime.now(UTC)
    since = parse_time(since_text, "--since") if since_text else None
    directory = load_directory(directory_file)
    try:
        store = open_store(store_url or default_store_url())
    except VbusError as exc:
        raise fail(f"cannot open the tracking store: {exc}") from exc
    try:
        if document_id is not None:
            show_document(store, directory, document_id, now, as_json)
        elif overdue:
            show_overdue(store, directory, now, as_json)
        else:
            assert since is not None
            show_since(store, directory, since, as_json)
    finally:
        store.close()


# --- one document -----------------------------------------------------------------------------


def _status_json(e: StatusEvent) -> dict[str, Any]:
    return {
        "document_id": e.document_id,
        "code": e.code,
        "name": status_name(e.code).partition(" ")[2] or None,
        "status_time": e.status_time,
        "received_at": e.received_at,
        "from": e.from_agency,
        "description": e.description,
    }


def _name(directory: Directory, code: str | None) -> str | None:
    agency = directory.get(code) if code else None
    return agency.name if agency else None


def _pair_json(
    directory: Directory, pair: PairRecord, events: list[StatusEvent], now: datetime
) -> dict[str, Any]:
    return {
        "recipient": pair.recipient,
        "name": _name(directory, pair.recipient),
        "state": pair.state,
        "last_status": pair.last_status,
        "last_status_at": pair.last_status_at,
        "change": pair.change,
        "accepted_at": pair.accepted_at,
        "forwarded_at": pair.forwarded_at,
        "deadline": pair.deadline,
        "overdue": _is_overdue(pair, now),
        "statuses": [_status_json(e) for e in events],
    }


def _is_overdue(pair: PairRecord, now: datetime) -> bool:
    waiting = pair.state in ("accepted", "forwarded") and pair.last_status is None
    return waiting and pair.deadline is not None and pair.deadline <= now


def _timeline(pair: PairRecord, events: list[StatusEvent]) -> list[StatusEvent]:
    """This recipient's statuses, by the time they carry (arrival time when they carry none)."""
    mine = [e for e in events if e.recipient == pair.recipient]

    def when(e: StatusEvent) -> datetime:
        if e.status_time is None:
            return e.received_at
        written = e.status_time if e.status_time.tzinfo else e.status_time.replace(tzinfo=VIETNAM)
        return written.astimezone(UTC)

    return sorted(mine, key=when)


def show_document(
    store: TrackingStore, directory: Directory, document_id: str, now: datetime, as_json: bool
) -> None:
    doc = store.get_document(document_id)
    related = store.related_documents(document_id)
    events = store.statuses(document_id) + [e for r in related for e in store.statuses(r.document_id)]
    pairs = store.pairs(document_id)
    refusals = store.refusals(document_id=document_id)
    trace = store.trace(document_id)
    if doc is None and not (pairs or events or refusals or trace):
        raise fail(f"document {document_id} is not in the tracking store")
    if as_json:
        echo_json(
            {
                "document": None if doc is None else _document_json(directory, doc),
                "related": [_document_json(directory, r) for r in related],
                "recipients": [_pair_json(directory, p, _timeline(p, events), now) for p in pairs],
                "refusals": [vars(r) for r in refusals],
                "trace": [vars(t) for t in trace],
            }
        )
        return
    click.echo(f"Document {document_id}   (times in Vietnam, UTC+7)")
    if doc is not None:
        _echo_document(directory, doc)
    for r in related:
        click.echo(
            f"  {business_type_name(r.business_type)}: {r.document_id}, received {local(r.received_at)}"
        )
    for pair in pairs:
        _echo_pair(directory, pair, _timeline(pair, events), now)
    if refusals:
        click.echo("\nRefused by the hub:")
        for ref in refusals:
            who = f" (to {ref.recipient})" if ref.recipient else ""
            click.echo(f"  {local(ref.at)}  {ref.reason}{who}: {ref.detail}")
    if trace:
        click.echo("\nHub trace:")
        click.echo(
            _indent(table(["time", "hub", "event"], [[local(t.at), t.hub_id, t.event] for t in trace]))
        )


def _document_json(directory: Directory, doc: DocumentRecord) -> dict[str, Any]:
    return {
        **vars(doc),
        "sender_name": _name(directory, doc.sender),
        "business": business_type_name(doc.business_type),
    }


def _echo_document(directory: Directory, doc: DocumentRecord) -> None:
    kind = business_type_name(doc.business_type)
    about = f" of {doc.related_document_id}" if doc.related_document_id else ""
    click.echo(f"  {doc.code or '(no number)'}  {doc.subject or '(no subject)'}  [{kind}{about}]")
    click.echo(
        f"  from {agency_label(directory, doc.sender)}, received {local(doc.received_at)}, {doc.size} bytes"
    )


def _echo_pair(directory: Directory, pair: PairRecord, events: list[StatusEvent], now: datetime) -> None:
    marks = [m for m in (pair.change, "OVERDUE" if _is_overdue(pair, now) else None) if m]
    flag = f"  [{', '.join(marks)}]" if marks else ""
    click.echo(f"\n{agency_label(directory, pair.recipient)}: {status_name(pair.state)}{flag}")
    rows = [["accepted", local(pair.accepted_at), "", ""]]
    if pair.forwarded_at:
        rows.append(["forwarded", local(pair.forwarded_at), "", ""])
    for e in events:
        when = e.status_time.strftime("%Y-%m-%d %H:%M:%S") if e.status_time else local(e.received_at)
        on = f" (on {e.document_id})" if e.document_id != pair.document_id else ""
        rows.append([status_name(e.code), when, e.from_agency, (e.description or "") + on])
    if pair.deadline and not pair.last_status:
        rows.append(["01 due by", local(pair.deadline), "", ""])
    click.echo(_indent(table(["status", "time", "from", "description"], rows)))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


# --- lists ------------------------------------------------------------------------------------


def show_overdue(store: TrackingStore, directory: Directory, now: datetime, as_json: bool) -> None:
    late = store.overdue(now)
    if as_json:
        echo_json(
            {
                "now": now,
                "overdue": [
                    {**_pair_json(directory, p, [], now), "document_id": p.document_id} for p in late
                ],
            }
        )
        return
    if not late:
        click.echo(f"Nothing overdue at {local(now)} (Vietnam time).")
        return
    rows = []
    for p in late:
        assert p.deadline is not None
        hours = (now - p.deadline).total_seconds() / 3600
        rows.append(
            [
                p.document_id,
                agency_label(directory, p.recipient),
                p.state,
                local(p.deadline),
                f"{hours:.1f} h",
            ]
        )
    click.echo(f"{len(late)} deliveries without a 01 past their deadline at {local(now)} (Vietnam time):")
    click.echo(table(["document", "recipient", "state", "01 due by", "late by"], rows))


def show_since(store: TrackingStore, directory: Directory, since: datetime, as_json: bool) -> None:
    docs = list(store.documents_since(since))
    summaries = {d.document_id: store.pairs(d.document_id) for d in docs}
    if as_json:
        echo_json(
            {
                "since": since,
                "documents": [
                    {
                        **_document_json(directory, d),
                        "recipients": {p.recipient: p.state for p in summaries[d.document_id]},
                    }
                    for d in docs
                ],
            }
        )
        return
    if not docs:
        click.echo(f"No documents received since {local(since)} (Vietnam time).")
        return
    rows = [
        [
            local(d.received_at),
            d.document_id,
            d.sender,
            business_type_name(d.business_type),
            d.subject or "",
            " ".join(f"{p.recipient}:{p.state}" for p in summaries[d.document_id]),
        ]
        for d in docs
    ]
    click.echo(f"{len(docs)} documents received since {local(since)} (Vietnam time):")
    click.echo(table(["received", "document", "sender", "type", "subject", "recipients"], rows))
