"""End to end through three connectors: a folder-DMS at Văn phòng Chính phủ sends one letter to an
SQL-DMS in a province and, through the axis bridge, to an agency on another axis (the stand-in).
Every status comes back to the sender: 01 from each, 03/05/06 from the SQL-DMS, 03 from the agency
on the other axis. On the in-memory broker, and on RabbitMQ in a vhost of its own (SQLite and
PostgreSQL for the SQL-DMS)."""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectors import sql_schema
from connectors.axis_bridge import AxisBridgeConnector
from connectors.axis_client import AxisClient
from connectors.axis_standin import AxisStandIn, StandInAgency
from connectors.folder import FolderConnector, write_atomically
from connectors.sql import SqlConnector
from vbcore.connector import Connector, ConnectorContext
from vbcore.connector.ledger import Ledger
from vbcore.connector.runtime import ConnectorRuntime
from vbcore.directory import Agency, Directory
from vbcore.edxml import read_package, write_package
from vbcore.hub.config import HubConfig
from vbcore.model import (
    Edoc,
    Organization,
    ResponseFor,
    SignerInfo,
    StatusPackage,
)
from vbcore.retry import Backoff
from vbcore.security.signing import SignaturePolicy, TrustStore, verify_package
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.testing import devworld
from vbcore.testing.conformance_world import PDF, FakeClock
from vbcore.testing.devworld import DevKeys
from vbcore.transport import Transport
from vbcore.transport.names import Names

VPCP = "000.00.00.G22"  # Văn phòng Chính phủ: the folder-DMS
BYT = "000.00.00.G18"  # Bộ Y tế, on the other axis: the bridge stands in for it on vbus
BYT_ON_AXIS = "BYT"  # its code on its own axis (getAgenciesList maps it to code102 = BYT)
BRIDGE_SYSTEM, BYT_SYSTEM = "vbus-bridge", "byt-qlvb"
SECRETS = {BRIDGE_SYSTEM: secrets.token_hex(8), BYT_SYSTEM: secrets.token_hex(8)}


@dataclass
class Deployment:
    """A hub, three connector runtimes and the other axis, stepped by hand with a fake clock."""

    tmp: Path
    connect: Callable[[str], Transport]
    names: Names
    province: str
    dms_url: str
    axis: AxisStandIn
    wait: float
    clock: FakeClock = field(default_factory=FakeClock)
    runtimes: dict[str, ConnectorRuntime] = field(default_factory=dict)

    def start(self, hub_id: str, dev: DevKeys, directory: Directory) -> None:
        self.hub_transport = self.connect(hub_id)
        config = HubConfig(hub_id=hub_id, names=self.names)
        self.hub = dev.hub(self.hub_transport, open_store("sqlite://"), config, directory)
        self.hub.start([VPCP, self.province, BYT])
        connectors: dict[str, Callable[[ConnectorContext], Connector]] = {
            VPCP: lambda c: FolderConnector.from_config(
                {"root": str(self.tmp / "vpcp"), "settle_seconds": 0}, c
            ),
            self.province: lambda c: SqlConnector.from_config({"url": self.dms_url}, c),
            BYT: lambda c: AxisBridgeConnector.from_config(
                {
                    "url": self.axis.url,
                    "system_id": BRIDGE_SYSTEM,
                    "secret": SECRETS[BRIDGE_SYSTEM],
                    "timeout": 10.0,
                },
                c,
            ),
        }
        for code, factory in connectors.items():
            work = self.tmp / "work" / code
            work.mkdir(parents=True)
            client = dev.client(self.connect(self.names.agency_user(code)), code, self.names)
            self.runtimes[code] = ConnectorRuntime(
                factory(ConnectorContext(code, work)),
                client,
                ledger=Ledger(work / "ledger.sqlite3"),
                backoff=Backoff(initial=1.0, jitter=0.0),
                clock=self.clock,
            )

    def pump_until(self, done: Callable[[], bool], rounds: int = 60) -> None:
        for _ in range(rounds):
            if done():
                return
            for runtime in self.runtimes.values():
                runtime.step()
            self.hub_transport.drain(self.wait)
            self.clock.advance(3600)
        assert done(), "the deployment stopped moving before the scenario finished"

    def close(self) -> None:
        for runtime in self.runtimes.values():
            runtime.close()
            runtime.client.transport.close()
            runtime.ledger.close()
        self.hub_transport.close()

    def vpcp_statuses(self, document_id: str) -> list[tuple[str, str]]:
        folder = self.tmp / "vpcp" / "statuses"
        records = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
        records.sort(key=lambda r: (r["timestamp"] or "", r["code"]))
        return [(r["code"], r["from"]) for r in records if r["document_id"] == document_id]


