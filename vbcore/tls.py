"""TLS on every link: how a URL asks for it, the client context, and what a failed handshake means.

The one shared module that imports the standard library's ``ssl``; the transports (pika, kombu), the
management API client and the store read TLS settings through it, so the rules are the same on every
link. One documented way (docs/deployment-tls.md): parameters in the URL's query, with the names of
RabbitMQ's own URI query parameters::

    amqps://vbus-hub:PASSWORD@broker.example:5671/vbus?cacertfile=/etc/vbus/tls/ca.pem
    amqps://000.00.00.G22@broker.example:5671/vbus?auth_mechanism=external&cacertfile=/etc/vbus/tls/ca.pem
        &certfile=/etc/vbus/tls/000.00.00.G22.tls.pem&keyfile=/etc/vbus/tls/000.00.00.G22.tls.key.pem
    https://admin:PASSWORD@broker.example:15671?cacertfile=/etc/vbus/tls/ca.pem

- ``cacertfile``: the CA bundle the server's certificate must chain to (default: the system's CAs).
- ``certfile``, ``keyfile``: the client certificate and its key (PEM), shown to the server.
- ``auth_mechanism=external``: log in with the client certificate (RabbitMQ's EXTERNAL mechanism);
  the URL names the broker user the certificate logs in as (its CN) and no password.
- ``server_name_indication=NAME``: the name the server's certificate must carry, when the URL gives
  another (an IP address, a load balancer's name).

Verification is always on, the chain and the host name. ``insecure_skip_verify=true`` turns it off,
and is refused for anything but a server on this machine (a loopback host) and whenever the
installation requires TLS: what it protects against is exactly what a remote link meets.

In a ``;`` list of broker nodes, a node that gives no TLS parameter takes those of the first node that
gives some (``share_parameters``), so a cluster's CA is written once.

The installation requires TLS when ``VBUS_REQUIRE_TLS`` is set (``vb --require-tls`` sets it): then a
plain ``amqp://`` or ``http://`` URL is refused (``TlsRequired``), in one line that says what to do.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vbcore.errors import (
    ConnectionLost,
    TlsClientRefused,
    TlsRequired,
    TlsSettingsInvalid,
    TlsVerificationFailed,
    TransportError,
)

REQUIRE_TLS_ENV = "VBUS_REQUIRE_TLS"
DOCS = "docs/deployment-tls.md"
CA, CERT, KEY = "cacertfile", "certfile", "keyfile"
MECHANISM, SERVER_NAME = "auth_mechanism", "server_name_indication"
INSECURE = "insecure_skip_verify"
PARAMETERS = (CA, CERT, KEY, MECHANISM, SERVER_NAME, INSECURE)
EXTERNAL = "external"
NO_VERIFY = ssl.CERT_NONE  # for a client library that takes options, not a context (py-amqp)
DEFAULT_TLS_PORT = {"amqps": 5671, "https": 15671}
_PLAIN_TO_TLS = {"amqp": "amqps", "http": "https"}
_TRUE = ("1", "true", "yes", "on")
_ALERT = re.compile(r"(?:TLSV1_ALERT|SSLV3_ALERT|TLSV13_ALERT)_[A-Z_]+|WRONG_VERSION_NUMBER")
# What a server's TLS alert says about the client certificate it was shown (OpenSSL's reason names).
_CLIENT_CERT_ALERTS = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_REQUIRED", "CERTIFICATE_UNKNOWN",
                       "HANDSHAKE_FAILURE", "ACCESS_DENIED", "UNSUPPORTED_CERTIFICATE")


def tls_required() -> bool:
    """Whether this installation refuses plain links (``VBUS_REQUIRE_TLS`` set to 1/true/yes/on)."""
    return os.environ.get(REQUIRE_TLS_ENV, "").strip().lower() in _TRUE


def require(yes: bool = True) -> None:
    """Make this process (and the processes it starts) refuse plain links: ``vb --require-tls``."""
    if yes:
        os.environ[REQUIRE_TLS_ENV] = "1"


@dataclass(frozen=True)
class TlsSettings:
    """One TLS link's settings, read from its URL (see the module docstring)."""

    host: str  # the name the server's certificate must carry
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    external: bool = False
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or later, the chain and the host name verified, the client
        certificate loaded. Every file is read now: a wrong path or a key that does not match its
        certificate is a ``TlsSettingsInvalid`` here, not a connection that keeps failing later."""
        try:
            context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        except (OSError, ssl.SSLError) as e:
            raise _unreadable(CA, self.cafile, e) from e
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.certfile is not None:
            try:
                context.load_cert_chain(str(self.certfile), str(self.keyfile) if self.keyfile else None)
            except (OSError, ssl.SSLError) as e:
                raise _unreadable(f"{CERT}/{KEY}", self.certfile, e) from e
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def split_url(url: str) -> tuple[str, TlsSettings | None]:
    """``url`` without vbus's TLS parameters, and the TLS settings it asks for (None: a plain link).

    Works for ``amqp``/``amqps`` and ``http``/``https`` URLs. Raises ``TlsRequired`` for a plain URL
    when the installation requires TLS, and ``TlsSettingsInvalid`` for parameters that cannot work."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in PARAMETERS}
    rest = urlencode([(k, v) for k, v in query if k not in PARAMETERS])
    clean = urlunsplit(parts._replace(query=rest))
    if "verify" in dict(query):
        raise TlsSettingsInvalid(
            f"{masked(url)}: vbus always verifies the server's certificate; leave out verify= (only "
            f"{INSECURE}=true turns verification off, for a broker on this machine)",
            vi=f"{masked(url)}: vbus luôn kiểm tra chứng thư số của máy chủ; hãy bỏ tham số verify= (chỉ "
            f"{INSECURE}=true tắt việc kiểm tra, và chỉ cho máy chủ trên chính máy này)",
        )
    if scheme in _PLAIN_TO_TLS:
        if ours:
            raise TlsSettingsInvalid(
                f"{masked(url)} gives TLS parameters ({', '.join(sorted(ours))}) on a plain {scheme}:// "
                f"URL: use {_PLAIN_TO_TLS[scheme]}://",
                vi=f"{masked(url)} có tham số TLS ({', '.join(sorted(ours))}) trên địa chỉ {scheme}:// "
                f"không mã hóa: hãy dùng {_PLAIN_TO_TLS[scheme]}://",
            )
        if tls_required():
            raise plain_refused(url)
        return clean, None
    host = parts.hostname or "localhost"
    return clean, _settings(url, host, ours)


