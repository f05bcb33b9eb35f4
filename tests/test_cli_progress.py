"""Progress of long work: one line rewritten in place on a terminal, plain lines now and then elsewhere."""

from __future__ import annotations

import io

from vbcore.cli.progress import PLAIN_EVERY_SECONDS, Progress
from vbcore.lang import Text

LABEL = Text("gửi lại", "replaying")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_plain_lines_come_now_and_then_and_the_last_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(LABEL, "vi", stream=out, clock=clock)
    for done in range(1, 1001):
        progress.update(done, 1000)
        clock.now += PLAIN_EVERY_SECONDS / 100  # 1,000 messages in 10 intervals
    progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "gửi lại: 1/1000 (0%)"
    assert lines[-1] == "gửi lại: 1000/1000 (100%)"
    assert 10 <= len(lines) <= 12
    assert "\r" not in out.getvalue()


def test_the_end_is_not_written_twice() -> None:
    out = io.StringIO()
    progress = Progress(LABEL, "en", stream=out, clock=Clock())
    progress.update(3)
    progress.finish()
    assert out.getvalue() == "replaying: 3\n"


def test_on_a_terminal_one_line_is_rewritten_in_place_and_ended_by_a_newline() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress(LABEL, "en", stream=out, clock=clock)
    progress.update(10, 1000)
    clock.now += 1
    progress.update(999, 1000, phase=Text("đối chiếu sổ ghi", "checking the ledgers"))
    clock.now += 1
    progress.update(1000, 1000)
    progress.finish()
    text = out.getvalue()
    assert text.count("\r") == 3
    assert text.endswith("\rreplaying: 1000/1000 (100%)" + " " * 9 + "\n")  # over the longer line before
    assert "\rchecking the ledgers: 999/1000 (99%)" in text
