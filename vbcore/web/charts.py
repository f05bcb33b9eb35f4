"""The board's charts, drawn on the server as SVG.

Why on the server, not with a JavaScript chart library: nothing to vendor or keep up to date, nothing
fetched at run time, every label escaped in one place, the same picture for a browser, a report or a
test (which checks the bars it drew), and a phone draws a small image instead of running a library.
The SVG scales to its box (``viewBox``) and uses presentation attributes only (the board's Content
Security Policy allows no inline style).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
BAR = "#2f6db5"
ALARM = "#c0392b"
MUTED = "#6b7280"
GRID = "#e5e7eb"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    alarm: bool = False
    note: str = ""  # shown after the value


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label={quoteattr(title)} {FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def empty(title: str, message: str) -> str:
    return _svg(60, title, [f'<text x="8" y="34" fill="{MUTED}">{escape(message)}</text>'])


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    for k in (1, 2, 5, 10):
        if value <= k * step:
            return k * step
    return 10 * step


def hourly(title: str, hours: Sequence[tuple[datetime, int]], *, empty_text: str) -> str:
    """Vertical bars, one per hour, labelled every few hours (``HH`` and the day at midnight)."""
    if not hours or not any(n for _, n in hours):
        return empty(title, empty_text)
    height, left, bottom, top = 220, 36, 40, 12
    top_value = _nice_max(max(n for _, n in hours))
    plot_w, plot_h = WIDTH - left - 8, height - bottom - top
    slot = plot_w / len(hours)
    every = max(1, round(len(hours) / 12))
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 8}" y2="{top + plot_h}" stroke="{GRID}"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="{MUTED}">{top_value:g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="{MUTED}">0</text>',
    ]
    for i, (at, n) in enumerate(hours):
        h = plot_h * n / top_value
        x = left + i * slot
        body.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{at:%d/%m %H}:00 — {n}</title></rect>'
        )
        if i % every == 0:
            label = f"{at:%d/%m}" if at.hour == 0 or i == 0 else f"{at:%H}h"
            body.append(f'<text x="{x + slot / 2:.1f}" y="{height - 22}" text-anchor="middle" '
                        f'fill="{MUTED}">{escape(label)}</text>')  # fmt: skip
    return _svg(height, title, body)


def bars(title: str, items: Sequence[Bar], *, empty_text: str, label_width: int = 220) -> str:
    """Horizontal bars with their label on the left and their value on the right."""
    if not items:
        return empty(title, empty_text)
    row, top = 26, 8
    height = top * 2 + row * len(items)
    top_value = _nice_max(max(b.value for b in items))
    plot_w = WIDTH - label_width - 90
    body = []
    for i, b in enumerate(items):
        y = top + i * row
        w = plot_w * b.value / top_value
        colour = ALARM if b.alarm else BAR
        body.append(
            f'<text x="{label_width - 6}" y="{y + 16}" text-anchor="end">{escape(_cut(b.label))}</text>'
        )
        body.append(
            f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(b.label)}: {b.value:g}</title></rect>'
        )
        text = f"{b.value:g}{' ' + b.note if b.note else ''}"
        body.append(f'<text x="{label_width + w + 6:.1f}" y="{y + 16}" fill="{MUTED}">{escape(text)}</text>')
    return _svg(height, title, body)


@dataclass(frozen=True)
class Spread:
    """One recipient's times to 01, in minutes: the quartiles and the 90th percentile."""

    label: str
    low: float  # the fastest
    q1: float
    median: float
    q3: float
    p90: float
    count: int
    waiting: int


def spreads(title: str, items: Sequence[Spread], *, empty_text: str, unit: str, waiting: str) -> str:
    """A box per recipient (quartiles, median line, whiskers from the fastest to the 90th percentile),
    with how many answered and how many still wait."""
    if not items:
        return empty(title, empty_text)
    label_width, row, top, right = 220, 30, 24, 120
    height = top + row * len(items) + 8
    top_value = _nice_max(max(s.p90 for s in items))
    plot_w = WIDTH - label_width - right

    def x(v: float) -> float:
        return label_width + plot_w * v / top_value

    body = [
        f'<text x="{label_width}" y="14" fill="{MUTED}">0</text>',
        f'<text x="{label_width + plot_w}" y="14" text-anchor="end" fill="{MUTED}">'
        f"{top_value:g} {escape(unit)}</text>",
    ]
    for i, s in enumerate(items):
        y = top + i * row
        mid = y + row / 2
        body += [
            f'<text x="{label_width - 6}" y="{mid + 4:.1f}" text-anchor="end">{escape(_cut(s.label))}</text>',
            f'<line x1="{x(s.low):.1f}" y1="{mid:.1f}" x2="{x(s.p90):.1f}" y2="{mid:.1f}" stroke="{MUTED}"/>',
            f'<rect class="box" x="{x(s.q1):.1f}" y="{y + 6}" width="{max(x(s.q3) - x(s.q1), 2):.1f}" '
            f'height="{row - 12}" fill="#cfe0f5" stroke="{BAR}"><title>{escape(s.label)}: '
            f"{s.median:.0f} {escape(unit)} ({s.count})</title></rect>",
            f'<line x1="{x(s.median):.1f}" y1="{y + 6}" x2="{x(s.median):.1f}" y2="{y + row - 6}" '
            f'stroke="{BAR}" stroke-width="3"/>',
            f'<text x="{WIDTH - right + 8}" y="{mid + 4:.1f}" fill="{MUTED}">{s.median:.0f} {escape(unit)}'
            + (f" · {s.waiting} {escape(waiting)}" if s.waiting else "")
            + "</text>",
        ]
    return _svg(height, title, body)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values (linear between the closest ranks)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def _cut(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
