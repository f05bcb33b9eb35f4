"""What the hub writes into its evidence log (issue 9), and when it signs the chain's head.

The routers and the pipeline describe each event as an ``EvidenceDraft`` on the attempt (the
functions below, one per kind); the pipeline appends the batch's drafts with ONE ``append_evidence``
in the transaction that records the batch's state changes (``Attempt.evidence``), and the
delivered/forwarded ones with the ``mark_forwarded`` commit that follows the broker's publish confirms
(``Attempt.evidence_confirmed``). The cost on the hot path is one locked read, one multi-row insert
and one update per commit, whatever the batch holds (bench/bench_evidence.py measures it).

``Checkpoints`` signs the head with the hub's key (the one it signs its 02s with) every
``every_entries`` entries or ``every_seconds`` seconds, whichever first, and on shutdown; with a
time-stamping authority configured, the checkpoint then gets its RFC 3161 token (``evidence.tsa``),
asked for after the commit so a slow TSA never holds the chain's lock, and by a thread of its own
(``hub.stamping``) so that it never holds the hub's loop either; the hub writes each token as it comes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from vbcore.evidence import tsa
from vbcore.evidence.checkpoint import Checkpoint, make_checkpoint
from vbcore.evidence.entry import (
    COPY_DELIVERED,
    PACKAGE_ACCEPTED,
    PACKAGE_REFUSED,
    STATUS_FORWARDED,
    STATUS_RECEIVED,
    EvidenceDraft,
)
from vbcore.hub.config import HubConfig
from vbcore.hub.stamping import Answer, Stamping
from vbcore.logging import Logger
from vbcore.security.signing import SigningKey
from vbcore.store.api import StatusEvent, TrackingStore

SHUTDOWN_REQUESTS_WAITED = 3
"""At shutdown the hub waits for at most this many of the tokens still owed, a request's timeout each."""

Stamper = Callable[[bytes], str]
"""Asks a time-stamping authority for a token over these bytes: base64 DER (``evidence.tsa``)."""


def accepted(*, sender: str, document_id: str, digest: str, message_id: str, recipients: Iterable[str],
             refused: dict[str, str], written_id: str | None, business_type: int) -> EvidenceDraft:
    """The hub took the package: its digest, its sender, every recipient it claimed (those it will
    deliver to, and those it refused with the reason)."""
    return EvidenceDraft(PACKAGE_ACCEPTED, sender, document_id, None, digest, {
        "message_id": message_id, "recipients": sorted(recipients), "refused": dict(sorted(refused.items())),
        "document_id_as_written": written_id, "business_type": business_type,
    })  # fmt: skip


def refused(*, sender: str | None, document_id: str | None, recipient: str | None, body: bytes,
            message_id: str, reason: str) -> EvidenceDraft:
    """The hub refused the package (for ``recipient``, or whole); the 02 the sender gets says why."""
    return EvidenceDraft(PACKAGE_REFUSED, sender or "", document_id or "", recipient,
                         hashlib.sha256(body).hexdigest(), {"message_id": message_id, "reason": reason})


def delivered(
    *, sender: str, document_id: str, recipient: str, digest: str, message_id: str
) -> EvidenceDraft:
    """The broker confirmed the copy for ``recipient`` in its inbox (a publish confirm)."""
    return EvidenceDraft(COPY_DELIVERED, sender, document_id, recipient, digest,
                         {"message_id": message_id, "copy_message_id": f"{document_id}|{recipient}"})


def status_received(event: StatusEvent, digest: str) -> EvidenceDraft:
    """A status (01-16) the hub recorded: ``event.recipient`` is the pair it concerns."""
    return EvidenceDraft(STATUS_RECEIVED, event.from_agency, event.document_id, event.recipient, digest, {
        "code": event.code, "message_id": event.message_id,
        "status_time": None if event.status_time is None else event.status_time.isoformat(),
    })  # fmt: skip


def status_forwarded(*, sender: str, document_id: str, to: str, code: str, digest: str,
                     message_id: str) -> EvidenceDraft:
    """The broker confirmed the status in ``to``'s inbox."""
    return EvidenceDraft(STATUS_FORWARDED, sender, document_id, to, digest,
                         {"code": code, "message_id": message_id})


