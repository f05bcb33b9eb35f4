"""read(write(x)) == x for generated documents and statuses (interop samples: test_edxml_interop)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from strategies import businesses, edocs, organizations, statuses

from vbcore.edxml import read_package, write_package
from vbcore.edxml.deviation_rules import sender_deviation
from vbcore.model import Business, Edoc, Organization, StatusPackage


def expected_warnings(package: Edoc | StatusPackage) -> list[str]:
    """What a package vbus wrote (unsigned: it is signed afterwards) is named for: its sender, when it
    is a test tenant's id, and that it is unsigned; nothing else."""
    shape = sender_deviation(package.from_.organ_id)
    return [*([shape] if shape else []), "unsigned"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edocs())
def test_generated_document_survives_write_and_read(doc: Edoc) -> None:
    result = read_package(write_package(doc))
    assert result.package == doc
    assert [w.code for w in result.warnings] == expected_warnings(doc)


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
    assert [w.code for w in result.warnings] == expected_warnings(status)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edocs())
def test_writing_the_same_document_twice_gives_the_same_bytes(doc: Edoc) -> None:
    assert write_package(doc) == write_package(doc)
