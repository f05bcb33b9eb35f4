"""Broker provisioning: vhosts, the hub user, agency users and their permissions, queue listing.

Through RabbitMQ's management HTTP API with the standard library's ``urllib.request`` (no new
dependency; one call costs milliseconds), and only through it. There is no fall-back to a local
``rabbitmqctl``: that tool talks to the node on THIS machine, which may be another broker than the
one ``--management-url`` names, so provisioning would land silently in the wrong place. An API that
does not answer is ``ManagementApiUnreachable``, saying how to enable the plugin.

Permissions (regular expressions on resource names, ``names.py`` is where the names come from):
- an agency (user ``Names.agency_user(code)``: its code, after ``user_prefix``, which is empty in
  production and set by test suites, since users are broker-wide): configure nothing; write only
  ``{prefix}.ingress``; read only its own inbox ``{prefix}.inbox.{code}``. With the ``user_id``
  check RabbitMQ does on every publish that sets it, the broker alone says who sent each message.
- the hub user: configure, write and read every ``{prefix}.*`` resource.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from vbcore.errors import (
    AccessRefused,
    ConnectionLost,
    ManagementApiUnreachable,
    ProvisioningFailed,
    TransportError,
    VhostNotFound,
)
from vbcore.tls import DEFAULT_TLS_PORT, explain_failure, split_url
from vbcore.transport.names import Names

NOTHING = "^$"
MANAGEMENT_PLUGIN = "rabbitmq_management"


@dataclass(frozen=True)
class QueueInfo:
    name: str
    messages: int
    consumers: int


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


class BrokerAdmin:
    """Provisioning of one vhost; ``management_url`` carries the administrator's credentials."""

    def __init__(
        self,
        management_url: str = "http://guest:guest@127.0.0.1:15672",
        vhost: str = "/",
        names: Names | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        clean, tls = split_url(management_url)  # https: the CA (and a client certificate), vbcore.tls
        self._tls = tls.context() if tls is not None else None
        self._url = clean
        parts = urllib.parse.urlsplit(clean)
        self.admin_user = urllib.parse.unquote(parts.username or "guest")
        self._password = urllib.parse.unquote(parts.password or "guest")
        netloc = parts.hostname or "127.0.0.1"
        port = parts.port or (DEFAULT_TLS_PORT["https"] if tls is not None else 15672)
        self._base = f"{parts.scheme or 'http'}://{netloc}:{port}{parts.path.rstrip('/')}"
        self.vhost = vhost
        self.names = names or Names()
        self.timeout = timeout

    # --- permissions ------------------------------------------------------------------------

    def agency_permissions(self, code: str) -> Permissions:
        n = self.names
        return Permissions(
            configure=NOTHING,
            write=f"^{re.escape(n.ingress_exchange)}$",
            read=f"^{re.escape(n.inbox(code))}$",
        )

    def hub_permissions(self) -> Permissions:
        everything = f"^{re.escape(self.names.prefix)}\\."
        return Permissions(everything, everything, everything)

    # --- operations -------------------------------------------------------------------------

    def ensure_vhost(self) -> None:
        """Create the vhost (idempotent) and give the administrator full rights on it."""
        self._api("PUT", f"/api/vhosts/{self._v}", {})
        self._grant(self.admin_user, Permissions(".*", ".*", ".*"))

    def check_vhost(self) -> None:
        """``VhostNotFound`` (saying what to do) unless this vhost exists on the broker."""
        if self._api("GET", f"/api/vhosts/{self._v}", missing_ok=True) is None:
            raise self._no_vhost()

    def _no_vhost(self) -> VhostNotFound:
        v = self.vhost
        return VhostNotFound(
            f"vhost {v!r} does not exist on the broker of {self._base}: give the installation's vhost "
            f"with --vhost (or VBUS_VHOST), or create it (rabbitmqctl add_vhost {v})",
            vi=f"vhost {v!r} không tồn tại trên máy chủ của {self._base}: hãy chỉ đúng vhost của hệ thống "
            f"bằng --vhost (hoặc VBUS_VHOST), hoặc tạo nó (rabbitmqctl add_vhost {v})",
        )

    def delete_vhost(self) -> None:
        """Delete the vhost and everything in it (idempotent)."""
        self._api("DELETE", f"/api/vhosts/{self._v}", missing_ok=True)

    def add_agency(self, code: str, password: str | None) -> None:
        """Create (or update) the agency's broker user and its permissions. ``password`` None: a user
        with no password at all, who logs in with its TLS client certificate only (EXTERNAL)."""
        user = self.names.agency_user(code)
        self._put_user(user, password)
        self._grant(user, self.agency_permissions(code))

    def remove_agency(self, code: str) -> None:
        """Delete the agency's user and close its open connections (idempotent)."""
        user = self.names.agency_user(code)
        self._api("DELETE", f"/api/users/{_q(user)}", missing_ok=True)
        for conn in self._api("GET", "/api/connections") or []:
            if conn.get("user") == user:
                self._api("DELETE", f"/api/connections/{_q(conn['name'])}", missing_ok=True)

    def grant_agency(self, code: str) -> None:
        """Give the agency's existing user the permissions it has now (after its inbox was renamed)."""
        self._grant(self.names.agency_user(code), self.agency_permissions(code))

    def add_hub_user(self, password: str) -> None:
        user = self.names.hub_user
        self._put_user(user, password)
        self._grant(user, self.hub_permissions())

    def remove_user(self, user: str) -> None:
        self._api("DELETE", f"/api/users/{_q(user)}", missing_ok=True)

    def permissions(self, user: str) -> Permissions | None:
        """The user's permissions on this vhost (None if it has none)."""
        row = self._api("GET", f"/api/permissions/{self._v}/{_q(user)}", missing_ok=True)
        return Permissions(row["configure"], row["write"], row["read"]) if row else None

    def queues(self) -> list[QueueInfo]:
        """This installation's queues (names under the prefix), with ready+unacked counts.

        The counts come from the management statistics, refreshed every few seconds: a message
        published a moment ago may not be counted yet (``Transport.queue_depth`` is exact).
        """
        path = f"/api/queues/{self._v}?columns=name,messages,consumers"
        rows: list[dict[str, Any]] | None = self._api("GET", path, missing_ok=True)
        if rows is None:  # the API answers 404 for a vhost it does not have
            raise self._no_vhost()
        mine = f"{self.names.prefix}."
        return sorted(
            (QueueInfo(r["name"], int(r.get("messages") or 0), int(r.get("consumers") or 0))
             for r in rows if r["name"].startswith(mine)),
            key=lambda q: q.name,
        )

    def queue_arguments(self, queue: str) -> dict[str, Any]:
        """A queue's type, durability and arguments, as the broker reports them."""
        row = self._api("GET", f"/api/queues/{self._v}/{_q(queue)}")
        return {"type": row.get("type"), "durable": row.get("durable"), **row.get("arguments", {})}

    # --- what an atomic ``vb agency add`` reads and undoes (``vbcore.hub.admin``) -----------------

    def user(self, user: str) -> dict[str, Any] | None:
        """The broker user's record (name, tags, password hash and its algorithm), or None."""
        row: dict[str, Any] | None = self._api("GET", f"/api/users/{_q(user)}", missing_ok=True)
        return row

    def restore_user(self, record: dict[str, Any]) -> None:
        """Put back a user as ``user()`` read it: the same password hash, so the same password."""
        body = {k: record[k] for k in ("password_hash", "hashing_algorithm", "tags") if k in record}
        self._api("PUT", f"/api/users/{_q(record['name'])}", body)

    def set_permissions(self, user: str, permissions: Permissions | None) -> None:
        """Give ``user`` exactly ``permissions`` on this vhost (None: none at all)."""
        if permissions is None:
            self._api("DELETE", f"/api/permissions/{self._v}/{_q(user)}", missing_ok=True)
        else:
            self._grant(user, permissions)

    def queue_exists(self, queue: str) -> bool:
        return self._api("GET", f"/api/queues/{self._v}/{_q(queue)}", missing_ok=True) is not None

    def delete_queue(self, queue: str) -> None:
        """Delete a queue (idempotent); only for one this process has just created."""
        self._api("DELETE", f"/api/queues/{self._v}/{_q(queue)}", missing_ok=True)

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def _v(self) -> str:
        return _q(self.vhost)

    def _put_user(self, user: str, password: str | None) -> None:
        # An empty password_hash: RabbitMQ refuses every password for this user (docs: "passwordless").
        secret = {"password": password} if password is not None else {"password_hash": ""}
        self._api("PUT", f"/api/users/{_q(user)}", {**secret, "tags": ""})

    def _grant(self, user: str, p: Permissions) -> None:
        body = {"configure": p.configure, "write": p.write, "read": p.read}
        self._api("PUT", f"/api/permissions/{self._v}/{_q(user)}", body)

    def _api(self, method: str, path: str, body: object = None, *, missing_ok: bool = False) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)  # noqa: S310
        token = base64.b64encode(f"{self.admin_user}:{self._password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._tls) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as e:
            if e.code == 404 and missing_ok:
                return None
            detail = e.read().decode("utf-8", "replace")[:300]
            if e.code == 401:
                raise self._login_refused() from e
            if e.code == 403:
                raise AccessRefused(
                    f"{method} {path}: user {self.admin_user} may not do this on the management API at "
                    f"{self._base} ({detail}): give an administrator in --management-url",
                    vi=f"{method} {path}: người dùng {self.admin_user} không được phép làm việc này trên API "
                    f"quản trị tại {self._base}: hãy ghi một người dùng quản trị trong --management-url",
                ) from e
            raise ProvisioningFailed(
                f"{method} {path}: {e.code} {detail}",
                vi=f"{method} {path}: API quản trị trả lời mã lỗi HTTP {e.code}",
            ) from e
        except (urllib.error.URLError, OSError) as e:
            raise self._unreachable(e) from e
        return json.loads(payload) if payload else None

    def _unreachable(self, cause: BaseException) -> TransportError:
        explained = explain_failure(cause, self._url)  # a certificate that does not verify, ...
        if explained is not None and not isinstance(explained, ConnectionLost):
            return explained
        reason = getattr(cause, "reason", cause)
        return ManagementApiUnreachable(
            f"nothing answers at {self._base} ({reason}): give the broker's management API with "
            "--management-url (or VBUS_MANAGEMENT_URL), or enable it on the broker "
            f"(rabbitmq-plugins enable {MANAGEMENT_PLUGIN})",
            vi=f"không có gì trả lời tại {self._base}: hãy chỉ đúng API quản trị của máy chủ bằng "
            "--management-url (hoặc VBUS_MANAGEMENT_URL), hoặc bật nó trên máy chủ "
            f"(rabbitmq-plugins enable {MANAGEMENT_PLUGIN})",
        )

    def _login_refused(self) -> AccessRefused:
        return AccessRefused(
            f"the management API at {self._base} refused user {self.admin_user}: give an administrator's "
            "user and password in --management-url (http://USER:PASSWORD@host:15672)",
            vi=f"API quản trị tại {self._base} từ chối người dùng {self.admin_user}: hãy ghi tên và mật khẩu "
            "của một người dùng quản trị trong --management-url (http://USER:PASSWORD@host:15672)",
        )


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
