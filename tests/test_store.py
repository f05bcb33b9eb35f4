"""The tracking store: the same tests against SQLite (a WAL file) and PostgreSQL (a schema per test)."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from vbcore.database import open_driver
from vbcore.errors import PairNotClaimed, StoreSchemaTooNew
from vbcore.store import (
    ChangeMarker,
    DeliveryState,
    DocumentRecord,
    PairRecord,
    Refusal,
    SqlStore,
    StatusEvent,
    TraceEvent,
    open_store,
)
from vbcore.store.migrations import MIGRATIONS, Migration
from vbcore.workdays import OverduePolicy, deadline_for

T0 = datetime(2026, 11, 24, 1, 0, 0, 123456, tzinfo=UTC)  # Tuesday 08:00 in Hà Nội
SENDER, B, C = "000.00.00.G12", "000.00.00.H15", "000.00.00.H29"


def document(
    document_id: str = "doc-1", *, at: datetime = T0, business_type: int = 0, related: str | None = None
) -> DocumentRecord:
    return DocumentRecord(
        document_id=document_id,
        sender=SENDER,
        business_type=business_type,
        subject="Về việc triển khai trục liên thông",
        code="12/UBND-VP",
        message_id=f"msg-{document_id}",
        sha256="ab" * 32,
        size=2048,
        received_at=at,
        related_document_id=related,
    )


def status(
    code: str, when: datetime | None, *, doc: str = "doc-1", recipient: str = B, arrived: datetime = T0
) -> StatusEvent:
    return StatusEvent(
        document_id=doc,
        recipient=recipient,
        code=code,
        description=f"status {code}",
        status_time=when,
        received_at=arrived,
        from_agency=SENDER if code == "13" else recipient,
    )


def pair_of(store: SqlStore, doc: str = "doc-1", recipient: str = B) -> PairRecord:
    pair = store.get_pair(doc, recipient)
    assert pair is not None, f"no pair ({doc}, {recipient})"
    return pair


def local(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A status package's Timestamp on Tuesday 24 November 2026, Vietnam local time (naive)."""
    return datetime(2026, 11, 24, hour, minute, second)


# --- migrations -------------------------------------------------------------------------------


ALL_VERSIONS = [m.version for m in MIGRATIONS]
NEXT_VERSION = MIGRATIONS[-1].version + 1


def test_migrations_are_applied_at_the_first_open_only(store_url: str) -> None:
    first = open_store(store_url)
    assert first.applied_migrations == ALL_VERSIONS
    first.close()
    again = open_store(store_url)
    assert again.applied_migrations == []
    assert again.schema_version() == MIGRATIONS[-1].version
    again.close()


def test_a_new_migration_is_applied_once_on_an_existing_database(store_url: str) -> None:
    open_store(store_url).close()
    more = (*MIGRATIONS, Migration(NEXT_VERSION, "a test table", ("CREATE TABLE test_extra (x INTEGER)",)))
    upgraded = SqlStore(open_driver(store_url), migrations=more)
    assert upgraded.applied_migrations == [NEXT_VERSION]
    assert upgraded.schema_version() == NEXT_VERSION
    upgraded.close()
    assert SqlStore(open_driver(store_url), migrations=more).applied_migrations == []


def test_a_database_migrated_by_a_newer_vbus_refuses_to_open(store_url: str) -> None:
    future = Migration(NEXT_VERSION, "from the future", ("CREATE TABLE test_future (x INTEGER)",))
    more = (*MIGRATIONS, future)
    SqlStore(open_driver(store_url), migrations=more).close()
    with pytest.raises(StoreSchemaTooNew) as raised:
        open_store(store_url)
    assert (raised.value.found, raised.value.known) == (NEXT_VERSION, MIGRATIONS[-1].version)


def test_stores_opening_a_new_database_at_once_migrate_it_exactly_once(store_url: str) -> None:
    barrier = threading.Barrier(4)
    applied: list[list[int]] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            barrier.wait()
            s = open_store(store_url)
            applied.append(s.applied_migrations)
            s.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(applied) == [[], [], [], ALL_VERSIONS]


