"""A running hub takes a changed directory without a restart, and what happens to mail in flight to or
from a code that closed while it travelled."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_hub_support import G09, G22, H15, H24, HUB_ID, World, edoc, status

from vbcore.directory.watch import DirectoryFiles
from vbcore.model import StatusPackage
from vbcore.status import StatusCode
from vbcore.store.api import DeliveryState
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]

UNIT = "000.00.77.H24"  # a department the operator adds while the hub runs


def write_directory(path: Path, agencies: list[dict[str, Any]]) -> None:
    """Replace the operator's file as an editor or ``vb agencies sync`` does (a rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"agencies": agencies}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


@pytest.fixture
def operator_file(tmp_path: Path, world: World) -> Path:
    path = tmp_path / "operator.json"
    write_directory(path, [])
    files = DirectoryFiles([path], interval=0.0)
    assert world.hub is not None
    world.hub.directory_source = files
    return path


def refusal_texts(world: World, code: str) -> list[tuple[str, str]]:
    found = []
    for incoming in world.inbox(code):
        assert incoming.kind == n.KIND_REFUSAL
        assert isinstance(incoming.package, StatusPackage)
        found.append((incoming.headers[n.REFUSAL_REASON], incoming.package.description or ""))
    return found


def close_da_nang(path: Path, closed_on: str = "2026-11-24") -> None:
    write_directory(path, [{"code": H15, "name": "UBND thành phố Đà Nẵng", "closed": True,
                            "successor": H24, "closed_on": closed_on}])  # fmt: skip


def test_a_unit_added_while_the_hub_runs_gets_mail_at_once(world: World, operator_file: Path) -> None:
    world.client(G22).submit(edoc(G22, [UNIT], "1"))
    world.pump()
    assert [reason for reason, _ in refusal_texts(world, G22)] == ["unknown-agency"]
    write_directory(operator_file, [{"code": UNIT, "name": "Sở Thử nghiệm Hà Nội"}])
    doc = edoc(G22, [UNIT], "2")
    world.client(G22).submit(doc)
    world.pump()
    assert world.hub is not None
    delivered = world.hub.transport.get(world.names.inbox(UNIT))  # the unit has no client here
    assert delivered is not None
    assert delivered.message_id == f"{doc.effective_document_id}|{UNIT}"
    assert world.inbox(G22) == []


def test_a_document_to_a_code_that_closed_before_the_hub_took_it_is_refused_naming_the_successor(
    world: World, operator_file: Path
) -> None:
    doc = edoc(G22, [H15, G09], "3")
    world.client(G22).submit(doc)  # in the ingress queue, not yet taken...
    close_da_nang(operator_file)  # ...when the decree takes effect
    world.pump()
    [(reason, text)] = refusal_texts(world, G22)
    assert reason == "closed-agency"
    assert H24 in text
    assert "kế thừa" in text
    assert [i.package for i in world.inbox(G09)] == [doc]  # the other recipient still gets it
    states = {p.recipient: p.state for p in world.store.pairs(doc.effective_document_id)}
    assert states == {H15: DeliveryState.REFUSED_BY_HUB, G09: DeliveryState.FORWARDED}


def test_a_document_already_in_the_closed_codes_inbox_stays_delivered_and_its_answers_still_count(
    world: World, operator_file: Path
) -> None:
    doc = edoc(G22, [H15], "4")
    world.client(G22).submit(doc)
    world.pump()
    close_da_nang(operator_file)
    [got] = world.inbox(H15)  # the hub does not take back what it delivered
    assert got.package == doc
    world.client(H15).submit(status(H15, doc, StatusCode.REGISTERED))  # answered by the closed code
    world.pump()
    [answer] = world.inbox(G22)
    assert answer.kind == n.KIND_STATUS
    assert answer.signer == H15
    [pair] = world.store.pairs(doc.effective_document_id)
    assert pair.state == "03"


def test_a_document_from_a_code_that_closed_while_it_travelled_is_delivered(
    world: World, operator_file: Path
) -> None:
    close_da_nang(operator_file, closed_on="2026-11-25")  # the letters are dated 2026-11-24
    doc = edoc(H15, [G09], "5")
    world.client(H15).submit(doc)
    world.pump()
    assert [i.package for i in world.inbox(G09)] == [doc]


def test_a_document_from_a_closed_code_dated_after_it_closed_is_refused_its_successor_sends_it(
    world: World, operator_file: Path
) -> None:
    close_da_nang(operator_file, closed_on="2026-11-24")
    world.client(H15).submit(edoc(H15, [G09], "6"))
    world.pump()
    [(reason, text)] = refusal_texts(world, H15)
    assert reason == "closed-sender"
    assert "mã cơ quan gửi 000.00.00.H15 đã ngừng sử dụng từ 2026-11-24" in text
    assert f"cơ quan kế thừa {H24} ban hành thay" in text
    assert world.inbox(G09) == []


def test_the_hub_signs_its_refusals_as_itself(world: World, operator_file: Path) -> None:
    close_da_nang(operator_file)
    world.client(G22).submit(edoc(G22, [H15], "7"))
    world.pump()
    [refusal] = world.inbox(G22)
    assert refusal.signer == HUB_ID
