"""``vb audit verify``: the hub's evidence log and its tracking store re-checked
(``vbcore.operations.audit``).

Prints every finding on a line of its own in the run's language (the chain's first break, each bad
time-stamp, each disagreement between the store and the log, up to ``--max-findings``), then a
summary. Exit status: 0 when everything verifies, 1 on any finding, 3 when the store is unavailable.
Progress goes to stderr (``vbcore.cli.progress``); ``--json`` prints one JSON document for scripts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from vbcore.cli.failures import EXIT_FAILED
from vbcore.cli.output import current_lang
from vbcore.cli.progress import Progress
from vbcore.cli.stores import default_store_url, open_existing_store
from vbcore.lang import Lang, Text
from vbcore.operations.audit import MAX_FINDINGS, MAX_UNSIGNED_AGE, AuditReport, Discrepancy, audit
from vbcore.security.trust import TrustStore

_PHASES = {
    "chain": Text("kiểm tra chuỗi bằng chứng", "checking the evidence chain"),
    "store": Text("đối chiếu kho theo dõi", "checking the tracking store"),
}
_T = {
    "chain_ok": Text(
        "Chuỗi bằng chứng: {n} mục, liên kết và mã băm đúng; {cp} điểm chốt có chữ ký hợp lệ "
        "(đến mục {covered}); {ts} điểm chốt có dấu thời gian RFC 3161 hợp lệ",
        "Evidence chain: {n} entries, links and hashes correct; {cp} checkpoints with valid signatures "
        "(up to entry {covered}); {ts} with a valid RFC 3161 time-stamp",
    ),
    "hubs": Text("Các điểm chốt do trục {hubs} ký", "The checkpoints are signed by the hub {hubs}"),
    "receipts": Text("{n} biên nhận của trục được đối chiếu với dấu niêm và nhật ký",
                     "{n} hub receipts checked against their seals and the log"),
    "uncovered": Text(
        "các mục {first} đến {last} chưa có điểm chốt nào ký (sẽ có ở điểm chốt sau)",
        "entries {first} to {last} are not signed by a checkpoint yet (the next checkpoint will)",
    ),
    "store_ok": Text(
        "Kho theo dõi: {n} văn bản khớp nhật ký bằng chứng",
        "Tracking store: {n} documents agree with the evidence log",
    ),
    "store_bad": Text(
        "Kho theo dõi: {total} chỗ không khớp nhật ký bằng chứng trong {n} văn bản",
        "Tracking store: {total} disagreements with the evidence log in {n} documents",
    ),
    "before": Text(
        "{n} văn bản được ghi trước khi có nhật ký bằng chứng (không được đối chiếu)",
        "{n} documents recorded before the evidence log began (not checked)",
    ),
    "more": Text("... và {n} chỗ nữa (xem --max-findings)", "... and {n} more (see --max-findings)"),
    "verdict_ok": Text("Kết luận: nhật ký bằng chứng và kho theo dõi nguyên vẹn.",
                       "Verdict: the evidence log and the tracking store are intact."),
    "verdict_bad": Text("Kết luận: KHÔNG nguyên vẹn.", "Verdict: NOT intact."),
}


def _trust(paths: tuple[Path, ...]) -> TrustStore:
    if len(paths) == 1 and paths[0].is_dir():
        return TrustStore.from_directory(paths[0])
    return TrustStore.from_pem_files(paths)


@click.group("audit")
def audit_group() -> None:
    """The hub's evidence log (issue 9): who sent what to whom and when, checked."""


@audit_group.command("verify")
@click.option(
    "--store", "store_url", default=None, help="Tracking store URL [default: $VBUS_STORE or ./var/vbus.db]."
)
@click.option("--trust", "trust_paths", type=click.Path(exists=True, path_type=Path), multiple=True,
              required=True,
              help="The CA certificate(s) that issued the hub's key (PEM file or folder; repeatable).")
@click.option("--tsa-trust", "tsa_paths", type=click.Path(exists=True, path_type=Path), multiple=True,
              help="The CA certificate(s) of the time-stamping authority [default: --trust].")
