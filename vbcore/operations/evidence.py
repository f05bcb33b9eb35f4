"""``vb evidence export``: one document's evidence bundle, from what the hub kept; and
``vb connector evidence export``: the same format from what a recipient's connector kept.

Gathers, for the document the hub tracks under ``document_id``: its entries in the evidence log and,
per checkpoint, the proof of the first one (the chain's slice up to the signed head; the others are
checked against its links), the package as signed and every status package a recipient sent about it
(from the package archive, by the digests the entries name), the hub's receipts, and the hub's
certificate chain; then writes the bundle (``vbcore.evidence.bundle``) signed with the hub's key.

Entries after the log's last checkpoint have no proof yet: the export signs a checkpoint of the head
first (the same statement a running hub signs every interval and on shutdown), so a bundle always
proves every entry it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from vbcore.connector.ledger import Ledger
from vbcore.errors import ArchiveMissing, EvidenceNotFound, PackageRefused
from vbcore.evidence.bundle import HUB, Contents, write_bundle
from vbcore.evidence.chain import Proof
from vbcore.evidence.checkpoint import Checkpoint, make_checkpoint
from vbcore.evidence.entry import PACKAGE_ACCEPTED, PACKAGE_REFUSED, STATUS_RECEIVED, Entry
from vbcore.security.signing import SignaturePolicy, SigningKey, verify_signature_value
from vbcore.store import TrackingStore
from vbcore.store.archive import PackageArchive

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Exported:
    """What went into the bundle (for the command's summary)."""

    document_id: str
    entries: int
    receipts: int
    statuses: int
    checkpoints: int
    missing: tuple[str, ...]  # status packages the archive did not hold (kept before it existed)
    bytes: int


def export_document(
    store: TrackingStore,
    archive: PackageArchive,
    document_id: str,
    target: str | Path | IO[bytes],
    key: SigningKey,
    *,
    hub_id: str,
    now: datetime,
) -> Exported:
    entries = store.evidence_entries(document_id)
    if not entries:
        raise EvidenceNotFound(document_id)
    _checkpoint_head(store, entries[-1].seq, key, hub_id, now)
    chain = _slices(store, entries)
    digest = _package_digest(entries)
    package = archive.get(digest)
    statuses, missing = [], []
    for d in dict.fromkeys(
        e.package_digest for e in entries if e.kind == STATUS_RECEIVED and e.package_digest
    ):
        try:
            statuses.append(archive.get(d))
        except ArchiveMissing:
            missing.append(d)
    receipts = store.receipts(document_id)
    certificates = (*key.certificate_chain, *_signers(package, *statuses))
    contents = Contents(document_id, HUB, package, tuple(statuses), tuple(receipts), tuple(chain),
                        tuple(dict.fromkeys(certificates)))  # fmt: skip
    write_bundle(target, contents, key)
    size = Path(target).stat().st_size if isinstance(target, str | Path) else 0
    return Exported(document_id, len(entries), len(receipts), len(statuses), len(chain), tuple(missing), size)


def _signers(*packages: bytes) -> list[x509.Certificate]:
    """The certificates that signed ``packages`` (for people reading the bundle; the checks use the
    ones inside each signature). A package whose signature cannot be read adds none."""
    found = []
    for package in packages:
        try:
            found.append(verify_signature_value(package, policy=SignaturePolicy(allow_sha1=True)).certificate)
        except PackageRefused:
            continue
    return found


def _checkpoint_head(
    store: TrackingStore, last_seq: int, key: SigningKey, hub_id: str, now: datetime
) -> None:
    """Sign the chain's head when the document's last entry is after the last checkpoint."""
    last = store.last_checkpoint()
    if last is not None and last.seq >= last_seq:
        return

    def sign(seq: int, head: str, at_utc: str) -> Checkpoint:
        return make_checkpoint(key, seq=seq, head_hash=head, at_utc=at_utc, hub_id=hub_id)

    store.checkpoint_evidence(sign, now=now)


def _slices(store: TrackingStore, entries: list[Entry]) -> list[tuple[Proof, tuple[Entry, ...]]]:
    """Per checkpoint: the proof of the first entry it covers, and the document's other entries there."""
    chain: list[tuple[Proof, tuple[Entry, ...]]] = []
    i = 0
    while i < len(entries):
        proof = store.evidence_proof(entries[i].seq)
        if proof is None:  # cannot happen after ``_checkpoint_head``, but for a store written meanwhile
            raise EvidenceNotFound(entries[i].document_id, entries[i].seq)
        covered = tuple(e for e in entries[i + 1 :] if e.seq <= proof.checkpoint.seq)
        chain.append((proof, covered))
        i += 1 + len(covered)
    return chain


def _package_digest(entries: list[Entry]) -> str:
    for kinds in ((PACKAGE_ACCEPTED,), (PACKAGE_REFUSED,)):
        for entry in entries:
            if entry.kind in kinds and entry.package_digest:
                return entry.package_digest
    raise EvidenceNotFound(entries[0].document_id)


def export_received(
    ledger: Ledger,
    document_id: str,
    target: str | Path | IO[bytes],
    key: SigningKey,
    *,
    sender: str | None = None,
) -> Exported:
    """What a recipient holds of the document it received as ``document_id`` (from ``sender``, when
    several agencies wrote that id): the package as signed and the hub's receipts about it (its
    delivered receipt, once the connector asked for it), signed with the agency's own key."""
    held = ledger.packages_of(document_id, sender)
    if not held or ledger.agency is None:
        raise EvidenceNotFound(document_id)
    _, digest, package = held[-1]
    receipts = ledger.receipts_for(digest)
    tracked = receipts[0].document_id if receipts else document_id  # the hub's key for it
    certificates = tuple(dict.fromkeys((*key.certificate_chain, *_signers(package))))
    contents = Contents(tracked, ledger.agency, package, (), tuple(receipts), (), certificates)
    write_bundle(target, contents, key)
    size = Path(target).stat().st_size if isinstance(target, str | Path) else 0
    return Exported(tracked, 0, len(receipts), 0, 0, (), size)
