"""A province's hub in front of a stand-in national axis holding 130 agencies on 88 systems, one
gateway for all of them, end to end in memory: documents both ways, statuses back to the right remote
sender, the remote senders' own signatures judged and recorded, and the axis's error answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gateway_world import (
    BTC,
    BYT,
    DA_NANG,
    GW,
    HA_NOI,
    LOCAL,
    SO_TC,
    UBND,
    VPCP,
    Keys,
    Province,
    letter,
    make_keys,
    remote_status,
)

from vbcore.edxml import write_package
from vbcore.model import Edoc, StatusPackage
from vbcore.security.signing import sign_package
from vbcore.status import StatusCode
from vbcore.store.timeline import read_timeline
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def in_memory(tmp: Path, keys: Keys, **kw: object) -> Province:
    broker, names = InMemoryBroker(), Names()
    return Province(tmp, keys, connect=lambda user: InMemoryTransport(broker, user, names), names=names, **kw)  # type: ignore[arg-type]


@pytest.fixture
def province(tmp_path: Path, keys: Keys) -> Iterator[Province]:
    p = in_memory(tmp_path, keys)
    yield p
    p.close()


def test_the_synced_directory_reaches_every_remote_agency_via_the_gateway(province: Province) -> None:
    directory = province.directory()
    remote = [a.edxml_code for a in province.remote]
    assert len(remote) == 130
    assert {directory.gateway_of(code) for code in remote} == {GW}
    assert directory.gateway_of(UBND) is None  # the province's own stay on the hub


def test_a_circular_to_every_ministry_and_province_leaves_once_per_agency_through_the_gateway(
    province: Province,
) -> None:
    targets = [a.edxml_code for a in province.remote if a.edxml_code.startswith("000.00.00.")]
    assert len(targets) == 88
    doc = letter(UBND, targets, "101", subject="V/v triển khai Nghị quyết của Chính phủ")
    province.clients[UBND].submit(doc)
    province.pump()
    for code in targets:
        [(message, package)] = province.received_by(code)
        assert package == doc
        assert message.from_ == UBND
    assert province.received_by(BYT)[0][0].to == ("BYT",)  # written in the axis's own code
    pairs = province.store.pairs(doc.effective_document_id)
    assert len(pairs) == 88
    assert {p.state for p in pairs} == {"forwarded"}


def test_documents_from_remote_senders_enter_with_their_signatures_judged_and_recorded(
    province: Province, keys: Keys
) -> None:
    sent = {
        BYT: letter(BYT, [UBND], "201", notation="BYT-KHTC"),
        BTC: letter(BTC, [UBND], "202", notation="BTC-NSNN"),
        VPCP: letter(VPCP, [UBND, SO_TC], "203", notation="VPCP-KSTT"),
    }
    province.remote_sends(sent[BYT], keys.dev.keys[BYT])
    province.remote_sends(sent[BTC], keys.foreign)
    province.remote_sends(sent[VPCP], None)
    province.pump()
    got = {i.package.from_.organ_id: i for i in province.inbox(UBND)}
    assert {code: (i.package, i.verdict, i.relayed_by) for code, i in got.items()} == {
        BYT: (sent[BYT], "valid", GW), BTC: (sent[BTC], "foreign-ca", GW), VPCP: (sent[VPCP], "unsigned", GW),
    }  # fmt: skip
    assert [i.package for i in province.inbox(SO_TC)] == [sent[VPCP]]
    assert province.axis.mailbox(province.system_of(UBND)) == []  # acknowledged done on the axis
    verdicts = {}
    for code, doc in sent.items():
        [relay] = read_timeline(province.store, province.directory(), doc.effective_document_id).relays
        verdicts[code] = (relay.gateway, relay.verdict, relay.policy)
    assert verdicts == {BYT: (GW, "valid", "unsigned"), BTC: (GW, "foreign-ca", "unsigned"),
                        VPCP: (GW, "unsigned", "unsigned")}  # fmt: skip


def test_statuses_flow_back_to_the_right_remote_sender_and_in_from_remote_receivers(
    province: Province,
) -> None:
    theirs = {code: letter(code, [UBND], f"30{i}") for i, code in enumerate((VPCP, HA_NOI, DA_NANG))}
    for doc in theirs.values():
        province.remote_sends(doc)
    province.pump()
    for incoming in province.inbox(UBND):
        province.clients[UBND].submit(
            remote_status(UBND, incoming.package, StatusCode.REGISTERED)  # type: ignore[arg-type]
        )
    province.pump()
    for code, doc in theirs.items():
        answers = [p for _, p in province.received_by(code, "status") if isinstance(p, StatusPackage)]
        assert [(p.document_id, p.status_code) for p in answers] == [
            (doc.effective_document_id, StatusCode.REGISTERED)
        ]
    ours = letter(UBND, [HA_NOI, DA_NANG], "310")
    province.clients[UBND].submit(ours)
    province.pump()
    province.remote_sends(remote_status(HA_NOI, ours, StatusCode.ARRIVED))
    province.remote_sends(remote_status(DA_NANG, ours, StatusCode.PROCESSING, "Đang xử lý"))
    province.pump()
    answers = sorted((i.package.from_.organ_id, i.package.status_code.value) for i in province.inbox(UBND))  # type: ignore[union-attr]
    assert answers == [(DA_NANG, "05"), (HA_NOI, "01")]
    states = {p.recipient: p.state for p in province.store.pairs(ours.effective_document_id)}
    assert states == {HA_NOI: "01", DA_NANG: "05"}


def test_a_5xx_answer_is_retried_and_the_document_is_posted_once(province: Province) -> None:
    province.axis.fail_next(2, status=503, operation="sendEdoc")
    doc = letter(UBND, [HA_NOI], "401")
    province.clients[UBND].submit(doc)
    reports = province.pump()
    assert any(r.waiting and "HTTP 503" in (r.error or "") for r in reports)
    assert [p for _, p in province.received_by(HA_NOI)] == [doc]


def test_refused_credentials_hold_everything_until_they_work_again(province: Province) -> None:
    province.remote_sends(letter(VPCP, [UBND], "403"))
    province.axis.fail_next(3, status=401)  # the gateway's next calls: a secret the axis changed
    doc = letter(UBND, [HA_NOI], "402")
    province.clients[UBND].submit(doc)
    reports = province.pump()
    assert any("HTTP 401" in (r.error or "") for r in reports)
    assert [p for _, p in province.received_by(HA_NOI)] == [doc]
    assert [i.package.effective_document_id for i in province.inbox(UBND)] == [  # type: ignore[union-attr]
        letter(VPCP, [UBND], "403").effective_document_id
    ]


def test_a_timeout_is_retried_and_the_document_arrives(tmp_path: Path, keys: Keys) -> None:
    province = in_memory(tmp_path, keys, timeout=0.3)
    try:
        province.axis.stall_next(1, seconds=1.0, operation="sendEdoc")
        doc = letter(UBND, [DA_NANG], "404")
        province.clients[UBND].submit(doc)
        reports = province.pump()
        assert any(r.waiting and "no answer within" in (r.error or "") for r in reports)
        copies = [p for _, p in province.received_by(DA_NANG)]
        assert copies[0] == doc  # a lost answer may post it twice (the interface cannot tell)
        assert len(copies) in (1, 2)
    finally:
        province.close()


def test_a_document_the_axis_refuses_is_answered_02_from_its_recipient_signed_by_the_gateway(
    province: Province,
) -> None:
    province.axis.fail_next(1, status=413, operation="sendEdoc")
    doc = letter(UBND, [HA_NOI], "405")
    province.clients[UBND].submit(doc)
    province.pump()
    [answer] = province.inbox(UBND)
    assert (answer.kind, answer.signer, answer.verdict, answer.package.status_code) == (  # type: ignore[union-attr]
        n.KIND_STATUS, HA_NOI, "gateway", StatusCode.REFUSED,
    )  # fmt: skip
    assert "HTTP 413" in (answer.package.description or "")
    [pair] = province.store.pairs(doc.effective_document_id)
    assert pair.state == "02"


def test_a_4xx_on_a_list_call_is_waited_out(province: Province) -> None:
    province.axis.fail_next(1, status=400, operation="getReceivedEdocList")
    doc = letter(VPCP, [UBND], "406")
    province.remote_sends(doc)
    reports = province.pump()
    assert any(r.waiting and "HTTP 400" in (r.error or "") for r in reports)
    assert [i.package for i in province.inbox(UBND)] == [doc]


def test_what_is_not_edxml_is_refused_back_on_the_axis_with_the_reason(province: Province) -> None:
    doc_id = province.dms(VPCP).send_edoc(b"<not-edxml/>", from_=VPCP, to=[UBND])
    province.pump()
    [message] = [m for m in province.axis.messages if m.doc_id == doc_id]
    assert message.states[province.system_of(UBND)] == "fail"
    assert "Không chuyển tiếp được vào trục" in message.reasons[province.system_of(UBND)]
    assert province.inbox(UBND) == []


def test_what_the_hub_refuses_reaches_the_remote_sender_as_a_02_on_the_axis(province: Province) -> None:
    doc = letter(VPCP, ["000.00.99.H41"], "407")  # no such department of Nghệ An
    province.remote_sends(doc)
    province.pump()
    [(_message, refusal)] = province.received_by(VPCP, "status")
    assert isinstance(refusal, StatusPackage)
    assert (refusal.status_code, refusal.document_id) == (StatusCode.REFUSED, doc.effective_document_id)
    assert "000.00.99.H41" in (refusal.description or "")


def test_a_package_the_hub_refuses_before_it_knows_the_sender_is_answered_to_the_axis_sender(
    province: Province, keys: Keys
) -> None:
    signed = sign_package(write_package(letter(BYT, [UBND], "408")), keys.dev.keys[BYT])
    tampered = signed.replace("V/v triển khai".encode(), "V/v đã sửa".encode())
    province.dms(BYT).send_edoc(tampered, from_="BYT", to=[UBND])
    province.pump()  # the gateway relays it; the hub's 02 comes back to the gateway, which knows whose
    [(_, refusal)] = province.received_by(BYT, "status")
    assert isinstance(refusal, StatusPackage)
    assert refusal.status_code is StatusCode.REFUSED
    assert "Chữ ký số không hợp lệ" in (refusal.description or "")
    assert province.inbox(UBND) == []


def test_a_gateway_restarted_mid_way_posts_nothing_twice(province: Province) -> None:
    docs = [letter(UBND, [HA_NOI, DA_NANG], f"50{i}") for i in range(3)]
    for doc in docs:
        province.clients[UBND].submit(doc)
    province.hub_transport.drain(0)
    province.runtime.step()
    province.restart_gateway()
    province.pump()
    for code in (HA_NOI, DA_NANG):
        assert sorted(
            p.effective_document_id for _, p in province.received_by(code) if isinstance(p, Edoc)
        ) == sorted(d.effective_document_id for d in docs)


# --- the same on RabbitMQ: users and permissions as the broker enforces them ----------------------


@pytest.fixture
def on_rabbitmq(tmp_path: Path, keys: Keys, amqp_url: str, unique_prefix: str) -> Iterator[Province]:
    from vbcore.testing.conformance_rabbitmq import rabbitmq_transports

    cleanups: list[Callable[[], object]] = []
    names = Names(prefix=unique_prefix, hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-")
    connect = rabbitmq_transports(amqp_url, names, [*LOCAL, GW], cleanups)
    p = Province(tmp_path, keys, connect=connect, names=names)
    try:
        yield p
    finally:
        p.close()
        for cleanup in reversed(cleanups):
            cleanup()


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_on_rabbitmq_documents_and_statuses_cross_the_gateway_through_the_axiss_error_answers(
    on_rabbitmq: Province, keys: Keys
) -> None:
    province = on_rabbitmq
    targets = [a.edxml_code for a in province.remote if a.edxml_code.startswith("000.00.00.")]
    circular = letter(UBND, targets, "701", subject="V/v triển khai Nghị quyết của Chính phủ")
    province.axis.fail_next(2, status=503, operation="sendEdoc")
    province.axis.fail_next(1, status=401, operation="sendEdoc")
    province.clients[UBND].submit(circular)
    reports = province.pump(rounds=200, wait=0.05)
    errors = " ".join(r.error or "" for r in reports)
    assert "HTTP 503" in errors
    assert "HTTP 401" in errors
    for code in targets:
        assert [p for _, p in province.received_by(code)] == [circular]
    theirs = letter(BTC, [UBND, SO_TC], "702", notation="BTC-NSNN")
    province.remote_sends(theirs, keys.foreign)
    province.axis.fail_next(1, status=413, operation="sendEdoc")
    refused = letter(UBND, [HA_NOI], "703")
    province.clients[UBND].submit(refused)
    province.pump(rounds=100, wait=0.05)
    got = province.inbox(UBND, timeout=1.0)
    by_kind = {i.package.effective_document_id if isinstance(i.package, Edoc) else i.package.document_id: i
               for i in got}  # fmt: skip
    assert by_kind[theirs.effective_document_id].verdict == "foreign-ca"
    answer = by_kind[refused.effective_document_id]
    assert (answer.signer, answer.verdict, answer.package.status_code) == (  # type: ignore[union-attr]
        HA_NOI, "gateway", StatusCode.REFUSED,
    )  # fmt: skip
    assert [i.package for i in province.inbox(SO_TC, timeout=1.0)] == [theirs]
