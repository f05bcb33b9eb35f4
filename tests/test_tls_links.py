"""TLS settings as URLs give them (``vbcore.tls``), the certificates ``vb keys`` issues for the links, and
the installation that requires TLS refusing every plain link in one line, before connecting.

No server needed: what is refused here is refused before any connection is tried.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vbcore.cli import vb
from vbcore.errors import TlsRequired, TlsSettingsInvalid
from vbcore.security.pki import load_certificate
from vbcore.tls import REQUIRE_TLS_ENV, share_parameters, split_url
from vbcore.transport.connect import open_transport
from vbcore.transport.provision import BrokerAdmin


@pytest.fixture
def tls_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_TLS_ENV, "1")


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    assert CliRunner().invoke(vb, ["keys", "init", str(tmp_path)]).exit_code == 0
    return tmp_path


@pytest.fixture(autouse=True)
def _environment_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``vb --require-tls`` sets the variable for its process, here the test's: set now (empty: not
    required) so that it is put back as it was after the test."""
    monkeypatch.setenv(REQUIRE_TLS_ENV, "")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(vb, list(args))
    return result.exit_code, result.output


# --- the URL ------------------------------------------------------------------------------------


def test_tls_parameters_are_read_from_the_url_and_the_rest_of_it_is_kept() -> None:
    url = ("amqps://000.00.00.G22@broker.example:5671/vbus?heartbeat=30&cacertfile=/tls/ca.pem"
           "&certfile=/tls/g22.pem&keyfile=/tls/g22.key.pem&auth_mechanism=external")
    clean, tls = split_url(url)
    assert clean == "amqps://000.00.00.G22@broker.example:5671/vbus?heartbeat=30"
    assert tls is not None
    assert (tls.host, tls.cafile, tls.certfile, tls.keyfile) == (
        "broker.example", Path("/tls/ca.pem"), Path("/tls/g22.pem"), Path("/tls/g22.key.pem"))
    assert tls.external
    assert tls.verify


def test_an_amqps_url_without_a_ca_still_verifies_against_the_systems_cas() -> None:
    _, tls = split_url("amqps://u:p@broker.example/vbus")
    assert tls is not None
    context = tls.context()
    assert context.check_hostname
    assert context.verify_mode.name == "CERT_REQUIRED"


def test_tls_parameters_on_a_plain_url_are_refused_rather_than_ignored() -> None:
    with pytest.raises(TlsSettingsInvalid, match="use amqps://"):
        split_url("amqp://u:p@broker.example/vbus?cacertfile=/tls/ca.pem")
    with pytest.raises(TlsSettingsInvalid, match="use https://"):
        split_url("http://u:p@broker.example:15672?cacertfile=/tls/ca.pem")


@pytest.mark.parametrize("url", [
    "amqps://000.00.00.G22@b.example/v?auth_mechanism=external&cacertfile=/ca.pem",  # no certificate
    "amqps://b.example/v?auth_mechanism=external&certfile=/c.pem&keyfile=/k.pem",  # no user to stamp
    "amqps://u@b.example/v?certfile=/c.pem",  # a certificate without its key
    "amqps://u@b.example/v?auth_mechanism=gssapi",
])
def test_a_client_certificate_login_needs_a_certificate_its_key_and_the_user_it_logs_in_as(url: str) -> None:
    with pytest.raises(TlsSettingsInvalid):
        split_url(url)


def test_verification_off_is_refused_for_a_remote_broker_and_for_verify_none() -> None:
    with pytest.raises(TlsSettingsInvalid, match=r"broker\.example"):
        split_url("amqps://u:p@broker.example/v?insecure_skip_verify=true")
    with pytest.raises(TlsSettingsInvalid, match="always verifies"):
        split_url("amqps://u:p@localhost/v?verify=verify_none")
    _, tls = split_url("amqps://u:p@127.0.0.1/v?insecure_skip_verify=true")
    assert tls is not None
    assert not tls.verify


def test_verification_off_is_refused_even_for_this_machine_when_tls_is_required(tls_required: None) -> None:
    with pytest.raises(TlsSettingsInvalid, match=REQUIRE_TLS_ENV):
        split_url("amqps://u:p@localhost/v?insecure_skip_verify=true")