def _settings(url: str, host: str, ours: dict[str, str]) -> TlsSettings:
    mechanism = ours.get(MECHANISM, "").lower()
    if mechanism not in ("", EXTERNAL, "plain"):
        raise TlsSettingsInvalid(
            f"{masked(url)}: {MECHANISM}={ours[MECHANISM]} is not one vbus uses (external, or leave it out)",
            vi=f"{masked(url)}: {MECHANISM}={ours[MECHANISM]} không được hỗ trợ (external, hoặc bỏ trống)",
        )
    cert, key = ours.get(CERT), ours.get(KEY)
    if (cert is None) != (key is None):
        raise TlsSettingsInvalid(
            f"{masked(url)}: give both {CERT} and {KEY} (the client certificate and its key)",
            vi=f"{masked(url)}: hãy cho cả {CERT} và {KEY} (chứng thư số của bên kết nối và khóa của nó)",
        )
    external = mechanism == EXTERNAL
    if external and cert is None:
        raise TlsSettingsInvalid(
            f"{masked(url)}: {MECHANISM}=external logs in with a client certificate: give {CERT} and {KEY}",
            vi=f"{masked(url)}: {MECHANISM}=external đăng nhập bằng chứng thư số: hãy cho {CERT} và {KEY}",
        )
    if external and not urlsplit(url).username:
        raise TlsSettingsInvalid(
            f"{masked(url)}: with {MECHANISM}=external, name the broker user the certificate logs in as "
            "(amqps://USER@host...; an agency's user is its code)",
            vi=f"{masked(url)}: với {MECHANISM}=external, hãy ghi tên người dùng mà chứng thư số đăng nhập "
            "(amqps://NGƯỜI_DÙNG@máy...; người dùng của một cơ quan là mã định danh của nó)",
        )
    verify = ours.get(INSECURE, "").strip().lower() not in _TRUE
    if not verify:
        _check_insecure_allowed(url, host)
    return TlsSettings(
        host=ours.get(SERVER_NAME) or host,
        cafile=Path(ours[CA]) if ours.get(CA) else None,
        certfile=Path(cert) if cert else None,
        keyfile=Path(key) if key else None,
        external=external,
        verify=verify,
    )


