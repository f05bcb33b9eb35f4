"""A directory file that ``vb agencies sync`` writes version by version, with its history kept beside it.

The file is an ordinary directory file (``vbus-directory/1``, with ``version`` and ``synced_at``), so a
hub reads it like the operator's own (``vb hub run --directory``) and re-reads it when it changes
(``vbcore.directory.watch``). Its history is a folder beside it, ``<file>.history/``, one JSON record
per version: the version, when (UTC), by whom, from where, and every change with the entry before and
after. Nothing in it is ever rewritten; the history holds every version up to the file's.

Crash-safe order of ``apply``: the history record of version N+1 is written (to a temporary file,
flushed, renamed), then the directory file (the same way). A crash between the two leaves a record
above the file's version: it never took effect, is not listed, and the next ``apply`` replaces it.
Two syncs at once are serialised by a lock file beside the directory file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vbcore.directory import Directory
from vbcore.directory.sync import Change, SyncPlan
from vbcore.errors import ConfigurationError
from vbcore.lang import Lang

FORMAT = "vbus-directory/1"


@dataclass(frozen=True)
class Version:
    """One applied sync: its number, when (UTC), by whom, from where, and what changed."""

    number: int
    at: datetime
    by: str
    source: str
    changes: tuple[dict[str, Any], ...]  # ``Change.to_json`` of each change
    skipped: tuple[str, ...] = ()  # the list's entries left out, in English (the record is data)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for change in self.changes:
            counted[change["kind"]] = counted.get(change["kind"], 0) + 1
        return counted

    def to_json(self) -> dict[str, Any]:
        return {"version": self.number, "at": self.at.isoformat(), "by": self.by, "source": self.source,
                "changes": list(self.changes), "skipped": list(self.skipped)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any, where: str) -> Version:
        try:
            return cls(
                int(data["version"]),
                datetime.fromisoformat(data["at"]),
                str(data["by"]),
                str(data["source"]),
                tuple(data["changes"]),
                tuple(data.get("skipped", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{where}: not a directory history record: {exc}") from exc


class SyncedDirectory:
    """The directory file at ``path`` and its history folder ``<path>.history``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.history_dir = self.path.with_name(self.path.name + ".history")

    def load(self) -> tuple[int, Directory]:
        """The file's version and directory; ``(0, empty)`` before the first sync."""
        if not self.path.exists():
            return 0, Directory(source=str(self.path))
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{self.path}: cannot be read as JSON: {exc}") from exc
        version = data.get("version", 0) if isinstance(data, dict) else 0
        if not isinstance(version, int) or version < 0:
            raise ConfigurationError(f"{self.path}: 'version' must be a whole number, not {version!r}")
        return version, Directory.from_data(data, source=str(self.path), base_dir=self.path.parent)

    def apply(self, plan: SyncPlan, *, by: str, source: str, at: datetime) -> Version:
        """Write the plan as the next version, its history record first (see the module docstring)."""
        with self._locked():
            number, _ = self.load()
            version = Version(number + 1, at, by, source, tuple(c.to_json() for c in plan.changes),
                              tuple(text("en") for text in plan.skipped))  # fmt: skip
            self.history_dir.mkdir(parents=True, exist_ok=True)
            _write_atomically(self._record(version.number), version.to_json())
            _write_atomically(self.path, {
                "format": FORMAT, "source": source, "version": version.number, "synced_at": at.isoformat(),
                "agencies": [a.to_dict() for a in plan.agencies],
                "aliases": [a.to_dict() for a in plan.aliases],
            })  # fmt: skip
        return version

    def history(self) -> list[Version]:
        """Every version up to the file's, oldest first."""
        current, _ = self.load()
        found = []
        for number in range(1, current + 1):
            record = self._record(number)
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"{record}: the history record of version {number} is missing "
                                         f"or damaged: {exc}") from exc  # fmt: skip
            found.append(Version.from_json(data, str(record)))
        return found

    def _record(self, number: int) -> Path:
        return self.history_dir / f"{number:06d}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def change_lines(version: Version, lang: Lang) -> list[str]:
    """Each change of a recorded version as ``Change.line`` writes it."""
    return [_change(c).line(lang) for c in version.changes]


def _change(data: dict[str, Any]) -> Change:
    def agency(entry: Any) -> Any:
        return None if entry is None else Directory.from_data([entry]).all()[0]

    return Change(data["kind"], data["code"], agency(data.get("before")), agency(data.get("after")))


def _write_atomically(path: Path, content: Any) -> None:
    """``content`` as JSON at ``path``: a temporary file beside it, flushed to disk, then renamed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
