"""`vb hub provision` and `vb hub migrate`: setting an installation up on the broker (the hub's user,
the inbox secret) and moving one made by an earlier vbus to this version's queues."""

from __future__ import annotations

from pathlib import Path

import click

from vbcore.cli.hub import (
    _as_hub_user,
    _fail,
    _rabbitmq,
    _with_secret,
    broker_option,
    hub,
    hub_user_option,
    inbox_secret_option,
    management_option,
    prefix_option,
    user_prefix_option,
    vhost_option,
)
from vbcore.errors import VbusError
from vbcore.transport.names import Names


@hub.command("provision")
@click.option("--password", default=None, help="The hub user's password (generated if omitted).")
@hub_user_option
@click.option(
    "--inbox-secret",
    "inbox_secret_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VBUS_INBOX_SECRET_FILE",
    default=None,
    help="Write a new inbox secret here (kept if there); `vb agency add` and `vb hub run` read it.",
)
@management_option
@vhost_option
@prefix_option
def hub_provision(
    password: str | None,
    hub_user: str,
    inbox_secret_file: Path | None,
    management_url: str,
    vhost: str,
    prefix: str,
) -> None:
    """Create the vhost (if new) and the hub's broker user: it may configure, write and read every
    PREFIX.* resource; `vb hub run` and `vb parked` run as it (a replay is believed from it only)."""
    import secrets

    from vbcore.hub.admin import create_inbox_secret
    from vbcore.transport.provision import BrokerAdmin

    names = Names(prefix=prefix, hub_user=hub_user)
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    try:
        admin = BrokerAdmin(management_url, vhost=vhost, names=names)
        admin.ensure_vhost()
        admin.add_hub_user(password)
        created = create_inbox_secret(inbox_secret_file) if inbox_secret_file is not None else None
    except VbusError as err:
        _fail(err)
    click.echo(f"hub user {hub_user} may configure, write and read {prefix}.* in vhost {vhost}")
    if generated:
        click.echo(f"password (shown once): {password}")
    if inbox_secret_file is not None:
        done = "written to" if created else "kept in"
        click.echo(f"inbox secret {done} {inbox_secret_file} (keep it with the hub's key)")


@hub.command("migrate")
@broker_option
@management_option
@vhost_option
@prefix_option
@hub_user_option
@user_prefix_option
@inbox_secret_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where to write each agency's CODE.inbox (its new inbox name, to give it).")
def hub_migrate(broker: str, management_url: str, vhost: str, prefix: str, hub_user: str, user_prefix: str,
                inbox_secret_file: Path, out: Path) -> None:
    """Move a vbus 0.1 installation to this version's queues, once, with every hub stopped: the ingress
    queue without broker dead-lettering, inbox names another agency cannot derive."""
    from vbcore.hub.migrate import migrate
    from vbcore.transport.provision import BrokerAdmin

    names = Names(prefix=prefix, hub_user=hub_user, user_prefix=user_prefix)
    _as_hub_user(broker, names, "migrate")
    try:
        names = _with_secret(names, inbox_secret_file)
        with _rabbitmq(broker, names) as transport:
            done = migrate(transport, BrokerAdmin(management_url, vhost=vhost, names=names), names, out)
    except VbusError as err:
        _fail(err)
    for line in done.lines():
        click.echo(line)
