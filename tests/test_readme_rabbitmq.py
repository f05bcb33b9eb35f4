"""The README's "Running a hub on RabbitMQ" sequence, command by command, on a real RabbitMQ.

Provision the hub's broker user and inbox secret, add two agencies, run the hub, send a letter,
receive it through the folder connector (which finds its inbox name beside its certificate), send one
that gets parked (signed with a certificate from a CA the hub does not trust yet), see that a replay by anyone
but the hub user is refused, fix the cause (the CA into the hub's trust folder) and replay it as the
hub user.

In a vhost of its own; broker users are broker-wide, so the hub user and the agencies' users are
named under this test's prefix (``VBUS_HUB_USER``, ``VBUS_USER_PREFIX``) and removed afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_transport_support import amqp_url_for, management_url

from vbcore.cli import vb
from vbcore.errors import QueueNotFound
from vbcore.transport import names as n
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]  # slow: hub processes, the management API

ROOT = Path(__file__).resolve().parent.parent
G22, H41 = "000.00.00.G22", "000.00.00.H41"


class Readme:
    """The README's commands, in a vhost and under user names of this test's own."""

    def __init__(self, tmp: Path, vhost: str, amqp_url: str) -> None:
        self.tmp, self.vhost, self.amqp_url = tmp, vhost, amqp_url
        self.env = {"VBUS_HUB_USER": f"{vhost}-hub", "VBUS_USER_PREFIX": f"{vhost}-",
                    "VBUS_MANAGEMENT_URL": management_url(amqp_url)}
        self.names = Names(hub_user=self.env["VBUS_HUB_USER"], user_prefix=self.env["VBUS_USER_PREFIX"])
        self.hub: subprocess.Popen[bytes] | None = None

    def url(self, user: str, password: str) -> str:
        return amqp_url_for(self.amqp_url, user, password, self.vhost)

    @property
    def hub_url(self) -> str:
        return self.url(self.names.hub_user, "hubsecret")

    def vb(self, *args: str, ok: bool = True) -> str:
        result = CliRunner(env=self.env).invoke(vb, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    def start_hub(self) -> None:
        pki = self.tmp / "pki"
        command = [
            sys.executable, "-m", "cli", "hub", "run", "--broker", self.hub_url,
            "--store", f"sqlite:///{self.tmp / 'hub.db'}", "--trust", str(pki),
            "--key", str(pki / "vbus.hub.key.pem"), "--cert", str(pki / "vbus.hub.pem"),
            "--inbox-secret", str(pki / "inbox.secret"),
        ]  # fmt: skip
        log = (self.tmp / "hub.log").open("ab")
        self.hub = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                                    env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"})
        self.wait_for(lambda: '"hub.started"' in (self.tmp / "hub.log").read_text(), "the hub to start")

    def stop_hub(self) -> None:
        if self.hub is not None:
            self.hub.send_signal(signal.SIGTERM)
            assert self.hub.wait(timeout=30) == 0, (self.tmp / "hub.log").read_text()[-2000:]
            self.hub = None

    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (0 while it does not exist yet)."""
        try:
            with RabbitMQTransport(self.hub_url, names=self.names) as t:
                return t.queue_depth(queue)
        except QueueNotFound:
            return 0

    def wait_for(self, condition: object, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
            time.sleep(0.2)

    def pack(self, number: str) -> Path:
        out = self.tmp / f"letter-{number}.edxml"
        self.vb("pack", "--from", G22, "--to", H41, "--number", number, "--notation", "VPCP-KSTT",
                "--subject", "V/v thử nghiệm liên thông", "--type-name", "Công văn", "-o", str(out))
        return out


@pytest.fixture
def readme(amqp_url: str, unique_prefix: str, tmp_path: Path) -> Iterator[Readme]:
    r = Readme(tmp_path, unique_prefix, amqp_url)
    admin = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix, names=r.names)
    try:
        yield r
    finally:
        if r.hub is not None:
            r.hub.kill()
            r.hub.wait()
        for code in (G22, H41):
            admin.remove_agency(code)
        admin.remove_user(r.names.hub_user)
        admin.delete_vhost()


