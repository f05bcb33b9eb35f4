"""``vb agency add``: provision an agency on the broker and issue its certificate from the hub's CA; the
operator's inbox secret (``vb hub provision`` writes it; ``vb agency add`` and ``vb hub run`` read it)."""

from __future__ import annotations

import secrets
from pathlib import Path

from vbcore.directory import Directory
from vbcore.errors import ConfigurationError
from vbcore.pki import (
    DevPki,
    certificate_pem,
    issue_agency_certificate,
    load_certificate,
    load_private_key,
    private_key_pem,
)
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport


def add_agency(
    code: str,
    *,
    password: str | None,
    name: str | None,
    ca_key: Path | None,
    ca_cert: Path | None,
    out: Path,
    management_url: str,
    vhost: str,
    broker: str,
    names: Names,
) -> list[str]:
    """Broker user + permissions, its inbox (declared by the hub user), and, given the CA, its certificate.

    Returns the lines to show the operator (including a generated password: shown once, never stored).
    """
    agency = Directory.default().get(code)
    label = name or (agency.name if agency else code)
    lines: list[str] = []
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    # The installation's names: with another --prefix the permissions must name its exchange and inbox.
    BrokerAdmin(management_url, vhost=vhost, names=names).add_agency(code, password)
    user = names.agency_user(code)
    lines.append(f"broker user {user} may publish to {names.ingress_exchange} and read {names.inbox(code)}")
    if generated:
        lines.append(f"password (shown once): {password}")
    with RabbitMQTransport(broker, names=names) as transport:
        transport.declare_inbox(code)
    out.mkdir(parents=True, exist_ok=True)
    inbox_file = DevPki(out).inbox_path(code)
    inbox_file.write_text(names.inbox(code) + "\n", encoding="utf-8")
    lines.append(f"inbox {names.inbox(code)} declared; its name is in {inbox_file} (give it to the agency)")
    if (ca_key is None) != (ca_cert is None):
        raise ConfigurationError("give both --ca-key and --ca-cert to issue the agency's certificate")
    if ca_key is not None and ca_cert is not None:
        key, cert = issue_agency_certificate(load_private_key(ca_key), load_certificate(ca_cert), code, label)
        out.mkdir(parents=True, exist_ok=True)
        key_file, cert_file = out / f"{code}.key.pem", out / f"{code}.pem"
        key_file.write_bytes(private_key_pem(key))
        key_file.chmod(0o600)
        cert_file.write_bytes(certificate_pem(cert))
        lines.append(f"certificate for {code} ({label}) written to {cert_file}, key to {key_file}")
    return lines


INBOX_SECRET_BYTES = 32


def create_inbox_secret(path: Path) -> bool:
    """Write a new random inbox secret to ``path`` (readable by its owner only) unless one is there;
    True when it was created. Losing it renames nothing, but ``vb agency add`` could no longer name
    an existing agency's inbox: keep it with the hub's private key."""
    if path.exists():
        load_inbox_secret(path)  # an existing file must hold a usable secret
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_urlsafe(INBOX_SECRET_BYTES) + "\n", encoding="utf-8")
    return True


def load_inbox_secret(path: Path) -> str:
    """The inbox secret in ``path`` (see ``transport.names``: what makes inbox names underivable)."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigurationError(
            f"cannot read the inbox secret {path}: {e.strerror} (`vb hub provision --inbox-secret {path}` "
            "writes one)",
            vi=f"không đọc được tệp bí mật đặt tên hộp thư {path}: {e.strerror} (lệnh `vb hub provision "
            f"--inbox-secret {path}` tạo tệp này)") from e
    if len(secret) < 16:
        raise ConfigurationError(
            f"the inbox secret in {path} is empty or too short (16 characters at least)",
            vi=f"bí mật đặt tên hộp thư trong {path} trống hoặc quá ngắn (ít nhất 16 ký tự)")
    return secret
