"""Signatures: a package whose XML-DSig signature is missing, invalid, wrapped, weak, untrusted, or
signed by another agency than the one it names.
"""

from __future__ import annotations

from vbcore.errors.base import PackageRefused


class SignatureError(PackageRefused):
    """Base of every signature failure."""

    reason = "signature"
    reason_vi = "Chữ ký số không hợp lệ"
    reason_en = "The digital signature is not valid"


class SignatureMissing(SignatureError):
    reason = "signature-missing"
    reason_vi = "Gói tin không có chữ ký số"
    reason_en = "The package is not signed"


class SignatureInvalid(SignatureError):
    """The signature does not verify: the package changed after signing, or the value is wrong."""

    reason = "signature-invalid"
    reason_vi = "Chữ ký số không hợp lệ: gói tin đã bị thay đổi hoặc chữ ký sai"
    reason_en = "The digital signature is not valid: the package changed or the signature is wrong"


class SignatureWrapping(SignatureError):
    """The signature does not cover the whole package (a signature-wrapping attempt)."""

    reason = "signature-wrapping"
    reason_vi = "Chữ ký số không bao trùm toàn bộ gói tin"
    reason_en = "The digital signature does not cover the whole package"


class WeakSignatureAlgorithm(SignatureError):
    """SHA-1 (or another algorithm the operator's policy refuses)."""

    reason = "weak-algorithm"
    reason_vi = "Thuật toán chữ ký số không được chấp nhận"
    reason_en = "The signature algorithm is not accepted"


class UntrustedCertificate(SignatureError):
    """The signing certificate does not chain to a trusted CA, or is expired."""

    reason = "untrusted-certificate"
    reason_vi = "Chứng thư số không được tin cậy hoặc đã hết hạn"
    reason_en = "The certificate is not trusted or has expired"


class SignerMismatch(SignatureError):
    """The signing certificate belongs to another agency than the package's sender."""

    reason = "signer-mismatch"
    reason_vi = "Chứng thư số không thuộc cơ quan gửi"
    reason_en = "The certificate does not belong to the sending agency"


class TooManyCertificates(SignatureError):
    """More certificates in the signature's ``KeyInfo`` than ``ParseLimits.max_certificates``."""

    reason = "too-many-certificates"
    reason_vi = "Chữ ký số kèm quá nhiều chứng thư số"
    reason_en = "The signature carries too many certificates"


class CertificateUnreadable(SignatureInvalid):
    """A certificate in the signature's ``KeyInfo`` is not a readable X.509 certificate."""

    reason = "certificate-unreadable"
    reason_vi = "Không đọc được chứng thư số kèm theo chữ ký"
    reason_en = "A certificate in the signature cannot be read"


class RelayNotAllowed(SignatureError):
    """A gateway relayed a package whose own signature its relay policy does not accept (an unsigned
    package, or one signed by a CA the hub does not trust, from a gateway that may relay only what the
    hub can verify)."""

    reason = "relay-not-allowed"
    reason_vi = "Cổng kết nối không được phép chuyển tiếp gói tin có chữ ký như vậy"
    reason_en = "The gateway may not relay a package signed so"
