"""`vb` commands for the hub area."""

from __future__ import annotations
