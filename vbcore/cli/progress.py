"""Progress of long work (``vb parked replay --all``, ``vb parked drop``, ``vb reconcile``), on stderr
so that stdout stays what scripts read.

On a terminal: one line rewritten in place (``\\r``), at most ten times a second, ended by a newline when
the work is done. Elsewhere (a log file, a pipe, systemd's journal): plain lines, at most one every
``PLAIN_EVERY_SECONDS``, and the last one when the work is done, so a log shows the work advancing
without a line per message. The words are in the run's language (``vbcore.lang``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from vbcore.lang import Lang, Text

PLAIN_EVERY_SECONDS = 5.0
TERMINAL_EVERY_SECONDS = 0.1


class Progress:
    """``update(done, total)`` as the work advances (``phase``: a step of it), ``finish()`` at the end."""

    def __init__(
        self,
        label: Text,
        lang: Lang,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.lang = label, lang
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty()
        self.clock = clock
        self._last_shown: float | None = None
        self._line = ""
        self._shown = ""
        self._width = 0

    def update(self, done: int, total: int | None = None, phase: Text | None = None) -> None:
        head = (phase or self.label)(self.lang)
        if total:
            self._line = f"{head}: {done}/{total} ({100 * done // total}%)"
        else:
            self._line = f"{head}: {done}"
        every = TERMINAL_EVERY_SECONDS if self.terminal else PLAIN_EVERY_SECONDS
        now = self.clock()
        if self._last_shown is None or now - self._last_shown >= every:
            self._show()
            self._last_shown = now

    def _show(self) -> None:
        if self.terminal:
            padding = " " * max(0, self._width - len(self._line))
            self.stream.write(f"\r{self._line}{padding}")
            self._width = len(self._line)
        else:
            self.stream.write(self._line + "\n")
        self.stream.flush()
        self._shown = self._line

    def finish(self) -> None:
        """Show where the work ended (unless that is shown already), and end the terminal's line."""
        if self._line != self._shown:
            self._show()
        if self.terminal and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._width = 0
