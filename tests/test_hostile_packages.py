"""Every hostile package of issue 7 through a whole (in-memory) interconnection.

For each: the sender gets a signed 02 whose text says precisely why, the hub keeps running, and
a good letter sent right after still arrives. What the hub can judge from the header and the
signature (XML tricks, sizes, lists, signatures, certificates, dates) it refuses itself; what
lies in the attachments' content (base64, ZIP bombs) it never decodes, so the receiver's reader
refuses it after checking the signature, and the receiver's 02 reaches the sender through the hub.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from hostile import MiB, bomb, one_entry, zip_of
from test_hub_support import G22, H15, H24, HUB_ID, World, edoc

from vbcore.edxml import write_package
from vbcore.model import Attachment, Blob, Edoc, ManifestReference, Organization, StatusPackage, TraceHeader
from vbcore.security.pki import (
    DevPki,
    create_ca,
    generate_private_key,
    issue_agency_certificate,
    load_certificate,
)
from vbcore.security.pki import load_private_key as load_key
from vbcore.security.signing import SigningKey, sign_package
from vbcore.status import StatusCode
from vbcore.transport import names as n

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world

ED = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
SIGNATURE = re.compile(rb"<ds:Signature .*?</ds:Signature>", re.DOTALL)
CERT = re.compile(rb"<ds:X509Certificate>[^<]*</ds:X509Certificate>")


@dataclass(frozen=True)
class Keys:
    pki: DevPki
    keys: dict[str, SigningKey]

    def sign(self, doc: Edoc, key: SigningKey | None = None) -> bytes:
        return sign_package(write_package(doc), key or self.keys[G22])

    def ca(self) -> tuple[object, x509.Certificate]:
        return load_key(self.pki.ca_key_path), load_certificate(self.pki.ca_cert_path)


def raw(xml: str) -> bytes:
    return xml.encode()


def with_attachments(keys: Keys, contents: list[bytes], name: str = "a.pdf") -> bytes:
    atts = tuple(
        Attachment(f"cid:{i}", name if len(contents) == 1 else f"{i}.pdf", Blob(c), "application/pdf")
        for i, c in enumerate(contents)
    )
    refs = tuple(ManifestReference(a.content_id, a.content_type, None, a.name) for a in atts)
    return keys.sign(dataclasses.replace(edoc(G22, [H24]), attachments=atts, manifest=refs))


def with_encoded_text(keys: Keys, text: str) -> bytes:
    unsigned = write_package(edoc(G22, [H24]))
    unsigned = re.sub(rb"(<edXML:ContentTransferEncoded>)[^<]*", lambda m: m[1] + text.encode(), unsigned)
    return sign_package(unsigned, keys.keys[G22])


def with_certificate(keys: Keys, cert: x509.Certificate, key: object) -> bytes:
    return keys.sign(edoc(G22, [H24]), SigningKey(key, (cert,)))  # type: ignore[arg-type]


def control_character_subject(keys: Keys) -> bytes:
    ca_key, ca = create_ca("another CA")
    key = generate_private_key()
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cơ quan\x01 giả")])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(5).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return with_certificate(keys, cert, key)


def expired(keys: Keys) -> bytes:
    ca_key, ca = keys.ca()
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    key, cert = issue_agency_certificate(ca_key, ca, G22, "VPCP", not_before=start, valid_days=30)  # type: ignore[arg-type]
    return with_certificate(keys, cert, key)


def not_yet_valid(keys: Keys) -> bytes:
    ca_key, ca = keys.ca()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    key, cert = issue_agency_certificate(ca_key, ca, G22, "VPCP", not_before=start)  # type: ignore[arg-type]
    return with_certificate(keys, cert, key)


def untrusted(keys: Keys) -> bytes:
    ca_key, ca = create_ca("self-made CA")
    key, cert = issue_agency_certificate(ca_key, ca, G22, "VPCP")
    return with_certificate(keys, cert, key)


def two_signatures(keys: Keys) -> bytes:
    signed = keys.sign(edoc(G22, [H24]))
    signature = SIGNATURE.search(signed)
    assert signature is not None
    return signed[: signature.end()] + signature.group(0) + signed[signature.end() :]


def signature_moved_into_the_message_header(keys: Keys) -> bytes:
    signed = keys.sign(edoc(G22, [H24]))
    signature = SIGNATURE.search(signed)
    assert signature is not None
    without = signed[: signature.start()] + signed[signature.end() :]
    return without.replace(b"</edXML:MessageHeader>", signature.group(0) + b"</edXML:MessageHeader>", 1)


def reference_to_one_element(keys: Keys) -> bytes:
    return keys.sign(edoc(G22, [H24])).replace(b'URI=""', b'URI="#part"', 1)


def an_xpath_transform(keys: Keys) -> bytes:
    xpath = b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>'
    return keys.sign(edoc(G22, [H24])).replace(b"</ds:Transforms>", xpath + b"</ds:Transforms>", 1)


def namespace_declarations(keys: Keys) -> bytes:
    """20,000 xmlns on the root: inclusive c14n (a sender's choice) took 64 s over them."""
    declarations = b" ".join(b'xmlns:p%d="urn:vbus:%d"' % (i, i) for i in range(20_000))
    return keys.sign(edoc(G22, [H24])).replace(b"<edXML xmlns", b"<edXML " + declarations + b" xmlns", 1)


def sha1(keys: Keys) -> bytes:
    signed = keys.sign(edoc(G22, [H24]))
    return signed.replace(b"rsa-sha256", b"rsa-sha1").replace(b"xmlenc#sha256", b"xmldsig#sha1")


def certificate_copies(keys: Keys) -> bytes:
    signed = keys.sign(edoc(G22, [H24]))
    cert = CERT.search(signed)
    assert cert is not None
    return signed[: cert.end()] + cert.group(0) * 13_999 + signed[cert.end() :]


def many_to(keys: Keys) -> bytes:
    # Distinct codes: the schema itself refuses an addressee named twice (EachAddresseeOnce).
    to = tuple(
        Organization(f"000.{i // 10000:03d}.{i // 100 % 100:02d}.H{i % 100:02d}") for i in range(50_000)
    )
    return keys.sign(dataclasses.replace(edoc(G22, [H24]), to=to))


def schema_errors(keys: Keys) -> bytes:
    traces = tuple(TraceHeader(G22, None) for _ in range(5000))  # no Timestamp: 5,000 schema errors
    return keys.sign(dataclasses.replace(edoc(G22, [H24]), trace_headers=traces))


def dated(keys: Keys, day: str) -> bytes:
    unsigned = write_package(edoc(G22, [H24]))
    unsigned = re.sub(
        rb"<edXML:PromulgationDate>[^<]*<", f"<edXML:PromulgationDate>{day}<".encode(), unsigned
    )
    return sign_package(unsigned, keys.keys[G22])


XXE = """<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<edXML xmlns="{ED}"><edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>&x;</OrganId></From>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"""
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><edXML>&lol9;</edXML>"
)
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
    + "x" * 50_000
    + '">]><edXML>'
    + "&a;" * 50_000
    + "</edXML>"
)
DEEP = "<edXML>" + "<a>" * 10_000 + "</a>" * 10_000 + "</edXML>"

