"""Detached signatures over bytes (not XML): what the hub signs its evidence with.

The evidence of issue 9 (receipts, checkpoints of the evidence log) is canonical JSON, signed as
bytes with the same key and certificate the hub signs its status packages with: RSA PKCS#1 v1.5 with
SHA-256 for an RSA key, ECDSA with SHA-256 (DER signature) for an EC key, the two algorithms every
Vietnamese CA's certificates support. ``verify_bytes`` takes the certificate the signature claims
and checks only the signature; whether to believe the certificate is ``TrustStore.validate``'s job.

Example::

    signature = sign_bytes(key, payload)
    verify_bytes(key.certificate, payload, signature)  # raises SignatureInvalid if changed
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from vbcore.errors import SignatureInvalid
from vbcore.security.trust import describe

if TYPE_CHECKING:  # the signing module (signxml, the edXML reader) only where a key is at hand
    from vbcore.security.signing import SigningKey


def sign_bytes(key: SigningKey, data: bytes) -> bytes:
    """The signature of ``data`` by ``key``: RSA PKCS#1 v1.5 SHA-256, or ECDSA SHA-256 (DER)."""
    private = key.private_key
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return private.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_bytes(cert: x509.Certificate, data: bytes, signature: bytes) -> None:
    """Check that ``signature`` is ``cert``'s key's over ``data``; ``SignatureInvalid`` if not."""
    try:
        public = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureInvalid(
            f"the key of {describe(cert)} cannot be read: {exc}",
            vi=f"không đọc được khóa của chứng thư số {describe(cert, 'vi')}",
        ) from exc
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise SignatureInvalid(
                f"the key of {describe(cert)} is neither RSA nor EC",
                vi=f"khóa của chứng thư số {describe(cert, 'vi')} không phải RSA hay EC",
            )
    except InvalidSignature as exc:
        raise SignatureInvalid(
            f"the signature is not {describe(cert)}'s over these bytes: they changed, or another key signed",
            vi=f"chữ ký không phải của {describe(cert, 'vi')} trên dữ liệu này: dữ liệu đã bị sửa hoặc "
            "khóa khác đã ký",
        ) from exc
