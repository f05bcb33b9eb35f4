"""``vb audit verify``: the evidence log and the tracking store of a hub that ran, then tampered with in
every way (an entry altered, removed, inserted, reordered, rewritten with its hashes recomputed; a
checkpoint forged; a document, pair or status row removed, inserted or changed), each refused with
the right finding; untouched, they verify (exit 0)."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from test_hub_support import G09, G22, H24, H56, edoc, open_world, status

from vbcore.cli import vb
from vbcore.evidence.chain import (
    ALTERED,
    CHECKPOINT_INVALID,
    CHECKPOINT_MISSING,
    INSERTED,
    REMOVED,
    REORDERED,
    REWRITTEN,
)
from vbcore.evidence.checkpoint import make_checkpoint
from vbcore.evidence.entry import GENESIS_HASH, canonical_json, content_hash, link_hash
from vbcore.operations.audit import CHANGED, UNLOGGED, UNRECORDED, AuditReport, audit
from vbcore.security.pki import DevPki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.store.evidence_log import ENTRY_COLUMNS, entry_from_row
from vbcore.testing.devworld import HUB_ID
from vbcore.timezones import utc_now

pytest_plugins = ["test_hub_support"]
UNKNOWN = "000.00.99.Z99"


def run_hub(store_url: str, tmp: Path, pki: DevPki, keys: dict[str, SigningKey]) -> str:
    """A hub that carried four documents (one partly refused), receipts, one garbage package; its
    checkpoints every 5 entries and on shutdown. Returns the first document's id."""
    world = open_world(tmp, pki, keys, store_url)
    assert world.hub is not None
    world.hub.config = dataclasses.replace(world.hub.config, evidence_every_entries=5, clock=utc_now)
    docs = [
        edoc(G22, [H24, H56], "1"),
        edoc(G22, [H24], "2"),
        edoc(G09, [G22, UNKNOWN], "3"),
        edoc(G22, [H56], "4"),
    ]
    for doc in docs:
        world.client(doc.from_.organ_id).submit(doc)
        world.pump()
    world.inbox(H24)
    for code in (StatusCode.ARRIVED, StatusCode.REGISTERED):
        world.client(H24).submit(status(H24, docs[0], code))
        world.pump()
    world.client(G22).submit_signed(b"<not-edxml/>", kind="edoc", message_id="garbage-1")
    world.pump()
    world.hub.checkpoint_now()
    world.store.close()
    return docs[0].effective_document_id


@pytest.fixture(scope="module")
def pristine(
    tmp_path_factory: pytest.TempPathFactory, pki: DevPki, keys: dict[str, SigningKey]
) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("hub")
    first = run_hub(f"sqlite:///{tmp / 'hub.db'}", tmp, pki, keys)
    return tmp / "hub.db", first


@pytest.fixture
def hub_db(pristine: tuple[Path, str], tmp_path: Path) -> Path:
    copy = tmp_path / "hub.db"
    shutil.copy(pristine[0], copy)
    return copy


@pytest.fixture(scope="module")
def trust(pki: DevPki) -> TrustStore:
    return TrustStore.from_pem_files([pki.ca_cert_path])


def check(path: Path, trust: TrustStore) -> AuditReport:
    store = open_store(f"sqlite:///{path}")
    try:
        return audit(store, trust)
    finally:
        store.close()


def sql(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement, params if "?" in statement else ())


