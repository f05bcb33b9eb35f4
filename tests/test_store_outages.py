"""The store goes away under a running hub: nothing is parked, everything waits on the broker, and the
hub carries on by itself once the store is back (issue 10: a 20 s PostgreSQL outage used to park 504
documents and 1,008 01s, a 0.2 s restart three 01s, a full SQLite disk 1,184).

PostgreSQL is a server of this module's own (``own_postgres``: restarting the shared one would break
every other run); the broker is the shared one, in a vhost of each test's own (nothing here touches it
beyond that). The hub is ``vb hub run``'s loop with its production pauses; the traffic is documents
from A1 to B1, each answered by a 01 that the hub records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import require
from own_postgres import OwnPostgres, bin_dir, start_postgres
from test_e2e_rabbitmq import A1, B1, HUB_PASSWORD, Bus
from test_hub_failover import RunningHub
from test_hub_support import HUB_ID, edoc, make_pki, status
from test_transport_support import management_url

from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.store.sql import SqlStore
from vbcore.testing.devworld import DevKeys
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: stops its own PostgreSQL for 20 s

COUNT = 120  # documents a test, each with its 01


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    require("PostgreSQL", bin_dir() is not None)
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    pki: DevPki = make_pki(tmp_path_factory.mktemp("pki"))
    pki = init_dev_pki(pki.directory, [(A1, A1), (B1, B1)])
    return DevKeys.load(pki, {*pki.agencies, HUB_ID})


def make_bus(amqp_url: str, prefix: str, dev: DevKeys, store_url: str) -> Bus:
    names = Names(prefix="vbus", hub_user=f"{prefix}-hub", user_prefix=f"{prefix}-",
                  inbox_secret=f"inbox secret of {prefix}")
    admin = BrokerAdmin(management_url(amqp_url), vhost=prefix, names=names)
    admin.ensure_vhost()
    admin.add_hub_user(HUB_PASSWORD)
    bus = Bus(amqp_url, prefix, names, admin, dev, store_url)
    bus.add_agencies([A1, B1])
    return bus


def close_bus(bus: Bus) -> None:
    for client in bus.clients.values():
        client.transport.close()
    for code in bus.added:
        bus.admin.remove_agency(code)
    bus.admin.delete_vhost()
    bus.admin.remove_user(bus.names.hub_user)


@pytest.fixture
def pg_bus(amqp_url: str, unique_prefix: str, dev: DevKeys, own_pg: OwnPostgres) -> Iterator[Bus]:
    bus = make_bus(amqp_url, unique_prefix, dev, own_pg.dsn(schema=unique_prefix))
    try:
        yield bus
    finally:
        close_bus(bus)


@pytest.fixture
def sqlite_bus(amqp_url: str, unique_prefix: str, dev: DevKeys, tmp_path: Path) -> Iterator[Bus]:
    bus = make_bus(amqp_url, unique_prefix, dev, f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        yield bus
    finally:
        close_bus(bus)


def run_traffic(
    bus: Bus, hub: RunningHub, fault: Callable[[], None], *, at: int = COUNT // 4
) -> dict[str, int]:
    """Send ``COUNT`` documents, ``fault()`` (in a thread) once ``at`` have arrived, answer every
    document with a 01 and wait until the store has every 01; return what was seen during the fault."""
    docs = [edoc(A1, [B1], f"s{i}") for i in range(COUNT)]
    seen = {"ingress_max": 0}
    sent = 0
    faulting = threading.Thread(target=fault, daemon=True)
    received: dict[str, int] = {}
    deadline = time.monotonic() + 240
    while len(received) < COUNT and time.monotonic() < deadline:
        for doc in docs[sent:sent + 2]:  # a steady stream, across the fault
            bus.client(A1).submit(doc)
        sent += 2
        incoming = bus.client(B1).fetch(timeout=0.2)
        if incoming is not None:
            doc_id = incoming.package.effective_document_id
            received[doc_id] = received.get(doc_id, 0) + 1
            bus.client(B1).submit(status(B1, incoming.package, StatusCode.ARRIVED))
            bus.client(B1).ack(incoming)
        if len(received) >= at and not faulting.ident:
            faulting.start()
        if faulting.is_alive():
            seen["ingress_max"] = max(seen["ingress_max"], bus.depth(bus.names.ingress_queue))
        assert hub.thread.is_alive(), hub.error
    faulting.join(timeout=120)
    assert sorted(received) == sorted(d.effective_document_id for d in docs)
    assert set(received.values()) == {1}
    store = open_store(bus.store_url)
    try:
        while time.monotonic() < deadline:
            last = [store.pairs(d.effective_document_id)[0].last_status for d in docs]
            if last.count(StatusCode.ARRIVED.value) == COUNT:
                break
            time.sleep(0.5)
        assert last.count(StatusCode.ARRIVED.value) == COUNT, f"{COUNT - last.count('01')} 01s not recorded"
        assert store.refusals() == []
    finally:
        store.close()
    assert bus.depth(bus.names.parked_queue) == 0, "an outage of the store parked messages"
    assert hub.thread.is_alive(), hub.error
    seen["held"] = hub.hub.requeued
    return seen


def test_a_postgresql_restart_mid_stream_parks_nothing_and_every_01_is_recorded(
    pg_bus: Bus, own_pg: OwnPostgres
) -> None:
    hub = RunningHub(pg_bus, pg_bus.hub_url)
    try:
        run_traffic(pg_bus, hub, own_pg.restart)
    finally:
        hub.close()


def test_a_postgresql_outage_of_20_s_keeps_everything_on_the_broker_and_the_hub_resumes_by_itself(
    pg_bus: Bus, own_pg: OwnPostgres
) -> None:
    hub = RunningHub(pg_bus, pg_bus.hub_url)

    def outage() -> None:
        own_pg.halt()
        time.sleep(20)
        own_pg.resume()

    try:
        seen = run_traffic(pg_bus, hub, outage)
    finally:
        hub.close()
    assert seen["held"] > 0, "the hub never met the outage"
    assert seen["ingress_max"] > 0, "nothing waited on the broker"


def test_a_full_sqlite_store_parks_nothing_and_the_hub_resumes_once_there_is_room(sqlite_bus: Bus) -> None:
    hub = RunningHub(sqlite_bus, sqlite_bus.hub_url)
    store = hub.hub.store
    assert isinstance(store, SqlStore)

    def fill_up_then_free() -> None:
        with store._lock:  # the hub's own connection: the limit is per connection
            [(pages,)] = store._db.query("PRAGMA page_count")
            store._db.query(f"PRAGMA max_page_count = {int(pages) + 2}")  # a disk with two pages left
        time.sleep(10)
        with store._lock:
            store._db.query("PRAGMA max_page_count = 1073741823")  # room again

    try:
        seen = run_traffic(sqlite_bus, hub, fill_up_then_free)
    finally:
        hub.close()
    assert seen["held"] > 0, "the store never filled up"
