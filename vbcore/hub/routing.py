"""Who gets a package: addressees resolved against the directory, and the recipients of a
revoke, update or replace (domain.md §5), which follow the original document."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vbcore.directory import Directory
from vbcore.errors import AgencyError, PackageRefused
from vbcore.model import Edoc
from vbcore.status import BusinessDocType


@dataclass(frozen=True)
class Resolution:
    """Addressees split into those the hub delivers to and those it refuses (with the reason)."""

    deliverable: tuple[str, ...]
    refused: tuple[tuple[str, PackageRefused], ...]


def resolve_recipients(directory: Directory, codes: Iterable[str], *, sender: str) -> Resolution:
    """Resolve each code; an unknown, closed or malformed one is refused, the others still delivered."""
    ok: list[str] = []
    refused: list[tuple[str, PackageRefused]] = []
    for code in dict.fromkeys(codes):
        if code == sender:
            continue
        try:
            directory.resolve(code)
        except AgencyError as err:
            refused.append((code, err))
        else:
            ok.append(code)
    return Resolution(tuple(ok), tuple(refused))


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
    """The id the hub tracks a package under: its DocumentId, unless a revoke/update/replace reuses
    the original's DocumentId, in which case a stable suffix keeps the two apart."""
    document_id = edoc.effective_document_id
    if edoc.business_type is not BusinessDocType.NEW and document_id in related:
        return f"{document_id}#{edoc.business_type.name.lower()}-{sha256[:12]}"
    return document_id
