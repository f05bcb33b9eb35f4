"""The deliveries in hand from a lost connection, on the real broker: a batch an outage held, partly done
(its copies out, its forwarded marks not written), whose connection is then lost (``Hub._drop_stale``)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_e2e_rabbitmq import A1, B1, Bus, bus, dev, gathered, pki, started_hub  # noqa: F401
from test_hub_support import edoc

from vbcore.errors import StoreError
from vbcore.model import Edoc
from vbcore.operations.audit import audit
from vbcore.security.pki import DevPki
from vbcore.security.trust import TrustStore
from vbcore.store import open_store
from vbcore.store.api import DeliveryState
from vbcore.transport.rabbitmq import RabbitMQTransport


def test_a_held_batch_whose_connection_is_lost_is_let_go_and_done_once_from_the_broker(
    bus: Bus, pki: DevPki, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    mib = 1024 * 1024
    docs = [edoc(A1, [B1], str(i)) for i in range(3)]
    for doc in docs:
        bus.client(A1).submit(doc)
    hub = started_hub(bus, max_bytes=8 * mib, inflight_bytes=24 * mib)
    transport = hub.transport
    assert isinstance(transport, RabbitMQTransport)
    real_mark = hub.store.mark_forwarded
    failed: list[int] = []

    def mark_forwarded(*args: Any, **kwargs: Any) -> None:
        if not failed:  # the store goes away once the copies are out
            failed.append(1)
            raise StoreError("database is locked")
        real_mark(*args, **kwargs)

    monkeypatch.setattr(hub.store, "mark_forwarded", mark_forwarded)
    try:
        gathered(hub, 1.0)
        assert len(hub._pending) == 3
        assert hub.flush() == 3
        assert len(hub._held) == 3
        assert hub.metrics.held == 3
        assert hub.requeued == 3
        transport._conn.close()  # the connection is lost while the batch is held
        transport._reconnect(None)
        assert hub.flush() == 0  # the held ones are let go; the pause still holds
        assert hub._held == []
        assert hub._in_hand == 0
        assert hub.metrics.held == 0  # /readyz no longer counts them
        deadline = time.monotonic() + 30
        done = 0
        while done < 3 and time.monotonic() < deadline:
            gathered(hub, 0.5)
            time.sleep(0.1)
            done += hub.flush()
        assert done == 3  # once each, from the broker
        assert hub.metrics.held == 0
        assert hub._held == []
        for doc in docs:
            [pair] = hub.store.pairs(doc.effective_document_id)
            assert pair.state == DeliveryState.FORWARDED
    finally:
        transport.close()
        hub.store.close()
    got = [d.package for d in bus.collect(B1, 7, timeout=5)]
    numbers = sorted(p.code.code_number for p in got if isinstance(p, Edoc))
    assert set(numbers) == {"0", "1", "2"}
    store = open_store(bus.store_url)
    try:
        report = audit(store, TrustStore.from_pem_files([pki.ca_cert_path]))
        assert report.clean, (report.chain, report.store)
        assert report.documents == 3
    finally:
        store.close()
