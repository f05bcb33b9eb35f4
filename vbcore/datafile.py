"""Operators' data files (directory entries, package metadata): JSON or YAML, read the same way.

The only module that imports PyYAML. YAML is read with ``safe_load`` (no Python object tags), and the
suffix decides the format (``.json``; ``.yaml``/``.yml``); any other suffix is tried as JSON, then YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from vbcore.errors import ConfigurationError


def read_data_file(path: str | Path) -> Any:
    """The parsed content of a JSON or YAML file; ``ConfigurationError`` names the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationError(f"{p}: cannot read it: {e}") from e
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _json(p, text)
    if suffix in (".yaml", ".yml"):
        return _yaml(p, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return _yaml(p, text)


def _json(p: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigurationError(f"{p}: not valid JSON: {e.msg} (line {e.lineno})") from e


def _yaml(p: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigurationError(f"{p}: not valid YAML: {getattr(e, 'problem', e)}{where}") from e
