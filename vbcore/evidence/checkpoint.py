"""A checkpoint: the hub's signed statement of the evidence chain's head at one entry.

``make_checkpoint`` signs ``{"type": "vbus-checkpoint", "seq", "head_hash", "at_utc", "hub_id"}``
with the hub's key. Whoever holds an entry, the links after it up to ``seq`` and the checkpoint can
show that the entry is the one the hub logged (``chain.verify_proof``), and ``vb audit verify``
shows that the whole log is the one the hub signed, checkpoint by checkpoint. ``tsa_token``
optionally holds an RFC 3161 time-stamp over the statement's payload (``evidence.tsa``), so that the
hub's clock is not the only witness of when.

The fields are read from the signed payload, never kept beside it: a checkpoint cannot say one thing
and have signed another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from vbcore.errors import EvidenceInvalid, UntrustedCertificate
from vbcore.evidence.entry import parse_utc
from vbcore.evidence.statement import Statement, check_signed_by_hub, sign_statement, verify_statement
from vbcore.evidence.tsa import verify_token
from vbcore.security.trust import TrustStore

if TYPE_CHECKING:  # the signing module (signxml, the edXML reader) only where a key is at hand
    from vbcore.security.signing import SigningKey

CHECKPOINT_TYPE = "vbus-checkpoint"
DEFAULT_INTERVAL_ENTRIES = 1000
"""A checkpoint at least every this many entries (a proof holds at most this many links)."""
TSA_TOLERANCE = dt.timedelta(seconds=2)
"""How far a checkpoint's ``at_utc`` may be after its token's time: genTime has whole seconds, and the
TSA is asked after the checkpoint."""
DEFAULT_INTERVAL_SECONDS = 60.0
"""... and at least this often while entries come in."""


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain after entry ``seq``, signed; ``tsa_token`` is base64 DER or None."""

    statement: Statement
    tsa_token: str | None = None

    @cached_property
    def _data(self) -> dict[str, Any]:
        data = self.statement.data
        if data.get("type") != CHECKPOINT_TYPE:
            raise EvidenceInvalid(f"a statement of type {data.get('type')!r} is not a checkpoint",
                                  vi=f"xác nhận loại {data.get('type')!r} không phải điểm chốt")
        return data

    @property
    def seq(self) -> int:
        value = self._data.get("seq")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise EvidenceInvalid("a checkpoint's seq is not a positive integer",
                                  vi="số thứ tự của điểm chốt không phải số nguyên dương")
        return value

    @property
    def head_hash(self) -> str:
        return _hex64(self._data.get("head_hash"), "head_hash")

    @property
    def at_utc(self) -> str:
        value = self._data.get("at_utc")
        parse_utc(value if isinstance(value, str) else "")
        return str(value)

    @property
    def hub_id(self) -> str:
        return str(self._data.get("hub_id", ""))

    def as_dict(self) -> dict[str, Any]:
        return {"statement": self.statement.as_dict(), "tsa_token": self.tsa_token}

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        if not isinstance(data, dict) or set(data) != {"statement", "tsa_token"}:
            raise EvidenceInvalid("a checkpoint must have exactly statement and tsa_token",
                                  vi="một điểm chốt phải có đúng statement và tsa_token")
        token = data["tsa_token"]
        if token is not None and not isinstance(token, str):
            raise EvidenceInvalid("a checkpoint's tsa_token is not text",
                                  vi="tsa_token của điểm chốt không phải chuỗi")
        return cls(Statement.from_dict(data["statement"]), token)


def make_checkpoint(key: SigningKey, *, seq: int, head_hash: str, at_utc: str, hub_id: str) -> Checkpoint:
    """The hub's signed statement that entry ``seq`` ends the chain at ``head_hash``."""
    payload = {"type": CHECKPOINT_TYPE, "seq": seq, "head_hash": head_hash, "at_utc": at_utc,
               "hub_id": hub_id}
    return Checkpoint(sign_statement(key, payload))


