"""``vb send --wait``: the hub refused the package, or no answer came in time.
"""

from __future__ import annotations

from vbcore.errors.base import VbusError


class SendRefused(VbusError):
    """The hub or a recipient refused what ``vb send`` sent (a 02 came back)."""

    reason = "send-refused"
    reason_vi = "Văn bản bị từ chối"
    reason_en = "The document was refused"


class VerdictTimedOut(VbusError):
    """``vb send --wait`` saw no verdict in time: neither the hub's 02 nor every recipient's status."""

    reason = "verdict-timed-out"
    reason_vi = "Chưa nhận được kết quả"
    reason_en = "No verdict yet"

    def __init__(self, seconds: float, silent: list[str]) -> None:
        self.seconds = seconds
        self.silent = silent
        who = ", ".join(silent)
        super().__init__(f"after {seconds:g} s, no answer from {who}",
                         vi=f"sau {seconds:g} giây, chưa có trả lời từ {who}")
