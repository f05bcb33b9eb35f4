"""The four checks of a reconciliation, each one streamed query over the workbook (``workbook``) and a
decision per row: which ``Stage`` a (document, recipient) stopped at, and which parked message, if any,
holds it (the first not yet named by another gap, so each parked message is named once where it can).

The store is asked only about gaps (a refusal's reason, a recipient's 02): a few indexed look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from vbcore.operations.gaps import Gap, Stage
from vbcore.operations.workbook import Workbook
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store import TrackingStore
from vbcore.store.api import DeliveryState, Refusal
from vbcore.transport import names as n

RECEIPTS = {
    c.value
    for c in (
        StatusCode.ARRIVED,
        StatusCode.REGISTERED,
        StatusCode.ASSIGNED,
        StatusCode.PROCESSING,
        StatusCode.DONE,
    )
}
REFUSED = StatusCode.REFUSED.value
# Packages answered by a 15/16, which may rightly wait for days: checked up to their forwarding only.
CHANGES = {int(BusinessDocType.REVOKE), int(BusinessDocType.UPDATE)}
PROGRESS_EVERY = 10_000

_SENT_NEVER_TRACKED = """
SELECT s.owner, s.key, s.document_id, s.recipient, MAX(s.confirmed), MAX(s.given_up)
FROM sent s
WHERE s.in_window = 1 AND NOT EXISTS (SELECT 1 FROM hub h WHERE h.key = s.key AND h.recipient = s.recipient)
GROUP BY s.owner, s.key, s.document_id, s.recipient
ORDER BY s.key, s.recipient
"""
_TRACKED_PAIRS = """
SELECT h.key, h.recipient, h.sender, h.document_id, h.business_type, h.state, h.last_status_at,
    (SELECT MAX(d.answered) FROM delivered d
     WHERE d.owner = h.recipient AND d.sender = h.sender AND d.document_id = h.document_id),
    EXISTS (SELECT 1 FROM answers a WHERE a.owner = h.sender AND a.document_id = h.document_id
            AND a.from_agency = h.recipient AND a.code = h.state),
    lr.agency IS NOT NULL, ls.agency IS NOT NULL, ls.statuses_since
FROM hub h LEFT JOIN ledgers lr ON lr.agency = h.recipient LEFT JOIN ledgers ls ON ls.agency = h.sender
WHERE h.in_window = 1
"""
_DELIVERED_NEVER_TRACKED = """
SELECT d.owner, d.sender, d.document_id FROM delivered d
WHERE d.in_window = 1 AND NOT EXISTS (
    SELECT 1 FROM hub h WHERE h.sender = d.sender AND h.document_id = d.document_id AND h.recipient = d.owner)