def letter(province: str) -> Edoc:
    names = {VPCP: "Văn phòng Chính phủ", BYT: "Bộ Y tế", province: "Sở Y tế (kiểm thử)"}

    def org(code: str) -> Organization:
        return Organization(code, names[code])

    return devworld.letter(
        VPCP, [province, BYT], str(random.randrange(100, 10_000)), notation="VPCP-KGVX", org=org, pdf=PDF,
        subject="V/v triển khai tiêm chủng mở rộng năm 2027",
        signer_info=SignerInfo("KT. BỘ TRƯỞNG, CHỦ NHIỆM", "Phó Chủ nhiệm", "Nguyễn Văn Thử"),
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, DevKeys]:
    """(hub id, province unit code, keys): the province is a random unit of Thanh Hóa (H56)."""
    province = f"{random.randrange(100, 1000)}.{random.randrange(10, 100)}.{random.randrange(10, 100)}.H56"
    hub_id = f"vbe-hub-{uuid.uuid4().hex[:8]}"
    dev = DevKeys.create(
        tmp_path_factory.mktemp("e2e-pki"),
        [
            (hub_id, "vbus hub"),
            (VPCP, "Văn phòng Chính phủ"),
            (province, "Sở Y tế (kiểm thử)"),
            (BYT, "Bộ Y tế (qua cầu nối trục)"),
        ],
    )
    return hub_id, province, dev


@pytest.fixture
def axis() -> Iterator[AxisStandIn]:
    byt = StandInAgency(BYT_ON_AXIS, BYT_SYSTEM, "Bộ Y tế", code102=BYT)
    with AxisStandIn(SECRETS, [byt], default_system=BRIDGE_SYSTEM) as axis:
        yield axis


def deploy(
    tmp: Path,
    kind: str,
    dms_url: str,
    axis: AxisStandIn,
    pki: Any,
    request: pytest.FixtureRequest,
) -> Deployment:
    hub_id, province, dev = pki
    prefix = f"vbe{uuid.uuid4().hex[:8]}"
    # Broker users are broker-wide: this deployment's agency users live under its own prefix.
    names = Names(prefix=prefix, hub_user=hub_id, user_prefix=f"{prefix}-")
    cleanups: list[Callable[[], Any]] = []
    if kind == "memory":
        from vbcore.transport.memory import InMemoryBroker, InMemoryTransport

        broker = InMemoryBroker()

        def memory(user: str) -> Transport:
            return InMemoryTransport(broker, user, names)

        connect: Callable[[str], Transport] = memory
    else:
        from vbcore.testing.conformance_rabbitmq import rabbitmq_transports

        connect = rabbitmq_transports(
            request.getfixturevalue("amqp_url"), names, [VPCP, province, BYT], cleanups
        )
    units = [Agency(province, "Sở Y tế (kiểm thử)", "unit", parent="000.00.00.H56")]
    directory = Directory.default().merged_with(Directory.from_agencies(units))
    sql_schema.create_schema(db := sql_schema.connect(dms_url))
    db.close()
    d = Deployment(tmp, connect, names, province, dms_url, axis, 0.0 if kind == "memory" else 0.05)
    d.start(hub_id, dev, directory)
    request.addfinalizer(lambda: [c() for c in reversed(cleanups)])
    request.addfinalizer(d.close)
    return d


