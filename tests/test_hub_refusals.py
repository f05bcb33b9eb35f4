"""The hub's own 02s: every failure that concerns a package is recorded and answered, including the
hub's own bugs, and building the answer can never stop the hub (in-memory broker, SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_hub_support import G22, H24, HUB_ID, World, edoc

from vbcore.edxml import write_package
from vbcore.hub import replies
from vbcore.model import StatusPackage
from vbcore.security.pki import DevPki, issue_agency_certificate, load_certificate, load_private_key
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import Delivery
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world

# What XML 1.0 cannot carry (C0 controls but tab/newline/return, U+FFFE), then an ANSI colour escape.
HOSTILE_NAME = "Sở Giả\x01\x08\x0b\x1f\ufffe mạo\x1b[31m"


def refusals_to(world: World, code: str) -> list[StatusPackage]:
    found = []
    for incoming in world.inbox(code):
        assert incoming.kind == n.KIND_REFUSAL
        assert incoming.signer == HUB_ID
        assert isinstance(incoming.package, StatusPackage)
        assert incoming.package.status_code is StatusCode.REFUSED
        found.append(incoming.package)
    return found


def parked_messages(world: World) -> list[Delivery]:
    transport = InMemoryTransport(world.broker, world.names.hub_user, world.names)
    found = []
    while (d := transport.get(world.names.parked_queue)) is not None:
        found.append(d)
    return found


def send(world: World, code: str, package: Any, message_id: str) -> None:
    """``code`` submits ``package`` signed with its own key, under the given message id."""
    signed = sign_package(write_package(package), world.keys[code])
    world.client(code).submit_signed(signed, kind=n.KIND_EDOC, message_id=message_id)


def expired_key_named(pki: DevPki, code: str, name: str) -> SigningKey:
    """A key and a certificate from the development CA (trusted by the hub) that expired last year,
    whose subject carries ``name``: the hub refuses it and names the certificate in its 02."""
    ca_key, ca_cert = load_private_key(pki.ca_key_path), load_certificate(pki.ca_cert_path)
    start = datetime.now(UTC) - timedelta(days=400)
    key, cert = issue_agency_certificate(ca_key, ca_cert, code, name, not_before=start, valid_days=30)
    return SigningKey(key, (cert,))


# --- a certificate whose subject XML cannot carry ---------------------------------------------------


def test_a_certificate_subject_with_control_characters_is_named_escaped_in_the_02_and_the_hub_goes_on(
    world: World, pki: DevPki
) -> None:
    signed = sign_package(write_package(edoc(G22, [H24], "1")), expired_key_named(pki, G22, HOSTILE_NAME))
    world.client(G22).submit_signed(signed, kind=n.KIND_EDOC, message_id="evil-1")
    good = edoc(G22, [H24], "2")
    world.client(G22).submit(good)
    assert world.pump() == 2

    [refusal] = refusals_to(world, G22)
    text = refusal.description or ""
    assert r"Sở Giả\x01\x08\x0b\x1f\ufffe mạo\x1b[31m" in text  # still names the certificate, visibly
    assert not any(ord(ch) < 0x20 and ch not in "\t\n\r" for ch in text)
    [record] = world.store.refusals(sender=G22)
    assert (record.message_id, record.reason, record.detail) == ("evil-1", "untrusted-certificate", text)
    assert [i.package for i in world.inbox(H24)] == [good]
    assert world.parked() == 1


def test_a_refusal_whose_02_cannot_be_built_still_answers_with_a_generic_02(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = replies.write_package

    def fails_on_the_detailed_text(pkg: Any) -> bytes:
        if "000.00.00.G99" in (getattr(pkg, "description", "") or ""):
            raise ValueError("a fault while writing the 02")
        return real(pkg)

    monkeypatch.setattr(replies, "write_package", fails_on_the_detailed_text)
    send(world, G22, edoc(G22, ["000.00.00.G99"], "1"), "to-nobody")
    world.pump()
    [refusal] = refusals_to(world, G22)
    text = refusal.description or ""
    assert text.startswith("Mã định danh cơ quan không có trong danh bạ")  # which check, if not the detail
    reference = text.rsplit(" ", 1)[-1].rstrip(")")
    [record] = world.store.refusals(sender=G22)
    assert record.reason == "unknown-agency"
    assert reference in record.detail  # the operator finds the full story from the 02's reference
    assert world.parked() == 1


def test_when_no_02_at_all_can_be_built_the_refusal_is_recorded_and_the_hub_goes_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("the hub's signing key is unusable")

    monkeypatch.setattr(replies, "sign_package", broken)
    send(world, G22, edoc(G22, ["000.00.00.G99"], "1"), "to-nobody")
    good = edoc(G22, [H24], "2")
    world.client(G22).submit(good)
    assert world.pump() == 2
    assert world.inbox(G22) == []
    [record] = world.store.refusals(sender=G22)
    assert (record.message_id, record.reason) == ("to-nobody", "unknown-agency")
    assert [i.package for i in world.inbox(H24)] == [good]
    assert world.parked() == 1


# --- the hub's own faults ---------------------------------------------------------------------------


def test_an_internal_error_while_planning_is_recorded_and_answered_with_a_reference_the_operator_finds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.hub is not None
    real_plan = world.hub.documents.plan

    def plan_with_a_bug(attempt: Any, package: Any) -> None:
        if package.code.code_number == "1":
            raise KeyError("a bug in the hub")
        real_plan(attempt, package)

    monkeypatch.setattr(world.hub.documents, "plan", plan_with_a_bug)
    doc = edoc(G22, [H24], "1")
    send(world, G22, doc, "hits-a-bug")
    good = edoc(G22, [H24], "2")
    world.client(G22).submit(good)
    assert world.pump() == 2

    [refusal] = refusals_to(world, G22)
    text = refusal.description or ""
    assert text.startswith("Lỗi nội bộ tại trục")
    assert "người vận hành đã được báo" in text
    assert "KeyError" not in text  # the sender is told what to expect, not the hub's internals
    [record] = world.store.refusals(sender=G22)
    assert (record.message_id, record.reason, record.detail) == ("hits-a-bug", "internal-error", text)
    [parked] = parked_messages(world)
    reason = parked.headers[n.PARK_REASON]
    assert "KeyError" in reason  # the operator sees what failed ...
    reference = record.detail.split("mã tham chiếu ")[1].split(")")[0]
    assert reference in reason  # ... under the reference the sender was given
    assert world.store.pairs(doc.effective_document_id) == []  # nothing half-recorded
    assert [i.package for i in world.inbox(H24)] == [good]


def test_an_internal_error_while_checking_is_answered_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vbcore.hub import checks

    def verify_with_a_bug(*args: Any, **kwargs: Any) -> Any:
        raise AttributeError("'NoneType' object has no attribute 'text'")

    monkeypatch.setattr(checks, "verify_and_read", verify_with_a_bug)
    send(world, G22, edoc(G22, [H24], "1"), "hits-a-bug")
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert (refusal.description or "").startswith("Lỗi nội bộ tại trục")
    assert [r.reason for r in world.store.refusals(sender=G22)] == ["internal-error"]
    assert world.parked() == 1


def test_safe_text_escapes_what_xml_cannot_carry_and_keeps_the_rest() -> None:
    assert replies.safe_text("CN=Sở\x00\x01\t\n\r\x7f\ud800\uffff ✓") == r"CN=Sở\x00\x01" + "\t\n\r\x7f" + (
        r"\ud800\uffff ✓"
    )
    long = replies.safe_text("x" * 10_000)
    assert len(long) == replies.MAX_DESCRIPTION
    assert long.endswith("…")
