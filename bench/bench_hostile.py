"""How reading and verifying scale with hostile shapes: ``python bench/bench_hostile.py [--quick]``.

Two tables.

**Scaling.** For each shape an attacker controls (``To`` addressees, attachments, ``TraceHeader``
entries, schema errors, a long ``Subject``, unknown elements), a signed package is built at n, 2n
and 4n (4n within the limits of ``vbcore.edxml.limits``) and timed through:

- hub:    what the hub does to every message (``vbcore.hub.checks``: hardened parse, XSD, signature,
          reading the verified tree without its attachments), or the refusal it ends in;
- reader: ``vbcore.edxml.read_package`` of the same bytes (what a receiver's reader does after
          the signature), or the refusal it ends in.

``x4`` is t(4n) / t(n): about 4 for linear work, 16 for quadratic.

**Attacks.** The sizes of issue 7's attack campaign (14,000 copies of the signer's certificate in
``KeyInfo``, 50,000 ``To``, 20,000 attachments, 10,000 schema errors, 180 ZIP bombs) through the
same two paths, with the outcome: each must end in a quick refusal, never in minutes of work or
gigabytes of disk.

Timings are single runs (the shapes are large); on a shared 2-core host expect a spread of 25-40 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner

from vbcore.edxml import DSIG_NS, EDXML_NS, read_package, write_package
from vbcore.errors import PackageRefused
from vbcore.hub import checks
from vbcore.model import Attachment, Blob, ManifestReference, Organization, TraceHeader
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package
from vbcore.testing.devworld import DevKeys, letter

SENDER, RECIPIENT = "000.00.00.G22", "000.00.00.H24"


def certificate_copies(key: SigningKey, n: int) -> bytes:
    signed = sign_package(write_package(letter(SENDER, [RECIPIENT], "1")), key)
    cert = re.search(rb"<ds:X509Certificate>[^<]*</ds:X509Certificate>", signed)
    assert cert is not None
    return signed[: cert.end()] + cert.group(0) * (n - 1) + signed[cert.end() :]


def many_to(key: SigningKey, n: int) -> bytes:
    to = [f"000.{i // 10000 % 1000:03d}.{i // 100 % 100:02d}.H{i % 100:02d}" for i in range(n)]
    edoc = letter(SENDER, [RECIPIENT], "1")
    edoc = dataclasses.replace(edoc, to=tuple(Organization(code) for code in to))
    return sign_package(write_package(edoc), key)


def many_attachments(key: SigningKey, n: int) -> bytes:
    edoc = letter(SENDER, [RECIPIENT], "1")
    atts = tuple(Attachment(f"cid:{i}", f"a{i}.txt", Blob(b"x"), "text/plain") for i in range(n))
    refs = tuple(ManifestReference(a.content_id, a.content_type, None, a.name) for a in atts)
    return sign_package(write_package(dataclasses.replace(edoc, attachments=atts, manifest=refs)), key)


def many_trace_headers(key: SigningKey, n: int) -> bytes:
    edoc = letter(SENDER, [RECIPIENT], "1")
    traces = tuple(TraceHeader(SENDER, datetime(2026, 11, 24, 9, 0)) for _ in range(n))
    return sign_package(write_package(dataclasses.replace(edoc, trace_headers=traces)), key)


def schema_errors(key: SigningKey, n: int) -> bytes:
    """``n`` TraceHeaders without their Timestamp: one schema error each."""
    edoc = letter(SENDER, [RECIPIENT], "1")
    traces = tuple(TraceHeader(SENDER, None) for _ in range(n))
    return sign_package(write_package(dataclasses.replace(edoc, trace_headers=traces)), key)


def inclusive_namespaces(key: SigningKey, n: int) -> bytes:
    """``n`` xmlns declarations on the root, signed with inclusive c14n (as the SDK's producers sign):
    libxml2's inclusive canonicalisation is super-linear in the declarations in scope."""
    declarations = b" ".join(b'xmlns:p%d="urn:vbus:%d"' % (i, i) for i in range(n))
    unsigned = write_package(letter(SENDER, [RECIPIENT], "1"))
    root = etree.fromstring(unsigned.replace(b"<edXML xmlns", b"<edXML " + declarations + b" xmlns", 1))
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    etree.SubElement(header, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DSIG_NS})
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed = signer.sign(root, key=key.private_key, cert=list(key.certificate_chain))
    return bytes(etree.tostring(signed))