def run_the_scenario(d: Deployment, trust: TrustStore) -> None:
    edoc = letter(d.province)
    doc_id = edoc.effective_document_id
    (d.tmp / "vpcp" / "outbox").mkdir(parents=True, exist_ok=True)
    write_atomically(d.tmp / "vpcp" / "outbox" / "cong-van.edxml", write_package(edoc))

    # 1. The letter leaves the folder-DMS, reaches the SQL-DMS and, through the bridge, the other axis.
    d.pump_until(lambda: len(d.vpcp_statuses(doc_id)) == 2)
    assert sorted(d.vpcp_statuses(doc_id)) == sorted([("01", d.province), ("01", BYT)])
    dms = sql_schema.connect(d.dms_url)
    try:
        assert dms.query("SELECT document_id, sender FROM vb_incoming") == [(doc_id, VPCP)]
        byt = AxisClient(d.axis.url, system_id=BYT_SYSTEM, secret=SECRETS[BYT_SYSTEM], timeout=10)
        [item] = byt.received_edoc_list()
        assert (item.from_, item.to) == (VPCP, (BYT_ON_AXIS,))
        package = byt.get_edoc(item.doc_id)
        assert (
            verify_package(package, trust=trust, policy=SignaturePolicy()).signer_agency == VPCP
        )  # VPCP's signature, unchanged
        byt.update_status(item.doc_id, "done")

        # 2. The province's clerks register, process and finish it; the ministry registers it.
        for code, what in (("03", "Đã vào sổ văn bản đến"), ("05", "Đang xử lý"), ("06", "Hoàn thành")):
            sql_schema.add_status_event(dms, doc_id, code, what)
        reply = StatusPackage(
            from_=Organization(BYT),
            response_for=ResponseFor(VPCP, document_id=doc_id),
            status_code=StatusCode.REGISTERED,
            description="Bộ Y tế đã vào sổ",
        )
        byt.send_edoc(write_package(reply), from_=BYT_ON_AXIS, to=[VPCP], messagetype="status")
        d.pump_until(lambda: len(d.vpcp_statuses(doc_id)) == 6)
    finally:
        dms.close()
    by_sender: dict[str, list[str]] = {}
    for code, sender in d.vpcp_statuses(doc_id):
        by_sender.setdefault(sender, []).append(code)
    assert by_sender == {d.province: ["01", "03", "05", "06"], BYT: ["01", "03"]}
    assert d.axis.mailbox(BRIDGE_SYSTEM) == []  # everything the bridge took was acknowledged
    assert read_package(package).package == read_package(write_package(edoc)).package


@pytest.fixture
def sqlite_dms(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/qlvb-so-y-te.sqlite3"


@pytest.fixture
def postgres_dms(pg_dsn: str) -> Iterator[str]:
    schema = f"vbus_e2e_{uuid.uuid4().hex[:12]}"
    yield f"{pg_dsn}?schema={schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_letter_reaches_an_sql_dms_and_another_axis_and_every_status_comes_back(
    tmp_path: Path, sqlite_dms: str, axis: AxisStandIn, pki: Any, request: pytest.FixtureRequest
) -> None:
    run_the_scenario(deploy(tmp_path, "memory", sqlite_dms, axis, pki, request), pki[2].trust)


@pytest.mark.rabbitmq
def test_the_same_letter_on_rabbitmq(
    tmp_path: Path, sqlite_dms: str, axis: AxisStandIn, pki: Any, request: pytest.FixtureRequest
) -> None:
    run_the_scenario(deploy(tmp_path, "rabbitmq", sqlite_dms, axis, pki, request), pki[2].trust)


@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_the_same_letter_on_rabbitmq_with_the_sql_dms_on_postgresql(
    tmp_path: Path, postgres_dms: str, axis: AxisStandIn, pki: Any, request: pytest.FixtureRequest
) -> None:
    run_the_scenario(deploy(tmp_path, "rabbitmq", postgres_dms, axis, pki, request), pki[2].trust)
