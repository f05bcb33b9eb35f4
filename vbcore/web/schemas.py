"""What the HTTP API returns, as pydantic models: FastAPI writes the OpenAPI description from them, and
schemathesis checks every answer of the running server against it (``tests/test_web_openapi.py``).

Machine values stay as the store has them (codes, reasons, states, UTC times); each carries beside it
the text for people in the language asked (``*_text``), from the same functions ``vb track`` uses.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class UserOut(BaseModel):
    username: str
    role: str = Field(description="viewer, operator or agency")
    agency: str | None = None
    agency_name: str | None = None
    may_act: bool = Field(description="may replay and drop parked messages")


class RecipientBrief(BaseModel):
    recipient: str
    name: str | None
    state: str
    state_text: str
    overdue: bool


class DocumentOut(BaseModel):
    document_id: str = Field(
        description="the id the hub tracks it under (SENDER|ID when the id lacks the code)"
    )
    written_id: str | None = Field(description="the DocumentId as the sender wrote it")
    sender: str
    sender_name: str | None
    type_name: str | None
    code: str | None = Field(description="number/notation")
    subject: str | None
    business: str = Field(description="new, revoke, update or replace")
    business_text: str
    received_at: datetime
    related_document_id: str | None
    recipients: list[RecipientBrief] = []


class Paged(BaseModel):
    total: int
    page: int
    per_page: int


class DocumentPage(Paged):
    items: list[DocumentOut]


class UnderstoodOut(BaseModel):
    kind: str
    kind_text: str
    text: str
    value: str
    label: str


class SearchOut(BaseModel):
    understood: list[UnderstoodOut]
    results: DocumentPage


class StatusOut(BaseModel):
    document_id: str
    code: str
    code_text: str
    status_time: str | None = Field(description="as the status package wrote it (Vietnam time, no zone)")
    received_at: datetime
    from_agency: str
    description: str | None


class RecipientTimelineOut(BaseModel):
    recipient: str
    name: str | None
    state: str
    state_text: str
    last_status: str | None
    last_status_at: datetime | None
    change: str | None
    change_text: str | None
    accepted_at: datetime
    forwarded_at: datetime | None
    deadline: datetime | None
    overdue: bool
    late_by_seconds: float | None
    late_text: str | None
    statuses: list[StatusOut]


class RefusalOut(BaseModel):
    at: datetime
    message_id: str
    sender: str | None
    sender_name: str | None
    document_id: str | None
    recipient: str | None
    reason: str
    reason_text: str
    detail: str


class TraceOut(BaseModel):
    at: datetime
    hub_id: str
    event: str


class ActionOut(BaseModel):
    at: datetime
    actor: str
    action: str
    message_id: str
    outcome: str


class TimelineOut(BaseModel):
    document_id: str
    document: DocumentOut | None
    related: list[DocumentOut]
    recipients: list[RecipientTimelineOut]
    refusals: list[RefusalOut]
    trace: list[TraceOut]
    actions: list[ActionOut]


class OverdueOut(BaseModel):
    document_id: str
    code: str | None
    subject: str | None
    sender: str | None
    sender_name: str | None
    recipient: str
    recipient_name: str | None
    state: str
    state_text: str
    deadline: datetime
    late_by_seconds: float
    late_text: str


class OverduePage(Paged):
    now: datetime
    items: list[OverdueOut]


class RefusalPage(Paged):
    items: list[RefusalOut]


class ParkedOut(BaseModel):
    message_id: str
    reason: str | None
    reason_text: str
    parked_from: str | None
    sender: str | None
    kind: str | None
    document_id: str | None
    size: int
    replayable: bool


class ParkedPage(Paged):
    items: list[ParkedOut]


class ParkedAction(BaseModel):
    message_id: str = Field(min_length=1, max_length=512)


class ActionResultOut(BaseModel):
    outcome: str = Field(description="done, not-found or not-replayable")
    message_id: str
    text: str


class QueueOut(BaseModel):
    name: str
    messages: int
    consumers: int | None
    alarm: bool


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    closed: bool
    successor: str | None


class AgencyPage(Paged):
    items: list[AgencyOut]


class HourOut(BaseModel):
    hour: datetime
    documents: int


class FirstReceiptOut(BaseModel):
    recipient: str
    name: str | None
    answered: int
    waiting: int
    median_seconds: float | None
    p90_seconds: float | None


class ReasonCountOut(BaseModel):
    reason: str
    reason_text: str
    count: int
