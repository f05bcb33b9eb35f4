"""The development PKI and the agency code a certificate is bound to (vbcore.security.pki, .trust)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from vbcore.errors import ConfigurationError, UntrustedCertificate
from vbcore.security.pki import (
    agency_code_of,
    create_ca,
    generate_private_key,
    init_dev_pki,
    issue_agency_certificate,
    load_certificate,
    load_private_key,
)
from vbcore.security.trust import TrustStore

VPCP = ("000.00.00.G22", "Văn phòng Chính phủ")
NGHE_AN = ("000.00.00.H41", "UBND Tỉnh Nghệ An")


def _cert_with_subject(attributes: list[x509.NameAttribute[str]]) -> x509.Certificate:
    ca_key, ca = create_ca()
    key = generate_private_key()
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )


def test_init_dev_pki_writes_a_ca_and_one_key_and_certificate_per_agency(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path, [VPCP, NGHE_AN])

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "ca.key.pem",
            "ca.pem",
            "000.00.00.G22.key.pem",
            "000.00.00.G22.pem",
            "000.00.00.H41.key.pem",
            "000.00.00.H41.pem",
        ]
    )
    assert (tmp_path / "ca.key.pem").stat().st_mode & 0o077 == 0
    cert = load_certificate(pki.cert_path("000.00.00.H41"))
    assert isinstance(load_private_key(pki.key_path("000.00.00.H41")), rsa.RSAPrivateKey)
    assert agency_code_of(cert) == "000.00.00.H41"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "UBND Tỉnh Nghệ An"
    TrustStore.from_pem_files([pki.ca_cert_path]).validate(cert)


def test_init_dev_pki_keeps_an_existing_ca_when_agencies_are_added(tmp_path: Path) -> None:
    first = init_dev_pki(tmp_path, [VPCP])
    ca_before = first.ca_cert_path.read_bytes()

    second = init_dev_pki(tmp_path, [NGHE_AN])

    assert second.ca_cert_path.read_bytes() == ca_before
    TrustStore.from_pem_files([first.ca_cert_path]).validate(load_certificate(second.cert_path(NGHE_AN[0])))


def test_init_dev_pki_refuses_a_code_that_would_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot name a certificate file"):
        init_dev_pki(tmp_path, [("../000.00.00.G22", "x")])


def test_ec_keys_are_p256() -> None:
    ca_key, ca = create_ca()
    key, cert = issue_agency_certificate(ca_key, ca, *VPCP, key_type="ec")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()


def test_agency_code_is_read_from_organization_identifier_or_uid() -> None:
    only_oi = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "000.00.00.G22"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Văn phòng Chính phủ"),
        ]
    )
    only_uid = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.USER_ID, "000.00.00.G01"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Bộ Công an"),
        ]
    )
    assert agency_code_of(only_oi) == "000.00.00.G22"
    assert agency_code_of(only_uid) == "000.00.00.G01"


def test_conflicting_organization_identifier_and_uid_bind_no_agency() -> None:
    cert = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "000.00.00.G22"),
            x509.NameAttribute(NameOID.USER_ID, "000.00.00.G01"),
        ]
    )
    assert agency_code_of(cert) is None


def test_other_identifiers_in_uid_are_not_taken_for_an_agency_code() -> None:
    # As in the VNPT-CA certificate of the VPCP SDK sample: an identity-card number in UID.
    person = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.USER_ID, "CMND:142587899"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TRẦN ANH TUẤN"),
        ]
    )
    tax_code_and_agency = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.USER_ID, "MST:0100100079"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "000.00.00.G22"),
        ]
    )
    assert agency_code_of(person) is None
    assert agency_code_of(tax_code_and_agency) == "000.00.00.G22"


def test_a_test_tenant_id_is_bound_like_an_agency_code() -> None:
    ca_key, ca = create_ca()
    _, cert = issue_agency_certificate(ca_key, ca, "vxp.saas.03", "Tenant thử nghiệm")
    assert agency_code_of(cert) == "vxp.saas.03"


def test_a_cn_or_ou_that_is_exactly_a_code_counts_but_a_name_does_not() -> None:
    by_cn = _cert_with_subject([x509.NameAttribute(NameOID.COMMON_NAME, "000.00.11.H53")])
    by_ou = _cert_with_subject(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "001.00.10.H47"),
            x509.NameAttribute(NameOID.COMMON_NAME, "UBND huyện"),
        ]
    )
    by_name = _cert_with_subject([x509.NameAttribute(NameOID.COMMON_NAME, "VPCP")])
    by_code_in_a_sentence = _cert_with_subject(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Văn phòng 000.00.00.G22")]
    )
    assert agency_code_of(by_cn) == "000.00.11.H53"
    assert agency_code_of(by_ou) == "001.00.10.H47"
    assert agency_code_of(by_name) is None
    assert agency_code_of(by_code_in_a_sentence) is None


def test_trust_store_refuses_a_certificate_of_another_ca() -> None:
    _, ca = create_ca()
    other_key, other_ca = create_ca("another CA")
    _, stranger = issue_agency_certificate(other_key, other_ca, *VPCP)

    with pytest.raises(UntrustedCertificate, match="does not chain to a trusted CA"):
        TrustStore([ca]).validate(stranger)


def test_trust_store_refuses_an_expired_certificate_naming_the_date() -> None:
    ca_key, ca = create_ca()
    _, old = issue_agency_certificate(
        ca_key, ca, *VPCP, not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_days=30
    )
    with pytest.raises(UntrustedCertificate, match="expired on 2020-01-31"):
        TrustStore([ca]).validate(old)


def test_an_agency_certificate_cannot_act_as_a_ca() -> None:
    ca_key, ca = create_ca()
    agency_key, agency_cert = issue_agency_certificate(ca_key, ca, *VPCP)
    _, forged = issue_agency_certificate(agency_key, agency_cert, *NGHE_AN)

    with pytest.raises(UntrustedCertificate):
        TrustStore([ca]).validate(forged, [agency_cert])


def test_trust_store_follows_an_intermediate_ca_given_with_the_certificate() -> None:
    root_key, root = create_ca("root")
    sub_key, sub = create_ca("intermediate")
    # Re-issue the intermediate under the root (create_ca makes self-signed ones).
    sub = (
        x509.CertificateBuilder()
        .subject_name(sub.subject)
        .issuer_name(root.subject)
        .public_key(sub_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(sub.not_valid_before_utc)
        .not_valid_after(sub.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sub_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    _, leaf = issue_agency_certificate(sub_key, sub, *VPCP)

    chain = TrustStore([root]).validate(leaf, [sub])

    assert chain == [leaf, sub, root]
    with pytest.raises(UntrustedCertificate):
        TrustStore([root]).validate(leaf)


def test_trust_store_from_directory_skips_private_keys_and_needs_a_certificate(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path / "pki", [VPCP])
    store = TrustStore.from_directory(pki.directory)
    assert store.anchors == (load_certificate(pki.ca_cert_path),)  # agency certificate and keys skipped
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="no CA certificate"):
        TrustStore.from_directory(tmp_path / "empty")


def test_trust_store_refuses_a_file_holding_only_an_agency_certificate(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path, [VPCP])
    with pytest.raises(ConfigurationError, match="holds no CA certificate"):
        TrustStore.from_pem_files([pki.cert_path(VPCP[0])])


def test_trust_store_names_an_unreadable_pem_file(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"ca\.pem"):
        TrustStore.from_pem_files([bad])


def test_a_chain_validated_before_is_reused_only_while_every_certificate_in_it_is_valid() -> None:
    # Issue 13: the hub validates an agency's chain once, not per package; a chain whose CA has expired
    # since is built again, and refused.
    root_key, root = create_ca("root", valid_days=10)
    _, leaf = issue_agency_certificate(root_key, root, *VPCP, valid_days=365)  # outlives its CA
    store = TrustStore([root])
    today = dt.datetime.now(dt.UTC)
    assert store.validate(leaf, at=today) == [leaf, root]
    assert store.validate(leaf, at=today) == [leaf, root]
    assert len(store._chains) == 1
    after_the_ca = root.not_valid_after_utc + dt.timedelta(days=1)
    assert after_the_ca < leaf.not_valid_after_utc
    with pytest.raises(UntrustedCertificate):
        store.validate(leaf, at=after_the_ca)
    other_key, other_ca = create_ca("another CA")
    _, stranger = issue_agency_certificate(other_key, other_ca, *NGHE_AN)
    for _ in range(2):  # a refusal is never kept
        with pytest.raises(UntrustedCertificate):
            store.validate(stranger)
    assert len(store._chains) == 1
