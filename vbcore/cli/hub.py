"""`vb` commands for the hub area: run a hub, watch queues, provision agencies, and the one-process
demo (`vb parked` is in ``vbcore.cli.parked``, `vb send` in ``vbcore.cli.sending``).

Every command here that touches the broker takes the shared options of ``vbcore.cli.broker`` and acts
on its one vhost. What people read is in the language of ``vb --lang`` (``vbcore.lang``); errors end
as one line and an exit code (``vbcore.cli.failures``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from vbcore.cli.broker import (
    as_hub_user,
    broker_option,
    hub_transport,
    hub_user_option,
    inbox_secret_option,
    management_option,
    prefix_option,
    target,
    user_prefix_option,
    vhost_option,
)
from vbcore.cli.config_options import config_option
from vbcore.cli.failures import EXIT_UNAVAILABLE, fail
from vbcore.cli.monitoring import metrics_options, monitored
from vbcore.cli.output import current_lang
from vbcore.edxml.limits import DEFAULT_LIMITS
from vbcore.evidence.checkpoint import DEFAULT_INTERVAL_ENTRIES, DEFAULT_INTERVAL_SECONDS
from vbcore.hub.config import (
    DEFAULT_DOCUMENT_WAIT,
    DEFAULT_INFLIGHT_BYTES,
    DEFAULT_PARKED_ALARM,
    MAX_DOCUMENT_WAIT,
)
from vbcore.lang import Text

parked_alarm_option = click.option(
    "--parked-alarm", default=DEFAULT_PARKED_ALARM, show_default=True, type=click.IntRange(1),
    help="Parked messages at or above this count raise the alarm (a flood of garbage, a failing agency).",
)


# --- vb demo ------------------------------------------------------------------------------------


@click.command()
@click.option(
    "--store", "store_url", default=None, help="Keep the tracking store here (default: a temp file)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--web", is_flag=True, help="Serve the web board on it, with a one-time login (Ctrl-C ends).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Its port.")
def demo(store_url: str | None, as_json: bool, web: bool, port: int) -> None:
    """Run a whole interconnection in one process (no server): a hub, six agencies, real documents."""
    from vbcore.cli.demo import run_demo
    from vbcore.cli.output import agency_label, echo_json
    from vbcore.store.timeline import render_text

    lang = current_lang()
    if web:
        from vbcore.cli.demo_board import serve_demo

        serve_demo(port=port, lang=lang, echo=click.echo)
        return
    report = run_demo(store_url, lang=lang)
    if as_json:
        echo_json(report.to_json())
        return
    click.echo("vbus demo: Văn phòng Chính phủ, Bộ Nội vụ, Bộ Tài chính, Hà Nội, Đà Nẵng, Thanh Hóa")

    def label(code: str) -> str:
        return agency_label(report.directory, code, lang=lang)

    for timeline in report.timelines:
        click.echo("")
        click.echo(render_text(timeline, label, trace=False, lang=lang))
    click.echo("")
    click.echo(report.summary_text(lang))


# --- vb hub run ---------------------------------------------------------------------------------


@click.group()
def hub() -> None:
    """Run the hub."""


@hub.command("run")
@config_option("hub run")
@broker_option()
@vhost_option
@click.option(
    "--store", "store_url", required=True, envvar="VBUS_STORE", help="sqlite:///path.db or postgresql://..."
)
@click.option(
    "--hub-id", default="vbus.hub", show_default=True, help="This hub's identity (its certificate's code)."
)
@click.option("--prefetch", default=32, show_default=True, type=click.IntRange(1, 10_000),
              help="Deliveries in hand (one batch) at most.")
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="CA certificate (PEM) or a folder of them.",
)
@click.option("--key", "key_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", "cert_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option(
    "--directory",
    "directory_paths",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Operator's directory file, merged over the shipped one (repeatable, later files win; "
    "each is read again when it changes, e.g. after `vb agencies sync`).",
)
@click.option("--allow-sha1", is_flag=True, help="Accept rsa-sha1 signatures (older producers).")
@click.option(
    "--agency", "agencies", multiple=True, help="Declare this agency's inbox at start (repeatable)."
)
@click.option("--max-bytes", default=DEFAULT_LIMITS.max_bytes, show_default=True, type=click.IntRange(1),
              help="Packages above this size are refused before parsing.")
@click.option("--inflight-bytes", default=DEFAULT_INFLIGHT_BYTES, show_default=True, type=click.IntRange(1),
              help="Memory budget: bytes of packages in hand at once, at most.")
@parked_alarm_option
@click.option("--document-wait", default=DEFAULT_DOCUMENT_WAIT, show_default=True,
              type=click.FloatRange(0, MAX_DOCUMENT_WAIT),
              help="Seconds a status or change about a document not known yet waits for it (another hub "
              "may hold it) before it is refused; 0: refused at once.")
@click.option("--evidence-every", "evidence_every_entries", default=DEFAULT_INTERVAL_ENTRIES,
              show_default=True, type=click.IntRange(1),
              help="Sign the evidence log's head at least every N entries ...")
@click.option("--evidence-every-seconds", default=DEFAULT_INTERVAL_SECONDS, show_default=True,
              type=click.FloatRange(0.1),
              help="... and every N seconds while entries come in (and on shutdown).")
@click.option("--tsa-url", default=None,
              help="An RFC 3161 time-stamping authority (http://...): each checkpoint gets its token.")
@prefix_option
@hub_user_option
@user_prefix_option
@inbox_secret_option
@click.option("--log-format", type=click.Choice(["json", "console"]), default="json", show_default=True)
@click.option(
    "--once", is_flag=True, help="Process what waits on the ingress, then exit (3: store or broker failed)."
)
@click.option("--archive", "archive_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="VBUS_ARCHIVE", help="Keep every accepted package as signed here (evidence) "
              "[default: beside a SQLite store, ./var/packages otherwise].")
@metrics_options
def hub_run(
    broker: str,
    vhost: str | None,
    store_url: str,
    hub_id: str,
    prefetch: int,
    trust_path: Path,
    key_path: Path,
    cert_path: Path,
    directory_paths: tuple[Path, ...],
    allow_sha1: bool,
    agencies: tuple[str, ...],
    max_bytes: int,
    inflight_bytes: int,
    parked_alarm: int,
    document_wait: float,
    evidence_every_entries: int,
    evidence_every_seconds: float,
    tsa_url: str | None,
    prefix: str,
    hub_user: str,
    user_prefix: str,
    inbox_secret_file: Path,
    log_format: str,
    once: bool,
    archive_path: Path | None,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Consume the ingress queue: check, route and track every package. Several may run at once."""
    from vbcore.directory.watch import DirectoryFiles
    from vbcore.hub.config import HubConfig
    from vbcore.hub.metrics import HubMetrics
    from vbcore.hub.pipeline import Hub
    from vbcore.hub.runner import StopFlag, run, run_once
    from vbcore.logging import configure
    from vbcore.metrics import Registry
    from vbcore.security.pki import identity_of
    from vbcore.security.signing import SignaturePolicy, SigningKey
    from vbcore.security.trust import TrustStore
    from vbcore.store.archive import PackageArchive, default_location

    configure(json=log_format == "json")
    at = target(broker, vhost, prefix, hub_user=hub_user, user_prefix=user_prefix,
                inbox_secret_file=inbox_secret_file)  # fmt: skip
    as_hub_user(at.url, at.names, "run")
    trust = (TrustStore.from_directory(trust_path) if trust_path.is_dir()
             else TrustStore.from_pem_files([trust_path]))  # fmt: skip
    # A broken file stops the start, never a running hub; a change is read beside it, never in its way.
    directory = DirectoryFiles(directory_paths, background=True)
    lang = current_lang()
    transport = hub_transport(at.url, at.names, forever=not once)  # a running hub never gives up
    if transport.queue_exists(at.names.legacy_ingress_queue):
        transport.close()
        raise fail(_T["legacy_queues"].format(queue=at.names.legacy_ingress_queue))
    key = SigningKey.from_files(key_path, cert_path)
    bound = identity_of(key.certificate)
    if bound != hub_id:  # its checkpoints and receipts would verify nowhere (evidence.statement)
        click.echo(_T["hub_id_unbound"].format(hub_id=hub_id, bound=bound or "-")(current_lang()), err=True)
    the_hub = Hub(
        transport,
        _open_store(store_url),
        key=key,
        trust=trust,
        directory=directory(),
        directory_source=directory if directory_paths else None,
        policy=SignaturePolicy(allow_sha1=allow_sha1),
        config=HubConfig(hub_id=hub_id, names=at.names, max_bytes=max_bytes, inflight_bytes=inflight_bytes,
                         parked_alarm=parked_alarm, document_wait=document_wait, lang=lang,
                         evidence_every_entries=evidence_every_entries,
                         evidence_every_seconds=evidence_every_seconds, tsa_url=tsa_url),
        metrics=HubMetrics(Registry(process=True), hub_id=hub_id),
        archive=PackageArchive(archive_path or default_location(store_url)),
    )
    if once:
        report = run_once(the_hub, agencies=list(agencies), prefetch=prefetch)
        if report.requeued:
            raise fail(_T["once_failed"].format(n=report.requeued), exit_code=EXIT_UNAVAILABLE)
        click.echo(_T["once_done"].format(n=report.processed)(lang))
        return
    stop = StopFlag()
    stop.install()
    with monitored(the_hub.metrics, host=metrics_host, port=metrics_port):
        run(the_hub, stop, agencies=list(agencies), prefetch=prefetch)


