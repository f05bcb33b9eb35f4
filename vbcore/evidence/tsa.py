"""RFC 3161 time-stamps on checkpoints: so that the hub's clock is not the only witness of when.

``request_token(url, data)`` asks a time-stamping authority (HTTP POST of a DER ``TimeStampReq``,
``application/timestamp-query``) for a token over SHA-256 of ``data`` (a checkpoint's signed payload)
and returns the ``TimeStampToken`` (CMS SignedData, DER, base64). ``verify_token(token, data, trust)``
checks it offline: the imprint is SHA-256 of ``data``, the signed attributes carry the digest of the
``TSTInfo``, the signature verifies with the certificate in the token, that certificate is for
time-stamping (extendedKeyUsage timeStamping) and chains to ``trust``; it returns the TSA's time.

No new dependency: the few ASN.1 structures involved are read by the small DER reader below (strict
definite-length DER, bounded depth, every failure an ``EvidenceInvalid``), the cryptography by
``cryptography`` (already vbus's). Standard library ``urllib`` carries the one HTTP request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import urllib.request
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from vbcore.errors import EvidenceInvalid, UntrustedCertificate
from vbcore.security.trust import TrustStore

TIMEOUT_SECONDS = 10.0
MAX_TOKEN_BYTES = 64 * 1024
_SHA256 = "2.16.840.1.101.3.4.2.1"
_HASHES: dict[str, hashes.HashAlgorithm] = {
    _SHA256: hashes.SHA256(),
    "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
}
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


def _invalid(en: str, vi: str) -> EvidenceInvalid:
    return EvidenceInvalid(f"time-stamp: {en}", vi=f"dấu thời gian: {vi}")


# --- a strict DER reader, for the structures of RFC 3161 and CMS only ------------------------------

@dataclass(frozen=True)
class _Node:
    tag: int
    raw: bytes  # the whole element, tag and length included
    content: bytes

    def children(self) -> list[_Node]:
        if not self.tag & 0x20:
            raise _invalid("a primitive element where a constructed one is expected",
                           "phần tử đơn ở chỗ cần phần tử ghép")
        nodes, rest = [], self.content
        while rest:
            node, rest = _read(rest)
            nodes.append(node)
        return nodes

    def oid(self) -> str:
        if self.tag != 0x06 or not self.content:
            raise _invalid("an object identifier is expected", "cần một định danh đối tượng (OID)")
        first, value = self.content[0], 0
        arc = min(first // 40, 2)
        parts = [str(arc), str(first - 40 * arc)]
        for byte in self.content[1:]:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                parts.append(str(value))
                value = 0
        return ".".join(parts)


def _read(data: bytes) -> tuple[_Node, bytes]:
    """One element from the front of ``data`` (single-byte tags, definite lengths) and the rest."""
    if len(data) < 2 or data[0] & 0x1F == 0x1F:
        raise _invalid("truncated or unsupported DER", "DER bị cắt cụt hoặc không được hỗ trợ")
    tag, length, at = data[0], data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise _invalid("a DER length is malformed", "độ dài DER sai dạng")
        length, at = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if len(data) < at + length:
        raise _invalid("truncated DER", "DER bị cắt cụt")
    return _Node(tag, data[: at + length], data[at : at + length]), data[at + length :]


def _parse(data: bytes) -> _Node:
    node, rest = _read(data)
    if rest:
        raise _invalid("bytes after the DER element", "có dữ liệu thừa sau phần tử DER")
    return node


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


# --- asking a TSA ------------------------------------------------------------------------------------

def timestamp_request(data: bytes, nonce: int) -> bytes:
    """A DER ``TimeStampReq``: version 1, SHA-256 imprint of ``data``, a nonce, certReq TRUE."""
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("608648016503040201")) + _der(0x05, b""))
    imprint = _der(0x30, algorithm + _der(0x04, hashlib.sha256(data).digest()))
    return _der(0x30, _integer(1) + imprint + _integer(nonce) + _der(0x01, b"\xff"))


def request_token(url: str, data: bytes, *, timeout: float = TIMEOUT_SECONDS) -> str:
    """The TSA's ``TimeStampToken`` over ``data`` (base64 DER); ``EvidenceInvalid`` if it refuses or
    answers something else (``OSError`` if it cannot be reached)."""
    nonce = secrets.randbits(63)
    request = urllib.request.Request(url, data=timestamp_request(data, nonce), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/timestamp-query"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the operator's TSA URL
        reply = answer.read(MAX_TOKEN_BYTES + 1)
    if len(reply) > MAX_TOKEN_BYTES:
        raise _invalid("the TSA's answer is too large", "trả lời của máy chủ cấp dấu thời gian quá lớn")
    try:
        return _token_of(reply, nonce)
    except EvidenceInvalid:
        raise
    except Exception as exc:
        raise _invalid(f"the TSA's answer is malformed ({type(exc).__name__})",
                       "trả lời của máy chủ cấp dấu thời gian sai dạng") from exc


def _token_of(reply: bytes, nonce: int) -> str:
    parts = _parse(reply).children()
    status = parts[0].children()[0] if parts and parts[0].tag == 0x30 else None
    granted = status is not None and status.tag == 0x02 and int.from_bytes(status.content, "big") in (0, 1)
    if not granted or len(parts) < 2:
        raise _invalid("the TSA refused the request", "máy chủ cấp dấu thời gian từ chối yêu cầu")
    token = parts[1].raw
    info = _tst_info(token)
    if info.nonce != nonce:
        raise _invalid("the TSA answered another request (nonce differs)",
                       "máy chủ cấp dấu thời gian trả lời một yêu cầu khác (nonce khác)")
    return base64.b64encode(token).decode()


# --- checking a token ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _TstInfo:
    imprint_algorithm: str
    imprint: bytes
    gen_time: dt.datetime
    nonce: int | None
    der: bytes


def _signed_data(token: bytes) -> list[_Node]:
    content_info = _parse(token).children()
    if len(content_info) != 2 or content_info[0].oid() != _SIGNED_DATA or content_info[1].tag != 0xA0:
        raise _invalid("the token is not CMS SignedData", "mã thông báo không phải CMS SignedData")
    return content_info[1].children()[0].children()


def _tst_info(token: bytes) -> _TstInfo:
    signed = _signed_data(token)
    encap = signed[2].children()
    if encap[0].oid() != _TST_INFO or len(encap) != 2:
        raise _invalid("the token does not hold a TSTInfo", "mã thông báo không chứa TSTInfo")
    der = encap[1].children()[0].content  # [0] EXPLICIT OCTET STRING
    fields = _parse(der).children()
    imprint = fields[2].children()
    gen = fields[4]
    if gen.tag != 0x18:
        raise _invalid("TSTInfo has no genTime", "TSTInfo không có genTime")
    text = gen.content.decode("ascii", "replace").rstrip("Z")
    try:
        when = dt.datetime.strptime(text.split(".")[0], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise _invalid("TSTInfo's genTime is unreadable", "không đọc được genTime của TSTInfo") from exc
    nonce = next((int.from_bytes(f.content, "big") for f in fields[5:] if f.tag == 0x02), None)
    return _TstInfo(imprint[0].children()[0].oid(), imprint[1].content, when, nonce, der)


def verify_token(token_b64: str, data: bytes, trust: TrustStore) -> dt.datetime:
    """The time the TSA vouches for ``data`` at, once every check in the module docstring passed;
    ``EvidenceInvalid`` naming the first that failed."""
    try:
        token = base64.b64decode(token_b64, validate=True)
        return _verify(token, data, trust)
    except EvidenceInvalid:
        raise
    except Exception as exc:  # hostile bytes reach cryptography's lazily parsed parts: all "malformed"
        raise _invalid(f"the token is malformed ({type(exc).__name__})", "mã thông báo sai dạng") from exc


def _verify(token: bytes, data: bytes, trust: TrustStore) -> dt.datetime:
    info = _tst_info(token)
    if info.imprint_algorithm not in _HASHES:
        raise _invalid("the imprint's hash algorithm is not accepted", "thuật toán băm không được chấp nhận")
    digest = hashes.Hash(_HASHES[info.imprint_algorithm])
    digest.update(data)
    if digest.finalize() != info.imprint:
        raise _invalid("it was issued for other bytes than this checkpoint's",
                       "dấu thời gian được cấp cho dữ liệu khác, không phải điểm chốt này")
    signed = _signed_data(token)
    certificates = [x509.load_der_x509_certificate(n.raw) for n in signed[3].children()] if (
        signed[3].tag == 0xA0) else []
    signer_info = signed[-1].children()[0].children()
    digest_oid = signer_info[2].children()[0].oid()
    attributes = signer_info[3]
    if attributes.tag != 0xA0 or digest_oid not in _HASHES:
        raise _invalid("the signer has no signed attributes or an unaccepted hash",
                       "người ký không có thuộc tính được ký hoặc dùng thuật toán băm không được chấp nhận")
    values = {a.children()[0].oid(): a.children()[1].children()[0] for a in attributes.children()}
    content_digest = hashes.Hash(_HASHES[digest_oid])
    content_digest.update(info.der)
    if _CONTENT_TYPE not in values or values[_CONTENT_TYPE].oid() != _TST_INFO or \
            values.get(_MESSAGE_DIGEST, _Node(0, b"", b"")).content != content_digest.finalize():
        raise _invalid("the signed attributes do not match the TSTInfo",
                       "các thuộc tính được ký không khớp TSTInfo")
    signature = signer_info[5].content
    signed_bytes = b"\x31" + attributes.raw[1:]  # verified as the SET OF it was signed as
    tsa_cert = _signer_certificate(certificates, signed_bytes, signature, _HASHES[digest_oid])
    try:
        usage = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise _invalid("the signer's certificate is not for time-stamping",
                       "chứng thư số của người ký không dùng để cấp dấu thời gian")
    try:
        trust.validate(tsa_cert, [c for c in certificates if c != tsa_cert], at=info.gen_time)
    except UntrustedCertificate as exc:
        raise _invalid(f"the TSA is not trusted: {exc}", f"máy chủ cấp dấu thời gian không được tin cậy: "
                       f"{exc.detail_vi}") from exc
    return info.gen_time


def _signer_certificate(certificates: list[x509.Certificate], signed: bytes, signature: bytes,
                        algorithm: hashes.HashAlgorithm) -> x509.Certificate:
    """The certificate of the token whose key made ``signature`` (the token must carry it: certReq)."""
    for cert in certificates:
        key = cert.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed, padding.PKCS1v15(), algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, signed, ec.ECDSA(algorithm))
            else:
                continue
        except InvalidSignature:
            continue
        return cert
    raise _invalid("its signature does not verify with any certificate it carries (changed, or forged)",
                   "chữ ký không khớp chứng thư số nào đi kèm (đã bị sửa hoặc giả mạo)")


def token_time(token_b64: str) -> dt.datetime:
    """The genTime a token states (unchecked: for display next to a verified checkpoint)."""
    try:
        return _tst_info(base64.b64decode(token_b64)).gen_time
    except EvidenceInvalid:
        raise
    except Exception as exc:
        raise _invalid(f"the token is malformed ({type(exc).__name__})", "mã thông báo sai dạng") from exc
