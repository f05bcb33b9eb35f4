"""An attacker's view of ``vb evidence verify``: forgers who hold a certificate the same CA issued (a
sender, a recipient, any other agency) and bundles built to confuse the reader. Each attack here was
accepted before its fix."""

from __future__ import annotations

import base64
import dataclasses
import io
import warnings
import zipfile

import pytest

from tests.bundle_world import Built, build, bundle_bytes
from vbcore.evidence import bundle
from vbcore.evidence.bundle import PACKAGE, SIGNATURE, verify_bundle
from vbcore.evidence.timeline import render
from vbcore.testing.devworld import HA_NOI, HUB_ID, TAI_CHINH, THANH_HOA, VPCP, DevKeys, six_agency_keys


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return six_agency_keys(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def built(dev: DevKeys) -> Built:
    return build(dev)


def _problems(dev: DevKeys, data: bytes, hub: str | None = None) -> list[str]:
    return [p.describe("en") for p in verify_bundle(data, dev.trust, hub).problems]


def _one_with(problems: list[str], *fragments: str) -> None:
    assert any(all(f in p for f in fragments) for p in problems), problems


def test_the_genuine_bundle_names_its_hub_and_passes_when_the_hub_is_pinned(
    dev: DevKeys, built: Built
) -> None:
    verified = verify_bundle(bundle_bytes(dev, built.contents), dev.trust, HUB_ID)
    assert verified.ok, verified.problems
    assert verified.hub == HUB_ID
    assert verified.exporter == HUB_ID


def test_the_sender_cannot_be_its_own_hub(dev: DevKeys) -> None:
    """The sender signs checkpoints, seals and manifest with its own certificate, as hub
    ``000.00.00.G22``: every signature chains to the CA, and the bundle proves a delivery that never
    happened, unless the hub must be someone else than the parties."""
    forged = build(dev, "301", hub=VPCP)
    _one_with(_problems(dev, bundle_bytes(dev, forged.contents, signer=VPCP)), "a party to the document")


def test_an_agency_certificate_cannot_sign_as_the_hub(dev: DevKeys) -> None:
    """A colluding agency that is no party signs checkpoints and seals claiming to be ``vbus.hub``."""
    forged = build(dev, "302", hub_key=TAI_CHINH)
    problems = _problems(dev, bundle_bytes(dev, forged.contents, signer=TAI_CHINH))
    _one_with(problems, "chain/", "the checkpoint names the hub 'vbus.hub'", f"certificate of {TAI_CHINH}")
    _one_with(problems, "receipts/", "names the hub 'vbus.hub'", f"certificate of {TAI_CHINH}")


def test_a_colluding_agency_as_its_own_hub_fails_against_the_pinned_hub(dev: DevKeys) -> None:
    forged = build(dev, "303", hub=TAI_CHINH)
    data = bundle_bytes(dev, forged.contents, signer=TAI_CHINH)
    assert verify_bundle(data, dev.trust).hub == TAI_CHINH  # consistent, and shown as the witness...
    _one_with(_problems(dev, data, HUB_ID), "chain/", f"is signed by the hub {TAI_CHINH}, not by {HUB_ID}")


def test_a_hub_bundle_re_signed_by_the_sender_is_refused(dev: DevKeys, built: Built) -> None:
    """The sender drops the hub's receipts it dislikes and signs the manifest again with its own key,
    keeping holder "hub"."""
    kept = tuple(r for r in built.contents.receipts if r.kind != "delivered")
    data = bundle_bytes(dev, dataclasses.replace(built.contents, receipts=kept), signer=VPCP)
    _one_with(_problems(dev, data), SIGNATURE, "says the hub exported it", f"{VPCP} signed it")


def test_an_agency_bundle_signed_by_another_agency_is_refused(dev: DevKeys, built: Built) -> None:
    package_digest = built.receipts[0].package_digest
    mine = tuple(r for r in built.receipts if r.package_digest == package_digest)
    held = dataclasses.replace(built.contents, holder=HA_NOI, chain=(), statuses=(), receipts=mine)
    assert verify_bundle(bundle_bytes(dev, held, signer=HA_NOI), dev.trust).ok
    _one_with(
        _problems(dev, bundle_bytes(dev, held, signer=TAI_CHINH)),
        SIGNATURE,
        f"says {HA_NOI} exported it",
        f"{TAI_CHINH} signed it",
    )


def test_a_status_signed_by_another_agency_is_not_attributed_to_its_from(dev: DevKeys) -> None:
    """Thanh Hóa signs a 01 that says it is from Hà Nội (a recipient that never answered)."""
    forged = build(dev, "304", status_key=THANH_HOA)
    _one_with(_problems(dev, bundle_bytes(dev, forged.contents)), "statuses/",
              f"is from {HA_NOI} but signed by {THANH_HOA}")


def test_a_status_the_log_attributes_to_another_sender_is_refused(dev: DevKeys) -> None:
    forged = build(dev, "305", status_from=THANH_HOA)  # the log (entry 9) says Hà Nội sent it
    _one_with(_problems(dev, bundle_bytes(dev, forged.contents)), "statuses/",
              f"log entry 9 says {HA_NOI} sent it, but {THANH_HOA} signed it")


def test_the_timeline_shows_the_recipients_the_hub_refused(dev: DevKeys) -> None:
    """A partly refused package: the 02's reason must read in the journey, not hide in the JSON."""
    partly = build(dev, "306", refused={THANH_HOA: "unknown-recipient"})
    verified = verify_bundle(bundle_bytes(dev, partly.contents), dev.trust)
    assert verified.ok, verified.problems
    assert f"; refused for {THANH_HOA}: unknown-recipient" in render(verified, "en")
    assert f"; từ chối chuyển đến {THANH_HOA}: unknown-recipient" in render(verified, "vi")


def _rezip(first: list[tuple[str, bytes]], bundle: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as zf:
        for name, data in first:
            zf.writestr(name, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": the point
            for info in source.infolist():
                zf.writestr(info.filename, source.read(info))
    return out.getvalue()


def test_a_member_twice_in_the_zip_is_refused(dev: DevKeys, built: Built) -> None:
    """A ZIP tool shows the first package.xml (forged); a reader that keeps the last checks the genuine."""
    data = _rezip([(PACKAGE, b"<forged/>")], bundle_bytes(dev, built.contents))
    _one_with(_problems(dev, data), PACKAGE, "appears twice in the ZIP")


def test_too_many_members_are_refused_before_the_zip_directory_is_read(
    dev: DevKeys, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bundle_bytes(dev, built.contents)
    monkeypatch.setattr(bundle, "MAX_MEMBERS", 3)

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the central directory was read")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    _one_with(_problems(dev, data), "too many members")


def test_a_time_stamp_is_shown_only_once_it_verifies(dev: DevKeys, built: Built) -> None:
    """The token is not under the checkpoint's signature: the exporter could add any bytes, and the
    journey said "with an RFC 3161 time-stamp". (A genuine token: tests/test_evidence_tsa.py.)"""
    (proof, others), = built.contents.chain
    fake = dataclasses.replace(proof.checkpoint, tsa_token=base64.b64encode(b"\x30\x03\x02\x01\x01").decode())
    chain = ((dataclasses.replace(proof, checkpoint=fake), others),)
    verified = verify_bundle(bundle_bytes(dev, dataclasses.replace(built.contents, chain=chain)), dev.trust)
    _one_with([p.describe("en") for p in verified.problems], "chain/", "time-stamp:")
    assert "RFC 3161" not in render(verified, "en")


def _flagged_encrypted(data: bytes) -> bytes:
    """The bundle with its first member marked encrypted (general purpose flag bit 0, both headers)."""
    out = bytearray(data)
    out[6] |= 1
    central = out.index(b"PK\x01\x02")
    out[central + 8] |= 1
    return bytes(out)


def _broken_deflate(dev: DevKeys, built: Built) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle_bytes(dev, built.contents))) as source, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as zf:
        for info in source.infolist():
            zf.writestr(info.filename, source.read(info))
    data = bytearray(out.getvalue())
    start = data.index(PACKAGE.encode()) + len(PACKAGE) + 200  # inside package.xml's deflate stream
    data[start : start + 64] = bytes(range(64))
    return bytes(data)


def test_an_encrypted_or_broken_member_is_a_problem_never_a_crash(dev: DevKeys, built: Built) -> None:
    _one_with(_problems(dev, _flagged_encrypted(bundle_bytes(dev, built.contents))), "cannot be read")
    assert not verify_bundle(_broken_deflate(dev, built), dev.trust).ok


def test_bidirectional_controls_cannot_reorder_a_timeline_line(dev: DevKeys) -> None:
    """A reason the hub logged verbatim, with a right-to-left override ("Trojan Source")."""
    partly = build(dev, "307", refused={THANH_HOA: "unknown\u202e\u2028recipient"})
    text = render(verify_bundle(bundle_bytes(dev, partly.contents), dev.trust), "en")
    assert "\u202e" not in text
    assert "\u2028" not in text
    assert "unknown\\u202e\\u2028recipient" in text
