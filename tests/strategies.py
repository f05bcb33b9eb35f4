"""Hypothesis strategies for generated edXML documents and statuses (others may import these).

``edocs()`` and ``statuses()`` build model objects that the wire format can carry exactly: text is
Vietnamese with diacritics, stripped and non-empty (the reader strips values and reads an empty
element as absent), timestamps have whole seconds, attachments are zipped or raw, and every
business type appears with the fields that go with it.
"""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import strategies as st

from vbcore.model import (
    Attachment,
    Blob,
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentType,
    Edoc,
    ManifestReference,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from vbcore.status import BusinessDocType, ReceiverType, StatusCode

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
ALPHABET = VIETNAMESE + VIETNAMESE.upper() + "0123456789 ,.-/()&<>\"'"

words = st.text(alphabet=ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
maybe_words = st.none() | words
# Attachment names as the reader hands them on (vbcore.edxml.safe_names): one file name, no "/".
file_names = st.builds(
    lambda word, ext: word.replace("/", "-") + ext, words, st.sampled_from([".pdf", ".txt", ".doc", ""])
).filter(lambda name: name.strip("."))
small_ints = st.integers(min_value=0, max_value=9999)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
timestamps = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0)
)


@st.composite
def agency_codes(draw: st.DrawFn) -> str:
    """``LLL.KK.JJ.XNN`` codes, and now and then a test tenant id like ``vxp.saas.03``."""
    if draw(st.integers(0, 9)) == 0:
        return f"vxp.saas.{draw(st.integers(1, 99)):02d}"
    letter = draw(st.sampled_from("GHKA"))
    parts = (
        draw(st.integers(0, 999)),
        draw(st.integers(0, 99)),
        draw(st.integers(0, 99)),
        draw(st.integers(1, 99)),
    )
    return f"{parts[0]:03d}.{parts[1]:02d}.{parts[2]:02d}.{letter}{parts[3]:02d}"


organizations = st.builds(
    Organization,
    organ_id=agency_codes(),
    organ_name=maybe_words,
    organization_in_charge=maybe_words,
    organ_add=maybe_words,
    email=st.none() | st.emails(),
    telephone=st.none() | st.from_regex(r"\+?[0-9][0-9 ]{5,13}[0-9]", fullmatch=True),
    fax=maybe_words,
    website=maybe_words,
)
staff = st.builds(StaffInfo, department=maybe_words, staff=maybe_words, email=maybe_words, mobile=maybe_words)
response_fors = st.builds(
    ResponseFor,
    organ_id=st.none() | agency_codes(),
    code=maybe_words,
    promulgation_date=st.none() | dates,
    document_id=maybe_words,
)

CONTENT_TYPES = [
    "application/pdf",
    "text/plain",
    "application/msword",
    "image/png",
    "application/octet-stream",
]


@st.composite
def attachments(draw: st.DrawFn) -> Attachment:
    zipped = draw(st.booleans())
    data = draw(st.binary(max_size=2048))
    if not zipped and data.startswith(b"PK\x03\x04"):
        data = b"x" + data  # raw content that looks like a ZIP would read back as a wrapper
    return Attachment(
        content_id=f"cid:{draw(st.uuids())}",
        name=draw(file_names),
        content=Blob(data),
        content_type=draw(st.sampled_from(CONTENT_TYPES)),
        description=draw(maybe_words),
        zipped=zipped,
    )


@st.composite
def businesses(draw: st.DrawFn) -> Business | None:
    kind = draw(st.none() | st.sampled_from(list(BusinessDocType)))
    if kind is None:
        return None
    info = None
    replacements: tuple[ReplacementInfo, ...] = ()
    if kind is BusinessDocType.UPDATE:
        receivers = draw(
            st.lists(
                st.builds(
                    Receiver, organ_id=agency_codes(), receiver_type=st.sampled_from(list(ReceiverType))
                )
            )
        )
        info = BusinessDocumentInfo(
            draw(st.none() | st.sampled_from(["0", "1"])), draw(maybe_words), tuple(receivers)
        )
    if kind is BusinessDocType.REPLACE:
        replacements = tuple(
            draw(
                st.lists(
                    st.builds(
                        ReplacementInfo,
                        document_id=words,
                        organ_ids=st.lists(agency_codes(), max_size=3).map(tuple),
                    ),
                    min_size=1,
                    max_size=3,
                )
            )
        )
    return Business(
        business_doc_type=kind,
        document_id=draw(maybe_words),
        business_doc_reason=draw(maybe_words) if kind is not BusinessDocType.NEW else None,
        paper=draw(st.none() | st.integers(0, 1)),
        staff_info=draw(st.none() | staff),
        business_document_info=info,
        replacement_info=replacements,
    )


@st.composite
def edocs(draw: st.DrawFn) -> Edoc:
    atts = tuple(draw(st.lists(attachments(), max_size=3, unique_by=lambda a: a.content_id)))
    manifest = tuple(ManifestReference(a.content_id, a.content_type, a.description, a.name) for a in atts)
    other = st.builds(
        OtherInfo,
        priority=st.none() | st.integers(0, 4),
        sphere_of_promulgation=maybe_words,
        typer_notation=maybe_words,
        promulgation_amount=st.none() | small_ints,
        page_amount=st.none() | small_ints,
        direction=st.none() | st.booleans(),
        appendixes=st.lists(words, max_size=3).map(tuple),
    )
    return Edoc(
        from_=draw(organizations),
        to=tuple(draw(st.lists(organizations, min_size=1, max_size=4))),
        document_id=draw(maybe_words),
        code=Code(draw(st.none() | st.integers(1, 99999).map(str)), draw(maybe_words)),
        promulgation_info=PromulgationInfo(draw(maybe_words), draw(st.none() | dates)),
        document_type=DocumentType(draw(st.none() | st.integers(1, 2)), draw(maybe_words), draw(maybe_words)),
        subject=draw(maybe_words),
        content=draw(maybe_words),
        signer_info=SignerInfo(draw(maybe_words), draw(maybe_words), draw(maybe_words)),
        due_date=draw(st.none() | dates),
        to_places=tuple(draw(st.lists(words, max_size=3))),
        other_info=draw(other),
        response_for=tuple(draw(st.lists(response_fors.filter(lambda r: r != ResponseFor()), max_size=2))),
        steering_type=draw(st.none() | st.integers(0, 2)),
        trace_headers=tuple(
            draw(st.lists(st.builds(TraceHeader, organ_id=agency_codes(), timestamp=st.none() | timestamps)))
        ),
        business=draw(businesses()),
        manifest=manifest,
        attachments=atts,
    )


def statuses() -> st.SearchStrategy[StatusPackage]:
    return st.builds(
        StatusPackage,
        from_=organizations,
        response_for=response_fors,
        status_code=st.sampled_from(list(StatusCode)),
        staff_info=staff,
        description=maybe_words,
        timestamp=st.none() | timestamps,
    )