def verify_checkpoint(checkpoint: Checkpoint, trust: TrustStore, *, at: dt.datetime | None = None,
                      hub_id: str | None = None) -> None:
    """``EvidenceInvalid`` unless the checkpoint is a well-formed statement signed by a trusted hub:
    a certificate that chains to ``trust`` AND binds the ``hub_id`` the checkpoint states (an
    agency's certificate chains to the same CA); with ``hub_id``, that hub's."""
    try:
        verify_statement(checkpoint.statement, trust, at=at)
        check_signed_by_hub(checkpoint.statement, checkpoint.statement.data.get("hub_id"),
                            "the checkpoint", "điểm chốt", hub_id)
    except EvidenceInvalid as exc:
        seq = _seq_or_unknown(checkpoint)
        raise EvidenceInvalid(f"the checkpoint at entry {seq} does not verify: {exc}",
                              vi=f"điểm chốt tại mục {seq} không hợp lệ: {exc.detail_vi}") from exc
    _ = (checkpoint.seq, checkpoint.head_hash, checkpoint.at_utc)  # each property checks its field


def verify_timestamp(
    checkpoint: Checkpoint, trust: TrustStore, hub_trust: TrustStore | None = None
) -> dt.datetime:
    """The time the RFC 3161 token of ``checkpoint`` vouches for, once it verifies (``tsa.verify_token``
    against ``trust``: the time-stamping authority's CA) and the hub's ``at_utc`` is not after it
    (beyond ``TSA_TOLERANCE``); with ``hub_trust``, the hub's certificate must also have been valid at
    the TSA's time: the checkpoint's own ``at_utc`` is the hub's word, and a key used after its
    certificate expired (or was stolen) could date it back into the validity; the token cannot be.
    ``EvidenceInvalid`` otherwise, or when it has none."""
    if checkpoint.tsa_token is None:
        raise EvidenceInvalid("the checkpoint has no time-stamp", vi="điểm chốt không có dấu thời gian")
    when = verify_token(checkpoint.tsa_token, checkpoint.statement.payload, trust)
    if when + TSA_TOLERANCE < parse_utc(checkpoint.at_utc):
        raise EvidenceInvalid(
            f"the hub dated it {checkpoint.at_utc}, after the time-stamping authority's "
            f"{when:%Y-%m-%dT%H:%M:%SZ}: the hub's clock was ahead",
            vi=f"trung tâm ghi thời điểm {checkpoint.at_utc}, sau thời điểm của máy chủ cấp dấu "
            f"thời gian {when:%Y-%m-%dT%H:%M:%SZ}: đồng hồ của trung tâm chạy nhanh",
        )
    if hub_trust is not None:
        chain = checkpoint.statement.chain()
        try:
            hub_trust.validate(chain[0], chain[1:], at=when)
        except UntrustedCertificate as exc:
            raise EvidenceInvalid(
                f"the time-stamping authority saw it at {when:%Y-%m-%dT%H:%M:%SZ}, when the hub's "
                f"certificate was not valid: {exc} (the hub dated it {checkpoint.at_utc})",
                vi=f"máy chủ cấp dấu thời gian thấy nó lúc {when:%Y-%m-%dT%H:%M:%SZ}, khi chứng thư số của "
                f"trục không còn hiệu lực: {exc.detail_vi} (trục ghi thời điểm {checkpoint.at_utc})",
            ) from exc
    return when


def _seq_or_unknown(checkpoint: Checkpoint) -> str:
    try:
        return str(checkpoint.seq)
    except EvidenceInvalid:
        return "?"


def _hex64(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise EvidenceInvalid(f"{name} is not a hex SHA-256 (64 lower-case hex digits)",
                              vi=f"{name} không phải SHA-256 dạng hex (64 chữ số hex thường)")
    return value


def is_hash(value: object) -> bool:
    """Whether ``value`` is a hex SHA-256 as the log writes them."""
    try:
        _hex64(value, "value")
    except EvidenceInvalid:
        return False
    return True
