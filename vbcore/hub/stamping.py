"""The RFC 3161 tokens of the hub's checkpoints, asked for beside the hub's loop, not in it.

A time-stamping authority is another organisation's server: slow, or down, it answered each checkpoint
after up to ``tsa.TIMEOUT_SECONDS`` (10 s), and the hub, which asked between two batches, carried no
traffic meanwhile (every minute, by default). Now one worker thread asks; the hub's loop hands it each
new checkpoint (``ask``) and, after each batch, takes the answers back (``answers``) and writes them
itself: the store stays the hub thread's alone. At most ``PENDING_AT_MOST`` checkpoints wait for their
token: a TSA down for long leaves the later ones without one (logged, as a failed request was), never
a queue that grows. At shutdown the hub waits with ``answers(wait=...)``: a request's timeout for each
token still owed, three at most (``evidence.SHUTDOWN_REQUESTS_WAITED``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PENDING_AT_MOST = 8


@dataclass(frozen=True)
class Answer:
    """A checkpoint's token, or why there is none."""

    seq: int
    token: str | None
    error: str | None = None


class Stamping:
    """One daemon thread asking ``stamp`` for tokens, oldest checkpoint first."""

    def __init__(self, stamp: Callable[[bytes], str]) -> None:
        self._stamp = stamp
        self._asked: queue.Queue[tuple[int, bytes] | None] = queue.Queue()
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._pending = 0  # asked and not taken back (``answers``)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="vbus-tsa", daemon=True)
        self._thread.start()

    def ask(self, seq: int, payload: bytes) -> bool:
        """Ask for checkpoint ``seq``'s token; False when too many wait already (it gets none)."""
        with self._lock:
            if self._pending >= PENDING_AT_MOST:
                return False
            self._pending += 1
        self._asked.put((seq, payload))
        return True

    def answers(self, wait: float = 0.0) -> list[Answer]:
        """The answers come since the last call; with ``wait``, until every one asked came or ``wait``
        seconds passed."""
        deadline = time.monotonic() + wait
        got: list[Answer] = []
        while True:
            with self._lock:
                if self._pending == 0:
                    break
            try:
                got.append(self._answers.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
            with self._lock:
                self._pending -= 1
        return got

    def waiting(self) -> int:
        """How many answers are still to be taken back (``answers``)."""
        with self._lock:
            return self._pending

    def close(self) -> None:
        self._asked.put(None)

    def _work(self) -> None:
        while (item := self._asked.get()) is not None:
            seq, payload = item
            try:
                answer = Answer(seq, self._stamp(payload))
            except Exception as err:  # the TSA failed: the checkpoint stands without its token
                answer = Answer(seq, None, f"{type(err).__name__}: {err}")
            self._answers.put(answer)
