"""`vb send --folder`: every package of a folder signed (once the key is loaded) and sent as one agency, a
file that is no package set aside with its reason, the broker lost midway named, a summary at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vbcore.agency.bulk import folder_files, send_folder
from vbcore.cli import vb
from vbcore.edxml import read_package, write_package
from vbcore.errors import ConnectionLost
from vbcore.security.pki import DevPki, init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.testing.devworld import letter
from vbcore.transport import names as n
from vbcore.transport.memory import InMemoryBroker, InMemoryTransport
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

AGENCY, TO = "000.00.01.G22", "000.00.00.H24"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"), [(AGENCY, "Văn phòng (kiểm thử)")])


@pytest.fixture
def folder(tmp_path: Path, pki: DevPki) -> Path:
    """Three unsigned letters, one the agency signed itself, a file that is no package, a hidden one."""
    out = tmp_path / "out"
    out.mkdir()
    for number in ("1", "2", "3"):
        (out / f"cv-{number}.edxml").write_bytes(write_package(letter(AGENCY, [TO], number)))
    key = SigningKey.from_files(pki.key_path(AGENCY), pki.cert_path(AGENCY))
    (out / "cv-4-signed.edxml").write_bytes(sign_package(write_package(letter(AGENCY, [TO], "4")), key))
    (out / "ghi-chu.txt").write_text("không phải gói tin")
    (out / ".cv-5.edxml.tmp").write_bytes(b"half written")
    return out


def key_of(pki: DevPki) -> SigningKey:
    return SigningKey.from_files(pki.key_path(AGENCY), pki.cert_path(AGENCY))


def test_every_package_is_signed_and_sent_in_name_order_and_a_bad_file_is_set_aside(
    folder: Path, pki: DevPki
) -> None:
    names = Names()
    broker = InMemoryBroker()
    hub = InMemoryTransport(broker, names.hub_user, names)
    hub.declare_hub([])
    seen: list[tuple[int, int]] = []
    agency = InMemoryTransport(broker, names.agency_user(AGENCY), names)
    report = send_folder(agency, names, AGENCY, folder_files(folder), key_of(pki),
                         progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    sent = [s.path.name for s in report.sent]
    assert sent == ["cv-1.edxml", "cv-2.edxml", "cv-3.edxml", "cv-4-signed.edxml"]
    [(bad, error)] = report.failed
    assert bad.name == "ghi-chu.txt"
    assert getattr(error, "reason", None) == "malformed"
    assert seen[0] == (0, 5)
    assert seen[-1] == (5, 5)
    got = [hub.get(names.ingress_queue) for _ in range(4)]
    assert [d.user_id for d in got if d is not None] == [names.agency_user(AGENCY)] * 4
    bodies = [d.body for d in got if d is not None]
    assert all(read_package(body).package.signature is not None for body in bodies)  # each one signed
    assert bodies[3] == (folder / "cv-4-signed.edxml").read_bytes()  # a signed one goes as it is
    ids = [d.headers[n.DOCUMENT_ID] for d in got if d is not None]
    assert [i.rsplit(",", 1)[1] for i in ids] == ["1/VB", "2/VB", "3/VB", "4/VB"]  # in the files' order


def test_the_broker_lost_midway_stops_the_run_and_names_what_was_not_sent(folder: Path, pki: DevPki) -> None:
    names = Names()
    broker = InMemoryBroker()
    InMemoryTransport(broker, names.hub_user, names).declare_hub([])

    class Failing(InMemoryTransport):
        published = 0

        def publish(self, *args: Any, **kwargs: Any) -> None:
            if self.published == 2:
                raise ConnectionLost("the broker went away")
            self.published += 1
            super().publish(*args, **kwargs)

    failing = Failing(broker, names.agency_user(AGENCY), names)
    report = send_folder(failing, names, AGENCY, folder_files(folder), key_of(pki))
    assert [s.path.name for s in report.sent] == ["cv-1.edxml", "cv-2.edxml"]
    assert [p.name for p in report.not_sent] == ["cv-3.edxml", "cv-4-signed.edxml", "ghi-chu.txt"]
    assert isinstance(report.stopped_by, ConnectionLost)


def test_folder_is_one_of_file_metadata_and_folder_and_does_not_wait(folder: Path, pki: DevPki) -> None:
    base = ["send", "--as", AGENCY, "--key", str(pki.key_path(AGENCY)), "--cert", str(pki.cert_path(AGENCY))]
    both = CliRunner().invoke(vb, [*base, str(folder / "cv-1.edxml"), "--folder", str(folder)])
    assert both.exit_code == 2
    assert "give one of FILE, --metadata or --folder" in both.output
    waiting = CliRunner().invoke(vb, [*base, "--folder", str(folder), "--wait", "5"])
    assert waiting.exit_code == 2


# --- against RabbitMQ -------------------------------------------------------------------------------


@pytest.fixture
def vhost(unique_prefix: str) -> Iterator[tuple[str, BrokerAdmin]]:
    names = Names(prefix=unique_prefix, hub_user="guest", user_prefix=f"{unique_prefix}-")
    admin = BrokerAdmin(vhost=unique_prefix, names=names)
    admin.ensure_vhost()
    try:
        yield unique_prefix, admin
    finally:
        admin.remove_agency(AGENCY)
        admin.delete_vhost()


@pytest.mark.rabbitmq
def test_vb_send_folder_prints_each_file_then_a_summary_and_exits_1_for_the_bad_one(
    folder: Path, pki: DevPki, amqp_url: str, vhost: tuple[str, BrokerAdmin]
) -> None:
    name, admin = vhost
    admin.add_agency(AGENCY, "mat-khau")
    host = amqp_url.split("@", 1)[1].split("/", 1)[0]
    with RabbitMQTransport(amqp_url.rstrip("/") + "/" + name, admin.names) as hub:
        hub.declare_hub([])
        result = CliRunner().invoke(vb, [
            "--lang", "en", "send", "--folder", str(folder), "--as", AGENCY, "--prefix", name,
            "--key", str(pki.key_path(AGENCY)), "--cert", str(pki.cert_path(AGENCY)),
            "--broker", f"amqp://{admin.names.agency_user(AGENCY)}:mat-khau@{host}/{name}",
        ])  # fmt: skip
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"cv-1.edxml: sent document {AGENCY},")
        assert lines[3].startswith(f"cv-4-signed.edxml: sent document {AGENCY},")
        assert lines[4].startswith("ghi-chu.txt: not sent: ")
        assert lines[5] == "Sent 4 of 5 files; 1 could not be sent"
        assert "sending: 5/5 (100%)" in result.stderr  # plain progress lines: not a terminal
        taken = [hub.get(admin.names.ingress_queue) for _ in range(5)]
        assert [d.user_id for d in taken if d is not None] == [admin.names.agency_user(AGENCY)] * 4
