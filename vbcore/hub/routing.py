"""Who gets a package: addressees resolved against the directory, and the recipients of a
revoke, update or replace (docs/domain.md §5), which follow the original document."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from vbcore.deviations import ADDRESSEE_OLD_AND_NEW_CODE, Deviation
from vbcore.directory import Directory
from vbcore.errors import (
    AgencyError,
    ClosedAgencyCode,
    ClosedSender,
    ForeignDocumentId,
    InvalidAgencyCode,
    PackageRefused,
)
from vbcore.hub.checks import Relayed
from vbcore.identifiers import is_test_tenant, is_valid_code
from vbcore.model import Edoc, StatusPackage
from vbcore.status import BusinessDocType, StatusCode
from vbcore.store.api import KEY_SEPARATOR
from vbcore.transport import Outgoing
from vbcore.transport import names as n


@dataclass(frozen=True)
class Resolution:
    """Addressees split into those the hub delivers to and those it refuses (with the reason);
    ``merged``: one agency listed under a closed code and its current one, delivered once."""

    deliverable: tuple[str, ...]
    refused: tuple[tuple[str, PackageRefused], ...]
    merged: tuple[Deviation, ...] = ()


def resolve_recipients(directory: Directory, codes: Iterable[str], *, sender: str) -> Resolution:
    """Resolve each code; an unknown, closed or malformed one is refused, the others still delivered.

    A closed code whose current successor is listed too is the same agency written twice (a ministry
    under its old and new codes): it is delivered once, to the current code, with a warning."""
    listed = [code for code in dict.fromkeys(codes) if code != sender]
    old = superseded(directory, listed)
    ok: list[str] = []
    refused: list[tuple[str, PackageRefused]] = []
    for code in listed:
        if code in old:
            continue
        try:
            directory.resolve(code)
        except AgencyError as err:
            refused.append((code, err))
        else:
            ok.append(code)
    merged = tuple(Deviation(ADDRESSEE_OLD_AND_NEW_CODE, f"{code} -> {now}") for code, now in old.items())
    return Resolution(tuple(ok), tuple(refused), merged)


def superseded(directory: Directory, codes: Sequence[str]) -> dict[str, str]:
    """Of ``codes``, each closed one whose current successor (the end of its chain, open) is among
    them too: closed code -> current code. No code is derived: the directory names the successor."""
    listed = set(codes)
    found: dict[str, str] = {}
    for code in codes:
        try:
            directory.resolve(code)
        except ClosedAgencyCode as err:
            if err.successor is not None and err.successor in listed and _is_open(directory, err.successor):
                found[code] = err.successor
        except AgencyError:
            continue
    return found


def _is_open(directory: Directory, code: str) -> bool:
    try:
        directory.resolve(code)
    except AgencyError:
        return False
    return True


def check_sender_open(directory: Directory, sender: str, promulgated: date | None) -> None:
    """A document from a code the directory holds as closed is one that was in flight when the code
    closed: accepted when it was promulgated before the closing day (its receivers answer the closed
    code, whose statuses the hub still takes); otherwise refused naming where its mail goes now (a
    closed agency promulgates nothing new: its successor does). A sender the directory does not hold
    is not judged here (the broker user and the certificate already named it)."""
    try:
        directory.resolve(sender)
    except ClosedAgencyCode as closed:
        day = directory.closing_day(sender)
        if day is not None and promulgated is not None and promulgated < day:
            return
        dated = promulgated.isoformat() if promulgated else "?"
        raise ClosedSender(sender, closed.successor, day.isoformat() if day else "?", dated) from None
    except AgencyError:
        return


def addressed(message: Outgoing, directory: Directory, relayed: Relayed | None = None) -> Outgoing:
    """``message`` as the hub publishes it: to the inbox of the gateway its recipient is reached via,
    if any ("reached via" routing: the recipient stays in ``x-vbus-recipient`` and in the message id);
    and, for what a gateway relayed, with how it was let in (``x-vbus-relayed-by`` and the rest), which
    receivers believe from the hub only."""
    gateway = directory.gateway_of(message.routing_key)
    if gateway is None and relayed is None:
        return message
    headers = dict(message.headers)
    if relayed is not None:
        headers[n.RELAYED_BY] = relayed.gateway
        headers[n.SIGNATURE_VERDICT] = relayed.verdict
        headers[n.RELAY_POLICY] = relayed.policy
    return dataclasses.replace(message, routing_key=gateway or message.routing_key, headers=headers)


def document_owner(document_id: str) -> str | None:
    """The agency code a DocumentId begins with (``000.00.00.G22,2026/11/24,12/VPCP``: the code before
    the first comma), or None for ids without one (UUIDs and others that producers also write)."""
    head = document_id.split(",", 1)[0]
    return head if is_valid_code(head) or is_test_tenant(head) else None


def check_document_id(sender: str, document_id: str) -> None:
    """A DocumentId that begins with an agency code must begin with the sender's own."""
    owner = document_owner(document_id)
    if owner is not None and owner != sender:
        raise ForeignDocumentId(document_id, owner=owner, sender=sender)


