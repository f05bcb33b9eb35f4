"""Support for the gateway tests (no tests here): a province's hub in front of a stand-in national axis.

The province is Nghệ An: its UBND and two departments are agencies of the hub, with their own broker
users and keys. Everything else (the Government Office, the ministries and their departments, the
other 33 provinces' UBND and HĐND: 130 agencies on 88 systems) is on the stand-in axis and
reached via one gateway, ``gw.truc-quoc-gia``, whose directory entries come from the axis's own list
through the gateway plugin and ``vbcore.directory.sync``, as ``vb agencies sync`` makes them. The
remote agencies' DMSs are the axis's HTTP clients of their systems; Bộ Y tế signs with a certificate
from a CA the hub trusts, Bộ Tài chính with one from a CA it does not, the others send unsigned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.axis_client import AxisClient
from connectors.axis_gateway import AxisGateway
from connectors.axis_standin import AxisStandIn, Message, national_agencies, systems_of
from vbcore.agency import Incoming
from vbcore.connector.gateway import GatewayContext
from vbcore.connector.gateway_runtime import GatewayReport, GatewayRuntime
from vbcore.connector.ledger import Ledger
from vbcore.directory.sync import plan_sync
from vbcore.directory.versions import SyncedDirectory
from vbcore.directory.watch import DirectoryFiles
from vbcore.edxml import read_package, write_package
from vbcore.hub.config import HubConfig
from vbcore.hub.pipeline import Hub
from vbcore.model import Edoc, Organization, ResponseFor, StatusPackage
from vbcore.retry import Backoff
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.store import TrackingStore, open_store
from vbcore.testing.devworld import HUB_ID, DevKeys, letter
from vbcore.transport import Transport
from vbcore.transport.names import Names

GW = "gw.truc-quoc-gia"
GW_SYSTEM = "tinh-nghe-an"  # the province's platform on the national axis: the gateway's system
UBND, SO_TC, SO_YT = "000.00.00.H41", "000.00.01.H41", "000.00.02.H41"  # local agencies
LOCAL = (UBND, SO_TC, SO_YT)
BYT, BTC = "000.00.00.G18", "000.00.00.G12"  # remote: a trusted CA, a foreign one
VPCP, HA_NOI, DA_NANG = "000.00.00.G22", "000.00.00.H24", "000.00.00.H15"  # remote, unsigned
PROVINCE_BODIES = ("000.00.00.H41", "000.00.00.K41")


@dataclass(frozen=True)
class Keys:
    dev: DevKeys
    foreign: SigningKey  # Bộ Tài chính's, from a CA the hub does not hold


def make_keys(tmp: Path) -> Keys:
    pki = init_dev_pki(tmp / "pki", [(c, c) for c in (*LOCAL, HUB_ID, GW, BYT)])
    other: DevPki = init_dev_pki(tmp / "foreign-pki", [(BTC, "Bộ Tài chính")])
    return Keys(DevKeys.load(pki), SigningKey.from_files(other.key_path(BTC), other.cert_path(BTC)))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Province:
    """The hub, its local agencies, the gateway and the stand-in axis (see the module docstring)."""

    def __init__(
        self,
        tmp: Path,
        keys: Keys,
        *,
        connect: Callable[[str], Transport],
        names: Names,
        relay: str = "unsigned",
        timeout: float = 5.0,
        store: TrackingStore | None = None,
    ) -> None:
        self.tmp, self.keys, self.names, self.connect = tmp, keys, names, connect
        self.remote = national_agencies(local=PROVINCE_BODIES)
        self.systems = systems_of(self.remote, **{GW_SYSTEM: "gw-secret"})
        self.axis = AxisStandIn(self.systems, self.remote, default_system=GW_SYSTEM).start()
        self.operator_file = tmp / "directory.json"
        self.write_operator_file(relay)
        self.synced = SyncedDirectory(tmp / "axis-directory.json")
        self.gateway_config = {"url": self.axis.url, "system_id": GW_SYSTEM, "secret": "gw-secret",
                               "timeout": timeout, "attempts": 1}  # fmt: skip
        self.clock = FakeClock()
        self.files_clock = [0.0]
        self.sync()
        self.directory = DirectoryFiles([self.operator_file, self.synced.path], interval=0.0)
        self.store = store or open_store("sqlite://")
        self.hub_transport = connect(names.hub_user)
        dev = keys.dev
        self.hub = Hub(self.hub_transport, self.store, key=dev.keys[HUB_ID], trust=dev.trust,
                       directory=self.directory(), directory_source=self.directory,
                       config=HubConfig(hub_id=HUB_ID, names=names))  # fmt: skip
        self.hub.start([*LOCAL, GW])
        self.clients = {code: dev.client(connect(names.agency_user(code)), code, names) for code in LOCAL}
        self.runtime = self.gateway_runtime()

    # --- set-up ------------------------------------------------------------------------------
    def write_operator_file(self, relay: str) -> None:
        entries = [
            {"code": GW, "name": "Cổng Trục liên thông văn bản quốc gia", "kind": "gateway", "relay": relay},
            {"code": SO_TC, "name": "Sở Tài chính tỉnh Nghệ An"},
            {"code": SO_YT, "name": "Sở Y tế tỉnh Nghệ An"},
        ]
        self.operator_file.write_text(json.dumps({"agencies": entries}, ensure_ascii=False), encoding="utf-8")

    def plugin(self) -> AxisGateway:
        return AxisGateway.from_config(self.gateway_config, GatewayContext(GW, self.tmp / "gateway"))

    def sync(self) -> Any:
        """What ``vb agencies sync`` does, through the gateway plugin: the axis's list, applied."""
        _, previous = self.synced.load()
        plan = plan_sync(previous, self.plugin().agencies(), via=GW, source=self.axis.url,
                         today=datetime.now(UTC).date(), local=PROVINCE_BODIES)  # fmt: skip
        return self.synced.apply(plan, by="test", source=self.axis.url, at=datetime.now(UTC))

    def gateway_runtime(self) -> GatewayRuntime:
        client = self.keys.dev.client(self.connect(self.names.agency_user(GW)), GW, self.names)
        return GatewayRuntime(self.plugin(), client, ledger=Ledger(self.tmp / "gateway-ledger.sqlite3"),
                              backoff=Backoff(initial=1.0, jitter=0.0), clock=self.clock)  # fmt: skip

    def restart_gateway(self) -> None:
        """The gateway's process dies (nothing acknowledged) and starts again."""
        self.runtime.client.transport.close()
        self.runtime.ledger.close()
        self.runtime = self.gateway_runtime()

    def close(self) -> None:
        self.runtime.client.transport.close()
        self.runtime.ledger.close()
        for client in self.clients.values():
            client.transport.close()
        self.hub_transport.close()
        self.store.close()
        self.axis.stop()

    # --- moving things -----------------------------------------------------------------------
    def pump(self, rounds: int = 40, wait: float = 0.0) -> list[GatewayReport]:
        """Run the hub and the gateway until nothing moves; the fake clock jumps past any backoff."""
        reports, quiet = [], 0
        for _ in range(rounds):
            report = self.runtime.step()
            reports.append(report)
            moved = self.hub_transport.drain(wait)
            self.clock.now += 3600
            quiet = quiet + 1 if (moved == 0 and report.idle and not report.waiting) else 0
            if quiet >= (2 if wait == 0 else 4):
                break
        return reports

    def inbox(self, code: str, timeout: float = 0.0) -> list[Incoming]:
        client, got = self.clients[code], []
        while (incoming := client.fetch(timeout)) is not None:
            client.ack(incoming)
            got.append(incoming)
        return got

    # --- the other axis's side ---------------------------------------------------------------
    def system_of(self, code102: str) -> str:
        """The system hosting ``code102`` on the axis (the province's own: the gateway's system)."""
        return next((a.system for a in self.remote if a.edxml_code == code102), GW_SYSTEM)

    def axis_code(self, code102: str) -> str:
        """The axis's own code of an agency it lists (a code it does not list, the province's, as is)."""
        return next((a.code for a in self.remote if a.edxml_code == code102), code102)

    def dms(self, code102: str) -> AxisClient:
        system = self.system_of(code102)
        return AxisClient(self.axis.url, system_id=system, secret=self.systems[system], timeout=5)

    def remote_sends(self, package: Edoc | StatusPackage, key: SigningKey | None = None) -> str:
        """A remote agency's DMS posts ``package`` (signed with ``key``, or unsigned) to the axis."""
        raw = write_package(package)
        body = sign_package(raw, key) if key is not None else raw
        if isinstance(package, StatusPackage):
            messagetype, to = "status", [package.response_for.organ_id or UBND]
        else:
            messagetype, to = "edoc", list(package.recipients)
        return self.dms(package.from_.organ_id).send_edoc(
            body, from_=self.axis_code(package.from_.organ_id), to=[self.axis_code(c) for c in to],
            messagetype=messagetype,
        )  # fmt: skip

    def received_by(
        self, code102: str, messagetype: str = "edoc"
    ) -> list[tuple[Message, Edoc | StatusPackage]]:
        """What reached ``code102``'s system on the axis (every state), read."""
        found = self.axis.mailbox(self.system_of(code102), messagetype, pending_only=False)
        return [(m, read_package(m.package).package) for m in found if self.axis_code(code102) in m.to]


def remote_status(
    sender: str, about: Edoc, code: StatusCode, description: str | None = None
) -> StatusPackage:
    return StatusPackage(
        from_=Organization(sender),
        response_for=ResponseFor(
            about.from_.organ_id, str(about.code), about.promulgation_info.promulgation_date,
            about.effective_document_id,
        ),
        status_code=code,
        description=description or code.vietnamese,
        timestamp=datetime(2026, 11, 24, 10, 0, int(code.value)),
    )  # fmt: skip


__all__ = [
    "BTC", "BYT", "DA_NANG", "GW", "GW_SYSTEM", "HA_NOI", "LOCAL", "SO_TC", "SO_YT", "UBND", "VPCP",
    "Keys", "Province", "letter", "make_keys", "remote_status",
]  # fmt: skip
