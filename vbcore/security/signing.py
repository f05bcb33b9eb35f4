"""XML-DSig signatures on edXML packages: sign, and verify (the only module importing signxml).

A package carries one enveloped signature over the whole document (``Reference URI=""``,
enveloped-signature transform, exclusive c14n, RSA-SHA256 or ECDSA-SHA256, the certificate in
``KeyInfo/X509Data``), placed where QCVN 102:2016 puts it: the last child of
``edXMLEnvelope/edXMLHeader``.

``verify_package`` returns the verified tree ONLY (signxml's ``signed_xml``: the canonical form of
exactly what was signed, without the signature); callers read the model from it, never from the
bytes they received. Every signxml, lxml and cryptography failure is translated here into one of
``vbcore.errors``' signature errors.

Why signxml (and, through it, lxml here although lxml otherwise stays in ``vbcore.edxml``): it is
the maintained Python XML-DSig implementation, with a hardened parser, SHA-1 off by default and
"return only what was signed" as its contract; its trees are lxml trees, so placing the signature
and serialising the result needs lxml. The signature's shape (one signature, one ``URI=""``
reference, harmless transforms) is checked first, in ``vbcore.security.signature_shape``.

Performance (docs/measurements.md: at 1 MB ~80% of signxml's time is re-parsing and re-serialising):
the package is parsed once, by the project's hardened parser, and the tree, not bytes, is handed
to signxml; every whole-document copy signxml makes by serialising and re-parsing is replaced by a
``deepcopy`` (see ``_Signer`` and ``_Verifier``), or skipped where signxml only reads the tree.

Example::

    key = SigningKey.from_files(Path("pki/000.00.00.G22.key.pem"), Path("pki/000.00.00.G22.pem"))
    signed = sign_package(write_package(edoc), key)
    verified = verify_package(signed, trust=TrustStore.from_directory(Path("trust")),
                              policy=SignaturePolicy(), expected_agency="000.00.00.G22")
    edoc = read_element(verified.root).package
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
    digest_algorithm_implementations,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, SignXMLException
from signxml.signer import XMLSigner
from signxml.util import _remove_sig
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from vbcore.deviations import Deviation
from vbcore.edxml import DEFAULT_LIMITS, ParseLimits
from vbcore.edxml import DSIG_NS as DS
from vbcore.edxml import EDXML_NS as EDXML
from vbcore.edxml import aside as edxml_aside
from vbcore.edxml import parser as edxml_parser
from vbcore.edxml.aside import Aside, HeldText, parse_aside
from vbcore.edxml.deviation_rules import signature_deviations
from vbcore.edxml.writer import write_package_to
from vbcore.errors import (
    NotAnEdxmlPackage,
    SignatureInvalid,
    SignatureMissing,
    SignatureWrapping,
    SignerMismatch,
    UntrustedCertificate,
    WeakSignatureAlgorithm,
)
from vbcore.model import Edoc, StatusPackage
from vbcore.security.pki import PrivateKey, agency_code_of, load_certificates, load_private_key
from vbcore.security.signature_shape import Found, certificates_in, check_shape, find_signatures
from vbcore.security.trust import TrustStore, describe

__all__ = [
    "SignaturePolicy",
    "SigningKey",
    "TrustStore",
    "UntrustedSignature",
    "VerifiedPackage",
    "sign_package",
    "sign_written",
    "verify_package",
    "verify_signature_value",
]

_SIGN_METHODS = {
    "rsa-sha256": SignatureMethod.RSA_SHA256,
    "rsa-sha384": SignatureMethod.RSA_SHA384,
    "rsa-sha512": SignatureMethod.RSA_SHA512,
    "ecdsa-sha256": SignatureMethod.ECDSA_SHA256,
    "ecdsa-sha384": SignatureMethod.ECDSA_SHA384,
    "ecdsa-sha512": SignatureMethod.ECDSA_SHA512,
}
_DIGEST_FOR = {
    "sha256": DigestAlgorithm.SHA256,
    "sha384": DigestAlgorithm.SHA384,
    "sha512": DigestAlgorithm.SHA512,
}

_STRONG_METHODS = frozenset(_SIGN_METHODS.values()) | {
    SignatureMethod.SHA256_RSA_MGF1,
    SignatureMethod.SHA384_RSA_MGF1,
    SignatureMethod.SHA512_RSA_MGF1,
}
_SHA1_METHODS = frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1})
_STRONG_DIGESTS = frozenset(_DIGEST_FOR.values())


def _parse(xml: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> tuple[Any, Aside]:
    """The whole package as one tree, parsed with the project's hardened parser, and the texts held
    aside for it (``ASIDE_ABOVE``): an attachment's base64 stays in ``xml``, a mark in the tree."""
    parsed = parse_aside(xml, limits, ASIDE_ABOVE)
    return parsed.root, parsed.aside


