"""The gateway plugin contract: one bridge between a vbus hub and another axis, for ALL the agencies on
the other side (a province's platform in front of the national axis).

A connector (``vbcore.connector``) joins ONE agency's DMS to vbus. A gateway joins a whole axis: the
hub's directory says which agencies are reached via it (``via: <gateway>``), the hub sends everything
addressed to them to the gateway's one inbox, and lets the gateway's one broker user relay packages
from any of them (``vbcore.hub.relay``), their own signatures judged. The gateway relays bytes and
answers nothing itself: the receipts (01..06, 15/16) come from the agencies on the other side, through
it, except a 02 when the other axis refuses a package for good.

A plugin implements the other axis's side only; the runtime (``vbcore.connector.gateway_runtime``)
owns the policy: what to post where, exactly-once bookkeeping, retries, the 02s. What it calls:

==============================  =================================================================
``post(package, ...)``          a package (a document, a status, or the hub's 02) for agencies on
                                the other axis: post the bytes unchanged; return the other axis's id
``take()``                      what the other axis holds for vbus (documents and statuses), oldest
                                first, each again until marked
``mark_taken(id)``              it is in vbus now (the broker confirmed it): acknowledge it there
``mark_refused(id, reason)``    it cannot enter vbus (not an edXML package): tell the other axis why
``agencies()``                  the other axis's agency list (``vb agencies sync`` reads it)
==============================  =================================================================

Errors: ``DmsUnavailable`` (the other axis is down, or refuses our credentials: retried with backoff,
nothing lost) and ``DmsRefused`` (from ``post``: the other axis will never take this package; for a
document, its vbus sender gets a 02 with the reason). Register the class under the entry-point group
``vbus.gateways``; ``vb gateway run NAME`` runs it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from vbcore.connector import parse_config
from vbcore.lang import DEFAULT_LANG, Lang
from vbcore.logging import Logger, get_logger

__all__ = ["Gateway", "GatewayContext", "RemoteAgency", "Taken"]

GROUP = "vbus.gateways"
"""The entry-point group gateway plugins register under."""


@dataclass(frozen=True)
class RemoteAgency:
    """One agency of the other axis's list: ``code`` there, ``code102`` as edXML writes it, ``old_code``
    when it was renamed (``vbcore.directory.sync`` reads these)."""

    code: str
    code102: str
    old_code: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Taken:
    """A package the other axis holds for vbus: its id there, the bytes as it gave them, and the sender
    it names (``from``), which says who to tell when vbus refuses it."""

    id: str
    package: bytes
    sender: str | None = None


@dataclass(frozen=True)
class GatewayContext:
    """What the runtime tells a gateway about where it runs."""

    gateway: str  # the gateway's code on vbus (its broker user and certificate), e.g. gw.truc-quoc-gia
    work_dir: Path
    logger: Logger = field(default_factory=lambda: get_logger("vbus.gateway"))
    lang: Lang = DEFAULT_LANG


class Gateway(ABC):
    """Base of every gateway plugin. Declare a frozen dataclass ``Config``, set ``name``/``version``."""

    name: ClassVar[str]
    version: ClassVar[str]
    Config: ClassVar[type[Any] | None] = None

    def __init__(self, config: Any, context: GatewayContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: GatewayContext) -> Self:
        parsed: Any = parse_config(cls.Config, config, cls.name) if cls.Config is not None else dict(config)
        return cls(parsed, context)

    def start(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Open connections. Default: nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Release what ``start`` opened. Default: nothing."""

    @abstractmethod
    def post(self, package: bytes, *, kind: str, sender: str, recipients: Sequence[str]) -> str:
        """Post ``package`` (``kind`` ``edoc`` or ``status``, edXML codes) from ``sender`` to
        ``recipients`` on the other axis, bytes unchanged; the other axis's id for it."""

    @abstractmethod
    def take(self) -> Iterable[Taken]:
        """Packages the other axis holds for vbus, oldest first; each again until marked."""

    @abstractmethod
    def mark_taken(self, taken_id: str) -> None:
        """The package is in vbus: acknowledge it on the other axis (harmless to repeat)."""

    @abstractmethod
    def mark_refused(self, taken_id: str, reason: str) -> None:
        """The package cannot enter vbus: tell the other axis ``reason`` (harmless to repeat)."""

    def agencies(self) -> list[RemoteAgency]:
        """The other axis's agency list. Default: none known."""
        return []

    @property
    def source(self) -> str:
        """Where the other axis is, as the directory's history records it (default: the plugin's name)."""
        return self.name
