"""`vb send --wait` against a real RabbitMQ and a running hub: the agency's own sending errors reach the
person who sent, in one language, with an exit status a script can use; nothing is taken from the inbox."""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result

from vbcore.cli import vb
from vbcore.cli.sending import EXIT_REFUSED, EXIT_TIMED_OUT
from vbcore.directory import Agency, Directory
from vbcore.edxml import write_package
from vbcore.hub.config import HubConfig
from vbcore.model import Edoc, Organization
from vbcore.store import open_store
from vbcore.testing.conformance_world import Identities
from vbcore.testing.devworld import letter
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]


@dataclass
class Setup:
    ids: Identities
    names: Names
    url: str  # amqp://{user}:{password}@host:port/vhost, with {user} to fill

    def broker(self, user: str) -> str:
        return self.url.format(user=quote(user, safe=""))


@pytest.fixture
def running_hub(amqp_url: str, tmp_path: Path) -> Iterator[Setup]:
    ids = Identities.create(tmp_path / "pki")
    prefix = f"vbt{uuid.uuid4().hex[:8]}"
    names = Names(prefix=prefix, hub_user=f"{prefix}-hub")
    host = amqp_url.split("@", 1)[1].split("/", 1)[0]
    management = os.environ.get("VBUS_TEST_MANAGEMENT_URL", f"http://guest:guest@{host.split(':')[0]}:15672")
    admin = BrokerAdmin(management, vhost=prefix, names=names)
    admin.ensure_vhost()
    password = secrets.token_hex(12)
    url = f"amqp://{{user}}:{password}@{host}/{quote(prefix, safe='')}"
    stop = threading.Event()
    thread: threading.Thread | None = None
    transport: RabbitMQTransport | None = None
    try:
        admin.add_hub_user(password)
        for code in (ids.agency, ids.peer):
            admin.add_agency(code, password)
        transport = RabbitMQTransport(url.format(user=quote(names.hub_user)), names, user=names.hub_user)
        units = [Agency(ids.agency, ids.agency_name, "unit", parent="000.00.00.H24"),
                 Agency(ids.peer, "Văn phòng (kiểm thử)", "unit", parent="000.00.00.G22")]
        directory = Directory.default().merged_with(Directory.from_agencies(units))
        config = HubConfig(hub_id=ids.hub_id, names=names)
        hub = ids.dev.hub(transport, open_store("sqlite://"), config, directory)
        hub.start([ids.agency, ids.peer])

        def serve() -> None:
            while not stop.is_set():
                transport.drain(0.1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield Setup(ids, names, url)  # the hub's transport belongs to its thread
    finally:
        stop.set()
        if thread is not None:
            thread.join(5)
        if transport is not None:
            transport.close()
        admin.delete_vhost()
        for user in (ids.agency, ids.peer, names.hub_user):
            admin.remove_user(user)


def send(
    setup: Setup, tmp_path: Path, to: tuple[str, ...], *extra: str, key_of: str | None = None,
    lang: str | None = None,
) -> tuple[Edoc, Result]:
    ids = setup.ids
    doc = letter(ids.agency, [to[0]], f"{uuid.uuid4().int % 10000}", notation="SNV-VP")
    doc = dataclasses.replace(doc, to=tuple(Organization(code) for code in to))
    path = tmp_path / "letter.edxml"
    path.write_bytes(write_package(doc))
    pki = ids.dev.pki
    signer = key_of or ids.agency
    result = CliRunner().invoke(vb, [
        *(["--lang", lang] if lang else []),
        "send", str(path), "--as", ids.agency, "--key", str(pki.key_path(signer)),
        "--cert", str(pki.cert_path(signer)), "--trust", str(pki.ca_cert_path),
        "--broker", setup.broker(ids.agency), "--prefix", setup.names.prefix, *extra,
    ])  # fmt: skip
    return doc, result


def test_a_letter_to_a_closed_agency_is_refused_with_the_successor_and_exits_1(
    running_hub: Setup, tmp_path: Path
) -> None:
    _, result = send(running_hub, tmp_path, ("000.00.00.H47",), "--wait", "20")
    assert result.exit_code == EXIT_REFUSED, result.output
    assert "Đã gửi văn bản" in result.output
    assert "000.00.00.H47: trục liên thông từ chối gửi (02 Từ chối tiếp nhận)" in result.output
    assert "000.00.00.H15" in result.output  # the successor, in the hub's own words
    assert "Văn bản bị từ chối" in result.output
    # Nothing was taken: the 02 is back in the inbox for the agency's connector (once the broker has
    # seen the connection close).
    inbox = running_hub.names.inbox(running_hub.ids.agency)
    hub_user = running_hub.names.hub_user
    with RabbitMQTransport(running_hub.broker(hub_user), running_hub.names, user=hub_user) as observer:
        deadline = time.monotonic() + 5
        while observer.queue_depth(inbox) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert observer.queue_depth(inbox) == 1


def test_a_letter_signed_with_another_agencys_key_is_refused_in_english_when_asked(
    running_hub: Setup, tmp_path: Path
) -> None:
    _, result = send(running_hub, tmp_path, (running_hub.ids.peer,), "--wait", "20", lang="en",
                     key_of=running_hub.ids.peer)
    assert result.exit_code == EXIT_REFUSED, result.output
    assert "The hub refused the document (02 Refused)" in result.output
    assert "Sent document" in result.output
    assert "Đã gửi" not in result.output


def test_a_recipient_that_does_not_answer_in_time_exits_3_naming_it(
    running_hub: Setup, tmp_path: Path
) -> None:
    _, result = send(running_hub, tmp_path, (running_hub.ids.peer,), "--wait", "3")
    assert result.exit_code == EXIT_TIMED_OUT, result.output
    assert f"chưa có trả lời từ {running_hub.ids.peer}" in result.output