def test_an_untouched_log_and_store_verify_and_the_command_exits_0(
    hub_db: Path, pki: DevPki, trust: TrustStore
) -> None:
    report = check(hub_db, trust)
    assert report.clean, (report.chain, report.tsa, report.store)
    assert report.entries == report.head > 10
    assert report.covered == report.entries  # the shutdown checkpoint signed the last entry
    assert report.checkpoints >= 3
    assert report.documents == 4
    result = CliRunner().invoke(
        vb,
        [
            "--lang",
            "en",
            "audit",
            "verify",
            "--store",
            f"sqlite:///{hub_db}",
            "--trust",
            str(pki.ca_cert_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Verdict: the evidence log and the tracking store are intact." in result.stdout
    assert "checking the evidence chain" in result.stderr  # the progress, on stderr


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM evidence_log ORDER BY seq").fetchall()


def _rewrite(path: Path, change: Callable[[list[object]], None], *, fix_links: bool = True) -> None:
    """What an operator who knows the algorithm can do: change entries and recompute every hash after
    them, and the chain head; only the hub's signed checkpoints stand in the way."""
    rows = [list(r) for r in _rows(path)]
    change(rows)
    head = GENESIS_HASH
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM evidence_log")
        for row in rows:
            entry = entry_from_row(tuple(row))[0]
            row[9] = content_hash(entry)
            row[8] = canonical_json(entry.body).decode()
            if fix_links:
                head = link_hash(head, row[9])  # type: ignore[arg-type]
                row[10] = head
            db.execute(
                f"INSERT INTO evidence_log ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * 11)})", row
            )
        db.execute("UPDATE evidence_head SET seq = ?, entry_hash = ?", (rows[-1][0], rows[-1][10]))


def _insert_forged(path: Path, at: int) -> None:
    """A row made to look right where it stands (its hashes computed from the row before), the later
    rows moved up one number with their stored hashes."""
    rows = _rows(path)
    before, model = rows[at - 2], entry_from_row(rows[at - 1])[0]
    forged = dataclasses.replace(model, seq=at, document_id="forged")
    content = content_hash(forged)
    values = (
        at,
        forged.at_utc,
        forged.at_local,
        forged.kind,
        forged.sender,
        forged.document_id,
        forged.recipient,
        forged.package_digest,
        canonical_json(forged.body).decode(),
        content,
        link_hash(str(before[10]), content),
    )
    sql(
        path,
        f"UPDATE evidence_log SET seq = -seq WHERE seq >= {at}",
        "UPDATE evidence_log SET seq = 1 - seq WHERE seq < 0",
    )
    with sqlite3.connect(path) as db:
        db.execute(
            f"INSERT INTO evidence_log ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * 11)})", values
        )


def _renumber(rows: list[list[object]]) -> None:
    for i, row in enumerate(rows, start=1):
        row[0] = i


CHAIN_TAMPERING: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "an entry's recipient changed": (
        lambda p: sql(p, f"UPDATE evidence_log SET recipient = '{UNKNOWN}' WHERE seq = 5"),
        5,
        ALTERED,
    ),
    "an entry's time moved": (
        lambda p: sql(p, "UPDATE evidence_log SET at_utc = '2026-01-01T00:00:00.000000Z' WHERE seq = 6"),
        6,
        ALTERED,
    ),
    "an entry removed": (lambda p: sql(p, "DELETE FROM evidence_log WHERE seq = 5"), 5, REMOVED),
    "an entry removed, the later ones renumbered": (
        lambda p: sql(
            p, "DELETE FROM evidence_log WHERE seq = 5", "UPDATE evidence_log SET seq = seq - 1 WHERE seq > 5"
        ),
        5,
        REMOVED,
    ),
    "the last entries removed": (lambda p: sql(p, "DELETE FROM evidence_log WHERE seq > 8"), 9, REMOVED),
    "two entries swapped, renumbered": (
        lambda p: sql(
            p,
            "UPDATE evidence_log SET seq = -1 WHERE seq = 5",
            "UPDATE evidence_log SET seq = 5 WHERE seq = 6",
            "UPDATE evidence_log SET seq = 6 WHERE seq = -1",
        ),
        5,
        REORDERED,
    ),
    "two entries swapped, content hashes recomputed": (
        lambda p: _rewrite(
            p,
            lambda rows: (rows.__setitem__(slice(4, 6), [rows[5], rows[4]]), _renumber(rows)),
            fix_links=False,
        ),
        5,
        REORDERED,
    ),
    "a forged entry inserted, its hashes computed, the later ones renumbered": (
        lambda p: _insert_forged(p, 5),
        5,
        INSERTED,
    ),
    "an entry changed and the whole chain rehashed": (
        lambda p: _rewrite(p, lambda rows: rows[6].__setitem__(4, G22)),
        6,
        REWRITTEN,
    ),
    "a checkpoint forged": (
        lambda p: sql(
            p,
            "UPDATE evidence_checkpoints SET statement = replace(statement, 'seq\\\":5', "
            "'seq\\\":4') WHERE seq = 5",
        ),
        4,
        CHECKPOINT_INVALID,
    ),  # the seq it now claims
    "a checkpoint made unreadable": (
        lambda p: sql(p, "UPDATE evidence_checkpoints SET statement = 'garbage' WHERE seq = 10"),
        6,
        CHECKPOINT_INVALID,
    ),
}


@pytest.mark.parametrize("how", list(CHAIN_TAMPERING))
def test_a_tampered_log_is_refused_naming_the_first_entry(
    hub_db: Path, pki: DevPki, trust: TrustStore, how: str
) -> None:
    tamper, seq, what = CHAIN_TAMPERING[how]
    tamper(hub_db)
    report = check(hub_db, trust)
    assert report.chain is not None, how
    assert (report.chain.seq, report.chain.what) == (seq, what), report.chain.describe("en")
    result = CliRunner().invoke(
        vb,
        [
            "--lang",
            "en",
            "audit",
            "verify",
            "--store",
            f"sqlite:///{hub_db}",
            "--trust",
            str(pki.ca_cert_path),
        ],
    )
    assert result.exit_code == 1
    assert f"entry {seq} " in result.stdout
    assert "Verdict: NOT intact." in result.stdout


def test_the_findings_read_in_vietnamese_by_default(hub_db: Path, pki: DevPki) -> None:
    sql(hub_db, "DELETE FROM evidence_log WHERE seq = 5")
    result = CliRunner().invoke(
        vb, ["audit", "verify", "--store", f"sqlite:///{hub_db}", "--trust", str(pki.ca_cert_path)]
    )
    assert result.exit_code == 1
    assert "mục 5 bị xóa" in result.stdout
    assert "Kết luận: KHÔNG nguyên vẹn." in result.stdout


def _store_tampering(first: str) -> dict[str, tuple[list[str], str, str]]:
    return {
        "a document removed": ([f"DELETE FROM documents WHERE document_id = '{first}'"], first, UNRECORDED),
        "a document inserted": (
            [
                "INSERT INTO documents (document_id, sender, business_type, message_id, sha256, size,"
                " received_at) VALUES ('000.00.00.G22,2026/11/30,99/X', '000.00.00.G22', 0, 'm', 'ab', 1,"
                " '2099-01-01 00:00:00.000000')"
            ],
            "000.00.00.G22,2026/11/30,99/X",
            UNLOGGED,
        ),
        "a document's digest changed": (
            [f"UPDATE documents SET sha256 = 'ab' WHERE document_id = '{first}'"],
            first,
            CHANGED,
        ),
        "a pair removed": (
            [f"DELETE FROM pairs WHERE document_id = '{first}' AND recipient = '{H56}'"],
            first,
            UNRECORDED,
        ),
        "a pair inserted": (
            [
                f"INSERT INTO pairs (document_id, recipient, state, accepted_at) VALUES ('{first}', "
                f"'{G09}', 'accepted', '2099-01-01 00:00:00.000000')"
            ],
            first,
            UNLOGGED,
        ),
        "a pair said undelivered": (
            [f"UPDATE pairs SET forwarded_at = NULL WHERE document_id = '{first}' AND recipient = '{H56}'"],
            first,
            CHANGED,
        ),
        "a status removed": (
            [f"DELETE FROM status_events WHERE document_id = '{first}' AND code = '03'"],
            first,
            UNRECORDED,
        ),
        "a status inserted": (
            [
                f"INSERT INTO status_events (document_id, recipient, code, received_at, from_agency, "
                f"message_id) VALUES ('{first}', '{H56}', '05', '2099-01-01 00:00:00.000000', "
                f"'{H56}', 'forged')"
            ],
            first,
            UNLOGGED,
        ),
    }


@pytest.mark.parametrize("how", list(_store_tampering("x")))
def test_a_tampered_store_is_refused_naming_the_document(
    hub_db: Path, pristine: tuple[Path, str], trust: TrustStore, how: str
) -> None:
    statements, document_id, what = _store_tampering(pristine[1])[how]
    sql(hub_db, *statements)
    report = check(hub_db, trust)
    assert report.chain is None
    assert [(d.document_id, d.what) for d in report.store] == [(document_id, what)], [
        d.describe("en") for d in report.store
    ]
    assert report.store_total == 1


# --- PostgreSQL: the same audit through server-side cursors and code-point order -----------------------


@pytest.fixture
def pg_url(pg_dsn: str) -> Iterator[str]:
    schema = f"vbus_test_{uuid.uuid4().hex[:12]}"
    yield f"{pg_dsn}?schema={schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_on_postgresql_the_audit_verifies_and_names_a_removed_pair(
    pg_url: str, tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey], trust: TrustStore
) -> None:
    first = run_hub(pg_url, tmp_path, pki, keys)
    store = open_store(pg_url)
    try:
        report = audit(store, trust)
        assert report.clean, (report.chain, report.store)
        assert report.documents == 4
        store.execute("DELETE FROM pairs WHERE document_id = ? AND recipient = ?", (first, H24))
        report = audit(store, trust)
        assert [(d.document_id, d.what) for d in report.store] == [(first, UNRECORDED)]
    finally:
        store.close()


