"""Fixtures of the connector runtime's tests on the folder connector: the PKI (``identities``), the
folder DMS (``dms``) and the ``World`` that runs the connector over it. A module imports them by their
own names (``the_world``...): the fixtures' names are given apart, so they are that module's only (a
``pytest_plugins`` would put this ``world`` over ``test_hub_support``'s everywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_conformance_folder import FolderDms

from connectors.folder import FolderConnector
from vbcore.testing.conformance_world import Identities, World


@pytest.fixture(scope="module", name="identities")
def the_identities(tmp_path_factory: pytest.TempPathFactory) -> Identities:
    return Identities.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(name="dms")
def the_dms(tmp_path: Path) -> FolderDms:
    return FolderDms(tmp_path / "dms")


@pytest.fixture(name="world")
def the_world(tmp_path: Path, dms: FolderDms, identities: Identities) -> Iterator[World]:
    config = {"root": str(dms.root), "settle_seconds": 0}
    w = World(tmp_path / "world", lambda ctx: FolderConnector.from_config(config, ctx), identities=identities)
    yield w
    w.close()
