"""An evidence bundle (``vbcore.evidence.bundle``): a consistent one verifies, and one edited in any
way the issue lists fails with the precise reason, whether or not the forger recomputed the manifest."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.bundle_world import Built, build, bundle_bytes, edited, json_member
from vbcore.errors import UntrustedCertificate
from vbcore.evidence.bundle import MANIFEST, PACKAGE, SIGNATURE, verify_bundle
from vbcore.evidence.timeline import render
from vbcore.security.signing import SignaturePolicy, verify_package
from vbcore.testing.devworld import DevKeys, six_agency_keys


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return six_agency_keys(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def built(dev: DevKeys) -> Built:
    return build(dev)


@pytest.fixture(scope="module")
def bundle(dev: DevKeys, built: Built) -> bytes:
    return bundle_bytes(dev, built.contents)


def _problems(dev: DevKeys, data: bytes, lang: str = "en") -> list[str]:
    return [p.describe(lang) for p in verify_bundle(data, dev.trust).problems]


def _one_with(problems: list[str], *fragments: str) -> None:
    assert any(all(f in p for f in fragments) for p in problems), problems


def test_a_consistent_bundle_verifies_and_tells_the_journey(
    dev: DevKeys, bundle: bytes, built: Built
) -> None:
    verified = verify_bundle(bundle, dev.trust)
    assert verified.ok, verified.problems
    assert [e.seq for e in verified.entries] == [e.seq for e in built.entries]
    assert len(verified.receipts) == 5
    assert len(verified.statuses) == 1
    text = render(verified, "vi")
    assert "Trục nhận văn bản của 000.00.00.G22, chuyển đến 2 nơi nhận" in text
    assert "Đã chuyển vào hộp thư của 000.00.00.H24" in text
    assert "Kết quả: gói bằng chứng nhất quán" in text
    assert "Delivered to the inbox of 000.00.00.H15" in render(verified, "en")
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        names = zf.namelist()
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    assert {MANIFEST, SIGNATURE, PACKAGE} <= set(names)
    assert any(n.startswith("certificates/") for n in names)


def _flip_byte(members: dict[str, bytes]) -> None:
    data = bytearray(members[PACKAGE])
    at = data.index(b"V/v")  # a byte of the subject
    data[at] ^= 0x01
    members[PACKAGE] = bytes(data)


def test_one_byte_of_the_package(dev: DevKeys, bundle: bytes) -> None:
    plain = _problems(dev, edited(bundle, _flip_byte))
    _one_with(plain, PACKAGE, "changed after export")
    forged = _problems(dev, edited(bundle, _flip_byte, re_manifest=True))
    _one_with(forged, "manifest was edited after it was signed")
    _one_with(forged, PACKAGE, "changed after it was signed")  # the sender's XML signature
    _one_with(forged, PACKAGE, "log entry 3 (package-accepted) names the package")
    _one_with(forged, "receipt names the package", "the package was changed")


def _remove_status(members: dict[str, bytes]) -> None:
    for name in [n for n in members if n.startswith("statuses/")]:
        del members[name]


def test_a_status_removed(dev: DevKeys, bundle: bytes) -> None:
    _one_with(_problems(dev, edited(bundle, _remove_status)), "statuses/", "it was removed")
    forged = _problems(dev, edited(bundle, _remove_status, re_manifest=True))
    _one_with(forged, "the status 01", "sent (entry 9) is in the log", "not in the bundle")


def _remove_status_entry(members: dict[str, bytes]) -> None:
    """The status's package, its entries and its receipts: every trace of it."""
    _remove_status(members)
    name = next(n for n in members if n.startswith("chain/"))
    chain = json_member(members, name)
    chain["entries"] = [
        e for e in chain["entries"] if e["kind"] not in ("status-received", "status-forwarded")
    ]
    members[name] = json.dumps(chain).encode()
    for receipt in [n for n in members if n.startswith("receipts/")]:
        said = json_member(members, receipt)["receipt"]
        if isinstance(said, dict) and said["seq"] in (9, 11):
            del members[receipt]


