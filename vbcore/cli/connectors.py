"""`vb` commands for the connectors area: list the installed connector plugins, run one as an agency."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from vbcore.cli.broker import broker_option, prefix_option, target, vhost_option
from vbcore.cli.config_options import TOML_SUFFIX, config_option, loaded
from vbcore.cli.failures import EXIT_UNAVAILABLE, current_lang, fail
from vbcore.cli.monitoring import metrics_options, monitored
from vbcore.connector.retry import DEFAULT_ATTEMPTS
from vbcore.lang import Text


@click.group()
def connectors() -> None:
    """Connector plugins installed (entry points of group vbus.connectors)."""


@connectors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def connectors_list(as_json: bool) -> None:
    """Name, distribution, version, module and status (OK, or what is wrong) of every plugin."""
    from vbcore.connector.plugins import discover

    infos = discover()
    if as_json:
        rows = [
            {"name": i.name, "distribution": i.distribution, "version": i.version, "module": i.module,
             "status": "OK" if i.ok else "error", "error": i.error}
            for i in infos
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not infos:
        click.echo("no connector plugin is installed")
        return
    header = ("NAME", "DISTRIBUTION", "VERSION", "MODULE", "STATUS")
    rows_t = [(i.name, i.distribution, i.version, i.module, "OK" if i.ok else "error") for i in infos]
    widths = [max(len(r[c]) for r in [header, *rows_t]) for c in range(len(header))]
    for row in [header, *rows_t]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    for i in infos:
        if i.error:
            click.echo(f"\n{i.name}: {i.error}", err=True)


@click.group()
def connector() -> None:
    """Run a connector plugin."""


def _pki_file(given: Path | None, pki: Path, name: str, option: str) -> Path:
    path = given or pki / name
    if not path.exists():
        raise click.UsageError(f"{option} is missing and {path} does not exist")
    return path


def _told_inbox(pki: Path, agency: str) -> str:
    """The inbox name ``vb agency add`` wrote beside the agency's certificate ("" when there is none:
    an installation without inbox secret, whose inboxes are named ``<prefix>.inbox.<agency>``)."""
    from vbcore.security.pki import DevPki

    path = DevPki(pki).inbox_path(agency)
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


@connector.command("run")
@click.argument("name", required=True)
@click.option("--agency", required=True, help="This agency's code (also its broker user).")
@click.option("--agency-name", default=None, help="The agency's name, written in the statuses it sends.")
@config_option("connector run", plugin_files=True)
@broker_option("AMQP URL with the agency's broker user and password")
@vhost_option
@prefix_option
@click.option("--pki", "pki_dir", default=Path("pki"), show_default=True, type=click.Path(path_type=Path),
              help="Folder of <agency>.key.pem, <agency>.pem and ca.pem, for --key/--cert/--trust not given.")
@click.option("--inbox", default=None, envvar="VBUS_INBOX",
              help="This agency's inbox queue, as `vb agency add` named it (default: <pki>/<agency>.inbox).")
@click.option("--key", "key_path", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--cert", "cert_path", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--trust", "trust_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="CA certificate(s): a PEM file or a folder of them.")
@click.option("--state", "state_path", type=click.Path(path_type=Path), default=None,
              help="The runtime's ledger (default: <work-dir>/ledger.sqlite3).")
@click.option("--work-dir", type=click.Path(path_type=Path), default=Path("vbus-connector"),
              show_default=True, help="The connector's own files (given to it in its context).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.01, 3600),
              help="Seconds between rounds when nothing happens.")
@click.option("--once", is_flag=True, help="Do one round and exit (for cron or a first check).")
@click.option("--retry-attempts", default=DEFAULT_ATTEMPTS, show_default=True, type=click.IntRange(0, None),
              help="A document the DMS keeps failing on is given up (parked, 02 to its sender) after this "
                   "many failures (0: no limit in attempts)...")
@click.option("--retry-for", "retry_for", default="1h", show_default=True, metavar="DURATION",
              help="... and this long since the first (90s, 30m, 2h, 1d; 0: no limit in time).")
@click.option("--receipts", is_flag=True, default=False,
              help="Ask the hub for its signed receipts (accepted, delivered) of what this agency sends, and "
              "for the delivered receipt of each document it answers; kept in the ledger for "
              "`vb connector evidence export`.")
@metrics_options
def connector_run(
    name: str,
    agency: str,
    agency_name: str | None,
    config_path: Path,
    broker: str,
    vhost: str | None,
    prefix: str,
    pki_dir: Path,
    inbox: str | None,
    key_path: Path | None,
    cert_path: Path | None,
    trust_path: Path | None,
    state_path: Path | None,
    work_dir: Path,
    interval: float,
    once: bool,
    retry_attempts: int,
    retry_for: str,
    receipts: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run connector plugin NAME for agency --agency until interrupted (SIGINT/SIGTERM).

    With a .toml --config, NAME, --agency and the rest may come from the file ([connector] plugin,
    agency; the plugin's settings in [connector.settings])."""
    from vbcore.agency import AgencyClient
    from vbcore.connector import ConnectorContext
    from vbcore.connector.ledger import Ledger
    from vbcore.connector.metrics import ConnectorMetrics
    from vbcore.connector.plugins import load_connector
    from vbcore.connector.runtime import ConnectorRuntime, RetryLimit
    from vbcore.logging import configure
    from vbcore.metrics import Registry
    from vbcore.security.signing import SigningKey
    from vbcore.security.trust import TrustStore
    from vbcore.transport.connect import open_transport

    seconds = _duration(retry_for)
    if not retry_attempts and not seconds:
        raise click.UsageError("--retry-attempts and --retry-for cannot both be 0: one limit is needed")
    retry = RetryLimit(attempts=retry_attempts or None, seconds=seconds or None)
    lang = current_lang()  # vb --lang, or VBUS_LANG
    key_file = _pki_file(key_path, pki_dir, f"{agency}.key.pem", "--key")
    cert_file = _pki_file(cert_path, pki_dir, f"{agency}.pem", "--cert")
    trust_file = _pki_file(trust_path, pki_dir, "ca.pem", "--trust")
    configure(json=False)
    at = target(broker, vhost, prefix, inbox_names={agency: inbox or _told_inbox(pki_dir, agency)})
    cls = load_connector(name)
    work_dir.mkdir(parents=True, exist_ok=True)
    context = ConnectorContext(agency, work_dir, agency_name, lang=lang)
    plugin = cls.from_config(_plugin_settings(config_path), context)
    trust = (TrustStore.from_directory(trust_file) if trust_file.is_dir()
             else TrustStore.from_pem_files([trust_file]))
    names = at.names
    # kombu: failover; user_id is the URL's user (the broker checks it), so the hub knows who sent it
    transport = open_transport(at.url, names=names, role="agency")
    try:
        client = AgencyClient(transport, agency=agency, key=SigningKey.from_files(key_file, cert_file),
                              trust=trust, names=names, lang=lang, receipts=receipts)
        ledger = Ledger(state_path or work_dir / "ledger.sqlite3")
    except BaseException:
        transport.close()
        raise
    metrics = ConnectorMetrics(Registry(process=True), agency=agency, connector=name)
    runtime = ConnectorRuntime(plugin, client, ledger=ledger, agency_name=agency_name, retry=retry,
                               metrics=metrics)
    try:
        if once:
            runtime.start()
            report = runtime.step()
            runtime.close()
            _echo_report(report)
            if report.waiting:  # the DMS or the broker is down: the round did not finish
                failed = fail(_WAITING, exit_code=EXIT_UNAVAILABLE)
                failed.lines.append(f"  {report.error}")  # the cause as the runtime logged it
                raise failed
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"connector {name} {cls.version} running as {agency}; Ctrl-C to stop", err=True)
        with monitored(metrics, host=metrics_host, port=metrics_port):
            runtime.run(stop, interval=interval)
    finally:
        ledger.close()
        transport.close()


