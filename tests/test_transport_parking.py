"""The headers of a parked copy (``transport.parking.park_headers``): only what vbus writes, checked."""

from __future__ import annotations

from vbcore.transport import Delivery
from vbcore.transport import names as h
from vbcore.transport.names import Names
from vbcore.transport.parking import MAX_HEADER_CHARS, park_headers

NAMES = Names(hub_user="vbus-hub")


def delivery(queue: str, user_id: str | None, **headers: str) -> Delivery:
    return Delivery(queue=queue, body=b"x", headers=headers, message_id="m-1", user_id=user_id)


def test_what_a_client_wrote_is_cleaned_cut_short_and_kept_only_if_vbus_knows_it() -> None:
    d = delivery(NAMES.ingress_queue, "000.00.00.H24", **{
        h.KIND: "edoc\u202e", h.DOCUMENT_ID: "000.00.00.H24,2026/11/24,1/VB\r\nx-forged: yes" + "9" * 5000,
        h.SENDER: "000.00.00.G22", h.RECIPIENT: "000.00.00.G22", "x-anything": "kept nowhere",
    })
    headers = park_headers(d, "malformed: line 1\x00", NAMES)
    assert set(headers) == {h.KIND, h.DOCUMENT_ID, h.PARK_REASON, h.PARKED_FROM, h.ORIGINAL_USER}
    assert headers[h.KIND] == "edoc"
    assert not {"\r", "\n"} & set(headers[h.DOCUMENT_ID])
    assert len(headers[h.DOCUMENT_ID]) == MAX_HEADER_CHARS
    assert headers[h.PARK_REASON] == "malformed: line 1"
    assert headers[h.ORIGINAL_USER] == "000.00.00.H24"


def test_a_kind_vbus_does_not_know_is_dropped() -> None:
    headers = park_headers(delivery(NAMES.ingress_queue, "u", **{h.KIND: "invoice"}), "why", NAMES)
    assert h.KIND not in headers


def test_a_copy_the_hub_published_keeps_its_headers_and_where_and_by_whom_it_first_failed() -> None:
    forwarded = delivery(NAMES.parked_queue, NAMES.hub_user, **{
        h.SENDER: "000.00.00.G22", h.RECIPIENT: "000.00.00.H24", h.PARKED_FROM: "vbus.inbox.000.00.00.H24",
        h.ORIGINAL_USER: "000.00.00.G22",
    })
    headers = park_headers(forwarded, "second", NAMES)
    assert (headers[h.SENDER], headers[h.RECIPIENT]) == ("000.00.00.G22", "000.00.00.H24")
    assert headers[h.PARKED_FROM] == "vbus.inbox.000.00.00.H24"
    assert headers[h.ORIGINAL_USER] == "000.00.00.G22"


def test_a_replay_without_a_recorded_sender_never_becomes_the_hub_users_own() -> None:
    replay = delivery(NAMES.ingress_queue, NAMES.hub_user)
    assert h.ORIGINAL_USER not in park_headers(replay, "sender-unknown", NAMES)
