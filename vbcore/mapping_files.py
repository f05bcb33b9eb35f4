"""Reading JSON and YAML mapping files (configuration, metadata): the only module importing PyYAML.

YAML is read with ``yaml.safe_load`` (no arbitrary objects). JSON is tried by extension first, as
it is the stricter format and its errors point at line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from vbcore.errors import ConfigurationError


def load_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping in a ``.json``, ``.yaml`` or ``.yml`` file; ``ConfigurationError`` says what is wrong."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigurationError(f"{p}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{p}: not UTF-8 text") from exc
    return parse_mapping(text, p.suffix.lower(), str(p))


def parse_mapping(text: str, suffix: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno}, column {exc.colno}"
        raise ConfigurationError(f"{where}: invalid JSON at {at}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{where}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        found = type(data).__name__
        raise ConfigurationError(f"{where}: expected a mapping of keys to values, found {found}")
    return data
