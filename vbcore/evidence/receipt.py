"""The hub's receipts: signed evidence, for every package, that the hub accepted or refused it and
when it delivered each copy.

A receipt (``Receipt.payload``) says, of one event of the hub's evidence log (``entry``)::

    {"type": "vbus-receipt", "id": ..., "kind": "accepted" | "refused" | "delivered",
     "package_digest": <hex SHA-256 of the exact signed bytes>, "sender": ..., "document_id": ...,
     "recipients": [...], "refused": {recipient: reason} (accepted: every recipient the hub took it for,
     and those it refused), "reason": ... (refused: the reason the 02 to the sender gave),
     "recipient": ... (delivered: the broker confirmed the copy in that recipient's inbox),
     "seq": <the log entry>, "entry_hash": <its link in the chain>,
     "at_utc": "2026-11-30T01:43:28.123456Z" (unique, monotonic: the entry's), "at_local": <Vietnam time>,
     "hub_id": ...}

Receipts are sealed by the batch (``seal``): the hub signs ONE statement (``vbus-receipt-seal``) over
the root of a Merkle tree of the batch's receipts (``vbcore.evidence.merkle``) and each receipt keeps
its path to that root. A circular to 1,000 agencies costs one RSA signature instead of 1,000, and a
receipt shows nothing of the other documents sealed with it (only hashes). ``verify_receipt`` checks
the seal's signature against the trust store and the receipt's path to the sealed root: a receipt
changed in any byte, or taken from another batch, does not lead to the root the hub signed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vbcore.errors import EvidenceInvalid
from vbcore.evidence.entry import Entry, canonical_json
from vbcore.evidence.merkle import root_and_paths, root_from
from vbcore.evidence.statement import Statement, check_signed_by_hub, sign_statement, verify_statement
from vbcore.security.trust import TrustStore

if TYPE_CHECKING:  # the signing module (signxml, the edXML reader) only where a key is at hand
    from vbcore.security.signing import SigningKey

RECEIPT_TYPE = "vbus-receipt"
SEAL_TYPE = "vbus-receipt-seal"
ACCEPTED, REFUSED, DELIVERED = "accepted", "refused", "delivered"
RECEIPT_KINDS = (ACCEPTED, REFUSED, DELIVERED)
_FIELDS = frozenset(
    {"type", "id", "kind", "package_digest", "sender", "document_id", "seq", "entry_hash", "at_utc",
     "at_local", "hub_id"}
)
_BY_KIND = {ACCEPTED: frozenset({"recipients", "refused"}), REFUSED: frozenset({"reason", "recipient"}),
            DELIVERED: frozenset({"recipient"})}
MAX_PATH = 64
"""Steps of a Merkle path at most (a batch of 2**64 receipts): a longer one is no receipt."""


def new_receipt_id() -> str:
    """The id a receipt is issued under, chosen before its log entry is written (the entry names it)."""
    return uuid.uuid4().hex


def receipt_payload(
    kind: str,
    receipt_id: str,
    entry: Entry,
    entry_hash: str,
    hub_id: str,
    *,
    recipients: list[str] | None = None,
    refused: dict[str, str] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """What a receipt of ``kind`` says about ``entry`` (the log entry of the same event)."""
    payload: dict[str, Any] = {
        "type": RECEIPT_TYPE, "id": receipt_id, "kind": kind, "package_digest": entry.package_digest,
        "sender": entry.sender, "document_id": entry.document_id, "seq": entry.seq, "entry_hash": entry_hash,
        "at_utc": entry.at_utc, "at_local": entry.at_local, "hub_id": hub_id,
    }  # fmt: skip
    if kind == ACCEPTED:
        payload.update(recipients=list(recipients or []), refused=dict(refused or {}))
    elif kind == REFUSED:
        payload.update(reason=reason or "", recipient=entry.recipient)  # recipient None: the whole package
    elif kind == DELIVERED:
        payload["recipient"] = entry.recipient
    else:
        raise ValueError(f"not a receipt kind: {kind!r}")
    return payload


@dataclass(frozen=True)
class Receipt:
    """One receipt: what it says, its path to the sealed root, and the hub's seal."""

    payload: dict[str, Any]
    path: tuple[str, ...]
    seal: Statement

    @property
    def id(self) -> str:
        return str(self.payload.get("id", ""))

    @property
    def kind(self) -> str:
        return str(self.payload.get("kind", ""))

    @property
    def document_id(self) -> str:
        return str(self.payload.get("document_id", ""))

    @property
    def package_digest(self) -> str | None:
        value = self.payload.get("package_digest")
        return value if isinstance(value, str) else None

    @property
    def recipient(self) -> str | None:
        value = self.payload.get("recipient")
        return value if isinstance(value, str) else None

    @property
    def seal_id(self) -> str:
        """The sealed root this receipt belongs to (where the hub keeps the seal)."""
        return str(self.seal.data.get("root", ""))

    def as_dict(self) -> dict[str, Any]:
        return {"receipt": self.payload, "path": list(self.path), "seal": self.seal.as_dict()}

    def to_json(self) -> str:
        return canonical_json(self.as_dict()).decode()

    @classmethod
    def from_dict(cls, data: object) -> Receipt:
        if not isinstance(data, dict) or set(data) != {"receipt", "path", "seal"}:
            raise EvidenceInvalid("a receipt must have exactly receipt, path and seal",
                                  vi="một biên nhận phải có đúng receipt, path và seal")
        payload, path = data["receipt"], data["path"]
        if (not isinstance(payload, dict) or not isinstance(path, list) or len(path) > MAX_PATH
                or not all(isinstance(step, str) for step in path)):
            raise EvidenceInvalid("a receipt has a field of the wrong type",
                                  vi="một biên nhận có trường sai kiểu dữ liệu")
        return cls(payload, tuple(path), Statement.from_dict(data["seal"]))

    @classmethod
    def from_json(cls, text: str | bytes) -> Receipt:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise EvidenceInvalid("a receipt is not JSON", vi="một biên nhận không phải JSON") from exc
        return cls.from_dict(data)


