"""What the hub publishes: forwarded packages (the sender's bytes, the hub's trace in headers) and its
own signed refusal statuses (StatusCode 02, hub_shared.md "Statuses from the hub")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vbcore.edxml import write_package
from vbcore.errors import PackageRefused
from vbcore.hub.config import HubConfig, vietnam_local
from vbcore.model import Organization, ResponseFor, StatusPackage
from vbcore.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import Outgoing
from vbcore.transport import names as n


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
    error: PackageRefused,
    *,
    sender: str,
    refused_message_id: str,
    document_id: str | None,
    recipient: str | None,
    at: datetime,
) -> Outgoing:
    """A signed 02 from the hub to ``sender``'s inbox, naming the precise reason."""
    status = refusal_status(
        config, addressee=sender, document_id=document_id, description=error.describe(config.lang), at=at
    )
    body = sign_package(write_package(status), key)
    headers = {
        n.KIND: n.KIND_REFUSAL,
        n.SENDER: config.hub_id,
        n.RECIPIENT: sender,
        n.HUB_ID: config.hub_id,
        n.REFUSAL_REASON: error.reason,
        n.REFUSED_MESSAGE_ID: refused_message_id,
        n.FORWARDED_AT: iso(at),
    }
    if document_id is not None:
        headers[n.DOCUMENT_ID] = document_id
    message_id = f"refusal|{refused_message_id}|{recipient or ''}"
    return Outgoing(config.names.delivery_exchange, sender, body, message_id, headers)