def _huge_parser() -> etree.XMLParser:
    """The parser signxml uses for its own copies of an already hardened and size-bounded tree.

    ``huge`` lifts libxml2's 10 MB text-node cap (one attachment's base64 can exceed it). A new
    parser per call: lxml parsers keep an error log and must not be shared between threads.
    """
    return edxml_parser.new_parser(huge=True)


@dataclass(frozen=True)
class SignaturePolicy:
    """What the operator accepts. SHA-1 is refused unless allowed (real producers still send it)."""

    allow_sha1: bool = False
    require_signature: bool = True

    def signature_methods(self) -> frozenset[SignatureMethod]:
        return _STRONG_METHODS | _SHA1_METHODS if self.allow_sha1 else _STRONG_METHODS

    def digest_algorithms(self) -> frozenset[DigestAlgorithm]:
        return _STRONG_DIGESTS | {DigestAlgorithm.SHA1} if self.allow_sha1 else _STRONG_DIGESTS


@dataclass(frozen=True)
class SigningKey:
    """A private key and its certificate chain (signing certificate first), loaded once."""

    private_key: PrivateKey
    certificate_chain: tuple[x509.Certificate, ...]

    def __post_init__(self) -> None:
        if not self.certificate_chain:
            raise ValueError("a signing key needs its certificate")
        if self.certificate_chain[0].public_key() != self.private_key.public_key():
            raise ValueError(f"the private key does not belong to {describe(self.certificate_chain[0])}")

    @classmethod
    def from_files(cls, key_pem: Path, cert_pem: Path, password: bytes | None = None) -> SigningKey:
        """Load the key (~40 ms) and the chain once; keep the object for every package."""
        return cls(load_private_key(Path(key_pem), password), tuple(load_certificates(Path(cert_pem))))

    @property
    def certificate(self) -> x509.Certificate:
        return self.certificate_chain[0]

    @property
    def agency_code(self) -> str | None:
        return agency_code_of(self.certificate)


@dataclass(frozen=True)
class VerifiedPackage:
    """The outcome of ``verify_package``.

    ``root`` is the verified tree only (for an unsigned package accepted by a policy with
    ``require_signature=False``, the parsed tree, and ``certificate`` is None and ``algorithm`` "").
    """

    root: Any  # lxml.etree._Element: typed loosely so callers need not import lxml
    signer_agency: str | None
    certificate: x509.Certificate | None
    algorithm: str
    warnings: tuple[Deviation, ...] = ()
    # Texts the verified tree holds a mark for (``Aside``: an attachment's base64 over ``ASIDE_ABOVE``,
    # UTF-8, a view of the package's bytes), verified with it: ``read_element(verified.root,
    # aside=verified.aside)``.
    aside: Mapping[str, HeldText] = field(default_factory=dict)

    @property
    def signed(self) -> bool:
        return self.certificate is not None