def seal(key: SigningKey, hub_id: str, payloads: list[dict[str, Any]]) -> list[Receipt]:
    """Sign ``payloads`` (one batch's receipts) with ONE statement over their Merkle root."""
    if not payloads:
        return []
    root, paths = root_and_paths([canonical_json(p) for p in payloads])
    at_utc = max(str(p["at_utc"]) for p in payloads)  # the certificate is judged at the batch's last event
    statement = sign_statement(key, {"type": SEAL_TYPE, "hub_id": hub_id, "root": root,
                                     "count": len(payloads), "at_utc": at_utc})
    return [Receipt(p, tuple(path), statement) for p, path in zip(payloads, paths, strict=True)]


def verify_receipt(receipt: Receipt, trust: TrustStore, hub_id: str | None = None) -> dict[str, Any]:
    """What ``receipt`` says, once its seal verifies against ``trust``, is signed by the hub it names
    (with ``hub_id``: that hub) and its path leads to the sealed root; ``EvidenceInvalid`` naming the
    receipt otherwise."""
    return under_seal(receipt, verify_seal(receipt, trust, hub_id))


def _name(payload: dict[str, Any]) -> str:
    return f"{payload.get('kind', '?')} receipt {str(payload.get('id', '?'))[:40]}"


def verify_seal(receipt: Receipt, trust: TrustStore, hub_id: str | None = None) -> dict[str, Any]:
    """What ``receipt``'s seal says, once it verifies (the costly part: ``vb audit verify`` does it once
    per seal, then ``under_seal`` for each receipt of the batch)."""
    name = _name(receipt.payload)
    try:
        sealed = verify_statement(receipt.seal, trust)
    except EvidenceInvalid as exc:
        raise EvidenceInvalid(f"the seal of the {name} does not verify: {exc}",
                              vi=f"dấu niêm của biên nhận {name} không hợp lệ: {exc.detail_vi}") from exc
    if sealed.get("type") != SEAL_TYPE:
        raise EvidenceInvalid(f"the {name} is sealed by a statement of type {sealed.get('type')!r}",
                              vi=f"biên nhận {name} được niêm bằng xác nhận loại {sealed.get('type')!r}")
    check_signed_by_hub(receipt.seal, sealed.get("hub_id"), f"the seal of the {name}",
                        f"dấu niêm của biên nhận {name}", hub_id)
    return sealed


def under_seal(receipt: Receipt, sealed: dict[str, Any]) -> dict[str, Any]:
    """What ``receipt`` says, once its path leads to the root ``sealed`` (its verified seal) signs."""
    payload = receipt.payload
    name = _name(payload)
    try:
        root = root_from(canonical_json(payload), list(receipt.path))
    except ValueError as exc:
        raise EvidenceInvalid(f"the {name} has a malformed path: {exc}",
                              vi=f"biên nhận {name} có đường dẫn Merkle sai dạng: {exc}") from exc
    if root != sealed.get("root"):
        raise EvidenceInvalid(
            f"the {name} is not one the hub sealed: a field of it was changed (or it was put with "
            "another seal)",
            vi=f"biên nhận {name} không phải biên nhận trung tâm đã niêm: một trường của nó đã bị sửa "
            "(hoặc nó được ghép với dấu niêm khác)",
        )
    _check_fields(payload, name)
    hub = sealed["hub_id"]
    if payload["hub_id"] != hub:
        stated = payload["hub_id"][:80]
        raise EvidenceInvalid(f"the {name} names the hub {stated!r}, its seal {hub!r}",
                              vi=f"biên nhận {name} ghi trục {stated!r}, dấu niêm ghi {hub!r}")
    return payload


def _check_fields(payload: dict[str, Any], name: str) -> None:
    kind = payload.get("kind")
    expected = _FIELDS | _BY_KIND.get(str(kind), frozenset())
    texts = ("id", "sender", "document_id", "entry_hash", "at_utc", "at_local", "hub_id")
    if (payload.get("type") != RECEIPT_TYPE or kind not in RECEIPT_KINDS or set(payload) != expected
            or not all(isinstance(payload[k], str) for k in texts)
            or not isinstance(payload["seq"], int) or isinstance(payload["seq"], bool)
            or not isinstance(payload["package_digest"], str | None)):
        raise EvidenceInvalid(f"the {name} does not have the fields of a {kind} receipt",
                              vi=f"biên nhận {name} không có đúng các trường của biên nhận loại {kind}")
