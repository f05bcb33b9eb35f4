"""One configuration file (TOML) for a hub, a connector or the web board: what it maps to, the
environment over the file for secrets, a flag over the environment over the file over the default,
and `vb config check`'s one line per problem in one language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import click
import pytest
from click.testing import CliRunner

from vbcore.cli import vb
from vbcore.cli.broker import broker_option, prefix_option
from vbcore.cli.config_options import config_option, options_for
from vbcore.cli.hub import parked_alarm_option
from vbcore.cli.monitoring import metrics_options
from vbcore.config_file import read_config
from vbcore.hub.config import DEFAULT_PARKED_ALARM

HUB_TOML = """
[broker]
nodes = ["amqps://rabbit-1.example:5671", "amqps://rabbit-2.example:5671", "amqps://rabbit-3.example"]
user = "vbus-hub"
password_file = "secrets/broker.password"
vhost = "vbus"
hub_user = "vbus-hub"

[broker.tls]
ca = "tls/ca.pem"
cert = "tls/hub.pem"
key = "tls/hub.key.pem"

[store]
url = "postgresql://vbus@db-1.example:5432,db-2.example:5432/vbus?target_session_attrs=read-write"
password = "written in the file"

[keys]
trust = "pki/ca.pem"
key = "pki/vbus.hub.key.pem"
cert = "pki/vbus.hub.pem"
inbox_secret_file = "pki/inbox.secret"

[limits]
max_bytes = 52428800
parked_alarm = 500
prefetch = 16
document_wait = 12.5

[hub]
id = "vbus.hub-2"
agencies = ["000.00.00.G22", "000.00.00.H24"]
log_format = "console"