# --- documents --------------------------------------------------------------------------------


def test_a_document_is_recorded_once_and_read_back_with_utc_times(store: SqlStore) -> None:
    assert store.record_document(document()) is True
    assert store.record_document(document(at=T0 + timedelta(hours=1))) is False
    got = store.get_document("doc-1")
    assert got == document()
    assert got is not None
    assert got.received_at.utcoffset() == timedelta(0)
    assert store.get_document("no-such-document") is None


def test_times_given_in_another_zone_are_stored_as_the_same_instant(store: SqlStore) -> None:
    hanoi = T0.astimezone(OverduePolicy().zone)
    store.record_document(document(at=hanoi))
    got = store.get_document("doc-1")
    assert got is not None
    assert got.received_at == T0
    assert got.received_at.tzinfo == UTC


def test_naive_times_are_refused_rather_than_guessed(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_document(document(at=datetime(2026, 11, 24, 8, 0)))


def test_documents_since_lists_every_document_oldest_first_across_pages(store: SqlStore) -> None:
    with store.transaction():
        for i in range(1203):
            # Several documents share each instant so the page boundary falls inside a tie.
            store.record_document(document(f"doc-{i:05d}", at=T0 + timedelta(seconds=i // 3)))
    since = T0 + timedelta(seconds=2)
    listed = [d.document_id for d in store.documents_since(since)]
    assert listed == [f"doc-{i:05d}" for i in range(6, 1203)]


def test_related_documents_lists_revokes_and_updates_of_a_document(store: SqlStore) -> None:
    store.record_document(document())
    store.record_document(document("rev-1", at=T0 + timedelta(hours=2), business_type=1, related="doc-1"))
    store.record_document(document("upd-1", at=T0 + timedelta(hours=1), business_type=2, related="doc-1"))
    assert [d.document_id for d in store.related_documents("doc-1")] == ["upd-1", "rev-1"]


# --- pairs ------------------------------------------------------------------------------------


def test_a_duplicate_claim_returns_the_existing_pair_and_its_state(store: SqlStore) -> None:
    first = store.claim_pair("doc-1", B, at=T0, deadline=T0 + timedelta(hours=9))
    assert first.created is True
    assert first.pair.state == DeliveryState.ACCEPTED
    store.mark_forwarded("doc-1", B, at=T0 + timedelta(seconds=1))
    again = store.claim_pair("doc-1", B, at=T0 + timedelta(minutes=5), deadline=None)
    assert again.created is False
    assert again.pair.state == DeliveryState.FORWARDED
    assert again.pair.accepted_at == T0
    assert again.pair.deadline == T0 + timedelta(hours=9)
    assert again.pair.forwarded_at == T0 + timedelta(seconds=1)


def test_concurrent_claims_of_one_pair_create_it_exactly_once(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    created: list[bool] = []

    def claim(s: SqlStore) -> None:
        barrier.wait()
        for n in range(20):
            created.append(s.claim_pair(f"doc-{n}", B, at=T0, deadline=None).created)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(created) == 6 * 20
    assert created.count(True) == 20


CLAIM_IN_A_PROCESS = """
import sys
from datetime import datetime, timezone
from vbcore.store import open_store
store = open_store(sys.argv[1])
sys.stdin.readline()  # start together
at = datetime(2026, 11, 24, 1, tzinfo=timezone.utc)
print(sum(store.claim_pair(f"doc-{n}", "000.00.00.H15", at=at, deadline=None).created for n in range(40)))
"""


def test_processes_claiming_the_same_pairs_create_each_exactly_once(store_url: str) -> None:
    open_store(store_url).close()  # migrated before the race: the race is about claims
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM_IN_A_PROCESS, store_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in procs:  # all are connected and waiting: release them together
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sum(int(out) for out in outputs) == 40


def test_one_store_shared_by_threads_keeps_their_transactions_apart(store: SqlStore) -> None:
    barrier = threading.Barrier(4)

    def work(worker: int) -> None:
        barrier.wait()
        for n in range(25):
            with store.transaction():
                store.record_document(document(f"doc-{worker}-{n}"))
                store.claim_pair(f"doc-{worker}-{n}", B, at=T0, deadline=None)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.documents_since(T0))) == 100
    assert all(len(store.pairs(f"doc-{w}-{n}")) == 1 for w in range(4) for n in range(25))


def test_forwarding_does_not_undo_a_receipt_that_came_first(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("01", local(8, 1)))
    store.mark_forwarded("doc-1", B, at=T0 + timedelta(seconds=2))
    pair = pair_of(store)
    assert pair.state == "01"
    assert pair.forwarded_at == T0 + timedelta(seconds=2)


def test_changing_a_pair_that_was_never_claimed_raises_pair_not_claimed(store: SqlStore) -> None:
    with pytest.raises(PairNotClaimed, match="doc-1"):
        store.mark_forwarded("doc-1", B, at=T0)
    with pytest.raises(PairNotClaimed):
        store.set_pair_state("doc-1", B, DeliveryState.REFUSED_BY_HUB, at=T0)


def test_pairs_lists_each_recipient_of_a_document(store: SqlStore) -> None:
    store.claim_pair("doc-1", C, at=T0, deadline=None)
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.claim_pair("doc-2", B, at=T0, deadline=None)
    assert [p.recipient for p in store.pairs("doc-1")] == [B, C]


# --- transactions -----------------------------------------------------------------------------


def test_a_failed_transaction_leaves_nothing_behind(store: SqlStore) -> None:
    def record_then_fail() -> None:
        with store.transaction():
            store.record_document(document())
            store.claim_pair("doc-1", B, at=T0, deadline=None)
            raise RuntimeError("the broker did not confirm")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert store.get_document("doc-1") is None
    assert store.pairs("doc-1") == []


def test_a_failed_inner_transaction_rolls_back_only_itself(store: SqlStore) -> None:
    def claim_then_fail() -> None:
        with store.transaction():
            store.claim_pair("doc-1", B, at=T0, deadline=None)
            raise RuntimeError("inner step failed")

    with store.transaction():
        store.record_document(document())
        with pytest.raises(RuntimeError):
            claim_then_fail()
        store.claim_pair("doc-1", C, at=T0, deadline=None)
    assert store.get_document("doc-1") is not None
    assert [p.recipient for p in store.pairs("doc-1")] == [C]


# --- statuses ---------------------------------------------------------------------------------


def test_each_receipt_moves_the_pair_forward_and_every_event_is_kept(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    for code, hour in (("01", 9), ("03", 10), ("05", 11)):
        store.record_status(status(code, local(hour), arrived=T0 + timedelta(hours=hour - 8)))
    pair = store.get_pair("doc-1", B)
    assert pair is not None
    assert (pair.state, pair.last_status, pair.last_status_at) == ("05", "05", T0 + timedelta(hours=3))
    assert [e.code for e in store.statuses("doc-1")] == ["01", "03", "05"]
    assert store.statuses("doc-1")[0].status_time == local(9)


def test_a_late_older_status_is_recorded_but_does_not_move_the_pair_back(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("03", local(10)))
    store.record_status(status("01", local(9), arrived=T0 + timedelta(hours=3)))
    pair = pair_of(store)
    assert (pair.state, pair.last_status) == ("03", "03")
    assert [e.code for e in store.statuses("doc-1")] == ["03", "01"]


def test_at_the_same_second_the_further_step_wins_whatever_the_arrival_order(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("03", local(9, 30, 5)))
    store.record_status(status("01", local(9, 30, 5)))
    pair = pair_of(store)
    assert pair.state == "03"


def test_a_status_without_a_timestamp_is_ordered_by_its_arrival(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("04", local(9)))  # 09:00 local = 02:00 UTC
    store.record_status(status("05", None, arrived=T0 + timedelta(minutes=30)))  # 08:30 local: older
    store.record_status(status("06", None, arrived=T0 + timedelta(hours=2)))  # 10:00 local: newer
    pair = pair_of(store)
    assert pair.state == "06"
    events = store.statuses("doc-1")
    assert [e.status_time for e in events] == [local(9), None, None]


def test_a_receipt_dated_before_a_hub_refusal_does_not_undo_it(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.set_pair_state("doc-1", B, DeliveryState.REFUSED_BY_HUB, at=T0 + timedelta(hours=1))  # 09:00 local
    store.record_status(status("01", local(8, 30)))
    pair = pair_of(store)
    assert pair.state == DeliveryState.REFUSED_BY_HUB
    assert pair.last_status == "01"


def test_a_status_for_a_pair_never_claimed_is_kept_and_moves_nothing(store: SqlStore) -> None:
    store.record_status(status("01", local(9)))
    assert store.pairs("doc-1") == []
    assert [e.code for e in store.statuses("doc-1")] == ["01"]


def test_an_accepted_revoke_marks_the_pair_revoked_and_keeps_its_progress(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("03", local(9)))
    store.record_status(status("13", local(10)))
    pair = pair_of(store)
    assert pair.change == ChangeMarker.REVOKE_REQUESTED
    assert pair.last_status == "03"
    store.record_status(status("15", local(11)))
    pair = store.get_pair("doc-1", B)
    assert pair is not None
    assert (pair.state, pair.last_status, pair.change) == ("03", "15", ChangeMarker.REVOKED)
    assert [e.code for e in store.statuses("doc-1")] == ["03", "13", "15"]


def test_a_refused_revoke_is_marked_revoke_refused(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("13", local(10)))
    store.record_status(status("16", local(11)))
    pair = pair_of(store)
    assert pair.change == ChangeMarker.REVOKE_REFUSED
    assert pair.last_status == "16"


def test_a_late_revoke_request_does_not_hide_the_answer_already_given(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("13", local(10)))
    store.record_status(status("15", local(11)))
    store.record_status(status("13", local(10), arrived=T0 + timedelta(hours=5)))  # a redelivered 13
    pair = pair_of(store)
    assert pair.change == ChangeMarker.REVOKED


def test_delivering_a_revoke_package_marks_the_recipients_original_copy(store: SqlStore) -> None:
    store.record_document(document())
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.claim_pair("doc-1", C, at=T0, deadline=None)
    store.record_document(document("rev-1", at=T0 + timedelta(hours=1), business_type=1, related="doc-1"))
    store.claim_pair("rev-1", B, at=T0 + timedelta(hours=1), deadline=None)
    original_b, original_c = store.pairs("doc-1")
    assert original_b.change == ChangeMarker.REVOKE_REQUESTED
    assert original_c.change is None  # the revoke went to B only


def test_an_answer_to_an_update_package_marks_the_original_copy(store: SqlStore) -> None:
    store.record_document(document())
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("03", local(9)))
    store.record_document(document("upd-1", at=T0 + timedelta(hours=2), business_type=2, related="doc-1"))
    store.claim_pair("upd-1", B, at=T0 + timedelta(hours=2), deadline=None)
    assert store.pairs("doc-1")[0].change == ChangeMarker.CHANGE_REQUESTED
    store.record_status(status("16", local(11), doc="upd-1"))
    original, update = pair_of(store), pair_of(store, "upd-1")
    assert (original.state, original.last_status, original.change) == (
        "03",
        "16",
        ChangeMarker.CHANGE_REFUSED,
    )
    assert (update.last_status, update.change) == ("16", ChangeMarker.CHANGE_REFUSED)
    assert [e.code for e in store.statuses("upd-1")] == ["16"]


def test_an_answer_with_no_request_seen_is_marked_changed(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("15", local(9)))
    pair = pair_of(store)
    assert pair.change == ChangeMarker.CHANGED


# --- overdue ----------------------------------------------------------------------------------

FRIDAY_1600 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 16:00 in Hà Nội
FRIDAY_1700 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
MONDAY_1700 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def claim_at(store: SqlStore, doc: str, at: datetime, policy: OverduePolicy | None = None) -> None:
    store.claim_pair(doc, B, at=at, deadline=deadline_for(at, policy or OverduePolicy()))
    store.mark_forwarded(doc, B, at=at)


def test_a_friday_afternoon_document_with_no_01_is_overdue_at_five(store: SqlStore) -> None:
    claim_at(store, "doc-1", FRIDAY_1600)
    assert store.overdue(FRIDAY_1700 - timedelta(seconds=1)) == []
    [late] = store.overdue(FRIDAY_1700)
    assert (late.document_id, late.state, late.deadline) == ("doc-1", DeliveryState.FORWARDED, FRIDAY_1700)


def test_a_friday_evening_document_is_due_on_monday(store: SqlStore) -> None:
    claim_at(store, "doc-1", FRIDAY_1700 + timedelta(hours=1))
    assert store.overdue(MONDAY_1700 - timedelta(minutes=1)) == []
    assert [p.document_id for p in store.overdue(MONDAY_1700)] == ["doc-1"]


def test_a_holiday_monday_moves_the_deadline_to_tuesday(store: SqlStore) -> None:
    policy = OverduePolicy(holidays=frozenset({MONDAY_1700.date()}))
    claim_at(store, "doc-1", FRIDAY_1700 + timedelta(hours=1), policy)
    assert store.overdue(MONDAY_1700 + timedelta(hours=1)) == []
    assert len(store.overdue(MONDAY_1700 + timedelta(days=1))) == 1


def test_an_answered_or_refused_pair_is_never_overdue(store: SqlStore) -> None:
    for doc in ("arrived", "refused", "revoked", "hub-refused", "silent"):
        claim_at(store, doc, FRIDAY_1600)
    store.record_status(status("01", datetime(2026, 11, 27, 16, 30), doc="arrived"))
    store.record_status(status("02", datetime(2026, 11, 27, 16, 30), doc="refused"))
    store.record_status(status("15", datetime(2026, 11, 27, 16, 30), doc="revoked"))
    store.set_pair_state("hub-refused", B, DeliveryState.REFUSED_BY_HUB, at=FRIDAY_1600)
    store.claim_pair("no-deadline", B, at=FRIDAY_1600, deadline=None)
    assert [p.document_id for p in store.overdue(MONDAY_1700)] == ["silent"]


# --- refusals and trace -----------------------------------------------------------------------


def refusal(message_id: str, *, sender: str | None, doc: str | None, at: datetime) -> Refusal:
    return Refusal(
        message_id=message_id,
        sender=sender,
        document_id=doc,
        recipient=None if doc is None else C,
        reason="closed-agency",
        detail="agency code 000.00.00.H47 is closed; send to its successor 000.00.00.H15",
        at=at,
    )


def test_refusals_are_listed_by_time_and_filtered_by_since_sender_and_document(store: SqlStore) -> None:
    store.record_refusal(refusal("m2", sender=SENDER, doc="doc-1", at=T0 + timedelta(minutes=2)))
    store.record_refusal(refusal("m1", sender=SENDER, doc=None, at=T0))
    store.record_refusal(refusal("m3", sender=B, doc="doc-2", at=T0 + timedelta(minutes=3)))
    store.record_refusal(refusal("m0", sender=None, doc=None, at=T0 - timedelta(minutes=1)))
    assert [r.message_id for r in store.refusals()] == ["m0", "m1", "m2", "m3"]
    assert [r.message_id for r in store.refusals(since=T0)] == ["m1", "m2", "m3"]
    assert [r.message_id for r in store.refusals(sender=SENDER)] == ["m1", "m2"]
    assert store.refusals(document_id="doc-1") == [
        refusal("m2", sender=SENDER, doc="doc-1", at=T0 + timedelta(minutes=2))
    ]
    assert [r.message_id for r in store.refusals(since=T0 + timedelta(minutes=1), sender=SENDER)] == ["m2"]


def test_the_trace_lists_the_hubs_events_for_one_document_in_order(store: SqlStore) -> None:
    events = [
        TraceEvent("doc-1", "hub-a", "received", T0),
        TraceEvent("doc-1", "hub-a", "verified", T0 + timedelta(milliseconds=2)),
        TraceEvent("doc-1", "hub-a", f"forwarded:{B}", T0 + timedelta(milliseconds=5)),
        TraceEvent("doc-1", "hub-b", f"status:01:{B}", T0 + timedelta(minutes=5)),
    ]
    store.record_trace(events[2])
    store.record_trace(TraceEvent("doc-2", "hub-a", "received", T0))
    for e in (events[0], events[1], events[3]):
        store.record_trace(e)
    assert store.trace("doc-1") == events


# --- any time the model can hold --------------------------------------------------------------

EXTREME_LOCAL_TIMES = [
    datetime(1, 1, 1, 0, 0, 0),
    datetime(999, 12, 31, 23, 59, 59, 999999),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
]


def test_status_times_from_year_1_to_9999_are_kept_as_written_and_ordered(store: SqlStore) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    for code, when in zip(("01", "03", "05"), EXTREME_LOCAL_TIMES, strict=True):
        store.record_status(status(code, when))
    assert [(e.code, e.status_time) for e in store.statuses("doc-1")] == list(
        zip(("01", "03", "05"), EXTREME_LOCAL_TIMES, strict=True)
    )
    pair = pair_of(store)
    assert (pair.state, pair.last_status) == ("05", "05")  # year 9999 is the latest
    store.record_status(status("06", datetime(1, 1, 1)))  # year 1 comes too late to move it
    assert pair_of(store).state == "05"


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),  # year 0 in UTC
        datetime(9999, 12, 31, 23, 0, tzinfo=UTC),  # year 10000 in Vietnam
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-12))),
    ],
)
def test_a_status_time_with_a_zone_at_the_edge_of_the_calendar_is_recorded(
    store: SqlStore, when: datetime
) -> None:
    store.claim_pair("doc-1", B, at=T0, deadline=None)
    store.record_status(status("03", when))
    [event] = store.statuses("doc-1")
    assert event.status_time is not None
    assert event.status_time.tzinfo is None
    assert pair_of(store).state == "03"


