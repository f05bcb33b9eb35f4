"""RFC 3161 time-stamps on the evidence log's checkpoints, from a time-stamping authority of the test's
own (``openssl ts -reply`` behind HTTP): requested, verified offline (and by ``openssl ts -verify``),
kept with the checkpoint by the hub, and checked by ``vb audit verify``; a token that was changed,
issued for other bytes, or signed by an untrusted TSA is refused."""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from own_tsa import OwnTsa, running_tsa
from test_hub_support import G22, H24, edoc, open_world

from vbcore.errors import EvidenceInvalid
from vbcore.evidence.tsa import request_token, token_time, verify_token
from vbcore.operations.audit import audit
from vbcore.security.pki import DevPki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.timezones import utc_now

pytest_plugins = ["test_hub_support"]


@pytest.fixture(scope="module")
def tsa(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnTsa]:
    with running_tsa(openssl, tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def tsa_trust(tsa: OwnTsa) -> TrustStore:
    return TrustStore.from_pem_files([tsa.ca_path])


def test_a_token_is_requested_and_verifies_offline_and_with_openssl(
    tsa: OwnTsa, tsa_trust: TrustStore, openssl: str, tmp_path: Path
) -> None:
    data = b'{"type":"vbus-checkpoint","seq":1}'
    before = utc_now().replace(microsecond=0)
    token = request_token(tsa.url, data)
    when = verify_token(token, data, tsa_trust)
    assert before <= when <= utc_now()
    assert token_time(token) == when
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "token.der").write_bytes(base64.b64decode(token))
    checked = subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "data"),
            "-in",
            str(tmp_path / "token.der"),
            "-token_in",
            "-CAfile",
            str(tsa.ca_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Verification: OK" in checked.stdout


def test_a_token_for_other_bytes_a_changed_token_or_an_untrusted_tsa_is_refused(
    tsa: OwnTsa, tsa_trust: TrustStore
) -> None:
    data = b"checkpoint bytes"
    token = request_token(tsa.url, data)
    with pytest.raises(EvidenceInvalid, match="other bytes"):
        verify_token(token, b"checkpoint byteS", tsa_trust)
    raw = bytearray(base64.b64decode(token))
    raw[-5] ^= 0x01  # inside the signature
    with pytest.raises(EvidenceInvalid, match="does not verify"):
        verify_token(base64.b64encode(bytes(raw)).decode(), data, tsa_trust)
    with pytest.raises(EvidenceInvalid, match=r"malformed|truncated"):
        verify_token(base64.b64encode(bytes(raw[:100])).decode(), data, tsa_trust)
    from vbcore.security.pki import create_ca

    other = TrustStore([create_ca("another CA")[1]])
    with pytest.raises(EvidenceInvalid, match="not trusted"):
        verify_token(token, data, other)


def test_the_hubs_checkpoints_carry_tokens_that_vb_audit_verify_checks(
    tsa: OwnTsa, tsa_trust: TrustStore, tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    world = open_world(tmp_path, pki, keys)
    try:
        assert world.hub is not None
        world.hub.config = dataclasses.replace(
            world.hub.config, clock=utc_now, evidence_every_entries=2, tsa_url=tsa.url
        )
        for number in ("1", "2"):
            world.client(G22).submit(edoc(G22, [H24], number))
            world.pump()
        world.hub.checkpoint_now()
        checkpoints = list(world.store.evidence_checkpoints())
        assert checkpoints
        assert all(c.tsa_token for c in checkpoints)
        hub_trust = TrustStore.from_pem_files([pki.ca_cert_path])
        report = audit(world.store, hub_trust, tsa_trust=tsa_trust)
        assert report.clean, (report.chain, report.tsa)
        assert report.timestamped == len(checkpoints)
        # a token taken from another checkpoint does not vouch for this one
        first, last = checkpoints[0], checkpoints[-1]
        world.store.set_checkpoint_token(last.seq, first.tsa_token or "")
        report = audit(world.store, hub_trust, tsa_trust=tsa_trust)
        assert [(f.seq, f.what) for f in report.tsa] == [(last.seq, "checkpoint-invalid")]
        assert "other bytes" in report.tsa[0].describe("en")
    finally:
        world.store.close()


def test_an_unreachable_tsa_leaves_the_checkpoint_without_a_token_and_says_so(
    tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    world = open_world(tmp_path, pki, keys)
    try:
        assert world.hub is not None
        world.hub.config = dataclasses.replace(
            world.hub.config, clock=utc_now, tsa_url="http://127.0.0.1:9/tsa"
        )
        world.client(G22).submit(edoc(G22, [H24]))
        world.pump()
        world.hub.checkpoint_now()
        [checkpoint] = list(world.store.evidence_checkpoints())
        assert checkpoint.tsa_token is None
    finally:
        world.store.close()


def test_a_hostile_token_is_refused_as_evidence_never_crashes(tsa: OwnTsa, tsa_trust: TrustStore) -> None:
    import random

    data = b"checkpoint bytes"
    raw = base64.b64decode(request_token(tsa.url, data))
    rng = random.Random(9)
    outcomes = set()
    for _ in range(300):
        mutated = bytearray(raw)
        if rng.random() < 0.3:
            mutated = mutated[: rng.randrange(len(mutated))]
        else:
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            verify_token(base64.b64encode(bytes(mutated)).decode(), data, tsa_trust)
            outcomes.add("verified")  # a byte the signature does not cover (an unsigned part) changed
        except EvidenceInvalid:
            outcomes.add("refused")
    assert "refused" in outcomes


@pytest.fixture
def answering() -> Iterator[Callable[[bytes], str]]:
    """A fake TSA that answers whatever the test says (a refusal, garbage)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def serve(answer: bytes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_tsa_that_refuses_or_answers_garbage_is_named_and_the_hub_goes_on(
    answering: Callable[[bytes], str], tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    with pytest.raises(EvidenceInvalid, match="refused the request"):
        request_token(answering(bytes.fromhex("30053003020102")), b"x")
    garbage = answering(b"\x30\x82\xff\xff garbage")
    with pytest.raises(EvidenceInvalid):
        request_token(garbage, b"x")
    world = open_world(tmp_path, pki, keys)
    try:
        assert world.hub is not None
        world.hub.config = dataclasses.replace(world.hub.config, clock=utc_now, tsa_url=garbage)
        world.client(G22).submit(edoc(G22, [H24]))
        world.pump()
        world.hub.checkpoint_now()
        [checkpoint] = list(world.store.evidence_checkpoints())
        assert checkpoint.tsa_token is None
        assert [i.package for i in world.inbox(H24)]
    finally:
        world.store.close()


def test_a_checkpoint_dated_back_into_an_expired_certificate_is_caught_by_its_time_stamp(
    tsa: OwnTsa, tsa_trust: TrustStore
) -> None:
    """The hub's key is used after its certificate expired (or by whoever stole it), the checkpoint
    dated back to when the certificate was valid: its own signature passes, the TSA's time does not."""
    from datetime import timedelta

    from vbcore.evidence.checkpoint import make_checkpoint, verify_checkpoint, verify_timestamp
    from vbcore.evidence.entry import format_utc
    from vbcore.security.pki import create_ca, issue_agency_certificate

    ca_key, ca_cert = create_ca("expired hub test CA")  # valid from five minutes ago
    start = (utc_now() - timedelta(minutes=4)).replace(microsecond=0)
    key, cert = issue_agency_certificate(ca_key, ca_cert, "vbus.hub", "vbus hub", not_before=start,
                                         valid_days=0)  # valid at that one second, expired since
    hub_trust = TrustStore([ca_cert])
    checkpoint = make_checkpoint(SigningKey(key, (cert,)), seq=1, head_hash="ab" * 32,
                                 at_utc=format_utc(start), hub_id="vbus.hub")
    verify_checkpoint(checkpoint, hub_trust)  # judged at the instant it states: valid
    stamped = dataclasses.replace(checkpoint, tsa_token=request_token(tsa.url, checkpoint.statement.payload))
    verify_timestamp(stamped, tsa_trust)  # the token itself is genuine
    with pytest.raises(EvidenceInvalid, match="when the hub's certificate was not valid"):
        verify_timestamp(stamped, tsa_trust, hub_trust)


def test_a_slow_tsa_holds_neither_the_hubs_loop_nor_its_traffic_and_its_token_is_kept_when_it_comes(
    tsa: OwnTsa, tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]
) -> None:
    # The TSA was asked between two batches, in the hub's loop: a TSA that took its 10 s timeout to
    # answer held the traffic that long at every checkpoint. Here it answers only when the test says.
    world = open_world(tmp_path, pki, keys)
    try:
        hub = world.hub
        assert hub is not None
        hub.config = dataclasses.replace(hub.config, clock=utc_now, evidence_every_entries=1, tsa_url=tsa.url)
        asked, answer = threading.Event(), threading.Event()

        def slow(data: bytes) -> str:
            asked.set()
            assert answer.wait(30)
            return request_token(tsa.url, data)

        hub.checkpoints._stamp = slow
        done = threading.Event()

        def traffic() -> None:
            for number in ("1", "2", "3"):
                world.client(G22).submit(edoc(G22, [H24], number))
                world.pump()
            done.set()

        worker = threading.Thread(target=traffic, daemon=True)
        worker.start()
        assert asked.wait(30)  # a checkpoint was made and its token asked for
        assert done.wait(30), "the hub's loop waited for the time-stamping authority"
        assert len(world.inbox(H24)) == 3
        assert all(c.tsa_token is None for c in world.store.evidence_checkpoints())
        answer.set()
        hub.checkpoint_now()  # shutdown: the tokens asked for are waited for and kept
        checkpoints = list(world.store.evidence_checkpoints())
        assert checkpoints
        assert all(c.tsa_token for c in checkpoints)
    finally:
        answer.set()
        world.store.close()
