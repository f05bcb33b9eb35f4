"""The hub's receipts (``vbcore.evidence.receipt``): issued for every event of the evidence log that
a sender may need to prove, kept at the hub, sent to the senders who asked.

Where they come from: the pipeline appends each batch's evidence entries in the transaction of the
state change they record (``vbcore.hub.evidence``). ``ReceiptDesk.stamp`` gives each draft that
deserves a receipt its receipt id before it is appended (the entry names its receipt), and
``issue`` seals the receipts of the entries just appended with ONE signature (a Merkle root) and
keeps them in the same transaction: no entry without its receipt, no receipt without its entry.

=====================  =====================================================================
entry                  receipt
=====================  =====================================================================
package-accepted       accepted: the package's digest, its sender, every recipient
package-refused        refused: the digest and the reason (the 02 the sender got says it too)
copy-delivered         delivered: the broker confirmed the copy in that recipient's inbox
status-received        accepted (of the status package)
status-forwarded       delivered (of the status package, to the document's sender)
=====================  =====================================================================

Who gets them: an agency that published a package with ``x-vbus-receipts: yes`` (its agency client
or connector's ``receipts`` option; off by default) gets the receipts of that package in its inbox,
as messages of kind ``receipt``; a recipient that asks so on the status answering a document also
gets the hub's *delivered* receipt of its copy of that document (what a recipient needs to prove
when it received it). Sending them never holds a batch: a receipt that cannot be published stays
kept at the hub, where ``vb evidence export`` finds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence

from vbcore.evidence.entry import (
    COPY_DELIVERED,
    PACKAGE_ACCEPTED,
    PACKAGE_REFUSED,
    STATUS_FORWARDED,
    STATUS_RECEIVED,
    Entry,
    EvidenceDraft,
)
from vbcore.evidence.receipt import (
    ACCEPTED,
    DELIVERED,
    REFUSED,
    Receipt,
    new_receipt_id,
    receipt_payload,
    seal,
)
from vbcore.hub.attempt import Attempt
from vbcore.hub.config import HubConfig
from vbcore.security.signing import SigningKey
from vbcore.store.api import TrackingStore
from vbcore.transport import Outgoing
from vbcore.transport import names as n

RECEIPT_OF = {
    PACKAGE_ACCEPTED: ACCEPTED,
    PACKAGE_REFUSED: REFUSED,
    COPY_DELIVERED: DELIVERED,
    STATUS_RECEIVED: ACCEPTED,
    STATUS_FORWARDED: DELIVERED,
}
RECEIPT_KEY = "receipt"
"""The key of an entry's ``body`` that names the receipt issued for it."""


class ReceiptDesk:
    """One hub process's receipts: stamped, sealed and kept per append; sent after the batch."""

    def __init__(self, store: TrackingStore, key: SigningKey, config: Callable[[], HubConfig]) -> None:
        """``config`` gives the hub's configuration in force."""
        self.store, self.key, self.config = store, key, config
        self.issued: list[Receipt] = []  # this batch's, until ``outgoing`` takes them

    def begin_batch(self) -> None:
        self.issued.clear()

    def stamp(self, drafts: Sequence[EvidenceDraft]) -> list[EvidenceDraft]:
        """``drafts`` with a receipt id in the body of each that gets a receipt."""
        return [
            dataclasses.replace(d, body={**d.body, RECEIPT_KEY: new_receipt_id()})
            if d.kind in RECEIPT_OF
            else d
            for d in drafts
        ]

    def issue(self, entries: Sequence[Entry]) -> list[Receipt]:
        """Seal and keep the receipts of ``entries`` (just appended, in the same transaction)."""
        wanted = [e for e in entries if isinstance(e.body.get(RECEIPT_KEY), str)]
        if not wanted:
            return []
        links = self.store.evidence_links(wanted[0].seq, wanted[-1].seq)
        hub_id = self.config().hub_id
        payloads = []
        for e in wanted:
            refused = e.body.get("refused")
            recipients = e.body.get("recipients")
            payloads.append(receipt_payload(
                RECEIPT_OF[e.kind], str(e.body[RECEIPT_KEY]), e, links[e.seq], hub_id,
                recipients=[str(r) for r in recipients] if isinstance(recipients, list) else None,
                refused={str(k): str(v) for k, v in refused.items()} if isinstance(refused, dict) else None,
                reason=str(e.body.get("reason", "")),
            ))  # fmt: skip
        receipts = seal(self.key, hub_id, payloads)
        self.store.record_receipts(receipts)
        self.issued += receipts
        return receipts

    def outgoing(self, attempts: Sequence[Attempt]) -> list[Outgoing]:
        """The receipts to send for ``attempts``: to each sender that asked, its package's receipts of
        this batch, and with a status, the delivered receipt of the document it answers."""
        messages: list[Outgoing] = []
        asking = [a for a in attempts if a.sender and a.delivery.headers.get(n.RECEIPTS) == n.RECEIPTS_WANTED]
        if not asking:
            self.issued.clear()
            return messages
        by_digest: dict[str, list[Receipt]] = {}
        for receipt in self.issued:
            by_digest.setdefault(receipt.package_digest or "", []).append(receipt)
        for attempt in asking:
            assert attempt.sender is not None
            digest = attempt.sha256 or hashlib.sha256(attempt.delivery.body).hexdigest()
            mine = [r for r in by_digest.get(digest, []) if r.payload.get("sender") in (attempt.sender, "")]
            if attempt.kind == n.KIND_STATUS and attempt.document_id and attempt.refusal is None:
                mine += self._copy_delivered(attempt.document_id, attempt.sender)
            messages += [self.message(r, attempt.sender) for r in mine]
        self.issued.clear()
        return messages

    def _copy_delivered(self, document_id: str, recipient: str) -> list[Receipt]:
        """The delivered receipts of ``recipient``'s copy of the document (not of statuses about it)."""
        document = self.store.get_document(document_id)
        if document is None:
            return []
        found = self.store.receipts(document_id, kind=DELIVERED, recipient=recipient)
        return [r for r in found if r.package_digest == document.sha256]

    def message(self, receipt: Receipt, to: str) -> Outgoing:
        config = self.config()
        headers = {
            n.KIND: n.KIND_RECEIPT,
            n.SENDER: config.hub_id,
            n.RECIPIENT: to,
            n.HUB_ID: config.hub_id,
            n.DOCUMENT_ID: receipt.document_id,
        }
        return Outgoing(
            config.names.delivery_exchange,
            to,
            receipt.to_json().encode(),
            f"receipt|{receipt.id}|{to}",
            headers,
        )