def test_a_year_before_1000_written_unpadded_by_an_older_vbus_is_read_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    open_store(url).close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute(
            "INSERT INTO status_events (document_id, recipient, code, description, status_time,"
            " received_at, from_agency) VALUES ('doc-1', ?, '01', NULL, '1-01-01 00:00:00.000000',"
            " '2026-11-24 01:00:00.000000', ?)",
            (B, B),
        )
    store = open_store(url)
    try:
        assert [e.status_time for e in store.statuses("doc-1")] == [datetime(1, 1, 1)]
    finally:
        store.close()


# --- revoke, update and replace packages: answered by 15/16, not by a 01 -------------------------


def change_package(store: SqlStore, kind: int, at: datetime, doc: str = "rev-1") -> None:
    store.record_document(document(doc, at=at, business_type=kind, related="doc-1"))
    claim_at(store, doc, at)


@pytest.mark.parametrize(("kind", "answer"), [(1, "15"), (1, "16"), (2, "15"), (3, "16")])
def test_a_change_package_answered_about_the_original_is_not_overdue(
    store: SqlStore, kind: int, answer: str
) -> None:
    store.record_document(document(at=FRIDAY_1600))
    claim_at(store, "doc-1", FRIDAY_1600)
    store.record_status(status("01", datetime(2026, 11, 27, 16, 10)))
    change_package(store, kind, FRIDAY_1600 + timedelta(minutes=20))
    answered = status(answer, datetime(2026, 11, 27, 16, 40), arrived=FRIDAY_1600 + timedelta(minutes=40))
    store.record_status(answered)  # about doc-1: receivers answer about the document a change changes
    assert store.overdue(MONDAY_1700) == []
    change = pair_of(store, "rev-1")
    assert change.last_status == answer
    assert change.change is not None
    assert change.change.endswith("refused") == (answer == "16")


