"""The directory a running hub uses: the shipped one with operators' files on top, re-read when a file
changes, so a ``vb agencies sync`` (or an edit) takes effect without a restart.

``DirectoryFiles(paths)()`` returns the current ``Directory``: at most every ``interval`` seconds it
looks at each file's identity (inode, size, modification time; the sync replaces the file by renaming,
so a reader never sees half a file) and reads them all again when one changed. A file that cannot be
read or is not a valid directory keeps the previous directory in force and is logged
(``directory.reload_failed``), once per change: a typo must not empty the directory of a running hub.
Only the first load raises (``ConfigurationError``): a hub does not start on a broken directory.

Reading the national registry's size (111,339 agencies) takes about 3 s (``bench/bench_directory_sync.py``):
with ``background=True`` (what ``vb hub run`` uses) the files are read again in a thread of their own
and the directory in force is swapped when the read is done, so the hub never waits for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vbcore.directory import Directory
from vbcore.errors import ConfigurationError
from vbcore.logging import get_logger

log = get_logger("vbus.directory")

RELOAD_INTERVAL = 1.0
"""Seconds between two looks at the files (a ``stat`` each)."""

_Identity = tuple[tuple[int, int, int] | None, ...]


class DirectoryFiles:
    """The shipped directory (or ``base``) with ``paths`` merged on top, in order, kept current."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        base: Directory | None = None,
        interval: float = RELOAD_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        background: bool = False,
    ) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self.base = base if base is not None else Directory.default()
        self.interval, self.clock, self.background = interval, clock, background
        self._identity = self._identities()
        self._directory = self._read()
        self._next = clock() + interval
        self._reader: threading.Thread | None = None
        self._read_done: Directory | None = None  # a background read's result, not yet in force
        self.reloads = 0  # how many times a change was taken (tests, logs)

    def __call__(self) -> Directory:
        """The directory in force now (read again if a file changed since the last look)."""
        if self._read_done is not None:  # set by the reader thread; swapped here, in the caller's
            self._directory, self._read_done = self._read_done, None
        now = self.clock()
        if now < self._next or (self._reader is not None and self._reader.is_alive()):
            return self._directory
        self._next = now + self.interval
        identity = self._identities()
        if identity == self._identity:
            return self._directory
        self._identity = identity
        if self.background:
            self._reader = threading.Thread(target=self._reload, name="directory-reload", daemon=True)
            self._reader.start()
        else:
            self._reload()
            self._directory, self._read_done = self._read_done or self._directory, None
        return self._directory

    def _reload(self) -> None:
        try:
            directory = self._read()
        except ConfigurationError as exc:
            log.error("directory.reload_failed", files=[str(p) for p in self.paths], error=str(exc))
            return
        self.reloads += 1
        log.info("directory.reloaded", files=[str(p) for p in self.paths], agencies=len(directory))
        self._read_done = directory

    def _read(self) -> Directory:
        directory = self.base
        for path in self.paths:
            directory = directory.merged_with(Directory.load(path))
        return directory

    def _identities(self) -> _Identity:
        found: list[tuple[int, int, int] | None] = []
        for path in self.paths:
            try:
                st = os.stat(path)
            except OSError:
                found.append(None)
            else:
                found.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(found)
