"""The ``vb`` command line (click). One module per area; each registers its commands on ``vb``."""

from __future__ import annotations

import click

from vbcore import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vb")
def vb() -> None:
    """vbus: carry signed edXML documents (QCVN 102:2016) and their status receipts between agencies."""


# Each area's module adds its commands to ``vb`` when imported.
from vbcore.cli import connectors as _connectors  # noqa: E402,F401
from vbcore.cli import core as _core  # noqa: E402,F401
from vbcore.cli import hub as _hub  # noqa: E402,F401
from vbcore.cli import installation as _installation  # noqa: E402,F401
from vbcore.cli import track as _track  # noqa: E402,F401
