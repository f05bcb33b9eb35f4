"""Who gets a package: the routing rules on their own (no broker, no store)."""

from __future__ import annotations

import dataclasses

from test_hub_support import CLOSED_QUANG_NAM, G22, H15, H24, H56, edoc

from vbcore.directory import Directory
from vbcore.hub import routing
from vbcore.model import Business, BusinessDocumentInfo, Receiver, ReplacementInfo
from vbcore.status import BusinessDocType, ReceiverType

ORIGINAL = "000.00.00.G22,2026/11/24,1/VB"


def test_unknown_and_closed_addressees_are_refused_and_the_rest_kept_in_order() -> None:
    resolution = routing.resolve_recipients(
        Directory.default(), [H56, CLOSED_QUANG_NAM, "000.00.00.G99", H24, H56], sender=G22
    )
    assert resolution.deliverable == (H56, H24)
    assert [(code, err.reason) for code, err in resolution.refused] == [
        (CLOSED_QUANG_NAM, "closed-agency"),
        ("000.00.00.G99", "unknown-agency"),
    ]


def test_a_sender_addressing_itself_is_not_a_recipient() -> None:
    assert routing.resolve_recipients(Directory.default(), [G22, H24], sender=G22).deliverable == (H24,)


def test_an_update_reaches_the_originals_recipients_and_every_receiver_it_adds_or_removes() -> None:
    update = edoc(
        G22, [H24], "2",
        business=Business(
            BusinessDocType.UPDATE, document_id=ORIGINAL,
            business_document_info=BusinessDocumentInfo(
                receivers=(Receiver(H56, ReceiverType.REMOVED), Receiver(H15, ReceiverType.ADDED))
            ),
        ),
    )  # fmt: skip
    assert routing.related_document_ids(update) == (ORIGINAL,)
    assert routing.change_recipients(update, [[H24, H56]]) == (H24, H56, H15)


def test_a_replace_names_every_document_it_replaces() -> None:
    replace = edoc(
        G22, [H24], "3",
        business=Business(
            BusinessDocType.REPLACE,
            replacement_info=(
                ReplacementInfo(ORIGINAL, (H24,)),
                ReplacementInfo("000.00.00.G22,x,9/VB", (H15,)),
            ),
        ),
    )  # fmt: skip
    assert routing.related_document_ids(replace) == (ORIGINAL, "000.00.00.G22,x,9/VB")
    assert routing.change_recipients(replace, [[H24], [H56]]) == (H24, H56, H15)


def test_a_revoke_reusing_the_originals_document_id_is_tracked_under_its_own_id() -> None:
    revoke = dataclasses.replace(
        edoc(G22, [H24], "1"), business=Business(BusinessDocType.REVOKE, document_id=ORIGINAL)
    )
    assert revoke.effective_document_id == ORIGINAL
    tracked = routing.tracking_document_id(revoke, (ORIGINAL,), "ab" * 32)
    assert tracked != ORIGINAL
    assert tracked.startswith(ORIGINAL + "#revoke-")
    assert routing.tracking_document_id(revoke, (ORIGINAL,), "ab" * 32) == tracked  # stable on redelivery


def test_a_new_document_is_tracked_under_its_document_id() -> None:
    doc = edoc(G22, [H24], "1")
    assert routing.related_document_ids(doc) == ()
    assert routing.tracking_document_id(doc, (), "00" * 32) == ORIGINAL