def bind_to_sender(
    verified: VerifiedPackage,
    sender: str,
    agency_certificates: Mapping[str, x509.Certificate] | None = None,
) -> str:
    """Check that ``sender`` (``From/OrganId`` read from the *verified* tree) signed the package.

    It did if the certificate names its code, or is the certificate registered for it in the
    directory (``agency_certificates``, for CAs that do not put the agency code in the subject).
    Callers bind here, after reading the verified tree, rather than passing ``expected_agency`` to
    ``verify_package``, which would need ``From`` read from the unverified tree first.
    """
    if verified.signer_agency == sender:
        return sender
    if not verified.signed:
        # Only a policy that accepts unsigned packages lets one through ``verify_package``: then
        # nothing but the transport binds it to its sender (the hub's broker user check).
        return sender
    registered = (agency_certificates or {}).get(sender)
    if registered is not None and verified.certificate is not None and registered == verified.certificate:
        return sender
    signer = verified.signer_agency
    raise SignerMismatch(
        f"the package says it is from {sender} but is signed with the certificate of "
        f"{signer or 'an unidentified agency'}",
        vi=f"gói tin ghi là của {sender} nhưng được ký bằng chứng thư số của "
        f"{signer or 'một cơ quan không xác định'}",
    )


# --- an attachment's base64 held aside --------------------------------------------------------------

ASIDE_ABOVE = edxml_aside.ASIDE_ABOVE
"""A text longer than this (an attachment's base64) is kept out of the tree while the package is signed
or verified (``vbcore.edxml.aside``), a random mark in its place. libxml2 copies a text node whole each
time the tree is copied (``deepcopy``: once), canonicalised (twice: its output buffer and the bytes) or
serialised (three times); with the text aside, those copies are of the metadata only, and the text is
fed to the digest (and written to the signed output) where its mark is. Only a text that both forms
write as it is (no ``&``, ``<``, ``>`` or carriage return: base64 never has them) is held aside, so the
digest is the one of the whole canonical form, byte for byte (issue 13: a 50 MB attachment, a 67 MiB
package, cost +340 MiB to sign and to verify). An attachment's base64 is never put in a tree at all
(``parse_aside``: the bytes it came in are the text); one it could not hold so (the package was parsed
whole) is taken out of the parsed tree (``Aside.take``). No other text is: the reader looks up only an
attachment's base64 by its mark, and would read a 1 MiB ``Subject`` as its mark."""


def _digest(aside: Aside, data: bytes, algorithm: DigestAlgorithm) -> bytes:
    hasher = hashes.Hash(digest_algorithm_implementations[algorithm]())
    for piece in aside.pieces(data):
        hasher.update(piece)
    return hasher.finalize()


