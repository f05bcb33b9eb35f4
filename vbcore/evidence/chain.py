"""The evidence chain: a proof that one entry belongs to what a checkpoint signed, and the walk over
the whole log that names the first entry altered, removed, inserted or reordered.

A ``Proof`` is an entry, the link before it, the content hashes of the later entries up to a
checkpoint, and the checkpoint: recomputing the links from ``prev_hash`` must reach the signed
``head_hash``. Other documents' entries appear only as content hashes, and a proof holds at most one
checkpoint interval of them.

``ChainWalk`` checks the log as stored, one row at a time in ``seq`` order, in constant memory:
the row's content against its stored content hash, its link against the previous one, ``seq``
without gaps, ``at_utc`` strictly increasing and agreeing with ``at_local``, and at every checkpoint
the head against the signed one. The first thing wrong becomes a ``Finding`` that says which entry
and what happened to it, as precisely as the row allows:

- *altered*: the row's content no longer gives its stored content hash;
- *removed*: a ``seq`` is missing, or a row carries the content hash it had at the next ``seq``
  (later rows renumbered), or a checkpoint signed more entries than the log holds;
- *inserted*: a row carries the content hash it had at the previous ``seq``, or a row's link
  follows the row before its predecessor;
- *reordered*: ``at_utc`` does not increase, or a link does not follow the previous row;
- *rewritten*: every hash is consistent but the head differs from the signed checkpoint: the
  entries after the previous checkpoint were rewritten with their hashes recomputed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vbcore.errors import EvidenceInvalid
from vbcore.evidence.checkpoint import Checkpoint, is_hash, verify_checkpoint
from vbcore.evidence.entry import GENESIS_HASH, KINDS, Entry, content_hash, link_hash, parse_utc, times_agree
from vbcore.security.trust import TrustStore

ALTERED = "altered"
REMOVED = "removed"
INSERTED = "inserted"
REORDERED = "reordered"
REWRITTEN = "rewritten"
CHECKPOINT_INVALID = "checkpoint-invalid"
CHECKPOINT_MISSING = "checkpoint-missing"


@dataclass(frozen=True)
class Proof:
    """``entry`` is in the chain ``checkpoint`` signed: ``prev_hash`` is the link before it, ``links``
    the content hashes of the entries after it up to and including ``checkpoint.seq``."""

    entry: Entry
    prev_hash: str
    links: tuple[str, ...]
    checkpoint: Checkpoint

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry.as_dict(), "prev_hash": self.prev_hash, "links": list(self.links),
                "checkpoint": self.checkpoint.as_dict()}

    @classmethod
    def from_dict(cls, data: object) -> Proof:
        if not isinstance(data, dict) or set(data) != {"entry", "prev_hash", "links", "checkpoint"}:
            raise EvidenceInvalid("a proof must have exactly entry, prev_hash, links and checkpoint",
                                  vi="một chứng minh phải có đúng entry, prev_hash, links và checkpoint")
        links = data["links"]
        if not isinstance(links, list):
            raise EvidenceInvalid("a proof's links are not a list",
                                  vi="links của chứng minh không phải danh sách")
        prev = data["prev_hash"]
        return cls(Entry.from_dict(data["entry"]), prev if isinstance(prev, str) else "", tuple(links),
                   Checkpoint.from_dict(data["checkpoint"]))


def verify_proof(proof: Proof, trust: TrustStore | None = None, hub_id: str | None = None) -> None:
    """``EvidenceInvalid`` with the precise reason unless ``proof.entry`` is in the chain its
    checkpoint signed. With ``trust``, the checkpoint's signature is checked too (without it, only
    the links: the caller checks the checkpoint itself)."""
    entry, checkpoint = proof.entry, proof.checkpoint
    if trust is not None:
        verify_checkpoint(checkpoint, trust, hub_id=hub_id)
    if not is_hash(proof.prev_hash) or not all(is_hash(link) for link in proof.links):
        raise EvidenceInvalid(f"the proof of entry {entry.seq} holds a link that is not a hex SHA-256",
                              vi=f"chứng minh của mục {entry.seq} có mắt xích không phải SHA-256 dạng hex")
    if entry.seq == 1 and proof.prev_hash != GENESIS_HASH:
        raise EvidenceInvalid("entry 1 must follow the genesis link (64 zeros)",
                              vi="mục 1 phải nối sau mắt xích khởi đầu (64 số 0)")
    if entry.seq + len(proof.links) != checkpoint.seq:
        raise EvidenceInvalid(
            f"the proof of entry {entry.seq} holds {len(proof.links)} later links, but its checkpoint "
            f"signs entry {checkpoint.seq}: links were removed or added",
            vi=f"chứng minh của mục {entry.seq} có {len(proof.links)} mắt xích sau nó nhưng điểm chốt "
            f"ký đến mục {checkpoint.seq}: mắt xích đã bị xóa hoặc thêm",
        )
    if not times_agree(entry):
        raise EvidenceInvalid(
            f"entry {entry.seq}: at_local {entry.at_local} is not the instant at_utc {entry.at_utc}",
            vi=f"mục {entry.seq}: giờ Việt Nam {entry.at_local} không trùng thời điểm UTC {entry.at_utc}",
        )
    if parse_utc(entry.at_utc) > parse_utc(checkpoint.at_utc):
        raise EvidenceInvalid(
            f"entry {entry.seq} is dated {entry.at_utc}, after its checkpoint ({checkpoint.at_utc}): "
            "its time was moved",
            vi=f"mục {entry.seq} ghi thời điểm {entry.at_utc}, sau điểm chốt ({checkpoint.at_utc}): "
            "thời điểm đã bị sửa",
        )
    head = link_hash(proof.prev_hash, content_hash(entry))
    for link in proof.links:
        head = link_hash(head, link)
    if head != checkpoint.head_hash:
        raise EvidenceInvalid(
            f"entry {entry.seq} ({entry.kind}, {entry.at_utc}) is not the one the hub's checkpoint at "
            f"entry {checkpoint.seq} signed: the entry or a link after it was changed",
            vi=f"mục {entry.seq} ({entry.kind}, {entry.at_utc}) không phải mục mà điểm chốt tại mục "
            f"{checkpoint.seq} của trung tâm đã ký: mục này hoặc một mắt xích sau nó đã bị sửa",
        )


@dataclass(frozen=True)
class Finding:
    """What is wrong, at which entry: ``what`` is one of the constants above."""

    seq: int
    what: str
    en: str
    vi: str

    def describe(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


_WHAT_VI = {ALTERED: "bị sửa", REMOVED: "bị xóa", INSERTED: "bị chèn thêm", REORDERED: "bị đổi thứ tự",
            REWRITTEN: "bị viết lại", CHECKPOINT_INVALID: "điểm chốt không hợp lệ",
            CHECKPOINT_MISSING: "không có điểm chốt"}


def _finding(seq: int, what: str, en: str, vi: str) -> Finding:
    return Finding(seq, what, f"entry {seq} {what}: {en}", f"mục {seq} {_WHAT_VI[what]}: {vi}")


class ChainWalk:
    """Feed the stored rows in ``seq`` order (``feed``), then ``finish``; the first ``Finding`` stops
    the walk (what follows a break cannot be judged). Memory is constant: the previous two links,
    the previous instant and the next checkpoint."""

    def __init__(self, checkpoints: Iterator[Checkpoint], trust: TrustStore | None = None,
                 hub_id: str | None = None) -> None:
        """``hub_id``: the hub whose certificate must have signed every checkpoint (without it, any
        hub's: each checkpoint's signer must bind the hub id it states)."""
        self._checkpoints = checkpoints
        self._trust = trust
        self._hub_id = hub_id
        self._next_checkpoint: Checkpoint | None = None
        self._last_checked = 0
        self.expected = 1
        self.head = GENESIS_HASH
        self._before_head = GENESIS_HASH
        self._previous_at: str | None = None
        self.finding: Finding | None = None
        self._pending: Finding | None = None
        self.checkpoints_checked = 0
        self.hubs: set[str] = set()  # the hubs whose certificates signed the checkpoints checked
        self._advance_checkpoint()

    def _advance_checkpoint(self) -> None:
        """The next checkpoint, its ``seq`` readable; one that cannot be read is a finding."""
        try:
            self._next_checkpoint = next(self._checkpoints, None)
            if self._next_checkpoint is not None:
                _ = self._next_checkpoint.seq
        except EvidenceInvalid as exc:
            self._next_checkpoint = None
            after = self.expected - 1
            self.finding = self.finding or Finding(
                self.expected, CHECKPOINT_INVALID,
                f"from entry {after + 1} on: the next checkpoint cannot be read: {exc}",
                f"từ mục {after + 1} trở đi: điểm chốt tiếp theo không đọc được: {exc.detail_vi or exc}")

    def feed(self, entry: Entry, stored_content: str, stored_link: str) -> Finding | None:
        """Check one row; the first finding (kept in ``self.finding``), or None.

        Two findings wait for the next row, which may name the entry more precisely: a row carrying
        the next entry's content (a removal, or a swap if the next row carries this one's), and a
        checkpoint whose head differs (a rewrite, or an insertion or removal the next row shows)."""
        if self.finding is None and self._pending is not None:
            pending, self._pending = self._pending, None
            if pending.what == REMOVED:
                swapped = content_hash(dataclasses.replace(entry, seq=entry.seq - 1)) == stored_content
                e = pending.seq
                self.finding = pending if not swapped else _finding(
                    e, REORDERED, f"entries {e} and {e + 1} swapped places (renumbered)",
                    f"mục {e} và mục {e + 1} đã bị đổi chỗ cho nhau (đánh số lại)")
            else:
                sharper = self._check(entry, stored_content, stored_link)
                if self.finding is not None:
                    return self.finding
                precise = sharper is not None and sharper.what in (INSERTED, REMOVED, REORDERED)
                self.finding = sharper if precise and sharper and sharper.seq < entry.seq else pending
            return self.finding
        if self.finding is None:
            e = entry.seq
            found = self._check(entry, stored_content, stored_link)
            if self.finding is not None:  # a checkpoint that cannot be read, met on the way
                return self.finding
            if found is not None and (found.what == REWRITTEN or (found.what, found.seq) == (REMOVED, e)):
                self._pending = found
                return None
            self.finding = found
        return self.finding

    def _check(self, entry: Entry, stored_content: str, stored_link: str) -> Finding | None:
        e = self.expected
        if entry.seq > e:
            last = f"{e}" if entry.seq == e + 1 else f"{e} to {entry.seq - 1}"
            return _finding(e, REMOVED, f"the log jumps from entry {e - 1} to {entry.seq}: {last} missing",
                            f"nhật ký nhảy từ mục {e - 1} đến mục {entry.seq}: thiếu mục {last}")
        if entry.seq < e:
            return _finding(entry.seq, INSERTED, f"a second entry {entry.seq} follows entry {e - 1}",
                            f"một mục {entry.seq} thứ hai đứng sau mục {e - 1}")
        computed = content_hash(entry)
        if computed != stored_content:
            return self._content_changed(entry, stored_content)
        if entry.kind not in KINDS or not times_agree(entry):
            return _finding(e, ALTERED, "its kind or its two times were changed with its hashes recomputed",
                            "loại hoặc hai thời điểm của nó đã bị sửa và băm lại")
        # both are format_utc's fixed-width text (``times_agree`` parsed it): text order is time order
        if self._previous_at is not None and entry.at_utc <= self._previous_at:
            return _finding(e, REORDERED,
                            f"dated {entry.at_utc}, not after entry {e - 1} ({self._previous_at})",
                            f"ghi thời điểm {entry.at_utc}, không sau mục {e - 1} ({self._previous_at})")
        link = link_hash(self.head, computed)
        if link != stored_link:
            if e > 1 and stored_link == link_hash(self._before_head, computed):
                return _finding(e - 1, INSERTED, f"entry {e} was chained to entry {e - 2}, not to it",
                                f"mục {e} được nối vào mục {e - 2}, không phải vào nó")
            return _finding(e, REORDERED, f"its link does not follow entry {e - 1}: an entry before it was "
                            "removed, inserted or moved",
                            f"mắt xích của nó không nối sau mục {e - 1}: một mục trước nó đã bị xóa, "
                            "chèn hoặc chuyển chỗ")
        self._before_head, self.head = self.head, link
        self._previous_at = entry.at_utc
        self.expected = e + 1
        return self._at_checkpoints(entry)

    def _content_changed(self, entry: Entry, stored_content: str) -> Finding:
        e = entry.seq
        if content_hash(dataclasses.replace(entry, seq=e + 1)) == stored_content:
            return _finding(e, REMOVED, f"the row now numbered {e} was entry {e + 1}: entry {e} was removed "
                            "and the later ones renumbered",
                            f"dòng đang mang số {e} vốn là mục {e + 1}: mục {e} đã bị xóa và các mục sau bị "
                            "đánh số lại")
        if e > 1 and content_hash(dataclasses.replace(entry, seq=e - 1)) == stored_content:
            return _finding(e - 1, INSERTED, f"the row now numbered {e} was entry {e - 1}: a row was "
                            f"inserted at {e - 1} and the later ones renumbered",
                            f"dòng đang mang số {e} vốn là mục {e - 1}: một dòng đã được chèn vào vị trí "
                            f"{e - 1} và các mục sau bị đánh số lại")
        return _finding(e, ALTERED, f"its content ({entry.kind}, document {entry.document_id}) no "
                        "longer gives its content hash",
                        f"nội dung ({entry.kind}, văn bản {entry.document_id}) không còn khớp mã băm của nó")

    def _at_checkpoints(self, entry: Entry) -> Finding | None:
        while self._next_checkpoint is not None and self._next_checkpoint.seq <= entry.seq:
            checkpoint = self._next_checkpoint
            self._advance_checkpoint()
            if self._trust is not None:
                try:
                    verify_checkpoint(checkpoint, self._trust, hub_id=self._hub_id)
                except EvidenceInvalid as exc:
                    return Finding(checkpoint.seq, CHECKPOINT_INVALID, str(exc), exc.detail_vi or str(exc))
            if checkpoint.seq < entry.seq:  # an older checkpoint met late: the walk passed it
                continue
            if checkpoint.head_hash != self.head:
                since = self._last_checked + 1
                return _finding(since, REWRITTEN,
                                f"the entries {since} to {entry.seq} do not give the head the hub "
                                f"signed at entry {entry.seq} ({checkpoint.at_utc}): they were rewritten, "
                                "hashes recomputed",
                                f"các mục {since} đến {entry.seq} không cho ra đầu chuỗi mà trung tâm đã ký "
                                f"tại mục {entry.seq} ({checkpoint.at_utc}): chúng đã bị viết lại và băm lại")
            if parse_utc(checkpoint.at_utc) < parse_utc(entry.at_utc):
                return _finding(entry.seq, REORDERED,
                                f"dated {entry.at_utc}, after the checkpoint that signed it "
                                f"({checkpoint.at_utc})",
                                f"ghi thời điểm {entry.at_utc}, sau điểm chốt đã ký nó ({checkpoint.at_utc})")
            self._last_checked = entry.seq
            self.checkpoints_checked += 1
            self.hubs.add(checkpoint.hub_id)
        return None

    def finish(self, head_seq: int | None = None, head_hash: str | None = None) -> Finding | None:
        """After the last row: a checkpoint beyond the log's end, or a chain head row that names a
        later entry, means entries were removed at the end."""
        if self._pending is not None:
            self.finding, self._pending = self._pending, None
        if self.finding is not None:
            return self.finding
        last = self.expected - 1
        if self._next_checkpoint is not None and self._next_checkpoint.seq > last:
            signed = self._next_checkpoint.seq
            self.finding = _finding(
                last + 1, REMOVED,
                f"the hub signed a checkpoint at entry {signed} but the log ends at entry {last}",
                f"trung tâm đã ký điểm chốt tại mục {signed} nhưng nhật ký dừng ở mục {last}")
        elif head_seq is not None and head_seq > last:
            self.finding = _finding(last + 1, REMOVED,
                                    f"the chain head names entry {head_seq} but the log ends at entry {last}",
                                    f"đầu chuỗi ghi mục {head_seq} nhưng nhật ký dừng ở mục {last}")
        elif head_seq is not None and head_seq < last:
            self.finding = _finding(head_seq + 1, INSERTED,
                                    f"the log goes on to entry {last} past the chain head (entry {head_seq})",
                                    f"nhật ký còn đến mục {last} sau đầu chuỗi (mục {head_seq})")
        elif head_hash is not None and head_hash != self.head:
            self.finding = _finding(last, ALTERED, "the chain head's hash is not the last entry's link",
                                    "mã băm đầu chuỗi không khớp mắt xích của mục cuối")
        return self.finding

    @property
    def covered(self) -> int:
        """The last entry a checkpoint vouched for (entries after it rest on the hashes alone)."""
        return self._last_checked
