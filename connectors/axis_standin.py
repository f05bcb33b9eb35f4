"""A local stand-in of the national axis's HTTP interface (docs/domain.md §6), for tests and demos.

There is no public test server of the national axis; this one follows its description and the wire
format written down in ``connectors.axis_client``. It is stdlib ``http.server`` in a thread
(``ThreadingHTTPServer`` on 127.0.0.1, an ephemeral port by default) and keeps everything in memory:

- **systems** (``system id -> secret``): every request's signed headers are checked (a wrong secret,
  an unknown system or a tampered header is answered 401 with an error body; so is a timestamp more
  than ``max_skew_s`` away);
- **agencies** (``StandInAgency``: axis ``code``, ``code102`` as in edXML, ``old_code``, the system that
  hosts it), served by ``getAgenciesList`` and used to route: ``sendEdoc`` puts the package in the
  mailbox of each addressee's system (``to``, or when absent the package's ``To`` / status
  ``ResponseFor/OrganId``); codes it does not list go to ``default_system`` (e.g. "everything else is
  behind the vbus bridge"), or are refused with 400 when there is none;
- **mailboxes**: per system and message type, what waits until it is acknowledged with
  ``updateStatus done|fail`` (``processing`` keeps it listed).

Tests can make it misbehave: ``fail_next(n, status=503)`` answers the next ``n`` requests with that
HTTP status, ``stall_next(n, seconds)`` answers them only after a delay (a client timeout).

``national_agencies()`` is a realistic list for it to serve: the Government Office and the ministries
after QĐ 09/2025/QĐ-TTg, the 34 provinces' People's Committees and Councils (a merged province lists a
closed predecessor as ``oldCode``), and a few departments of each ministry, each body on a system of
its own; a province named ``local`` is left to the stand-in's default system (the vbus platform in
front of which it stands). ``systems_of(agencies)`` gives every one of those systems a secret.

Run it on its own::

    python -m connectors.axis_standin --port 8900 --system vbus-bridge:s3cret \\
        --system bo-y-te:secret2 --agency 000.00.00.G18:bo-y-te:"Bộ Y tế"
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.axis_client import MESSAGE_TYPES, TRANSPORT_STATES, BadSignature, verify_headers
from vbcore.directory import Directory
from vbcore.edxml import read_package
from vbcore.errors import PackageRefused
from vbcore.model import StatusPackage


@dataclass(frozen=True)
class StandInAgency:
    code: str  # the axis's own code (``to`` on sendEdoc)
    system: str  # the system (an integration platform or a DMS) that hosts it
    name: str | None = None
    code102: str | None = None  # the code in edXML (QCVN 102); the axis code when None
    old_code: str | None = None

    @property
    def edxml_code(self) -> str:
        return self.code102 or self.code


@dataclass
class Message:
    """One package posted with sendEdoc, and its transport state at each recipient system."""

    doc_id: str
    messagetype: str
    sender_system: str
    from_: str
    to: tuple[str, ...]
    package: bytes
    created: str
    states: dict[str, str] = field(default_factory=dict)  # recipient system -> pending|processing|done|fail
    reasons: dict[str, str] = field(default_factory=dict)  # recipient system -> why it failed


SHORT_AXIS_CODES = {"000.00.00.G18": "BYT", "000.00.00.G12": "BTC", "000.00.00.G01": "BCA"}
"""A few bodies listed under a short code of the axis's own (``code`` differs from ``code102``)."""


def national_agencies(*, local: Iterable[str] = (), units: int = 2) -> list[StandInAgency]:
    """The realistic list described in the module docstring (``units`` departments per ministry)."""
    directory, skip = Directory.default(), set(local)
    found: list[StandInAgency] = []
    for kind in ("government-office", "ministry", "province-ubnd", "province-hdnd"):
        for body in directory.all(include_closed=False, kind=kind):
            if body.code in skip:
                continue
            system = f"sys-{body.code.rsplit('.', 1)[1]}"
            old = next((p.code for p in directory.predecessors(body.code)), None)
            found.append(StandInAgency(SHORT_AXIS_CODES.get(body.code, body.code), system, body.name,
                                       code102=body.code, old_code=old))  # fmt: skip
            if kind == "ministry":
                level1 = body.code.rsplit(".", 1)[1]
                for number in range(1, units + 1):
                    unit = f"000.00.{number:02d}.{level1}"
                    found.append(StandInAgency(unit, system, f"Đơn vị {number:02d}, {body.name}"))
    return found


def systems_of(agencies: Iterable[StandInAgency], **more: str) -> dict[str, str]:
    """A secret for each system hosting ``agencies`` (``secret-<system>``), and ``more`` besides."""
    return {**{a.system: f"secret-{a.system}" for a in agencies}, **more}


