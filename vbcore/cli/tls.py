"""``vb keys tls-server`` and ``vb keys tls-client``: TLS certificates for the links (docs/deployment-tls.md);
``_register`` (``vbcore.cli``) adds them to the ``vb keys`` group.

The broker's and the PostgreSQL server's certificates (``tls-server``: every name and address clients
reach them by, as subjectAltNames), and client certificates whose CN is a broker user (``tls-client``:
the hub user's, or an operator's; an agency's comes with ``vb agency add CODE --tls-client``). Issued by
a CA given as ``--ca-key``/``--ca-cert``: ``vb keys init DIR`` makes a development one; in production,
the operator's own TLS CA (kept apart from the CAs that sign documents).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vbcore.cli.output import current_lang
from vbcore.errors import ConfigurationError
from vbcore.lang import Text

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from vbcore.security.pki import PrivateKey

_WROTE = Text("chứng thư số TLS của {name}: {cert}, khóa: {key}",
              "TLS certificate for {name}: {cert}, key: {key}")

ca_key_option = click.option("--ca-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                             required=True, help="The TLS CA's private key (PEM).")
ca_cert_option = click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              required=True,
                              help="The TLS CA's certificate (PEM): clients give it as cacertfile.")
out_argument = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.command("tls-server")
@out_argument
@click.option("--host", "hosts", multiple=True, required=True,
              help="A name or IP address clients connect by (repeatable; the first is the CN).")
@ca_key_option
@ca_cert_option
def tls_server(directory: Path, hosts: tuple[str, ...], ca_key: Path, ca_cert: Path) -> None:
    """A server certificate for the broker or PostgreSQL: DIRECTORY/HOST.tls.pem and HOST.tls.key.pem."""
    from vbcore.security.pki import issue_server_certificate, write_tls_pair

    ca = _load_ca(ca_key, ca_cert)
    key, cert = issue_server_certificate(*ca, list(hosts))
    _echo(hosts[0], *write_tls_pair(directory, hosts[0], key, cert))


@click.command("tls-client")
@out_argument
@click.option("--user", required=True, help="The broker user the certificate is for (its CN).")
@ca_key_option
@ca_cert_option
def tls_client(directory: Path, user: str, ca_key: Path, ca_cert: Path) -> None:
    """A client certificate whose CN is broker user USER: DIRECTORY/USER.tls.pem and USER.tls.key.pem."""
    from vbcore.security.pki import issue_tls_client_certificate, write_tls_pair

    key, cert = issue_tls_client_certificate(*_load_ca(ca_key, ca_cert), user)
    _echo(user, *write_tls_pair(directory, user, key, cert))


def _load_ca(ca_key: Path, ca_cert: Path) -> tuple[PrivateKey, Certificate]:
    from vbcore.security.pki import load_certificate, load_private_key

    try:
        return load_private_key(ca_key), load_certificate(ca_cert)
    except ValueError as err:
        raise ConfigurationError(
            f"--ca-key {ca_key} and --ca-cert {ca_cert} cannot be read as a CA's key and certificate: {err}",
            vi=f"không đọc được --ca-key {ca_key} và --ca-cert {ca_cert} như khóa và chứng thư số của một CA",
        ) from err


def _echo(name: str, cert: Path, key: Path) -> None:
    click.echo(_WROTE.format(name=name, cert=cert, key=key)(current_lang()))