OLD = "000.00.00.G22,2025/01/02,1/X"


def test_what_the_store_held_before_the_log_began_is_counted_not_judged(
    hub_db: Path, trust: TrustStore
) -> None:
    sql(
        hub_db,
        "INSERT INTO documents (document_id, sender, business_type, message_id, sha256, size, received_at)"
        f" VALUES ('{OLD}', '000.00.00.G22', 0, 'm', 'ab', 1, '2025-01-02 00:00:00.000000')",
        f"INSERT INTO pairs (document_id, recipient, state, accepted_at) VALUES ('{OLD}',"
        f" '{H24}', 'accepted', '2025-01-02 00:00:00.000000')",
    )
    report = check(hub_db, trust)
    assert report.clean, [d.describe("en") for d in report.store]
    assert report.before_log == 1


def test_json_for_scripts(hub_db: Path, pki: DevPki) -> None:
    import json

    sql(hub_db, f"DELETE FROM pairs WHERE recipient = '{H56}' AND document_id LIKE '%,1/VB'")
    result = CliRunner().invoke(
        vb, ["audit", "verify", "--json", "--store", f"sqlite:///{hub_db}", "--trust", str(pki.ca_cert_path)]
    )
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["intact"] is False
    assert out["chain"] is None
    assert out["store_total"] == 1
    assert out["store"][0]["what"] == UNRECORDED


