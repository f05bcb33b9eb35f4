"""The evidence bundle of one document: everything needed to prove its journey, in one file that
anyone can check offline with nothing but the CA certificate(s).

Format: a ZIP file (stored, not compressed: the package is kept byte for byte and any tool lists and
extracts it; ZIP is what every operating system opens without installing anything, which an auditor
or a court clerk needs) holding::

    manifest.json          what the bundle is (document, holder) and the SHA-256 of every other member
    manifest.sig.json      the exporter's signed statement over manifest.json's SHA-256 and the log
                           entries it holds: nothing can be added, removed or replaced unseen
    package.xml            the package exactly as its sender signed it (XML-DSig inside)
    statuses/<sha256>.xml  each status a recipient sent about it, exactly as that recipient signed it
    receipts/NNNN-<kind>.json   the hub's receipts (``vbcore.evidence.receipt``), each with its seal
    chain/<seq>.json       a slice of the hub's evidence log per checkpoint: the proof of the document's
                           first entry under that checkpoint (``vbcore.evidence.chain.Proof``: every
                           later link up to the signed head) and the document's other entries there
    certificates/*.pem     the certificates that signed (for people: the checks use those inside)

The manifest gives each member's digest, so a changed member is named; the signature over the
manifest makes the manifest itself unforgeable. But the checks below do not stop at the manifest:
every piece is checked for what it says (the sender's XML signature, the hub's seals and
checkpoints, the chain, each receipt's document, package and log entry), so a bundle edited *and*
re-manifested still fails with the reason that matters ("the receipt is about another document",
"entry 12 is not the one the checkpoint signed").

A bundle exported by the hub (``vbcore.operations.evidence``) holds the chain; one exported by a
recipient's connector holds what the recipient has: the package, the hub's receipts, its signature.

``write_bundle`` writes one; ``verify_bundle`` checks one and returns a ``Verified``: what it proves
and every ``Problem`` found (empty: consistent). ``vbcore.evidence.timeline`` prints the journey.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from vbcore.edxml import read_element
from vbcore.edxml.limits import DEFAULT_LIMITS
from vbcore.errors import EvidenceInvalid, PackageRefused, VbusError, one_line
from vbcore.evidence.chain import Proof, verify_proof
from vbcore.evidence.checkpoint import verify_timestamp
from vbcore.evidence.entry import STATUS_RECEIVED, Entry, content_hash, format_utc, link_hash, parse_utc
from vbcore.evidence.receipt import Receipt, verify_receipt
from vbcore.evidence.statement import Statement, sign_statement, verify_statement
from vbcore.lang import Text
from vbcore.model import Edoc, StatusPackage
from vbcore.security.pki import identity_of
from vbcore.security.signing import SignaturePolicy, SigningKey, verify_package
from vbcore.security.trust import TrustStore
from vbcore.timezones import utc_now

FORMAT = "vbus-evidence-bundle"
VERSION = 1
MANIFEST, SIGNATURE, PACKAGE = "manifest.json", "manifest.sig.json", "package.xml"
STATEMENT_TYPE = "vbus-evidence-bundle"
HUB = "hub"
MAX_MEMBERS = 100_000
"""Members a bundle may hold (a circular to 10,000 agencies with every status is about 40,000)."""
MAX_JSON_BYTES = 4 * 1024 * 1024
"""Bytes of one JSON member at most (a chain slice of 1,000 links is about 70 KB)."""
MAX_TOTAL_BYTES = 4 * DEFAULT_LIMITS.max_bytes
# The sender's signature may be SHA-1 where the operator let the hub accept it: what binds the package
# to the hub's evidence is its SHA-256, in every receipt and log entry.
_POLICY = SignaturePolicy(allow_sha1=True)


@dataclass(frozen=True)
class Problem:
    """One inconsistency, in both languages (``describe(lang)``), and the member it was found in."""

    member: str
    en: str
    vi: str

    def describe(self, lang: str = "vi") -> str:
        """One line, safe on a terminal whatever the bundle held (``errors.one_line``)."""
        text = self.en if lang == "en" else self.vi
        return one_line(f"{self.member}: {text}" if self.member else text)


@dataclass(frozen=True)
class Contents:
    """What goes into a bundle (``write_bundle``)."""

    document_id: str
    holder: str  # ``HUB``, or the agency code of the recipient that exported what it holds
    package: bytes
    statuses: tuple[bytes, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    chain: tuple[tuple[Proof, tuple[Entry, ...]], ...] = ()  # per checkpoint: first proof, other entries
    certificates: tuple[x509.Certificate, ...] = ()


@dataclass
class Verified:
    """What a bundle proves, and what is wrong with it."""

    document_id: str = ""
    holder: str = ""
    exporter: str | None = None  # the identity of the certificate that signed the manifest
    hub: str | None = None  # the hub whose certificate signed the checkpoints and seals
    exported_at: str = ""
    package_digest: str = ""
    package: Edoc | None = None
    package_signer: str | None = None
    entries: list[Entry] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[str, StatusPackage, str | None]] = field(
        default_factory=list
    )  # digest, status, signer
    checkpoints: list[tuple[int, str, bool]] = field(default_factory=list)  # seq, at_utc, time-stamped
    problems: list[Problem] = field(default_factory=list)
    signed_entries: list[int] | None = None  # the log entries the exporter signed as the bundle's
    entry_links: dict[int, str] = field(default_factory=dict)  # each covered entry's link, by seq

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, member: str, error: VbusError | str, vi: str | None = None) -> None:
        if isinstance(error, VbusError):
            self.problems.append(
                Problem(member, str(error) or error.reason_en, error.detail_vi or error.describe("vi"))
            )
        else:
            self.problems.append(Problem(member, error, vi or error))


def _load(data: bytes) -> Any:
    """A member's JSON, or ``EvidenceInvalid``: not UTF-8 JSON, or nested so deep that the parser
    gives up (the standard library's C parser raises ``RecursionError`` then, cleanly)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise EvidenceInvalid(f"not JSON: {str(exc)[:200]}", vi=f"không phải JSON: {str(exc)[:200]}") from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def _utc_now_text() -> str:
    return format_utc(utc_now())


# --- writing -------------------------------------------------------------------------------------------


def members_of(contents: Contents) -> dict[str, bytes]:
    """Every member but the manifest and its signature, by name."""
    members = {PACKAGE: contents.package}
    for status in contents.statuses:
        members[f"statuses/{_sha256(status)}.xml"] = status
    for i, receipt in enumerate(contents.receipts, 1):
        members[f"receipts/{i:04d}-{receipt.kind}.json"] = _json(receipt.as_dict())
    for proof, others in contents.chain:
        members[f"chain/{proof.checkpoint.seq}.json"] = _json(
            {"proof": proof.as_dict(), "entries": [e.as_dict() for e in others]}
        )
    for cert in contents.certificates:
        members[f"certificates/{cert.fingerprint(hashes.SHA256())[:8].hex()}.pem"] = _pem(cert)
    return members


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()


def write_bundle(target: str | Path | IO[bytes], contents: Contents, key: SigningKey) -> dict[str, Any]:
    """Write the bundle; return its manifest. ``key`` signs the manifest (the hub's, or the recipient
    agency's for what it holds)."""
    members = members_of(contents)
    entries = sorted({p.entry.seq for p, _ in contents.chain} | {e.seq for _, o in contents.chain for e in o})
    at_utc = _utc_now_text()
    manifest = {
        "format": FORMAT, "version": VERSION, "document_id": contents.document_id, "holder": contents.holder,
        "exported_at": at_utc, "package_sha256": _sha256(contents.package),
        "members": {name: _sha256(data) for name, data in sorted(members.items())},
    }  # fmt: skip
    manifest_bytes = _json(manifest)
    statement = sign_statement(key, {
        "type": STATEMENT_TYPE, "document_id": contents.document_id, "holder": contents.holder,
        "manifest_sha256": _sha256(manifest_bytes), "entries": entries, "at_utc": at_utc,
    })  # fmt: skip
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(MANIFEST, manifest_bytes)
        zf.writestr(SIGNATURE, statement.to_json())
        for name, data in sorted(members.items()):
            zf.writestr(name, data)
    return manifest


# --- verifying -----------------------------------------------------------------------------------------


_KIND_VI = {"accepted": "trục nhận", "refused": "trục từ chối", "delivered": "đã chuyển"}
# The entries about THE package; a package-refused entry may name another package (a duplicate of this
# DocumentId the hub refused), which the bundle then does not hold.
_PACKAGE_KINDS = ("package-accepted", "copy-delivered")

_T = {
    "not_zip": Text("tệp không phải gói bằng chứng (ZIP) đọc được",
                    "the file is not a readable evidence bundle (ZIP)"),
    "too_big": Text("gói bằng chứng quá lớn hoặc quá nhiều thành phần",
                    "the bundle is too large or has too many members"),
    "twice": Text("tên thành phần xuất hiện hai lần trong tệp ZIP: không biết bản nào là thật",
                  "the member's name appears twice in the ZIP: which copy is the real one cannot be told"),
    "unsafe_name": Text("tên thành phần không an toàn", "an unsafe member name"),
    "missing": Text("có trong bản kê nhưng không có trong gói: đã bị xóa",
                    "listed in the manifest but not in the bundle: it was removed"),
    "extra": Text("không có trong bản kê: đã được thêm vào", "not in the manifest: it was added"),
    "changed": Text("SHA-256 không khớp bản kê: đã bị sửa sau khi xuất",
                    "its SHA-256 is not the manifest's: it was changed after export"),
    "manifest_edited": Text(
        "bản kê đã bị sửa sau khi được ký (một thành phần đã bị thêm, xóa hoặc thay)",
        "the manifest was edited after it was signed (a member was added, removed or replaced)",
    ),
}  # fmt: skip


def _say(verified: Verified, member: str, key: str, **values: object) -> None:
    text = _T[key].format(**values)
    verified.problem(member, text.en, text.vi)


def verify_bundle(
    source: str | Path | bytes | IO[bytes], trust: TrustStore, hub: str | None = None
) -> Verified:
    """Check every member of the bundle against the others and against ``trust``; never raises for
    what the bundle holds (each inconsistency is a ``Problem``). ``hub``: the id of the hub whose
    certificate must have signed what the hub signs (without it: one hub, whichever, that is none of
    the parties)."""
    verified = Verified(hub=hub)
    with contextlib.ExitStack() as stack:
        try:
            file: IO[bytes]
            if isinstance(source, str | Path):
                file = stack.enter_context(open(source, "rb"))
            else:
                file = io.BytesIO(source) if isinstance(source, bytes) else source
            if _too_many_members(file):  # before ``ZipFile`` reads every central directory record
                _say(verified, "", "too_big")
                return verified
            zf = stack.enter_context(zipfile.ZipFile(file))
        except (zipfile.BadZipFile, OSError, ValueError):
            _say(verified, "", "not_zip")
            return verified
        members = _read_members(zf, verified)
        if members is None:
            return verified
        manifest = _check_manifest(members, trust, verified)
        if manifest is None:
            return verified
        _check_contents(members, manifest, trust, verified)
        _check_signers(verified)
    return verified


def _too_many_members(file: IO[bytes]) -> bool:
    """Whether the ZIP's end record announces more than ``MAX_MEMBERS`` members (or a larger central
    directory than they need): ``zipfile.ZipFile`` would otherwise build an object per record, a few
    hundred bytes each, millions of them from a file of a few hundred megabytes."""
    end = zipfile._EndRecData(file)  # type: ignore[attr-defined]  # the standard library's own reader
    file.seek(0)
    if not end:
        return False  # not a ZIP: ``ZipFile`` says so
    total, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    return bool(total > MAX_MEMBERS or size > MAX_MEMBERS * _MAX_RECORD)


_MAX_RECORD = 46 + 1024  # a central directory record and a name of 1 KB (no extra field or comment)


def _read_members(zf: zipfile.ZipFile, verified: Verified) -> dict[str, bytes] | None:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        _say(verified, "", "too_big")
        return None
    members: dict[str, bytes] = {}
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.split("/") or "\\" in name or info.is_dir():
            _say(verified, name[:200], "unsafe_name")
            continue
        if name in members or name in seen:
            _say(verified, name[:200], "twice")  # which copy would a reader's tool show?
            members.pop(name, None)
            continue
        seen.add(name)
        limit = DEFAULT_LIMITS.max_bytes if name.endswith(".xml") else MAX_JSON_BYTES
        if info.file_size > limit:
            _say(verified, name, "too_big")
            continue
        try:
            members[name] = zf.read(info)[: limit + 1]
        except Exception as exc:  # hostile bytes: encrypted (RuntimeError), a broken stream (zlib.error)...
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            verified.problem(name, f"cannot be read: {reason}", f"không đọc được: {reason}")
    return members


def _check_manifest(
    members: dict[str, bytes], trust: TrustStore, verified: Verified
) -> dict[str, Any] | None:
    """The manifest and the exporter's signature over it; the members against the manifest."""
    raw = members.get(MANIFEST)
    try:
        if raw is None:
            raise EvidenceInvalid(
                "the bundle has no manifest.json", vi="gói bằng chứng không có manifest.json"
            )
        manifest = _load(raw)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise EvidenceInvalid(
                f"manifest.json is not the manifest of a {FORMAT}",
                vi=f"manifest.json không phải bản kê của {FORMAT}",
            )
        listed = manifest.get("members")
        if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
            raise EvidenceInvalid(
                "manifest.json lists no members", vi="manifest.json không kê thành phần nào"
            )
    except EvidenceInvalid as exc:
        verified.problem(MANIFEST, exc)
        return None
    verified.document_id = str(manifest.get("document_id", ""))
    verified.holder = str(manifest.get("holder", ""))
    verified.exported_at = str(manifest.get("exported_at", ""))
    try:
        statement = Statement.from_dict(_load(members.get(SIGNATURE, b"")))
        said = verify_statement(statement, trust)
        verified.exporter = _code_of(statement)
        if said.get("type") != STATEMENT_TYPE:
            raise EvidenceInvalid(
                f"a statement of type {said.get('type')!r}, not a bundle's signature",
                vi=f"xác nhận loại {said.get('type')!r}, không phải chữ ký của gói bằng chứng",
            )
        if said.get("manifest_sha256") != _sha256(raw):
            _say(verified, MANIFEST, "manifest_edited")
        for name, value in (("document_id", verified.document_id), ("holder", verified.holder)):
            if said.get(name) != value:
                verified.problem(
                    MANIFEST,
                    f"names {name} {value!r}; the signature says {said.get(name)!r}",
                    f"ghi {name} {value!r}; chữ ký ghi {said.get(name)!r}",
                )
        listed_entries = said.get("entries")
        if isinstance(listed_entries, list):
            verified.signed_entries = [s for s in listed_entries if isinstance(s, int)]
    except EvidenceInvalid as exc:
        verified.problem(SIGNATURE, exc)
    present = set(members) - {MANIFEST, SIGNATURE}
    for name in sorted(set(listed) - present):
        _say(verified, name, "missing")
    for name in sorted(present - set(listed)):
        _say(verified, name, "extra")
    for name in sorted(present & set(listed)):
        if _sha256(members[name]) != listed[name]:
            _say(verified, name, "changed")
    return manifest


def _code_of(statement: Statement) -> str | None:
    try:
        return identity_of(statement.chain()[0])
    except EvidenceInvalid:
        return None


def _hub_of(verified: Verified, hub_id: str, member: str) -> None:
    """Every checkpoint and seal of one bundle is the same hub's (each signer binds it already)."""
    if verified.hub is None:
        verified.hub = hub_id
    elif hub_id != verified.hub:
        verified.problem(
            member,
            f"is signed by the hub {hub_id}, but the bundle's other evidence by the hub {verified.hub}",
            f"do trục {hub_id} ký, nhưng các bằng chứng khác trong gói do trục {verified.hub} ký",
        )


def _check_signers(verified: Verified) -> None:
    """Who signed the manifest is who the bundle says exported it: the hub (the one that signed its
    checkpoints and seals), or the recipient agency it names as holder; and the hub is none of the
    parties, so that a sender cannot vouch for its own journey with its own certificate."""
    who = verified.exporter or "no identity"
    who_vi = verified.exporter or "không rõ danh tính"
    if not any(p.member == SIGNATURE for p in verified.problems):  # else said already: no signature
        if verified.holder == HUB:
            if verified.hub is None:
                verified.problem(SIGNATURE, "a bundle the hub exported holds no checkpoint or receipt the "
                                 "hub signed", "gói bằng chứng do trục xuất không có điểm chốt hay biên nhận "
                                 "nào có chữ ký của trục")
            elif verified.exporter != verified.hub:
                verified.problem(
                    SIGNATURE,
                    f"the bundle says the hub exported it, but {who} signed it, not the hub {verified.hub}",
                    f"gói bằng chứng ghi do trục xuất, nhưng {who_vi} ký, "
                    f"không phải trục {verified.hub}",
                )
        elif verified.exporter != verified.holder:
            verified.problem(
                SIGNATURE,
                f"the bundle says {verified.holder} exported it, but {who} signed it",
                f"gói bằng chứng ghi do {verified.holder} xuất, nhưng {who_vi} ký",
            )
    _check_hub_is_no_party(verified)


def _check_hub_is_no_party(verified: Verified) -> None:
    parties = {verified.package_signer, *(signer for _, _, signer in verified.statuses)}
    if verified.package is not None:
        parties.add(verified.package.from_.organ_id)
    parties |= {e.sender for e in verified.entries} | {e.recipient for e in verified.entries}
    if verified.hub is not None and verified.hub in parties:
        verified.problem(
            "",
            f"the evidence is signed as the hub's by {verified.hub}, a party to the document: a sender "
            "or recipient cannot be its own witness",
            f"bằng chứng được ký với tư cách trục bởi {verified.hub}, một bên của văn bản: bên gửi hay bên "
            "nhận không thể tự làm chứng cho mình",
        )


def _check_contents(
    members: dict[str, bytes], manifest: dict[str, Any], trust: TrustStore, verified: Verified
) -> None:
    _check_chain(members, trust, verified)
    if PACKAGE in members:
        verified.package_digest = _sha256(members[PACKAGE])
    _check_receipts(members, trust, verified)
    # The sender's certificate is judged when the hub took the package (years later it has expired):
    # the accepted entry's instant, else the earliest receipt the hub signed about the package.
    times = [e.at_utc for e in verified.entries if e.kind == "package-accepted"]
    times += sorted(
        str(r["at_utc"]) for r in verified.receipts if r["package_digest"] == verified.package_digest
    )
    try:
        accepted_at = parse_utc(times[0]) if times else None
    except EvidenceInvalid as exc:
        verified.problem(PACKAGE, exc)
        accepted_at = None
    _check_package(members, trust, verified, accepted_at)
    if verified.package_digest:
        for entry in verified.entries:
            if entry.kind in _PACKAGE_KINDS and entry.package_digest != verified.package_digest:
                verified.problem(
                    PACKAGE,
                    f"log entry {entry.seq} ({entry.kind}) names the package {entry.package_digest}, not "
                    f"this one ({verified.package_digest}): the package was changed or replaced",
                    f"mục nhật ký {entry.seq} ({entry.kind}) ghi gói tin {entry.package_digest}, không phải "
                    f"gói này ({verified.package_digest}): gói tin đã bị sửa hoặc bị thay",
                )
    _check_statuses(members, trust, verified)
    signed = verified.signed_entries
    if signed is not None:
        held = {e.seq for e in verified.entries}
        for seq in sorted(set(signed) - held):
            verified.problem(
                "chain/",
                f"entry {seq}, which the exporter signed as part of the bundle, is not in it: it was removed",
                f"mục {seq}, mà bên xuất đã ký là thuộc gói bằng chứng, không có trong gói: đã bị xóa",
            )
        for seq in sorted(held - set(signed)):
            verified.problem(
                "chain/",
                f"entry {seq} was not in the bundle the exporter signed: it was added",
                f"mục {seq} không thuộc gói bằng chứng mà bên xuất đã ký: đã được thêm vào",
            )


def _check_package(
    members: dict[str, bytes], trust: TrustStore, verified: Verified, accepted_at: datetime | None
) -> None:
    package = members.get(PACKAGE)
    if package is None:
        verified.problem(PACKAGE, "the package is not in the bundle", "gói tin không có trong gói bằng chứng")
        return
    try:
        checked = verify_package(package, trust=trust, policy=_POLICY, at=accepted_at)
        edoc = read_element(checked.root, attachments=False).package
    except (PackageRefused, VbusError) as exc:
        verified.problem(PACKAGE, exc)
        return
    if not isinstance(edoc, Edoc):
        verified.problem(PACKAGE, "is a status, not a document", "là một trạng thái, không phải văn bản")
        return
    verified.package, verified.package_signer = edoc, checked.signer_agency
    if checked.signer_agency != edoc.from_.organ_id:
        verified.problem(
            PACKAGE,
            f"is from {edoc.from_.organ_id} but signed by {checked.signer_agency}",
            f"của {edoc.from_.organ_id} nhưng do {checked.signer_agency} ký",
        )


def _check_chain(members: dict[str, bytes], trust: TrustStore, verified: Verified) -> None:
    """Each slice: its first proof up to the signed checkpoint, the other entries at their links."""
    for name in sorted(n for n in members if n.startswith("chain/")):
        try:
            data = _load(members[name])
            if (
                not isinstance(data, dict)
                or set(data) != {"proof", "entries"}
                or not isinstance(data["entries"], list)
            ):
                raise EvidenceInvalid(
                    "a chain slice must have exactly proof and entries",
                    vi="một đoạn chuỗi phải có đúng proof và entries",
                )
            proof = Proof.from_dict(data["proof"])
            verify_proof(proof, trust, verified.hub)
            others = [Entry.from_dict(e) for e in data["entries"]]
        except EvidenceInvalid as exc:
            verified.problem(name, exc)
            continue
        checkpoint = proof.checkpoint
        _hub_of(verified, checkpoint.hub_id, name)
        stamped = False
        if checkpoint.tsa_token is not None:  # shown as time-stamped only once it verifies
            try:
                verify_timestamp(checkpoint, trust, trust)
                stamped = True
            except EvidenceInvalid as exc:
                verified.problem(name, exc)
        verified.checkpoints.append((checkpoint.seq, checkpoint.at_utc, stamped))
        found = [proof.entry]
        for entry in others:
            position = entry.seq - proof.entry.seq - 1
            if not 0 <= position < len(proof.links) or proof.links[position] != content_hash(entry):
                verified.problem(
                    name,
                    f"entry {entry.seq} ({entry.kind}, {entry.at_utc}) is not the one in the chain the "
                    f"checkpoint at entry {checkpoint.seq} signed: it was changed or moved",
                    f"mục {entry.seq} ({entry.kind}, {entry.at_utc}) không phải mục trong chuỗi mà điểm chốt "
                    f"tại mục {checkpoint.seq} đã ký: nó đã bị sửa hoặc chuyển chỗ",
                )
                continue
            found.append(entry)
        for entry in found:
            if entry.document_id != verified.document_id:
                verified.problem(
                    name,
                    f"entry {entry.seq} is about document {entry.document_id}, not {verified.document_id}",
                    f"mục {entry.seq} thuộc văn bản {entry.document_id}, không phải {verified.document_id}",
                )
                continue
            verified.entries.append(entry)
        verified.entry_links.update(_links(proof))
    verified.entries.sort(key=lambda e: e.seq)


def _links(proof: Proof) -> dict[int, str]:
    """The link (entry hash) of every entry the proof covers, by seq."""
    links, head = {}, link_hash(proof.prev_hash, content_hash(proof.entry))
    links[proof.entry.seq] = head
    for i, content in enumerate(proof.links, 1):
        head = link_hash(head, content)
        links[proof.entry.seq + i] = head
    return links


def _check_receipts(members: dict[str, bytes], trust: TrustStore, verified: Verified) -> None:
    links = verified.entry_links
    by_seq = {e.seq: e for e in verified.entries}
    # Other packages a receipt may name: a status the bundle holds, a package the log says was refused.
    others = {n.removeprefix("statuses/").removesuffix(".xml") for n in members if n.startswith("statuses/")}
    others |= {e.package_digest for e in verified.entries if e.kind == "package-refused" and e.package_digest}
    for name in sorted(n for n in members if n.startswith("receipts/")):
        try:
            said = verify_receipt(Receipt.from_dict(_load(members[name])), trust, verified.hub)
        except EvidenceInvalid as exc:
            verified.problem(name, exc)
            continue
        _hub_of(verified, said["hub_id"], name)
        document, digest, seq = said["document_id"], said["package_digest"], said["seq"]
        if document != verified.document_id:
            verified.problem(
                name,
                f"the {said['kind']} receipt is about document {document}, not "
                f"{verified.document_id}: it was taken from another bundle",
                f"biên nhận {_KIND_VI[said['kind']]} thuộc văn bản {document}, không phải "
                f"{verified.document_id}: nó được lấy từ gói bằng chứng khác",
            )
            continue
        if digest not in others and digest != verified.package_digest and verified.package_digest:
            verified.problem(
                name,
                f"the {said['kind']} receipt names the package {digest}, but package.xml's SHA-256 is "
                f"{verified.package_digest}: the package was changed",
                f"biên nhận {_KIND_VI[said['kind']]} ghi gói tin {digest}, nhưng SHA-256 của package.xml là "
                f"{verified.package_digest}: gói tin đã bị sửa",
            )
        if links and (
            links.get(seq) != said["entry_hash"] or seq not in by_seq or by_seq[seq].at_utc != said["at_utc"]
        ):
            verified.problem(
                name,
                f"the {said['kind']} receipt names log entry {seq}, which the chain in this "
                "bundle does not hold with that hash and time",
                f"biên nhận {_KIND_VI[said['kind']]} ghi mục nhật ký {seq}, mà chuỗi trong gói bằng chứng "
                "không có với mã băm và thời điểm đó",
            )
        verified.receipts.append(said)
    verified.receipts.sort(key=lambda r: (r["at_utc"], r["seq"]))


def _check_statuses(members: dict[str, bytes], trust: TrustStore, verified: Verified) -> None:
    named = {e.package_digest for e in verified.entries} | {
        str(r["package_digest"]) for r in verified.receipts
    }
    named |= {str(v) for e in verified.entries for v in e.body.values() if isinstance(v, str)}
    for name in sorted(n for n in members if n.startswith("statuses/")):
        data = members[name]
        digest = _sha256(data)
        if name != f"statuses/{digest}.xml":
            verified.problem(
                name,
                f"is not named by its SHA-256 ({digest}): it was changed",
                f"không mang tên theo SHA-256 của nó ({digest}): đã bị sửa",
            )
        received = next((parse_utc(e.at_utc) for e in verified.entries if digest in _digests(e)), None)
        try:
            checked = verify_package(data, trust=trust, policy=_POLICY, at=received)
            status = read_element(checked.root, attachments=False).package
        except (PackageRefused, VbusError) as exc:
            verified.problem(name, exc)
            continue
        if not isinstance(status, StatusPackage):
            verified.problem(name, "is a document, not a status", "là một văn bản, không phải trạng thái")
            continue
        signer = checked.signer_agency
        if signer != status.from_.organ_id:
            verified.problem(
                name,
                f"is from {status.from_.organ_id} but signed by {signer}",
                f"của {status.from_.organ_id} nhưng do {signer} ký",
            )
        for entry in verified.entries:
            if entry.kind == STATUS_RECEIVED and entry.package_digest == digest and entry.sender != signer:
                verified.problem(
                    name,
                    f"log entry {entry.seq} says {entry.sender} sent it, but {signer} signed it",
                    f"mục nhật ký {entry.seq} ghi {entry.sender} gửi, nhưng {signer} ký",
                )
        if verified.entries and digest not in named:
            verified.problem(
                name,
                "is named by no log entry or receipt of this document",
                "không được mục nhật ký hay biên nhận nào của văn bản này nêu",
            )
        written = verified.package.effective_document_id if verified.package is not None else None
        if written is not None and status.document_id != written:
            verified.problem(
                name,
                f"answers document {status.document_id}, not {written}",
                f"trả lời văn bản {status.document_id}, không phải {written}",
            )
        verified.statuses.append((digest, status, checked.signer_agency))
    held = {d for d, _, _ in verified.statuses}
    for entry in verified.entries:
        if entry.kind == "status-received" and entry.package_digest and entry.package_digest not in held:
            verified.problem(
                "statuses/",
                f"the status {entry.body.get('code', '')} {entry.sender} sent (entry {entry.seq}) is in "
                "the log, but its signed package is not in the bundle: it was removed",
                f"trạng thái {entry.body.get('code', '')} do {entry.sender} gửi (mục {entry.seq}) có trong "
                "nhật ký nhưng gói tin đã ký của nó không có trong gói bằng chứng: đã bị xóa",
            )


def _digests(entry: Entry) -> set[str]:
    found = {v for v in entry.body.values() if isinstance(v, str)}
    if entry.package_digest:
        found.add(entry.package_digest)
    return found
