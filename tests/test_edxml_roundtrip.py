"""read(write(x)) == x: for every interop sample and for generated documents and statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from strategies import businesses, edocs, organizations, statuses
from vbcore.edxml import read_package, write_package
from vbcore.model import Business, Edoc, Organization, StatusPackage

READABLE = [
    "bkav__edoc-service__edoc_new.edxml",
    "bkav__edoc-service__status_processing_05.edxml",
    "bkav__edoc-webapp__edoc_update.edxml",
    "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",
    "lgsp-quangnam__resources__edoc_new.edxml",
    "pvn-gateway__received__2019__5__852e179c-8eca-4502-ac38-0b97321f29c3.edxml",
    "pvn-gateway__received__2025__10__874e0f18-90dc-45fb-989a-65401470ba84.edxml",
    "pvn-gateway__received__2025__10__9e272474-0603-48a2-b525-9cd1af689612.edxml",
    "pvn-gateway__test_user_edxml.xml",
    "pvn-gateway__uploads__1da394ba-2117-4354-a23f-6ec3e47ba81b.edxml",
    "pvn-gateway__uploads__1f881896-6e3a-4a5f-87f1-c380878e148e.edxml",
    "pvn-gateway__uploads__b6e1f29d-cdc9-4fa7-8391-442e8566f14e.edxml",
    "pvn-gateway__uploads__bb5d2f68-bbce-49da-aa9a-2197cabec3bf.edxml",
    "pvn-gateway__uploads__bdb98a62-a2be-4c25-9075-8dcdbcdb1402.edxml",
    "vpcp-sdk-sample__edoc_new.edxml__attachment-unzipped__32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml",
    "vpcp-sdk-sample__edoc_replacement.edxml",
    "vpcp-sdk-sample__edoc_revocation.edxml",
    "vpcp-sdk-sample__edoc_update.edxml",
    "vpcp-sdk-sample__status.edxml",
    "vpcp-sdk-sample__status_acceptance_03.edxml",
    "vpcp-sdk-sample__status_assignment_04.edxml",
    "vpcp-sdk-sample__status_cancellation_13.edxml",
    "vpcp-sdk-sample__status_change-acceptance_15.edxml",
    "vpcp-sdk-sample__status_change-rejection_16.edxml",
    "vpcp-sdk-sample__status_finish_06.edxml",
    "vpcp-sdk-sample__status_inbox__01.edxml",
    "vpcp-sdk-sample__status_processing_05.edxml",
    "vpcp-sdk-sample__status_rejection_02.edxml",
]


@pytest.mark.parametrize("name", READABLE)
def test_interop_sample_survives_write_and_read_again(interop_dir: Path, name: str) -> None:
    first = read_package(interop_dir / name).package
    again = read_package(write_package(first))
    assert again.package == first
    assert again.warnings == ()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edocs())
def test_generated_document_survives_write_and_read(doc: Edoc) -> None:
    result = read_package(write_package(doc))
    assert result.package == doc
    assert result.warnings == ()


@settings(max_examples=60, deadline=None)
@given(businesses(), organizations)
def test_every_business_type_survives_write_and_read(business: Business | None, sender: Organization) -> None:
    doc = Edoc(from_=sender, to=(sender,), business=business)
    assert read_package(write_package(doc)).package == doc


@settings(max_examples=60, deadline=None)
@given(statuses())
def test_generated_status_survives_write_and_read(status: StatusPackage) -> None:
    result = read_package(write_package(status))
    assert result.package == status
    assert result.warnings == ()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edocs())
def test_writing_the_same_document_twice_gives_the_same_bytes(doc: Edoc) -> None:
    assert write_package(doc) == write_package(doc)