def test_the_readme_sequence_provisions_runs_sends_parks_and_replays_as_the_hub_user(readme: Readme) -> None:
    pki = readme.tmp / "pki"
    readme.vb("keys", "init", str(pki), "--agency", "vbus.hub")
    secret = pki / "inbox.secret"
    out = readme.vb("hub", "provision", "--password", "hubsecret", "--inbox-secret", str(secret),
                    "--vhost", readme.vhost)
    assert readme.names.hub_user in out
    assert secret.stat().st_mode & 0o077 == 0  # readable by its owner only
    readme.names = dataclasses.replace(readme.names, inbox_secret=secret.read_text().strip())
    for code, password in ((G22, "g22secret"), (H41, "h41secret")):
        added = readme.vb("agency", "add", code, "--password", password, "--ca-key", str(pki / "ca.key.pem"),
                          "--ca-cert", str(pki / "ca.pem"), "--out", str(pki), "--inbox-secret", str(secret),
                          "--vhost", readme.vhost, "--broker", readme.hub_url)
        assert readme.names.inbox(code) in added  # underivable without the secret: told to the agency
        assert (pki / f"{code}.inbox").read_text().strip() == readme.names.inbox(code)
    readme.start_hub()

    def send(letter: Path, keys: Path) -> None:
        readme.vb("send", str(letter), "--as", G22, "--key", str(keys / f"{G22}.key.pem"),
                  "--cert", str(keys / f"{G22}.pem"),
                  "--broker", readme.url(readme.names.agency_user(G22), "g22secret"))

    inbox = readme.names.inbox(H41)
    send(readme.pack("1"), pki)
    readme.wait_for(lambda: readme.depth(inbox) == 1, "the letter in H41's inbox")
    # H41's DMS takes it through the folder connector (its inbox name read from pki/H41.inbox).
    config = readme.tmp / "h41.yaml"
    config.write_text(f"root: {readme.tmp / 'h41dms'}\nsettle_seconds: 0\n")
    readme.vb("connector", "run", "folder", "--agency", H41, "--config", str(config), "--pki", str(pki),
              "--broker", readme.url(readme.names.agency_user(H41), "h41secret"),
              "--work-dir", str(readme.tmp / "h41work"), "--once")
    assert len(list((readme.tmp / "h41dms" / "inbox").iterdir())) == 1
    assert readme.depth(inbox) == 0
    # A certificate from a CA the hub does not trust yet (another issuer): refused and parked.
    other_ca = readme.tmp / "other-ca"
    readme.vb("keys", "init", str(other_ca), "--agency", G22)
    send(readme.pack("2"), other_ca)
    readme.wait_for(lambda: readme.depth(readme.names.parked_queue) == 1, "the refused letter to be parked")
    # In G22's inbox: H41's 01 for the first letter, and the hub's 02 for this one.
    readme.wait_for(lambda: readme.depth(readme.names.inbox(G22)) == 2, "the 01 and the 02 to G22")

    operator = ["--broker", readme.hub_url]
    [parked] = json.loads(readme.vb("parked", "list", "--json", *operator))
    assert parked["sender"] == readme.names.agency_user(G22)  # recorded from the broker's user_id
    assert "untrusted-certificate" in parked["reason"]
    # A replay by anyone but the hub user is refused: the hub would not believe the recorded sender.
    refused = readme.vb("parked", "replay", parked["message_id"], "--broker", readme.url("guest", "guest"),
                        ok=False)
    assert readme.names.hub_user in refused
    assert readme.depth(readme.names.parked_queue) == 1

    # The operator fixes the cause (that CA into the hub's trust folder), restarts the hub, replays.
    (pki / "ca-other.pem").write_bytes((other_ca / "ca.pem").read_bytes())
    readme.stop_hub()
    readme.start_hub()
    replayed = readme.vb("parked", "replay", parked["message_id"], *operator)
    assert f"đã gửi lại {parked['message_id']}" in replayed
    readme.wait_for(lambda: readme.depth(inbox) == 1, "the replayed letter")
    assert readme.depth(readme.names.parked_queue) == 0
    with RabbitMQTransport(readme.hub_url, names=readme.names) as t:
        delivered = t.get(inbox)
        assert delivered is not None
        assert delivered.headers[n.SENDER] == G22  # forwarded as from its original sender
    readme.stop_hub()
