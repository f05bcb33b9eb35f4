"""Broker provisioning: vhosts, the hub user, agency users and their permissions, queue listing.

Through RabbitMQ's management HTTP API with the standard library's ``urllib.request`` (no new
dependency; one call costs milliseconds), falling back to ``rabbitmqctl`` when the API cannot be
reached (each ``rabbitmqctl`` call costs about 0.9 s: measurements.md).

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
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from vbcore.errors import AccessRefused, ProvisioningFailed
from vbcore.transport.names import Names

NOTHING = "^$"


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
        parts = urllib.parse.urlsplit(management_url)
        self.admin_user = urllib.parse.unquote(parts.username or "guest")
        self._password = urllib.parse.unquote(parts.password or "guest")
        netloc = parts.hostname or "127.0.0.1"
        self._base = f"{parts.scheme or 'http'}://{netloc}:{parts.port or 15672}{parts.path.rstrip('/')}"
        self.vhost = vhost
        self.names = names or Names()
        self.timeout = timeout
        self._use_ctl: bool | None = None  # decided at the first call: API, or rabbitmqctl

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
        if self._ctl():
            self._run_ctl("add_vhost", self.vhost, ok_if="already exists")
        else:
            self._api("PUT", f"/api/vhosts/{self._v}", {})
        self._grant(self.admin_user, Permissions(".*", ".*", ".*"))

    def delete_vhost(self) -> None:
        """Delete the vhost and everything in it (idempotent)."""
        if self._ctl():
            self._run_ctl("delete_vhost", self.vhost, ok_if="does not exist")
        else:
            self._api("DELETE", f"/api/vhosts/{self._v}", missing_ok=True)

    def add_agency(self, code: str, password: str) -> None:
        """Create (or update) the agency's broker user and its permissions."""
        user = self.names.agency_user(code)
        self._put_user(user, password)
        self._grant(user, self.agency_permissions(code))

    def remove_agency(self, code: str) -> None:
        """Delete the agency's user and close its open connections (idempotent)."""
        user = self.names.agency_user(code)
        if self._ctl():
            self._run_ctl("delete_user", user, ok_if="does not exist")
            return
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
        if self._ctl():
            self._run_ctl("delete_user", user, ok_if="does not exist")
        else:
            self._api("DELETE", f"/api/users/{_q(user)}", missing_ok=True)

    def permissions(self, user: str) -> Permissions | None:
        """The user's permissions on this vhost (None if it has none)."""
        if self._ctl():
            rows = json.loads(self._run_ctl("list_user_permissions", user, "--formatter", "json"))
            row = next((r for r in rows if r.get("vhost") == self.vhost), None)
        else:
            row = self._api("GET", f"/api/permissions/{self._v}/{_q(user)}", missing_ok=True)
        return Permissions(row["configure"], row["write"], row["read"]) if row else None

    def queues(self) -> list[QueueInfo]:
        """This installation's queues (names under the prefix), with ready+unacked counts.

        The counts come from the management statistics, refreshed every few seconds: a message
        published a moment ago may not be counted yet (``Transport.queue_depth`` is exact).
        """
        if self._ctl():
            out = self._run_ctl("list_queues", "-p", self.vhost, "name", "messages", "consumers",
                                "--formatter", "json")
            rows: list[dict[str, Any]] = json.loads(out)
        else:
            rows = self._api("GET", f"/api/queues/{self._v}?columns=name,messages,consumers") or []
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

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def _v(self) -> str:
        return _q(self.vhost)

    def _put_user(self, user: str, password: str) -> None:
        if self._ctl():
            self._run_ctl("add_user", user, password, ok_if="already exists")
            self._run_ctl("change_password", user, password)
        else:
            self._api("PUT", f"/api/users/{_q(user)}", {"password": password, "tags": ""})

    def _grant(self, user: str, p: Permissions) -> None:
        if self._ctl():
            self._run_ctl("set_permissions", "-p", self.vhost, user, p.configure, p.write, p.read)
        else:
            body = {"configure": p.configure, "write": p.write, "read": p.read}
            self._api("PUT", f"/api/permissions/{self._v}/{_q(user)}", body)

    def _ctl(self) -> bool:
        """Whether to use rabbitmqctl: only when the HTTP API cannot be reached at all."""
        if self._use_ctl is None:
            try:
                self._api("GET", "/api/overview")
                self._use_ctl = False
            except ProvisioningFailed as e:
                if not isinstance(e.__cause__, urllib.error.URLError) or isinstance(
                    e.__cause__, urllib.error.HTTPError
                ):
                    raise
                if shutil.which("rabbitmqctl") is None:
                    raise ProvisioningFailed(
                        f"the management API at {self._base} is unreachable and rabbitmqctl is not installed"
                    ) from e
                self._use_ctl = True
        return self._use_ctl

    def _api(self, method: str, path: str, body: object = None, *, missing_ok: bool = False) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)  # noqa: S310
        token = base64.b64encode(f"{self.admin_user}:{self._password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as e:
            if e.code == 404 and missing_ok:
                return None
            detail = e.read().decode("utf-8", "replace")[:300]
            if e.code in (401, 403):
                raise AccessRefused(f"{method} {path}: {e.code} {detail}") from e
            raise ProvisioningFailed(f"{method} {path}: {e.code} {detail}") from e
        except (urllib.error.URLError, OSError) as e:
            raise ProvisioningFailed(f"{method} {path}: the management API is unreachable: {e}") from e
        return json.loads(payload) if payload else None

    def _run_ctl(self, *args: str, ok_if: str | None = None) -> str:
        result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stderr + result.stdout).strip()
            if ok_if is not None and ok_if in output:
                return ""
            raise ProvisioningFailed(f"rabbitmqctl {args[0]} failed: {output[:300]}")
        return result.stdout


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
