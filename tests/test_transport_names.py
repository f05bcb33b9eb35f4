"""The names every process agrees on (docs/architecture.md): changing one breaks deployed installations."""

from __future__ import annotations

from vbcore.transport import names as h
from vbcore.transport.names import INBOX_TOKEN_LENGTH, Names


def test_default_names_are_the_documented_ones() -> None:
    n = Names()
    assert (n.ingress_exchange, n.ingress_queue, n.delivery_exchange) == (
        "vbus.ingress", "vbus.hub.incoming", "vbus.deliver",
    )
    assert n.legacy_ingress_queue == "vbus.hub.ingress"  # vbus 0.1's, with broker dead-lettering
    assert (n.dead_letter_exchange, n.parked_queue, n.hub_user) == ("vbus.dlx", "vbus.parked", "vbus-hub")
    assert n.inbox("000.00.00.H47") == "vbus.inbox.000.00.00.H47"
    assert n.agency_user("000.00.00.H47") == "000.00.00.H47"


def test_a_prefix_separates_installations_sharing_a_broker() -> None:
    n = Names(prefix="tinh")
    assert n.ingress_queue == "tinh.hub.incoming"
    assert n.is_inbox(n.inbox("000.00.00.G22"))
    assert not Names().is_inbox(n.inbox("000.00.00.G22"))
    assert not n.is_inbox(n.parked_queue)


def test_an_agency_user_is_the_user_prefix_then_its_code_and_maps_back() -> None:
    production = Names()
    assert production.agency_user("000.00.00.H47") == "000.00.00.H47"
    assert production.agency_code("000.00.00.H47") == "000.00.00.H47"
    test = Names(user_prefix="t1234-")
    assert test.agency_user("000.00.00.H47") == "t1234-000.00.00.H47"
    assert test.agency_code("t1234-000.00.00.H47") == "000.00.00.H47"


def test_users_outside_the_user_prefix_and_the_hub_user_are_no_agency() -> None:
    n = Names(hub_user="t1234-hub", user_prefix="t1234-")
    for user in (None, "", "000.00.00.H47", "guest", "t1234-", n.hub_user):
        assert n.agency_code(user) is None, user
    assert Names().agency_code(Names().hub_user) is None


def test_header_names_are_the_documented_ones() -> None:
    assert [h.KIND, h.DOCUMENT_ID, h.SENDER, h.RECIPIENT, h.HUB_ID, h.RECEIVED_AT, h.FORWARDED_AT] == [
        "x-vbus-kind", "x-vbus-document-id", "x-vbus-sender", "x-vbus-recipient", "x-vbus-hub-id",
        "x-vbus-received-at", "x-vbus-forwarded-at",
    ]
    assert [h.REFUSAL_REASON, h.REFUSED_MESSAGE_ID, h.PARK_REASON] == [
        "x-vbus-refusal-reason", "x-vbus-refused-message-id", "x-vbus-park-reason",
    ]


def test_with_the_operators_secret_an_inbox_name_ends_with_a_token_nobody_else_can_derive() -> None:
    n = Names(prefix="vbus", inbox_secret="s3cret")
    inbox = n.inbox("000.00.00.H47")
    base, token = inbox.rsplit(".", 1)
    assert base == "vbus.inbox.000.00.00.H47" == n.legacy_inbox("000.00.00.H47")
    assert len(token) == INBOX_TOKEN_LENGTH
    assert token.isalnum()
    assert inbox == Names(prefix="vbus", inbox_secret="s3cret").inbox("000.00.00.H47")  # stable
    others = {Names(inbox_secret="other").inbox("000.00.00.H47"), n.inbox("000.00.00.H15"),
              Names(prefix="tinh", inbox_secret="s3cret").inbox("000.00.00.H47").replace("tinh.", "vbus.")}
    assert inbox not in others
    assert "s3cret" not in repr(n)


def test_an_agency_is_told_its_own_inbox_name_and_needs_no_secret() -> None:
    hub = Names(inbox_secret="s3cret")
    agency = Names(inbox_names={"000.00.00.H47": hub.inbox("000.00.00.H47")})
    assert agency.inbox("000.00.00.H47") == hub.inbox("000.00.00.H47")
    assert agency.is_inbox(agency.inbox("000.00.00.H47"))
