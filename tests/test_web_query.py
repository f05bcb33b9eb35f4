"""A clerk's description of a letter, read into a search (``vbcore.web.query``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from vbcore.directory import Directory
from vbcore.web.query import parse

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 25 November, 10:00 in Hà Nội
DIRECTORY = Directory.default()
HA_NOI, TAI_CHINH, NOI_VU = "000.00.00.H24", "000.00.00.G12", "000.00.00.G09"


def day(at: datetime | None) -> date | None:
    return None if at is None else at.date()


def test_the_clerks_sentence_reads_as_type_number_recipient_and_yesterday() -> None:
    q = parse("công văn 1234 gửi Hà Nội hôm qua", DIRECTORY, now=NOW).query
    assert q.type_key == "cong van"
    assert q.number == "1234"
    assert HA_NOI in q.recipients
    assert not q.senders
    assert (day(q.since), day(q.until)) == (date(2026, 11, 24), date(2026, 11, 25))
    assert q.words == ()


def test_the_same_sentence_typed_without_accents_reads_the_same() -> None:
    with_accents = parse("công văn 1234 gửi Hà Nội hôm qua", DIRECTORY, now=NOW).query
    assert parse("cong van 1234 gui ha noi hom qua", DIRECTORY, now=NOW).query == with_accents


def test_a_sender_is_named_after_tu_or_cua_and_a_number_after_so() -> None:
    q = parse("báo cáo số 88 của Bộ Tài chính tuần này", DIRECTORY, now=NOW).query
    assert (q.type_key, q.number, q.senders) == ("bao cao", "88", (TAI_CHINH,))
    assert (day(q.since), day(q.until)) == (date(2026, 11, 23), date(2026, 11, 30))  # Monday to Monday
    assert parse("từ bo noi vu", DIRECTORY, now=NOW).query.senders == (NOI_VU,)


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        ("hôm nay", date(2026, 11, 25), date(2026, 11, 26)),
        ("hôm kia", date(2026, 11, 23), date(2026, 11, 24)),
        ("tuần trước", date(2026, 11, 16), date(2026, 11, 23)),
        ("tháng trước", date(2026, 10, 1), date(2026, 11, 1)),
        ("3 ngày qua", date(2026, 11, 23), date(2026, 11, 26)),
        ("ngày 20/11", date(2026, 11, 20), date(2026, 11, 21)),
        ("24/12/2025", date(2025, 12, 24), date(2025, 12, 25)),
        ("24/12", date(2025, 12, 24), date(2025, 12, 25)),  # a day still to come this year: last year's
        ("từ 20/11 đến 24/11", date(2026, 11, 20), date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 24), date(2026, 11, 25)),
    ],
)
def test_days_are_read_in_vietnam_time(text: str, since: date, until: date) -> None:
    q = parse(text, DIRECTORY, now=NOW).query
    assert (day(q.since), day(q.until)) == (since, until)


def test_hom_qua_is_yesterday_in_hanoi_even_when_it_is_still_today_in_utc() -> None:
    late = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # 01:30 on the 25th in Hà Nội
    assert day(parse("hôm qua", DIRECTORY, now=late).query.since) == date(2026, 11, 24)


def test_other_words_are_words_of_the_subject_folded() -> None:
    q = parse("V/v chuyển đổi số", DIRECTORY, now=NOW).query
    assert q.words == ("chuyen", "doi", "so")


def test_a_name_that_merely_contains_an_agency_word_stays_in_the_subject() -> None:
    """ "Tuần Văn hóa" is no ministry (Bộ Văn hóa...): no agency filter without a word that says so."""
    q = parse("Tuần Văn hóa miền Trung", DIRECTORY, now=NOW).query
    assert q.parties == ()
    assert q.words == ("tuan", "van", "hoa", "mien", "trung")


def test_a_name_the_directory_does_not_know_is_said_so() -> None:
    parsed = parse("gửi Hà Nộii", DIRECTORY, now=NOW)
    assert next(u.kind for u in parsed.understood) == "unknown_agency"
    assert parsed.query.recipients == ()


def test_a_document_id_or_an_agency_code_is_taken_as_it_is() -> None:
    doc_id = "000.00.00.G22,2026/11/24,1234/VPCP-KSTT"
    assert parse(doc_id, DIRECTORY, now=NOW).query.document_id == doc_id
    q = parse("1234/VPCP-KSTT 000.00.00.H24", DIRECTORY, now=NOW).query
    assert (q.number, q.parties) == ("1234/VPCP-KSTT", (HA_NOI,))


def test_a_long_or_hostile_description_is_read_without_error() -> None:
    hostile = "% _ \\ ' \" ; DROP TABLE documents; -- " * 40 + "<script>alert(1)</script> 99/99/9999"
    parsed = parse(hostile, DIRECTORY, now=NOW)
    assert len(parsed.understood) <= 64 * 2