def test_tls_parameters_given_on_the_first_node_apply_to_every_node_that_gives_none() -> None:
    nodes = share_parameters(["amqps://u:p@r1.example/v?cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem",
                              "amqps://u:p@r2.example/v", "amqps://u:p@r3.example/v?cacertfile=/other.pem"])
    settings = [split_url(n)[1] for n in nodes]
    assert [s.cafile if s else None for s in settings] == [Path("/ca.pem"), Path("/ca.pem"),
                                                           Path("/other.pem")]
    assert [s.host if s else None for s in settings] == ["r1.example", "r2.example", "r3.example"]


def test_a_ca_file_that_cannot_be_read_is_named_before_any_connection(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(TlsSettingsInvalid, match=r"nowhere\.pem"):
        open_transport(f"amqps://u:p@localhost:1/v?cacertfile={missing}", role="agency")
    with pytest.raises(TlsSettingsInvalid, match=r"nowhere\.pem"):
        open_transport(f"amqps://u:p@localhost:1/v?cacertfile={missing}", role="hub")


def test_a_client_key_that_does_not_match_its_certificate_is_refused(ca: Path) -> None:
    keys = ca / "clients"
    for user in ("a", "b"):
        assert run("keys", "tls-client", str(keys), "--user", user, "--ca-key", str(ca / "ca.key.pem"),
                   "--ca-cert", str(ca / "ca.pem"))[0] == 0
    url = f"amqps://a@localhost:1/v?certfile={keys / 'a.tls.pem'}&keyfile={keys / 'b.tls.key.pem'}"
    with pytest.raises(TlsSettingsInvalid, match="does not match"):
        open_transport(url, role="agency")


# --- the certificates -------------------------------------------------------------------------


def test_a_server_certificate_names_every_host_as_a_subject_alt_name_for_server_auth(ca: Path) -> None:
    code, out = run("keys", "tls-server", str(ca), "--host", "broker.example", "--host", "10.0.0.5",
                    "--ca-key", str(ca / "ca.key.pem"), "--ca-cert", str(ca / "ca.pem"))
    assert code == 0, out
    cert = load_certificate(ca / "broker.example.tls.pem")
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.example"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == load_certificate(ca / "ca.pem").subject
    assert (ca / "broker.example.tls.key.pem").stat().st_mode & 0o077 == 0


def test_a_tls_client_certificate_names_the_broker_user_as_its_cn_for_client_auth_only(ca: Path) -> None:
    user = "t1-000.00.00.G22"
    assert run("keys", "tls-client", str(ca), "--user", user, "--ca-key", str(ca / "ca.key.pem"),
               "--ca-cert", str(ca / "ca.pem"))[0] == 0
    cert = load_certificate(ca / "t1-000.00.00.G22.tls.pem")
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["t1-000.00.00.G22"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


# --- an installation that requires TLS ---------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_a_plain_broker_url_is_refused_in_one_line_that_says_to_use_amqps(lang: str) -> None:
    code, out = run("--require-tls", "--lang", lang, "parked", "list", "--broker",
                    "amqp://vbus-hub:secret@broker.example:5672/vbus")
    assert code == 1
    assert out.count("\n") == 1
    assert "amqps://" in out
    assert "cacertfile" in out
    assert "secret" not in out
    assert ("requires TLS" in out) == (lang == "en")
    assert ("hệ thống yêu cầu TLS" in out) == (lang == "vi")


def test_plain_links_are_refused_on_every_link_when_the_environment_requires_tls(tls_required: None) -> None:
    for role in ("agency", "hub"):
        with pytest.raises(TlsRequired, match="use amqps://"):
            open_transport("amqp://u:p@localhost:5672/v", role=role)  # type: ignore[arg-type]
    with pytest.raises(TlsRequired, match="use https://"):
        BrokerAdmin("http://guest:guest@localhost:15672")
    code, out = run("--lang", "en", "queues", "--management-url", "http://guest:guest@localhost:15672")
    assert code == 1
    assert "use https://" in out