def test_a_change_package_nobody_answered_is_overdue_for_its_answer(store: SqlStore) -> None:
    store.record_document(document(at=FRIDAY_1600))
    claim_at(store, "doc-1", FRIDAY_1600)
    store.record_status(status("01", datetime(2026, 11, 27, 16, 10)))
    change_package(store, 1, FRIDAY_1600 + timedelta(minutes=20))
    assert [(p.document_id, p.recipient) for p in store.overdue(MONDAY_1700)] == [("rev-1", B)]


def test_an_answer_given_before_a_change_was_sent_does_not_answer_it(store: SqlStore) -> None:
    store.record_document(document(at=FRIDAY_1600))
    claim_at(store, "doc-1", FRIDAY_1600)
    store.record_status(status("15", datetime(2026, 11, 27, 16, 10), arrived=FRIDAY_1600))
    change_package(store, 2, FRIDAY_1600 + timedelta(minutes=20))
    assert [p.document_id for p in store.overdue(MONDAY_1700)] == ["rev-1"]


def test_change_packages_answered_before_the_upgrade_are_no_longer_overdue(store_url: str) -> None:
    store = open_store(store_url)
    store.record_document(document(at=FRIDAY_1600))
    claim_at(store, "doc-1", FRIDAY_1600)
    store.record_document(document("rev-1", at=FRIDAY_1600, business_type=1, related="doc-1"))
    claim_at(store, "rev-1", FRIDAY_1600)
    answered_at = FRIDAY_1600 + timedelta(minutes=40)
    store.record_status(status("15", datetime(2026, 11, 27, 16, 40), arrived=answered_at))
    later = FRIDAY_1600 + timedelta(hours=1)
    store.record_document(document("upd-1", at=later, business_type=2, related="doc-1"))
    claim_at(store, "upd-1", later)  # after the answer: still waits for its own
    store._db.execute(  # type: ignore[attr-defined] - what vbus before this change left behind
        "UPDATE pairs SET last_status = NULL, last_status_at = NULL, last_status_time = NULL,"
        " change = NULL, change_time = NULL WHERE document_id = 'rev-1'"
    )
    assert [p.document_id for p in store.overdue(MONDAY_1700)] == ["rev-1", "upd-1"]
    store._db.execute("DELETE FROM schema_version WHERE version = 3")  # type: ignore[attr-defined]
    store.close()
    upgraded = open_store(store_url)
    try:
        assert [p.document_id for p in upgraded.overdue(MONDAY_1700)] == ["upd-1"]
        answered = pair_of(upgraded, "rev-1")
        assert (answered.last_status, answered.change) == ("15", ChangeMarker.REVOKED)
    finally:
        upgraded.close()


