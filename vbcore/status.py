"""Status codes of QCVN 102 status packages (docs/domain.md §4) and business document types.

Names as a clerk knows them (QCVN 102:2016 and Nghị định 30/2020/NĐ-CP): 13 is "Thu hồi" (the sender
takes the document back), and 15/16 answer a revoke or an update, so 16 "Từ chối thu hồi/cập nhật"
is never confused with 02 "Từ chối tiếp nhận" (a refused document).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from vbcore.lang import Lang, Text


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
        return _NAMES[self].vi

    @property
    def english(self) -> str:
        return _NAMES[self].en

    def name_in(self, lang: Lang) -> str:
        """The status's name in ``lang`` (``Đã đến`` / ``Arrived``)."""
        return _NAMES[self](lang)

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


_NAMES = {
    StatusCode.ARRIVED: Text("Đã đến", "Arrived"),
    StatusCode.REFUSED: Text("Từ chối tiếp nhận", "Refused"),
    StatusCode.REGISTERED: Text("Đã tiếp nhận", "Registered"),
    StatusCode.ASSIGNED: Text("Phân công", "Assigned"),
    StatusCode.PROCESSING: Text("Đang xử lý", "Processing"),
    StatusCode.DONE: Text("Hoàn thành", "Completed"),
    StatusCode.REVOKE: Text("Thu hồi", "Revocation requested"),
    StatusCode.CHANGE_ACCEPTED: Text("Đồng ý thu hồi/cập nhật", "Revocation or update accepted"),
    StatusCode.CHANGE_REFUSED: Text("Từ chối thu hồi/cập nhật", "Revocation or update refused"),
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
