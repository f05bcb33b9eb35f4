"""The connector guide's example runs: its code blocks are extracted from docs/connectors.md and the
conformance kit runs on the connector it shows (the class below is the guide's own test class)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from vbcore.connector.plugins import check_connector_class

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "connectors.md"
_BLOCK = re.compile(r"<!-- guide-test: (?P<name>[\w-]+) -->\s*```python\n(?P<code>.*?)```", re.DOTALL)


def guide_blocks(text: str) -> dict[str, str]:
    """The ```python blocks marked ``<!-- guide-test: NAME -->``, by name (same names concatenated)."""
    blocks: dict[str, str] = {}
    for m in _BLOCK.finditer(text):
        blocks[m["name"]] = blocks.get(m["name"], "") + m["code"]
    return blocks


def load_guide() -> types.ModuleType:
    """The guide's code as one importable module (dataclasses need a module in ``sys.modules``)."""
    blocks = guide_blocks(GUIDE.read_text(encoding="utf-8"))
    module = types.ModuleType("vbus_guide_example")
    module.__file__ = str(GUIDE)
    sys.modules[module.__name__] = module
    exec(compile(blocks["connector"] + blocks["conformance"], str(GUIDE), "exec"), module.__dict__)
    return module


guide = load_guide()
TestGuideConnector = guide.TestMemoryConnector


def test_the_guide_marks_its_connector_and_its_conformance_test() -> None:
    assert set(guide_blocks(GUIDE.read_text(encoding="utf-8"))) == {"connector", "conformance"}


def test_the_guides_connector_is_short_and_passes_the_load_check() -> None:
    code = guide_blocks(GUIDE.read_text(encoding="utf-8"))["connector"]
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 60, f"the example should stay a screenful ({len(lines)} lines)"
    assert check_connector_class(guide.MemoryConnector, "guide example") is guide.MemoryConnector
