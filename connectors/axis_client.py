"""HTTP client of the national axis's interface (docs/domain.md §6): the bridge's only module that
speaks HTTP.

Stdlib ``urllib.request`` on purpose: six small calls need no new dependency, and one module keeps
every HTTP detail (headers, multipart, timeouts, error translation) in one place.

Every call carries its metadata as ``XroadVnpt-<name>`` headers, with ``timestamp`` and ``systemid``
first, plus ``XroadVnpt-sign-header`` (a JSON object of those headers, names without the prefix),
``XroadVnpt-sign-header-key`` (their names joined by ``;``) and ``XroadVnpt-hash-header`` (hex
HMAC-SHA256 of the sign-header JSON with the system's secret). Header values are percent-encoded
(UTF-8) so a Vietnamese reason fits in a header; the signature covers the encoded values.

Wire format where docs/domain.md gives no field names (what ``connectors.axis_standin`` implements): JSON
answers ``{"status": "OK", ...}`` or ``{"status": "FAIL", "ErrorCode": ..., "ErrorDesc": ...}``;
``sendEdoc`` answers ``DocId``; the lists answer ``data``: ``[{"DocId", "from", "to", "messagetype",
"created", "status"}]``; ``getEdoc`` answers ``data`` = the package in base64; ``getAgenciesList``
answers ``data``: ``[{"code", "code102", "oldCode", "name"}]``.

Errors (``vbcore.errors``): no answer, a timeout, HTTP 5xx, 408 or 429 -> ``AxisUnavailable``; 401/403
(bad signature or unknown system) -> ``AxisAuthenticationFailed``; both are ``DmsUnavailable``, so the
connector runtime retries with backoff. Any other 4xx -> ``AxisRefused`` (a ``DmsRefused``) with the
axis's reason. Calls that change nothing, and ``updateStatus`` (setting the same state twice is
harmless), are retried here ``attempts`` times with exponential backoff before giving up;
``sendEdoc`` is tried once per call (a blind retry could deliver a document twice; the runtime
retries the whole item instead).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote

from vbcore.errors import AxisAuthenticationFailed, AxisRefused, AxisUnavailable, ConfigurationError

PREFIX = "XroadVnpt-"
SIGN_HEADER = f"{PREFIX}sign-header"
SIGN_HEADER_KEY = f"{PREFIX}sign-header-key"
HASH_HEADER = f"{PREFIX}hash-header"
TRANSPORT_STATES = (
    "done",
    "fail",
    "processing",
)  # updateStatus: transport acknowledgements, not status codes
MESSAGE_TYPES = ("edoc", "status")


# --- the signed headers (shared with the stand-in, which checks them) ---------------------------


def sign_headers(
    metadata: Mapping[str, str], *, system_id: str, secret: str, timestamp: str
) -> dict[str, str]:
    """The ``XroadVnpt-*`` headers of one call, signed with ``secret``."""
    fields = {"timestamp": timestamp, "systemid": system_id, **metadata}
    encoded = {name: quote(value, safe="") for name, value in fields.items()}
    sign_header = json.dumps(encoded, separators=(",", ":"), ensure_ascii=True)
    headers = {f"{PREFIX}{name}": value for name, value in encoded.items()}
    headers[SIGN_HEADER] = sign_header
    headers[SIGN_HEADER_KEY] = ";".join(encoded)
    headers[HASH_HEADER] = hmac_hex(secret, sign_header)
    return headers


def hmac_hex(secret: str, sign_header: str) -> str:
    return hmac.new(secret.encode("utf-8"), sign_header.encode("utf-8"), hashlib.sha256).hexdigest()


class BadSignature(Exception):
    """The signed headers of a request do not check out (the stand-in answers 401 with this reason)."""


class HeaderLookup(Protocol):
    """Case-insensitive header lookup (``http.server``'s ``self.headers``, or a plain mapping)."""

    def get(self, name: str, /) -> Any: ...


def verify_headers(headers: HeaderLookup, secrets: Mapping[str, str]) -> dict[str, str]:
    """Check a request's signed headers against the systems' ``secrets``; its decoded metadata.

    ``headers`` must be looked up case-insensitively (``http.server`` gives such a mapping).
    """
    sign_header, names, given = (
        headers.get(SIGN_HEADER),
        headers.get(SIGN_HEADER_KEY),
        headers.get(HASH_HEADER),
    )
    if not (sign_header and names and given):
        raise BadSignature(f"{SIGN_HEADER}, {SIGN_HEADER_KEY} and {HASH_HEADER} are required")
    try:
        signed = json.loads(sign_header)
    except ValueError as exc:
        raise BadSignature(f"{SIGN_HEADER} is not JSON: {exc}") from exc
    if not isinstance(signed, dict) or list(signed) != names.split(";"):
        raise BadSignature(f"{SIGN_HEADER_KEY} does not list the names in {SIGN_HEADER}")
    for name, value in signed.items():
        if headers.get(f"{PREFIX}{name}") != value:
            raise BadSignature(f"header {PREFIX}{name} differs from its signed value")
    system = unquote(str(signed.get("systemid", "")))
    if system not in secrets:
        raise BadSignature(f"unknown system {system!r}")
    if not hmac.compare_digest(hmac_hex(secrets[system], sign_header), given):
        raise BadSignature(f"{HASH_HEADER} does not match: wrong secret for system {system}")
    return {name: unquote(str(value)) for name, value in signed.items()}


# --- what the calls return ----------------------------------------------------------------------


@dataclass(frozen=True)
class EdocListItem:
    """One entry of ``getReceivedEdocList`` / ``getSentEdocList``."""

    doc_id: str
    from_: str
    to: tuple[str, ...]
    messagetype: str
    created: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class AxisAgency:
    """One ``getAgenciesList`` entry: ``code`` on the axis, ``code102`` in edXML, ``old_code`` if renamed."""

    code: str
    code102: str
    old_code: str | None = None
    name: str | None = None


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AxisClient:
    """The six calls of the axis interface, for one system (``system_id`` + ``secret``)."""

    def __init__(
        self,
        base_url: str,
        *,
        system_id: str,
        secret: str,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"the axis URL must be http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.system_id, self.secret = system_id, secret
        self.timeout, self.attempts, self.backoff, self.sleep = timeout, max(1, attempts), backoff, sleep

    # --- the calls ----------------------------------------------------------------------------
    def send_edoc(
        self, package: bytes, *, from_: str, to: Sequence[str] = (), messagetype: str = "edoc"
    ) -> str:
        """Post a package (an edXML document or status); the axis's ``DocId`` for it."""
        if messagetype not in MESSAGE_TYPES:
            raise ValueError(f"messagetype must be one of {MESSAGE_TYPES}, not {messagetype!r}")
        meta = {"from": from_, "servicetype": "eDoc", "messagetype": messagetype}
        if to:
            meta["to"] = ",".join(to)
        boundary = f"vbus-{uuid.uuid4().hex}"
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="file_doc"; filename="edoc.edxml"\r\n',
                b"Content-Type: application/xml\r\n\r\n",
                package,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        answer = self._call(
            "POST", "sendEdoc", meta, body, f"multipart/form-data; boundary={boundary}", retry=False
        )
        return str(answer["DocId"])

    def received_edoc_list(self, messagetype: str = "edoc") -> list[EdocListItem]:
        """Packages waiting for this system (not yet acknowledged ``done`` or ``fail``), oldest first."""
        return [
            _item(d) for d in self._call("GET", "getReceivedEdocList", {"messagetype": messagetype})["data"]
        ]

    def get_edoc(self, doc_id: str) -> bytes:
        data = self._call("GET", "getEdoc", {"docid": doc_id})["data"]
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError as exc:
            raise AxisUnavailable(
                f"getEdoc {doc_id}: the axis answered a package that is not base64"
            ) from exc

    def update_status(self, doc_id: str, status: str, description: str | None = None) -> None:
        """Acknowledge a received package: ``done`` (taken), ``fail`` (refused, with why), ``processing``."""
        if status not in TRANSPORT_STATES:
            raise ValueError(f"status must be one of {TRANSPORT_STATES}, not {status!r}")
        meta = {"docid": doc_id, "status": status}
        if description:
            meta["description"] = description
        self._call("POST", "updateStatus", meta, b"", None)

    def sent_edoc_list(self, messagetype: str = "edoc") -> list[EdocListItem]:
        return [_item(d) for d in self._call("GET", "getSentEdocList", {"messagetype": messagetype})["data"]]

    def agencies(self) -> list[AxisAgency]:
        return [
            AxisAgency(
                str(d["code"]), str(d.get("code102") or d["code"]), d.get("oldCode") or None, d.get("name")
            )
            for d in self._call("GET", "getAgenciesList", {})["data"]
        ]

    # --- plumbing -----------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        operation: str,
        meta: Mapping[str, str],
        body: bytes | None = None,
        content_type: str | None = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        tries = self.attempts if retry else 1
        for attempt in range(1, tries + 1):
            try:
                return self._once(method, operation, meta, body, content_type)
            except AxisAuthenticationFailed:
                raise  # the same credentials fail again: let the runtime's backoff wait for the operator
            except AxisUnavailable:
                if attempt == tries:
                    raise
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _once(
        self,
        method: str,
        operation: str,
        meta: Mapping[str, str],
        body: bytes | None,
        content_type: str | None,
    ) -> dict[str, Any]:
        headers = sign_headers(meta, system_id=self.system_id, secret=self.secret, timestamp=_timestamp())
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.base_url}/{operation}",
            data=body if method == "POST" else None,
            headers=headers,
            method=method,
        )
        where = f"{operation} at {self.base_url}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(where, exc.code, exc.read()) from exc
        except TimeoutError as exc:
            raise AxisUnavailable(f"{where}: no answer within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise AxisUnavailable(f"{where}: no answer within {self.timeout:g} s") from exc
            raise AxisUnavailable(f"{where}: cannot connect: {exc.reason}") from exc
        except OSError as exc:  # connection reset mid-answer, and the like
            raise AxisUnavailable(f"{where}: {exc}") from exc
        answer = _json(raw)
        if answer is None or answer.get("status") != "OK":
            raise AxisUnavailable(f"{where}: the answer is not an OK JSON object: {raw[:200]!r}")
        return answer


class AxisSystemConfig(Protocol):
    """What a plugin's configuration says of its system on the other axis (the bridge's, the gateway's)."""

    @property
    def url(self) -> str: ...
    @property
    def system_id(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def secret_file(self) -> Path | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def attempts(self) -> int: ...


def configured_client(config: AxisSystemConfig, plugin: str) -> AxisClient:
    """The client of ``config``'s system; its secret is ``secret``, or else the text of ``secret_file``.

    ``ConfigurationError`` (its message begins with ``plugin``) when the file cannot be read or
    neither gives a secret.
    """
    secret = config.secret
    if not secret and config.secret_file is not None:
        try:
            secret = Path(config.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"{plugin}: cannot read secret_file: {exc}") from exc
    if not secret:
        raise ConfigurationError(f"{plugin}: secret or secret_file is required")
    return AxisClient(
        config.url,
        system_id=config.system_id,
        secret=secret,
        timeout=config.timeout,
        attempts=config.attempts,
    )


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _http_error(where: str, code: int, raw: bytes) -> AxisUnavailable | AxisRefused:
    answer = _json(raw) or {}
    reason = str(answer.get("ErrorDesc") or raw[:200].decode("utf-8", "replace") or "no reason given")
    text = f"{where}: HTTP {code}: {reason}"
    if code in (401, 403):
        return AxisAuthenticationFailed(text)
    if 400 <= code < 500 and code not in (408, 429):
        return AxisRefused(text, vi=f"{where}: trục kia trả lời HTTP {code}: «{reason}»")
    return AxisUnavailable(text)


def _item(d: Mapping[str, Any]) -> EdocListItem:
    to = d.get("to") or ()
    return EdocListItem(
        doc_id=str(d["DocId"]),
        from_=str(d.get("from", "")),
        to=tuple(to.split(",") if isinstance(to, str) else to),
        messagetype=str(d.get("messagetype", "edoc")),
        created=d.get("created"),
        status=d.get("status"),
    )