GROUP BY d.owner, d.sender, d.document_id
ORDER BY d.sender, d.document_id, d.owner
"""
_PARKED_FOR = """
SELECT seq, message_id, reason, replayable, from_inbox FROM parked
WHERE document_id IN (?, ?) AND (kind IS NULL OR kind = ?) AND from_inbox = ? AND {who} = ?
ORDER BY used, seq LIMIT 1
"""
_PARKED_BY_ID = (
    "SELECT seq, message_id, reason, replayable, from_inbox FROM parked WHERE message_id = ?"
    " ORDER BY used, seq LIMIT 1"
)


def _flag(value: object) -> bool:
    return bool(int(str(value))) if value is not None else False


class Checks:
    def __init__(
        self,
        book: Workbook,
        store: TrackingStore,
        report: Callable[[Gap], None],
        progress: Callable[[str, int], None],
    ) -> None:
        self.book, self.store, self.report, self.progress = book, store, report, progress
        self.checked = 0

    def _tick(self) -> None:
        self.checked += 1
        if self.checked % PROGRESS_EVERY == 0:
            self.progress("checks", self.checked)

    # --- parked messages -------------------------------------------------------------------------
    def _parked(self, gap: Gap, row: tuple[object, ...] | None) -> Gap:
        if row is None:
            return gap
        seq, message_id, reason, replayable, from_inbox = row
        self.book.db.execute("UPDATE parked SET used = 1 WHERE seq = ?", (seq,))
        stage = Stage.PARKED if gap.stage in (Stage.NOT_AT_HUB, Stage.NO_ANSWER) else gap.stage
        return replace(
            gap,
            stage=stage,
            parked_id=str(message_id),
            replayable=_flag(replayable),
            from_inbox=_flag(from_inbox),
            reason=gap.reason or (None if reason is None else str(reason)),
        )

    def _parked_for(self, gap: Gap, key: str, *, kind: str, inbox: bool, who: str) -> Gap:
        """``gap`` with the parked message (the document or a status about it) that holds it, if any:
        parked at the ingress from ``who`` (its sender), or from ``who``'s inbox (its recipient)."""
        column = "recipient" if inbox else "sender"
        row = self.book.one(_PARKED_FOR.format(who=column), (gap.document_id, key, kind, int(inbox), who))
        return self._parked(gap, row)

    def _refusal(self, key: str, recipient: str) -> Refusal | None:
        refusals = self.store.refusals(document_id=key)
        return next((r for r in refusals if r.recipient in (recipient, None)), None)

    # --- 1. what senders sent that the hub never tracked -----------------------------------------
    def sent_never_tracked(self) -> None:
        for owner, key, written, recipient, confirmed, given_up in self.book.rows(_SENT_NEVER_TRACKED):
            self._tick()
            sender, key, written, recipient = str(owner), str(key), str(written), str(recipient)
            gap = Gap(Stage.NOT_SENT, written, sender, recipient, tracked_id=key)
            if not _flag(confirmed):
                self.report(replace(gap, given_up=_flag(given_up)))
                continue
            refusal = self._refusal(key, recipient)
            if refusal is not None:
                refused = replace(gap, stage=Stage.REFUSED, reason=refusal.reason)
                self.report(self._parked(refused, self.book.one(_PARKED_BY_ID, (refusal.message_id,))))
                continue
            missing = replace(gap, stage=Stage.NOT_AT_HUB)
            self.report(self._parked_for(missing, key, kind=n.KIND_EDOC, inbox=False, who=sender))

    # --- 2. each pair the hub tracked, against both ledgers --------------------------------------
    def tracked_pairs(self) -> None:
        for row in self.book.rows(_TRACKED_PAIRS):
            self._tick()
            gap = self._pair_gap(row)
            if gap is not None:
                self.report(gap)

    def _pair_gap(self, row: tuple[object, ...]) -> Gap | None:
        (
            key,
            recipient,
            sender,
            written,
            business,
            state,
            last_at,
            answered,
            sender_has,
            r_led,
            s_led,
            since,
        ) = row
        key, recipient, written, state = str(key), str(recipient), str(written), str(state)
        sender_code = None if sender is None else str(sender)
        gap = Gap(Stage.NOT_FORWARDED, written, sender_code, recipient, tracked_id=key)
        if state == DeliveryState.REFUSED_BY_HUB:
            refusal = self._refusal(key, recipient)
            refused = replace(gap, stage=Stage.REFUSED, reason=refusal.reason if refusal else None)
            return self._parked(
                refused, None if refusal is None else self.book.one(_PARKED_BY_ID, (refusal.message_id,))
            )
        if state == DeliveryState.ACCEPTED:
            return self._parked_for(gap, key, kind=n.KIND_EDOC, inbox=False, who=sender_code or "")
        if business is not None and int(str(business)) in CHANGES:
            return None
        if state == REFUSED:
            if _flag(s_led) and not _flag(sender_has) and _fresh(last_at, since):
                return replace(gap, stage=Stage.ANSWER_NOT_AT_SENDER, code=state)
            refused = replace(gap, stage=Stage.REFUSED_BY_RECIPIENT, reason=self._answer_text(key, recipient))
            return self._parked_for(refused, key, kind=n.KIND_EDOC, inbox=True, who=recipient)
        if state in RECEIPTS:
            if _flag(s_led) and not _flag(sender_has) and _fresh(last_at, since):
                late = replace(gap, stage=Stage.ANSWER_NOT_AT_SENDER, code=state)
                return self._parked_for(late, key, kind=n.KIND_STATUS, inbox=True, who=sender_code or "")
            return None
        return self._waiting_answer(gap, key, recipient, answered, _flag(r_led))

    def _waiting_answer(self, gap: Gap, key: str, recipient: str, answered: object, ledger: bool) -> Gap:
        """A forwarded pair with no receipt at the hub: where the recipient's ledger says it stands."""
        if not ledger:
            late = self._parked_for(
                replace(gap, stage=Stage.NO_ANSWER), key, kind=n.KIND_STATUS, inbox=False, who=recipient
            )
            return (
                late
                if late.parked_id
                else self._parked_for(late, key, kind=n.KIND_EDOC, inbox=True, who=recipient)
            )
        if answered is None:
            return self._parked_for(
                replace(gap, stage=Stage.NOT_DELIVERED), key, kind=n.KIND_EDOC, inbox=True, who=recipient
            )
        if not _flag(answered):
            return replace(gap, stage=Stage.NOT_ANSWERED)
        return self._parked_for(
            replace(gap, stage=Stage.ANSWER_NOT_AT_HUB), key, kind=n.KIND_STATUS, inbox=False, who=recipient
        )

    def _answer_text(self, key: str, recipient: str) -> str | None:
        refusals = [e for e in self.store.statuses(key) if e.recipient == recipient and e.code == REFUSED]
        return refusals[-1].description if refusals else None

    # --- 3. what recipients hold that the hub never tracked --------------------------------------
    def delivered_never_tracked(self) -> None:
        for owner, sender, written in self.book.rows(_DELIVERED_NEVER_TRACKED):
            self._tick()
            self.report(Gap(Stage.NOT_TRACKED, str(written), str(sender), str(owner)))

    # --- 4. parked messages no gap explained -----------------------------------------------------
    def parked_unexplained(self) -> None:
        query = (
            "SELECT message_id, document_id, reason, sender, recipient, replayable, from_inbox FROM parked"
            " WHERE used = 0 ORDER BY seq"
        )
        for message_id, document_id, reason, sender, recipient, replayable, from_inbox in self.book.rows(
            query
        ):
            self._tick()
            self.report(
                Gap(
                    Stage.PARKED,
                    str(document_id or message_id),
                    None if sender is None else str(sender),
                    None if recipient is None else str(recipient),
                    reason=None if reason is None else str(reason),
                    parked_id=str(message_id),
                    replayable=_flag(replayable),
                    from_inbox=_flag(from_inbox),
                )
            )


def _fresh(last_status_at: object, statuses_since: object) -> bool:
    """Whether the status reached the hub after the sender's ledger began keeping statuses."""
    return last_status_at is None or statuses_since is None or str(last_status_at) >= str(statuses_since)
