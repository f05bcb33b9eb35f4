"""``vb agency add``: provision an agency on the broker and issue its certificate from the hub's CA.

All or nothing. Everything that can be checked or computed without changing anything comes first (the
CA files, the management API and the vhost, what already exists, the certificate itself); then the
three changes, each with its undo: the broker user and its permissions, the inbox, the key and
certificate files. When a step fails, the steps before it are undone in reverse order (a user that
existed gets its password hash and permissions back, a queue that existed is kept, files that existed
get their bytes back) and the error that stopped it is raised: nothing is left half created.

An agency that exists already (its broker user, or its key or certificate in ``--out``) is refused
unless ``reissue``: a new password breaks the agency's running connector, and a new key replaces the
one its DMS signs with. That is an operator's decision, not a side effect of running ``add`` twice.

The inbox's name is written to ``OUT/CODE.inbox`` for the agency: with the operator's inbox secret
(``vb hub provision`` writes it; ``vb agency add`` and ``vb hub run`` read it) no other agency can
derive it (``transport.names.inbox_token``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from vbcore.directory import Directory
from vbcore.errors import AgencyAlreadyProvisioned, ConfigurationError, ProvisioningFailed, VbusError
from vbcore.identifiers import is_test_tenant, parse_code
from vbcore.lang import Lang, Text
from vbcore.logging import get_logger
from vbcore.security.pki import (
    DevPki,
    PrivateKey,
    certificate_pem,
    issue_agency_certificate,
    issue_tls_client_certificate,
    load_certificate,
    load_private_key,
    private_key_pem,
    tls_paths,
)
from vbcore.transport.base import Transport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin, Permissions

log = get_logger("vbus.admin")
KEY_FILE_MODE = 0o600
PASSWORD_BYTES = 18


@dataclass
class AgencyAdded:
    """What ``add_agency`` did, for the operator (``lines``): a generated password is shown once."""

    code: str
    label: str
    user: str
    ingress: str
    inbox: str
    password: str | None = None  # only when generated
    key_file: Path | None = None
    cert_file: Path | None = None
    reissued: bool = False
    inbox_file: Path | None = None  # the inbox's name, written for the agency
    tls_cert_file: Path | None = None  # its TLS client certificate (CN = ``user``), with --tls-client
    tls_key_file: Path | None = None
    passwordless: bool = False

    def lines(self, lang: Lang) -> list[str]:
        out = [_T["user"].format(user=self.user, ingress=self.ingress, inbox=self.inbox)(lang)]
        if self.password:
            out.append(_T["password"].format(password=self.password)(lang))
        if self.tls_cert_file is not None:
            tls = _T["tls_only" if self.passwordless else "tls"]
            out.append(tls.format(user=self.user, cert=self.tls_cert_file, key=self.tls_key_file)(lang))
        out.append(_T["inbox"].format(inbox=self.inbox, file=self.inbox_file)(lang))
        if self.cert_file is not None:
            text = _T["reissued" if self.reissued else "certificate"]
            files = text.format(code=self.code, label=self.label, cert=self.cert_file, key=self.key_file)
            out.append(files(lang))
        return out


_T = {
    "user": Text(
        "người dùng {user} trên máy chủ chuyển tin được gửi vào {ingress} và đọc {inbox}",
        "broker user {user} may publish to {ingress} and read {inbox}",
    ),
    "password": Text("mật khẩu (chỉ hiện một lần): {password}", "password (shown once): {password}"),
    "tls": Text(
        "chứng thư số TLS để {user} đăng nhập (auth_mechanism=external) đã ghi vào {cert}, khóa vào {key}",
        "TLS client certificate for {user} to log in with (auth_mechanism=external) written to {cert}, "
        "key to {key}",
    ),
    "tls_only": Text(
        "chứng thư số TLS để {user} đăng nhập (auth_mechanism=external) đã ghi vào {cert}, khóa vào {key}; "
        "người dùng này không có mật khẩu: chỉ đăng nhập được bằng chứng thư số",
        "TLS client certificate for {user} to log in with (auth_mechanism=external) written to {cert}, "
        "key to {key}; the user has no password: it logs in with the certificate only",
    ),
    "inbox": Text(
        "đã khai báo hộp thư {inbox}; tên của nó ghi trong {file} (hãy chuyển cho cơ quan)",
        "inbox {inbox} declared; its name is in {file} (give it to the agency)",
    ),
    "certificate": Text(
        "chứng thư số của {code} ({label}) đã ghi vào {cert}, khóa vào {key}",
        "certificate for {code} ({label}) written to {cert}, key to {key}",
    ),
    "reissued": Text(
        "đã cấp lại chứng thư số của {code} ({label}) vào {cert}, khóa mới vào {key}",
        "certificate for {code} ({label}) re-issued to {cert}, new key to {key}",
    ),
}


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
    hub_transport: Callable[[], Transport],
    names: Names,
    reissue: bool = False,
    tls_client: bool = False,
    tls_ca_key: Path | None = None,
    tls_ca_cert: Path | None = None,
) -> AgencyAdded:
    """Broker user + permissions, its inbox (declared through ``hub_transport()``, connected as the hub
    user), and, given the CA, its key and certificate: all of them, or none (see the module docstring).

    ``tls_client``: also a TLS client certificate whose CN is the agency's broker user (prefix
    included), from ``tls_ca_key``/``tls_ca_cert`` (default: the signing CA), so that the broker user,
    the certificate and the package's sender are one identity; without ``password`` the user then has
    none and logs in with the certificate only (RabbitMQ's EXTERNAL, docs/deployment-tls.md)."""
    if not is_test_tenant(code):
        parse_code(code)  # an agency code, or InvalidAgencyCode: it names a broker user and two files
    if (ca_key is None) != (ca_cert is None):
        raise ConfigurationError(
            "give both --ca-key and --ca-cert to issue the agency's certificate",
            vi="hãy cho cả --ca-key và --ca-cert để cấp chứng thư số cho cơ quan",
        )
    agency = Directory.default().get(code)
    label = name or (agency.name if agency else code)
    admin = BrokerAdmin(management_url, vhost=vhost, names=names)
    admin.check_vhost()  # the API answers, its user may read, the vhost exists: before any change
    user = names.agency_user(code)
    key_file, cert_file = out / f"{code}.key.pem", out / f"{code}.pem"
    inbox_file = DevPki(out).inbox_path(code)
    issuing = ca_key is not None and ca_cert is not None
    old_user = admin.user(user)
    tls_ca = _tls_ca(tls_client, tls_ca_key or ca_key, tls_ca_cert or ca_cert)
    tls_cert_file, tls_key_file = tls_paths(out, code)
    files = [str(f) for f in (key_file, cert_file) if issuing and f.exists()]
    files += [str(f) for f in (tls_cert_file, tls_key_file) if tls_ca is not None and f.exists()]
    existing = old_user is not None or bool(files)
    if existing and not reissue:
        raise _exists(code, user if old_user is not None else None, files)
    issued = _issue(ca_key, ca_cert, code, label) if ca_key is not None and ca_cert is not None else None
    tls_issued = _issue_tls(*tls_ca, user) if tls_ca is not None else None
    passwordless = tls_issued is not None and password is None
    generated = password is None and not passwordless
    if generated:
        password = secrets.token_urlsafe(PASSWORD_BYTES)

    steps = _Undo()
    try:
        old_permissions = admin.permissions(user) if old_user is not None else None
        admin.add_agency(code, password)
        steps.push(f"broker user {user}", lambda: _put_back_user(admin, user, old_user, old_permissions))
        inbox_existed = admin.queue_exists(names.inbox(code))
        with hub_transport() as transport:
            transport.declare_inbox(code)
        if not inbox_existed:
            steps.push(f"inbox {names.inbox(code)}", lambda: admin.delete_queue(names.inbox(code)))
        _write(inbox_file, (names.inbox(code) + "\n").encode(), steps)  # for the agency: its inbox's name
        if issued is not None:
            key, cert = issued
            _write(key_file, private_key_pem(key), steps, mode=KEY_FILE_MODE)
            _write(cert_file, certificate_pem(cert), steps)
        if tls_issued is not None:
            _write(tls_key_file, private_key_pem(tls_issued[0]), steps, mode=KEY_FILE_MODE)
            _write(tls_cert_file, certificate_pem(tls_issued[1]), steps)
    except BaseException as err:
        steps.undo(err)
        raise
    return AgencyAdded(
        code=code, label=label, user=user, ingress=names.ingress_exchange, inbox=names.inbox(code),
        password=password if generated else None, key_file=key_file if issued else None,
        cert_file=cert_file if issued else None, reissued=existing, inbox_file=inbox_file,
        tls_cert_file=tls_cert_file if tls_issued else None,
        tls_key_file=tls_key_file if tls_issued else None, passwordless=passwordless,
    )  # fmt: skip


def _exists(code: str, user: str | None, files: list[str]) -> AgencyAlreadyProvisioned:
    shown = ", ".join(([f"broker user {user}"] if user else []) + files)
    shown_vi = ", ".join(([f"người dùng {user} trên máy chủ chuyển tin"] if user else []) + files)
    return AgencyAlreadyProvisioned(
        f"agency {code} exists already ({shown}): nothing was changed; give --reissue to set a new "
        "password and, with --ca-key/--ca-cert, issue a new key and certificate (its connector must then "
        "be given them)",
        vi=f"cơ quan {code} đã tồn tại ({shown_vi}): không có gì thay đổi; hãy thêm --reissue để đặt "
        "mật khẩu mới và, cùng --ca-key/--ca-cert, cấp khóa và chứng thư số mới (sau đó phải cập nhật "
        "chúng cho trình kết nối của cơ quan)",
    )


def _issue(ca_key: Path, ca_cert: Path, code: str, label: str) -> tuple[PrivateKey, x509.Certificate]:
    try:
        return issue_agency_certificate(load_private_key(ca_key), load_certificate(ca_cert), code, label)
    except ValueError as err:
        raise ConfigurationError(
            f"cannot issue a certificate with --ca-key {ca_key} and --ca-cert {ca_cert}: {err}",
            vi=f"không cấp được chứng thư số bằng --ca-key {ca_key} và --ca-cert {ca_cert}: tệp khóa hoặc "
            "chứng thư của CA không đọc được hoặc không khớp nhau",
        ) from err


def _tls_ca(wanted: bool, key: Path | None, cert: Path | None) -> tuple[Path, Path] | None:
    if not wanted:
        return None
    if key is None or cert is None:
        raise ConfigurationError(
            "--tls-client issues the agency's TLS client certificate: give the TLS CA with "
            "--tls-ca-key/--tls-ca-cert (or --ca-key/--ca-cert)",
            vi="--tls-client cấp chứng thư số TLS cho cơ quan: hãy chỉ CA cấp chứng thư TLS bằng "
            "--tls-ca-key/--tls-ca-cert (hoặc --ca-key/--ca-cert)",
        )
    return key, cert


def _issue_tls(ca_key: Path, ca_cert: Path, user: str) -> tuple[PrivateKey, x509.Certificate]:
    try:
        return issue_tls_client_certificate(load_private_key(ca_key), load_certificate(ca_cert), user)
    except ValueError as err:
        raise ConfigurationError(
            f"cannot issue a TLS client certificate with {ca_key} and {ca_cert}: {err}",
            vi=f"không cấp được chứng thư số TLS bằng {ca_key} và {ca_cert}: tệp khóa hoặc chứng thư của CA "
            "không đọc được hoặc không khớp nhau",
        ) from err


def _put_back_user(
    admin: BrokerAdmin, user: str, old: dict[str, Any] | None, permissions: Permissions | None
) -> None:
    if old is None:
        admin.remove_user(user)
        return
    admin.restore_user(old)
    admin.set_permissions(user, permissions)


def _write(path: Path, data: bytes, steps: _Undo, *, mode: int | None = None) -> None:
    """Write ``path`` whole (temporary file, then rename) and record how to put back what was there."""
    old = path.read_bytes() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    steps.push(str(path), lambda: _put_back(path, old))


def _put_back(path: Path, old: bytes | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(old)


@dataclass
class _Undo:
    """The undo of each step done so far, run in reverse when a later step fails."""

    done: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def push(self, what: str, undo: Callable[[], None]) -> None:
        self.done.append((what, undo))

    def undo(self, cause: BaseException) -> None:
        left: list[str] = []
        for what, undo in reversed(self.done):
            try:
                undo()
            except (VbusError, OSError) as err:
                log.error("agency.add.undo_failed", what=what, error=str(err))
                left.append(what)
        if left:
            shown = ", ".join(left)
            raise ProvisioningFailed(
                f"{cause}; undoing the steps already done failed for: {shown} (remove them by hand)",
                vi=f"một bước thất bại và không hoàn tác được: {shown} (hãy gỡ bỏ chúng bằng tay)",
            ) from cause


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
