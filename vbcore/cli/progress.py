"""Progress of long work (``vb send --folder``, ``vb parked replay --all``, ``vb parked drop``,
``vb reconcile``; the evidence log's ``vb audit verify`` when it lands), on stderr so that stdout
stays what scripts read.

On a terminal: one line with a bar, rewritten in place (``\\r``), at most ten times a second, ended by
a newline when the work is done. Elsewhere (a log file, a pipe, systemd's journal): plain lines, at
most one every ``PLAIN_EVERY_SECONDS``, and the last one when the work is done, so a log shows the
work advancing without a line per message. The words are in the run's language (``vbcore.lang``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from vbcore.lang import Lang, Text

PLAIN_EVERY_SECONDS = 5.0
TERMINAL_EVERY_SECONDS = 0.1
BAR_WIDTH = 24  # cells of the terminal's bar


def _bar(done: int, total: int) -> str:
    """``[#########---------------]``: ASCII, so that any terminal and any log viewer shows it."""
    filled = min(BAR_WIDTH, BAR_WIDTH * max(0, done) // total)
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"


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
            bar = _bar(done, total) + " " if self.terminal else ""
            self._line = f"{head}: {bar}{done}/{total} ({100 * done // total}%)"
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
