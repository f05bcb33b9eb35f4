"""The web board's read models (``vbcore.store.board``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vbcore.database import open_driver
from vbcore.store import DocumentRecord, Refusal, SqlStore, StatusEvent, open_store
from vbcore.store import board as b
from vbcore.store.migrations import MIGRATIONS
from vbcore.text import fold

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tuesday 08:00 in Hà Nội
VPCP, HA_NOI, DA_NANG, TAI_CHINH = "000.00.00.G22", "000.00.00.H24", "000.00.00.H15", "000.00.00.G12"


def doc(number: str, sender: str, subject: str, at: datetime, type_name: str = "Công văn") -> DocumentRecord:
    document_id = f"{sender},{at:%Y/%m/%d},{number}/VB"
    return DocumentRecord(
        document_id,
        sender,
        0,
        subject,
        f"{number}/VB",
        f"m-{number}",
        "ab" * 32,
        100,
        at,
        edxml_document_id=document_id,
        type_name=type_name,
    )


def send(store: SqlStore, record: DocumentRecord, *recipients: str, deadline: datetime | None = None) -> None:
    store.record_document(record)
    for r in recipients:
        store.claim_pair(record.document_id, r, at=record.received_at, deadline=deadline)
        store.mark_forwarded(record.document_id, r, at=record.received_at)


def answer(
    store: SqlStore, record: DocumentRecord, recipient: str, after: timedelta, code: str = "01"
) -> None:
    at = record.received_at + after
    store.record_status(
        StatusEvent(record.document_id, recipient, code, None, None, at, recipient, f"s-{at}")
    )


def ids(page: b.PageOf[DocumentRecord]) -> list[str]:
    return [d.code or "" for d in page.items]


def test_subject_words_are_found_with_or_without_accents_at_the_start_of_a_word(store: SqlStore) -> None:
    send(store, doc("1", VPCP, "V/v triển khai chuyển đổi số", T0), HA_NOI)
    send(store, doc("2", VPCP, "Báo cáo tài chính", T0 + timedelta(hours=1)), HA_NOI)
    for words in (("chuyển", "đổi"), ("chuyen", "doi"), ("CHUYEN",)):
        query = b.DocumentQuery(words=tuple(fold(w) for w in words))
        assert ids(b.search_documents(store, query)) == ["1/VB"]
    assert ids(b.search_documents(store, b.DocumentQuery(words=("uyen",)))) == []  # not mid-word


def test_number_type_sender_recipient_and_days_narrow_the_search(store: SqlStore) -> None:
    send(store, doc("1234", VPCP, "Một", T0), HA_NOI, DA_NANG)
    send(store, doc("1234", TAI_CHINH, "Hai", T0, "Quyết định"), HA_NOI)
    send(store, doc("99", VPCP, "Ba", T0 - timedelta(days=1)), DA_NANG)
    q = b.DocumentQuery
    assert len(b.search_documents(store, q(number="1234")).items) == 2
    assert len(b.search_documents(store, q(number="1234/vb")).items) == 2  # with its notation, any case
    assert [d.sender for d in b.search_documents(store, q(number="1234", type_key="quyet dinh")).items] == [
        TAI_CHINH
    ]
    assert [d.sender for d in b.search_documents(store, q(senders=(VPCP,), recipients=(HA_NOI,))).items] == [
        VPCP
    ]
    assert ids(b.search_documents(store, q(since=T0 - timedelta(days=1), until=T0))) == ["99/VB"]
    assert len(b.search_documents(store, q(parties=(DA_NANG,))).items) == 2


def test_a_page_holds_at_most_its_size_and_the_total_counts_every_match(store: SqlStore) -> None:
    for n in range(7):
        send(store, doc(str(n), VPCP, "Thư", T0 + timedelta(minutes=n)), HA_NOI)
    page = b.search_documents(store, b.DocumentQuery(), b.Page(2, 3))
    assert (page.total, ids(page)) == (7, ["3/VB", "2/VB", "1/VB"])  # newest first
    assert b.Page(1, 10_000).limit == b.MAX_PAGE_SIZE


def test_an_agency_sees_what_it_sent_or_received_and_nothing_else(store: SqlStore) -> None:
    mine = doc("1", VPCP, "Gửi Hà Nội", T0)
    send(store, mine, HA_NOI)
    send(store, doc("2", VPCP, "Gửi Đà Nẵng", T0), DA_NANG)
    send(store, doc("3", HA_NOI, "Hà Nội gửi", T0), VPCP)
    assert sorted(ids(b.search_documents(store, b.DocumentQuery(), scope=HA_NOI))) == ["1/VB", "3/VB"]
    assert b.can_see_document(store, mine.document_id, HA_NOI)
    assert not b.can_see_document(store, mine.document_id, DA_NANG)
    assert not b.sent_by(store, mine.document_id, HA_NOI)


def test_like_wildcards_in_a_query_match_themselves_only(store: SqlStore) -> None:
    send(store, doc("1", VPCP, "Thư", T0), HA_NOI)
    for hostile in ("%", "_", "1%", "\\"):
        assert b.search_documents(store, b.DocumentQuery(number=hostile)).items == []
        assert b.search_documents(store, b.DocumentQuery(words=(hostile,))).items == []


def test_overdue_pages_list_the_stores_overdue_pairs_with_how_late(store: SqlStore) -> None:
    late = doc("1", VPCP, "Thư", T0)
    send(store, late, HA_NOI, DA_NANG, deadline=T0 + timedelta(hours=9))
    answer(store, late, HA_NOI, timedelta(hours=1))
    now = T0 + timedelta(hours=12)
    page = b.overdue_page(store, now)
    assert [(o.pair.recipient, o.late_by) for o in page.items] == [(DA_NANG, timedelta(hours=3))]
    assert [o.pair for o in page.items] == store.overdue(now)
    assert b.overdue_page(store, now, scope=HA_NOI).items == []
    assert len(b.overdue_page(store, now, scope=VPCP).items) == 1


def test_charts_count_documents_per_hour_times_to_01_and_refusals_by_reason(store: SqlStore) -> None:
    first, second = doc("1", VPCP, "Một", T0), doc("2", VPCP, "Hai", T0 + timedelta(minutes=20))
    send(store, first, HA_NOI, DA_NANG)
    send(store, second, HA_NOI)
    answer(store, first, HA_NOI, timedelta(minutes=10))
    answer(store, second, HA_NOI, timedelta(minutes=30))
    answer(store, first, DA_NANG, timedelta(minutes=5), code="03")  # not a 01: still waiting for one
    store.record_refusal(Refusal("m-x", TAI_CHINH, None, None, "schema", "…", T0))
    store.record_refusal(Refusal("m-y", TAI_CHINH, None, None, "schema", "…", T0))
    store.record_refusal(Refusal("m-z", VPCP, None, None, "duplicate", "…", T0))
    hours = b.documents_per_hour(store, T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    assert [n for _, n in hours] == [0, 2, 0]
    assert hours[1][0].hour == 8  # Vietnam time
    receipts = {f.recipient: f for f in b.time_to_first_receipt(store, T0, T0 + timedelta(days=1))}
    assert receipts[HA_NOI].seconds == [600.0, 1800.0]
    assert receipts[HA_NOI].waiting == 0
    assert receipts[DA_NANG].seconds == []
    assert receipts[DA_NANG].waiting == 1
    assert b.refusals_by_reason(store, T0) == [("schema", 2), ("duplicate", 1)]
    assert b.refusals_by_reason(store, T0, scope=VPCP) == [("duplicate", 1)]
    assert b.refusals_page(store, b.Page(1, 1), scope=TAI_CHINH).total == 2


def test_migration_6_folds_the_subjects_recorded_before_it(store_url: str) -> None:
    old = SqlStore(open_driver(store_url), migrations=MIGRATIONS[:5])
    old.execute(
        "INSERT INTO documents (document_id, sender, business_type, subject, code, message_id, sha256, size,"
        " received_at, edxml_document_id) VALUES (?, ?, 0, ?, ?, 'm', 'ab', 1, ?, ?)",
        ("d-1", VPCP, "Về việc Đánh giá ĐỀ ÁN", "1/VB", T0, "d-1"),
    )
    old.close()
    store = open_store(store_url)
    try:
        found = b.search_documents(store, b.DocumentQuery(words=("danh", "de", "an")))
        assert [d.document_id for d in found.items] == ["d-1"]
    finally:
        store.close()
