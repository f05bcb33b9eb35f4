"""Shared by the bundle tests: a document's evidence as the hub keeps it, built without a hub (the
pipeline's own evidence is tested in ``test_evidence_hub``), and ways to edit a bundle's members."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vbcore.edxml import write_package
from vbcore.evidence.bundle import MANIFEST, Contents, write_bundle
from vbcore.evidence.chain import Proof
from vbcore.evidence.checkpoint import make_checkpoint
from vbcore.evidence.entry import (
    COPY_DELIVERED,
    GENESIS_HASH,
    PACKAGE_ACCEPTED,
    STATUS_FORWARDED,
    STATUS_RECEIVED,
    Entry,
    content_hash,
    format_local,
    format_utc,
    link_hash,
)
from vbcore.evidence.receipt import ACCEPTED, DELIVERED, Receipt, new_receipt_id, receipt_payload, seal
from vbcore.model import Organization, ResponseFor, StatusPackage
from vbcore.security.signing import sign_package
from vbcore.status import StatusCode
from vbcore.testing.devworld import DA_NANG, HA_NOI, HUB_ID, VPCP, DevKeys, letter
from vbcore.timezones import vietnam_local


def _start() -> datetime:
    """Where a built document's entries begin: after the development certificates were issued (they
    are valid from the moment they were made), a second from now."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)


@dataclass
class Built:
    contents: Contents
    receipts: list[Receipt]
    entries: list[Entry]


def status_01(dev: DevKeys, document_id: str, at: datetime, sender: str = HA_NOI,
              key: str | None = None) -> bytes:
    """A 01 from ``sender``, signed with ``key``'s key (default: the sender's)."""
    status = StatusPackage(
        from_=Organization(sender),
        response_for=ResponseFor(VPCP, document_id=document_id),
        status_code=StatusCode.ARRIVED,
        timestamp=vietnam_local(at).replace(microsecond=0),
    )
    return sign_package(write_package(status), dev.keys[key or sender])


def build(dev: DevKeys, number: str = "101", *, others_before: int = 2, hub: str = HUB_ID,
          hub_key: str | None = None, status_from: str = HA_NOI, status_key: str | None = None,
          refused: dict[str, str] | None = None) -> Built:
    """Accepted for two recipients, both delivered, a 01 from Hà Nội received and forwarded; other
    documents' entries around them; one checkpoint after the last. ``hub_key`` names whose key signs
    the hub's checkpoint and seals (default: ``hub``'s), claiming to be ``hub`` (forgeries)."""
    signer = dev.keys[hub_key or hub]
    edoc = letter(VPCP, [HA_NOI, DA_NANG], number)
    package = sign_package(write_package(edoc), dev.keys[VPCP])
    digest = hashlib.sha256(package).hexdigest()
    doc = edoc.effective_document_id
    start = _start()
    status = status_01(dev, doc, start, status_from, status_key)
    status_digest = hashlib.sha256(status).hexdigest()
    ids = [new_receipt_id() for _ in range(5)]
    plan = [
        (PACKAGE_ACCEPTED, VPCP, None, digest,
         {"recipients": [HA_NOI, DA_NANG], "receipt": ids[0], **({"refused": refused} if refused else {})}),
        (COPY_DELIVERED, VPCP, HA_NOI, digest, {"receipt": ids[1]}),
        (COPY_DELIVERED, VPCP, DA_NANG, digest, {"receipt": ids[2]}),
        (STATUS_RECEIVED, HA_NOI, None, status_digest, {"code": "01", "receipt": ids[3]}),
        (STATUS_FORWARDED, HA_NOI, VPCP, status_digest, {"code": "01", "receipt": ids[4]}),
    ]
    entries: list[Entry] = []
    seq = 0
    for _ in range(others_before):  # another document's entries before
        seq += 1
        entries.append(
            _entry(start, seq, PACKAGE_ACCEPTED, "000.00.00.G09", None, "ef" * 32, {}, "other-doc")
        )
    for kind, sender, recipient, d, body in plan:
        seq += 1
        entries.append(_entry(start, seq, kind, sender, recipient, d, body, doc))
        seq += 1  # and another document's entry between each of ours
        entries.append(
            _entry(start, seq, COPY_DELIVERED, "000.00.00.G09", HA_NOI, "ef" * 32, {}, "other-doc")
        )
    links, head = {}, GENESIS_HASH
    for e in entries:
        head = link_hash(head, content_hash(e))
        links[e.seq] = head
    last = entries[-1]
    checkpoint = make_checkpoint(
        signer,
        seq=last.seq,
        head_hash=head,
        at_utc=format_utc(start + timedelta(seconds=last.seq + 1)),
        hub_id=hub,
    )
    mine = [e for e in entries if e.document_id == doc]
    first = mine[0]
    proof = Proof(
        first,
        links[first.seq - 1] if first.seq > 1 else GENESIS_HASH,
        tuple(content_hash(e) for e in entries if e.seq > first.seq),
        checkpoint,
    )
    kinds = {
        PACKAGE_ACCEPTED: ACCEPTED,
        COPY_DELIVERED: DELIVERED,
        STATUS_RECEIVED: ACCEPTED,
        STATUS_FORWARDED: DELIVERED,
    }
    payloads = [
        receipt_payload(
            kinds[e.kind],
            e.body["receipt"],
            e,
            links[e.seq],
            hub,
            recipients=e.body.get("recipients") or ([VPCP] if e.kind == STATUS_RECEIVED else None),
            refused=e.body.get("refused"),
        )
        for e in mine
    ]
    receipts = seal(signer, hub, payloads[:3]) + seal(signer, hub, payloads[3:])
    contents = Contents(
        doc,
        "hub",
        package,
        (status,),
        tuple(receipts),
        ((proof, tuple(mine[1:])),),
        (signer.certificate, dev.keys[VPCP].certificate),
    )
    return Built(contents, receipts, mine)


def _entry(
    start: datetime,
    seq: int,
    kind: str,
    sender: str,
    recipient: str | None,
    digest: str,
    body: dict[str, object],
    document_id: str,
) -> Entry:
    at = start + timedelta(seconds=seq)
    return Entry(seq, format_utc(at), format_local(at), kind, sender, document_id, recipient, digest, body)


def bundle_bytes(dev: DevKeys, contents: Contents, signer: str = HUB_ID) -> bytes:
    """The bundle of ``contents``, its manifest signed with ``signer``'s key."""
    out = io.BytesIO()
    write_bundle(out, contents, dev.keys[signer])
    return out.getvalue()


Edit = Callable[[dict[str, bytes]], None]


def edited(bundle: bytes, edit: Edit, *, re_manifest: bool = False) -> bytes:
    """``bundle`` with its members changed by ``edit`` (a dict name -> bytes, changed in place); with
    ``re_manifest`` the manifest's digests are recomputed too (as a forger would)."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    edit(members)
    if re_manifest:
        manifest = json.loads(members[MANIFEST])
        manifest["members"] = {
            n: hashlib.sha256(d).hexdigest()
            for n, d in members.items()
            if n not in (MANIFEST, "manifest.sig.json")
        }
        members[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def json_member(members: dict[str, bytes], name: str) -> dict[str, object]:
    value = json.loads(members[name])
    assert isinstance(value, dict)
    return value
