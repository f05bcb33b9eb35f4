"""The connector plugin contract: everything a DMS vendor implements, in one module.

A connector joins one document-management system (DMS) to vbus. Clerks keep working in their DMS;
the connector hands the runtime what the DMS wants to send, takes what arrives into the DMS, and
reports what clerks do with it. **The core owns the policy**: signing and verifying packages,
retries with backoff, exactly-once delivery across crashes, status tracking, logging. The vendor
writes only the DMS side: the methods of :class:`Connector` below, nothing else.

What the runtime (``vbcore.connector.runtime``) calls, and when:

==========================  =====================================================================
``from_config(config, ctx)``  once, to build the connector from its configuration mapping
``start()`` / ``close()``     before the first and after the last call
``poll_outgoing()``           every round: documents the DMS wants to send (``Outgoing``)
``mark_sent(id, doc_id)``     after a document was signed and confirmed by the broker
``mark_failed(id, reason)``   when a document cannot be sent (the reason is for the clerk)
``deliver(doc)``              a document arrived: put it into the DMS (**idempotent** by
                              ``(doc.sender, doc.document_id)``)
``poll_events()``             every round: what clerks did (``DmsEvent`` -> statuses 02..06, 13, 15, 16)
``mark_event_sent(event_id)`` after the status for that event was signed and confirmed
``mark_event_failed(id, r)``  the event cannot become a status (unknown document...): show ``r``
                              to the clerk (default: ``mark_event_sent``, the reason only logged)
``on_status(status)``         a status about a document this agency sent (01..06, 02, 15, 16),
                              whoever sent it: ``status.outgoing_id`` is None when this runtime did
                              not (``vb send``, another machine, a lost ledger): match it by
                              ``document_id``. After a crash the same status may come again:
                              recording it twice must be harmless
``on_change(request)``         the sender revokes, updates or replaces a document (``request.kind``):
                              return ``ChangeDecision.accept()`` (15), ``.refuse(reason)`` (16), or
                              ``.pending()`` and report 15/16 later as a ``DmsEvent``
==========================  =====================================================================

Errors a connector may raise from any of these: :class:`DmsUnavailable` (the DMS is down right now:
the runtime keeps the work and waits with exponential backoff; nothing is lost) and
:class:`DmsRefused` (from ``deliver``: the DMS will never take this document; the sender gets a status
02 with the error's reason). Any other exception is a bug in the connector, charged to the item at hand:
the runtime logs it, sets the item aside with its own backoff and goes on with the items behind it.
An item that keeps failing is given up at the operator's limit (``RetryLimit``: attempts and time): a
received document is parked and its sender gets a 02 naming the reason, an outgoing one is marked
failed, an event is marked failed. ``DmsUnavailable`` on one item counts against it only once the DMS
took another item meanwhile: a DMS that is down for everything holds everything and parks nothing.
Each lane (outgoing, incoming, events) backs off on its own: a failing ``poll_outgoing`` does not stop
deliveries.

Guarantees the runtime gives: ``deliver`` is called for a (sender, DocumentId) until it returns once,
and after that never again (a local ledger remembers delivered pairs); status 01 is sent automatically,
once, when ``deliver`` returned. Guarantees the connector gives: ``deliver`` called twice with the same
(sender, DocumentId) (after a crash between the DMS write and the ledger write) registers ONE document
and returns its receipt again; a document from ANOTHER sender under a DocumentId already registered is
another document: register it too, or raise ``DmsRefused`` if the DMS cannot hold two documents under
one id, never return the first one's receipt; ``poll_outgoing`` / ``poll_events`` return an item again
until it was marked (``mark_sent`` / ``mark_failed`` / ``mark_event_sent`` / ``mark_event_failed``), so
a crash never loses one.

Plugins are found by entry point (group ``vbus.connectors``, see ``vbcore.connector.plugins``) and checked
when they load: a subclass of :class:`Connector`, every abstract method implemented, ``name`` and
``version`` set. Prove a connector right with the conformance kit (``vbcore.testing.conformance``).

A complete connector for a DMS that is a dict in memory::

    from dataclasses import dataclass
    from vbcore.connector import (Connector, ConnectorContext, DmsEvent, DmsReceipt,
                                  IncomingDocument, Outgoing, StatusUpdate)

    class DictConnector(Connector):
        name = "dict-dms"
        version = "1.0"

        @dataclass(frozen=True)
        class Config:
            label: str = "demo"

        def __init__(self, config: "DictConnector.Config", context: ConnectorContext) -> None:
            super().__init__(config, context)          # sets self.config, self.context
            self.outbox: dict[str, Outgoing] = {}      # DMS id -> document to send
            self.registered: dict[str, IncomingDocument] = {}
            self.events: dict[str, DmsEvent] = {}
            self.statuses: list[StatusUpdate] = []

        def poll_outgoing(self):
            return list(self.outbox.values())
        def mark_sent(self, outgoing_id, document_id):
            self.outbox.pop(outgoing_id, None)
        def mark_failed(self, outgoing_id, reason):
            self.outbox.pop(outgoing_id, None)
        def deliver(self, doc):
            key = f"{doc.sender}|{doc.document_id}"      # idempotent by (sender, DocumentId)
            self.registered.setdefault(key, doc)
            return DmsReceipt(dms_id=key)
        def poll_events(self):
            return list(self.events.values())
        def mark_event_sent(self, event_id):
            self.events.pop(event_id, None)
        def on_status(self, status):
            self.statuses.append(status)

``on_change`` defaults to refusing (16, "not supported by this DMS"); override it when the DMS can
cancel or amend a registered document (``request.kind`` says which: revoke, update or replace). The
guide with a runnable example and the conformance kit: ``docs/connectors.md``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from vbcore.errors import ConfigurationError, DmsRefused, DmsUnavailable
from vbcore.lang import DEFAULT_LANG, Lang, Text
from vbcore.logging import Logger, get_logger
from vbcore.model import Edoc, StaffInfo
from vbcore.status import BusinessDocType, StatusCode

__all__ = [
    "ChangeDecision",
    "ChangeRequest",
    "Connector",
    "ConnectorContext",
    "DmsEvent",
    "DmsReceipt",
    "DmsRefused",
    "DmsUnavailable",
    "IncomingDocument",
    "Outgoing",
    "StatusUpdate",
    "parse_config",
]

@dataclass(frozen=True)
class ConnectorContext:
    """What the runtime tells a connector about where it runs."""

    agency: str  # this agency's code, e.g. "000.00.00.H24"
    work_dir: Path  # a directory the connector may use for its own files
    agency_name: str | None = None
    # Structured: ``context.logger.info("dms.login", user=...)`` (event name, then keyword fields).
    logger: Logger = field(default_factory=lambda: get_logger("vbus.connector"))
    # The language of what the connector writes for clerks (reasons, summaries): ``vbcore.lang``.
    lang: Lang = DEFAULT_LANG


@dataclass(frozen=True)
class Outgoing:
    """A document the DMS wants to send: exactly one of ``edoc`` and ``edxml``.

    ``id`` is the DMS's own id for it (given back in ``mark_sent``/``mark_failed`` and in
    ``StatusUpdate.outgoing_id``). ``edxml`` is a ready edXML package: unsigned (the runtime signs it
    with the agency's key) or already signed by the DMS with the agency's certificate (sent as is).
    The package's ``From/OrganId`` must be this agency.
    """

    id: str
    edoc: Edoc | None = None
    edxml: bytes | None = None

    def __post_init__(self) -> None:
        if (self.edoc is None) == (self.edxml is None):
            raise ValueError(f"outgoing {self.id!r} must carry exactly one of edoc and edxml")


@dataclass(frozen=True)
class IncomingDocument:
    """A verified document for the DMS. ``edoc`` was read from the verified tree only."""

    document_id: str
    sender: str  # agency code bound to the certificate that signed it
    edoc: Edoc
    raw: bytes  # the signed package exactly as the sender signed it (keep it as evidence)
    message_id: str
    received_at: datetime  # when the runtime took it (UTC)


@dataclass(frozen=True)
class DmsReceipt:
    """What ``deliver`` returns: the DMS's id for the registered document."""

    dms_id: str
    already_delivered: bool = False  # True when this DocumentId was registered before
    note: str | None = None


@dataclass(frozen=True)
class DmsEvent:
    """Something a clerk did that becomes a status package.

    Receiver side (about a document this DMS received): 02 refused (``description`` = why),
    03 registered, 04 assigned, 05 processing, 06 done, 15/16 answer to a revoke/update left pending.
    Sender side (about a document this DMS sent): 13 take back, with the reason in ``description``.
    ``event_id`` is the DMS's id for the event: the runtime sends each event_id once. ``sender`` names
    the agency that sent the document (receiver side): needed only when two senders used the same
    DocumentId, or when the runtime's ledger does not know the document (lost, or older than it).
    """

    event_id: str
    document_id: str
    code: StatusCode
    description: str | None = None
    staff: StaffInfo = field(default_factory=StaffInfo)
    at: datetime | None = None  # Vietnam local time, naive; the runtime uses now when None
    sender: str | None = None  # the document's sender (receiver side), when the DMS knows it

    def __post_init__(self) -> None:
        if not isinstance(self.code, StatusCode):
            object.__setattr__(self, "code", StatusCode.parse(str(self.code)))


@dataclass(frozen=True)
class StatusUpdate:
    """A status about a document this agency sent (or a refusal of it by the hub), whoever sent it."""

    document_id: str
    code: StatusCode
    from_agency: str  # who says it: a recipient, or the hub for a refusal
    description: str | None
    staff: StaffInfo
    timestamp: datetime | None
    # The DMS's own id of the document when THIS runtime sent it; None when it did not (sent with
    # ``vb send``, from another machine, or before the ledger was lost): match it by ``document_id``.
    outgoing_id: str | None
    from_hub: bool = False  # True for the hub's refusals (02 with the hub's reason)
    # For a refusal by the hub: the recipients it refused (one 02 names all the recipients of a package
    # it refused, up to ``MAX_LISTED_REFUSED``); empty when the hub refused the whole document.
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeRequest:
    """The sender revokes (1, or a status 13), updates (2) or replaces (3) a document.

    ``document_id`` is the document it concerns (for replace: the new document, which ``edoc``
    carries; ``replaced_ids`` lists the ones it replaces). ``edoc`` is None for a status 13.
    """

    kind: BusinessDocType
    document_id: str
    sender: str
    reason: str | None
    staff: StaffInfo
    edoc: Edoc | None = None
    replaced_ids: tuple[str, ...] = ()


CHANGE_POLICIES = ("pending", "accept", "refuse")  # a connector's ``changes`` setting
_KINDS = {"revoke": Text("thu hồi", "revoke"), "update": Text("cập nhật", "update"),
          "replace": Text("thay thế", "replace")}
_NOT_AUTOMATIC = Text("Hệ thống quản lý văn bản không tự động chấp nhận yêu cầu {kind}",
                      "This DMS does not accept a {kind} automatically")
_CANNOT = Text("Hệ thống {name} không hỗ trợ {kind} văn bản", "{name} cannot {kind} documents")


def check_change_policy(plugin: str, policy: str) -> None:
    """Raise ``ConfigurationError`` unless ``policy`` is one of ``CHANGE_POLICIES``."""
    if policy not in CHANGE_POLICIES:
        raise ConfigurationError(f"{plugin}: changes must be one of {', '.join(CHANGE_POLICIES)}")


@dataclass(frozen=True)
class ChangeDecision:
    """The DMS's answer to a ``ChangeRequest``: 15 accept, 16 refuse, or pending (report later)."""

    accepted: bool | None
    reason: str | None = None

    @classmethod
    def accept(cls, reason: str | None = None) -> ChangeDecision:
        return cls(True, reason)

    @classmethod
    def refuse(cls, reason: str) -> ChangeDecision:
        return cls(False, reason)

    @classmethod
    def pending(cls) -> ChangeDecision:
        return cls(None)

    @classmethod
    def by_policy(cls, policy: str, kind: str, lang: Lang = DEFAULT_LANG) -> ChangeDecision:
        """What a DMS configured with ``changes = policy`` (one of ``CHANGE_POLICIES``) answers by itself
        to a ``kind`` (revoke, update, replace): accept (15), refuse (16, the reason in ``lang``), or
        pending (a clerk answers)."""
        if policy == "accept":
            return cls.accept()
        if policy == "refuse":
            return cls.refuse(_NOT_AUTOMATIC.format(kind=_KINDS.get(kind, Text(kind, kind))(lang))(lang))
        return cls.pending()

    @property
    def status_code(self) -> StatusCode | None:
        if self.accepted is None:
            return None
        return StatusCode.CHANGE_ACCEPTED if self.accepted else StatusCode.CHANGE_REFUSED


class Connector(ABC):
    """Base class of every connector. Subclass it, set ``name``/``version``, implement the DMS side.

    Configuration: declare a frozen dataclass ``Config`` inside the class; the default
    ``from_config`` checks the mapping against it (unknown keys, missing keys and wrong types are a
    ``ConfigurationError`` naming the key) and calls ``cls(config, context)``.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    Config: ClassVar[type[Any] | None] = None

    def __init__(self, config: Any, context: ConnectorContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConnectorContext) -> Self:
        parsed: Any = parse_config(cls.Config, config, cls.name) if cls.Config is not None else dict(config)
        return cls(parsed, context)

    def start(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Open connections to the DMS. Default: nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Release what ``start`` opened. Default: nothing."""

    # --- sending: the DMS hands documents over -------------------------------------------------
    @abstractmethod
    def poll_outgoing(self) -> Iterable[Outgoing]:
        """Documents waiting to be sent, oldest first; each again until marked sent or failed."""

    @abstractmethod
    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        """The document left: the broker confirmed it. Record ``document_id`` against it."""

    @abstractmethod
    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        """The document cannot be sent (invalid, not ours to send...): show ``reason`` to the clerk."""

    # --- receiving: documents come into the DMS ----------------------------------------------
    @abstractmethod
    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        """Register ``doc`` in the DMS. Idempotent by ``(doc.sender, doc.document_id)``: another
        sender's document under the same id is another document. May raise ``DmsRefused``."""

    @abstractmethod
    def poll_events(self) -> Iterable[DmsEvent]:
        """What clerks did since, oldest first; each event again until ``mark_event_sent``."""

    @abstractmethod
    def mark_event_sent(self, event_id: str) -> None:
        """The status for this event was signed and confirmed: do not return it again."""

    def mark_event_failed(self, event_id: str, reason: str) -> None:
        """The event cannot become a status (its document is unknown, or it kept failing): show
        ``reason`` to the clerk and do not return it again. Default: ``mark_event_sent`` (the runtime
        has logged the reason); override it to show the reason in the DMS."""
        self.context.logger.error("event.failed", event_id=event_id, reason=reason)
        self.mark_event_sent(event_id)

    # --- answers about documents this DMS sent -------------------------------------------------
    @abstractmethod
    def on_status(self, status: StatusUpdate) -> None:
        """Record a status (01..06, 02, 15, 16) of a document this agency sent; ``status.outgoing_id``
        is None when this runtime did not send it."""

    # --- the sender changes its mind ----------------------------------------------------------
    def on_change(self, request: ChangeRequest) -> ChangeDecision:
        """The sender takes a document back (``request.kind`` revoke, or a status 13), updates its
        metadata or recipients (update), or replaces ``request.replaced_ids`` with a new document
        (replace). Default: refuse (16)."""
        lang = self.context.lang
        kind = _KINDS[request.kind.name.lower()](lang)
        return ChangeDecision.refuse(_CANNOT.format(name=self.name, kind=kind)(lang))


# --- configuration ----------------------------------------------------------------------------

_SCALARS: dict[type[Any], type[Any]] = {str: str, int: int, float: float, Path: Path}


def parse_config(schema: type[Any], config: Mapping[str, Any], plugin: str = "connector") -> Any:
    """Build the ``schema`` dataclass from ``config``, checking keys and simple types.

    Accepts ``str``, ``int``, ``float``, ``bool``, ``Path`` and their ``X | None`` forms, and
    ``tuple[str, ...]`` / ``list[str]``; other field types are passed through unchanged.
    """
    if not dataclasses.is_dataclass(schema):
        raise ConfigurationError(f"{plugin}: Config must be a dataclass")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ConfigurationError(
            f"{plugin}: unknown configuration key(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(schema)
    values: dict[str, Any] = {}
    for key, f in fields.items():
        if key not in config:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigurationError(f"{plugin}: configuration key {key!r} is required")
            continue
        values[key] = _coerce(hints.get(key, Any), config[key], f"{plugin}: configuration key {key!r}")
    return schema(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where) if len(inner) == 1 else value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigurationError(f"{where} must be true or false, not {value!r}")
    if hint in _SCALARS:
        if isinstance(value, (bool, dict, list)):
            raise ConfigurationError(f"{where} must be a {hint.__name__}, not {value!r}")
        try:
            return _SCALARS[hint](value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{where} must be a {hint.__name__}, not {value!r}") from exc
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigurationError(f"{where} must be a list, not {value!r}")
        return origin(value)
    return value
