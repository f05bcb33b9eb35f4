"""``vb reconcile``: the connectors' ledgers, the hub's tracking store and (with a broker) the parking
queue compared; every (document, recipient) that stopped on the way, with what to do
(``vbcore.operations.reconcile``).

Each gap is two lines in the run's language: where it stopped, then the action. ``--json`` streams the
same as one JSON document (``gaps``, then ``summary``). Exit status: 0 when there is no gap, 1 when
there is any, 3 when the store or the broker is unavailable. Progress goes to stderr.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from vbcore.cli.failures import EXIT_FAILED, fail
from vbcore.cli.output import current_lang, parse_time, to_jsonable
from vbcore.cli.parked_lookup import parked_options, parked_reader
from vbcore.cli.progress import Progress
from vbcore.cli.stores import default_store_url, open_existing_store
from vbcore.lang import Lang, Text
from vbcore.operations import Gap, Reconciliation, Stage, action_line, gap_line, reconcile

_COPIED = Text("đã sao chép sổ ghi của {agency} vào {path}", "copied the ledger of {agency} to {path}")
_NO_LEDGER = Text("không có sổ ghi nào tại {path}", "there is no ledger at {path}")
_PHASES = {
    "ledgers": Text("đọc sổ ghi của connector", "reading the connectors' ledgers"),
    "store": Text("đọc kho theo dõi", "reading the tracking store"),
    "parked": Text("đọc hàng đợi giữ lại", "reading the parking queue"),
    "checks": Text("đối chiếu", "checking"),
}
_T = {
    "read": Text(
        "Đã đối chiếu {pairs} lượt chuyển trong kho theo dõi với {sent} lượt gửi và {delivered} văn bản đã "
        "nhận trong {ledgers} sổ ghi của {agencies} cơ quan",
        "Compared {pairs} deliveries in the tracking store with {sent} sendings and {delivered} documents "
        "received in {ledgers} ledgers of {agencies} agencies",
    ),
    "parked": Text("hàng đợi giữ lại: {n} thông điệp", "parking queue: {n} messages"),
    "no_parked": Text(
        "hàng đợi giữ lại không được đọc (cho --broker để đọc)", "parking queue not read (give --broker)"
    ),
    "unledgered": Text(
        "không có sổ ghi của {n} cơ quan (phía của họ không được đối chiếu): {codes}",
        "no ledger of {n} agencies (their side is not checked): {codes}",
    ),
    "none": Text("Không có khoảng trống nào.", "No gaps."),
    "gaps": Text("{n} khoảng trống: {stages}", "{n} gaps: {stages}"),
}


@click.command("reconcile")
@click.option(
    "--store", "store_url", default=None, help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db]."
)
@click.option(
    "--ledger",
    "ledgers",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A connector's ledger (a copy of its ledger.sqlite3), or a folder of them (repeatable).",
)
@parked_options
@click.option(
    "--since",
    "since_text",
    metavar="TIME",
    help="Check only what was sent, accepted or delivered since TIME (ISO 8601).",
)
@click.option(
    "--until",
    "until_text",
    metavar="TIME",
    help="... and before TIME: leave out what may still be on its way.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the scratch file (default: the system's temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (UTF-8) for scripts.")
def reconcile_command(
    store_url: str | None,
    ledgers: tuple[Path, ...],
    broker: str | None,
    vhost: str | None,
    prefix: str,
    hub_user: str,
    user_prefix: str,
    since_text: str | None,
    until_text: str | None,
    work_dir: Path | None,
    as_json: bool,
) -> None:
    """Compare what every connector's ledger sent and received, what the hub tracked and what every
    recipient acknowledged; list each gap (document, sender, recipient, where it stopped, what to do).

    Collect the ledgers from the agencies' machines first (`vb connector ledger-copy` on each, then copy
    the files into one folder): see docs/deployment.md. Exit status 1 when there is any gap."""
    from vbcore.hub.parked import scan

    lang = current_lang()
    since = parse_time(since_text, "--since") if since_text else None
    until = parse_time(until_text, "--until") if until_text else None
    reader = parked_reader(broker, vhost, prefix, hub_user, user_prefix)
    parked = None if reader is None else scan(*reader)
    names = None if reader is None else reader[1]
    progress = Progress(_PHASES["checks"], lang)
    out = _JsonOut() if as_json else _TextOut(lang)
    store = open_existing_store(store_url or default_store_url())
    try:
        result = reconcile(
            store, list(ledgers), parked=parked, names=names, since=since, until=until, on_gap=out.gap,
            work_dir=work_dir, progress=lambda phase, n: progress.update(n, phase=_PHASES[phase]),
        )  # fmt: skip
    finally:
        progress.finish()
        store.close()
    out.summary(result, since, until)
    if result.total:
        raise click.exceptions.Exit(EXIT_FAILED)


class _TextOut:
    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def gap(self, gap: Gap) -> None:
        click.echo(gap_line(gap, self.lang))
        click.echo(action_line(gap, self.lang))

    def summary(self, r: Reconciliation, since: datetime | None, until: datetime | None) -> None:
        lang = self.lang
        agencies = len({f.agency for f in r.ledgers})
        if r.total:
            click.echo("")
        read = _T["read"].format(
            pairs=r.pairs, sent=r.sent, delivered=r.delivered, ledgers=len(r.ledgers), agencies=agencies
        )
        click.echo(read(lang))
        click.echo((_T["no_parked"] if r.parked is None else _T["parked"].format(n=r.parked))(lang))
        if r.unledgered:
            codes = ", ".join(r.unledgered_shown) + (
                ", ..." if r.unledgered > len(r.unledgered_shown) else ""
            )
            click.echo(_T["unledgered"].format(n=r.unledgered, codes=codes)(lang))
        if not r.total:
            click.echo(_T["none"](lang))
            return
        stages = ", ".join(f"{stage} {r.by_stage[stage]}" for stage in Stage.ALL if r.by_stage.get(stage))
        click.echo(_T["gaps"].format(n=r.total, stages=stages)(lang))


class _JsonOut:
    """``{"gaps": [...], "summary": {...}}`` written as the gaps come (memory does not grow with them)."""

    def __init__(self) -> None:
        self.count = 0
        click.echo('{"gaps": [', nl=False)

    def gap(self, gap: Gap) -> None:
        text = json.dumps(to_jsonable(gap.to_json()), ensure_ascii=False)
        click.echo(("," if self.count else "") + "\n  " + text, nl=False)
        self.count += 1

    def summary(self, r: Reconciliation, since: datetime | None, until: datetime | None) -> None:
        summary: dict[str, Any] = {
            "gaps": r.total,
            "by_stage": r.by_stage,
            "pairs": r.pairs,
            "sent": r.sent,
            "delivered": r.delivered,
            "parked": r.parked,
            "ledgers": [{"path": str(f.path), "agency": f.agency} for f in r.ledgers],
            "unledgered": r.unledgered,
            "unledgered_shown": list(r.unledgered_shown),
            "since": since,
            "until": until,
        }
        body = json.dumps(to_jsonable(summary), ensure_ascii=False)
        click.echo(("\n" if self.count else "") + f'], "summary": {body}}}')


@click.command("ledger-copy")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The runtime's ledger (default: <work-dir>/ledger.sqlite3).",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=Path("vbus-connector"),
    show_default=True,
    help="The connector's work folder (as given to `vb connector run`).",
)
def ledger_copy(out: Path, state_path: Path | None, work_dir: Path) -> None:
    """Write a consistent copy of this connector's ledger to OUT (a file ending .sqlite3, or a folder,
    made if new, where it is named after the agency: CODE.sqlite3), safe while the connector runs: what
    `vb reconcile` reads."""
    from vbcore.connector.ledger import Ledger
    from vbcore.operations.ledgers import LEDGER_SUFFIXES, is_ledger

    source = state_path or work_dir / "ledger.sqlite3"
    if not source.is_file() or not is_ledger(source):
        raise fail(_NO_LEDGER.format(path=source))
    ledger = Ledger(source)
    try:
        agency = ledger.agency or source.stem
        folder = out.is_dir() or out.suffix not in LEDGER_SUFFIXES  # a new folder, or an existing one
        target = out / f"{agency}.sqlite3" if folder else out
        target.parent.mkdir(parents=True, exist_ok=True)
        ledger.copy_to(target)
    finally:
        ledger.close()
    click.echo(_COPIED.format(agency=agency, path=target)(current_lang()))
