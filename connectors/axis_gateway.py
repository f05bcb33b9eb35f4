"""The axis gateway: one bridge between a vbus hub and another axis that speaks the national axis's HTTP
interface (docs/domain.md §6), for ALL the agencies on the other side (``vbcore.connector.gateway``).

Where the axis bridge (``connectors.axis_bridge``) stands in on the hub for ONE remote agency under its
code, the gateway is one system on the other axis and one broker user on the hub: the hub's directory
says which agencies are reached via it (``vb agencies sync`` writes that from the other axis's
``getAgenciesList``, read here by ``agencies``), and the hub judges each relayed package's own
signature against the gateway's relay policy. Everything this plugin does is HTTP through
``connectors.axis_client``: ``post`` is ``sendEdoc`` (bytes unchanged, ``from``/``to`` written in the
other axis's own ``code`` when its list gives one), ``take`` is ``getReceivedEdocList`` + ``getEdoc``
for documents and statuses, ``mark_taken``/``mark_refused`` are ``updateStatus done``/``fail``.

Errors keep ``axis_client``'s meaning: an outage, a timeout or refused credentials is
``DmsUnavailable`` (the runtime waits and retries), a 4xx on ``sendEdoc`` is ``DmsRefused`` (the vbus
sender gets a 02 with the other axis's reason); a 4xx on anything else concerns no document and is
waited out. Configuration (YAML or JSON)::

    url: https://axis.example.gov.vn/api    # the other axis's interface
    system_id: tinh-nghe-an                  # this platform's system there
    secret_file: /etc/vbus/axis.secret       # its HMAC secret (or secret: ...)
    timeout: 30                              # seconds per HTTP call
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from connectors.axis_bridge import AxisAddressBook
from connectors.axis_client import configured_client
from vbcore import __version__
from vbcore.connector.gateway import Gateway, GatewayContext, RemoteAgency, Taken
from vbcore.errors import AxisRefused, AxisUnavailable

MESSAGE_TYPES = ("edoc", "status")
T = TypeVar("T")


class AxisGateway(Gateway):
    """The national axis's interface as a gateway (see the module docstring)."""

    name = "axis"
    version = __version__

    @dataclass(frozen=True)
    class Config:
        url: str
        system_id: str
        secret: str = ""
        secret_file: Path | None = None
        timeout: float = 30.0
        attempts: int = 3  # tries of a call that changes nothing, before the runtime's backoff
        directory_ttl: float = 3600.0  # seconds the other axis's list is kept for code mapping

    config: AxisGateway.Config

    def __init__(self, config: AxisGateway.Config, context: GatewayContext) -> None:
        super().__init__(config, context)
        self.client = configured_client(config, "axis gateway")
        self.addresses = AxisAddressBook(self.client, config.directory_ttl)

    def post(self, package: bytes, *, kind: str, sender: str, recipients: Sequence[str]) -> str:
        return self.client.send_edoc(
            package,
            from_=self.addresses.axis_code(sender),
            to=[self.addresses.axis_code(code) for code in recipients],
            messagetype=kind,
        )

    def take(self) -> list[Taken]:
        found = []
        for messagetype in MESSAGE_TYPES:
            for item in _outage(lambda: self.client.received_edoc_list(messagetype)):  # noqa: B023
                try:
                    package = self.client.get_edoc(item.doc_id)
                except AxisRefused as exc:  # that one item (taken by another process?): skip it
                    self.context.logger.warning("axis.get_edoc_refused", doc_id=item.doc_id, reason=str(exc))
                    continue
                found.append(Taken(item.doc_id, package, self.addresses.code102(item.from_) or None))
        return found

    def mark_taken(self, taken_id: str) -> None:
        _outage(lambda: self.client.update_status(taken_id, "done"))

    def mark_refused(self, taken_id: str, reason: str) -> None:
        _outage(lambda: self.client.update_status(taken_id, "fail", reason))

    @property
    def source(self) -> str:
        return self.client.base_url

    def agencies(self) -> list[RemoteAgency]:
        return [RemoteAgency(a.code, a.code102, a.old_code, a.name) for a in _outage(self.client.agencies)]


def _outage(call: Callable[[], T]) -> T:
    """A call that concerns no document being posted: a 4xx is waited out, never a refusal."""
    try:
        return call()
    except AxisRefused as exc:
        raise AxisUnavailable(f"the other axis refused a call about no document: {exc}") from exc
