"""Support for the hub tests (no tests here): a hub and its agencies in one process (in-memory broker,
SQLite store, dev PKI)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vbcore.hub.config import HubConfig
from vbcore.model import Business, Edoc, Organization, ResponseFor, StatusPackage
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey
from vbcore.security.trust import TrustStore
from vbcore.status import StatusCode
from vbcore.store import open_store
from vbcore.testing.devworld import HUB_ID, QUANG_NAM_CLOSED, SIX_AGENCIES, DevKeys, MemoryWorld, letter

AGENCIES = SIX_AGENCIES
G22, G09, G12, H24, H15, H56 = AGENCIES
CLOSED_QUANG_NAM = QUANG_NAM_CLOSED
__all__ = ["CLOSED_QUANG_NAM", "G09", "G12", "G22", "H15", "H24", "H56", "HUB_ID", "Recorded", "World"]

World = MemoryWorld


class Recorded:
    """A logger that keeps what the hub logged (the ``vbcore.logging.Logger`` protocol)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, object]]] = []

    def _record(self, level: str, event: str, **fields: object) -> None:
        self.events.append((level, event, fields))

    def debug(self, event: str, **fields: object) -> None:
        self._record("debug", event, **fields)

    def info(self, event: str, **fields: object) -> None:
        self._record("info", event, **fields)

    def warning(self, event: str, **fields: object) -> None:
        self._record("warning", event, **fields)

    def error(self, event: str, **fields: object) -> None:
        self._record("error", event, **fields)

    def exception(self, event: str, **fields: object) -> None:
        self._record("error", event, **fields)

    def named(self, event: str) -> list[dict[str, object]]:
        return [fields for _, name, fields in self.events if name == event]


def make_pki(directory: Path) -> DevPki:
    return init_dev_pki(directory, [(c, c) for c in AGENCIES] + [(HUB_ID, "vbus hub")])


class FixedClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


def edoc(
    sender: str,
    to: list[str],
    number: str = "101",
    *,
    subject: str = "V/v triển khai liên thông văn bản điện tử",
    business: Business | None = None,
) -> Edoc:
    return letter(sender, to, number, subject=subject, business=business)


def status(sender: str, about: Edoc, code: StatusCode, description: str = "") -> StatusPackage:
    return StatusPackage(
        from_=Organization(sender, organ_name=f"Cơ quan {sender}"),
        response_for=ResponseFor(
            organ_id=about.from_.organ_id, code=str(about.code), document_id=about.effective_document_id
        ),
        status_code=code,
        description=description or code.vietnamese,
        timestamp=datetime(2026, 11, 24, 9, 0, 0) + timedelta(minutes=int(code.value)),
    )


def open_world(tmp: Path, pki: DevPki, keys: dict[str, SigningKey], store_url: str | None = None) -> World:
    store = open_store(store_url or f"sqlite:///{tmp / 'hub.db'}")
    dev = DevKeys(pki, keys, TrustStore.from_pem_files([pki.ca_cert_path]))
    world = World(store, dev, config=HubConfig(hub_id=HUB_ID, clock=FixedClock()))
    world.start_hub()
    return world


# Fixtures for the modules that test one hub and its agencies (they import them by name).
@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def keys(pki: DevPki) -> dict[str, SigningKey]:
    return DevKeys.load(pki).keys


@pytest.fixture
def world(tmp_path: Path, pki: DevPki, keys: dict[str, SigningKey]) -> Iterator[World]:
    w = open_world(tmp_path, pki, keys)
    yield w
    w.store.close()
