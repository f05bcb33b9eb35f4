"""What a package's own signature proves, as a verdict, for packages another axis relays through a
gateway (where vbus meets signatures by CAs it does not hold, and packages relayed with none).

``judge_signature`` gives one of:

- ``valid``: the signature verifies and its certificate chains to a CA the hub trusts;
- ``foreign-ca``: the signature verifies with the certificate the package carries, but the hub cannot
  vouch for that certificate (a CA it does not hold, or outside its validity): the package is
  unchanged since that key signed it, and nothing more is known;
- ``unsigned``: no XML-DSig signature (a ``<Signature>`` outside the XML-DSig namespace, the VPCP SDK's
  placeholder, is none);
- a signature that is present and does not verify (changed content, a broken value, a wrapped
  reference, a refused algorithm) is no verdict to weigh: the precise ``SignatureError`` is raised.

Binding the certificate to the package's sender (and to the gateway that relays it) is the caller's:
``vbcore.hub.relay``. The checks are ``signing``'s own (the signature's shape, then the value, then
the chain), so a relayed package is held to the same cryptography as any other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vbcore.edxml import DEFAULT_LIMITS, ParseLimits
from vbcore.edxml.aside import Aside
from vbcore.errors import SignatureWrapping, UntrustedCertificate
from vbcore.lang import Text
from vbcore.security import signing
from vbcore.security.pki import agency_code_of
from vbcore.security.signature_shape import certificates_in, check_shape, find_signatures
from vbcore.security.signing import SignaturePolicy, TrustStore, VerifiedPackage


class SignatureVerdict(StrEnum):
    """A relayed package's own signature, judged (the values are what the store and headers keep)."""

    VALID = "valid"
    GATEWAY = "gateway"  # signed by the gateway that relays it, for the agency it relays for
    FOREIGN_CA = "foreign-ca"
    UNSIGNED = "unsigned"

    def text(self) -> Text:
        return _VERDICTS[self]


_VERDICTS = {
    SignatureVerdict.VALID: Text("hợp lệ, do CA được trục tin cậy cấp", "valid, from a CA the hub trusts"),
    SignatureVerdict.GATEWAY: Text("của chính cổng kết nối", "the gateway's own"),
    SignatureVerdict.FOREIGN_CA: Text(
        "đúng với chứng thư số kèm theo, nhưng CA cấp chứng thư không được trục tin cậy",
        "verifies with the certificate it carries, but the hub does not trust its CA",
    ),
    SignatureVerdict.UNSIGNED: Text("không có (gói tin không ký)", "none (the package is not signed)"),
}


@dataclass(frozen=True)
class Judged:
    """A verdict and the tree to read the package from: the verified tree when a signature verified
    (only what was signed), the parsed tree when there is none. ``why`` says why the hub cannot vouch
    for a foreign-CA certificate (the chain check's words), in English; ``why_vi`` in Vietnamese."""

    verdict: SignatureVerdict
    verified: VerifiedPackage
    why: str = ""
    why_vi: str = ""

    @property
    def signer(self) -> str | None:
        """The agency code the certificate names (None: unsigned, or a certificate naming none)."""
        cert = self.verified.certificate
        return agency_code_of(cert) if cert is not None else None


def judge_signature(
    xml: bytes,
    *,
    trust: TrustStore,
    policy: SignaturePolicy,
    parsed: Any = None,
    aside: Aside | None = None,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> Judged:
    """The verdict on ``xml``'s signature (see the module docstring); raises the ``SignatureError`` of a
    signature that is present and does not verify. ``parsed`` and ``aside`` as for ``verify_package``."""
    lenient = dataclasses.replace(policy, require_signature=False)
    try:
        verified = signing.verify_package(
            xml, trust=trust, policy=lenient, parsed=parsed, aside=aside, limits=limits
        )
    except UntrustedCertificate as untrusted:
        return Judged(
            SignatureVerdict.FOREIGN_CA,
            _value_only(xml, policy, limits),
            str(untrusted),
            untrusted.detail_vi or "",
        )
    verdict = SignatureVerdict.VALID if verified.signed else SignatureVerdict.UNSIGNED
    return Judged(verdict, verified)


def _value_only(xml: bytes, policy: SignaturePolicy, limits: ParseLimits) -> VerifiedPackage:
    """The signature's shape and value checked against the certificate the package carries, with no
    trust anchor (as ``xmlsec1 --insecure``); the verified tree. Reached only once the shape check
    passed and the chain was not trusted, so every failure here is the signature's own."""
    root, held = signing._parse(xml, limits)
    shape = check_shape(root, find_signatures(root).dsig, allow_sha1=policy.allow_sha1)
    leaf, _ = signing._signing_certificate(certificates_in(shape, limits.max_certificates))
    large = len(xml) > signing.ASIDE_ABOVE
    signed_root, aside = signing._verify_with_signxml(
        root, leaf, policy, consume=True, large=large, aside=held
    )
    if signed_root is None or signed_root.tag != root.tag:
        raise SignatureWrapping(
            "the signed content is not the whole package", vi="phần được ký không phải toàn bộ gói tin"
        )
    return VerifiedPackage(
        root=signed_root, signer_agency=agency_code_of(leaf), certificate=leaf, algorithm=shape.algorithm,
        aside=aside,
    )