def check_sender_code(sender: str) -> None:
    """``document_key`` keeps senders apart only if their codes hold neither separator."""
    if KEY_SEPARATOR in sender or "," in sender:
        raise InvalidAgencyCode(f"{sender!r} is not an agency code", vi=f"{sender!r} không phải mã định danh")


def document_key(sender: str, document_id: str) -> str:
    """The id the hub tracks the document (sender, DocumentId) under: the DocumentId itself when it
    begins with the sender's code (the usual shape, which no other sender may use), else
    ``<sender>|<DocumentId>``: two senders writing one UUID never share a record."""
    if document_owner(document_id) == sender:
        return document_id
    return f"{sender}{KEY_SEPARATOR}{document_id}"


def status_owner(status: StatusPackage) -> str | None:
    """Whose document a status is about: a revoke (13) only ever about its sender's own; any other
    about the agency whose code the DocumentId begins with, else its ``ResponseFor/OrganId``."""
    if status.status_code is StatusCode.REVOKE:
        return status.from_.organ_id
    return document_owner(status.document_id or "") or status.response_for.organ_id or None


def listed_recipients(edoc: Edoc) -> int:
    """How many recipients the package itself lists: its ``To``, and the receivers an update adds or
    removes and a replace names (what ``HubConfig.max_recipients`` caps)."""
    count = len(edoc.to)
    business = edoc.business
    if business is not None:
        if business.business_document_info is not None:
            count += len(business.business_document_info.receivers)
        count += sum(len(info.organ_ids) for info in business.replacement_info)
    return count


def related_document_ids(edoc: Edoc) -> tuple[str, ...]:
    """The documents a revoke/update (``Bussiness/DocumentId``) or replace (``ReplacementInfo``) acts on."""
    business = edoc.business
    if business is None or edoc.business_type is BusinessDocType.NEW:
        return ()
    if edoc.business_type is BusinessDocType.REPLACE:
        ids = [r.document_id for r in business.replacement_info]
        if not ids and business.document_id:
            ids = [business.document_id]
        return tuple(dict.fromkeys(ids))
    return (business.document_id,) if business.document_id else ()


def change_recipients(edoc: Edoc, original_recipients: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Everyone concerned by a change: the originals' recipients, the package's own addressees, and for
    an update every receiver it adds or removes (a removed one must learn it so it can cancel), for a
    replace the agencies listed in ``ReplacementInfo``."""
    codes: list[str] = [c for group in original_recipients for c in group]
    codes.extend(edoc.recipients)
    business = edoc.business
    if business is not None:
        if business.business_document_info is not None:
            codes.extend(r.organ_id for r in business.business_document_info.receivers)
        for info in business.replacement_info:
            codes.extend(info.organ_ids)
    return tuple(dict.fromkeys(c for c in codes if c != edoc.from_.organ_id))


def tracking_document_id(edoc: Edoc, related: Sequence[str], sha256: str) -> str:
    """The id the hub tracks a package under: its ``document_key``, unless a revoke/update/replace
    reuses the original's DocumentId (``related`` are the originals' keys), in which case a stable
    suffix keeps the two apart."""
    key = document_key(edoc.from_.organ_id, edoc.effective_document_id)
    if edoc.business_type is not BusinessDocType.NEW and key in related:
        return f"{key}#{edoc.business_type.name.lower()}-{sha256[:12]}"
    return key
