"""Status codes of QCVN 102 status packages (domain.md §4) and business document types."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class StatusCode(StrEnum):
    """A status code as it is written in ``StatusCode`` (two digits)."""

    ARRIVED = "01"
    REFUSED = "02"
    REGISTERED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    REVOKE = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REFUSED = "16"

    @property
    def vietnamese(self) -> str:
        return _VI[self]

    @property
    def english(self) -> str:
        return _EN[self]

    @property
    def from_sender(self) -> bool:
        """True for the codes the document's sender emits (13); the rest come from receivers."""
        return self is StatusCode.REVOKE

    @classmethod
    def parse(cls, text: str) -> StatusCode:
        """Accept ``"1"``, ``"01"`` or ``" 01 "``; raise ValueError for anything else."""
        t = text.strip()
        if t.isdigit() and len(t) <= 2:
            return cls(t.zfill(2))
        raise ValueError(f"{text!r} is not a status code")


_VI = {
    StatusCode.ARRIVED: "Đã đến",
    StatusCode.REFUSED: "Từ chối tiếp nhận",
    StatusCode.REGISTERED: "Đã tiếp nhận",
    StatusCode.ASSIGNED: "Phân công",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.DONE: "Hoàn thành",
    StatusCode.REVOKE: "Lấy lại",
    StatusCode.CHANGE_ACCEPTED: "Đồng ý",
    StatusCode.CHANGE_REFUSED: "Từ chối",
}
_EN = {
    StatusCode.ARRIVED: "arrived",
    StatusCode.REFUSED: "refused",
    StatusCode.REGISTERED: "registered",
    StatusCode.ASSIGNED: "assigned",
    StatusCode.PROCESSING: "processing",
    StatusCode.DONE: "done",
    StatusCode.REVOKE: "revoke requested",
    StatusCode.CHANGE_ACCEPTED: "change accepted",
    StatusCode.CHANGE_REFUSED: "change refused",
}


class BusinessDocType(IntEnum):
    """``Bussiness/BussinessDocType``: what a document package does to a document."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class ReceiverType(IntEnum):
    """``ReceiverList/Receiver/ReceiverType`` in an update: a recipient removed or added."""

    REMOVED = 0
    ADDED = 1
