"""Vietnamese text: accent- and case-folding for searching names as people type them, and plain
aligned tables whose columns stay aligned when the text carries combining marks.

``fold("Hà Nội") == fold("ha noi") == "ha noi"``. Unicode NFKD splits a letter from its tone and
vowel marks, which are then dropped; but ``đ``/``Đ`` is a letter of its own (U+0111/U+0110), not
``d`` plus a mark, so NFKD leaves it alone and it is mapped to ``d`` here explicitly. Punctuation
becomes a space and runs of spaces collapse, so "Bà Rịa - Vũng Tàu" folds to "ba ria vung tau" and an
agency code "000.00.00.H53" to "000 00 00 h53" (the query is folded the same way, so codes match too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_D_STROKE = str.maketrans({"đ": "d", "Đ": "d"})
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower case, without diacritics, punctuation as single spaces, stripped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_D_STROKE))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", bare.casefold()).strip()


def width(text: str) -> int:
    """Columns a string takes: combining marks take none (Vietnamese may arrive decomposed)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table; the last column is not padded."""
    widths = [max([width(h), *(width(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (w - width(c)) for c, w in zip(cells[:-1], widths[:-1], strict=True)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