# --- documents tracked by (sender, DocumentId) ----------------------------------------------------

UUID_ID = "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb"
G22_ID = "000.00.00.G22,2026/11/24,102/VB"


def test_an_upgrade_re_keys_documents_whose_id_is_not_their_senders(store_url: str) -> None:
    old = SqlStore(open_driver(store_url), migrations=[m for m in MIGRATIONS if m.version <= 3])
    rows = [  # as a hub before migration 4 kept them: one key, the DocumentId alone
        ("documents", (G22_ID, "000.00.00.G22", None), "conventional, its sender's: unchanged"),
        ("documents", (UUID_ID, SENDER, None), "a UUID"),
        ("documents", (f"{UUID_ID}#revoke-abc", SENDER, UUID_ID), "its revoke, reusing the UUID"),
        ("documents", ("000.00.00.G09,2026/11/24,5/VB", B, None), "squatted before the upgrade"),
    ]
    for _, (doc_id, sender, related), _ in rows:
        old._db.execute(  # type: ignore[attr-defined]
            "INSERT INTO documents (document_id, sender, business_type, message_id, sha256, size,"
            " received_at, related_document_id) VALUES (?, ?, ?, 'm', 'ab', 1, ?, ?)",
            (doc_id, sender, 0 if related is None else 1, T0, related),
        )
    for doc_id in (G22_ID, UUID_ID, f"{UUID_ID}#revoke-abc"):
        old._db.execute(  # type: ignore[attr-defined]
            "INSERT INTO pairs (document_id, recipient, state, accepted_at) VALUES (?, ?, 'forwarded', ?)",
            (doc_id, C, T0),
        )
    old._db.execute(  # type: ignore[attr-defined]
        "INSERT INTO status_events (document_id, recipient, code, status_time, received_at, from_agency)"
        " VALUES (?, ?, '01', ?, ?, ?)",
        (UUID_ID, C, local(9), T0, C),
    )
    old.record_refusal(refusal("m9", sender=SENDER, doc=UUID_ID, at=T0))
    old.record_trace(TraceEvent(UUID_ID, "hub-a", "received", T0))
    old.close()

    store = open_store(store_url)
    try:
        mine = f"{SENDER}|{UUID_ID}"
        doc = store.get_document(mine)
        assert doc is not None
        assert (doc.sender, doc.edxml_document_id) == (SENDER, UUID_ID)
        revoke = store.get_document(f"{mine}#revoke-abc")
        assert revoke is not None
        assert (revoke.related_document_id, revoke.edxml_document_id) == (mine, UUID_ID)
        assert [p.recipient for p in store.pairs(mine)] == [C]
        assert [e.code for e in store.statuses(mine)] == ["01"]
        assert [r.message_id for r in store.refusals(document_id=mine)] == ["m9"]
        assert [e.event for e in store.trace(mine)] == ["received"]
        assert store.get_document(UUID_ID) is None
        kept = store.get_document(G22_ID)
        assert kept is not None
        assert (kept.sender, kept.edxml_document_id) == ("000.00.00.G22", G22_ID)
        assert [p.recipient for p in store.pairs(G22_ID)] == [C]
        squatted = store.get_document(f"{B}|000.00.00.G09,2026/11/24,5/VB")  # frees the id for its owner
        assert squatted is not None
        assert store.documents_written_as(UUID_ID) == [doc]
    finally:
        store.close()


