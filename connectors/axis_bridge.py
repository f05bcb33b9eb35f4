"""The axis bridge: joins a vbus hub to another axis that speaks the national axis's HTTP interface.

**Addressing.** The hub routes by agency code and checks that every package's sender, signing
certificate and broker user agree; a status is accepted only from a recipient of the document. So
the bridge does not hide remote agencies behind one code: it **stands in on the hub for an agency
that lives on the other axis**, under that agency's own code (``ConnectorContext.agency``), with a
broker user and a vbus certificate issued for it to the bridge's operator (the bridge signs as that
agency on vbus, as a gateway holding delegated identities does). A vbus clerk addresses the remote
agency by its ordinary code; nothing on the vbus side knows a bridge is involved. One bridge
instance runs per remote agency the hub should reach (one ``vb connector run`` each, or one process
holding several runtimes); all of them share the bridge's one *system* on the other axis
(``system_id`` + ``secret``), and each takes from that system's mailbox only what concerns its
agency. Which codes live behind the bridge comes from the other axis's ``getAgenciesList``:
:func:`bridged_directory` turns it into directory entries for the hub (and closed entries for
``oldCode`` pointing at their successor), and :class:`AxisAddressBook` maps between the axis's own
``code`` (the ``to``/``from`` headers) and ``code102`` (edXML's ``OrganId``). The other axis, in
turn, lists the vbus agencies as hosted by the bridge's system, so its senders address them directly.

**What moves where**, for the bridge instance of remote agency R:

- vbus -> other axis: a document for R reaches R's inbox; ``deliver`` posts the signed bytes
  unchanged with ``sendEdoc`` (``from`` = the vbus sender, ``to`` = R) and the runtime answers 01 once
  the axis gave it a ``DocId``. A 4xx answer becomes a 02 with the axis's reason. Revokes, updates and
  replacements are posted the same way and answered later by R (15/16 arrive as statuses).
  Statuses from vbus recipients about R's documents (``on_status``, whether or not this bridge sent
  them) are posted as status packages.
- other axis -> vbus: ``poll_outgoing`` offers the documents R posted for vbus agencies
  (``getReceivedEdocList`` + ``getEdoc``); the runtime signs them as R and submits them; ``mark_sent``
  acknowledges ``updateStatus done``, ``mark_failed`` ``updateStatus fail`` with the reason. R's
  statuses (03..06, 02, 13, 15, 16) become ``DmsEvent``s and reach the vbus sender, then ``done``
  (``fail`` with the reason when they cannot: an unknown document, say).
  The package as R's axis signed it is kept in the bridge's state database as evidence.

Idempotence: a small SQLite database of the bridge's own (``state``, default in the work dir)
remembers what was posted (by DocumentId, status or request) and every package taken, so a crash
and a redelivery post nothing twice. One gap the interface leaves open: when ``sendEdoc`` was
processed but its answer was lost (a timeout), the bridge cannot tell, and posts the same bytes
again on the retry; the receiving DMS sees the same DocumentId twice and keeps one (as vbus
connectors do). Errors from the axis arrive translated by ``axis_client``: an outage or a refused
signature is retried with backoff; a 4xx on ``sendEdoc`` of a document is a 02 to its sender, on
anything else (lists, acknowledgements) it is retried, since no document is at fault.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors.axis_client import AxisAgency, AxisClient, configured_client
from connectors.database import LazyDatabase, WithDatabase
from vbcore import __version__
from vbcore.connector import (
    ChangeDecision,
    ChangeRequest,
    Connector,
    ConnectorContext,
    DmsEvent,
    DmsReceipt,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
)
from vbcore.database import open_driver
from vbcore.database.driver import Driver
from vbcore.directory import Directory
from vbcore.edxml import read_package, write_package
from vbcore.errors import (
    AxisRefused,
    AxisUnavailable,
    PackageRefused,
)
from vbcore.model import Edoc, Organization, ResponseFor, StatusPackage
from vbcore.status import BusinessDocType, StatusCode

_STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS bridge_posted (key TEXT PRIMARY KEY, axis_doc_id TEXT NOT NULL,"
    " at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bridge_taken (axis_doc_id TEXT PRIMARY KEY, messagetype TEXT NOT NULL,"
    " sender TEXT NOT NULL, package BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'pending', at TEXT NOT NULL)",
)


def _create_state(db: Driver) -> None:
    for statement in _STATE_DDL:
        db.execute(statement)


class AxisAddressBook:
    """The other axis's directory (``getAgenciesList``), fetched again after ``ttl`` seconds."""

    def __init__(self, client: AxisClient, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        self.client, self.ttl, self.clock = client, ttl, clock
        self._agencies: list[AxisAgency] | None = None
        self._fetched = 0.0
        # Indexes of the list, made once per fetch: a gateway looks a code up for every package, and
        # the national list holds about 111,000 agencies. The first entry naming a code wins.
        self._to_axis: dict[str, str] = {}
        self._to_102: dict[str, str] = {}

    def agencies(self) -> list[AxisAgency]:
        if self._agencies is None or self.clock() - self._fetched > self.ttl:
            try:
                self._agencies, self._fetched = self.client.agencies(), self.clock()
            except AxisRefused as exc:  # no document is at fault: wait, never refuse one for this
                raise AxisUnavailable(f"the directory of the other axis: {exc}") from exc
            self._to_axis, self._to_102 = {}, {}
            for a in self._agencies:
                for code in (a.code102, a.old_code):
                    if code:
                        self._to_axis.setdefault(code, a.code)
                for code in (a.code, a.old_code):
                    if code:
                        self._to_102.setdefault(code, a.code102)
        return self._agencies

    def axis_code(self, code102: str) -> str:
        """The axis's ``code`` for an edXML ``OrganId`` (unchanged when the axis does not list it)."""
        self.agencies()
        return self._to_axis.get(code102, code102)

    def code102(self, axis_code: str) -> str:
        self.agencies()
        return self._to_102.get(axis_code, axis_code)


def bridged_directory(agencies: Iterable[AxisAgency], *, note: str = "on the other axis") -> Directory:
    """Directory entries for the codes behind the bridge; an ``oldCode`` is closed with its successor."""
    entries: list[dict[str, object]] = []
    for a in agencies:
        entries.append({"code": a.code102, "name": a.name or a.code102, "note": note})
        if a.old_code and a.old_code != a.code102:
            entries.append(
                {
                    "code": a.old_code,
                    "name": a.name or a.old_code,
                    "closed": True,
                    "successor": a.code102,
                    "note": note,
                }
            )
    return Directory.from_data({"agencies": entries}, source="axis bridge")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@contextmanager
def _refusal_is_an_outage(what: str) -> Iterator[None]:
    """A 4xx on a call that concerns no document being delivered: retried, never a 02."""
    try:
        yield
    except AxisRefused as exc:
        raise AxisUnavailable(f"{what}: {exc}") from exc


class AxisBridgeConnector(WithDatabase, Connector):
    """Stands in on the hub for one agency of another axis (see the module docstring)."""

    name = "axis-bridge"
    version = __version__

    @dataclass(frozen=True)
    class Config:
        url: str  # the other axis's interface, e.g. https://axis.example.gov.vn/api
        system_id: str  # the bridge's system on the other axis
        secret: str = ""  # its HMAC secret (or secret_file)
        secret_file: Path | None = None
        timeout: float = 30.0  # seconds per HTTP call
        attempts: int = 3  # tries of a call that changes nothing, before the runtime's backoff
        directory_ttl: float = 3600.0
        state: Path | None = None  # the bridge's state database; default <work dir>/axis-bridge.sqlite3

    config: AxisBridgeConnector.Config

    def __init__(self, config: AxisBridgeConnector.Config, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = configured_client(config, "axis-bridge")
        self.addresses = AxisAddressBook(self.client, config.directory_ttl)
        self.state_path = config.state or context.work_dir / "axis-bridge.sqlite3"
        self.database = LazyDatabase(
            lambda: open_driver(f"sqlite:///{self.state_path}"), "the bridge's state database", _create_state
        )

    # --- state --------------------------------------------------------------------------------
    def _posted(self, key: str) -> str | None:
        row = self.db.query("SELECT axis_doc_id FROM bridge_posted WHERE key = ?", (key,))
        return str(row[0][0]) if row else None

    def _post_once(self, key: str, package: bytes, *, from_: str, messagetype: str) -> tuple[str, bool]:
        """Post ``package`` to this agency unless ``key`` was posted before: (DocId, posted before)."""
        known = self._posted(key)
        if known is not None:
            return known, True
        doc_id = self.client.send_edoc(
            package,
            from_=self.addresses.axis_code(from_),
            to=[self.addresses.axis_code(self.context.agency)],
            messagetype=messagetype,
        )
        self.db.execute(
            "INSERT OR IGNORE INTO bridge_posted (key, axis_doc_id, at) VALUES (?, ?, ?)",
            (key, doc_id, _now()),
        )
        return doc_id, False

    # --- vbus -> other axis -------------------------------------------------------------------
    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        doc_id, before = self._post_once(
            f"doc:{doc.sender}|{doc.document_id}", doc.raw, from_=doc.sender, messagetype="edoc"
        )
        return DmsReceipt(doc_id, already_delivered=before, note=f"posted to the other axis as {doc_id}")

    def on_status(self, status: StatusUpdate) -> None:
        package = StatusPackage(
            from_=Organization(status.from_agency),
            response_for=ResponseFor(self.context.agency, document_id=status.document_id),
            status_code=status.code,
            staff_info=status.staff,
            description=status.description,
            timestamp=status.timestamp,
        )
        stamp = status.timestamp.isoformat() if status.timestamp else ""
        about = " ".join(status.recipients)  # the recipients a hub's 02 refused (one 02 per package)
        key = f"status:{status.document_id}|{status.from_agency}|{status.code.value}|{stamp}|{about}"
        try:
            self._post_once(key, write_package(package), from_=status.from_agency, messagetype="status")
        except AxisRefused as exc:  # kept, not retried: the same status would be refused again
            self.context.logger.error(
                "axis.status_refused", document_id=status.document_id, code=status.code.value, reason=str(exc)
            )
            self.db.execute(
                "INSERT OR IGNORE INTO bridge_posted (key, axis_doc_id, at) VALUES (?, ?, ?)",
                (key, f"refused: {exc}", _now()),
            )

    def _relay_change(self, request: ChangeRequest) -> ChangeDecision:
        """Post a revoke/update/replace to this agency; its answer (15/16) comes back as a status."""
        if request.edoc is not None:
            package, messagetype = write_package(dataclasses.replace(request.edoc, signature=None)), "edoc"
        else:
            package = write_package(
                StatusPackage(
                    from_=Organization(request.sender),
                    response_for=ResponseFor(self.context.agency, document_id=request.document_id),
                    status_code=StatusCode.REVOKE,
                    staff_info=request.staff,
                    description=request.reason,
                )
            )
            messagetype = "status"
        digest = hashlib.sha256(package).hexdigest()[:16]
        try:
            self._post_once(
                f"change:{request.kind.name}:{request.document_id}:{digest}",
                package,
                from_=request.sender,
                messagetype=messagetype,
            )
        except AxisRefused as exc:
            return ChangeDecision.refuse(f"the other axis refused the {request.kind.name.lower()}: {exc}")
        return ChangeDecision.pending()

    def on_change(self, request: ChangeRequest) -> ChangeDecision:
        if request.kind is BusinessDocType.REPLACE and request.edoc is not None:
            return ChangeDecision.pending()  # the new document was posted by deliver; R answers it
        return self._relay_change(request)

    # --- other axis -> vbus -------------------------------------------------------------------
    def _take(self, messagetype: str) -> list[tuple[str, bytes]]:
        """Packages this agency posted for vbus, not yet acknowledged: (DocId, package), oldest first."""
        mine = self.addresses.axis_code(self.context.agency)
        for item in self.client.received_edoc_list(messagetype):
            if item.from_ not in (mine, self.context.agency):
                continue  # another bridge instance stands in for that agency
            if not self.db.query("SELECT 1 FROM bridge_taken WHERE axis_doc_id = ?", (item.doc_id,)):
                try:
                    package = self.client.get_edoc(item.doc_id)
                except AxisRefused as exc:  # that one item (taken by another process?): skip it
                    self.context.logger.warning("axis.get_edoc_refused", doc_id=item.doc_id, reason=str(exc))
                    continue
                self.db.execute(
                    "INSERT OR IGNORE INTO bridge_taken (axis_doc_id, messagetype, sender, package, at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (item.doc_id, messagetype, item.from_, package, _now()),
                )
        rows = self.db.query(
            "SELECT axis_doc_id, package FROM bridge_taken WHERE messagetype = ? AND state = 'pending'"
            " ORDER BY rowid",
            (messagetype,),
        )
        return [(str(doc_id), bytes(package)) for doc_id, package in rows]  # type: ignore[call-overload]

    def _acknowledge(self, doc_id: str, state: str, reason: str | None = None) -> None:
        with _refusal_is_an_outage(f"acknowledging {doc_id} {state}"):
            self.client.update_status(doc_id, state, reason)
        self.db.execute("UPDATE bridge_taken SET state = ? WHERE axis_doc_id = ?", (state, doc_id))

    def _read_taken(self, messagetype: str, listing: str) -> list[tuple[str, Edoc | StatusPackage]]:
        """Take the pending items of ``messagetype`` and read each; one that is not edXML is
        acknowledged ``fail`` to the other axis with the reason, and left out."""
        with _refusal_is_an_outage(listing):
            taken = self._take(messagetype)
        read = []
        for doc_id, package in taken:
            try:
                read.append((doc_id, read_package(package).package))
            except PackageRefused as exc:
                self._acknowledge(doc_id, "fail", f"not an edXML package: {exc}")
        return read

    def poll_outgoing(self) -> Iterable[Outgoing]:
        found = []
        for doc_id, edoc in self._read_taken("edoc", "listing the documents to send"):
            if not isinstance(edoc, Edoc):
                self._acknowledge(doc_id, "fail", "a status package was posted as messagetype edoc")
                continue
            # Signed by the remote axis's PKI, which vbus does not trust: the runtime signs it as this agency.
            found.append(Outgoing(doc_id, edoc=dataclasses.replace(edoc, signature=None)))
        return found

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        self._acknowledge(outgoing_id, "done")

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        self._acknowledge(outgoing_id, "fail", reason)

    def poll_events(self) -> Iterable[DmsEvent]:
        events = []
        for doc_id, status in self._read_taken("status", "listing the statuses to send"):
            if not isinstance(status, StatusPackage) or not status.document_id:
                self._acknowledge(
                    doc_id, "fail", "not a status package naming a document (ResponseFor/DocumentId)"
                )
                continue
            events.append(
                DmsEvent(
                    doc_id,
                    status.document_id,
                    status.status_code,
                    status.description,
                    status.staff_info,
                    status.timestamp,
                )
            )
        return events

    def mark_event_sent(self, event_id: str) -> None:
        self._acknowledge(event_id, "done")

    def mark_event_failed(self, event_id: str, reason: str) -> None:
        self._acknowledge(event_id, "fail", reason)