def _check_insecure_allowed(url: str, host: str) -> None:
    if tls_required() or not is_loopback(host):
        raise TlsSettingsInvalid(
            f"{masked(url)}: {INSECURE}=true is refused for {host} (only a server on this machine, and "
            f"never when {REQUIRE_TLS_ENV} is set): give the CA that issued the server's certificate with "
            f"{CA}=/path/ca.pem",
            vi=f"{masked(url)}: {INSECURE}=true bị từ chối với {host} (chỉ dùng cho máy chủ trên chính máy "
            f"này, và không bao giờ khi đặt {REQUIRE_TLS_ENV}): hãy chỉ CA đã cấp chứng thư số cho máy chủ "
            f"bằng {CA}=/đường/dẫn/ca.pem",
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def share_parameters(nodes: list[str]) -> list[str]:
    """Give every node of a failover list that names no TLS parameter those of the first that does."""
    given = next((q for q in (_tls_query(n) for n in nodes) if q), None)
    if not given:
        return nodes
    shared = []
    for node in nodes:
        parts = urlsplit(node)
        if _tls_query(node) or parts.scheme.lower() not in DEFAULT_TLS_PORT:
            shared.append(node)
            continue
        query = "&".join(q for q in (parts.query, urlencode(given)) if q)
        shared.append(urlunsplit(parts._replace(query=query)))
    return shared


def _tls_query(url: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k in PARAMETERS]


def masked(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _unreadable(parameter: str, path: Path | None, cause: BaseException) -> TlsSettingsInvalid:
    why = getattr(cause, "strerror", None) or getattr(cause, "reason", None) or str(cause)
    return TlsSettingsInvalid(
        f"{parameter}={path}: cannot be read as PEM or does not match ({why})",
        vi=f"{parameter}={path}: không đọc được tệp PEM hoặc khóa không khớp với chứng thư số ({why})",
    )


# --- what a failed link means --------------------------------------------------------------------


def plain_refused(url: str) -> TlsRequired:
    """The one line for a plain link where TLS is required: what to use instead."""
    scheme = urlsplit(url).scheme.lower()
    tls = _PLAIN_TO_TLS.get(scheme, "amqps")
    port = DEFAULT_TLS_PORT[tls]
    return TlsRequired(
        f"{masked(url)} is a plain {scheme}:// link and this installation requires TLS ({REQUIRE_TLS_ENV}): "
        f"use {tls}://host:{port}/... with ?{CA}=/path/ca.pem (see {DOCS})",
        vi=f"{masked(url)} là kết nối {scheme}:// không mã hóa mà hệ thống yêu cầu TLS ({REQUIRE_TLS_ENV}): "
        f"hãy dùng {tls}://máy:{port}/... kèm ?{CA}=/đường/dẫn/ca.pem (xem {DOCS})",
    )


def explain_failure(error: BaseException, url: str) -> TransportError | None:
    """The error that says what a failed connection to ``url`` means for TLS, or None if it is not
    about TLS: a certificate that does not verify (``TlsVerificationFailed``, not worth retrying), a
    client certificate the server refused (``TlsClientRefused``), or a plain URL where nothing takes
    plain connections any more (``ConnectionLost`` that names amqps://: it may be an outage too)."""
    found = _ssl_error_in(error)
    where = _where(url)
    if isinstance(found, ssl.SSLCertVerificationError):
        return _not_verified(found, where)
    if isinstance(found, ssl.SSLEOFError) or "EOF occurred in violation of protocol" in str(error):
        # TLS 1.3: the client's side of the handshake is over before the server checks its certificate;
        # the server's alert can be lost when it closes at once. Maybe a restart too: retried.
        return ConnectionLost(
            f"the server at {where} closed the TLS connection at once: if this goes on, it does not "
            f"trust the client certificate given in {CERT} (or wants one): use a certificate from the "
            "CA the server trusts",
            vi=f"máy chủ tại {where} đóng kết nối TLS ngay: nếu việc này lặp lại, máy chủ không tin chứng "
            f"thư số trong {CERT} (hoặc đòi có một chứng thư): hãy dùng chứng thư số do CA mà máy chủ "
            "tin cấp",
        )
    # pika keeps a TLS alert that ended the connection as text only, inside its own error.
    alert = _ALERT.search(str(error))
    if isinstance(found, ssl.SSLError) or alert:
        reason = str(found.reason or found) if found is not None else alert.group(0) if alert else ""
        if any(alert in reason.upper() for alert in _CLIENT_CERT_ALERTS):
            return TlsClientRefused(
                f"the server at {where} ended the TLS handshake ({reason}): it does not trust the client "
                f"certificate given in {CERT} (or wants one): use a certificate from the CA the server "
                "trusts",
                vi=f"máy chủ tại {where} dừng bắt tay TLS ({reason}): nó không tin chứng thư số trong "
                f"{CERT} (hoặc đòi có một chứng thư): hãy dùng chứng thư số do CA mà máy chủ tin cấp",
            )
        if "WRONG_VERSION_NUMBER" in reason.upper() or "PACKET_LENGTH_TOO_LONG" in reason.upper():
            return TlsClientRefused(
                f"{where} does not speak TLS: give the server's TLS port (5671 for AMQP, 15671 for the "
                "management API)",
                vi=f"{where} không dùng TLS: hãy chỉ cổng TLS của máy chủ (5671 cho AMQP, 15671 cho API "
                "quản trị)",
            )
        return None
    if urlsplit(url).scheme.lower() in _PLAIN_TO_TLS and _refused(error):
        return ConnectionLost(
            f"could not reach a broker node: {where} refused a plain connection ({_short(error)}); if the "
            f"broker takes TLS only, use amqps:// and its TLS port (5671 by default) with "
            f"?{CA}=/path/ca.pem (see {DOCS})",
            vi=f"không kết nối được máy chủ chuyển tin: {where} từ chối kết nối không mã hóa; nếu máy chủ "
            f"chỉ nhận TLS, hãy dùng amqps:// và cổng TLS của nó (mặc định 5671) kèm "
            f"?{CA}=/đường/dẫn/ca.pem (xem {DOCS})",
        )
    return None


def _short(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _not_verified(error: ssl.SSLCertVerificationError, where: str) -> TlsVerificationFailed:
    message = str(error.verify_message or error.reason or error)
    if "hostname mismatch" in message.lower() or "ip address mismatch" in message.lower():
        return TlsVerificationFailed(
            f"the certificate of the server at {where} is for another name ({message}): connect by a "
            f"name its certificate carries, or give {SERVER_NAME}=NAME",
            vi=f"chứng thư số của máy chủ tại {where} cấp cho tên khác ({message}): hãy kết nối bằng tên "
            f"ghi trong chứng thư số, hoặc cho {SERVER_NAME}=TÊN",
        )
    return TlsVerificationFailed(
        f"the certificate of the server at {where} does not verify ({message}): give the CA that issued "
        f"it with ?{CA}=/path/ca.pem",
        vi=f"chứng thư số của máy chủ tại {where} không xác thực được ({message}): hãy chỉ CA đã cấp nó "
        f"bằng ?{CA}=/đường/dẫn/ca.pem",
    )


def _ssl_error_in(error: BaseException, depth: int = 0) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind ``error``: client libraries wrap it in their own exceptions."""
    if isinstance(error, ssl.SSLError):
        return error
    for inner in _inner(error, depth):
        found = _ssl_error_in(inner, depth + 1)
        if found is not None:
            return found
    return None


def _refused(error: BaseException, depth: int = 0) -> bool:
    """Whether ``error`` is, or wraps, a refused or at once reset TCP connection."""
    if isinstance(error, ConnectionRefusedError | ConnectionResetError):
        return True
    text = str(error).lower()
    if "connection refused" in text or "connection reset" in text:
        return True
    return any(_refused(inner, depth + 1) for inner in _inner(error, depth))


def _inner(error: BaseException, depth: int) -> list[BaseException]:
    """What an exception wraps: its cause and context, exceptions among its arguments, and the
    ``exception``/``exceptions`` attributes pika's connection workflow errors keep them in."""
    if depth > 6:
        return []
    found: list[BaseException] = [e for e in (error.__cause__, error.__context__) if e is not None]
    for arg in (*getattr(error, "args", ()), getattr(error, "exception", None)):
        if isinstance(arg, BaseException):
            found.append(arg)
        elif isinstance(arg, list | tuple):
            found.extend(a for a in arg if isinstance(a, BaseException))
    found.extend(getattr(error, "exceptions", None) or [])
    return found


def tls_failure(error: BaseException, url: str) -> ConnectionLost | None:
    """For a transport's reconnect loop: raise what ``explain_failure`` finds wrong with TLS (retrying
    cannot fix a certificate), return the ``ConnectionLost`` that names TLS for a refused plain
    connection (an outage too, maybe: the loop goes on), else None."""
    explained = explain_failure(error, url)
    if isinstance(explained, ConnectionLost) or explained is None:
        return explained
    raise explained from error