def zip_bombs(key: SigningKey, n: int) -> bytes:
    """``n`` attachments, each a 7 MiB ZIP of zeros (about 7 KB): 180 of them spool 1.2 GB unchecked."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.pdf", bytes(7 * 1024 * 1024))
    bomb = Blob(buf.getvalue())
    atts = tuple(Attachment(f"cid:{i}", f"{i}.pdf", bomb, "application/zip") for i in range(n))
    refs = tuple(ManifestReference(a.content_id, a.content_type, None, a.name) for a in atts)
    edoc = dataclasses.replace(letter(SENDER, [RECIPIENT], "1"), attachments=atts, manifest=refs)
    return sign_package(write_package(edoc), key)


def long_subject(key: SigningKey, n: int) -> bytes:
    edoc = dataclasses.replace(letter(SENDER, [RECIPIENT], "1"), subject="Về việc " * n)
    return sign_package(write_package(edoc), key)


def unknown_elements(key: SigningKey, n: int) -> bytes:
    unsigned = write_package(letter(SENDER, [RECIPIENT], "1"))
    extra = b"<Unknown>x</Unknown>" * n
    at = unsigned.index(b"</edXML:MessageHeader>") if b"</edXML:MessageHeader>" in unsigned else -1
    if at < 0:
        at = unsigned.index(b"</MessageHeader>")
    return sign_package(unsigned[:at] + extra + unsigned[at:], key)


Builder = Callable[[SigningKey, int], bytes]
SHAPES: dict[str, tuple[Builder, int]] = {
    "To addressees": (many_to, 1_250),
    "attachments": (many_attachments, 250),
    "TraceHeaders": (many_trace_headers, 1_250),
    "schema errors": (schema_errors, 1_250),
    "Subject words": (long_subject, 200_000),
    "unknown elements": (unknown_elements, 20_000),
}
ATTACKS: dict[str, tuple[Builder, int]] = {  # the sizes of issue 7's campaign
    "KeyInfo certificates": (certificate_copies, 14_000),
    "To addressees": (many_to, 50_000),
    "attachments": (many_attachments, 20_000),
    "schema errors": (schema_errors, 10_000),
    "ZIP bombs": (zip_bombs, 180),
    "namespace declarations, inclusive c14n": (inclusive_namespaces, 5_000),
}


def hub_checks(body: bytes, trust: TrustStore) -> object:
    accepted = checks.check_structure(body, checks.ParseLimits())
    return checks.verify_and_read(
        body, trust=trust, policy=SignaturePolicy(), parsed=accepted.root, aside=accepted.aside
    )


def read(body: bytes, spool: Path) -> object:
    """A receiver's read, into a spool directory emptied afterwards (a ZIP bomb's files go too)."""
    try:
        return read_package(body, spool_dir=spool / "spool")
    finally:
        for path in (spool / "spool").glob("*"):
            path.unlink()


def timed(fn: Callable[[], object], refusals: list[str]) -> float | str:
    start = time.perf_counter()
    try:
        fn()
    except PackageRefused as err:
        refusals.append(f"{err.reason}: {str(err)[:140]}")
        return f"refused {time.perf_counter() - start:.2f}s"
    return time.perf_counter() - start


def cell(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.3f}"


def ratio(first: float | str, last: float | str) -> str:
    if isinstance(first, str) or isinstance(last, str) or first <= 0:
        return "-"
    return f"{last / first:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="n divided by 4; attacks skipped")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES | ATTACKS), help="only these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dev = DevKeys.create(Path(tmp) / "pki", [(SENDER, "Văn phòng Chính phủ")])
        (Path(tmp) / "spool").mkdir()
        key = dev.keys[SENDER]
        refusals: list[str] = []
        print("| shape | n | 4n MB | hub n | hub 2n | hub 4n | hub x4 | reader n | reader 4n | reader x4 |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, (build, base) in SHAPES.items():
            if args.shape and name not in args.shape:
                continue
            n = max(1, base // 4) if args.quick else base
            bodies = [build(key, k * n) for k in (1, 2, 4)]
            hub = [timed(lambda b=body: hub_checks(b, dev.trust), refusals) for body in bodies]
            reader = [timed(lambda b=body: read(b, Path(tmp)), refusals) for body in bodies[::2]]
            print(
                f"| {name} | {n} | {len(bodies[2]) / 1e6:.1f} | {' | '.join(cell(t) for t in hub)} | "
                f"{ratio(hub[0], hub[2])} | {cell(reader[0])} | {cell(reader[1])} | "
                f"{ratio(reader[0], reader[1])} |"
            )
        if not args.quick:
            print()
            print("| attack | n | MB | hub | reader |")
            print("|---|---|---|---|---|")
            for name, (build, n) in ATTACKS.items():
                if args.shape and name not in args.shape:
                    continue
                body = build(key, n)
                hub_time = timed(lambda b=body: hub_checks(b, dev.trust), refusals)
                reader_time = timed(lambda b=body: read(b, Path(tmp)), refusals)
                print(f"| {name} | {n} | {len(body) / 1e6:.1f} | {cell(hub_time)} | {cell(reader_time)} |")
        print()
        for line in dict.fromkeys(refusals):
            print(f"- {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
