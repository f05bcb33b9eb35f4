"""``vb gateway run``: a gateway plugin (entry point ``vbus.gateways``) between this hub and another axis,
for every agency the directory says is reached via it (``vbcore.connector.gateway_runtime``)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from vbcore.cli.broker import broker_option, prefix_option, target, vhost_option
from vbcore.cli.failures import EXIT_UNAVAILABLE, current_lang, fail
from vbcore.lang import Text

_T = {
    "posted": Text("đã chuyển sang trục kia", "posted to the other axis"),
    "refused_there": Text("trục kia từ chối (đã báo 02)", "refused by the other axis (02 sent)"),
    "relayed": Text("đã chuyển vào trục", "relayed to the hub"),
    "refused_here": Text(
        "không chuyển được vào trục (đã báo trục kia)", "not relayable (the other axis was told)"
    ),
    "parked": Text("đã cất riêng", "parked"),
    "idle": Text("không có việc gì", "nothing to do"),
    "waiting": Text(
        "vòng chạy chưa xong: trục kia hoặc máy chủ chuyển tin không truy cập được; hãy chạy lại sau",
        "the round did not finish: the other axis or the broker is unavailable; run again later",
    ),
    "running": Text(
        "cổng {name} đang chạy với mã {code}; Ctrl-C để dừng",
        "gateway {name} running as {code}; Ctrl-C to stop",
    ),
}


@click.group()
def gateway() -> None:
    """Gateways to another axis (entry points of group vbus.gateways)."""


def _pki_file(given: Path | None, pki: Path, name: str, option: str) -> Path:
    path = given or pki / name
    if not path.exists():
        raise click.UsageError(f"{option} is missing and {path} does not exist")
    return path


@gateway.command("run")
@click.argument("name")
@click.option(
    "--gateway",
    "code",
    required=True,
    help="The gateway's code on this hub (kind gateway in the directory; also its broker user).",
)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The gateway's configuration (JSON or YAML mapping).",
)
@broker_option("AMQP URL with the gateway's broker user and password")
@vhost_option
@prefix_option
@click.option(
    "--pki",
    "pki_dir",
    default=Path("pki"),
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder of <code>.key.pem, <code>.pem, <code>.inbox and ca.pem.",
)
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="CA certificate(s) the gateway's client trusts: a PEM file or a folder [default: <pki>/ca.pem].",
)
@click.option(
    "--inbox",
    default=None,
    envvar="VBUS_INBOX",
    help="The gateway's inbox queue, as `vb agency add` named it (default: <pki>/<code>.inbox).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The gateway's ledger (default: <work-dir>/gateway-ledger.sqlite3).",
)
@click.option("--work-dir", type=click.Path(path_type=Path), default=Path("vbus-gateway"), show_default=True)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 3600),
    help="Seconds between rounds when nothing happens.",
)
@click.option(
    "--once", is_flag=True, help="Do one round and exit (3: the other axis or the broker unavailable)."
)
def gateway_run(
    name: str, code: str, config_path: Path, broker: str, vhost: str | None, prefix: str, pki_dir: Path,
    trust_path: Path | None, inbox: str | None, state_path: Path | None, work_dir: Path, interval: float,
    once: bool,
) -> None:  # fmt: skip
    """Run gateway plugin NAME as --gateway CODE until interrupted (SIGINT/SIGTERM)."""
    from vbcore.agency import AgencyClient
    from vbcore.connector.gateway import GatewayContext
    from vbcore.connector.gateway_runtime import GatewayRuntime
    from vbcore.connector.ledger import Ledger
    from vbcore.connector.plugins import load_gateway
    from vbcore.logging import configure
    from vbcore.mapping_files import load_mapping
    from vbcore.security.pki import DevPki
    from vbcore.security.signing import SigningKey
    from vbcore.security.trust import TrustStore
    from vbcore.transport.connect import open_transport

    lang = current_lang()
    key_file = _pki_file(None, pki_dir, f"{code}.key.pem", "--pki")
    cert_file = _pki_file(None, pki_dir, f"{code}.pem", "--pki")
    trust_file = _pki_file(trust_path, pki_dir, "ca.pem", "--trust")
    told = DevPki(pki_dir).inbox_path(code)
    configure(json=False)
    inbox_name = inbox or (told.read_text(encoding="utf-8").strip() if told.exists() else "")
    at = target(broker, vhost, prefix, inbox_names={code: inbox_name})
    cls = load_gateway(name)
    work_dir.mkdir(parents=True, exist_ok=True)
    plugin = cls.from_config(load_mapping(config_path), GatewayContext(code, work_dir, lang=lang))
    transport = open_transport(at.url, names=at.names, role="agency")
    try:
        trust = (TrustStore.from_directory(trust_file) if trust_file.is_dir()
                 else TrustStore.from_pem_files([trust_file]))  # fmt: skip
        key = SigningKey.from_files(key_file, cert_file)
        client = AgencyClient(transport, agency=code, key=key, trust=trust, names=at.names, lang=lang)
        ledger = Ledger(state_path or work_dir / "gateway-ledger.sqlite3")
    except BaseException:
        transport.close()
        raise
    runtime = GatewayRuntime(plugin, client, ledger=ledger)
    try:
        if once:
            report = runtime.step()
            runtime.close()
            for label in ("posted", "refused_there", "relayed", "refused_here", "parked"):
                if items := getattr(report, label):
                    click.echo(f"{_T[label](lang)}: {', '.join(items)}")
            if report.idle and not report.waiting:
                click.echo(_T["idle"](lang))
            if report.waiting:
                failed = fail(_T["waiting"], exit_code=EXIT_UNAVAILABLE)
                failed.lines.append(f"  {report.error}")
                raise failed
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(_T["running"].format(name=name, code=code)(lang), err=True)
        while not stop.is_set():
            report = runtime.step()
            if report.idle:
                stop.wait(interval)
            else:
                time.sleep(0)
        runtime.close()
    finally:
        ledger.close()
        transport.close()
