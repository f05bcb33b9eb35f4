"""What vbus itself writes and signs validates against the schemas it checks others with."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from vbcore import schema
from vbcore.edxml import DSIG_NS, read_package, write_package
from vbcore.hub.config import HubConfig
from vbcore.hub.replies import refusal_status
from vbcore.pki import init_dev_pki
from vbcore.signing import SigningKey, sign_package

_SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "interop" / "edxml"

# Not well-formed (ORIGINS.md), or, for the SDK's JMeter template, an attachment that is the
# placeholder ${__StringFromFile(...)} rather than base64: nothing to read, so nothing to write.
UNREADABLE = {
    "vpcp-sdk-sample__edoc_new.edxml",
    "lgsp-quangnam__resources__edoc.edxml",
    "vpcp-sdk-sample__edoc.edxml",
}
READABLE = sorted(
    p.name for p in _SAMPLES.glob("*") if p.suffix in {".edxml", ".xml"} and p.name not in UNREADABLE
)


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    agencies = [("000.00.00.G22", "Văn phòng Chính phủ"), ("000.00.00.H41", "UBND tỉnh Nghệ An")]
    pki = init_dev_pki(tmp_path_factory.mktemp("pki"), agencies)
    return {code: SigningKey.from_files(pki.key_path(code), pki.cert_path(code)) for code, _ in agencies}


@pytest.mark.parametrize("name", READABLE)
def test_what_the_writer_writes_for_a_sample_validates(interop_dir: Path, name: str) -> None:
    package = read_package((interop_dir / name).read_bytes()).package
    assert schema.validate(write_package(package)) == []


@pytest.mark.parametrize(
    "name", ["bkav__edoc-webapp__edoc_update.edxml", "vpcp-sdk-sample__status_rejection_02.edxml"]
)
def test_a_package_signed_by_vbus_validates(
    interop_dir: Path, name: str, signing_keys: dict[str, SigningKey]
) -> None:
    package = read_package((interop_dir / name).read_bytes()).package
    signed = sign_package(write_package(package), signing_keys[package.from_.organ_id])
    assert etree.fromstring(signed).find(f".//{{{DSIG_NS}}}Signature") is not None
    assert schema.validate(signed) == []
    assert schema.explain(signed) == []


def test_the_hubs_refusal_of_a_package_it_could_not_read_validates(
    signing_keys: dict[str, SigningKey],
) -> None:
    status = refusal_status(
        HubConfig(),
        addressee="000.00.00.H41",
        document_id=None,
        description="malformed: Start tag expected, '<' not found (line 1, column 1)",
        at=datetime(2026, 11, 24, 1, 30, tzinfo=UTC),
    )
    assert schema.validate(sign_package(write_package(status), signing_keys["000.00.00.G22"])) == []
