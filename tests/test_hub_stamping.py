"""The worker that asks the time-stamping authority beside the hub's loop (``vbcore.hub.stamping``)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable

import pytest
from test_hub_support import G22, H24, World, edoc

from vbcore.errors import StoreError
from vbcore.hub import stamping
from vbcore.timezones import utc_now

pytest_plugins = ["test_hub_support"]


def test_a_tsa_down_for_long_leaves_later_checkpoints_without_a_token_never_a_growing_queue() -> None:
    release = threading.Event()
    seen: list[bytes] = []

    def stamp(data: bytes) -> str:
        assert release.wait(30)
        seen.append(data)
        if data == b"3":
            raise TimeoutError("timed out")
        return f"token of {data.decode()}"

    worker = stamping.Stamping(stamp)
    try:
        asked = [worker.ask(seq, str(seq).encode()) for seq in range(stamping.PENDING_AT_MOST + 2)]
        assert asked == [True] * stamping.PENDING_AT_MOST + [False, False]
        assert worker.answers() == []  # nothing answered yet, and nothing waited for
        release.set()
        answers = worker.answers(wait=30)
        assert [a.seq for a in answers] == list(range(stamping.PENDING_AT_MOST))  # oldest first
        assert answers[0] == stamping.Answer(0, "token of 0")
        assert answers[3] == stamping.Answer(3, None, "TimeoutError: timed out")
        assert worker.ask(99, b"99")  # room again
        assert worker.answers(wait=30) == [stamping.Answer(99, "token of 99")]
    finally:
        release.set()
        worker.close()


def gated(release: threading.Event) -> Callable[[bytes], str]:
    """A TSA that answers (a token naming the bytes' digest) only once ``release`` is set."""

    def stamp(data: bytes) -> str:
        assert release.wait(30)
        return "token of " + hashlib.sha256(data).hexdigest()

    return stamp


def store_away(world: World, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The store refuses every token from now on; how many it refused (``[n]``)."""
    refused = [0]

    def down(seq: int, token: str) -> None:
        refused[0] += 1
        raise StoreError("the store is away")

    monkeypatch.setattr(world.store, "set_checkpoint_token", down)
    return refused


def _answered(checkpoints: object, count: int) -> None:
    """Until the worker put ``count`` answers in its queue (not yet taken by the hub)."""
    worker = checkpoints._stamping  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while worker._answers.qsize() < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_store_error_while_writing_one_token_loses_none_of_the_tokens_answered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub took every answer the worker had, then the store failed on the first: the others, taken
    # already, were dropped, and their checkpoints never got their token (a TSA that answered!).
    hub = world.hub
    assert hub is not None
    hub.config = dataclasses.replace(hub.config, clock=utc_now, evidence_every_entries=1)
    release = threading.Event()

    hub.checkpoints._stamp = gated(release)
    for number in ("1", "2", "3"):  # a checkpoint per batch, answered after the three
        world.client(G22).submit(edoc(G22, [H24], number))
        world.pump()
    release.set()
    _answered(hub.checkpoints, 3)
    kept = world.store.set_checkpoint_token
    failures = store_away(world, monkeypatch)  # the PostgreSQL server restarts just then
    hub.flush()  # idle: takes the answers, the store refuses the first (logged, the loop goes on)
    assert failures[0] == 1
    monkeypatch.setattr(world.store, "set_checkpoint_token", kept)
    hub.checkpoint_now()  # the store is back
    checkpoints = list(world.store.evidence_checkpoints())
    assert len(checkpoints) >= 3
    assert all(c.tsa_token == "token of " + hashlib.sha256(c.statement.payload).hexdigest()
               for c in checkpoints)


def test_an_idle_hub_does_not_retry_a_token_the_store_refused_at_every_tick(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = world.hub
    assert hub is not None
    hub.config = dataclasses.replace(hub.config, clock=utc_now, evidence_every_entries=1)
    release = threading.Event()
    hub.checkpoints._stamp = gated(release)
    world.client(G22).submit(edoc(G22, [H24], "1"))
    world.pump()
    release.set()
    _answered(hub.checkpoints, 1)
    tries = store_away(world, monkeypatch)
    for _ in range(50):  # the runner's idle ticks (5 ms each)
        hub.flush()
    assert tries[0] == 1


def test_a_new_tsa_url_neither_holds_the_hubs_loop_nor_loses_the_tokens_the_former_tsa_still_owes(
    world: World,
) -> None:
    # ``_stamper`` waited up to 11 s in the hub's loop for the former TSA's answers, then dropped the
    # worker with those still to come: their checkpoints never got a token.
    hub = world.hub
    assert hub is not None
    release = threading.Event()

    hub.checkpoints._stamp = gated(release)
    hub.config = dataclasses.replace(hub.config, clock=utc_now, evidence_every_entries=1,
                                     tsa_url="http://tsa-a.invalid")
    world.client(G22).submit(edoc(G22, [H24], "1"))
    world.pump()  # checkpoint 1, asked of tsa-a, which is slow
    hub.config = dataclasses.replace(hub.config, tsa_url="http://tsa-b.invalid")
    started = time.monotonic()
    world.client(G22).submit(edoc(G22, [H24], "2"))
    world.pump()  # checkpoint 2, asked of tsa-b
    assert time.monotonic() - started < 5, "the hub's loop waited for the former TSA"
    release.set()
    hub.checkpoint_now()
    checkpoints = list(world.store.evidence_checkpoints())
    assert len(checkpoints) >= 2
    assert all(c.tsa_token == "token of " + hashlib.sha256(c.statement.payload).hexdigest()
               for c in checkpoints)


def test_a_slow_tsa_still_stamps_the_checkpoints_owed_at_shutdown_one_timeout_each(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shutdown waited one request's timeout in all: two checkpoints owed by a TSA answering each in
    # two thirds of its timeout lost the second token. It waits a timeout for each owed (three at most).
    from vbcore.evidence import tsa

    monkeypatch.setattr(tsa, "TIMEOUT_SECONDS", 0.5)  # the wait is a timeout + 1 s: 1.5 s for one
    hub = world.hub
    assert hub is not None
    hub.config = dataclasses.replace(hub.config, clock=utc_now, evidence_every_entries=1)

    def slow(data: bytes) -> str:
        time.sleep(1.0)
        return "token of " + hashlib.sha256(data).hexdigest()

    hub.checkpoints._stamp = slow
    for number in ("1", "2"):
        world.client(G22).submit(edoc(G22, [H24], number))
        world.pump()
    hub.checkpoint_now()
    checkpoints = list(world.store.evidence_checkpoints())
    assert len(checkpoints) == 2
    assert all(c.tsa_token for c in checkpoints)
