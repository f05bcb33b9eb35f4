"""`vb` commands for the hub area: run a hub, send as an agency, watch queues, handle parked messages,
provision agencies, and the one-process demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from vbcore.cli import vb
from vbcore.errors import VbusError
from vbcore.hub.config import DEFAULT_INFLIGHT_BYTES, DEFAULT_MAX_BYTES, DEFAULT_PARKED_ALARM
from vbcore.transport.names import Names

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT = "http://guest:guest@127.0.0.1:15672"

broker_option = click.option(
    "--broker",
    default=DEFAULT_BROKER,
    show_default=True,
    envvar="VBUS_BROKER",
    help="AMQP URL (user and password of the hub, or of the agency for `vb send`).",
)
prefix_option = click.option(
    "--prefix", default="vbus", show_default=True, help="Name prefix of this installation."
)
hub_user_option = click.option(
    "--hub-user",
    default="vbus-hub",
    show_default=True,
    envvar="VBUS_HUB_USER",
    help="The hub's broker user (`vb hub provision` makes it); `vb hub run` and `vb parked` run as it.",
)
parked_alarm_option = click.option(
    "--parked-alarm", default=DEFAULT_PARKED_ALARM, show_default=True, type=click.IntRange(1),
    help="Parked messages at or above this count raise the alarm (a flood of garbage, a failing agency).",
)
inbox_secret_option = click.option(
    "--inbox-secret",
    "inbox_secret_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VBUS_INBOX_SECRET_FILE",
    help="File with the secret that makes inbox names underivable (`vb hub provision` writes it).",
)
user_prefix_option = click.option(
    "--user-prefix",
    default="",
    envvar="VBUS_USER_PREFIX",
    help="Prefix of agencies' broker users (empty in production: the user is the agency's code; "
    "a test suite on a shared broker sets one).",
)
management_option = click.option(
    "--management-url",
    default=DEFAULT_MANAGEMENT,
    show_default=True,
    envvar="VBUS_MANAGEMENT_URL",
    help="RabbitMQ management API.",
)
vhost_option = click.option("--vhost", default="/", show_default=True)


def _fail(err: Exception) -> None:
    raise click.ClickException(str(err)) from err


def _url_user(url: str) -> str:
    """The broker user an AMQP URL logs in as (of its first node; pika's default: guest)."""
    from urllib.parse import unquote, urlsplit

    first = url.split(";", 1)[0].strip()
    return unquote(urlsplit(first).username or "guest")


def _as_hub_user(broker: str, names: Names, doing: str) -> None:
    """``doing`` must run as the hub user: the hub believes a replay's recorded sender from it only."""
    user = _url_user(broker)
    if user != names.hub_user:
        raise click.ClickException(
            f"{doing} as the hub's broker user {names.hub_user} (`vb hub provision`), not as {user}: "
            f"the hub believes the sender recorded on a replayed message from its own user only "
            f"(--broker amqp://{names.hub_user}:PASSWORD@host/vhost; another hub user: --hub-user)"
        )


def _with_secret(names: Names, secret_file: Path) -> Names:
    from dataclasses import replace

    from vbcore.hub.admin import load_inbox_secret

    return replace(names, inbox_secret=load_inbox_secret(secret_file))


def _rabbitmq(url: str, names: Names, user: str | None = None) -> Any:
    from vbcore.transport.rabbitmq import RabbitMQTransport

    return RabbitMQTransport(url, names=names, user=user) if user else RabbitMQTransport(url, names=names)


# --- vb demo ------------------------------------------------------------------------------------


@vb.command()
@click.option(
    "--store", "store_url", default=None, help="Keep the tracking store here (default: a temp file)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def demo(store_url: str | None, as_json: bool) -> None:
    """Run a whole interconnection in one process (no server): a hub, six agencies, real documents."""
    from vbcore.cli.output import agency_label, echo_json
    from vbcore.demo import run_demo
    from vbcore.hub.timeline import render_text

    report = run_demo(store_url)
    if as_json:
        echo_json(report.to_json())
        return
    click.echo("vbus demo: Văn phòng Chính phủ, Bộ Nội vụ, Bộ Tài chính, Hà Nội, Đà Nẵng, Thanh Hóa")
    for timeline in report.timelines:
        click.echo("")
        click.echo(render_text(timeline, lambda code: agency_label(report.directory, code), trace=False))
    click.echo("")
    click.echo(report.summary_text())


# --- vb hub run ---------------------------------------------------------------------------------


@vb.group()
def hub() -> None:
    """Run the hub."""


@hub.command("run")
@broker_option
@click.option(
    "--store", "store_url", required=True, envvar="VBUS_STORE", help="sqlite:///path.db or postgresql://..."
)
@click.option(
    "--hub-id", default="vbus.hub", show_default=True, help="This hub's identity (its certificate's code)."
)
@click.option("--prefetch", default=32, show_default=True, type=click.IntRange(1, 10_000),
              help="Deliveries in hand at most; lowered to --inflight-bytes / --max-bytes.")
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
    "directory_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Operator's directory file, merged over the shipped one.",
)
@click.option("--allow-sha1", is_flag=True, help="Accept rsa-sha1 signatures (older producers).")
@click.option(
    "--agency", "agencies", multiple=True, help="Declare this agency's inbox at start (repeatable)."
)
@click.option("--max-bytes", default=DEFAULT_MAX_BYTES, show_default=True, type=click.IntRange(1),
              help="Packages above this size are refused before parsing.")
@click.option("--inflight-bytes", default=DEFAULT_INFLIGHT_BYTES, show_default=True, type=click.IntRange(1),
              help="Memory budget: bytes of packages in hand at once (the prefetch is derived from it).")
@parked_alarm_option
@prefix_option
@hub_user_option
@user_prefix_option
@inbox_secret_option
@click.option("--log-format", type=click.Choice(["json", "console"]), default="json", show_default=True)
def hub_run(
    broker: str,
    store_url: str,
    hub_id: str,
    prefetch: int,
    trust_path: Path,
    key_path: Path,
    cert_path: Path,
    directory_path: Path | None,
    allow_sha1: bool,
    agencies: tuple[str, ...],
    max_bytes: int,
    inflight_bytes: int,
    parked_alarm: int,
    prefix: str,
    hub_user: str,
    user_prefix: str,
    inbox_secret_file: Path,
    log_format: str,
) -> None:
    """Consume the ingress queue: check, route and track every package. Several may run at once."""
    from vbcore.directory import Directory
    from vbcore.hub.config import HubConfig
    from vbcore.hub.pipeline import Hub
    from vbcore.hub.runner import StopFlag, run
    from vbcore.logging import configure
    from vbcore.signing import SignaturePolicy, SigningKey
    from vbcore.trust import TrustStore

    configure(json=log_format == "json")
    names = Names(prefix=prefix, hub_user=hub_user, user_prefix=user_prefix)
    _as_hub_user(broker, names, "run the hub")
    try:
        names = _with_secret(names, inbox_secret_file)
        trust = (
            TrustStore.from_directory(trust_path)
            if trust_path.is_dir()
            else TrustStore.from_pem_files([trust_path])
        )
        directory = Directory.default()
        if directory_path is not None:
            directory = directory.merged_with(Directory.load(directory_path))
        transport = _rabbitmq(broker, names)
        if transport.queue_exists(names.legacy_ingress_queue):
            transport.close()
            raise click.ClickException(
                f"{names.legacy_ingress_queue} exists: this installation still has the earlier queues; "
                "stop every hub and run `vb hub migrate` first (see CHANGELOG)")
        stop = StopFlag()
        stop.install()
        the_hub = Hub(
            transport,
            _open_store(store_url),
            key=SigningKey.from_files(key_path, cert_path),
            trust=trust,
            directory=directory,
            policy=SignaturePolicy(allow_sha1=allow_sha1),
            config=HubConfig(hub_id=hub_id, names=names, max_bytes=max_bytes, inflight_bytes=inflight_bytes,
                             parked_alarm=parked_alarm),
        )
        run(the_hub, stop, agencies=list(agencies), prefetch=prefetch)
    except VbusError as err:
        _fail(err)


def _open_store(url: str) -> Any:
    """Open the store, retrying briefly: hub processes started together race to create a fresh SQLite
    file ("database is locked" from the store's first open; the store's own busy timeout does not cover
    it), and a PostgreSQL server may still be starting."""
    import time

    from vbcore.errors import StoreError
    from vbcore.store import open_store

    for attempt in range(6):
        try:
            return open_store(url)
        except StoreError:
            if attempt == 5:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


# --- vb send ------------------------------------------------------------------------------------


@vb.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Build the document from a JSON/YAML metadata file (as `vb pack`).",
)
@click.option(
    "--attach", "attachments", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--as", "agency", required=True, help="The sending agency's code (its broker user).")
@click.option("--key", "key_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", "cert_path", type=click.Path(exists=True, path_type=Path), required=True)
@broker_option
@prefix_option
def send(
    file: Path | None,
    metadata: Path | None,
    attachments: tuple[Path, ...],
    agency: str,
    key_path: Path,
    cert_path: Path,
    broker: str,
    prefix: str,
) -> None:
    """Sign a package as AGENCY and submit it to the hub (an unsigned FILE is signed first)."""
    from vbcore.hub.sending import package_to_send, submit

    names = Names(prefix=prefix)
    if (file is None) == (metadata is None):
        raise click.UsageError("give either FILE or --metadata")
    try:
        signed, kind, document_id = package_to_send(file, metadata, list(attachments), key_path, cert_path)
        from vbcore.transport.connect import open_transport

        # user_id is the URL's user (the broker checks it), so the hub knows who really sent it.
        with open_transport(broker, names=names, role="agency") as transport:
            message_id = submit(transport, names, agency, signed, kind=kind, document_id=document_id)
    except VbusError as err:
        _fail(err)
    click.echo(f"sent {kind} {document_id or ''} as {agency} (message {message_id})")


# --- vb queues, vb parked -----------------------------------------------------------------------


@vb.command()
@management_option
@vhost_option
@parked_alarm_option
@click.option("--json", "as_json", is_flag=True)
def queues(management_url: str, vhost: str, parked_alarm: int, as_json: bool) -> None:
    """Queue depths and consumers (ingress, inboxes, parked); flags too many parked messages."""
    from vbcore.transport.provision import BrokerAdmin

    try:
        infos = BrokerAdmin(management_url, vhost=vhost).queues()
    except VbusError as err:
        _fail(err)
    if as_json:
        rows = [{"name": q.name, "messages": q.messages, "consumers": q.consumers} for q in infos]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max((len(q.name) for q in infos), default=10)
    click.echo(f"{'queue':<{width}}  {'messages':>8}  {'consumers':>9}")
    for q in infos:
        click.echo(f"{q.name:<{width}}  {q.messages:>8}  {q.consumers:>9}")
    parked = sum(q.messages for q in infos if q.name.endswith(".parked"))
    alarm = f"  ALARM: {parked_alarm} or more; see `vb parked list`" if parked >= parked_alarm else ""
    click.echo(f"parked: {parked}{alarm}")


@vb.group()
def parked() -> None:
    """Messages the hub or an agency could not process, with the reason."""


def _parked_transport(broker: str, names: Names) -> Any:
    return lambda: _rabbitmq(broker, names)


@parked.command("list")
@broker_option
@prefix_option
@hub_user_option
@click.option("--json", "as_json", is_flag=True)
def parked_list(broker: str, prefix: str, hub_user: str, as_json: bool) -> None:
    """Every parked message: id, sender, kind and why it was parked (nothing is removed)."""
    from vbcore.hub.parked import browse

    names = Names(prefix=prefix, hub_user=hub_user)
    try:
        found = browse(_parked_transport(broker, names), names)
    except VbusError as err:
        _fail(err)
    rows = [
        {
            "message_id": p.message_id,
            "reason": p.reason,
            "from_queue": p.parked_from,
            "sender": p.original_user,
            "kind": p.kind,
            "document_id": p.document_id,
            "size": p.size,
        }
        for p in found
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        sender = r["sender"] or "(no broker-validated sender)"
        click.echo(f"{r['message_id']}  {sender}  {r['kind'] or '?'}  {r['reason'] or ''}")
    click.echo(f"{len(rows)} parked")


@parked.command("show")
@click.argument("message_id")
@broker_option
@prefix_option
@hub_user_option
def parked_show(message_id: str, broker: str, prefix: str, hub_user: str) -> None:
    """One parked message's headers and body."""
    from vbcore.hub.parked import browse

    names = Names(prefix=prefix, hub_user=hub_user)
    try:
        match = [p for p in browse(_parked_transport(broker, names), names) if p.message_id == message_id]
    except VbusError as err:
        _fail(err)
    if not match:
        raise click.ClickException(f"no parked message {message_id}")
    p = match[0]
    for key, value in sorted(p.delivery.headers.items()):
        click.echo(f"{key}: {value}")
    click.echo("")
    sys.stdout.flush()
    click.echo(p.delivery.body.decode("utf-8", errors="replace"))


@parked.command("replay")
@click.argument("message_id")
@broker_option
@prefix_option
@hub_user_option
def parked_replay(message_id: str, broker: str, prefix: str, hub_user: str) -> None:
    """Publish a parked message to the hub's ingress again (after fixing its cause), as the hub user:
    the hub checks it against the sender the broker validated when it was first published."""
    _settle(message_id, broker, Names(prefix=prefix, hub_user=hub_user), replay=True)


@parked.command("drop")
@click.argument("message_id")
@broker_option
@prefix_option
@hub_user_option
def parked_drop(message_id: str, broker: str, prefix: str, hub_user: str) -> None:
    """Delete a parked message for good."""
    _settle(message_id, broker, Names(prefix=prefix, hub_user=hub_user), replay=False)


def _settle(message_id: str, broker: str, names: Names, *, replay: bool) -> None:
    from vbcore.hub.parked import settle

    if replay:
        _as_hub_user(broker, names, "replay a parked message")
    try:
        done = settle(_parked_transport(broker, names), names, message_id, replay=replay)
    except VbusError as err:
        _fail(err)
    if done is None:
        raise click.ClickException(f"no parked message {message_id}")
    click.echo(f"{'replayed' if replay else 'dropped'} {message_id}")


# --- vb agency add/remove -----------------------------------------------------------------------


@vb.group()
def agency() -> None:
    """Provision an agency on the broker (user, permissions, inbox) and issue its certificate."""


@agency.command("add")
@click.argument("code")
@click.option("--password", default=None, help="Broker password (generated and printed when omitted).")
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
@management_option
@vhost_option
@broker_option
@prefix_option
@user_prefix_option
@inbox_secret_option
def agency_add(code: str, prefix: str, user_prefix: str, inbox_secret_file: Path, **options: Any) -> None:
    """Create CODE's broker user and inbox (its name written to OUT/CODE.inbox, for the agency); with
    --ca-key/--ca-cert, issue its certificate too."""
    from vbcore.hub.admin import add_agency

    try:
        names = _with_secret(Names(prefix=prefix, user_prefix=user_prefix), inbox_secret_file)
        lines = add_agency(code, names=names, **options)
    except VbusError as err:
        _fail(err)
    for line in lines:
        click.echo(line)


@agency.command("remove")
@click.argument("code")
@management_option
@vhost_option
@user_prefix_option
def agency_remove(code: str, management_url: str, vhost: str, user_prefix: str) -> None:
    """Delete CODE's broker user and close its connections (its inbox is kept)."""
    from vbcore.transport.provision import BrokerAdmin

    names = Names(user_prefix=user_prefix)
    try:
        BrokerAdmin(management_url, vhost=vhost, names=names).remove_agency(code)
    except VbusError as err:
        _fail(err)
    click.echo(f"removed broker user {names.agency_user(code)} (its inbox and messages are kept)")