@click.option("--hub-id", default=None,
              help="The hub whose certificate must have signed every checkpoint (its `vb hub run --hub-id`).")
@click.option("--max-unsigned-age", default=int(MAX_UNSIGNED_AGE.total_seconds()), show_default=True,
              type=click.IntRange(0),
              help="Seconds an entry may go without a checkpoint before it is a finding.")
@click.option("--max-findings", default=MAX_FINDINGS, show_default=True, type=click.IntRange(1),
              help="Store disagreements listed at most (all are counted).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (UTF-8) for scripts.")
def audit_verify(store_url: str | None, trust_paths: tuple[Path, ...], tsa_paths: tuple[Path, ...],
                 hub_id: str | None, max_unsigned_age: int, max_findings: int, as_json: bool) -> None:
    """Re-check the whole evidence log (every entry's hash and link, the order of their times, every
    checkpoint's signature and time-stamp) and the tracking store against it (every document, pair and
    status has its entry and every entry its row). Names the first entry altered, removed, inserted or
    reordered. Exit status 1 on any finding."""
    lang = current_lang()
    trust = _trust(trust_paths)
    tsa_trust = _trust(tsa_paths) if tsa_paths else None
    progress = Progress(_PHASES["chain"], lang)

    def show(item: Discrepancy) -> None:
        if not as_json:
            click.echo(item.describe(lang))

    store = open_existing_store(store_url or default_store_url())
    try:
        report = audit(store, trust, tsa_trust=tsa_trust, hub_id=hub_id, max_findings=max_findings,
                       max_unsigned_age=timedelta(seconds=max_unsigned_age),
                       on_discrepancy=show,
                       progress=lambda phase, done, total: progress.update(done, total, _PHASES[phase]))
    finally:
        progress.finish()
        store.close()
    if as_json:
        click.echo(json.dumps(_as_json(report, lang), ensure_ascii=False, indent=1))
    else:
        _summary(report, lang)
    if not report.clean:
        raise click.exceptions.Exit(EXIT_FAILED)


def _summary(report: AuditReport, lang: Lang) -> None:
    if report.store_total > len(report.store):
        click.echo(_T["more"].format(n=report.store_total - len(report.store))(lang))
    for finding in [*([report.chain] if report.chain else []), *report.tsa]:
        click.echo(finding.describe(lang))
    if report.chain is None:
        click.echo(_T["chain_ok"].format(n=report.entries, cp=report.checkpoints, covered=report.covered,
                                         ts=report.timestamped)(lang))
        if report.hubs:
            click.echo(_T["hubs"].format(hubs=", ".join(report.hubs))(lang))
        if report.covered < report.entries:
            click.echo(_T["uncovered"].format(first=report.covered + 1, last=report.entries)(lang))
    click.echo(_T["receipts"].format(n=report.receipts)(lang))
    judged = report.documents - report.before_log
    key = "store_bad" if report.store_total else "store_ok"
    click.echo(_T[key].format(n=judged, total=report.store_total)(lang))
    if report.before_log:
        click.echo(_T["before"].format(n=report.before_log)(lang))
    click.echo(_T["verdict_ok" if report.clean else "verdict_bad"](lang))


def _as_json(report: AuditReport, lang: Lang) -> dict[str, object]:
    def finding(f: object) -> dict[str, object]:
        return {"seq": getattr(f, "seq", None), "document_id": getattr(f, "document_id", None),
                "what": getattr(f, "what", ""), "message": f.describe(lang)}  # type: ignore[attr-defined]

    return {
        "intact": report.clean, "entries": report.entries, "checkpoints": report.checkpoints,
        "covered": report.covered, "timestamped": report.timestamped, "hubs": report.hubs,
        "receipts": report.receipts, "documents": report.documents,
        "before_log": report.before_log, "chain": finding(report.chain) if report.chain else None,
        "tsa": [finding(f) for f in report.tsa], "store": [finding(f) for f in report.store],
        "store_total": report.store_total,
    }  # fmt: skip
