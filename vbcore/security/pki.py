"""Certificates and keys: a development PKI, and the agency code a certificate is bound to.

``cryptography`` enters here (and in ``vbcore.security.trust``); ``vbcore.security.signing`` takes
the objects these functions return. Loading a PEM private key costs about 40 ms (docs/measurements.md), so
every loader here is meant to be called ONCE, at start-up, and its result kept: never per message.

An agency certificate names its agency code twice in the subject, in ``organizationIdentifier``
(OID 2.5.4.97, the attribute eIDAS-style CAs use for an organisation's registry number) and in
``UID`` (0.9.2342.19200300.100.1.1), with the agency's Vietnamese name as CN. ``agency_code_of``
reads it back from either, and also accepts a CN or OU that is exactly an agency code, as some
real CAs issue them.

Example::

    pki = init_dev_pki(Path("pki"), [("000.00.00.G22", "Văn phòng Chính phủ")])
    key, cert = load_private_key(pki.key_path("000.00.00.G22")), load_certificate(pki.cert_path(...))
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vbcore.errors import CertificateUnreadable
from vbcore.identifiers import is_test_tenant, is_valid_code

KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEV_CA_NAME = "vbus development CA (not for production)"
CA_VALID_DAYS = 3650
AGENCY_VALID_DAYS = 825


def generate_private_key(key_type: KeyType = "rsa") -> PrivateKey:
    """RSA-2048 (what every Vietnamese CA issues today) or ECDSA P-256."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}: use 'rsa' or 'ec'")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(
    name: str = DEV_CA_NAME,
    *,
    key_type: KeyType = "rsa",
    valid_days: int = CA_VALID_DAYS,
    not_before: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A self-signed CA certificate (BasicConstraints CA, keyCertSign) and its key, valid from
    ``not_before`` (default: five minutes ago) for ``valid_days``."""
    key = generate_private_key(key_type)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, name)]
    )
    start = not_before or (_now() - dt.timedelta(minutes=5))
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_agency_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    code: str,
    name: str,
    *,
    key_type: KeyType = "rsa",
    valid_days: int = AGENCY_VALID_DAYS,
    not_before: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A signing key and certificate for one agency, issued by ``ca_cert``.

    Subject: ``C=VN, O=<name>, CN=<name>, organizationIdentifier=<code>, UID=<code>``.
    ``not_before`` (default now) lets tests make expired or not-yet-valid certificates.
    """
    key = generate_private_key(key_type)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code),
            x509.NameAttribute(NameOID.USER_ID, code),
        ]
    )
    start = not_before or (_now() - dt.timedelta(minutes=5))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def agency_code_of(cert: x509.Certificate) -> str | None:
    """The agency code the certificate's subject names, or None.

    Read from ``organizationIdentifier`` and ``UID``; if they name two different codes the
    certificate binds no agency (None). Values that are not agency codes are ignored: Vietnamese
    CAs put other identifiers there too (``UID=CMND:142587899``, an identity-card number, in the
    VPCP SDK sample; ``MST:`` tax codes). A test-tenant id (``vxp.saas.03``) counts in these two
    attributes only. Failing both, a CN or OU that is exactly an agency code counts.
    """
    subject = cert.subject
    bound = {
        value
        for oid in (NameOID.ORGANIZATION_IDENTIFIER, NameOID.USER_ID)
        for value in _values(subject, oid)
        if is_valid_code(value) or is_test_tenant(value)
    }
    if len(bound) == 1:
        return bound.pop()
    if bound:
        return None
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME):
        for value in _values(subject, oid):
            if is_valid_code(value):
                return value
    return None


def identity_of(cert: x509.Certificate) -> str | None:
    """The one identity the certificate's subject binds: its agency code (``agency_code_of``), else
    the one value its ``organizationIdentifier`` and ``UID`` agree on (a hub's certificate names the
    hub's id there, ``vbus.hub``); None if they name none or several. What the hub signs (checkpoints,
    receipt seals, bundles) states a ``hub_id`` that its certificate must bind this way."""
    code = agency_code_of(cert)
    if code is not None:
        return code
    oids = (NameOID.ORGANIZATION_IDENTIFIER, NameOID.USER_ID)
    bound = {value for oid in oids for value in _values(cert.subject, oid)}
    return bound.pop() if len(bound) == 1 else None


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value).strip() for attribute in name.get_attributes_for_oid(oid)]


# --- files ----------------------------------------------------------------------------------------


