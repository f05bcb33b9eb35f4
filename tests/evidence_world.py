"""Shared by the evidence tests: a hub key under a CA, and chains of entries built as the hub does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vbcore.evidence.checkpoint import Checkpoint, make_checkpoint
from vbcore.evidence.entry import (
    GENESIS_HASH,
    PACKAGE_ACCEPTED,
    Entry,
    content_hash,
    format_local,
    format_utc,
    link_hash,
)
from vbcore.security.pki import create_ca, issue_agency_certificate
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore

HUB_CODE = "000.00.00.H99"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)  # within the CA's validity


def hub_key(key_type: str = "rsa") -> tuple[SigningKey, TrustStore]:
    # Both valid from a day before START (fixed when this module is imported): a long run reaches the
    # test minutes later, and the CA must already have been valid at the entries' times.
    ca_key, ca_cert = create_ca("evidence test CA", key_type=key_type, not_before=START - timedelta(days=1))
    key, cert = issue_agency_certificate(ca_key, ca_cert, HUB_CODE, "Trung tâm", key_type=key_type,
                                         not_before=START - timedelta(days=1))
    return SigningKey(key, (cert,)), TrustStore([ca_cert])


def entry(seq: int, *, document_id: str = "doc-1", kind: str = PACKAGE_ACCEPTED, at: datetime | None = None,
          body: dict[str, object] | None = None) -> Entry:
    when = at or START + timedelta(seconds=seq)
    return Entry(seq=seq, at_utc=format_utc(when), at_local=format_local(when), kind=kind,
                 sender="000.00.00.G22", document_id=document_id, recipient=None, package_digest="ab" * 32,
                 body=body if body is not None else {"recipients": ["000.00.00.H53"]})


def rows(entries: list[Entry]) -> list[tuple[Entry, str, str]]:
    """(entry, stored content hash, stored link) as the hub writes them."""
    out, head = [], GENESIS_HASH
    for item in entries:
        content = content_hash(item)
        head = link_hash(head, content)
        out.append((item, content, head))
    return out


def checkpoint_at(key: SigningKey, stored: list[tuple[Entry, str, str]], seq: int) -> Checkpoint:
    row = stored[seq - 1]
    at = START + timedelta(seconds=seq, milliseconds=500)
    return make_checkpoint(key, seq=seq, head_hash=row[2], at_utc=format_utc(at), hub_id=HUB_CODE)
