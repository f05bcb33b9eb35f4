"""The hub and a gateway for a whole axis: "reached via" routing, relayed senders, the remote sender's
own signature judged (valid / gateway / foreign CA / unsigned / invalid) against the relay policy, the
verdict recorded and shown, and receivers that accept what the hub vouched for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_hub_support import status

from vbcore.directory import RELAY_POLICIES, Directory
from vbcore.edxml import write_package
from vbcore.errors import AccessRefused
from vbcore.hub import relay as hub_relay
from vbcore.hub import waiting
from vbcore.hub.config import HubConfig
from vbcore.model import Edoc, StatusPackage
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.store.timeline import read_timeline, render_text
from vbcore.testing.devworld import HUB_ID, SIX_AGENCIES, DevKeys, MemoryWorld, letter
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryTransport

GW, OTHER_GW = "gw.truc-quoc-gia", "gw.truc-bo"
TRUSTED, FOREIGN, UNSIGNED = "000.00.00.G18", "000.00.00.G19", "000.00.00.G20"  # remote, via GW
ELSEWHERE = "000.00.00.G21"  # remote, via another gateway
G22, G09 = SIX_AGENCIES[0], SIX_AGENCIES[1]  # local


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    codes = [*SIX_AGENCIES, HUB_ID, GW, OTHER_GW, TRUSTED, ELSEWHERE]
    return init_dev_pki(tmp_path_factory.mktemp("pki"), [(c, c) for c in codes])


@pytest.fixture(scope="module")
def foreign_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    """Ngân hàng Nhà nước's key, from a CA the hub does not hold."""
    other = init_dev_pki(tmp_path_factory.mktemp("foreign"), [(FOREIGN, "Ngân hàng Nhà nước")])
    return SigningKey.from_files(other.key_path(FOREIGN), other.cert_path(FOREIGN))


@pytest.fixture(scope="module")
def dev(pki: DevPki) -> DevKeys:
    return DevKeys.load(pki)


def directory(policy: str) -> Directory:
    return Directory.default().merged_with(
        Directory.from_data(
            [
                {
                    "code": GW,
                    "name": "Cổng Trục liên thông văn bản quốc gia",
                    "kind": "gateway",
                    "relay": policy,
                },
                {"code": OTHER_GW, "name": "Cổng trục của bộ", "kind": "gateway"},
                {"code": TRUSTED, "name": "Bộ Y tế", "via": GW},
                {"code": FOREIGN, "name": "Ngân hàng Nhà nước Việt Nam", "via": GW},
                {"code": UNSIGNED, "name": "Thanh tra Chính phủ", "via": GW},
                {"code": ELSEWHERE, "name": "Bộ Dân tộc và Tôn giáo", "via": OTHER_GW},
            ]
        )
    )


@pytest.fixture(params=["trusted"])
def world(request: pytest.FixtureRequest, dev: DevKeys) -> Iterator[MemoryWorld]:
    w = MemoryWorld(
        open_store("sqlite://"),
        dev,
        config=HubConfig(hub_id=HUB_ID),
        directory=directory(request.param),
        agencies=[*SIX_AGENCIES, GW, OTHER_GW],
    )
    w.start_hub()
    yield w
    w.store.close()


