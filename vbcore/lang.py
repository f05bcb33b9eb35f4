"""One language per line for people: Vietnamese by default, English on request.

Every text a clerk or operator reads (a refusal status's Description, ``vb track``, ``vb queues``,
``vb parked``, a connector's reasons) is written whole in ONE language: the short statement and its
precise detail alike. The language is chosen once per process or command: an explicit choice
(``--lang en``), else the ``VBUS_LANG`` environment variable, else Vietnamese.

Code carries both languages side by side (``Text(vi=..., en=...)``, or an error's ``reason_vi`` and
``detail_vi`` next to its English ``str()``) and picks one at the edge, where a person reads it.
Logs for developers stay in English.

Standard library only: any layer may import this module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
LANG_ENV = "VBUS_LANG"


def resolve(choice: str | None = None) -> Lang:
    """The language to write in: ``choice`` if given, else ``$VBUS_LANG``, else Vietnamese.

    Raises ``ValueError`` naming the accepted values for anything else (``"VI"`` and ``"en_US"`` are
    read as ``vi`` and ``en``: the part before ``_`` or ``-``, in any case)."""
    raw = choice if choice else os.environ.get(LANG_ENV, "")
    if not raw:
        return DEFAULT_LANG
    value = raw.strip().lower().replace("-", "_").split("_", 1)[0]
    if value == "vi":
        return "vi"
    if value == "en":
        return "en"
    source = "--lang" if choice else LANG_ENV
    raise ValueError(f"{source}={raw!r}: the language must be one of {', '.join(LANGS)}")


@dataclass(frozen=True)
class Text:
    """One sentence in both languages; ``text(lang)`` picks one."""

    vi: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.vi

    def format(self, **values: object) -> Text:
        """Both templates filled with the same values (``{name}`` placeholders); a value that is itself
        a ``Text`` fills each template in its own language."""
        vi = {name: v.vi if isinstance(v, Text) else v for name, v in values.items()}
        en = {name: v.en if isinstance(v, Text) else v for name, v in values.items()}
        return Text(self.vi.format(**vi), self.en.format(**en))
