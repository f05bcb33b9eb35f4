"""The trust store: which CAs may vouch for a package's signing certificate.

Chain validation uses ``cryptography.x509.verification`` (path building, issuer signatures,
validity dates, basicConstraints on every CA), with extension policies relaxed to what the
Vietnamese CAs' certificates actually carry: the Web PKI defaults would demand a SAN and a
serverAuth/clientAuth EKU, which document-signing certificates do not have. A CA must still
assert ``basicConstraints cA``, so an agency's own certificate can never issue another.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

from vbcore.errors import ConfigurationError, UntrustedCertificate, printable

# Chains longer than root -> intermediate -> intermediate -> leaf are not seen in practice.
MAX_CHAIN_DEPTH = 4
# Validated chains kept per trust store (one per agency's certificate: 5,000 agencies fit).
MAX_KEPT_CHAINS = 8192

_EE_POLICY = verification.ExtensionPolicy.permit_all()
_CA_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.BasicConstraints, verification.Criticality.AGNOSTIC, None
)


def describe(cert: x509.Certificate, lang: str = "en") -> str:
    """A certificate in one line, in ``lang``: subject, issuer, serial; never raises, and XML- and
    terminal-safe.

    The subject is the sender's own text: it may hold control characters (escaped here, as
    ``errors.printable`` does) and, in a certificate not read by ``pki.certificate_from_der``,
    parts that fail to parse (named as unreadable instead of raising)."""
    subject, issuer, serial = _name(cert, "subject", lang), _name(cert, "issuer", lang), _serial(cert, lang)
    if lang == "en":
        return printable(f"{subject} (issued by {issuer}, serial {serial})")
    return printable(f'"{subject}" (do "{issuer}" cấp, số sê-ri {serial})')


_UNREADABLE = {"subject": ("<unreadable subject>", "<không đọc được chủ thể>"),
               "issuer": ("<unreadable issuer>", "<không đọc được tổ chức cấp>")}


def _name(cert: x509.Certificate, which: str, lang: str) -> str:
    try:
        name: x509.Name = getattr(cert, which)
        return name.rfc4514_string()
    except Exception:  # a lazily parsed part of a hostile certificate
        en, vi = _UNREADABLE[which]
        return en if lang == "en" else vi


def _serial(cert: x509.Certificate, lang: str) -> str:
    try:
        return f"{cert.serial_number:x}"
    except Exception:
        return "<unreadable>" if lang == "en" else "<không đọc được>"


class TrustStore:
    """A set of trusted CA certificates; build it once and share it (it is immutable)."""

    def __init__(self, anchors: Iterable[x509.Certificate]) -> None:
        self.anchors: tuple[x509.Certificate, ...] = tuple(anchors)
        if not self.anchors:
            raise ConfigurationError("a trust store needs at least one CA certificate")
        self._store = verification.Store(list(self.anchors))
        # Chains validated before: (leaf, intermediates) as DER -> the chain. A chain is reused only at a
        # time within every one of its certificates' validity, when it is still a valid path; the store
        # never changes (a new trust store is a new object). Failures are never kept.
        self._chains: dict[tuple[bytes, ...], list[x509.Certificate]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_pem_files(cls, paths: Iterable[Path]) -> TrustStore:
        """The CA certificates in the given PEM files (one file may hold several).

        A file with no CA certificate (``basicConstraints cA``) is a configuration error: an
        agency's own certificate is registered in the directory, not trusted as a CA.
        """
        anchors: list[x509.Certificate] = []
        for path in paths:
            found = _read_cas(Path(path))
            if not found:
                raise ConfigurationError(f"{path} holds no CA certificate (basicConstraints cA)")
            anchors.extend(found)
        return cls(anchors)

    @classmethod
    def from_directory(cls, directory: Path) -> TrustStore:
        """The CA certificates among the ``*.pem`` and ``*.crt`` files in ``directory``.

        Private keys (``*.key.pem``) and non-CA certificates are skipped, so ``init_dev_pki``'s
        directory can be used as is.
        """
        paths = sorted(
            p
            for p in Path(directory).iterdir()
            if p.suffix in (".pem", ".crt") and not p.name.endswith(".key.pem")
        )
        anchors = [cert for path in paths for cert in _read_cas(path)]
        if not anchors:
            raise ConfigurationError(f"no CA certificate (*.pem, *.crt) in {directory}")
        return cls(anchors)

    def validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        at: dt.datetime | None = None,
    ) -> list[x509.Certificate]:
        """The chain from ``leaf`` to a trusted CA, or ``UntrustedCertificate`` saying why not."""
        when = at or dt.datetime.now(dt.UTC)
        if when < leaf.not_valid_before_utc:
            start = f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
            raise UntrustedCertificate(
                f"signing certificate {describe(leaf)} is not valid before {start}",
                vi=f"chứng thư số ký {describe(leaf, 'vi')} chưa có hiệu lực trước ngày {start}",
            )
        if when > leaf.not_valid_after_utc:
            end = f"{leaf.not_valid_after_utc:%Y-%m-%d}"
            raise UntrustedCertificate(
                f"signing certificate {describe(leaf)} expired on {end}",
                vi=f"chứng thư số ký {describe(leaf, 'vi')} đã hết hạn ngày {end}",
            )
        key = tuple(c.public_bytes(serialization.Encoding.DER) for c in (leaf, *intermediates))
        with self._lock:
            chain = self._chains.get(key)
        if chain is not None and all(c.not_valid_before_utc <= when <= c.not_valid_after_utc for c in chain):
            return list(chain)
        chain = self._build(leaf, intermediates, when)
        with self._lock:
            if len(self._chains) >= MAX_KEPT_CHAINS:
                self._chains.pop(next(iter(self._chains)))
            self._chains[key] = chain
        return list(chain)

    def _build(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], when: dt.datetime
    ) -> list[x509.Certificate]:
        verifier = (
            verification.PolicyBuilder()
            .store(self._store)
            .time(when)
            .max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(ee_policy=_EE_POLICY, ca_policy=_CA_POLICY)
            .build_client_verifier()
        )
        try:
            return list(verifier.verify(leaf, list(intermediates)).chain)
        except verification.VerificationError as exc:
            raise UntrustedCertificate(
                f"signing certificate {describe(leaf)} does not chain to a trusted CA: {exc}",
                vi=f"chứng thư số ký {describe(leaf, 'vi')} không dẫn về một CA được tin cậy",
            ) from exc
        except Exception as exc:  # a part of an intermediate the path builder could not parse
            raise UntrustedCertificate(
                f"signing certificate {describe(leaf)} cannot be validated: {type(exc).__name__}: {exc}",
                vi=f"không kiểm tra được chứng thư số ký {describe(leaf, 'vi')}",
            ) from exc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _read_cas(path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read certificates from {path}: {exc}") from exc
    return [cert for cert in certs if _is_ca(cert)]