def test_a_document_id_written_by_several_senders_is_found_for_each(store: SqlStore) -> None:
    for sender in (SENDER, B):
        record = dataclasses.replace(
            document(f"{sender}|{UUID_ID}"), sender=sender, edxml_document_id=UUID_ID
        )
        store.record_document(record)
    store.record_refusal(refusal("m1", sender=C, doc=f"{C}|{UUID_ID}", at=T0))
    assert [d.sender for d in store.documents_written_as(UUID_ID)] == [SENDER, B]
    assert store.tracked_ids_written_as(UUID_ID) == [
        f"{SENDER}|{UUID_ID}",
        f"{B}|{UUID_ID}",
        f"{C}|{UUID_ID}",
    ]
    assert store.documents_written_as("nothing") == []


def test_a_message_id_holding_nul_is_recorded_and_found_on_either_database(store: SqlStore) -> None:
    hostile = "m\x00\x01"  # AMQP message ids are any bytes; PostgreSQL text cannot hold NUL
    store.record_document(dataclasses.replace(document(), message_id=hostile))
    store.record_refusal(
        dataclasses.replace(refusal("x", sender=SENDER, doc="doc-1", at=T0), message_id=hostile)
    )
    store.record_status(dataclasses.replace(status("01", local(9)), message_id=hostile))
    [event] = store.statuses("doc-1")
    assert store.recorded_status(dataclasses.replace(event, message_id=None)) == event
    assert store.get_document("doc-1") is not None
    assert len(store.refusals(sender=SENDER)) == 1
