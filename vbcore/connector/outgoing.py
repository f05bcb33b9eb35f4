"""What the agency sends: what a DMS hands over (``connector.Outgoing``) made into signed package
bytes ready to submit, and the status packages the runtime signs and submits (``StatusSender``).

Kept apart from the runtime so the checks a vendor hits first ("From is not this agency", "no
recipient", "not a document package") are small and testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from vbcore.connector import Outgoing
from vbcore.edxml import read_package, schema, write_package
from vbcore.errors import NoRecipient, NotAnEdxmlPackage, SenderNotAuthorised
from vbcore.model import Edoc, Organization, ResponseFor, StaffInfo, StatusPackage
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.timezones import utc_now, vietnam_local

if TYPE_CHECKING:
    from vbcore.agency import AgencyClient


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
            raise NotAnEdxmlPackage("a status package cannot be sent as a document",
                                    vi="gói tin trạng thái không gửi được như một văn bản")
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
            vi=f"From/OrganId là {edoc.from_.organ_id}, nhưng kết nối này gửi với tư cách {agency}",
        )
    if not edoc.recipients:
        raise NoRecipient("the document has no recipient (To/OrganId)",
                          vi="văn bản không có nơi nhận (To/OrganId)")


class StatusSender:
    """Signs and submits the agency's statuses (01..06, 02, 13, 15, 16) through its client."""

    def __init__(self, client: AgencyClient, organization: Organization) -> None:
        self.client = client
        self.organization = organization

    def send(
        self,
        response_for: ResponseFor,
        code: StatusCode,
        description: str | None,
        staff: StaffInfo | None = None,
        at: datetime | None = None,
    ) -> None:
        """One status about ``response_for`` (the document, and the party the status is for); confirmed
        by the broker before it returns. ``at`` is Vietnam local time (now when None)."""
        status = StatusPackage(
            from_=self.organization,
            response_for=response_for,
            status_code=code,
            staff_info=staff or StaffInfo(),
            description=description,
            timestamp=at or vietnam_local(utc_now()).replace(microsecond=0),
        )
        self.client.submit(status)
