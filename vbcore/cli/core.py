"""`vb` commands for the core area."""

from __future__ import annotations
