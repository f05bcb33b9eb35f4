"""The shape of a package's XML-DSig signature, checked before any cryptography.

Exactly one ``ds:Signature``, in ``edXMLEnvelope/edXMLHeader`` (or at the root), with one
``Reference URI=""`` (the whole package) whose transforms cannot exclude anything, a known and
allowed algorithm, and readable certificates. Every way a signature could cover less than the
whole package is refused here as ``SignatureWrapping``, before signxml is asked whether it verifies.
Used by ``vbcore.security.signing`` only.

``KeyInfo`` is not covered by the signature's digest, so anyone on the way can add to it: at most
``ParseLimits.max_certificates`` certificates are accepted (``TooManyCertificates``), each distinct
one is parsed once (copies are dropped), and each is read whole (``pki.certificate_from_der``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from lxml import etree

from vbcore.edxml import DSIG_NS as DS
from vbcore.edxml import EDXML_NS as EDXML
from vbcore.errors import (
    CertificateUnreadable,
    SignatureInvalid,
    SignatureWrapping,
    TooManyCertificates,
    WeakSignatureAlgorithm,
)
from vbcore.security.pki import certificate_from_der

_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = frozenset(
    {
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    }
)
# Transforms that keep the whole document signed; any other (XPath, XSLT, base64) could narrow it.
ALLOWED_TRANSFORMS = frozenset({_ENVELOPED} | _C14N)


@dataclass(frozen=True)
class Found:
    dsig: list[Any]  # ds:Signature elements
    foreign: list[str]  # namespaces of other elements named Signature ("" for none)


@dataclass(frozen=True)
class SignatureShape:
    """The one XML-DSig signature of a package, checked to cover the whole document."""

    element: Any
    algorithm: str  # the SignatureMethod fragment, e.g. "rsa-sha256"


def find_signatures(root: Any) -> Found:
    dsig, foreign = [], []
    for element in root.iter("{*}Signature"):
        namespace = etree.QName(element).namespace or ""
        if namespace == DS:
            dsig.append(element)
        else:
            foreign.append(namespace)
    return Found(dsig, foreign)


def _fragment(uri: str) -> str:
    return uri.rsplit("#", 1)[-1] if "#" in uri else uri


def check_shape(root: Any, signatures: list[Any], *, allow_sha1: bool) -> SignatureShape:
    """One signature, in the header, one Reference URI="" with harmless transforms, known algorithms."""
    if len(signatures) > 1:
        raise SignatureWrapping(
            f"the package carries {len(signatures)} XML-DSig signatures; exactly one, over the whole "
            "package, is accepted",
            vi=f"gói tin mang {len(signatures)} chữ ký XML-DSig; chỉ chấp nhận đúng một chữ ký, bao trùm "
            "toàn bộ gói tin",
        )
    signature = signatures[0]
    parent = signature.getparent()
    header = root.find(f"{{{EDXML}}}edXMLEnvelope/{{{EDXML}}}edXMLHeader")
    if parent is not header and parent is not root:
        where = etree.QName(parent).localname
        raise SignatureWrapping(
            f"the signature sits in {where}, not in edXMLEnvelope/edXMLHeader",
            vi=f"chữ ký nằm trong {where}, không nằm trong edXMLEnvelope/edXMLHeader",
        )
    ds = {"ds": DS}
    if signature.find("ds:SignedInfo", ds) is None:
        raise SignatureInvalid(
            "the XML-DSig signature has no SignedInfo", vi="chữ ký XML-DSig thiếu SignedInfo"
        )
    references = signature.findall("ds:SignedInfo/ds:Reference", ds)
    if len(references) != 1:
        raise SignatureWrapping(
            f'the signature has {len(references)} references; exactly one, URI="" (the whole package), '
            "is accepted",
            vi=f'chữ ký có {len(references)} tham chiếu (Reference); chỉ chấp nhận đúng một, URI="" '
            "(toàn bộ gói tin)",
        )
    uri = references[0].get("URI")
    if uri != "":
        what = "has no URI" if uri is None else f"URI is {uri!r}: it signs only part of the package"
        what_vi = "không có URI" if uri is None else f"có URI {uri!r}: chỉ ký một phần gói tin"
        raise SignatureWrapping(
            f'the signature\'s Reference {what}; URI="" (the whole package) is required',
            vi=f'tham chiếu (Reference) của chữ ký {what_vi}; phải là URI="" (toàn bộ gói tin)',
        )
    for transform in references[0].findall("ds:Transforms/ds:Transform", ds):
        if transform.get("Algorithm") not in ALLOWED_TRANSFORMS:
            algorithm = transform.get("Algorithm")
            raise SignatureWrapping(
                f"the transform {algorithm!r} could exclude part of the package from the "
                "signature; only enveloped-signature and canonicalisation transforms are accepted",
                vi=f"phép biến đổi {algorithm!r} có thể loại một phần gói tin ra khỏi chữ ký; chỉ chấp "
                "nhận các phép biến đổi enveloped-signature và chuẩn hóa (c14n)",
            )
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", ds)
    digest = references[0].find("ds:DigestMethod", ds)
    if method is None or digest is None:
        raise SignatureInvalid(
            "the signature lacks its SignatureMethod or DigestMethod",
            vi="chữ ký thiếu SignatureMethod hoặc DigestMethod",
        )
    algorithm = _fragment(method.get("Algorithm") or "")
    digest_name = _fragment(digest.get("Algorithm") or "")
    if not allow_sha1 and ("sha1" in algorithm.lower() or digest_name.lower() == "sha1"):
        raise WeakSignatureAlgorithm(
            f"the package is signed with SHA-1 ({algorithm}, digest {digest_name}), which this hub's "
            "policy refuses (SignaturePolicy.allow_sha1)",
            vi=f"gói tin được ký bằng SHA-1 ({algorithm}, băm {digest_name}), chính sách của trục không "
            "chấp nhận thuật toán này",
        )
    if algorithm.startswith("hmac-"):
        raise SignatureInvalid(
            f"an {algorithm} signature names no signer; a certificate signature is required",
            vi=f"chữ ký {algorithm} không xác định người ký; phải ký bằng chứng thư số",
        )
    return SignatureShape(signature, algorithm)


def certificates_in(shape: SignatureShape, limit: int) -> list[x509.Certificate]:
    """The distinct certificates of ``KeyInfo/X509Data``, in document order; at most ``limit`` elements.

    Linear in the number of elements and bounded: the count is checked before anything is decoded,
    and each distinct DER is parsed once however often it is repeated.
    """
    texts = shape.element.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", {"ds": DS})
    if not texts:
        raise SignatureInvalid(
            "the signature carries no certificate (KeyInfo/X509Data/X509Certificate)",
            vi="chữ ký không kèm chứng thư số (KeyInfo/X509Data/X509Certificate)",
        )
    if len(texts) > limit:
        raise TooManyCertificates(
            f"the signature's KeyInfo carries {len(texts)} certificates; at most {limit} are accepted "
            "(the signer's certificate and its CAs)",
            vi=f"KeyInfo của chữ ký kèm {len(texts)} chứng thư số; chỉ chấp nhận tối đa {limit} "
            "(chứng thư của người ký và của các tổ chức cấp)",
        )
    distinct: dict[bytes, x509.Certificate] = {}
    for index, element in enumerate(texts, start=1):
        label = f"certificate {index} in the signature's KeyInfo"
        label_vi = f"chứng thư số thứ {index} trong KeyInfo của chữ ký"
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CertificateUnreadable(
                f"{label} cannot be read (truncated or a placeholder?): {exc}",
                vi=f"không đọc được {label_vi} (bị cắt cụt hoặc chỉ là dữ liệu mẫu?)",
            ) from None
        if der not in distinct:
            distinct[der] = certificate_from_der(der, label, label_vi)
    return list(distinct.values())
