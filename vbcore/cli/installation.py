"""`vb hub provision` and `vb hub migrate`: setting an installation up on the broker (the hub's user,
the inbox secret) and moving one made by an earlier vbus to this version's queues."""

from __future__ import annotations

from pathlib import Path

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
from vbcore.cli.output import current_lang
from vbcore.lang import Text

PASSWORD_BYTES = 18

_T = {
    "hub_user": Text(
        "người dùng của trục {user} được cấu hình, ghi và đọc mọi tài nguyên {prefix}.* trong vhost {vhost}",
        "hub user {user} may configure, write and read {prefix}.* in vhost {vhost}",
    ),
    "password": Text("mật khẩu (chỉ hiện một lần): {password}", "password (shown once): {password}"),
    "secret_written": Text(
        "đã ghi bí mật đặt tên hộp thư vào {file} (hãy cất cùng khóa bí mật của trục)",
        "inbox secret written to {file} (keep it with the hub's key)",
    ),
    "secret_kept": Text(
        "giữ nguyên bí mật đặt tên hộp thư trong {file} (hãy cất cùng khóa bí mật của trục)",
        "inbox secret kept in {file} (keep it with the hub's key)",
    ),
}


@click.command("provision")
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
@broker_option("Broker URL; only the vhost it names is used")
@prefix_option
def hub_provision(
    password: str | None,
    hub_user: str,
    inbox_secret_file: Path | None,
    management_url: str,
    vhost: str | None,
    broker: str,
    prefix: str,
) -> None:
    """Create the vhost (if new) and the hub's broker user: it may configure, write and read every
    PREFIX.* resource; `vb hub run` and `vb parked` run as it (a replay is believed from it only)."""
    import secrets

    from vbcore.hub.admin import create_inbox_secret
    from vbcore.transport.provision import BrokerAdmin

    at = target(broker, vhost, prefix, hub_user=hub_user)
    generated = password is None
    password = password or secrets.token_urlsafe(PASSWORD_BYTES)
    admin = BrokerAdmin(management_url, vhost=at.vhost, names=at.names)
    admin.ensure_vhost()
    admin.add_hub_user(password)
    created = create_inbox_secret(inbox_secret_file) if inbox_secret_file is not None else None
    lang = current_lang()
    click.echo(_T["hub_user"].format(user=hub_user, prefix=prefix, vhost=at.vhost)(lang))
    if generated:
        click.echo(_T["password"].format(password=password)(lang))
    if inbox_secret_file is not None:
        click.echo(_T["secret_written" if created else "secret_kept"].format(file=inbox_secret_file)(lang))


@click.command("migrate")
@broker_option()
@management_option
@vhost_option
@prefix_option
@hub_user_option
@user_prefix_option
@inbox_secret_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where to write each agency's CODE.inbox (its new inbox name, to give it).")
def hub_migrate(
    broker: str,
    management_url: str,
    vhost: str | None,
    prefix: str,
    hub_user: str,
    user_prefix: str,
    inbox_secret_file: Path,
    out: Path,
) -> None:
    """Move a vbus 0.1 installation to this version's queues, once, with every hub stopped: the ingress
    queue without broker dead-lettering, inbox names another agency cannot derive."""
    from vbcore.hub.migrate import migrate
    from vbcore.transport.provision import BrokerAdmin

    at = target(broker, vhost, prefix, hub_user=hub_user, user_prefix=user_prefix,
                inbox_secret_file=inbox_secret_file)  # fmt: skip
    as_hub_user(at.url, at.names, "migrate")
    with hub_transport(at.url, at.names) as transport:
        done = migrate(transport, BrokerAdmin(management_url, vhost=at.vhost, names=at.names), at.names, out)
    for line in done.lines(current_lang()):
        click.echo(line)