# name -> (builds the hostile bytes, who refuses, reason or words of the 02)
HUB_REFUSES: dict[str, tuple[Callable[[Keys], bytes], str]] = {
    "XXE": (lambda k: raw(XXE.replace("{ED}", ED)), "forbidden-xml"),
    "billion laughs": (lambda k: raw(LAUGHS), "forbidden-xml"),
    "quadratic blowup": (lambda k: raw(QUADRATIC), "forbidden-xml"),
    "10,000 levels of nesting": (lambda k: raw(DEEP), "too-deep"),
    "20,000 namespace declarations": (namespace_declarations, "too-many-namespaces"),
    "a package over the hub's size limit": (lambda k: with_attachments(k, [bytes(3 * MiB)]), "too-large"),
    "50,000 To": (many_to, "too-many-items"),
    "20,000 attachments": (lambda k: with_attachments(k, [b"x"] * 20_000), "too-many-attachments"),
    "5,000 schema errors": (schema_errors, "schema"),
    # Wrapping the schema already refuses (one Signature, in edXMLHeader), with the element's path:
    "two signatures": (two_signatures, "schema"),
    "the signature moved into MessageHeader": (signature_moved_into_the_message_header, "schema"),
    # ... and wrapping within a valid shape, refused before any cryptography:
    "a reference to one element only": (reference_to_one_element, "signature-wrapping"),
    "an XPath transform": (an_xpath_transform, "signature-wrapping"),
    "a valid signature by the wrong agency": (
        lambda k: k.sign(edoc(G22, [H24]), k.keys[H15]),
        "signer-mismatch",
    ),
    "an expired certificate": (expired, "untrusted-certificate"),
    "a certificate not yet valid": (not_yet_valid, "untrusted-certificate"),
    "an untrusted certificate": (untrusted, "untrusted-certificate"),
    "a control character in the certificate's subject": (control_character_subject, "untrusted-certificate"),
    "SHA-1 without the policy": (sha1, "weak-algorithm"),
    "14,000 copies of the certificate in KeyInfo": (certificate_copies, "too-many-certificates"),
    "a promulgation date in the year 999": (lambda k: dated(k, "0999/01/01"), "implausible-date"),
}
# name -> (builds the hostile bytes, words the receiver's 02 must hold)
RECEIVER_REFUSES: dict[str, tuple[Callable[[Keys], bytes], str]] = {
    "invalid base64": (lambda k: with_encoded_text(k, "JVBERi0x*LjQK"), "Không đọc được tệp đính kèm"),
    "a base64 length that is not a multiple of 4": (
        lambda k: with_encoded_text(k, "JVBERi0xLjQ"),
        "bội số của 4",
    ),
    "a ZIP bomb": (lambda k: with_attachments(k, [bomb(200 * MiB)]), "nghi ZIP bomb"),
    "a ZIP entry over the unzipped limit": (
        lambda k: with_attachments(k, [bomb(300 * MiB)]),
        "vượt giới hạn",
    ),
    "a corrupt ZIP": (lambda k: with_attachments(k, [one_entry()[:-30]]), "tệp ZIP hỏng"),
}


