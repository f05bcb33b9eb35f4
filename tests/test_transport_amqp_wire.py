"""Publisher-confirm bookkeeping and header reading, without a broker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vbcore.transport import names as h
from vbcore.transport.amqp_wire import ConfirmTracker, delivery_count, read_headers


def test_a_multiple_ack_confirms_every_message_up_to_its_tag() -> None:
    t = ConfirmTracker(first_seq=1)
    for index in range(5):
        t.sent(index, 10)
    t.confirm(3, multiple=True, nack=False)
    assert (t.confirmed, sorted(t.outstanding), t.outstanding_bytes) == ({0, 1, 2}, [4, 5], 20)
    t.confirm(5, multiple=False, nack=True)
    assert t.failed == {4: "nacked by the broker"}
    assert sorted(t.outstanding) == [4]


def test_a_returned_message_counts_as_failed_even_though_the_broker_acked_it() -> None:
    t = ConfirmTracker(first_seq=7)
    t.sent(0, 1)
    t.sent(1, 1)
    t.returned_unroutable("m-1", "vbus.deliver", "zz", "NO_ROUTE")
    t.confirm(8, multiple=True, nack=False)
    t.settle_returns({0: ("m-1", "vbus.deliver", "aa"), 1: ("m-1", "vbus.deliver", "zz")})
    assert t.confirmed == {0}
    assert "NO_ROUTE" in t.failed[1]


def test_giving_up_fails_what_is_still_outstanding() -> None:
    t = ConfirmTracker(first_seq=1)
    t.sent(0, 5)
    t.give_up("no confirm within 60 s")
    assert (t.failed, t.outstanding, t.outstanding_bytes) == ({0: "no confirm within 60 s"}, {}, 0)


def test_a_message_dead_lettered_by_the_broker_gets_park_headers_from_x_death() -> None:
    raw = {
        h.KIND: b"edoc",
        "x-delivery-count": 11,
        "x-death": [{"reason": b"delivery_limit", "queue": b"vbus.inbox.A", "count": 1}],
    }
    headers = read_headers(raw, "vbus-hub")
    assert headers[h.KIND] == "edoc"
    assert headers[h.PARK_REASON] == "dead-lettered by the broker: delivery_limit"
    assert headers[h.PARKED_FROM] == "vbus.inbox.A"
    assert headers[h.ORIGINAL_USER] == "vbus-hub"
    assert "x-death" not in headers


def test_a_reason_recorded_by_vbus_is_kept_over_x_death() -> None:
    raw = {h.PARK_REASON: "schema", "x-death": [{"reason": "rejected", "queue": "q"}]}
    assert read_headers(raw, None)[h.PARK_REASON] == "schema"


# --- hostile header tables (anything a client may publish) ------------------------------------------

HOSTILE_X_DEATH = ["junk", ["junk"], [1], [{}], [None], {"a": 1}, [{"reason": ["x"], "queue": {"q": 1}}], 7]


@pytest.mark.parametrize("x_death", HOSTILE_X_DEATH, ids=repr)
def test_a_malformed_x_death_from_a_client_is_read_without_raising_and_without_park_headers(
    x_death: object,
) -> None:
    headers = read_headers({h.KIND: b"edoc", "x-death": x_death}, "an-agency")
    assert headers == {h.KIND: "edoc"}


# Values an AMQP table can carry, as pika and py-amqp decode them.
table_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
    | st.decimals(allow_nan=False) | st.datetimes(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=20) | st.sampled_from(["x-death", h.PARK_REASON, h.KIND]),
                       table_values, max_size=8))
def test_reading_any_header_table_never_raises_and_gives_only_strings(raw: dict[str, object]) -> None:
    headers = read_headers(raw, "an-agency")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())


def test_the_broker_counted_deliveries_are_read_only_from_a_redelivery() -> None:
    assert delivery_count({"x-delivery-count": 3}, redelivered=True) == 3
    assert delivery_count({"x-delivery-count": 999}, redelivered=False) == 0  # a client's own header
    for junk in ("3", -1, True, None, [3], 1.5):
        assert delivery_count({"x-delivery-count": junk}, redelivered=True) == 0, junk
    assert delivery_count(None, redelivered=True) == 0