def _resign_checkpoints(path: Path, key: SigningKey, hub_id: str | None = None) -> None:
    """What an operator who also holds an agency's key can do after rewriting the chain: sign every
    checkpoint again over the new heads (and drop the time-stamps that no longer match)."""
    with sqlite3.connect(path) as db:
        links = dict(db.execute("SELECT seq, entry_hash FROM evidence_log").fetchall())
        rows = db.execute("SELECT seq, at_utc, hub_id FROM evidence_checkpoints").fetchall()
        for seq, at_utc, stated in rows:
            checkpoint = make_checkpoint(key, seq=seq, head_hash=links[seq], at_utc=at_utc,
                                         hub_id=hub_id or stated)
            db.execute("UPDATE evidence_checkpoints SET statement = ?, head_hash = ?, tsa_token = NULL "
                       "WHERE seq = ?", (checkpoint.statement.to_json(), links[seq], seq))


def test_a_rewritten_chain_re_signed_with_an_agency_key_is_refused(
    hub_db: Path, pki: DevPki, keys: dict[str, SigningKey], trust: TrustStore
) -> None:
    _rewrite(hub_db, lambda rows: rows[6].__setitem__(4, G22))
    _resign_checkpoints(hub_db, keys[G22])  # claiming to be the hub
    report = check(hub_db, trust)
    assert report.chain is not None
    assert report.chain.what == CHECKPOINT_INVALID
    assert f"signed by the certificate of {G22}" in report.chain.describe("en")


def test_checkpoints_signed_by_another_hub_fail_against_the_hub_id(
    hub_db: Path, pki: DevPki, keys: dict[str, SigningKey], trust: TrustStore
) -> None:
    _rewrite(hub_db, lambda rows: rows[6].__setitem__(4, G22))
    _resign_checkpoints(hub_db, keys[G09], hub_id=G09)  # an agency as its own "hub": consistent...
    report = check(hub_db, trust)
    assert report.chain is None
    assert report.hubs == [G09]
    result = CliRunner().invoke(vb, ["--lang", "en", "audit", "verify", "--store", f"sqlite:///{hub_db}",
                                     "--trust", str(pki.ca_cert_path), "--hub-id", HUB_ID])
    assert result.exit_code == 1, result.output
    assert f"signed by the hub {G09}, not by {HUB_ID}" in result.stdout


def test_the_hubs_receipts_are_checked_against_their_seals_and_the_log(
    hub_db: Path, trust: TrustStore
) -> None:
    report = check(hub_db, trust)
    assert report.receipts > 5
    assert report.clean


def test_a_receipt_edited_in_the_store_is_found(hub_db: Path, trust: TrustStore) -> None:
    sql(hub_db, "UPDATE evidence_receipts SET body = replace(body, '\"at_utc\":\"2', '\"at_utc\":\"1') "
        "WHERE receipt_id = (SELECT MIN(receipt_id) FROM evidence_receipts)")
    report = check(hub_db, trust)
    assert report.chain is None
    assert [d.what for d in report.store] == [CHANGED], report.store
    assert "is not one the hub sealed" in report.store[0].describe("en")