def _open_store(url: str) -> Any:
    """Open the store, retrying briefly: hub processes started together race to create a fresh SQLite
    file ("database is locked" from the store's first open; the store's own busy timeout does not cover
    it), and a PostgreSQL server may still be starting."""
    import time

    from vbcore.errors import StoreError, StoreTlsFailed
    from vbcore.store import open_store

    for attempt in range(6):
        try:
            return open_store(url)
        except StoreTlsFailed:
            raise  # a certificate to fix, not a server still starting
        except StoreError:
            if attempt == 5:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


# --- vb queues (vb parked: vbcore.cli.parked) -------------------------------------------------

_T = {
    "hub_id_unbound": Text(
        "CẢNH BÁO: chứng thư số của trục ghi danh tính {bound}, không phải --hub-id {hub_id}: không ai kiểm "
        "tra được điểm chốt và biên nhận trục ký (vb evidence verify, vb audit verify)",
        "WARNING: the hub's certificate names {bound}, not --hub-id {hub_id}: nobody can verify the "
        "checkpoints and receipts it signs (vb evidence verify, vb audit verify)",
    ),
    "once_done": Text(
        "đã xử lý {n} thông điệp; cửa vào của trục trống", "processed {n} messages; the ingress is empty"
    ),
    "once_failed": Text(
        "{n} thông điệp được trả lại hàng đợi vì kho theo dõi hoặc máy chủ chuyển tin lỗi (xem nhật ký); "
        "hãy chạy lại sau",
        "{n} messages went back to the queue because the tracking store or the broker failed (see the log); "
        "run again later",
    ),
    "legacy_queues": Text(
        "{queue} còn tồn tại: cài đặt này vẫn dùng các hàng đợi của phiên bản trước; hãy dừng mọi tiến trình "
        "trục và chạy `vb hub migrate` trước (xem CHANGELOG)",
        "{queue} exists: this installation still has the earlier queues; stop every hub and run "
        "`vb hub migrate` first (see CHANGELOG)",
    ),
    "parked_alarm": Text(
        "  BÁO ĐỘNG: từ {n} trở lên; xem `vb parked list`", "  ALARM: {n} or more; see `vb parked list`"
    ),
    "queues_head": Text("hàng đợi|số thông điệp|số bên nhận", "queue|messages|consumers"),
    "parked_total": Text("bị giữ lại: {n}", "parked: {n}"),
    "removed": Text(
        "đã xóa người dùng {code} trên máy chủ chuyển tin (hộp thư và thư trong đó được giữ lại)",
        "removed broker user {code} (its inbox and messages are kept)",
    ),
}


