"""Agencies log in with their TLS client certificate (RabbitMQ's EXTERNAL mechanism): the broker user,
the certificate and the package's sender are one identity.

``vb agency add CODE --tls-client`` issues the certificate (CN = the agency's broker user, prefix
included) and leaves the user without a password. The agency then sends with the certificate alone,
the hub sees the broker-validated user as the sender, and the recipient's connector takes the letter
with its own certificate. A certificate of another agency cannot publish as this one, a certificate
from an untrusted CA is refused in the handshake, and no password gets the user in.

On a RabbitMQ node of the session's own (``tls_rabbitmq``), in a vhost of this test's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from own_tls import TlsNode, client_certificate_refused

from vbcore.cli import vb
from vbcore.errors import AccessRefused, BrokerLoginRefused
from vbcore.store import open_store
from vbcore.transport.kombu_transport import KombuTransport, RetryPolicy
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: a node of its own, whole `vb` commands

G22, H41 = "000.00.00.G22", "000.00.00.H41"
QUICK = RetryPolicy(max_retries=1, interval_start=0.1, interval_step=0.1, interval_max=0.1)


@dataclass
class Installation:
    node: TlsNode
    tmp: Path
    vhost: str
    names: Names

    @property
    def pki(self) -> Path:
        return self.tmp / "pki"

    @property
    def store(self) -> str:
        return f"sqlite:///{self.tmp / 'hub.db'}"

    @property
    def hub_url(self) -> str:
        return self.node.url(self.names.hub_user, "hubsecret", vhost=self.vhost)

    def agency_url(self, code: str, *, cert_of: str | None = None, rogue: bool = False) -> str:
        """``code``'s URL with EXTERNAL login, and the TLS certificate ``vb agency add`` issued to
        ``cert_of`` (default: ``code`` itself), or one with the same CN from the rogue CA."""
        owner = cert_of or code
        cert = ((self.pki / f"{owner}.tls.pem", self.pki / f"{owner}.tls.key.pem") if not rogue
                else self.node.pki.client(self.names.agency_user(owner), rogue=True))
        return self.node.url(self.names.agency_user(code), vhost=self.vhost, external=True, cert=cert)

    def vb(self, *args: str, ok: bool = True) -> str:
        env = {"VBUS_MANAGEMENT_URL": self.node.management_url, "VBUS_VHOST": self.vhost,
               "VBUS_HUB_USER": self.names.hub_user, "VBUS_USER_PREFIX": self.names.user_prefix,
               "VBUS_LANG": "en"}
        result = CliRunner(env=env).invoke(vb, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output


@pytest.fixture
def installation(tls_rabbitmq: TlsNode, tmp_path: Path, unique_prefix: str) -> Iterator[Installation]:
    """The hub user and two agencies provisioned with `vb`, each agency with a TLS client certificate."""
    names = Names(hub_user=f"{unique_prefix}-hub", user_prefix=f"{unique_prefix}-")
    inst = Installation(tls_rabbitmq, tmp_path, unique_prefix, names)
    pki = str(inst.pki)
    inst.vb("keys", "init", pki, "--agency", "vbus.hub")
    inst.vb("hub", "provision", "--password", "hubsecret", "--inbox-secret", f"{pki}/inbox.secret",
            "--broker", inst.hub_url)
    inst.names = replace(names, inbox_secret=(inst.pki / "inbox.secret").read_text().strip())
    tls_ca = tls_rabbitmq.pki
    for code in (G22, H41):
        added = inst.vb("agency", "add", code, "--tls-client", "--tls-ca-key", str(tls_ca.ca_key),
                        "--tls-ca-cert", str(tls_ca.ca), "--ca-key", f"{pki}/ca.key.pem", "--ca-cert",
                        f"{pki}/ca.pem", "--out", pki, "--inbox-secret", f"{pki}/inbox.secret",
                        "--broker", inst.hub_url)
        assert "logs in with the certificate only" in added
        assert "password (shown once)" not in added
    assert "processed 0 messages" in hub_once(inst)  # the hub declares its queues
    try:
        yield inst
    finally:
        admin = BrokerAdmin(tls_rabbitmq.management_url, vhost=unique_prefix, names=inst.names)
        for code in (G22, H41):
            admin.remove_agency(code)
        admin.remove_user(names.hub_user)
        admin.delete_vhost()


def send(inst: Installation, number: str, *, broker: str, ok: bool = True) -> str:
    letter = inst.tmp / f"letter-{number}.edxml"
    inst.vb("pack", "--from", G22, "--to", H41, "--number", number, "--notation", "VPCP-KSTT",
            "--subject", "V/v thử nghiệm TLS", "--type-name", "Công văn", "-o", str(letter))
    return inst.vb("send", str(letter), "--as", G22, "--key", str(inst.pki / f"{G22}.key.pem"),
                   "--cert", str(inst.pki / f"{G22}.pem"), "--broker", broker, ok=ok)


def hub_once(inst: Installation) -> str:
    return inst.vb("hub", "run", "--once", "--broker", inst.hub_url, "--store", inst.store, "--trust",
                   str(inst.pki / "ca.pem"), "--key", str(inst.pki / "vbus.hub.key.pem"), "--cert",
                   str(inst.pki / "vbus.hub.pem"), "--inbox-secret", str(inst.pki / "inbox.secret"))


def test_an_agency_sends_with_its_certificate_only_and_the_hub_takes_its_broker_user_as_the_sender(
    installation: Installation,
) -> None:
    inst = installation
    send(inst, "1", broker=inst.agency_url(G22))
    assert "processed 1 messages" in hub_once(inst)
    tracked = open_store(inst.store)
    try:
        [document] = list(tracked.documents_since(datetime(2000, 1, 1, tzinfo=UTC)))
        assert tracked.refusals(document_id=document.document_id) == []
    finally:
        tracked.close()
    # The hub admits a message only from a broker-validated agency user: the certificate's CN.
    assert document.sender == G22
    # The recipient's connector logs in with its own certificate and takes the letter.
    config = inst.tmp / "h41.yaml"
    config.write_text(f"root: {inst.tmp / 'h41dms'}\n")
    inst.vb("connector", "run", "folder", "--agency", H41, "--config", str(config), "--pki", str(inst.pki),
            "--broker", inst.agency_url(H41), "--work-dir", str(inst.tmp / "h41work"), "--once")
    assert len(list((inst.tmp / "h41dms" / "inbox").iterdir())) == 1


def test_a_certificate_of_another_agency_cannot_publish_as_this_one(installation: Installation) -> None:
    """H41's certificate logs in as H41 whatever user the URL names; a message stamped G22 is refused."""
    inst = installation
    refused = send(inst, "2", broker=inst.agency_url(G22, cert_of=H41), ok=False)
    assert inst.names.agency_user(H41) in refused
    assert "certificate" in refused
    forged = KombuTransport(inst.agency_url(G22, cert_of=H41), names=inst.names, retry=QUICK)
    with forged, pytest.raises(AccessRefused):
        forged.publish(inst.names.ingress_exchange, G22, b"forged", message_id="forged")


def test_a_client_certificate_from_an_untrusted_ca_is_refused_even_with_the_agencys_name(
    installation: Installation,
) -> None:
    url = installation.agency_url(G22, rogue=True)
    client_certificate_refused(lambda: KombuTransport(url, names=installation.names, retry=QUICK))


def test_the_agency_user_has_no_password_to_log_in_with(installation: Installation) -> None:
    inst = installation
    user = inst.names.agency_user(G22)
    for password in ("", "guest", user):
        url = inst.node.url(user, password, vhost=inst.vhost, cert=(inst.pki / f"{G22}.tls.pem",
                                                                     inst.pki / f"{G22}.tls.key.pem"))
        with pytest.raises(BrokerLoginRefused):
            KombuTransport(url, names=inst.names, retry=QUICK)