class _Signer(XMLSigner):
    """signxml's signer on our own tree, with no copy of it at all.

    ``XMLSigner.sign`` asks ``get_root`` twice for a copy of its input: one to place the signature
    in, one to canonicalise without it (the enveloped transform). The tree is ours (parsed from the
    caller's bytes), so both requests get the tree itself; when signxml canonicalises it, the
    signature is taken out for that moment exactly as the enveloped transform takes it out
    (``_remove_sig``: its tail kept) and put back after. Each whole-document copy costs the package's
    size in memory (issue 13: about +67 MiB each for a 50 MB attachment) and 0.6-4 ms per MB.
    """

    def __init__(self, own_tree: Any, signature: Any, aside: Aside, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._own_tree = own_tree
        self._signature = signature
        self._aside = aside

    def forget(self) -> None:
        """Let go of the tree and the texts held aside (views of the caller's bytes): signxml's objects
        are in reference cycles of their own, so this one would keep them until a garbage collection
        (a 67 MiB package for a while longer than the call)."""
        self._own_tree = self._signature = None
        self._aside = Aside()

    def _get_digest(self, data: Any, algorithm: DigestAlgorithm) -> bytes:
        if self._aside.held and isinstance(data, bytes):
            return _digest(self._aside, data, algorithm)
        digest: bytes = super()._get_digest(data, algorithm)
        return digest

    @property
    def parser(self) -> etree.XMLParser:
        return _huge_parser()

    def get_root(self, data: Any) -> Any:
        if data is self._own_tree:
            return data
        if isinstance(data, etree._Element) and data.getparent() is None:
            return copy.deepcopy(data)
        return super().get_root(data)  # type: ignore[no-untyped-call]

    def _c14n(
        self, nodes: Any, algorithm: CanonicalizationMethod, inclusive_ns_prefixes: Any = None
    ) -> bytes:
        if nodes is self._own_tree:
            with _enveloped(self._signature):
                return bytes(super()._c14n(nodes, algorithm, inclusive_ns_prefixes))
        return bytes(super()._c14n(nodes, algorithm, inclusive_ns_prefixes))


@contextlib.contextmanager
def _enveloped(signature: Any) -> Iterator[None]:
    """The tree without ``signature`` while the block runs, as the enveloped-signature transform
    leaves it (signxml's ``_remove_sig``: the signature's tail joins the text before it); restored after."""
    parent = signature.getparent()
    before = next(signature.itersiblings(preceding=True), None)
    index, tail = parent.index(signature), signature.tail
    text_before = before.tail if before is not None else parent.text
    _remove_sig(signature)  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if before is not None:
            before.tail = text_before
        else:
            parent.text = text_before
        parent.insert(index, signature)
        signature.tail = tail


class _TreeCopy:
    """What ``_Verifier._tostring`` hands to ``_Verifier._fromstring`` instead of bytes."""

    __slots__ = ("root",)

    def __init__(self, root: Any) -> None:
        self.root = root


class _Verifier(XMLVerifier):
    """signxml's verifier with at most one copy of the document instead of three serialise-and-parse copies.

    - ``get_root``: ``verify`` only reads the root it is given (every change happens on copies made
      per reference), so our parsed tree is used as is.
    - ``_tostring``/``_fromstring``: signxml copies the document twice per reference as
      ``_fromstring(_tostring(root))`` (once before the enveloped transform, once before c14n). The
      first becomes one ``deepcopy`` (which keeps every namespace declaration: they all sit on or
      below the root), or no copy at all when the caller gave the tree away (``consumable``); the
      second, a copy of that copy, is the same tree again (nothing else holds it). Any other node
      (the Signature element, whose inherited namespaces matter to inclusive c14n) still goes
      through bytes.
    - Once that tree is canonicalised, it is emptied before signxml parses the canonical form into
      the verified tree: the two are never held whole at once. For a 50 MB attachment (a 67 MiB
      package) this took the verification's peak from five times the package to three.
    The interoperability tests with xmlsec1 check the result byte for byte through the digest.
    """

    def __init__(self, consumable: Any = None, aside: Aside | None = None) -> None:
        super().__init__()
        self._consumable = consumable  # a document root this verifier may change and empty
        self._spent: Any = None  # that root once canonicalised
        self._aside = aside or Aside()

    def forget(self) -> None:
        """As ``_Signer.forget``: the trees and the texts held aside, not kept by signxml's cycles."""
        self._consumable = self._spent = None
        self._aside = Aside()

    def _get_digest(self, data: Any, algorithm: DigestAlgorithm) -> bytes:
        if self._aside.held and isinstance(data, bytes):
            return _digest(self._aside, data, algorithm)
        digest: bytes = super()._get_digest(data, algorithm)
        return digest

    def get_root(self, data: Any) -> Any:
        if isinstance(data, etree._Element):
            return data
        return super().get_root(data)  # type: ignore[no-untyped-call]

    def _tostring(self, xml_node: Any, **kwargs: Any) -> Any:
        if not kwargs and isinstance(xml_node, etree._Element) and xml_node.getparent() is None:
            return _TreeCopy(xml_node)
        return super()._tostring(xml_node, **kwargs)  # type: ignore[no-untyped-call]

    def _fromstring(self, xml_string: Any, **kwargs: Any) -> Any:
        if isinstance(xml_string, _TreeCopy):
            if xml_string.root is self._consumable:
                return xml_string.root
            self._consumable = copy.deepcopy(xml_string.root)
            return self._consumable
        if self._spent is not None:  # the canonical form of the reference: the verified tree to be
            self._spent.clear()
            self._spent = self._consumable = None
        return super()._fromstring(xml_string, **kwargs)  # type: ignore[no-untyped-call]

    def _c14n(
        self, nodes: Any, algorithm: CanonicalizationMethod, inclusive_ns_prefixes: Any = None
    ) -> bytes:
        """Inclusive c14n of a subtree (SignedInfo) from a copy rooted at it.

        libxml2 2.14 (bundled with lxml 6.1) writes a spurious ``xmlns=""`` on grandchildren when
        it canonicalises, inclusively, a subtree whose default namespace is declared above it:
        ``<SignedInfo>`` of a ``<Signature xmlns="...xmldsig#">``, as the VPCP SDK's Java
        producers write it. Re-rooting the subtree declares every in-scope namespace on its
        root, which inclusive c14n must output anyway, and avoids the bug (signxml issue #275).
        """
        if not algorithm.value.startswith("http://www.w3.org/2001/10/xml-exc-c14n#"):
            listed = nodes if isinstance(nodes, list) else [nodes]
            nodes = [self._rerooted(node) for node in listed]
        c14n: bytes = super()._c14n(nodes, algorithm, inclusive_ns_prefixes)
        if nodes is self._consumable and self._consumable is not None:
            self._spent = nodes
        return c14n

    def _rerooted(self, node: Any) -> Any:
        if isinstance(node, etree._Element) and node.getparent() is not None:
            return etree.fromstring(etree.tostring(node), _huge_parser())
        return node


def _signature_method(algorithm: str, key: PrivateKey) -> SignatureMethod:
    name = algorithm.lower()
    if isinstance(key, ec.EllipticCurvePrivateKey) and name.startswith("rsa-"):
        name = "ecdsa-" + name.removeprefix("rsa-")
    elif isinstance(key, rsa.RSAPrivateKey) and name.startswith("ecdsa-"):
        raise ValueError(f"{algorithm} needs an EC key, not an RSA key")
    if "sha1" in name:
        raise ValueError("vbus does not produce SHA-1 signatures")
    if name not in _SIGN_METHODS:
        raise ValueError(f"unknown signature algorithm {algorithm!r}: use one of {', '.join(_SIGN_METHODS)}")
    return _SIGN_METHODS[name]


def _place_signature(header: Any) -> Any:
    """Append signxml's placeholder as the header's last child, indented like its siblings."""
    last = header[-1] if len(header) else None
    placeholder = etree.SubElement(header, f"{{{DS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DS})
    if last is not None and (last.tail or "").strip() == "" and (header.text or "").strip() == "":
        placeholder.tail, last.tail = last.tail, header.text
    return placeholder


def sign_package(xml: bytes, key: SigningKey, *, algorithm: str = "rsa-sha256") -> bytes:
    """Sign a whole edXML package (document or status) and return the signed bytes.

    ``algorithm`` is ``rsa-sha256`` (default; becomes ``ecdsa-sha256`` for an EC key), or the
    sha384/sha512 variants. An XML-DSig signature already in the header is replaced.
    """
    method = _signature_method(algorithm, key.private_key)
    root, aside = _parse(xml)
    if len(xml) > ASIDE_ABOVE:
        aside.take(root, ASIDE_ABOVE)
    return _sign(root, aside, key, method)


def sign_written(pkg: Edoc | StatusPackage, key: SigningKey, *, algorithm: str = "rsa-sha256") -> bytes:
    """``sign_package(write_package(pkg), key)``, byte for byte, without the unsigned package: each
    attachment's base64 is made from its content for the digest, then again for the signed output,
    and never held whole but there (a 50 MB attachment: the signed package, not it and the unsigned one;
    issue 13). What ``AgencyClient.submit`` sends."""
    method = _signature_method(algorithm, key.private_key)
    aside = Aside()
    unsigned = io.BytesIO()
    write_package_to(pkg, unsigned, aside)
    root, held = _parse(unsigned.getvalue())
    held.streams.update(aside.streams)
    return _sign(root, held, key, method)


def _sign(root: Any, aside: Aside, key: SigningKey, method: SignatureMethod) -> bytes:
    header = root.find(f"{{{EDXML}}}edXMLEnvelope/{{{EDXML}}}edXMLHeader")
    if header is None:
        raise NotAnEdxmlPackage(
            "no edXMLEnvelope/edXMLHeader to carry the signature",
            vi="không có edXMLEnvelope/edXMLHeader để chứa chữ ký",
        )
    for old in list(root.iter(f"{{{DS}}}Signature")):
        old.getparent().remove(old)
    if root.get("Id") is not None or root.get("ID") is not None:
        # signxml would sign "#<Id>" instead of the whole document.
        raise NotAnEdxmlPackage(
            "the edXML root element must not carry an Id attribute",
            vi="phần tử gốc edXML không được có thuộc tính Id",
        )
    placeholder = _place_signature(header)
    signer = _Signer(
        root,
        placeholder,
        aside,
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=_DIGEST_FOR[method.name.rsplit("_", 1)[1].lower()],
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    try:
        signed = signer.sign(root, key=key.private_key, cert=list(key.certificate_chain))
    finally:
        signer.forget()
    serialised = bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
    return aside.joined(serialised) if aside.held else serialised


def verify_package(
    xml: bytes,
    *,
    trust: TrustStore,
    policy: SignaturePolicy,
    expected_agency: str | None = None,
    agency_certificates: Mapping[str, x509.Certificate] | None = None,
    parsed: Any = None,
    aside: Aside | None = None,
    limits: ParseLimits = DEFAULT_LIMITS,
    at: datetime | None = None,
) -> VerifiedPackage:
    """Verify the package's signature, its certificate's chain, and who signed it.

    ``at``: the instant the certificate is judged at (default now); evidence read years later judges
    it when the hub received the package (``vbcore.evidence.bundle``).

    ``parsed``: the tree ``vbcore.edxml.parse_xml(xml)`` already gave (the hub parses once for the
    schema check); it is used instead of parsing ``xml`` again, and must not be used afterwards.
    ``aside``: the texts ``parsed`` holds a mark for (``vbcore.edxml.aside.parse_aside``, the hub's
    ``Accepted.aside``): required with such a tree, whose marks would otherwise be digested as its text
    (and the package refused as changed).
    ``limits``: the parse limits and ``max_certificates`` (``KeyInfo`` is outside the digest).

    Nothing here decodes an attachment: a broken attachment never hides this verdict.

    The certificate is bound to ``expected_agency`` (normally the package's ``From/OrganId``): the
    agency code in its subject equals it, or it is the certificate registered for that agency in
    ``agency_certificates``; otherwise ``SignerMismatch``. With ``expected_agency=None`` no binding
    is checked and ``signer_agency`` is whatever the certificate (or the registry) says.

    Raises ``SignatureMissing``, ``SignatureInvalid``, ``SignatureWrapping``, ``WeakSignatureAlgorithm``,
    ``UntrustedCertificate``, ``SignerMismatch`` (all ``SignatureError``), or the parser's errors.
    """
    root, aside = _parse(xml, limits) if parsed is None else (parsed, aside or Aside())
    found = find_signatures(root)
    if not found.dsig:
        if policy.require_signature:
            _refuse_unsigned(found)
        # Unsigned packages allowed: a Signature outside XML-DSig proves nothing, so it is unsigned.
        # The tree is the one parsed, its marks with it: the texts they stand for go along.
        warnings = tuple(signature_deviations(root))
        return VerifiedPackage(
            root=root, signer_agency=None, certificate=None, algorithm="", warnings=warnings,
            aside=aside.texts,
        )  # fmt: skip
    shape = check_shape(root, found.dsig, allow_sha1=policy.allow_sha1)
    leaf, intermediates = _signing_certificate(certificates_in(shape, limits.max_certificates))
    trust.validate(leaf, intermediates, at=at)
    signer_agency = _bind(leaf, expected_agency, agency_certificates)
    large = len(xml) > ASIDE_ABOVE
    consume = parsed is None
    signed_root, held = _verify_with_signxml(root, leaf, policy, consume=consume, large=large, aside=aside)
    return VerifiedPackage(
        root=_whole_package(root, signed_root), signer_agency=signer_agency, certificate=leaf,
        algorithm=shape.algorithm, aside=held,
    )  # fmt: skip


@dataclass(frozen=True)
class UntrustedSignature:
    """What ``verify_signature_value`` found: a signature whose value verifies with the certificate the
    package carries, which nothing vouches for. NOT a ``VerifiedPackage`` on purpose: it cannot be
    bound to a sender (``bind_to_sender``) nor accepted by anything that takes one."""

    root: Any  # the signed tree (lxml)
    signer_agency: str | None  # the agency code the certificate names, unchecked
    certificate: x509.Certificate
    algorithm: str
    aside: Mapping[str, HeldText] = field(default_factory=dict)  # as ``VerifiedPackage.aside``


def verify_signature_value(
    xml: bytes, *, policy: SignaturePolicy, limits: ParseLimits = DEFAULT_LIMITS
) -> UntrustedSignature:
    """The signature's shape, digest and value checked against the certificate the package carries,
    WITHOUT any trust anchor (as ``xmlsec1 --insecure``): for an operator diagnosing a package, never
    for accepting one. It says whether the package is unchanged since that key signed it and which
    agency the certificate names; not whether that certificate is genuine, valid today, or trusted
    (``verify_package`` decides that). ``signer_agency`` is the certificate's agency code, unbound.

    Raises ``SignatureMissing`` for no XML-DSig signature (a ``<Signature>`` outside XML-DSig:
    ``SignatureInvalid``), and the shape, certificate and value errors of ``verify_package``.
    """
    root, aside = _parse(xml, limits)
    found = find_signatures(root)
    if not found.dsig:
        _refuse_unsigned(found)
    shape = check_shape(root, found.dsig, allow_sha1=policy.allow_sha1)
    leaf, _ = _signing_certificate(certificates_in(shape, limits.max_certificates))
    large = len(xml) > ASIDE_ABOVE
    signed_root, held = _verify_with_signxml(root, leaf, policy, consume=True, large=large, aside=aside)
    signed_root = _whole_package(root, signed_root)
    return UntrustedSignature(signed_root, agency_code_of(leaf), leaf, shape.algorithm, held)


def _refuse_unsigned(found: Found) -> NoReturn:
    """No XML-DSig signature: a ``<Signature>`` outside its namespace is none, nor is its absence."""
    if found.foreign:
        raise SignatureInvalid(
            f"the package's <Signature> element is in the namespace {found.foreign[0]!r}, not in the "
            f"XML-DSig namespace {DS}: it is not a valid XML-DSig signature (some producers write it "
            "so); the package must be signed with an XML-DSig signature",
            vi=f"phần tử <Signature> của gói tin nằm trong không gian tên {found.foreign[0]!r}, không "
            f"phải không gian tên XML-DSig {DS}: đó không phải chữ ký XML-DSig hợp lệ; gói tin phải "
            "được ký bằng chữ ký XML-DSig",
        )
    raise SignatureMissing(
        "the package carries no XML-DSig signature, and this hub requires one",
        vi="gói tin không có chữ ký XML-DSig, mà trục bắt buộc phải có",
    )


def _whole_package(root: Any, signed_root: Any) -> Any:
    if signed_root is None or signed_root.tag != root.tag:
        raise SignatureWrapping(
            "the signed content is not the whole package", vi="phần được ký không phải toàn bộ gói tin"
        )
    return signed_root


def _signing_certificate(
    certs: list[x509.Certificate],
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signing certificate (one that issued none of the others) and the rest, in linear time.

    X509Data has no order; a self-signed root sent along issued the intermediate or the leaf, so it
    is never chosen. Each name is read once: a count of who issued how many of the others replaces
    the comparison of every certificate with every other.
    """
    names = [(c.subject, c.issuer) for c in certs]
    issued: Counter[x509.Name] = Counter(issuer for subject, issuer in names if issuer != subject)
    leaves = [c for c, (subject, _) in zip(certs, names, strict=True) if issued[subject] == 0]
    leaf = (leaves or certs)[0]
    return leaf, [c for c in certs if c is not leaf]


def _bind(
    leaf: x509.Certificate,
    expected_agency: str | None,
    agency_certificates: Mapping[str, x509.Certificate] | None,
) -> str | None:
    code = agency_code_of(leaf)
    registered = agency_certificates or {}
    if expected_agency is None:
        if code is None:
            code = next((agency for agency, cert in registered.items() if cert == leaf), None)
        return code
    if code == expected_agency or registered.get(expected_agency) == leaf:
        return expected_agency
    raise SignerMismatch(
        f"the package is from {expected_agency} but is signed with the certificate of "
        f"{code or 'an unidentified agency'}: {describe(leaf)}",
        vi=f"gói tin của {expected_agency} nhưng được ký bằng chứng thư số của "
        f"{code or 'một cơ quan không xác định'}: {describe(leaf, 'vi')}",
    )


def _verify_with_signxml(
    root: Any,
    leaf: x509.Certificate,
    policy: SignaturePolicy,
    *,
    consume: bool = False,
    large: bool = True,
    aside: Aside | None = None,
) -> tuple[Any, dict[str, HeldText]]:
    """The verified tree (signxml's ``signed_xml``) and the texts it holds a mark for (``Aside``).
    ``consume``: ``root`` is the caller's to give away (parsed for this verification alone): it is
    verified without a copy and left empty. ``aside``: the texts ``root`` already holds a mark for
    (``parse_aside``). ``large``: the package may hold a text over ``ASIDE_ABOVE`` (its bytes do); any
    still in ``root`` is replaced by a mark too, whether it is consumed or not."""
    aside = aside or Aside()
    if large:
        aside.take(root, ASIDE_ABOVE)
    config = SignatureConfiguration(
        require_x509=True,
        location=".//",
        expect_references=1,
        # A reference without a c14n transform (the SDK's Java producers) is inclusive c14n 1.0,
        # as XML-DSig specifies; signxml would default to c14n 1.1.
        default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
        signature_methods=policy.signature_methods(),
        digest_algorithms=policy.digest_algorithms(),
    )
    try:
        verifier = _Verifier(root if consume else None, aside)
        try:
            result = verifier.verify(root, x509_cert=leaf, parser=_huge_parser(), expect_config=config)
        finally:
            verifier.forget()
    except InvalidDigest as exc:
        raise SignatureInvalid(
            f"the package changed after it was signed ({exc})", vi="gói tin đã bị thay đổi sau khi ký"
        ) from exc
    except InvalidCertificate as exc:
        raise UntrustedCertificate(
            str(exc), vi=f"chứng thư số ký {describe(leaf, 'vi')} không được chấp nhận"
        ) from exc
    except SignXMLException as exc:
        message = str(exc)
        if "forbidden by configuration" in message:
            raise WeakSignatureAlgorithm(
                f"{message} (the hub's signature policy refuses it)",
                vi="thuật toán ký hoặc băm của chữ ký bị chính sách của trục từ chối",
            ) from exc
        raise SignatureInvalid(
            f"the signature does not verify: {message}", vi="giá trị chữ ký không khớp với nội dung đã ký"
        ) from exc
    except Exception as exc:  # lxml, cryptography or signxml on a malformed signature element
        what = f"{type(exc).__name__}: {exc}"
        raise SignatureInvalid(
            f"the signature cannot be processed: {what}", vi="không xử lý được chữ ký (cấu trúc hỏng)"
        ) from exc
    if not isinstance(result, VerifyResult):  # expect_references=1: one result, never a list
        raise SignatureWrapping(
            "the signature verified more than one reference", vi="chữ ký xác thực hơn một tham chiếu"
        )
    return result.signed_xml, aside.texts