@click.command()
@management_option
@vhost_option
@broker_option("Broker URL; only the vhost it names is used")
@prefix_option
@parked_alarm_option
@click.option("--json", "as_json", is_flag=True)
def queues(
    management_url: str, vhost: str | None, broker: str, prefix: str, parked_alarm: int, as_json: bool
) -> None:
    """Queue depths and consumers (ingress, inboxes, parked); flags too many parked messages."""
    from vbcore.text import table
    from vbcore.transport.provision import BrokerAdmin

    at = target(broker, vhost, prefix)
    infos = BrokerAdmin(management_url, vhost=at.vhost, names=at.names).queues()
    if as_json:
        data = [{"name": q.name, "messages": q.messages, "consumers": q.consumers} for q in infos]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    lang = current_lang()
    rows = [[q.name, str(q.messages), str(q.consumers)] for q in infos]
    click.echo(table(_T["queues_head"](lang).split("|"), rows))
    parked = sum(q.messages for q in infos if q.name == at.names.parked_queue)
    alarm = _T["parked_alarm"].format(n=parked_alarm)(lang) if parked >= parked_alarm else ""
    click.echo(_T["parked_total"].format(n=parked)(lang) + alarm)


# --- vb agency add/remove -----------------------------------------------------------------------


@click.group()
def agency() -> None:
    """Provision an agency on the broker (user, permissions, inbox) and issue its certificate."""


