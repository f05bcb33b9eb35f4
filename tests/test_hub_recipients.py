"""Huge header lists: a cap on the recipients of one package, ONE 02 for every refused recipient of a
package, and planning whose work grows linearly with the recipients (in-memory broker, SQLite store).

Timings are in ``bench/bench_hub_recipients.py``; here the work is counted in store statements and
rows read, which do not depend on the machine."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_hub_support import CLOSED_QUANG_NAM, G22, H24, HUB_ID, FixedClock, World, edoc, status

from vbcore.directory import Agency, Directory
from vbcore.hub.config import DEFAULT_MAX_RECIPIENTS, HubConfig
from vbcore.model import Attachment, Blob, Edoc, ManifestReference, Organization, StatusPackage
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import StatusCode
from vbcore.store import DeliveryState, open_store
from vbcore.testing.devworld import DevKeys

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world

UNITS_OF_G22 = [f"{a:03d}.{b:02d}.01.G22" for a in range(100) for b in range(100)]


def big_directory(count: int) -> Directory:
    """The shipped directory plus ``count`` units of Văn phòng Chính phủ."""
    units = [Agency(code, f"Đơn vị {code}", "unit", parent=G22) for code in UNITS_OF_G22[:count]]
    return Directory.default().merged_with(Directory.from_agencies(units))


@pytest.fixture
def open_big_world(tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]) -> Iterator[Any]:
    worlds: list[World] = []

    def make(units: int, *, max_recipients: int = DEFAULT_MAX_RECIPIENTS) -> World:
        store = open_store(f"sqlite:///{tmp_path / f'hub-{len(worlds)}.db'}")
        dev = DevKeys(pki, keys, TrustStore.from_pem_files([pki.ca_cert_path]))
        config = HubConfig(hub_id=HUB_ID, clock=FixedClock(), max_recipients=max_recipients)
        world = World(store, dev, config=config, directory=big_directory(units))
        world.start_hub()
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.store.close()


def circular(to: Sequence[str], number: str = "1") -> Edoc:
    """A letter from Văn phòng Chính phủ to ``to``."""
    return dataclasses.replace(
        edoc(G22, [], number), to=tuple(Organization(c, organ_name=f"Đơn vị {c}") for c in to)
    )


def refusals_to(world: World, code: str) -> list[StatusPackage]:
    found = []
    for incoming in world.inbox(code):
        assert incoming.signer == HUB_ID
        assert isinstance(incoming.package, StatusPackage)
        found.append(incoming.package)
    return found


# --- the cap ----------------------------------------------------------------------------------------


def test_the_default_cap_is_generous_for_a_circular_to_every_commune_and_province() -> None:
    # 3,321 communes and 34 provinces (QĐ 19/2025/QĐ-TTg) and the ministries: a national circular.
    assert 3_321 + 34 + 30 < DEFAULT_MAX_RECIPIENTS <= 20_000


def test_a_package_over_the_recipient_cap_is_refused_whole_with_one_02(open_big_world: Any) -> None:
    world = open_big_world(0, max_recipients=50)
    to = [f"{a:03d}.00.02.H24" for a in range(51)]  # unknown units: each would be a 02 of its own
    world.client(G22).submit(circular(to))
    world.pump()
    [refusal] = refusals_to(world, G22)
    text = refusal.description or ""
    assert text.startswith("Gói tin gửi đến quá nhiều cơ quan")
    assert "51" in text
    assert "50" in text
    [record] = world.store.refusals(sender=G22)
    assert (record.reason, record.recipient) == ("too-many-recipients", None)
    assert world.parked() == 1
    assert world.store.pairs(edoc(G22, [], "1").effective_document_id) == []


def test_a_package_at_the_cap_is_delivered(open_big_world: Any) -> None:
    world = open_big_world(50, max_recipients=50)
    world.client(G22).submit(circular(UNITS_OF_G22[:50]))
    world.pump()
    pairs = world.store.pairs(edoc(G22, [], "1").effective_document_id)
    assert len(pairs) == 50
    assert {p.state for p in pairs} == {DeliveryState.FORWARDED}


# --- one 02 for the refused recipients of a package -------------------------------------------------


def test_the_refused_recipients_of_one_package_are_named_in_one_02_and_each_recorded(
    open_big_world: Any,
) -> None:
    world = open_big_world(0)
    unknown = [f"{a:03d}.00.02.H24" for a in range(30)]
    world.client(G22).submit(circular([H24, CLOSED_QUANG_NAM, *unknown]))
    world.pump()
    assert len(world.inbox(H24)) == 1  # the deliverable recipient still gets it
    [refusal] = refusals_to(world, G22)
    text = refusal.description or ""
    assert "31 cơ quan" in text
    assert "000.00.00.H15" in text  # the closed code's successor is still named
    assert unknown[0] in text
    assert unknown[-1] not in text  # the list in the 02 is bounded ...
    assert "và 11 cơ quan khác" in text
    records = world.store.refusals(sender=G22)
    assert sorted(r.recipient or "" for r in records) == sorted(
        [CLOSED_QUANG_NAM, *unknown]
    )  # ... not the store
    assert {r.reason for r in records} == {"closed-agency", "unknown-agency"}
    assert world.parked() == 0  # delivered to one: the message itself is done


def test_a_02_for_refused_recipients_that_share_a_reason_carries_that_reason(open_big_world: Any) -> None:
    world = open_big_world(0)
    world.client(G22).submit(circular(["000.00.02.H24", "001.00.02.H24", H24]))
    world.pump()
    [incoming] = world.inbox(G22)
    assert incoming.headers["x-vbus-refusal-reason"] == "unknown-agency"


# --- planning grows linearly ----------------------------------------------------------------------


class Counting:
    """Counts the statements a store runs and the rows it reads, by wrapping its driver."""

    def __init__(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements = 0
        self.rows = 0
        driver = world.store._db  # type: ignore[attr-defined]
        real_execute, real_query = driver.execute, driver.query

        def execute(sql: str, params: Sequence[object] = ()) -> int:
            self.statements += 1
            return int(real_execute(sql, params))

        def query(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
            rows = real_query(sql, params)
            self.statements += 1
            self.rows += len(rows)
            return list(rows)

        monkeypatch.setattr(driver, "execute", execute)
        monkeypatch.setattr(driver, "query", query)

    def take(self) -> tuple[int, int]:
        counts = (self.statements, self.rows)
        self.statements = self.rows = 0
        return counts


def work_for(open_big_world: Any, monkeypatch: pytest.MonkeyPatch, n: int) -> dict[str, tuple[int, int]]:
    world = open_big_world(n)
    last = UNITS_OF_G22[n - 1]  # the recipient that answers: it needs a certificate of its own
    pki = init_dev_pki(world.dev.pki.directory, [(last, last)])
    world.keys[last] = SigningKey.from_files(pki.key_path(last), pki.cert_path(last))
    counting = Counting(world, monkeypatch)
    doc = circular(UNITS_OF_G22[:n])
    refused = circular([*UNITS_OF_G22[:n], *(f"{a:03d}.00.02.H24" for a in range(n))], "2")
    world.client(G22).submit(doc)
    world.pump()
    work = {"document": counting.take()}
    world.client(G22).submit(refused)
    world.pump()
    work["refusals"] = counting.take()
    world.client(last).submit(status(last, doc, StatusCode.ARRIVED))
    world.pump()
    work["status"] = counting.take()
    world.client(G22).submit(status(G22, doc, StatusCode.REVOKE))
    world.pump()
    work["revoke"] = counting.take()
    return work


def test_the_hubs_store_work_grows_linearly_with_the_recipients(
    open_big_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = work_for(open_big_world, monkeypatch, 20), work_for(open_big_world, monkeypatch, 200)
    for what in ("document", "refusals", "revoke"):
        (s_statements, s_rows), (l_statements, l_rows) = small[what], large[what]
        assert l_statements <= 11 * s_statements, (what, small[what], large[what])
        assert l_rows <= 11 * s_rows, (what, small[what], large[what])
    assert large["status"] == small["status"]  # one recipient's receipt costs the same for any circular


def with_attachments(count: int) -> Edoc:
    doc = edoc(G22, [H24], f"att-{count}")
    extra = [
        Attachment(
            f"cid:{uuid.uuid4()}", f"phu-luc-{i}.pdf", Blob(f"%PDF-1.4 {i}".encode()), "application/pdf"
        )
        for i in range(count)
    ]
    refs = [ManifestReference(a.content_id, a.content_type, None, a.name) for a in extra]
    return dataclasses.replace(
        doc, attachments=doc.attachments + tuple(extra), manifest=doc.manifest + tuple(refs)
    )


def test_the_hubs_store_work_does_not_grow_with_the_attachments(
    open_big_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = open_big_world(0)
    counting = Counting(world, monkeypatch)
    work = []
    for count in (1, 300):
        world.client(G22).submit(with_attachments(count))
        world.pump()
        work.append(counting.take())
    assert len(world.inbox(H24)) == 2
    assert work[0] == work[1]