def with_policy(policy: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("world", [policy], indirect=True)


def relay(
    world: MemoryWorld, package: Edoc | StatusPackage, key: SigningKey | None, gateway: str = GW
) -> bytes:
    """The gateway publishes ``package`` as the other axis gave it: signed by ``key``, or not at all."""
    raw = write_package(package)
    body = sign_package(raw, key) if key is not None else raw
    world.client(gateway).submit_signed(
        body, kind=n.KIND_EDOC if isinstance(package, Edoc) else n.KIND_STATUS
    )
    world.pump()
    return body


def refusals(world: MemoryWorld, code: str) -> list[str]:
    return [i.headers[n.REFUSAL_REASON] for i in world.inbox(code) if i.kind == n.KIND_REFUSAL]


def test_a_document_to_a_remote_agency_leaves_through_its_gateway_addressed_to_it(world: MemoryWorld) -> None:
    doc = letter(G22, [TRUSTED, UNSIGNED, G09], "11")
    world.client(G22).submit(doc)
    world.pump()
    copies = world.inbox(GW)
    assert sorted(c.headers[n.RECIPIENT] for c in copies) == [TRUSTED, UNSIGNED]
    assert sorted(c.delivery.message_id for c in copies) == [
        f"{doc.effective_document_id}|{TRUSTED}",
        f"{doc.effective_document_id}|{UNSIGNED}",
    ]
    assert all(c.package == doc and c.signer == G22 for c in copies)  # the sender's signed bytes
    assert [i.package for i in world.inbox(G09)] == [doc]
    assert {p.recipient for p in world.store.pairs(doc.effective_document_id)} == {TRUSTED, UNSIGNED, G09}


def test_a_remote_senders_document_signed_by_a_trusted_ca_enters_relayed_and_is_recorded(
    world: MemoryWorld, dev: DevKeys
) -> None:
    doc = letter(TRUSTED, [G22], "12")
    relay(world, doc, dev.keys[TRUSTED])
    [got] = world.inbox(G22)
    assert (got.package, got.signer, got.verdict, got.relayed_by) == (doc, TRUSTED, "valid", GW)
    record = world.store.get_document(doc.effective_document_id)
    assert record is not None
    assert record.sender == TRUSTED
    timeline = read_timeline(world.store, world.directory, doc.effective_document_id)
    [how] = timeline.relays
    assert (how.gateway, how.verdict, how.policy) == (GW, "valid", "trusted")
    assert "qua cổng gw.truc-quoc-gia; chữ ký số của cơ quan gửi: hợp lệ, do CA được trục tin cậy cấp" in (
        render_text(timeline)
    )


def test_a_foreign_ca_signature_is_refused_by_a_gateway_that_relays_trusted_signatures_only(
    world: MemoryWorld, foreign_key: SigningKey
) -> None:
    relay(world, letter(FOREIGN, [G22], "13"), foreign_key)
    assert world.inbox(G22) == []
    [refusal] = [i for i in world.inbox(GW) if i.kind == n.KIND_REFUSAL]
    assert refusal.headers[n.REFUSAL_REASON] == "relay-not-allowed"
    assert "CA cấp chứng thư không được trục tin cậy" in (refusal.package.description or "")
    assert world.parked() == 1


@with_policy("foreign-ca")
def test_a_foreign_ca_signature_enters_when_the_policy_allows_and_its_receiver_accepts_it(
    world: MemoryWorld, foreign_key: SigningKey
) -> None:
    doc = letter(FOREIGN, [G22], "14")
    relay(world, doc, foreign_key)
    [got] = world.inbox(G22)  # G22's client does not trust that CA: it accepts on the hub's word
    assert (got.package, got.signer, got.verdict, got.relayed_by) == (doc, FOREIGN, "foreign-ca", GW)
    [how] = read_timeline(world.store, world.directory, doc.effective_document_id).relays
    assert (how.verdict, how.policy) == ("foreign-ca", "foreign-ca")
    assert f"CN={FOREIGN}" not in how.detail
    assert "CA" in how.detail  # the issuer the hub does not hold: the dev CA of another PKI


@with_policy("foreign-ca")
def test_an_unsigned_package_is_refused_unless_the_policy_relays_unsigned(world: MemoryWorld) -> None:
    relay(world, letter(UNSIGNED, [G22], "15"), None)
    assert world.inbox(G22) == []
    assert refusals(world, GW) == ["relay-not-allowed"]


@with_policy("unsigned")
def test_an_unsigned_package_enters_when_the_policy_relays_unsigned_and_the_track_says_so(
    world: MemoryWorld,
) -> None:
    doc = letter(UNSIGNED, [G22, G09], "16")
    relay(world, doc, None)
    for code in (G22, G09):
        [got] = world.inbox(code)
        assert (got.package, got.signer, got.verdict) == (doc, UNSIGNED, "unsigned")
    text = render_text(read_timeline(world.store, world.directory, doc.effective_document_id), lang="en")
    assert (
        "via gateway gw.truc-quoc-gia; the sender's own signature: none (the package is not signed); "
        "relay policy unsigned (unsigned packages too; never a wrong signature)" in text
    )


@with_policy("unsigned")
def test_a_signature_that_does_not_verify_is_refused_under_every_policy(
    world: MemoryWorld, dev: DevKeys
) -> None:
    signed = sign_package(write_package(letter(TRUSTED, [G22], "17")), dev.keys[TRUSTED])
    tampered = signed.replace("V/v triển khai".encode(), "V/v thay đổi!".encode())
    world.client(GW).submit_signed(tampered, kind=n.KIND_EDOC)
    world.pump()
    assert world.inbox(G22) == []
    assert refusals(world, GW) == ["signature-invalid"]


def test_a_gateway_relays_only_for_the_agencies_reached_via_it(world: MemoryWorld, dev: DevKeys) -> None:
    relay(world, letter(G09, [G22], "18"), dev.keys[G09])  # a local agency
    relay(world, letter(ELSEWHERE, [G22], "19"), dev.keys[ELSEWHERE])  # behind another gateway
    assert world.inbox(G22) == []
    assert refusals(world, GW) == ["sender-not-authorised", "sender-not-authorised"]


def test_a_local_agency_still_cannot_send_as_a_remote_one(world: MemoryWorld, dev: DevKeys) -> None:
    body = sign_package(write_package(letter(TRUSTED, [G22], "20")), dev.keys[TRUSTED])
    world.client(G09).submit_signed(body, kind=n.KIND_EDOC)  # G09 holds a copy of Bộ Y tế's key
    world.pump()
    assert world.inbox(G22) == []
    assert refusals(world, G09) == ["sender-not-authorised"]


def test_a_package_signed_by_the_gateway_for_an_agency_behind_it_is_the_gateways_word(
    world: MemoryWorld, dev: DevKeys
) -> None:
    doc = letter(G22, [TRUSTED], "21")
    world.client(G22).submit(doc)
    world.pump()
    world.inbox(GW)
    refused = status(TRUSTED, doc, StatusCode.REFUSED, "Trục kia từ chối: người nhận không tồn tại")
    relay(world, refused, dev.keys[GW])
    [answer] = world.inbox(G22)
    assert (answer.kind, answer.signer, answer.verdict) == (n.KIND_STATUS, TRUSTED, "gateway")
    [pair] = world.store.pairs(doc.effective_document_id)
    assert pair.state == "02"


@with_policy("unsigned")
def test_statuses_flow_both_ways_through_the_gateway(world: MemoryWorld) -> None:
    theirs = letter(UNSIGNED, [G22], "22")
    relay(world, theirs, None)
    world.inbox(G22)
    world.client(G22).submit(status(G22, theirs, StatusCode.REGISTERED))
    world.pump()
    [back] = world.inbox(GW)
    assert (back.kind, back.headers[n.RECIPIENT], back.package.status_code) == (  # type: ignore[union-attr]
        n.KIND_STATUS, UNSIGNED, StatusCode.REGISTERED,
    )  # fmt: skip
    ours = letter(G22, [UNSIGNED], "23")
    world.client(G22).submit(ours)
    world.pump()
    world.inbox(GW)
    relay(world, status(UNSIGNED, ours, StatusCode.PROCESSING), None)
    [answer] = world.inbox(G22)
    assert (answer.signer, answer.verdict, answer.package.status_code) == (  # type: ignore[union-attr]
        UNSIGNED, "unsigned", StatusCode.PROCESSING,
    )  # fmt: skip


def test_a_receiver_believes_relay_headers_from_the_hubs_broker_user_only(world: MemoryWorld) -> None:
    body = write_package(letter(UNSIGNED, [G22], "24"))
    said = {n.KIND: n.KIND_EDOC, n.RELAYED_BY: GW, n.SIGNATURE_VERDICT: "unsigned"}
    agency = InMemoryTransport(world.broker, world.names.agency_user(G09), world.names)
    with pytest.raises(AccessRefused):  # the broker lets no agency write into an inbox
        agency.publish(world.names.delivery_exchange, G22, body, message_id="forged", headers=said)
    unproven = InMemoryTransport(world.broker, world.names.hub_user, world.names, stamp_user_id=False)
    unproven.publish(world.names.delivery_exchange, G22, body, message_id="forged", headers=said)
    assert world.inbox(G22) == []  # no broker-validated hub user: not vouched for; refused and parked
    assert world.parked() == 1


def test_each_relay_policy_lets_in_what_the_more_careful_ones_do_and_more() -> None:
    allowed = [hub_relay.ALLOWED[policy] for policy in RELAY_POLICIES]
    assert list(hub_relay.ALLOWED) == list(RELAY_POLICIES)
    assert allowed[0] < allowed[1] < allowed[2]
    assert "invalid" not in {v.value for v in allowed[2]}


@with_policy("unsigned")
def test_a_gateway_holds_one_share_of_the_waiting_room_whatever_agencies_it_relays_for(
    world: MemoryWorld, dev: DevKeys
) -> None:
    # Revokes of documents never sent, relayed for two agencies behind one gateway: counted by broker
    # user, the gateway may hold eight waiting, not eight per agency it names (with enough agencies it
    # filled the whole room, and everyone else's genuine revokes were refused at once again).
    assert world.hub is not None
    world.hub.transport.close()
    hub = world.start_hub(batch=True)
    for i in range(waiting.WAITING_PER_PUBLISHER):
        for code, key in ((UNSIGNED, None), (TRUSTED, dev.keys[TRUSTED])):
            revoke = status(code, letter(code, [G22], f"never-{i}"), StatusCode.REVOKE)
            raw = write_package(revoke)
            world.client(GW).submit_signed(sign_package(raw, key) if key else raw, kind=n.KIND_STATUS)
    while world.broker.depth(world.names.ingress_queue) or hub._pending:
        hub.transport.drain(0)
        hub.gather(0.01)
        hub.flush()
    assert len(hub.waiting) == waiting.WAITING_PER_PUBLISHER
    assert refusals(world, GW) == ["unknown-document"] * waiting.WAITING_PER_PUBLISHER