def refusals_to(world: World, code: str) -> list[StatusPackage]:
    found = []
    for incoming in world.inbox(code):
        assert incoming.kind in (n.KIND_REFUSAL, n.KIND_STATUS)
        assert isinstance(incoming.package, StatusPackage)
        assert incoming.package.status_code is StatusCode.REFUSED
        found.append(incoming.package)
    return found


def a_good_letter_still_arrives(world: World, number: str = "900") -> None:
    good = edoc(G22, [H24], number)
    world.client(G22).submit(good)
    world.pump()
    assert [i.package for i in world.inbox(H24)] == [good]


@pytest.fixture
def hostile_keys(pki: DevPki, keys: dict[str, SigningKey]) -> Keys:
    return Keys(pki, keys)


@pytest.mark.parametrize("case", list(HUB_REFUSES))
def test_the_hub_refuses_a_hostile_package_with_its_reason_and_keeps_going(
    case: str, world: World, hostile_keys: Keys
) -> None:
    build, reason = HUB_REFUSES[case]
    if case == "a package over the hub's size limit":
        world.hub.config = dataclasses.replace(world.config, max_bytes=2 * MiB)  # type: ignore[union-attr]
    world.client(G22).submit_signed(build(hostile_keys), kind=n.KIND_EDOC, message_id="hostile-1")
    world.pump()
    [refusal] = refusals_to(world, G22)
    [record] = world.store.refusals(sender=G22)
    assert record.reason == reason
    assert record.message_id == "hostile-1"
    assert refusal.description == record.detail  # the sentence the sender got, kept by the hub
    assert refusal.description
    assert refusal.description.isprintable()  # a control character would crash the 02's writer
    assert world.parked() == 1
    assert world.inbox(H24) == []
    a_good_letter_still_arrives(world)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(RECEIVER_REFUSES))
def test_a_receiver_refuses_what_lies_in_the_attachments_and_its_02_reaches_the_sender(
    case: str, world: World, hostile_keys: Keys
) -> None:
    build, words = RECEIVER_REFUSES[case]
    world.client(G22).submit_signed(build(hostile_keys), kind=n.KIND_EDOC, message_id="hostile-2")
    world.pump()  # the hub checks the header and the signature only, and forwards
    assert world.store.refusals(sender=G22) == []
    assert world.client(H24).fetch() is None  # H24's reader refuses it and answers 02
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert words in (refusal.description or "")
    assert refusal.from_.organ_id == H24
    a_good_letter_still_arrives(world)


@pytest.mark.slow
def test_180_zip_bombs_in_one_package_stop_at_the_receivers_per_package_total(
    world: World, hostile_keys: Keys, tmp_path: Path
) -> None:
    one = bomb(7 * MiB)  # each under the ratio-free size: only the package's total stops them
    world.client(G22).submit_signed(with_attachments(hostile_keys, [one] * 180), kind=n.KIND_EDOC)
    world.pump()
    assert world.client(H24).fetch() is None
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert "Tổng dung lượng tệp đính kèm của gói tin vượt giới hạn" in (refusal.description or "")
    a_good_letter_still_arrives(world)


def test_a_nested_zip_and_hostile_names_arrive_made_harmless(world: World, hostile_keys: Keys) -> None:
    inner = zip_of({"../../evil.pdf": bytes(MiB)})
    package = with_attachments(
        hostile_keys, [one_entry(inner, name="/etc/cron.d/x")], name="../../../etc/passwd"
    )
    world.client(G22).submit_signed(package, kind=n.KIND_EDOC)
    world.pump()
    [incoming] = world.inbox(H24)
    assert isinstance(incoming.package, Edoc)
    [attachment] = incoming.package.attachments
    assert attachment.name == ".._.._.._etc_passwd"
    assert attachment.content.read_bytes() == inner  # unwrapped once, never expanded further


def test_the_hubs_refusal_of_an_implausible_date_names_the_range(world: World, hostile_keys: Keys) -> None:
    world.client(G22).submit_signed(dated(hostile_keys, "0001/01/01"), kind=n.KIND_EDOC)
    world.pump()
    [refusal] = refusals_to(world, G22)
    assert "từ 1800/01/01 đến 9999/12/31" in (refusal.description or "")
    assert refusal.from_.organ_id == HUB_ID