def test_every_trace_of_a_status_removed(dev: DevKeys, bundle: bytes) -> None:
    forged = _problems(dev, edited(bundle, _remove_status_entry, re_manifest=True))
    _one_with(forged, "entry 9, which the exporter signed as part of the bundle, is not in it")
    _one_with(forged, "manifest was edited")


def _move_entry_time(members: dict[str, bytes]) -> None:
    name = next(n for n in members if n.startswith("chain/"))
    chain = json_member(members, name)
    delivered = chain["entries"][0]
    delivered["at_utc"] = delivered["at_utc"].replace(":", ";", 0)[:-8] + "999999Z"
    members[name] = json.dumps(chain).encode()


def test_a_timestamp_moved_in_the_log(dev: DevKeys, bundle: bytes) -> None:
    forged = _problems(dev, edited(bundle, _move_entry_time, re_manifest=True))
    _one_with(
        forged, "entry 5 (copy-delivered", "is not the one in the chain the checkpoint at entry 12 signed"
    )


def _move_receipt_time(members: dict[str, bytes]) -> None:
    name = sorted(n for n in members if n.startswith("receipts/"))[1]
    receipt = json_member(members, name)
    receipt["receipt"]["at_utc"] = "2026-11-29T01:00:00.000000Z"  # a day earlier
    members[name] = json.dumps(receipt).encode()


def test_a_timestamp_moved_in_a_receipt(dev: DevKeys, bundle: bytes) -> None:
    forged = _problems(dev, edited(bundle, _move_receipt_time, re_manifest=True))
    _one_with(forged, "receipts/0002-delivered.json", "is not one the hub sealed")


def test_a_receipt_from_another_document_swapped_in(dev: DevKeys, bundle: bytes) -> None:
    other = build(dev, "202")
    stolen = next(r for r in other.receipts if r.kind == "delivered")

    def swap(members: dict[str, bytes]) -> None:
        members["receipts/0002-delivered.json"] = stolen.to_json().encode()

    _one_with(_problems(dev, edited(bundle, swap)), "receipts/0002-delivered.json", "changed after export")
    forged = _problems(dev, edited(bundle, swap, re_manifest=True))
    _one_with(
        forged,
        "receipts/0002-delivered.json",
        "is about document 000.00.00.G22,2026/11/24,202/VB",
        "taken from another bundle",
    )


def test_the_manifest_edited(dev: DevKeys, bundle: bytes) -> None:
    def edit(members: dict[str, bytes]) -> None:
        manifest = json_member(members, MANIFEST)
        manifest["document_id"] = "000.00.00.G22,2026/11/24,999/VB"
        members[MANIFEST] = json.dumps(manifest).encode()

    problems = _problems(dev, edited(bundle, edit))
    _one_with(problems, MANIFEST, "manifest was edited after it was signed")
    _one_with(problems, MANIFEST, "names document_id")


def _alter_link(members: dict[str, bytes]) -> None:
    name = next(n for n in members if n.startswith("chain/"))
    chain = json_member(members, name)
    links = chain["proof"]["links"]
    links[-1] = links[-1][:-1] + ("0" if links[-1][-1] != "0" else "1")
    members[name] = json.dumps(chain).encode()


def test_a_proof_link_altered(dev: DevKeys, bundle: bytes) -> None:
    forged = _problems(dev, edited(bundle, _alter_link, re_manifest=True))
    _one_with(
        forged,
        "chain/12.json",
        "entry 3 (package-accepted",
        "is not the one the hub's checkpoint at entry 12",
    )


def test_a_member_added_or_removed_is_named(dev: DevKeys, bundle: bytes) -> None:
    def add(members: dict[str, bytes]) -> None:
        members["receipts/9999-accepted.json"] = b"{}"

    _one_with(_problems(dev, edited(bundle, add)), "receipts/9999-accepted.json", "not in the manifest")

    def drop(members: dict[str, bytes]) -> None:
        del members["receipts/0001-accepted.json"]

    _one_with(_problems(dev, edited(bundle, drop)), "receipts/0001-accepted.json", "removed")