def test_a_rewrite_re_signed_with_the_hubs_own_key_is_found_by_its_receipts(
    hub_db: Path, keys: dict[str, SigningKey], trust: TrustStore
) -> None:
    """The operator holds the hub's key: the rewritten chain and its checkpoints verify, but the
    receipts the hub issued (and the agencies hold) name the old links."""
    _rewrite(hub_db, lambda rows: rows[6].__setitem__(4, G22))
    _resign_checkpoints(hub_db, keys[HUB_ID])
    report = check(hub_db, trust)
    assert report.chain is None
    assert any("is not the one it was issued for" in d.describe("en") for d in report.store), report.store


def test_a_seal_removed_is_found(hub_db: Path, trust: TrustStore) -> None:
    sql(hub_db, "DELETE FROM evidence_seals")
    report = check(hub_db, trust)
    assert report.store_total == report.receipts > 0


def test_a_refusal_removed_from_the_store_is_found(hub_db: Path, trust: TrustStore) -> None:
    """The 02 the sender got stays in the log when the operator deletes its row."""
    sql(hub_db, "DELETE FROM refusals WHERE recipient = ?", params=(UNKNOWN,))
    report = check(hub_db, trust)
    assert [d.what for d in report.store] == [UNRECORDED], report.store
    assert f"for {UNKNOWN}" in report.store[0].describe("en")
    assert "logged but not in the store" in report.store[0].describe("en")


def test_a_refusal_or_an_operator_action_made_up_in_the_store_is_found(
    hub_db: Path, trust: TrustStore
) -> None:
    sql(hub_db, "INSERT INTO refusals (message_id, sender, document_id, recipient, reason, detail, at) "
        f"VALUES ('m-x', '{G22}', 'doc-x', '{H24}', 'signature-invalid', '', '2099-01-01 00:00:00.000000')")
    sql(hub_db, "INSERT INTO operator_actions (at, actor, action, message_id, document_id, sender, reason, "
        "outcome) VALUES ('2099-01-01 00:00:00.000000', 'admin', 'drop', 'm-y', 'doc-y', ?, NULL, 'dropped')",
        params=(G22,))
    report = check(hub_db, trust)
    described = [d.describe("en") for d in report.store]
    assert [d.what for d in report.store] == [UNLOGGED, UNLOGGED], described
    assert any("refusal (signature-invalid) of message m-x" in d for d in described)
    assert any("operator action drop by admin on message m-y" in d for d in described)


def test_a_rewrite_with_every_checkpoint_removed_is_not_intact(
    hub_db: Path, pki: DevPki, trust: TrustStore
) -> None:
    """Rewritten from entry 7 on, hashes recomputed, and the checkpoints that would tell deleted: the
    chain is consistent, but nothing the hub signed vouches for it."""
    _rewrite(hub_db, lambda rows: rows[6].__setitem__(4, G22))
    sql(hub_db, "DELETE FROM evidence_checkpoints", "DELETE FROM evidence_receipts")
    store = open_store(f"sqlite:///{hub_db}")
    try:
        fresh = audit(store, trust)  # the entries are a few seconds old: the hub may still sign them
        later = audit(store, trust, now=utc_now() + timedelta(hours=1))
    finally:
        store.close()
    assert fresh.chain is None
    assert later.chain is not None
    assert (later.chain.seq, later.chain.what) == (1, CHECKPOINT_MISSING)
    result = CliRunner().invoke(vb, ["--lang", "en", "audit", "verify", "--store", f"sqlite:///{hub_db}",
                                     "--trust", str(pki.ca_cert_path), "--max-unsigned-age", "0"])
    assert result.exit_code == 1, result.output
    assert "carry no checkpoint" in result.stdout


def test_an_unreadable_time_in_the_store_neither_crashes_nor_exempts_its_row(
    hub_db: Path, trust: TrustStore
) -> None:
    sql(hub_db, "UPDATE refusals SET at = 'garbage' WHERE recipient = ?", params=(UNKNOWN,))
    sql(hub_db, "UPDATE refusals SET recipient = ? WHERE recipient = ?", params=(H24, UNKNOWN))
    sql(hub_db, "UPDATE documents SET received_at = '1999-99-99'")
    report = check(hub_db, trust)
    assert {d.what for d in report.store} == {UNLOGGED, UNRECORDED}, report.store


def test_a_receipt_deleted_from_the_store_is_found_by_the_entry_that_names_it(
    hub_db: Path, trust: TrustStore
) -> None:
    sql(hub_db, "DELETE FROM evidence_receipts WHERE seq = (SELECT MIN(seq) FROM evidence_receipts)")
    report = check(hub_db, trust)
    assert report.chain is None
    assert [d.what for d in report.store] == [UNRECORDED], report.store
    assert "which the store no longer holds" in report.store[0].describe("en")
