"""What the hub publishes: forwarded packages (the sender's bytes, the hub's trace in headers) and its
own signed refusal statuses (StatusCode 02; docs/architecture.md, "Refusals")."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from vbcore.edxml import write_package
from vbcore.errors import PackageRefused
from vbcore.hub.config import HubConfig
from vbcore.lang import Lang, Text
from vbcore.model import Organization, ResponseFor, StatusPackage
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.timezones import vietnam_local
from vbcore.transport import Outgoing
from vbcore.transport import names as n

MAX_DESCRIPTION = 2000
"""Characters of a 02's Description at most: the reason names what is wrong (a certificate, a
DocumentId, a list of recipients), but a hostile package must not make the hub sign megabytes."""

# What XML 1.0 cannot carry (``Char`` production): C0 controls but tab, newline and carriage return;
# surrogates; U+FFFE and U+FFFF. lxml raises on any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LAST_RESORT = Text(
    vi="trục không ghi được chi tiết lý do vào trạng thái này; người vận hành đã được báo "
    "(mã tham chiếu {reference})",
    en="the hub could not write the detail of the reason into this status; its operator was told "
    "(reference {reference})",
)
_REFERENCE = Text(vi=" (mã tham chiếu {reference})", en=" (reference {reference})")


def safe_text(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` as a 02 can carry it and the store can keep it: each character XML cannot hold written
    as a visible escape (``\\x01``, ``\\ud800``), so a certificate's subject stays recognisable; cut at
    ``limit`` characters."""
    safe = _NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def new_reference() -> str:
    """A short id the hub gives a fault, for the sender to quote and the operator to find."""
    return uuid.uuid4().hex[:12]


def last_resort_description(error: PackageRefused, reference: str, lang: Lang) -> str:
    """A 02's text built from fixed words only: which check refused the package, and a reference."""
    head = error.reason_en if lang == "en" else error.reason_vi
    return f"{head}: {_LAST_RESORT.format(reference=reference)(lang)}"


def with_reference(detail: str, reference: str, lang: Lang) -> str:
    return detail + _REFERENCE.format(reference=reference)(lang)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def forward(
    config: HubConfig,
    body: bytes,
    *,
    kind: str,
    to: Iterable[str],
    id_prefix: str,
    document_id: str,
    sender: str,
    at: datetime,
) -> list[Outgoing]:
    """The original signed bytes to each inbox in ``to``, as message ``<id_prefix>|<code>`` (the same id
    when published again after a crash); the hub's trace goes in headers, never the bytes."""
    return [
        Outgoing(
            config.names.delivery_exchange,
            code,
            body,
            f"{id_prefix}|{code}",
            {
                n.KIND: kind,
                n.DOCUMENT_ID: document_id,
                n.SENDER: sender,
                n.RECIPIENT: code,
                n.HUB_ID: config.hub_id,
                n.RECEIVED_AT: iso(at),
                n.FORWARDED_AT: iso(at),
            },
        )
        for code in to
    ]


def refusal_status(
    config: HubConfig, *, addressee: str, document_id: str | None, description: str, at: datetime
) -> StatusPackage:
    return StatusPackage(
        from_=Organization(organ_id=config.hub_id, organ_name=config.hub_name),
        response_for=ResponseFor(organ_id=addressee, document_id=document_id),
        status_code=StatusCode.REFUSED,
        description=description,
        timestamp=vietnam_local(at),
    )


def refusal(
    config: HubConfig,
    key: SigningKey,
    *,
    reason: str,
    description: str,
    sender: str,
    refused_message_id: str,
    document_id: str | None,
    recipients: Sequence[str],
    at: datetime,
    tracking_id: str | None = None,
) -> Outgoing:
    """A signed 02 from the hub to ``sender``'s inbox, naming the precise reason (``description``,
    made XML-safe here whatever it holds). Its ``ResponseFor/DocumentId`` is ``document_id`` as the
    sender wrote it; the id the hub tracks it under (``tracking_id``) goes in a header. Raises if the
    02 cannot be written or signed. ``recipients`` are the refused recipients (none: the whole package
    was refused), listed in a header for the sender's connector (``MAX_LISTED_REFUSED`` at most)."""
    status = refusal_status(
        config, addressee=sender, document_id=document_id, description=safe_text(description), at=at
    )
    body = sign_package(write_package(status), key)
    headers = {
        n.KIND: n.KIND_REFUSAL,
        n.SENDER: config.hub_id,
        n.RECIPIENT: sender,
        n.HUB_ID: config.hub_id,
        n.REFUSAL_REASON: reason,
        n.REFUSED_MESSAGE_ID: refused_message_id,
        n.FORWARDED_AT: iso(at),
    }
    if tracked := tracking_id or document_id:
        headers[n.DOCUMENT_ID] = tracked
    if recipients:
        headers[n.REFUSED_RECIPIENTS] = " ".join(recipients[: n.MAX_LISTED_REFUSED])
    about = recipients[0] if len(recipients) == 1 else ""
    message_id = f"refusal|{refused_message_id}|{about}"
    return Outgoing(config.names.delivery_exchange, sender, body, message_id, headers)