[metrics]
host = "0.0.0.0"
port = 9400
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A hub's configuration with every file it names, paths relative to the file."""
    for name in ("tls/ca.pem", "tls/hub.pem", "tls/hub.key.pem", "pki/ca.pem", "pki/vbus.hub.key.pem",
                 "pki/vbus.hub.pem"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("-----BEGIN-----\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets/broker.password").write_text("p@ss:w/rd\n")
    (tmp_path / "pki/inbox.secret").write_text("the operator's inbox secret")
    (tmp_path / "hub.toml").write_text(HUB_TOML, encoding="utf-8")
    return tmp_path / "hub.toml"


def test_a_hub_file_becomes_the_options_of_vb_hub_run(site: Path) -> None:
    config = read_config(site, environ={})
    assert config.problems == []
    options = options_for(config, "hub run")
    first, second, third = options["broker"].split(";")
    url, query = first.split("?", 1)
    assert url == "amqps://vbus-hub:p%40ss%3Aw%2Frd@rabbit-1.example:5671/"  # the password file's, quoted
    assert parse_qs(query) == {"cacertfile": [str(site.parent / "tls/ca.pem")],
                               "certfile": [str(site.parent / "tls/hub.pem")],
                               "keyfile": [str(site.parent / "tls/hub.key.pem")]}  # fmt: skip
    assert second == "amqps://vbus-hub:p%40ss%3Aw%2Frd@rabbit-2.example:5671/"
    assert third == "amqps://vbus-hub:p%40ss%3Aw%2Frd@rabbit-3.example/"
    assert options["store_url"] == ("postgresql://vbus:written%20in%20the%20file@db-1.example:5432,"
                                    "db-2.example:5432/vbus?target_session_attrs=read-write")
    assert options["trust_path"] == str(site.parent / "pki/ca.pem")
    assert options["inbox_secret_file"] == str(site.parent / "pki/inbox.secret")
    assert options["agencies"] == ["000.00.00.G22", "000.00.00.H24"]
    assert (options["vhost"], options["hub_id"], options["prefetch"]) == ("vbus", "vbus.hub-2", 16)
    assert (options["metrics_host"], options["metrics_port"]) == ("0.0.0.0", 9400)
    assert options["document_wait"] == 12.5


def test_the_environment_overrides_the_files_secrets(site: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.secret"
    other.write_text("another secret")
    config = read_config(site, environ={"VBUS_BROKER_PASSWORD": "from-env", "VBUS_STORE_PASSWORD": "db-env",
                                        "VBUS_INBOX_SECRET_FILE": str(other)})  # fmt: skip
    options = options_for(config, "hub run")
    assert options["broker"].startswith("amqps://vbus-hub:from-env@rabbit-1.example:5671/")
    assert options["store_url"].startswith("postgresql://vbus:db-env@db-1.example")
    assert options["inbox_secret_file"] == str(other)


def test_a_tls_client_certificate_login_puts_no_password_in_the_url(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    path = tmp_path / "c.toml"
    path.write_text('[broker]\nnodes = ["amqps://r1:5671"]\nuser = "000.00.00.G22"\npassword = "unused"\n'
                    '[broker.tls]\ncert = "c.pem"\nkey = "c.pem"\nlogin_with_certificate = true\n')
    url = read_config(path, environ={}).broker_url()
    assert url is not None
    assert url.startswith("amqps://000.00.00.G22@r1:5671/?certfile=")
    assert url.endswith("&auth_mechanism=external")


# --- problems, one line each in one language ----------------------------------------------------------

BAD = """[broker]
nodes = ["amqps://vbus-hub:hunter2@rabbit-1:5671/vbus"]
passwrd = "hunter2"
password_file = "missing.secret"

[brokr]
x = 1

[store]
url = "sqlite:///hub.db"
password = "x"

[limits]
prefetch = 0
max_bytes = "50MB"
document_wait = 3600

[hub]
log_format = "yaml"
"""


def check(path: Path, *args: str, lang: str = "vi") -> tuple[int, list[str]]:
    result = CliRunner().invoke(vb, ["--lang", lang, "config", "check", str(path), *args])
    return result.exit_code, result.output.splitlines()


def test_vb_config_check_explains_every_problem_in_one_line_each_in_vietnamese(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(BAD, encoding="utf-8")
    code, lines = check(path)
    assert code == 1
    assert lines == [
        f"{path}:2: [broker] nodes: amqps://***@rabbit-1:5671 phải có dạng amqp://máy:cổng hoặc "
        "amqps://máy:cổng (người dùng, mật khẩu và vhost có khóa riêng)",
        f"{path}:3: mục [broker] không có khóa passwrd; có phải là password?",
        f"{path}:4: [broker] password_file: không đọc được tệp bí mật {tmp_path}/missing.secret: "
        "không tồn tại",
        f"{path}:6: không có mục [brokr]; có phải là [broker]?",
        f"{path}:14: [limits] prefetch = 0 nằm ngoài khoảng cho phép (1..10000)",
        f"{path}:15: [limits] max_bytes phải là một số nguyên, không phải chuỗi",
        f"{path}:16: [limits] document_wait = 3600 nằm ngoài khoảng cho phép (0..600)",
        f"{path}:19: [hub] log_format phải là một trong: json, console",
        f"{path}:11: [store] mật khẩu không dùng được với kho SQLite",
        f"{path}: thiếu [keys] trust (`vb hub run` cần khóa này)",
        f"{path}: thiếu [keys] key (`vb hub run` cần khóa này)",
        f"{path}: thiếu [keys] cert (`vb hub run` cần khóa này)",
        f"{path}: thiếu [keys] inbox_secret_file (`vb hub run` cần khóa này)",
    ]
    assert not any("hunter2" in line for line in lines)  # a password is never repeated


def test_the_same_problems_read_whole_in_english(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(BAD, encoding="utf-8")
    code, lines = check(path, lang="en")
    assert code == 1
    assert lines[1] == f"{path}:3: unknown key passwrd in [broker]; did you mean password?"
    assert lines[5] == f"{path}:15: [limits] max_bytes must be an integer, not a string"
    assert lines[-1] == f"{path}: [keys] inbox_secret_file is missing (`vb hub run` needs it)"
    assert not any(c.isalpha() and not c.isascii() for line in lines for c in line)


def test_an_unreadable_or_empty_secret_file_is_named_without_its_content(tmp_path: Path) -> None:
    (tmp_path / "empty.secret").write_text("  \n")
    (tmp_path / "folder.secret").mkdir()
    path = tmp_path / "c.toml"
    path.write_text('[keys]\ninbox_secret_file = "empty.secret"\n[broker]\npassword_file = "folder.secret"\n')
    code, lines = check(path, lang="en")
    assert code == 1
    assert lines == [
        f"{path}:2: [keys] inbox_secret_file: cannot read the secret file {tmp_path}/empty.secret: "
        "the file is empty",
        f"{path}:4: [broker] password_file: cannot read the secret file {tmp_path}/folder.secret: "
        "is a folder",
    ]


def test_broken_toml_is_one_line_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[store]\nurl = "sqlite:///a.db"\nprefetch 3\n')
    assert check(path) == (1, [f"{path}:3: cú pháp TOML sai ở dòng 3, cột 10: thiếu dấu = sau khóa"])
    assert check(tmp_path / "none.toml", lang="en") == (
        1, [f"{tmp_path}/none.toml: cannot read the configuration file: does not exist"])


def test_a_file_nested_beyond_reason_or_not_text_is_one_line_too(tmp_path: Path) -> None:
    deep, binary = tmp_path / "deep.toml", tmp_path / "binary.toml"
    deep.write_text("[hub]\nagencies = " + "[" * 50_000 + "]" * 50_000 + "\n")
    binary.write_bytes(b"\xff\xfe\x00[hub]")
    assert check(deep, lang="en") == (
        1, [f"{deep}: cannot read the configuration file: arrays or tables nested too deeply"])
    assert check(binary) == (1, [f"{binary}: không đọc được tệp cấu hình: không phải văn bản UTF-8"])


def test_a_good_file_is_said_good_for_the_commands_it_serves(site: Path) -> None:
    assert check(site, lang="en") == (0, [f"{site}: no problems (for vb hub run)"])
    code, lines = check(site, "--for", "connector", lang="en")
    assert code == 1
    assert lines == [f"{site}: [connector] plugin is missing (`vb connector run` needs it)",
                     f"{site}: [connector] agency is missing (`vb connector run` needs it)"]


def test_vb_hub_run_with_a_bad_file_stops_before_connecting_with_the_same_lines(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(vb, ["--lang", "en", "hub", "run", "--config", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: unknown key passwrd in [broker]; did you mean password?" in result.output
    assert "is missing" not in result.output  # what the command line may still give is not judged


# --- precedence: flag > environment > file > default -------------------------------------------------


@click.command()
@config_option("hub run")
@broker_option()
@prefix_option
@parked_alarm_option
@metrics_options
def shows(**options: Any) -> None:
    """The options of `vb hub run` that the file, the environment and flags all give."""
    ctx = click.get_current_context()
    for name in ("broker", "prefix", "parked_alarm", "metrics_port"):
        source = ctx.get_parameter_source(name)
        click.echo(f"{name}={options[name]} ({source.name if source else None})")


def run_shows(site: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    result = CliRunner().invoke(shows, [*args], env={"VBUS_BROKER": None, "VBUS_PREFIX": None, **(env or {})})
    assert result.exit_code == 0, result.output
    return dict(line.split("=", 1) for line in result.output.splitlines())


def test_a_flag_wins_over_the_environment_which_wins_over_the_file_which_wins_over_the_default(
    site: Path,
) -> None:
    site.write_text(HUB_TOML.replace('hub_user = "vbus-hub"', 'hub_user = "vbus-hub"\nprefix = "file"'))
    config = ["--config", str(site)]
    file_only = run_shows(site, *config)
    assert file_only["prefix"] == "file (DEFAULT_MAP)"
    assert file_only["parked_alarm"] == "500 (DEFAULT_MAP)"
    assert file_only["metrics_port"] == "9400 (DEFAULT_MAP)"
    assert file_only["broker"].startswith("amqps://vbus-hub:")
    env = run_shows(site, *config, env={"VBUS_PREFIX": "env", "VBUS_BROKER": "amqp://env@h/"})
    assert (env["prefix"], env["broker"]) == ("env (ENVIRONMENT)", "amqp://env@h/ (ENVIRONMENT)")
    flag = run_shows(site, *config, "--prefix", "flag", "--parked-alarm", "7", env={"VBUS_PREFIX": "env"})
    assert (flag["prefix"], flag["parked_alarm"]) == ("flag (COMMANDLINE)", "7 (COMMANDLINE)")
    assert run_shows(site)["parked_alarm"] == f"{DEFAULT_PARKED_ALARM} (DEFAULT)"  # no file
    flag_first = run_shows(site, "--prefix", "flag", *config)  # the order on the command line does not matter
    assert flag_first["prefix"] == "flag (COMMANDLINE)"


# --- the examples the deployment ships ---------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "deploy" / "config"


@pytest.mark.parametrize(("example", "command"), [("hub.toml.example", "hub run"),
                                                  ("connector.toml.example", "connector run")])
def test_the_shipped_examples_have_no_problem_once_their_files_exist(
    tmp_path: Path, example: str, command: str
) -> None:
    from vbcore.cli.config_options import problems_of

    text = (EXAMPLES / example).read_text(encoding="utf-8").replace("/etc/vbus/", f"{tmp_path}/etc/vbus/")
    for path in set(re.findall(rf"{re.escape(str(tmp_path))}/etc/vbus/[\w./-]+", text)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if Path(path).suffix:
            Path(path).write_text("a secret or a certificate")
        else:
            Path(path).mkdir(exist_ok=True)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    config = read_config(tmp_path / "config.toml", environ={"VBUS_BROKER_PASSWORD": "x"})
    assert [p.line("en") for p in problems_of(config, command)] == []
    assert options_for(config, command)["broker"].count(";") == 2  # three nodes