@agency.command("add")
@click.argument("code")
@click.option("--password", default=None,
              help="Broker password (generated and printed when omitted; with --tls-client: none at all).")
@click.option("--name", default=None, help="Agency name for the certificate (default: from the directory).")
@click.option("--ca-key", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--ca-cert", type=click.Path(exists=True, path_type=Path), default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to write CODE.key.pem and CODE.pem.",
)
@click.option(
    "--reissue",
    is_flag=True,
    help="The agency exists: set a new password and (with --ca-key/--ca-cert) a new key and certificate.",
)
@click.option("--tls-client", is_flag=True,
              help="Also issue OUT/CODE.tls.pem and .tls.key.pem: a TLS client certificate whose CN is the "
              "agency's broker user, to log in with instead of a password (docs/deployment-tls.md).")
@click.option("--tls-ca-key", type=click.Path(exists=True, path_type=Path), default=None,
              help="The TLS CA's key for --tls-client (default: --ca-key).")
@click.option("--tls-ca-cert", type=click.Path(exists=True, path_type=Path), default=None,
              help="The TLS CA's certificate for --tls-client (default: --ca-cert).")
@management_option
@vhost_option
@broker_option()
@prefix_option
@user_prefix_option
@inbox_secret_option
def agency_add(
    code: str,
    broker: str,
    vhost: str | None,
    prefix: str,
    user_prefix: str,
    inbox_secret_file: Path,
    **options: Any,
) -> None:
    """Create CODE's broker user and inbox (its name written to OUT/CODE.inbox, for the agency); with
    --ca-key/--ca-cert, issue its certificate too.

    All or nothing: when a step fails, the steps already done are undone."""
    from vbcore.hub.admin import add_agency

    at = target(broker, vhost, prefix, user_prefix=user_prefix, inbox_secret_file=inbox_secret_file)
    added = add_agency(code, names=at.names, vhost=at.vhost,
                       hub_transport=lambda: hub_transport(at.url, at.names), **options)
    for line in added.lines(current_lang()):
        click.echo(line)


@agency.command("remove")
@click.argument("code")
@management_option
@vhost_option
@broker_option("Broker URL; only the vhost it names is used")
@prefix_option
@user_prefix_option
def agency_remove(
    code: str, management_url: str, vhost: str | None, broker: str, prefix: str, user_prefix: str
) -> None:
    """Delete CODE's broker user and close its connections (its inbox is kept)."""
    from vbcore.transport.provision import BrokerAdmin

    at = target(broker, vhost, prefix, user_prefix=user_prefix)
    BrokerAdmin(management_url, vhost=at.vhost, names=at.names).remove_agency(code)
    click.echo(_T["removed"].format(code=at.names.agency_user(code))(current_lang()))
