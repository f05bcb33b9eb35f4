"""Where the interoperability corpus is: real producers' packages, kept outside the repository.

One setting, ``VBUS_INTEROP_DIR`` (a relative path is taken from the repository's root); by default
``../shared/interop/edxml`` beside the repository. Where the folder is absent, the tests that read it
skip with this message: the corpus is not part of the repository, and a clone with nothing beside it
must pass. Where ``VBUS_INTEROP_DIR`` is set (``.ci/run`` sets it when the corpus is beside the
checkout), a missing folder fails them instead, like a missing server in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

INTEROP_ENV = "VBUS_INTEROP_DIR"
REPOSITORY = Path(__file__).resolve().parent.parent
INTEROP_DIR = REPOSITORY / os.environ.get(INTEROP_ENV, "../shared/interop/edxml")
INTEROP_REQUIRED = bool(os.environ.get(INTEROP_ENV))
MISSING = (
    f"the interoperability corpus is not at {INTEROP_DIR}: set {INTEROP_ENV} to the folder of real "
    "producers' edXML packages (by default ../shared/interop/edxml beside the repository)"
)


def interop_files() -> list[Path]:
    """The corpus's files (none where it is absent), for parametrising at collection time."""
    return sorted(INTEROP_DIR.iterdir()) if INTEROP_DIR.is_dir() else []
