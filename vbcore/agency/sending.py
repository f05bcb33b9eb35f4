"""``vb send``: turn a file (or metadata plus attachments) into signed bytes, submit them as an agency,
and (``--wait``) read what comes back: the hub's 02, or each recipient's first status."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vbcore.agency import AgencyClient, refused_recipients
from vbcore.edxml import DEFAULT_LIMITS, read_package, write_package
from vbcore.errors import PackageRefused, refusal_named
from vbcore.lang import Lang, Text
from vbcore.mapping_files import load_mapping
from vbcore.metadata import edoc_from_data
from vbcore.model import Attachment, Blob, StatusPackage
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import Delivery, Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names


@dataclass(frozen=True)
class ToSend:
    signed: bytes
    kind: str
    document_id: str | None
    recipients: tuple[str, ...]  # To of a document; for a status, the party it is addressed to


def package_to_send(
    file: Path | None, metadata: Path | None, attachments: list[Path], key_path: Path, cert_path: Path
) -> ToSend:
    """The signed bytes and what they are. A FILE that already carries a signature is sent as it is."""
    if file is not None:
        return file_to_send(file.read_bytes(), lambda: SigningKey.from_files(key_path, cert_path))
    assert metadata is not None
    edoc = edoc_from_data(load_mapping(metadata), metadata.parent, where=str(metadata))
    extra = tuple(
        Attachment(f"cid:{uuid.uuid4()}", path.name, Blob.from_file(path)) for path in attachments
    )
    package = dataclasses.replace(edoc, attachments=edoc.attachments + extra)
    signed = sign_package(write_package(package), SigningKey.from_files(key_path, cert_path))
    if isinstance(package, StatusPackage):
        return ToSend(signed, n.KIND_STATUS, package.document_id, ())
    return ToSend(signed, n.KIND_EDOC, package.effective_document_id, package.recipients)


def file_to_send(raw: bytes, key: Callable[[], SigningKey]) -> ToSend:
    """A package file's signed bytes: as they are when it carries a signature, else signed with
    ``key()`` (asked for only then: loading a key costs about 40 ms, a folder loads it once)."""
    package = read_package(raw).package
    signed = raw if package.signature is not None else sign_package(raw, key())
    if isinstance(package, StatusPackage):
        return ToSend(signed, n.KIND_STATUS, package.document_id, ())
    return ToSend(signed, n.KIND_EDOC, package.effective_document_id, package.recipients)


def submit(
    transport: Transport, names: Names, agency: str, signed: bytes, *, kind: str, document_id: str | None
) -> str:
    """Publish to the hub's ingress (confirmed); returns the message id."""
    message_id = uuid.uuid4().hex
    headers = {n.KIND: kind, n.SENDER: agency}
    if document_id:
        headers[n.DOCUMENT_ID] = document_id
    transport.publish(names.ingress_exchange, agency, signed, message_id=message_id, headers=headers)
    return message_id


# --- vb send --wait -------------------------------------------------------------------------------

_POLL_SECONDS = 0.2
# Every message looked at stays unacknowledged (and in memory) until the wait ends: a bound, so that a
# large backlog in the inbox cannot exhaust memory; past it the wait ends unanswered (``overflowed``).
MAX_SCANNED_MESSAGES = 2000
MAX_SCANNED_BYTES = DEFAULT_LIMITS.max_bytes  # at least one package at the size limit


@dataclass(frozen=True)
class Answer:
    """The first answer about one recipient: its own status, or the hub's 02 refusing it. ``recipient``
    is None for a hub's 02 refusing the whole package."""

    recipient: str | None
    code: StatusCode
    from_agency: str
    from_hub: bool
    description: str | None  # in the language its author wrote it in
    reason: str | None = None  # the hub's machine reason for a refusal (``x-vbus-refusal-reason``)


_HUB_REFUSED_ALL = Text("Trục liên thông từ chối văn bản ({code} {name})",
                        "The hub refused the document ({code} {name})")
_HUB_REFUSED = Text("{recipient}: trục liên thông từ chối gửi ({code} {name})",
                    "{recipient}: refused by the hub ({code} {name})")
_ANSWERED = Text("{recipient}: {code} {name}", "{recipient}: {code} {name}")
_SILENT = Text("Chưa có trả lời từ: {recipients}", "No answer yet from: {recipients}")
_OVERFLOWED = Text("Hộp thư đến còn quá nhiều thư cũ chưa xử lý để tìm kết quả; hãy chạy bộ kết nối",
                   "The inbox holds too many older messages to look through for the verdict; "
                   "run the connector")
_QUOTED = "    {description}"  # the author's own words, on a line of their own (in the author's language)


