"""Evidence: a signed statement, a checkpoint, a proof or the evidence log that does not verify.

None of these is a refusal of a package: they say that a piece of proof (or the hub's log) is not
what it claims to be, precisely enough to name what was changed.
"""

from __future__ import annotations

from vbcore.errors.base import VbusError


class EvidenceInvalid(VbusError):
    """A statement, checkpoint, proof or log entry that does not verify; ``str()`` says what and where."""

    reason = "evidence-invalid"
    reason_vi = "Bằng chứng không hợp lệ"
    reason_en = "The evidence does not verify"