class Checkpoints:
    """When to sign the chain's head. Cheap between checkpoints: the store is asked only once this
    process appended ``every_entries`` entries or ``every_seconds`` passed; several hub processes on
    one store each check, and the store signs a head at most once (under its lock)."""

    def __init__(self, store: TrackingStore, key: SigningKey, config: Callable[[], HubConfig], log: Logger,
                 stamp: Stamper | None = None) -> None:
        """``config`` gives the hub's configuration in force; ``stamp`` replaces the time-stamping
        authority of ``HubConfig.tsa_url`` (tests)."""
        self.store, self.key, self.config, self.log, self._stamp = store, key, config, log, stamp
        self.monotonic: Callable[[], float] = time.monotonic  # replaced by tests
        self._appended = 0
        self._last_check = self.monotonic()
        self._stamping: Stamping | None = None  # asks the TSA of ``_stamping_url`` beside the loop
        self._stamping_url: str | None = None
        self._retired: list[Stamping] = []  # the workers of a former TSA URL, still owing answers
        self._unwritten: list[Answer] = []  # taken from ``_stamping``, not in the store yet (oldest first)

    def _sign(self, seq: int, head: str, at_utc: str) -> Checkpoint:
        return make_checkpoint(self.key, seq=seq, head_hash=head, at_utc=at_utc, hub_id=self.config().hub_id)

    def appended(self, count: int, now: datetime) -> Checkpoint | None:
        """After a commit that appended ``count`` entries: sign the head if an interval is over (and
        keep the tokens the TSA answered since)."""
        self._appended += count
        config = self.config()
        due = (self._appended >= config.evidence_every_entries
               or self.monotonic() - self._last_check >= config.evidence_every_seconds)
        if not due:
            self._keep_tokens()
            return None
        self._appended, self._last_check = 0, self.monotonic()
        checkpoint = self._checkpoint(now, config.evidence_every_entries, config.evidence_every_seconds)
        self._keep_tokens(retry=True)  # after: a token the store refuses never holds a checkpoint back
        return checkpoint

    def now(self, at: datetime) -> Checkpoint | None:
        """Sign the head now if it moved since the last checkpoint (the hub's shutdown), and wait for
        the tokens asked for: a request's timeout for each still owed, ``SHUTDOWN_REQUESTS_WAITED`` at
        most (a TSA slow but answering still stamps the shutdown checkpoint behind one in flight; one
        that never answers holds a shutdown 33 s at most, within systemd's 90 s)."""
        checkpoint = self._checkpoint(at)
        workers = [*self._retired, *([] if self._stamping is None else [self._stamping])]
        owed = min(sum(w.waiting() for w in workers), SHUTDOWN_REQUESTS_WAITED)
        self._keep_tokens(wait=(tsa.TIMEOUT_SECONDS + 1.0) * owed, retry=True)
        return checkpoint

    def _stamper(self) -> Stamping | None:
        """The worker asking the TSA in force (``HubConfig.tsa_url``, or the tests' ``stamp``)."""
        url = self.config().tsa_url
        if self._stamp is None and url is None:
            return None
        if self._stamping is None or url != self._stamping_url:
            if self._stamping is not None:  # its answers still come, and are kept (``_keep_tokens``)
                self._stamping.close()
                self._retired.append(self._stamping)
            stamp = self._stamp or (lambda data: tsa.request_token(url or "", data))
            self._stamping, self._stamping_url = Stamping(stamp), url
        return self._stamping

    def _keep_tokens(self, wait: float = 0.0, *, retry: bool = False) -> None:
        """Write the tokens the TSA answered (in the hub's thread: the store is its alone); a failed
        request leaves its checkpoint without a token, logged. A ``StoreError`` keeps the answers not
        written yet for the next answer that comes, or with ``retry`` (a checkpoint's turn, shutdown):
        never at every idle tick of a store outage."""
        deadline, came = time.monotonic() + wait, []
        for stamping in [*self._retired, *([] if self._stamping is None else [self._stamping])]:
            came += stamping.answers(max(0.0, deadline - time.monotonic()))
        self._retired = [s for s in self._retired if s.waiting()]
        self._unwritten.extend(came)
        if not came and not retry:
            return
        while self._unwritten:
            answer = self._unwritten[0]
            if answer.token is None:
                self.log.warning("hub.tsa_failed", seq=answer.seq, error=answer.error)
            else:
                self.store.set_checkpoint_token(answer.seq, answer.token)
            del self._unwritten[0]

    def _checkpoint(
        self, at: datetime, every_entries: int | None = None, every_seconds: float | None = None
    ) -> Checkpoint | None:
        checkpoint = self.store.checkpoint_evidence(self._sign, now=at, every_entries=every_entries,
                                                    every_seconds=every_seconds)
        if checkpoint is None:
            return None
        stamping = self._stamper()
        if stamping is not None and not stamping.ask(checkpoint.seq, checkpoint.statement.payload):
            self.log.warning("hub.tsa_failed", seq=checkpoint.seq,
                             error="too many checkpoints wait for the time-stamping authority already")
        self.log.info("hub.evidence_checkpoint", seq=checkpoint.seq, head=checkpoint.head_hash)
        return checkpoint