class _Refusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class AxisStandIn:
    """The interface's six operations over in-memory mailboxes; ``start()`` serves them."""

    def __init__(
        self,
        systems: Mapping[str, str],
        agencies: Iterable[StandInAgency] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_skew_s: float = 300.0,
        default_system: str | None = None,
    ) -> None:
        self.systems = dict(systems)
        self.default_system = default_system  # hosts every code the list does not name (None: refuse them)
        self.agencies = list(agencies)
        self.max_skew_s = max_skew_s
        self.messages: list[Message] = []
        self.requests: list[tuple[str, int]] = []  # (operation, HTTP status), in arrival order
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[
            tuple[str, float, str | None]
        ] = []  # ("fail", status | "stall", seconds, operation)
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AxisStandIn:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="axis-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever(), which must have started
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> AxisStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- misbehaving on purpose ---------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 503, operation: str | None = None) -> None:
        """Answer the next ``count`` requests (of ``operation``, or any) with HTTP ``status``."""
        with self._lock:
            self._faults.extend([("fail", float(status), operation)] * count)

    def stall_next(self, count: int = 1, seconds: float = 1.0, operation: str | None = None) -> None:
        """Answer the next ``count`` requests (of ``operation``, or any) only after ``seconds``."""
        with self._lock:
            self._faults.extend([("stall", seconds, operation)] * count)

    def _next_fault(self, operation: str) -> tuple[str, float] | None:
        with self._lock:
            for i, (kind, value, only) in enumerate(self._faults):
                if only in (None, operation):
                    del self._faults[i]
                    return kind, value
        return None

    # --- looking inside (tests) ---------------------------------------------------------------
    def mailbox(
        self, system: str, messagetype: str | None = None, *, pending_only: bool = True
    ) -> list[Message]:
        with self._lock:
            return [
                m
                for m in self.messages
                if system in m.states
                and (messagetype is None or m.messagetype == messagetype)
                and (not pending_only or m.states[system] in ("pending", "processing"))
            ]

    # --- the operations -----------------------------------------------------------------------
    def agency(self, code: str) -> StandInAgency:
        for a in self.agencies:
            if code in (a.code, a.edxml_code):
                return a
        if self.default_system is not None:
            return StandInAgency(code, self.default_system)
        raise _Refusal(400, f"agency {code} is not on this axis")

    def send_edoc(self, system: str, meta: Mapping[str, str], package: bytes) -> str:
        messagetype = meta.get("messagetype", "")
        if meta.get("servicetype") != "eDoc" or messagetype not in MESSAGE_TYPES:
            raise _Refusal(400, "servicetype must be eDoc and messagetype edoc or status")
        if not meta.get("from"):
            raise _Refusal(400, "the from header is required")
        to = tuple(c for c in meta.get("to", "").split(",") if c) or _addressees(package)
        recipients = [self.agency(code) for code in to]
        with self._lock:
            doc_id = f"axis-{next(self._ids):06d}"
            created = datetime.now(UTC).isoformat(timespec="milliseconds")
            message = Message(
                doc_id,
                messagetype,
                system,
                meta["from"],
                tuple(a.code for a in recipients),
                package,
                created,
                {a.system: "pending" for a in recipients},
            )
            self.messages.append(message)
        return doc_id

    def received_list(self, system: str, messagetype: str) -> list[dict[str, Any]]:
        return [_entry(m, m.states[system]) for m in self.mailbox(system, messagetype)]

    def sent_list(self, system: str, messagetype: str) -> list[dict[str, Any]]:
        with self._lock:
            mine = [m for m in self.messages if m.sender_system == system and m.messagetype == messagetype]
        return [_entry(m, ",".join(sorted(set(m.states.values())))) for m in mine]

    def _message_for(self, system: str, doc_id: str) -> Message:
        with self._lock:
            for m in self.messages:
                if m.doc_id == doc_id and system in m.states:
                    return m
        raise _Refusal(404, f"document {doc_id} is not in the mailbox of {system}")

    def get_edoc(self, system: str, doc_id: str) -> str:
        return base64.b64encode(self._message_for(system, doc_id).package).decode("ascii")

    def update_status(self, system: str, doc_id: str, status: str, description: str | None) -> None:
        if status not in TRANSPORT_STATES:
            raise _Refusal(400, f"status must be one of {', '.join(TRANSPORT_STATES)}")
        message = self._message_for(system, doc_id)
        with self._lock:
            message.states[system] = status
            if description:
                message.reasons[system] = description

    def agencies_list(self) -> list[dict[str, Any]]:
        return [
            {"code": a.code, "code102": a.edxml_code, "oldCode": a.old_code or "", "name": a.name or ""}
            for a in self.agencies
        ]

    def check_time(self, meta: Mapping[str, str]) -> None:
        try:
            sent = datetime.strptime(meta.get("timestamp", ""), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise _Refusal(401, "the timestamp header is missing or not an ISO 8601 UTC time") from exc
        if abs((datetime.now(UTC) - sent).total_seconds()) > self.max_skew_s:
            raise _Refusal(
                401, f"the timestamp is more than {self.max_skew_s:g} s away from the axis's clock"
            )


def _addressees(package: bytes) -> tuple[str, ...]:
    try:
        read = read_package(package).package
    except PackageRefused as exc:
        raise _Refusal(400, f"file_doc is not an edXML package: {exc}") from exc
    if isinstance(read, StatusPackage):
        return (read.addressee,) if read.addressee else ()
    return read.recipients


def _entry(m: Message, status: str) -> dict[str, Any]:
    return {
        "DocId": m.doc_id,
        "from": m.from_,
        "to": list(m.to),
        "messagetype": m.messagetype,
        "created": m.created,
        "status": status,
    }


def _file_doc(content_type: str, body: bytes) -> bytes:
    """The ``file_doc`` part of a multipart/form-data body."""
    marker = "boundary="
    if "multipart/form-data" not in content_type or marker not in content_type:
        raise _Refusal(400, "sendEdoc takes multipart/form-data with a file_doc part")
    boundary = content_type.split(marker, 1)[1].split(";")[0].strip().strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file_doc"' in head:
            return content[:-2] if content.endswith(b"\r\n") else content
    raise _Refusal(400, "the file_doc part is missing")


def _handler(axis: AxisStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``axis.requests`` instead."""

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            operation = self.path.split("?", 1)[0].strip("/")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = axis._next_fault(operation)
            if fault is not None and fault[0] == "stall":
                time.sleep(fault[1])
            try:
                if fault is not None and fault[0] == "fail":
                    raise _Refusal(int(fault[1]), "the axis is failing on purpose (stand-in fault injection)")
                answer = self._operation(operation, body)
                self._answer(operation, 200, {"status": "OK", **answer})
            except _Refusal as exc:
                self._answer(
                    operation,
                    exc.status,
                    {"status": "FAIL", "ErrorCode": str(exc.status), "ErrorDesc": str(exc)},
                )

        def _operation(self, operation: str, body: bytes) -> dict[str, Any]:
            try:
                meta = verify_headers(self.headers, axis.systems)
            except BadSignature as exc:
                raise _Refusal(401, str(exc)) from exc
            axis.check_time(meta)
            system = meta["systemid"]
            if operation == "sendEdoc":
                package = _file_doc(self.headers.get("Content-Type", ""), body)
                return {"DocId": axis.send_edoc(system, meta, package)}
            if operation == "getReceivedEdocList":
                return {"data": axis.received_list(system, meta.get("messagetype", "edoc"))}
            if operation == "getSentEdocList":
                return {"data": axis.sent_list(system, meta.get("messagetype", "edoc"))}
            if operation == "getEdoc":
                return {"data": axis.get_edoc(system, meta.get("docid", ""))}
            if operation == "updateStatus":
                axis.update_status(
                    system, meta.get("docid", ""), meta.get("status", ""), meta.get("description")
                )
                return {}
            if operation == "getAgenciesList":
                return {"data": axis.agencies_list()}
            raise _Refusal(404, f"no operation {operation!r}")

        def _answer(self, operation: str, status: int, payload: dict[str, Any]) -> None:
            with axis._lock:
                axis.requests.append((operation, status))
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a stalled answer after its timeout)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.axis_standin", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--system", action="append", default=[], metavar="ID:SECRET", help="a system and its secret"
    )
    parser.add_argument(
        "--agency",
        action="append",
        default=[],
        metavar="CODE:SYSTEM[:NAME]",
        help="an agency on this axis and the system that hosts it",
    )
    parser.add_argument(
        "--national", metavar="LOCAL", nargs="?", const="", default=None,
        help="serve the realistic national list (national_agencies), leaving out province LOCAL's body "
        "code if given; every system's secret is secret-<system>; codes it does not list go to the first "
        "--system",
    )  # fmt: skip
    args = parser.parse_args(argv)
    systems = dict(s.split(":", 1) for s in args.system) or {"vbus-bridge": "vbus-bridge-secret"}
    agencies = []
    for entry in args.agency:
        code, system, *name = entry.split(":", 2)
        agencies.append(StandInAgency(code, system, name[0] if name else None))
    default_system = None
    if args.national is not None:
        agencies += national_agencies(local=[args.national] if args.national else [])
        default_system = next(iter(systems))
        systems = systems_of(agencies, **systems)
    axis = AxisStandIn(systems, agencies, host=args.host, port=args.port, default_system=default_system)
    print(f"axis stand-in on {axis.url}: systems {', '.join(systems)}; {len(agencies)} agencies", flush=True)
    try:
        axis._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        axis._server.server_close()


if __name__ == "__main__":
    main()
