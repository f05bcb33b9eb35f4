"""A signed statement: canonical JSON, the signature over exactly those bytes, and the signer's
certificate chain, so that anyone holding the CA certificate can check it offline.

The hub's receipts and the checkpoints of its evidence log are statements. The payload is kept as the
exact bytes that were signed (``payload``), never re-serialised before checking; ``data`` is what it
says. On the wire (``to_json``) the payload is a JSON string holding those bytes as UTF-8, so a
statement stays readable in a bundle.

Example::

    statement = sign_statement(hub_key, {"type": "vbus-checkpoint", "seq": 1000, ...})
    text = statement.to_json()
    said = verify_statement(Statement.from_json(text), trust)  # the payload, or EvidenceInvalid
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from vbcore.errors import EvidenceInvalid, SignatureInvalid, UntrustedCertificate
from vbcore.evidence.entry import canonical_json, parse_utc
from vbcore.security.detached import sign_bytes, verify_bytes
from vbcore.security.pki import identity_of
from vbcore.security.trust import TrustStore

if TYPE_CHECKING:  # the signing module (signxml, the edXML reader) only where a key is at hand
    from vbcore.security.signing import SigningKey

MAX_CERTIFICATES = 8
"""A statement names its signer and at most this many certificates in all (chains are 2-4 deep)."""


@dataclass(frozen=True)
class Statement:
    """``payload`` (canonical JSON bytes) signed by the first certificate of ``certificates`` (PEM)."""

    payload: bytes
    signature: bytes
    certificates: tuple[str, ...]

    @cached_property
    def data(self) -> dict[str, Any]:
        """What the statement says (its payload read as JSON); ``EvidenceInvalid`` if not an object."""
        try:
            value = json.loads(self.payload)
        except ValueError as exc:
            raise EvidenceInvalid("a statement's payload is not JSON",
                                  vi="nội dung của một xác nhận không phải JSON") from exc
        if not isinstance(value, dict):
            raise EvidenceInvalid("a statement's payload is not a JSON object",
                                  vi="nội dung của một xác nhận không phải đối tượng JSON")
        return value

    def as_dict(self) -> dict[str, Any]:
        return {
            "payload": self.payload.decode(),
            "signature": base64.b64encode(self.signature).decode(),
            "certificates": list(self.certificates),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: object) -> Statement:
        if not isinstance(data, dict) or set(data) != {"payload", "signature", "certificates"}:
            raise EvidenceInvalid("a signed statement must have exactly payload, signature and certificates",
                                  vi="một xác nhận có chữ ký phải có đúng payload, signature và certificates")
        payload, signature, certificates = data["payload"], data["signature"], data["certificates"]
        if (not isinstance(payload, str) or not isinstance(signature, str)
                or not isinstance(certificates, list)
                or not all(isinstance(pem, str) for pem in certificates)
                or not 1 <= len(certificates) <= MAX_CERTIFICATES):
            raise EvidenceInvalid("a signed statement has a field of the wrong type or too many certificates",
                                  vi="một xác nhận có chữ ký có trường sai kiểu hoặc quá nhiều chứng thư số")
        try:
            raw_signature = base64.b64decode(signature, validate=True)
        except binascii.Error as exc:
            raise EvidenceInvalid("a statement's signature is not base64",
                                  vi="chữ ký của một xác nhận không phải base64") from exc
        return cls(payload.encode(), raw_signature, tuple(certificates))

    @classmethod
    def from_json(cls, text: str | bytes) -> Statement:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise EvidenceInvalid("a signed statement is not JSON",
                                  vi="một xác nhận có chữ ký không phải JSON") from exc
        return cls.from_dict(data)

    def chain(self) -> list[x509.Certificate]:
        """The signer's certificate first, then the intermediates it brought."""
        try:
            return [x509.load_pem_x509_certificate(pem.encode()) for pem in self.certificates]
        except ValueError as exc:
            raise EvidenceInvalid("a statement carries a certificate that cannot be read",
                                  vi="một xác nhận mang chứng thư số không đọc được") from exc


def check_signed_by_hub(statement: Statement, hub_id: object, what: str, what_vi: str,
                        expected: str | None = None) -> str:
    """``hub_id`` (what a checkpoint or a seal states) when the statement's signer certificate binds it
    (``pki.identity_of``) and it is ``expected`` (if given); else ``EvidenceInvalid``. Without this any
    certificate the CA issued, an agency's, could sign what only the hub may."""
    signer = identity_of(statement.chain()[0])
    if not isinstance(hub_id, str) or not hub_id or signer != hub_id:
        raise EvidenceInvalid(
            f"{what} names the hub {str(hub_id)[:80]!r} but is signed by the certificate of "
            f"{signer or 'no identity'}: only the hub's certificate may sign it",
            vi=f"{what_vi} ghi trục {str(hub_id)[:80]!r} nhưng được ký bằng chứng thư số của "
            f"{signer or 'không rõ danh tính'}: chỉ chứng thư số của trục mới được ký",
        )
    if expected is not None and hub_id != expected:
        raise EvidenceInvalid(
            f"{what} is signed by the hub {hub_id}, not by {expected}",
            vi=f"{what_vi} do trục {hub_id} ký, không phải trục {expected}",
        )
    return hub_id


def sign_statement(key: SigningKey, payload: dict[str, Any]) -> Statement:
    """``payload`` as canonical JSON, signed by ``key``, with ``key``'s certificate chain."""
    data = canonical_json(payload)
    pems = tuple(cert.public_bytes(Encoding.PEM).decode() for cert in key.certificate_chain)
    return Statement(data, sign_bytes(key, data), pems)


def verify_statement(
    statement: Statement, trust: TrustStore, *, at: dt.datetime | None = None
) -> dict[str, Any]:
    """What ``statement`` says, once its signature verifies and its signer chains to ``trust``.

    The certificate is judged at ``at``; by default at the instant the statement states (its
    ``at_utc``), else now: evidence is read years after the hub's certificate expired, and what
    matters is that it was valid when the hub signed (an RFC 3161 time-stamp on a checkpoint
    vouches for that instant independently of the hub's clock)."""
    chain = statement.chain()
    try:
        verify_bytes(chain[0], statement.payload, statement.signature)
    except SignatureInvalid as exc:
        raise EvidenceInvalid(f"a signed statement does not verify: {exc}",
                              vi=f"một xác nhận có chữ ký không đúng: {exc.detail_vi}") from exc
    data = statement.data
    when = at
    if when is None and isinstance(data.get("at_utc"), str):
        when = parse_utc(data["at_utc"])
    try:
        trust.validate(chain[0], chain[1:], at=when)
    except UntrustedCertificate as exc:
        raise EvidenceInvalid(f"the signer of a statement is not trusted: {exc}",
                              vi=f"người ký một xác nhận không được tin cậy: {exc.detail_vi}") from exc
    return data
