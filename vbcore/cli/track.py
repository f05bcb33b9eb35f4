"""``vb track``: where a document stands with each recipient, what is overdue, what arrived since.

Reads the tracking store only (``vbcore.store``); never writes, and refuses a store that does not
exist (``vbcore.cli.stores``). Text is in the language of ``vb --lang`` (Vietnamese by default).
Times are shown in Vietnam local time (UTC+7) as text, and as ISO 8601 UTC in ``--json`` (a status's
own ``status_time`` as the package wrote it, without a zone). A ``--since``/``--now`` value without a
zone is Vietnam local time.

The store URL comes from ``--store``, else ``VBUS_STORE`` (a URL, or a path to a SQLite file),
else ``sqlite:///./var/vbus.db``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from vbcore.cli.output import (
    agency_label,
    current_lang,
    directory_option,
    echo_json,
    fail,
    json_option,
    load_directory,
    parse_time,
    table,
)
from vbcore.cli.parked_lookup import (
    parked_about,
    parked_json,
    parked_lines,
    parked_options,
    parked_reader,
    unread_line,
)
from vbcore.cli.stores import default_store_url, open_existing_store
from vbcore.directory import Directory
from vbcore.errors import VbusError
from vbcore.hub.parked import ParkedMessage
from vbcore.lang import Lang, Text
from vbcore.store import TrackingStore
from vbcore.store.timeline import (
    VIETNAM_TIME,
    Timeline,
    business_text,
    document_json,
    local,
    read_timeline,
    recipient_json,
    recipient_timeline,
    render_text,
    state_text,
    timeline_json,
    tracked_ids,
)
from vbcore.transport import Transport
from vbcore.transport.names import Names

ParkedReader = tuple[Callable[[], Transport], Names]


@click.command("track")
@click.argument("document_id", required=False)
@click.option(
    "--store", "store_url", default=None, help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db]."
)
@click.option("--overdue", is_flag=True, help="List deliveries whose 01 is overdue.")
@click.option("--since", "since_text", metavar="TIME", help="List documents received since TIME (ISO 8601).")
@click.option("--now", "now_text", metavar="TIME", help="Check --overdue as of TIME instead of now.")
@directory_option
@json_option
@parked_options
def track(
    document_id: str | None,
    store_url: str | None,
    overdue: bool,
    since_text: str | None,
    now_text: str | None,
    directory_file: Path | None,
    as_json: bool,
    **broker: Any,
) -> None:
    """Show DOCUMENT_ID's delivery to each recipient (statuses, refusals, the hub's trace),
    or list overdue deliveries (--overdue), or documents received since a time (--since).

    DOCUMENT_ID as the sender wrote it; when several agencies wrote the same one (UUIDs), they are
    listed and one is shown by SENDER|DOCUMENT_ID, the id --since lists. With --broker (or
    VBUS_BROKER), its messages waiting in the parking queue are shown too, with the command to replay."""
    if sum((document_id is not None, overdue, since_text is not None)) != 1:
        raise click.UsageError("give exactly one of DOCUMENT_ID, --overdue or --since TIME")
    now = parse_time(now_text, "--now") if now_text else datetime.now(UTC)
    since = parse_time(since_text, "--since") if since_text else None
    directory = load_directory(directory_file)
    lang = current_lang()
    store = open_existing_store(store_url or default_store_url())
    try:
        if document_id is not None:
            show_document(store, directory, document_id, now, as_json, lang, parked_reader(**broker))
        elif overdue:
            show_overdue(store, directory, now, as_json, lang)
        else:
            assert since is not None
            show_since(store, directory, since, as_json, lang)
    finally:
        store.close()


_T = {
    "not_found": Text(
        "không có văn bản {id} trong kho theo dõi", "document {id} is not in the tracking store"
    ),
    "not_in_store": Text(
        "Văn bản {id}: không có trong kho theo dõi của trục", "Document {id}: not in the hub's tracking store"
    ),
    "nothing_overdue": Text("Không có gì quá hạn lúc {now} ({tz}).", "Nothing overdue at {now} ({tz})."),
    "overdue": Text(
        "{n} lượt chuyển chưa có 01 đã quá hạn lúc {now} ({tz}):",
        "{n} deliveries without a 01 past their deadline at {now} ({tz}):",
    ),
    "overdue_head": Text(
        "văn bản|cơ quan nhận|trạng thái|hạn 01|quá hạn", "document|recipient|state|01 due by|late by"
    ),
    "hours": Text("{h} giờ", "{h} h"),
    "no_documents": Text(
        "Không có văn bản nào trục nhận từ {since} ({tz}).", "No documents received since {since} ({tz})."
    ),
    "documents": Text(
        "{n} văn bản trục nhận từ {since} ({tz}):", "{n} documents received since {since} ({tz}):"
    ),
    "since_head": Text(
        "trục nhận|văn bản|cơ quan gửi|loại|trích yếu|cơ quan nhận",
        "received|document|sender|type|subject|recipients",
    ),
}


# --- one document -----------------------------------------------------------------------------


def show_document(
    store: TrackingStore,
    directory: Directory,
    document_id: str,
    now: datetime,
    as_json: bool,
    lang: Lang,
    reader: ParkedReader | None = None,
) -> None:
    found = tracked_ids(store, document_id)
    if len(found) > 1:  # agencies that each wrote this DocumentId (one that begins with no agency code)
        raise fail(
            f"DocumentId {document_id} was sent by {len(found)} agencies; give the one you mean as "
            f"SENDER|DOCUMENT_ID: {', '.join(found)}"
        )
    timeline = read_timeline(store, directory, found[0] if found else document_id, now=now)
    parked = _parked(reader, timeline, document_id, lang)
    if not timeline.found and not parked:
        raise fail(_T["not_found"].format(id=document_id))
    if as_json:
        data = timeline_json(directory, timeline)
        if reader is not None:
            data["parked"] = parked_json(parked, reader[1])
        echo_json(data)
        return
    if timeline.found:
        click.echo(render_text(timeline, lambda code: agency_label(directory, code, lang=lang), lang=lang))
    else:
        click.echo(f"{_T['not_in_store'].format(id=document_id)(lang)}")
    if reader is not None and parked:
        click.echo("")
        click.echo("\n".join(parked_lines(parked, reader[1], lang)))


def _parked(
    reader: ParkedReader | None, timeline: Timeline, document_id: str, lang: Lang
) -> list[ParkedMessage]:
    """The parked messages about the document (by every id it is known by); none without a broker. A
    broker that cannot be read is said on stderr: the store's answer still stands."""
    if reader is None:
        return []
    ids = {document_id, timeline.document_id}
    if timeline.document is not None and timeline.document.edxml_document_id:
        ids.add(timeline.document.edxml_document_id)
    try:
        return parked_about(reader, ids)
    except VbusError as err:
        click.echo(unread_line(err, lang), err=True)
        return []


