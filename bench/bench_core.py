"""Core per-package costs next to their raw floor: ``python bench/bench_core.py [--quick]``.

For generated document packages of about 10 KB, 1 MB and 20 MB (almost all of it one base64
attachment), the median time per package of:

- parse:   ``vbcore.edxml.read_package`` (hardened parse and model, attachments decoded);
- schema:  ``vbcore.edxml.schema.validate`` (lxml XSD), or n/a when that module is missing;
- sign:    ``vbcore.security.signing.sign_package`` (RSA-2048, key loaded once);
- verify:  ``vbcore.security.signing.verify_package`` (chain, binding, digest, signature value);

and, on the same machine, the raw floor: one RSA-2048 signature (and verification) of a SHA-256
digest, and one exclusive-c14n pass of the same tree (``etree.tostring(method="c14n",
exclusive=True)``), which is the least any XML-DSig implementation must do. The last two columns
are the overheads: sign / (rsa-sign + c14n) and verify / (rsa-verify + c14n).

Timings are medians; on a shared 2-core host expect a spread of 25-40 % between runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from lxml import etree

from vbcore.edxml import read_package, write_package
from vbcore.security.signing import SignaturePolicy, SigningKey, TrustStore, sign_package, verify_package
from vbcore.testing.devworld import DevKeys, letter

SENDER = ("000.00.00.G22", "Văn phòng Chính phủ")
SIZES = {"10 KB": 10_000, "1 MB": 1_000_000, "20 MB": 20_000_000}
# Repetitions per size (a few seconds each); --quick divides them by 4.
RUNS = {"10 KB": 200, "1 MB": 30, "20 MB": 5}


def make_package(target_bytes: int) -> bytes:
    """An unsigned document package of about ``target_bytes``, nearly all one PDF attachment."""

    def build(attachment_size: int) -> bytes:
        edoc = letter(
            SENDER[0], ["000.00.00.H41"], "1234", notation="VPCP-KSTT",
            subject="Về việc đo hiệu năng liên thông văn bản", pdf=os.urandom(attachment_size),
        )  # fmt: skip
        return write_package(edoc)

    overhead = len(build(0))
    return build(max(0, (target_bytes - overhead) * 3 // 4))


class Failed(Exception):
    """A measured call raised: the table shows "fail" and the reason is printed below it."""


def median_ms(fn: Callable[[], object], runs: int) -> float:
    try:
        fn()  # warm-up (imports, schema compilation, caches)
    except Exception as exc:  # reported below the table, not hidden
        raise Failed(f"{type(exc).__name__}: {exc}") from exc
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def schema_validator() -> Callable[[bytes], object] | None:
    try:
        from vbcore.edxml import schema
    except ImportError:
        return None
    validate: Callable[[bytes], object] = schema.validate
    return validate


@dataclass(frozen=True)
class Signer:
    key: SigningKey
    private_key: rsa.RSAPrivateKey
    trust: TrustStore
    policy: SignaturePolicy


def measure(label: str, runs: int, signer: Signer, failures: list[str]) -> str:
    """One table row for one package size."""
    key, private_key, trust, policy = signer.key, signer.private_key, signer.trust, signer.policy
    validate = schema_validator()
    unsigned = make_package(SIZES[label])
    signed = sign_package(unsigned, key)
    verify_package(signed, trust=trust, policy=policy, expected_agency=SENDER[0])  # must pass
    tree = etree.fromstring(signed, etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(signed)
    sha = digest.finalize()
    pkcs1, prehashed = padding.PKCS1v15(), Prehashed(hashes.SHA256())
    rsa_signature = private_key.sign(sha, pkcs1, prehashed)
    public_key = private_key.public_key()

    parse = attempt("parse", label, lambda: median_ms(lambda: read_package(signed), runs), failures)
    schema = (
        attempt("schema", label, lambda: median_ms(lambda: validate(signed), runs), failures)
        if validate
        else None
    )
    sign = median_ms(lambda: sign_package(unsigned, key), runs)
    verify = median_ms(
        lambda: verify_package(signed, trust=trust, policy=policy, expected_agency=SENDER[0]), runs
    )
    rsa_sign = median_ms(lambda: private_key.sign(sha, pkcs1, prehashed), 50)
    rsa_verify = median_ms(lambda: public_key.verify(rsa_signature, sha, pkcs1, prehashed), 50)
    c14n = median_ms(lambda: etree.tostring(tree, method="c14n", exclusive=True), runs)
    return (
        f"{label:>8} {len(signed):>10} | {cell(parse)} {cell(schema)} {sign:8.2f} {verify:8.2f} | "
        f"{rsa_sign:8.2f} {rsa_verify:8.3f} {c14n:8.2f} | "
        f"{sign / (rsa_sign + c14n):>9.1f}x {verify / (rsa_verify + c14n):>11.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the repetitions")
    parser.add_argument("--sizes", nargs="*", choices=list(SIZES), default=list(SIZES))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        dev = DevKeys.create(Path(tmp), [SENDER])
        key, trust = dev.keys[SENDER[0]], dev.trust
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    signer = Signer(key, key.private_key, trust, SignaturePolicy())

    header = (
        f"{'package':>8} {'bytes':>10} | {'parse':>8} {'schema':>8} {'sign':>8} {'verify':>8} | "
        f"{'rsa-sign':>8} {'rsa-ver':>8} {'c14n':>8} | {'sign/floor':>10} {'verify/floor':>12}"
    )
    print("median ms per package; floor = one RSA-2048 operation on a SHA-256 digest + one exclusive c14n")
    print(header)
    print("-" * len(header))
    failures: list[str] = []
    for label in args.sizes:
        runs = max(3, RUNS[label] // (4 if args.quick else 1))
        print(measure(label, runs, signer, failures), flush=True)
    for failure in failures:
        print(f"fail: {failure}")
    return 0


def attempt(what: str, label: str, fn: Callable[[], float], failures: list[str]) -> float | str:
    try:
        return fn()
    except Failed as exc:
        failures.append(f"{what} at {label}: {exc}")
        return "fail"


def cell(value: float | str | None) -> str:
    if value is None:
        return f"{'n/a':>8}"
    return f"{value:>8}" if isinstance(value, str) else f"{value:8.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
