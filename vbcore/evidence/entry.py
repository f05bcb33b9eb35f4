"""One entry of the hub's evidence log, its content hash and its link to the previous entry.

An entry records one event the hub is answerable for (the kinds below), with two times: ``at_utc``,
the hub's UTC instant to the microsecond, unique and strictly increasing over the chain
(``next_instant``: max(now, previous + 1 µs)), and ``at_local``, the same instant in Vietnam time
(+07:00), the time edXML speaks. ``content_hash`` is SHA-256 over the canonical JSON of every field;
``link_hash`` chains it to the previous entry: ``sha256(prev_hash || content_hash)`` (raw bytes),
from ``GENESIS_HASH``. Changing, removing, inserting or moving one entry changes every later link.

Example::

    entry = Entry(seq=1, at_utc=format_utc(now), at_local=format_local(now), kind=PACKAGE_ACCEPTED,
                  sender="000.00.00.G22", document_id="...", recipient=None,
                  package_digest=package_digest(signed), body={"recipients": ["000.00.00.H53"]})
    head = link_hash(GENESIS_HASH, content_hash(entry))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from vbcore.errors import EvidenceInvalid
from vbcore.timezones import VIETNAM_OFFSET

PACKAGE_ACCEPTED = "package-accepted"
PACKAGE_REFUSED = "package-refused"
COPY_DELIVERED = "copy-delivered"
STATUS_RECEIVED = "status-received"
STATUS_FORWARDED = "status-forwarded"
OPERATOR_ACTION = "operator-action"
KINDS = frozenset(
    {PACKAGE_ACCEPTED, PACKAGE_REFUSED, COPY_DELIVERED, STATUS_RECEIVED, STATUS_FORWARDED, OPERATOR_ACTION}
)

GENESIS_HASH = "00" * 32
"""The ``prev_hash`` of the first entry."""

ONE_MICROSECOND = timedelta(microseconds=1)
_VIETNAM_ZONE = timezone(VIETNAM_OFFSET)
_FIELDS = (
    "seq", "at_utc", "at_local", "kind", "sender", "document_id", "recipient", "package_digest", "body",
)


@dataclass(frozen=True)
class Entry:
    """One event of the evidence log; ``body`` holds JSON values only (kind-specific details)."""

    seq: int
    at_utc: str
    at_local: str
    kind: str
    sender: str
    document_id: str
    recipient: str | None
    package_digest: str | None
    body: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (``body`` as it is, not copied: ``dataclasses.asdict`` deep-copies, and
        this runs once per entry of a million-entry audit)."""
        return {"seq": self.seq, "at_utc": self.at_utc, "at_local": self.at_local, "kind": self.kind,
                "sender": self.sender, "document_id": self.document_id, "recipient": self.recipient,
                "package_digest": self.package_digest, "body": self.body}

    @classmethod
    def from_dict(cls, data: object) -> Entry:
        """An entry from its JSON form (a bundle, a proof), every field's type checked."""
        if not isinstance(data, dict) or set(data) != set(_FIELDS):
            raise EvidenceInvalid(
                f"an evidence entry must have exactly the fields {', '.join(_FIELDS)}",
                vi=f"mục nhật ký bằng chứng phải có đúng các trường {', '.join(_FIELDS)}",
            )
        seq, body = data["seq"], data["body"]
        strings = ("at_utc", "at_local", "kind", "sender", "document_id")
        optional = ("recipient", "package_digest")
        if (
            not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(body, dict)
            or not all(isinstance(data[name], str) for name in strings)
            or not all(data[name] is None or isinstance(data[name], str) for name in optional)
        ):
            raise EvidenceInvalid(
                "an evidence entry has a field of the wrong type",
                vi="mục nhật ký bằng chứng có trường sai kiểu dữ liệu",
            )
        return cls(**{name: data[name] for name in _FIELDS})


@dataclass(frozen=True)
class EvidenceDraft:
    """An entry before the log numbers and dates it: what the hub knows when the event happens. The
    store gives it its ``seq`` and instant under the chain head's lock (``TrackingStore.append_evidence``)."""

    kind: str
    sender: str
    document_id: str
    recipient: str | None = None
    package_digest: str | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown evidence kind {self.kind!r}")

    def numbered(self, seq: int, at: datetime) -> Entry:
        """The entry this draft becomes as entry ``seq`` at instant ``at``."""
        return Entry(seq=seq, at_utc=format_utc(at), at_local=format_local(at), kind=self.kind,
                     sender=self.sender, document_id=self.document_id, recipient=self.recipient,
                     package_digest=self.package_digest, body=self.body)


def canonical_json(obj: object) -> bytes:
    """The one byte form of a JSON value that is hashed and signed: keys sorted, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(entry: Entry) -> str:
    """Hex SHA-256 of the entry's canonical JSON (every field; the hashes are not fields)."""
    return hashlib.sha256(canonical_json(entry.as_dict())).hexdigest()


def link_hash(prev_hash: str, content: str) -> str:
    """The entry's place in the chain: hex SHA-256 of the previous link and its content hash (bytes)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(content)).hexdigest()


def package_digest(signed: bytes) -> str:
    """How evidence names a package: hex SHA-256 of its exact signed bytes."""
    return hashlib.sha256(signed).hexdigest()


def next_instant(previous: datetime | None, now: datetime) -> datetime:
    """The next entry's instant: ``now``, or one microsecond after the previous one if the clock did
    not move on (or went back), so that instants are unique and strictly increasing."""
    now = now.astimezone(UTC)
    if previous is not None and now <= previous:
        return previous + ONE_MICROSECOND
    return now


def format_utc(at: datetime) -> str:
    """``2026-11-30T01:43:28.123456Z``: UTC, always six digits of microseconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_local(at: datetime) -> str:
    """The same instant in Vietnam time: ``2026-11-30T08:43:28.123456+07:00``."""
    return at.astimezone(_VIETNAM_ZONE).isoformat(timespec="microseconds")


def parse_utc(text: str) -> datetime:
    """The instant ``format_utc`` wrote; ``EvidenceInvalid`` for any other form."""
    try:
        if len(text) != 27 or text[4] != "-" or text[10] != "T" or text[19] != "." or text[26] != "Z":
            raise ValueError(text)
        return datetime.fromisoformat(text)  # exactly format_utc's form, checked above
    except ValueError as exc:
        raise EvidenceInvalid(
            f"{text!r} is not a UTC instant of the form 2026-11-30T01:43:28.123456Z",
            vi=f"{text!r} không phải thời điểm UTC dạng 2026-11-30T01:43:28.123456Z",
        ) from exc


def times_agree(entry: Entry) -> bool:
    """Whether ``at_local`` is the same instant as ``at_utc``, written as ``format_local`` writes it."""
    try:
        return format_local(parse_utc(entry.at_utc)) == entry.at_local
    except EvidenceInvalid:
        return False
