"""The hub reads what real producers send as `vb validate` does, keeps each named warning with the
document (`vb track` shows them), delivers once to an agency listed under its old and new codes, and
refuses unsigned packages unless its policy accepts them (issue 11, item 1; in-memory broker, SQLite)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from producers import SDK_PLACEHOLDER, TRACE_END
from test_hub_support import CLOSED_QUANG_NAM, G22, H15, H24, HUB_ID, World, edoc

from vbcore.cli import vb
from vbcore.deviations import Deviation
from vbcore.edxml import write_package
from vbcore.hub.pipeline import Hub
from vbcore.model import DocumentType, Edoc, TraceHeader
from vbcore.security.signing import SignaturePolicy, sign_package
from vbcore.store.timeline import read_timeline
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


def warnings_kept(world: World, document_id: str) -> list[Deviation]:
    return list(read_timeline(world.store, world.directory, document_id).warnings)


def type_71(number: str = "71") -> Edoc:
    """A letter with the DocumentType/Type the national axis delivered in October 2025."""
    return replace(edoc(G22, [H24], number), document_type=DocumentType(71, None, "Công văn"))


def test_a_type_71_document_is_delivered_and_its_warning_kept_with_it(world: World) -> None:
    doc = type_71()
    world.client(G22).submit(doc)
    world.pump()
    [incoming] = world.inbox(H24)
    assert isinstance(incoming.package, Edoc)
    assert incoming.package.document_type.type == 71
    assert warnings_kept(world, doc.effective_document_id) == [Deviation("document-type-code", "71")]


def test_vb_track_shows_the_warnings_in_the_chosen_language(world: World, tmp_path: Path) -> None:
    doc = replace(type_71("72"), trace_headers=(TraceHeader("", datetime(2026, 11, 24, 9, 0)),))
    world.client(G22).submit(doc)
    world.pump()
    store = f"sqlite:///{tmp_path / 'hub.db'}"
    english = CliRunner(env={"VBUS_LANG": "en"}).invoke(
        vb, ["track", doc.effective_document_id, "--store", store]
    )
    assert english.exit_code == 0, english.output
    assert "The hub read the package with warnings:" in english.output
    assert "[document-type-code] DocumentType/Type 71 is not QCVN 102's 1 or 2" in english.output
    assert "[trace-hop-without-agency] TraceHeader #1: no agency named" in english.output
    assert "warning:" not in english.output  # the trace's raw events are not shown twice
    vietnamese = CliRunner(env={"VBUS_LANG": None}).invoke(vb, ["track", doc.effective_document_id,
                                                               "--store", store])  # fmt: skip
    assert "Trục đọc gói tin với cảnh báo:" in vietnamese.output
    assert (
        "[document-type-code] DocumentType/Type 71 không phải mã 1 hoặc 2 của QCVN 102" in vietnamese.output
    )
    as_json = CliRunner().invoke(vb, ["track", doc.effective_document_id, "--store", store, "--json"])
    codes = [w["code"] for w in json.loads(as_json.output)["warnings"]]
    assert codes == ["document-type-code", "trace-hop-without-agency"]


def test_a_redelivered_document_keeps_each_warning_once(world: World) -> None:
    doc = type_71("73")
    signed = sign_package(write_package(doc), world.keys[G22])
    for _ in range(2):  # a publisher's retry: the same message again
        world.client(G22).submit_signed(signed, kind=n.KIND_EDOC, message_id="m-73")
        world.pump()
    assert warnings_kept(world, doc.effective_document_id) == [Deviation("document-type-code", "71")]


def test_one_agency_under_its_closed_and_its_current_code_is_delivered_once_with_a_warning(
    world: World,
) -> None:
    doc = edoc(G22, [CLOSED_QUANG_NAM, H15, H24], "74")
    world.client(G22).submit(doc)
    world.pump()
    assert len(world.inbox(H15)) == 1
    assert len(world.inbox(H24)) == 1
    assert world.inbox(G22) == []  # no 02: nothing was refused
    pairs = {p.recipient for p in world.store.pairs(doc.effective_document_id)}
    assert pairs == {H15, H24}
    assert warnings_kept(world, doc.effective_document_id) == [
        Deviation("addressee-old-and-new-code", f"{CLOSED_QUANG_NAM} -> {H15}")
    ]


def test_a_closed_code_alone_is_still_refused_naming_its_successor(world: World) -> None:
    world.client(G22).submit(edoc(G22, [CLOSED_QUANG_NAM, H24], "75"))
    world.pump()
    [refusal] = [i.package for i in world.inbox(G22)]
    assert H15 in (refusal.description or "")  # type: ignore[union-attr]


def test_a_schema_refusal_reaches_the_sender_with_line_and_column(world: World) -> None:
    signed = sign_package(write_package(edoc(G22, [H24], "76")), world.keys[G22])
    broken = signed.replace(b"<edXML:Subject>", b"<edXML:Urgency>cao</edXML:Urgency><edXML:Subject>", 1)
    world.client(G22).submit_signed(broken, kind=n.KIND_EDOC, message_id="m-76")
    world.pump()
    [refusal] = [i.package for i in world.inbox(G22)]
    text = refusal.description or ""  # type: ignore[union-attr]
    assert "Urgency" in text
    assert "(dòng " in text
    assert ", cột " in text


def unsigned_with(world: World, number: str, extra: bytes = b"") -> bytes:
    raw = write_package(edoc(G22, [H24], number))
    return raw.replace(TRACE_END.encode(), TRACE_END.encode() + extra, 1) if extra else raw


def test_an_unsigned_package_is_refused_by_default(world: World) -> None:
    world.client(G22).submit_signed(unsigned_with(world, "77"), kind=n.KIND_EDOC, message_id="m-77")
    world.pump()
    [record] = world.store.refusals(sender=G22)
    assert record.reason == "signature-missing"
    placeholder = unsigned_with(world, "78", b"\n" + SDK_PLACEHOLDER.encode())
    world.client(G22).submit_signed(placeholder, kind=n.KIND_EDOC, message_id="m-78")
    world.pump()
    assert [r.reason for r in world.store.refusals(sender=G22)] == ["signature-missing", "signature-invalid"]


def test_a_hub_whose_policy_accepts_unsigned_packages_delivers_them_with_the_warning(world: World) -> None:
    assert world.hub is not None
    world.hub.transport.close()
    transport = InMemoryTransport(world.broker, world.names.hub_user, world.names)
    policy = SignaturePolicy(require_signature=False)
    lenient = Hub(transport, world.store, key=world.keys[HUB_ID], trust=world.trust,
                  directory=world.directory, policy=policy, config=world.config)  # fmt: skip
    lenient.start(list(world.agencies))
    world.hub = lenient
    doc = edoc(G22, [H24], "79")
    world.client(G22).submit_signed(write_package(doc), kind=n.KIND_EDOC, message_id="m-79")
    world.pump()
    [pair] = world.store.pairs(doc.effective_document_id)
    assert pair.state == "forwarded"
    assert warnings_kept(world, doc.effective_document_id) == [Deviation("unsigned")]
    # Unsigned, the package is bound to its sender by the broker user alone: nobody sends as another.
    world.client(H24).submit_signed(
        write_package(edoc(G22, [H15], "80")), kind=n.KIND_EDOC, message_id="m-80"
    )
    world.pump()
    assert [r.reason for r in world.store.refusals(sender=H24)] == ["sender-not-authorised"]
