"""vbcore.operations: an operator's tools that read several layers at once, above the hub and the
connectors (they may import both; neither imports them).

- ``reconcile``: what every connector's ledger sent and received, what the hub tracked and what every
  recipient acknowledged, compared; each (document, recipient) that stopped on the way is a ``Gap``
  with where it stopped (``Stage``) and what to do (``gap_line``, ``action_line``). ``vb reconcile``
  prints it; the soak in ``bench/`` calls it.
- ``audit``: the hub's evidence log re-checked whole and the tracking store against it, streamed
  (``vb audit verify``).
"""

from __future__ import annotations

from vbcore.operations.gaps import Gap, Stage, action_line, gap_line
from vbcore.operations.ledgers import LedgerFile, find_ledgers
from vbcore.operations.reconcile import Reconciliation, reconcile

__all__ = [
    "Gap",
    "LedgerFile",
    "Reconciliation",
    "Stage",
    "action_line",
    "find_ledgers",
    "gap_line",
    "reconcile",
]