@dataclass
class Verdict:
    """What came back about one submitted package, so far."""

    recipients: tuple[str, ...]
    answers: list[Answer] = field(default_factory=list)
    overflowed: bool = False  # the inbox held more than the wait looks through (older messages)

    def add(self, answer: Answer) -> None:
        if answer.recipient is None or answer.recipient not in {a.recipient for a in self.answers}:
            self.answers.append(answer)

    @property
    def pending(self) -> list[str]:
        answered = {a.recipient for a in self.answers}
        return [r for r in self.recipients if r not in answered]

    @property
    def complete(self) -> bool:
        """The hub refused the whole package, or every recipient answered (a status sent has no
        recipient to answer it: only a refusal completes it)."""
        return any(a.recipient is None for a in self.answers) or bool(self.recipients and not self.pending)

    @property
    def refused(self) -> bool:
        return any(a.code is StatusCode.REFUSED for a in self.answers)

    def lines(self, lang: Lang) -> list[str]:
        """A line per answer in ``lang`` (for a hub's refusal, what happened, from its reason code);
        under it, indented, the reason as its author wrote it (the hub's or the recipient's language);
        then the recipients still silent."""
        out = []
        for a in self.answers:
            name = a.code.vietnamese if lang == "vi" else a.code.english
            values = {"recipient": a.recipient, "code": a.code.value, "name": name}
            if a.from_hub:
                line = (_HUB_REFUSED_ALL if a.recipient is None else _HUB_REFUSED).format(**values)(lang)
                known = refusal_named(a.reason)
                if known is not None:
                    line += f": {known.reason_vi if lang == 'vi' else known.reason_en}"
            else:
                line = _ANSWERED.format(**values)(lang)
            out.append(line)
            if a.description and (a.from_hub or a.code is StatusCode.REFUSED):
                out.append(_QUOTED.format(description=" ".join(a.description.split())))
        if self.overflowed:
            out.append(_OVERFLOWED(lang))
        if not self.complete and self.pending:
            out.append(_SILENT.format(recipients=", ".join(self.pending))(lang))
        return out


def wait_for_verdict(
    client: AgencyClient,
    *,
    message_id: str,
    document_id: str | None,
    recipients: tuple[str, ...],
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_messages: int = MAX_SCANNED_MESSAGES,
    max_bytes: int = MAX_SCANNED_BYTES,
) -> Verdict:
    """Read the agency's inbox for the hub's 02 about message ``message_id`` and the first status of
    each recipient about ``document_id``, until every recipient answered, the hub refused the whole
    package, or ``timeout`` seconds passed.

    Nothing is taken from the inbox: every message stays unacknowledged and goes back to the queue
    when the caller closes ``client.transport`` (the agency's connector still gets each of them). A
    connector consuming the same inbox at the same time may take an answer first: it then reaches the
    DMS, not this wait."""
    verdict = Verdict(recipients)
    inbox = client.names.inbox(client.agency)
    deadline = clock() + timeout
    scanned = scanned_bytes = 0
    while not verdict.complete:
        if scanned >= max_messages or scanned_bytes >= max_bytes:
            verdict.overflowed = True
            break
        delivery = client.transport.get(inbox)
        if delivery is None:
            if clock() >= deadline:
                break
            sleep(_POLL_SECONDS)
            continue
        scanned += 1
        scanned_bytes += len(delivery.body)
        for answer in _answers(client, delivery, message_id, document_id):
            verdict.add(answer)
    return verdict


def _answers(
    client: AgencyClient, delivery: Delivery, message_id: str, document_id: str | None
) -> list[Answer]:
    """The answers one message carries: a recipient's status, or the hub's 02 (one answer for each
    recipient it names, or one for the whole package)."""
    headers = delivery.headers
    kind = headers.get(n.KIND)
    from_hub = kind == n.KIND_REFUSAL
    if from_hub:
        if headers.get(n.REFUSED_MESSAGE_ID) != message_id:
            return []
    elif kind != n.KIND_STATUS or document_id is None or headers.get(n.DOCUMENT_ID) != document_id:
        return []
    try:
        package, signer = client.verify(delivery.body)
    except PackageRefused:
        return []  # not trustworthy: the connector parks it and says why
    if not isinstance(package, StatusPackage):
        return []
    if not from_hub and package.document_id != document_id:
        return []
    reason = headers.get(n.REFUSAL_REASON) if from_hub else None
    about: list[str | None] = list(refused_recipients(delivery)) or [None] if from_hub else [signer]
    return [Answer(r, package.status_code, signer, from_hub, package.description, reason) for r in about]
