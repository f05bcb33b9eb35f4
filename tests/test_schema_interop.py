"""Every well-formed package that real producers emit validates against the shipped schemas.

The samples are the interoperability corpus (``VBUS_INTEROP_DIR``, see ``tests/interop.py`` and the
corpus's ORIGINS.md), read through the ``interop_dir`` fixture. Three of them use the ``xlink:``
prefix (two also ``edXML:``) without declaring it; like the edXML reader, the test declares the
prefix on the root element first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from interop import interop_files
from lxml import etree

from vbcore.edxml import schema

# Listed at collection time for the parametrisation; the fixture (which skips, or fails in CI, when the
# folder is missing) is what the tests read from.
SAMPLE_NAMES = sorted(p.name for p in interop_files() if p.suffix in {".edxml", ".xml"})

# ORIGINS.md: not well-formed even after the prefix repair.
NOT_WELL_FORMED = {
    "vpcp-sdk-sample__edoc_new.edxml": "stray text before the XML declaration",
    "lgsp-quangnam__resources__edoc.edxml": "a mismatched end tag",
}

PREFIXES = {"xlink": "http://www.w3.org/1999/xlink", "edXML": "http://www.mic.gov.vn/TBT/QCVN_102_2016"}
STATUS_SAMPLES = {name for name in SAMPLE_NAMES if "__status" in name}


def declare_undeclared_prefixes(data: bytes) -> bytes:
    """Declare xlink: and edXML: on the root start tag unless it declares them already.

    Declaring a prefix again on the root, with the one namespace it means, is harmless where an
    inner element declares it too.
    """
    root_tag = re.search(rb"<edXML\b[^>]*>", data)
    assert root_tag is not None
    missing = [p for p in PREFIXES if f"xmlns:{p}=".encode() not in root_tag.group()]
    declarations = b"".join(f' xmlns:{p}="{PREFIXES[p]}"'.encode() for p in missing)
    at = root_tag.start() + len(b"<edXML")
    return data[:at] + declarations + data[at:]


def sample_tree(folder: Path, name: str) -> etree._Element:
    return etree.fromstring(declare_undeclared_prefixes((folder / name).read_bytes()))


def test_the_interop_samples_are_there(interop_dir: Path) -> None:
    assert len(SAMPLE_NAMES) >= 30, f"expected the interop samples in {interop_dir}"


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if n not in NOT_WELL_FORMED])
def test_well_formed_interop_sample_validates(interop_dir: Path, name: str) -> None:
    root = sample_tree(interop_dir, name)
    assert schema.validate(root) == []
    assert schema.package_kind(root) == ("status" if name in STATUS_SAMPLES else "document")


@pytest.mark.parametrize("name", sorted(NOT_WELL_FORMED))
def test_known_broken_samples_are_not_well_formed(interop_dir: Path, name: str) -> None:
    with pytest.raises(etree.XMLSyntaxError):
        sample_tree(interop_dir, name)


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if n not in NOT_WELL_FORMED])
def test_well_formed_interop_sample_validates_from_its_raw_bytes(interop_dir: Path, name: str) -> None:
    # The hardened parser repairs the undeclared prefixes itself.
    assert schema.validate((interop_dir / name).read_bytes()) == []


def test_xmlschema_agrees_on_a_sample_of_each_producer(interop_dir: Path) -> None:
    for name in [
        "bkav__edoc-webapp__edoc_update.edxml",
        "lgsp-quangnam__received__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",
        "pvn-gateway__received__2025__10__9e272474-0603-48a2-b525-9cd1af689612.edxml",
        "vpcp-sdk-sample__edoc.edxml",
        "vpcp-sdk-sample__edoc_replacement.edxml",
        "vpcp-sdk-sample__status_rejection_02.edxml",
    ]:
        assert schema.explain(sample_tree(interop_dir, name)) == [], name
