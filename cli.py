"""The ``vb`` command. Thin: it assembles the command groups that live in ``vbcore.cli``.

click is imported only by the CLI layer (this file and ``vbcore/cli/``); no other layer knows it.
"""

from __future__ import annotations

from vbcore.cli import vb


def main() -> None:
    vb(prog_name="vb")


if __name__ == "__main__":
    main()