def private_key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: development keys only (file mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_from_der(der: bytes, label: str, label_vi: str | None = None) -> x509.Certificate:
    """A certificate a package carries, read whole now or refused (``CertificateUnreadable``).

    ``cryptography`` parses a certificate lazily: a malformed subject, issuer, extension or key only
    raises (``ValueError``, ``InvalidVersion``, ``UnsupportedAlgorithm``, ``DuplicateExtension``...)
    when first touched, which could be anywhere: in chain building, in an error message. Every part
    vbus uses is touched here, once, so a certificate that passes is readable everywhere after.
    ``label`` / ``label_vi`` name it in the refusal ("certificate 2 in the signature's KeyInfo").
    """
    try:
        return _read_whole(der)
    except Exception as exc:  # any failure of parsing hostile DER (see above)
        raise CertificateUnreadable(
            f"{label} cannot be read (truncated or a placeholder?): {type(exc).__name__}: {exc}",
            vi=f"không đọc được {label_vi or label} (bị cắt cụt hoặc chỉ là dữ liệu mẫu?): "
            f"{type(exc).__name__}: {exc}",
        ) from None


@functools.lru_cache(maxsize=1024)
def _read_whole(der: bytes) -> x509.Certificate:
    """``certificate_from_der``'s parse, kept for the certificates seen most recently: every package of
    an agency carries the same one (issue 13: reading it was a tenth of the hub's signature check).
    A certificate is immutable; one that fails to read is not kept (it raises each time)."""
    cert = x509.load_der_x509_certificate(der)
    _ = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.serial_number)
    _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, len(cert.extensions), cert.public_key())
    return cert


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_private_key(path: Path, password: bytes | None = None) -> PrivateKey:
    """Load an RSA or EC private key from PEM. Costs ~40 ms: call once and keep the object."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: only RSA and EC keys can sign edXML packages, not {type(key).__name__}")
    return key


def load_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file."""
    return load_certificates(path)[0]


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM file (a chain: signing certificate first), at least one."""
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    if not certs:  # pragma: no cover - cryptography raises first
        raise ValueError(f"{path}: no certificate")
    return certs


def certificates_by_agency(pems: Mapping[str, str]) -> dict[str, x509.Certificate]:
    """Certificates registered for agencies (code -> PEM text, as the directory holds them), loaded once."""
    return {code: x509.load_pem_x509_certificate(pem.encode("ascii")) for code, pem in pems.items()}


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


@dataclass(frozen=True)
class DevPki:
    """Where ``init_dev_pki`` wrote its files."""

    directory: Path
    agencies: tuple[str, ...] = field(default=())

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca.key.pem"

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.pem"

    def key_path(self, code: str) -> Path:
        return self.directory / f"{code}.key.pem"

    def cert_path(self, code: str) -> Path:
        return self.directory / f"{code}.pem"

    def inbox_path(self, code: str) -> Path:
        """The agency's inbox name (one line), written by ``vb agency add`` beside its certificate."""
        return self.directory / f"{code}.inbox"


def init_dev_pki(
    directory: Path, agencies: Sequence[tuple[str, str]], *, key_type: KeyType = "rsa"
) -> DevPki:
    """Write a development CA and one certificate per ``(code, name)`` into ``directory``.

    Files: ``ca.key.pem``, ``ca.pem``, ``<code>.key.pem``, ``<code>.pem``. An existing CA in the
    directory is reused, so agencies can be added later; existing agency files are overwritten.
    """
    for code, _ in agencies:
        if not code or "/" in code or "\\" in code or code.startswith("."):
            raise ValueError(f"{code!r} cannot name a certificate file")
    directory.mkdir(parents=True, exist_ok=True)
    pki = DevPki(directory, tuple(code for code, _ in agencies))
    if pki.ca_key_path.exists() and pki.ca_cert_path.exists():
        ca_key, ca_cert = load_private_key(pki.ca_key_path), load_certificate(pki.ca_cert_path)
    else:
        ca_key, ca_cert = create_ca(key_type=key_type)
        _write(pki.ca_key_path, private_key_pem(ca_key), private=True)
        _write(pki.ca_cert_path, certificate_pem(ca_cert))
    for code, name in agencies:
        key, cert = issue_agency_certificate(ca_key, ca_cert, code, name, key_type=key_type)
        _write(pki.key_path(code), private_key_pem(key), private=True)
        _write(pki.cert_path(code), certificate_pem(cert))
    return pki


# --- TLS certificates (issue 10): the broker's and PostgreSQL's, and clients' for EXTERNAL login ------

SERVER_VALID_DAYS = 825


def issue_server_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    hosts: Sequence[str],
    *,
    key_type: KeyType = "rsa",
    valid_days: int = SERVER_VALID_DAYS,
) -> tuple[PrivateKey, x509.Certificate]:
    """A TLS server certificate for ``hosts`` (DNS names and IP addresses, each a subjectAltName: what
    clients check the host they connected to against), CN the first host, serverAuth only."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    return _issue_tls(ca_key, ca_cert, subject, key_type, valid_days, ExtendedKeyUsageOID.SERVER_AUTH,
                      x509.SubjectAlternativeName(names))


def issue_tls_client_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    user: str,
    *,
    key_type: KeyType = "rsa",
    valid_days: int = AGENCY_VALID_DAYS,
) -> tuple[PrivateKey, x509.Certificate]:
    """A TLS client certificate whose CN is the broker user ``user`` (an agency's: its code, after the
    installation's user prefix): RabbitMQ's EXTERNAL login (``ssl_cert_login_from = common_name``)
    logs it in as that user. clientAuth only: it is not a document-signing certificate."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)])
    return _issue_tls(ca_key, ca_cert, subject, key_type, valid_days, ExtendedKeyUsageOID.CLIENT_AUTH, None)


def _issue_tls(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    key_type: KeyType,
    valid_days: int,
    usage: x509.ObjectIdentifier,
    alt_names: x509.SubjectAlternativeName | None,
) -> tuple[PrivateKey, x509.Certificate]:
    key = generate_private_key(key_type)
    start = _now() - dt.timedelta(minutes=5)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
                          key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )  # fmt: skip
    if alt_names is not None:
        builder = builder.add_extension(alt_names, critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def tls_paths(directory: Path, name: str) -> tuple[Path, Path]:
    """Where a TLS certificate for ``name`` (a host or a broker user) and its key are written:
    ``NAME.tls.pem`` and ``NAME.tls.key.pem`` (beside, never over, an agency's signing files)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{name!r} cannot name a certificate file")
    return directory / f"{name}.tls.pem", directory / f"{name}.tls.key.pem"


def write_tls_pair(directory: Path, name: str, key: PrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    """Write a TLS certificate and its key (0600) to ``tls_paths``; return (certificate, key)."""
    cert_path, key_path = tls_paths(directory, name)
    directory.mkdir(parents=True, exist_ok=True)
    _write(key_path, private_key_pem(key), private=True)
    _write(cert_path, certificate_pem(cert))
    return cert_path, key_path
