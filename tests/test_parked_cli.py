"""``vb parked`` in bulk and ``vb track``'s parked state, against a real RabbitMQ (a vhost of their own;
the hub these commands talk to runs as guest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result

from vbcore.cli import vb
from vbcore.store import DocumentRecord, open_store
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq]

G09, H24 = "000.00.00.G09", "000.00.00.H24"
NAMES = Names(hub_user="guest")


@pytest.fixture
def broker(amqp_url: str, unique_prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    admin = BrokerAdmin(vhost=unique_prefix)
    admin.ensure_vhost()
    url = amqp_url.rstrip("/") + "/" + quote(unique_prefix, safe="")
    monkeypatch.setenv("VBUS_BROKER", url)
    monkeypatch.setenv("VBUS_HUB_USER", "guest")
    with RabbitMQTransport(url, names=NAMES) as hub:
        hub.declare_hub([G09, H24])
    try:
        yield url
    finally:
        admin.delete_vhost()


def park(url: str, *items: tuple[str, str, str, str]) -> None:
    """Park (message id, sender, DocumentId, reason) as the hub does: from its ingress, with the sender
    recorded (published here by the hub user carrying it, as an operator's replay that was refused again)."""
    with RabbitMQTransport(url, names=NAMES) as hub:
        for message_id, sender, doc, _ in items:
            hub.publish(
                NAMES.ingress_exchange,
                sender,
                b"<edXML/>",
                message_id=message_id,
                headers={n.KIND: n.KIND_EDOC, n.DOCUMENT_ID: doc, n.ORIGINAL_USER: sender},
            )
        taken = [hub.get(NAMES.ingress_queue) for _ in items]
        hub.park([(d, reason) for d, (*_, reason) in zip(taken, items, strict=True) if d is not None])


def vb_run(*args: str) -> Result:
    return CliRunner().invoke(vb, ["--lang", "en", *args])


def ingress_ids(url: str) -> list[str]:
    ids = []
    with RabbitMQTransport(url, names=NAMES) as hub:
        while (d := hub.get(NAMES.ingress_queue)) is not None:
            hub.ack(d)
            ids.append(d.message_id)
    return sorted(ids)


def test_bulk_replay_and_drop_take_what_their_reason_or_sender_match_in_one_pass(broker: str) -> None:
    park(
        broker,
        *[
            (
                f"store-{i}",
                G09 if i % 2 else H24,
                f"{G09},2026/11/24,{i}/VB",
                "not-processed: the store was down",
            )
            for i in range(6)
        ],
        ("bad-1", G09, "x", "malformed: not XML"),
        ("bad-2", H24, "y", "malformed: not XML"),
    )
    listed = vb_run("parked", "list", "--limit", "3")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[-1] == "3 parked"
    rows = json.loads(vb_run("parked", "list", "--json", "--reason", "malformed").stdout)
    assert sorted(r["message_id"] for r in rows) == ["bad-1", "bad-2"]

    replayed = vb_run("parked", "replay", "--reason", "not-processed", "--sender", G09)
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.strip() == "replayed 3 messages (8 looked at); 0 could not be replayed"
    assert ingress_ids(broker) == ["store-1", "store-3", "store-5"]
    assert "replaying: " in replayed.stderr  # progress, as plain lines off a terminal

    unconfirmed = vb_run("parked", "drop", "--reason", "malformed")
    assert unconfirmed.exit_code == 1
    assert "2 parked messages match; add --yes to delete them for good" in unconfirmed.output
    dropped = vb_run("parked", "drop", "--reason", "malformed", "--yes")
    assert dropped.stdout.strip() == "dropped 2 messages (5 looked at)"
    everything = vb_run("parked", "replay", "--all")
    assert everything.stdout.strip() == "replayed 3 messages (3 looked at); 0 could not be replayed"
    assert ingress_ids(broker) == ["store-0", "store-2", "store-4"]
    assert vb_run("parked", "list").stdout.strip() == "0 parked"


def test_several_ids_are_replayed_at_once_and_a_missing_one_is_named(broker: str) -> None:
    park(broker, ("a", G09, "d1", "not-processed: x"), ("b", G09, "d2", "not-processed: x"))
    result = vb_run("parked", "replay", "a", "b", "c")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == ["replayed a", "replayed b"]
    assert "no parked message c" in result.output
    assert vb_run("parked", "replay").exit_code == 2  # neither ids nor --all/--reason/--sender


def test_vb_track_shows_a_parked_document_with_its_reason_and_the_id_to_replay(
    broker: str, tmp_path: Path
) -> None:
    doc = f"{G09},2026/11/24,12/BNV"
    store = f"sqlite:///{tmp_path / 'vbus.db'}"
    open_store(store).close()
    park(broker, ("msg-12", G09, doc, "not-processed: the store was down"))
    result = vb_run("track", doc, "--store", store)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"Document {doc}: not in the hub's tracking store",
        "",
        "  Parked in the parking queue:",
    ]
    assert lines[3].startswith(f"    msg-12  edoc from {G09}: not-processed: ")
    assert lines[4:] == ["      → replay: vb parked replay msg-12"]
    tracked = open_store(store)
    tracked.record_document(
        DocumentRecord(doc, G09, 0, "V/v thử", "12/BNV", "m", "ab" * 32, 10, datetime.now(UTC))
    )
    tracked.close()
    data = json.loads(vb_run("track", doc, "--store", store, "--json").stdout)
    assert data["document"]["document_id"] == doc
    assert [(p["message_id"], p["replayable"]) for p in data["parked"]] == [("msg-12", True)]
    assert "parked" not in json.loads(
        CliRunner().invoke(vb, ["track", doc, "--store", store, "--json"], env={"VBUS_BROKER": ""}).stdout
    )


def test_replay_and_drop_with_the_store_are_operator_actions_in_the_evidence_log(
    broker: str, tmp_path: Path
) -> None:
    from vbcore.evidence.entry import OPERATOR_ACTION, package_digest
    from vbcore.store.accounts import Accounts

    store_url = f"sqlite:///{tmp_path / 'vbus.db'}"
    open_store(store_url).close()
    doc = f"{G09},2026/11/24,7/VB"
    park(broker, ("r-1", G09, doc, "not-processed: x"), ("d-1", G09, doc, "malformed: x"))
    assert vb_run("parked", "replay", "r-1", "--store", store_url).exit_code == 0
    assert vb_run("parked", "drop", "d-1", "missing-1", "--store", store_url).exit_code == 1
    store = open_store(store_url)
    try:
        logged = [e for e in store.evidence_entries(doc) if e.kind == OPERATOR_ACTION]
        assert [(e.body["action"], e.body["message_id"], e.body["outcome"]) for e in logged] == [
            ("replay", "r-1", "done"), ("drop", "d-1", "done")]
        assert logged[0].sender == G09
        assert logged[0].package_digest == package_digest(b"<edXML/>")
        assert str(logged[0].body["actor"]).startswith("vb:")
        [missing] = [e for e in store.evidence_entries("") if e.kind == OPERATOR_ACTION]
        assert (missing.body["message_id"], missing.body["outcome"]) == ("missing-1", "not-found")
        assert [a.message_id for a in Accounts(store).actions()] == ["missing-1", "d-1", "r-1"]
    finally:
        store.close()


def test_without_a_store_the_operator_is_told_the_action_is_not_recorded(broker: str) -> None:
    park(broker, ("w-1", G09, "d", "not-processed: x"))
    result = vb_run("parked", "drop", "w-1")
    assert result.exit_code == 0
    assert "not recorded in the hub's evidence log" in result.stderr