# --- lists ------------------------------------------------------------------------------------


def show_overdue(
    store: TrackingStore, directory: Directory, now: datetime, as_json: bool, lang: Lang
) -> None:
    late = store.overdue(now)
    if as_json:
        echo_json(
            {
                "now": now,
                "overdue": [
                    {**recipient_json(recipient_timeline(directory, p, [], now)), "document_id": d}
                    for p in late
                    if (d := p.document_id)
                ],
            }
        )
        return
    tz = VIETNAM_TIME(lang)
    if not late:
        click.echo(_T["nothing_overdue"].format(now=local(now), tz=tz)(lang))
        return
    rows = []
    for p in late:
        assert p.deadline is not None
        hours = (now - p.deadline).total_seconds() / 3600
        rows.append(
            [
                p.document_id,
                agency_label(directory, p.recipient, lang=lang),
                state_text(p.state, lang),
                local(p.deadline),
                _T["hours"].format(h=f"{hours:.1f}")(lang),
            ]
        )
    click.echo(_T["overdue"].format(n=len(late), now=local(now), tz=tz)(lang))
    click.echo(table(_T["overdue_head"](lang).split("|"), rows))


def show_since(
    store: TrackingStore, directory: Directory, since: datetime, as_json: bool, lang: Lang
) -> None:
    docs = list(store.documents_since(since))
    summaries = {d.document_id: store.pairs(d.document_id) for d in docs}
    if as_json:
        echo_json(
            {
                "since": since,
                "documents": [
                    {
                        **document_json(directory, d),
                        "recipients": {p.recipient: p.state for p in summaries[d.document_id]},
                    }
                    for d in docs
                ],
            }
        )
        return
    tz = VIETNAM_TIME(lang)
    if not docs:
        click.echo(_T["no_documents"].format(since=local(since), tz=tz)(lang))
        return
    rows = [
        [
            local(d.received_at),
            d.document_id,
            d.sender,
            business_text(d.business_type, lang),
            d.subject or "",
            "; ".join(f"{p.recipient}: {state_text(p.state, lang)}" for p in summaries[d.document_id]),
        ]
        for d in docs
    ]
    click.echo(_T["documents"].format(n=len(docs), since=local(since), tz=tz)(lang))
    click.echo(table(_T["since_head"](lang).split("|"), rows))
