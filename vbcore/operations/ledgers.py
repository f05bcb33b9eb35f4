"""The connectors' ledgers ``vb reconcile`` reads: found in the paths an operator gives, each with the
agency whose connector wrote it.

Connectors run on the agencies' machines; the operator collects a copy of each ledger (a consistent
copy is what ``vb connector ledger-copy`` writes, safe while the connector runs) into one folder. A
ledger says whose it is (``Ledger.agency``); one written before ledgers did is named after its agency
(``CODE.sqlite3``, or a folder ``CODE/``). A file that is no ledger (the hub's own store beside them)
is skipped inside a folder and refused when named alone: opening it as a ledger would add tables to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vbcore.connector.ledger import Ledger
from vbcore.errors import LedgerOwnerUnknown, NotALedger
from vbcore.identifiers import is_test_tenant, is_valid_code

LEDGER_SUFFIXES = (".sqlite3", ".sqlite", ".db")
_LEDGER_TABLES = {"sent", "delivered", "done"}


@dataclass(frozen=True)
class LedgerFile:
    path: Path
    agency: str


def find_ledgers(paths: Iterable[Path | str]) -> list[LedgerFile]:
    """Every ledger among ``paths`` (files, or folders searched through for ``*.sqlite3``, ``*.sqlite``
    and ``*.db``), in path order. Raises ``NotALedger`` for a named file that is none, and
    ``LedgerOwnerUnknown`` for a ledger that cannot say whose it is."""
    found: list[LedgerFile] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.suffix in LEDGER_SUFFIXES and p.is_file())
            found += [LedgerFile(p, owner_of(p)) for p in candidates if is_ledger(p)]
        elif not path.is_file():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        elif is_ledger(path):
            found.append(LedgerFile(path, owner_of(path)))
        else:
            raise NotALedger(str(path))
    return found


def is_ledger(path: Path) -> bool:
    """Whether ``path`` is a SQLite file with a ledger's tables (read only: nothing is written)."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return False
    return names >= _LEDGER_TABLES


def owner_of(path: Path) -> str:
    ledger = Ledger(path)
    try:
        agency = ledger.agency
    finally:
        ledger.close()
    if agency:
        return agency
    for name in (path.stem, path.parent.name):
        if is_valid_code(name) or is_test_tenant(name):
            return name
    raise LedgerOwnerUnknown(str(path))