def test_only_the_right_ca_verifies(tmp_path: Path, bundle: bytes) -> None:
    stranger = six_agency_keys(tmp_path / "other")
    problems = _problems(stranger, bundle)
    _one_with(problems, SIGNATURE, "not trusted")
    _one_with(problems, "chain/12.json", "does not verify")


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_what_is_no_bundle_is_said_so(dev: DevKeys, data: bytes) -> None:
    _one_with(_problems(dev, data), "not a readable evidence bundle")


def test_hostile_member_names_are_refused(dev: DevKeys, bundle: bytes) -> None:
    def evil(members: dict[str, bytes]) -> None:
        members["../../etc/passwd"] = b"x"

    _one_with(_problems(dev, edited(bundle, evil)), "unsafe member name")


def test_the_reasons_read_in_vietnamese(dev: DevKeys, bundle: bytes) -> None:
    vi = _problems(dev, edited(bundle, _flip_byte, re_manifest=True), "vi")
    _one_with(vi, "bản kê đã bị sửa sau khi được ký")
    _one_with(vi, "gói tin đã bị sửa")


HOSTILE_JSON = [
    b"",
    b"[]",
    b'"text"',
    b"1e999999",
    b"{}",
    b'{"proof": 1, "entries": []}',
    b'{"proof": {}, "entries": [1]}',
    b'{"receipt": [], "path": {}, "seal": 3}',
    b'{"receipt": {"kind": "delivered"}, "path": ["Lzz"], "seal": {}}',
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    b"\xff\xfe\x00",
]


@pytest.mark.parametrize("value", HOSTILE_JSON, ids=range(len(HOSTILE_JSON)))
def test_a_hostile_member_is_a_problem_never_a_crash(dev: DevKeys, bundle: bytes, value: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        names = [n for n in zf.namelist() if n.endswith(".json")]
    for name in names:

        def replace(members: dict[str, bytes], name: str = name) -> None:
            members[name] = value

        verified = verify_bundle(edited(bundle, replace), dev.trust)
        assert not verified.ok, name


def test_a_bundle_verifies_years_later_when_every_certificate_has_expired(
    dev: DevKeys, bundle: bytes, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each signature is judged at the instant it states (the hub's, the sender's when the hub took
    the package), never at the day the auditor reads it: twenty years on, the same verdict."""
    import datetime as real

    import vbcore.security.trust as trust_module

    class Later(real.datetime):
        @classmethod
        def now(cls, tz: real.tzinfo | None = None) -> Later:  # type: ignore[override]
            return cls.fromtimestamp(real.datetime.now(real.UTC).timestamp() + 20 * 365 * 86400, tz)

    class FakeModule:
        datetime = Later
        UTC = real.UTC
        timedelta = real.timedelta

    monkeypatch.setattr(trust_module, "dt", FakeModule)
    with pytest.raises(UntrustedCertificate, match="expired"):  # judged today, the package is refused
        verify_package(built.contents.package, trust=dev.trust, policy=SignaturePolicy())
    verified = verify_bundle(bundle, dev.trust)
    assert verified.ok, verified.problems


def test_what_a_bundle_holds_cannot_steer_the_terminal(dev: DevKeys, bundle: bytes) -> None:
    def evil(members: dict[str, bytes]) -> None:
        manifest = json_member(members, MANIFEST)
        manifest["document_id"] = "x\x1b[2J\nforged line"
        members[MANIFEST] = json.dumps(manifest).encode()

    verified = verify_bundle(edited(bundle, evil), dev.trust)
    text = render(verified, "en")
    assert "\x1b" not in text
    assert "\nforged line" not in text
    assert all("\x1b" not in p.describe("en") and "\n" not in p.describe("en") for p in verified.problems)
