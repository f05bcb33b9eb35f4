"""The worker that asks the time-stamping authority beside the hub's loop (``vbcore.hub.stamping``)."""

from __future__ import annotations

import threading

from vbcore.hub import stamping


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
