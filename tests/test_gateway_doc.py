"""The guide's "A province in front of the national axis" is true: its files and every command of its
block run for real, in order, on a RabbitMQ vhost of this test's own, against a stand-in national axis
serving the realistic list; and the README's gateway commands are the guide's.

Between the guide's steps the test plays the agencies: UBND tỉnh Nghệ An sends a letter to Bộ Y tế
(``vb pack``, ``vb send``), and Bộ Y tế's DMS on the national axis posts one to Nghệ An, signed with a
certificate from a CA the hub does not hold (the directory's relay policy is ``foreign-ca``). The
long-running commands get ``--once``; URLs, users and the vhost are this test's own.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_transport_support import amqp_url_for, management_url

from connectors.axis_client import AxisClient
from connectors.axis_standin import AxisStandIn, national_agencies, systems_of
from vbcore.agency import AgencyClient
from vbcore.cli import vb
from vbcore.edxml import read_package, write_package
from vbcore.security.pki import init_dev_pki
from vbcore.security.signing import SigningKey, sign_package
from vbcore.security.trust import TrustStore
from vbcore.testing.devworld import letter
from vbcore.transport.names import Names
from vbcore.transport.provision import BrokerAdmin
from vbcore.transport.rabbitmq import RabbitMQTransport

ROOT = Path(__file__).resolve().parent.parent
GUIDE, README = ROOT / "docs" / "connectors.md", ROOT / "README.md"
FILE = re.compile(r"<!-- file: (?P<name>[\w.-]+) -->\n```yaml\n(?P<body>.*?)```", re.S)
COMMANDS = re.compile(r"<!-- commands: gateway -->\n```sh\n(?P<body>.*?)```", re.S)
H41, BYT, GW = "000.00.00.H41", "000.00.00.G18", "gw.truc-quoc-gia"
GW_SYSTEM = "tinh-nghe-an"
DOCUMENT = "000.00.00.G18,2026/11/24,201/BYT-KHTC"


def command_lines(text: str) -> list[str]:
    body = text.replace("\\\n", " ")
    lines = [" ".join(line.split()) for line in body.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def guide_commands() -> list[str]:
    match = COMMANDS.search(GUIDE.read_text(encoding="utf-8"))
    assert match is not None, "the guide's gateway block is marked <!-- commands: gateway -->"
    return command_lines(match["body"])


def test_every_gateway_command_of_the_readme_is_one_the_guide_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## A province in front of the national axis", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert set(command_lines(block)) <= set(guide_commands())
    assert "docs/connectors.md#a-province-in-front-of-the-national-axis" in section


def test_the_guides_files_are_what_the_commands_read() -> None:
    files = {m["name"]: yaml.safe_load(m["body"]) for m in FILE.finditer(GUIDE.read_text(encoding="utf-8"))}
    assert set(files) == {"directory.yaml", "gateway.yaml"}
    [gateway] = [a for a in files["directory.yaml"]["agencies"] if a.get("kind") == "gateway"]
    assert (gateway["code"], gateway["relay"]) == (GW, "foreign-ca")
    assert set(files["gateway.yaml"]) == {"url", "system_id", "secret_file", "timeout"}


class Site:
    """The guide's world: a vhost, user names of this test's own, the stand-in axis, a working folder."""

    def __init__(self, tmp: Path, vhost: str, amqp_url: str) -> None:
        self.tmp, self.vhost, self.amqp_url = tmp, vhost, amqp_url
        self.names = Names(hub_user=f"{vhost}-hub", user_prefix=f"{vhost}-")
        remote = national_agencies(local=[H41, "000.00.00.K41"])
        self.systems = systems_of(remote, **{GW_SYSTEM: "axis-secret-nghe-an"})
        self.axis = AxisStandIn(self.systems, remote, default_system=GW_SYSTEM).start()
        self.env = {"VBUS_HUB_USER": self.names.hub_user, "VBUS_USER_PREFIX": self.names.user_prefix,
                    "VBUS_MANAGEMENT_URL": management_url(amqp_url), "VBUS_VHOST": vhost,
                    "VBUS_BROKER": self.url(self.names.hub_user, "hubsecret")}  # fmt: skip

    def url(self, user: str, password: str) -> str:
        return amqp_url_for(self.amqp_url, user, password, self.vhost)

    def vb(self, *args: str) -> str:
        result = CliRunner(env=self.env).invoke(vb, list(args), catch_exceptions=False)
        assert result.exit_code == 0, f"vb {' '.join(args)}\n{result.output}"
        return result.output

    def run_doc_line(self, line: str) -> str:
        """A line of the guide's block, with this test's URLs; the long-running ones once."""
        line = line.replace(
            "amqp://vbus-hub:hubsecret@127.0.0.1:5672/", self.url(self.names.hub_user, "hubsecret")
        )
        line = line.replace(
            "amqp://gw.truc-quoc-gia:gwsecret@127.0.0.1:5672/",
            self.url(self.names.agency_user(GW), "gwsecret"),
        )
        args = shlex.split(line)
        assert args[0] == "vb"
        if args[1:3] in (["hub", "run"], ["gateway", "run"]):
            args.append("--once")
        return self.vb(*args[1:])

    def write_files(self) -> None:
        for match in FILE.finditer(GUIDE.read_text(encoding="utf-8")):
            body = match["body"].replace("https://truclienthong.example.gov.vn/api", self.axis.url)
            (self.tmp / match["name"]).write_text(body, encoding="utf-8")
        (self.tmp / "axis.secret").write_text(self.systems[GW_SYSTEM] + "\n", encoding="utf-8")


@pytest.fixture
def site(
    amqp_url: str, unique_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    monkeypatch.chdir(tmp_path)  # the guide's paths are relative: pki/, hub.db, directory.yaml...
    s = Site(tmp_path, unique_prefix, amqp_url)
    admin = BrokerAdmin(management_url(amqp_url), vhost=unique_prefix, names=s.names)
    try:
        yield s
    finally:
        s.axis.stop()
        for code in (H41, GW):
            admin.remove_agency(code)
        admin.remove_user(s.names.hub_user)
        admin.delete_vhost()


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_the_guides_gateway_set_up_runs_as_written_on_rabbitmq(site: Site) -> None:
    # What the README's "Running a hub on RabbitMQ" did before: keys, the hub's user, Nghệ An's UBND.
    site.vb("keys", "init", "pki", "--agency", "vbus.hub")
    site.vb("hub", "provision", "--password", "hubsecret", "--inbox-secret", "pki/inbox.secret")
    site.vb("agency", "add", H41, "--password", "h41secret", "--ca-key", "pki/ca.key.pem", "--ca-cert",
            "pki/ca.pem", "--out", "pki", "--inbox-secret", "pki/inbox.secret")  # fmt: skip
    site.write_files()
    lines = guide_commands()
    assert [shlex.split(line)[:3] for line in lines] == [
        ["vb", "agency", "add"], ["vb", "agencies", "sync"], ["vb", "agencies", "sync"],
        ["vb", "agencies", "history"], ["vb", "hub", "run"], ["vb", "gateway", "run"],
        ["vb", "track", DOCUMENT],
    ]  # fmt: skip
    add, dry_run, sync, history, hub_run, gateway_run, track = lines

    site.run_doc_line(add)
    assert "chạy thử: thêm 130," in site.run_doc_line(dry_run)
    assert not Path("axis-directory.json").exists()
    assert "phiên bản 1: thêm 130," in site.run_doc_line(sync)
    assert site.run_doc_line(history).startswith("phiên bản 1  ")

    site.run_doc_line(hub_run)  # the hub declares its queues (nothing waits yet)
    # Nghệ An writes to Bộ Y tế; Bộ Y tế's DMS, on the national axis, writes to Nghệ An.
    site.vb("pack", "--from", H41, "--to", BYT, "--number", "77", "--notation", "UBND-VX", "--subject",
            "V/v phối hợp phòng chống dịch", "--type-name", "Công văn", "-o", "letter.edxml")  # fmt: skip
    site.vb("send", "letter.edxml", "--as", H41, "--key", f"pki/{H41}.key.pem", "--cert", f"pki/{H41}.pem",
            "--broker", site.url(site.names.agency_user(H41), "h41secret"))  # fmt: skip
    foreign = init_dev_pki(site.tmp / "byt-pki", [(BYT, "Bộ Y tế")])
    theirs = letter(BYT, [H41], "201", notation="BYT-KHTC", subject="V/v tăng cường giám sát dịch bệnh")
    key = SigningKey.from_files(foreign.key_path(BYT), foreign.cert_path(BYT))
    byt = AxisClient(site.axis.url, system_id="sys-G18", secret=site.systems["sys-G18"])
    byt.send_edoc(sign_package(write_package(theirs), key), from_="BYT", to=[H41])

    site.run_doc_line(gateway_run)  # Bộ Y tế's document relayed to the hub
    site.run_doc_line(hub_run)  # ... delivered to Nghệ An; Nghệ An's letter to the gateway's inbox
    site.run_doc_line(gateway_run)  # ... posted to the national axis
    [posted] = site.axis.mailbox("sys-G18", "edoc")
    assert read_package(posted.package).package.from_.organ_id == H41  # type: ignore[union-attr]
    assert posted.to == ("BYT",)

    inbox_names = {H41: Path(f"pki/{H41}.inbox").read_text(encoding="utf-8").strip()}
    names = Names(hub_user=site.names.hub_user, user_prefix=site.names.user_prefix, inbox_names=inbox_names)
    transport = RabbitMQTransport(site.url(names.agency_user(H41), "h41secret"), names)
    client = AgencyClient(transport, agency=H41, key=SigningKey.from_files(Path(f"pki/{H41}.key.pem"),
                          Path(f"pki/{H41}.pem")), trust=TrustStore.from_pem_files([Path("pki/ca.pem")]),
                          names=names)  # fmt: skip
    try:
        got = client.fetch(timeout=10)
        assert got is not None
        assert (got.package, got.signer, got.verdict, got.relayed_by) == (theirs, BYT, "foreign-ca", GW)
        client.ack(got)
    finally:
        transport.close()

    shown = site.run_doc_line(track)
    assert "Chuyển tiếp từ trục khác:" in shown
    assert "qua cổng gw.truc-quoc-gia; chữ ký số của cơ quan gửi: đúng với chứng thư số kèm theo" in shown
    assert "chính sách chuyển tiếp foreign-ca" in shown
