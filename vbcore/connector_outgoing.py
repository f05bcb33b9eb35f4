"""Turning what a DMS hands over (``connector.Outgoing``) into signed package bytes ready to submit.

Kept apart from the runtime so the checks a vendor hits first ("From is not this agency", "no
recipient", "not a document package") are small and testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vbcore import schema
from vbcore.connector import Outgoing
from vbcore.edxml import read_package, write_package
from vbcore.errors import NotAnEdxmlPackage, PackageRefused, SenderNotAuthorised
from vbcore.model import Edoc
from vbcore.signing import SigningKey, sign_package


class NoRecipient(PackageRefused):
    """A document with no ``To``: there is nobody to send it to."""

    reason = "no-recipient"
    reason_vi = "Văn bản không có nơi nhận"
    reason_en = "The document has no recipient"


@dataclass(frozen=True)
class PreparedOutgoing:
    document_id: str
    recipients: tuple[str, ...]
    code: str | None
    promulgation_date: date | None
    signed: bytes  # the bytes to publish, signed with the agency's key (or by the DMS itself)


def prepare_outgoing(item: Outgoing, *, agency: str, key: SigningKey) -> PreparedOutgoing:
    """Check, sign and schema-check one outgoing document; ``PackageRefused`` says why it cannot be sent."""
    if item.edoc is not None:
        edoc = item.edoc
        _check(edoc, agency)
        signed = sign_package(write_package(edoc), key)
    else:
        assert item.edxml is not None
        package = read_package(item.edxml).package
        if not isinstance(package, Edoc):
            raise NotAnEdxmlPackage(
                "a status package cannot be sent as a document",
                vi="không thể gửi một gói tin trạng thái như một văn bản",
            )
        edoc = package
        _check(edoc, agency)
        # A DMS that signs its own packages (with this agency's certificate) is sent as is.
        signed = item.edxml if edoc.signature is not None else sign_package(item.edxml, key)
    # Checked here, before it leaves: the clerk sees the schema problem in the DMS at once, rather
    # than as a 02 from the hub later.
    schema.check(signed)
    return PreparedOutgoing(
        document_id=edoc.effective_document_id,
        recipients=edoc.recipients,
        code=str(edoc.code) or None,
        promulgation_date=edoc.promulgation_info.promulgation_date,
        signed=signed,
    )


def _check(edoc: Edoc, agency: str) -> None:
    if edoc.from_.organ_id != agency:
        raise SenderNotAuthorised(
            f"From/OrganId is {edoc.from_.organ_id}, but this connector sends as {agency}",
            vi=f"From/OrganId là {edoc.from_.organ_id}, nhưng trình kết nối này gửi với danh nghĩa {agency}",
        )
    if not edoc.recipients:
        raise NoRecipient(
            "the document has no recipient (To/OrganId)", vi="văn bản không có nơi nhận (To/OrganId)"
        )
