"""The ``vb`` command line (click). One module per area defines its commands; ``_COMMANDS`` below
lists them all, the one place that does (the modules never import this one), and loads each on demand.

``vb --lang en`` (or ``VBUS_LANG=en``) switches what people read to English; Vietnamese is the
default. Help texts stay English: ``vb`` is also a developer's tool, and click's own messages
(usage errors) are English anyway. ``VbGroup`` turns every expected error into one line and an exit
code (``vbcore.cli.failures``), never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from vbcore import __version__
from vbcore.cli.failures import EXIT_CODES_HELP, EXIT_FAILED, LANG_KEY, failed, os_failed
from vbcore.errors import VbusError
from vbcore.lang import LANG_ENV, LANGS, resolve
from vbcore.tls import REQUIRE_TLS_ENV, require


class VbGroup(click.Group):
    """The ``vb`` group: a ``VbusError`` or ``OSError`` a command lets through becomes one line. Its
    commands are loaded on demand (``_COMMANDS``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _load(cmd_name) if cmd_name in _COMMANDS else None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # ``vb ... | head``: the reader left; not an error to report
            _silence_stdout()
            raise click.exceptions.Exit(EXIT_FAILED) from None
        except VbusError as err:
            raise failed(err) from err
        except OSError as err:
            raise os_failed(err) from err


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not fail again (Python's docs' recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    try:
        lang = resolve(value)
    except ValueError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from err
    ctx.meta[LANG_KEY] = lang
    return lang


def _require_tls(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    require(value)  # for this process and the hub or connector processes it starts


@click.group(
    cls=VbGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="vb")
@click.option(
    "--lang",
    type=click.Choice(LANGS, case_sensitive=False),
    default=None,
    callback=_lang,
    expose_value=False,
    is_eager=True,
    help=f"Language of what people read: vi (default) or en [env {LANG_ENV}]. Help stays English.",
)
@click.option(
    "--require-tls",
    is_flag=True,
    callback=_require_tls,
    expose_value=False,
    is_eager=True,
    help=f"Refuse every plain link (amqp://, http://, a store URL without sslmode=verify-full) "
    f"[env {REQUIRE_TLS_ENV}=1]; see docs/deployment-tls.md.",
)
def vb() -> None:
    """vbus: carry signed edXML documents (QCVN 102:2016) and their status receipts between agencies."""


def _hub() -> click.Command:
    from vbcore.cli import hub, installation

    hub.hub.add_command(installation.hub_provision)
    hub.hub.add_command(installation.hub_migrate)
    return hub.hub


def _connector() -> click.Command:
    from vbcore.cli import connectors, evidence, reconcile

    connectors.connector.add_command(reconcile.ledger_copy)
    connectors.connector.add_command(evidence.connector_evidence)
    return connectors.connector


def _keys() -> click.Command:
    from vbcore.cli import signatures, tls

    signatures.keys.add_command(tls.tls_server)
    signatures.keys.add_command(tls.tls_client)
    return signatures.keys


# Every command of ``vb``: its name, and where it lives (``module:attribute`` in ``vbcore.cli``) or the
# function that assembles a group from several modules. A command's module is imported only when the
# command runs (or ``vb --help`` lists it): ``vb track`` does not pay for the hub's, the web board's
# or the evidence's imports.
_COMMANDS: dict[str, str | Callable[[], click.Command]] = {
    "agencies": "agencies:agencies",
    "agency": "hub:agency",
    "audit": "audit:audit_group",
    "config": "configuration:config",
    "connector": _connector,
    "connectors": "connectors:connectors",
    "demo": "hub:demo",
    "evidence": "evidence:evidence",
    "gateway": "gateway:gateway",
    "hub": _hub,
    "keys": _keys,
    "pack": "packing:pack",
    "parked": "parked:parked",
    "queues": "hub:queues",
    "reconcile": "reconcile:reconcile_command",
    "send": "sending:send",
    "show": "core:show",
    "sign": "signatures:sign",
    "track": "track:track",
    "unpack": "packing:unpack",
    "validate": "core:validate",
    "verify": "signatures:verify",
    "web": "web:web",
}


@functools.cache
def _load(name: str) -> click.Command:
    where = _COMMANDS[name]
    if callable(where):
        return where()
    module, attribute = where.split(":")
    command = getattr(importlib.import_module(f"vbcore.cli.{module}"), attribute)
    assert isinstance(command, click.Command)
    return command