def _plugin_settings(config_path: Path) -> dict[str, Any]:
    """The plugin's own settings: vbus's TOML file's ``[connector.settings]`` (or the file its
    ``settings_file`` names), else the JSON/YAML file given as ``--config``."""
    from vbcore.mapping_files import load_mapping

    if config_path.suffix.lower() != TOML_SUFFIX:
        return load_mapping(config_path)
    config = loaded(click.get_current_context())
    assert config is not None  # read by --config's callback
    settings = config.get("connector", "settings")
    if isinstance(settings, dict):
        return settings
    settings_file = config.get("connector", "settings_file")
    if settings_file is None:
        raise click.UsageError(f"{config_path}: [connector] needs settings or settings_file (the plugin's)")
    return load_mapping(settings_file)


def _duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``2h`` or ``1d``."""
    from vbcore.config_file import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        message = f"{text!r} is not a duration (90s, 30m, 2h, 1d; not negative)"
        raise click.BadParameter(message, param_hint="--retry-for") from err


_REPORT = {
    "sent": Text("đã gửi", "sent"),
    "failed": Text("gửi không được", "failed"),
    "delivered": Text("đã chuyển vào hệ thống quản lý văn bản", "delivered"),
    "refused": Text("đã từ chối (02)", "refused"),
    "statuses_sent": Text("trạng thái đã gửi", "statuses sent"),
    "statuses_received": Text("trạng thái đã nhận", "statuses received"),
    "changes": Text("thu hồi/cập nhật", "changes"),
    "parked": Text("đã trả lại (02) và cất riêng", "parked"),
    "events_failed": Text("sự kiện không gửi được", "events failed"),
}
_IDLE = Text("không có việc gì", "nothing to do")
_WAITING = Text(
    "vòng chạy chưa xong: hệ thống quản lý văn bản hoặc máy chủ chuyển tin không truy cập được; "
    "hãy chạy lại sau",
    "the round did not finish: the DMS or the broker is unavailable; run again later",
)


def _echo_report(report: Any) -> None:
    lang = current_lang()
    for label, text in _REPORT.items():
        items = getattr(report, label)
        if items:
            click.echo(f"{text(lang)}: {', '.join(items)}")
    if report.idle and not report.waiting:
        click.echo(_IDLE(lang))
