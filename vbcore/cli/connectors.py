"""`vb` commands for the connectors area."""

from __future__ import annotations
