"""What `vb` refuses before it reaches the broker: running the hub or replaying as another user than the
hub's, without the inbox secret, or with a secret that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_hub_support import HUB_ID, make_pki

from vbcore.cli import vb
from vbcore.errors import ConfigurationError
from vbcore.hub.admin import create_inbox_secret, load_inbox_secret

NOWHERE = "127.0.0.1:1"  # nothing listens: a command that tried to connect would say so instead


def hub_run(tmp_path: Path, *extra: str) -> tuple[int, str]:
    pki = make_pki(tmp_path / "pki")
    secret = tmp_path / "inbox.secret"
    create_inbox_secret(secret)
    result = CliRunner().invoke(vb, [
        "hub", "run", "--store", f"sqlite:///{tmp_path / 'hub.db'}", "--trust", str(pki.ca_cert_path),
        "--key", str(pki.key_path(HUB_ID)), "--cert", str(pki.cert_path(HUB_ID)),
        "--inbox-secret", str(secret), *extra,
    ])  # fmt: skip
    return result.exit_code, result.output


def test_the_hub_refuses_to_run_as_another_broker_user_than_the_hubs(tmp_path: Path) -> None:
    code, output = hub_run(tmp_path, "--broker", f"amqp://guest:guest@{NOWHERE}/")
    assert code == 1
    assert "vbus-hub" in output
    assert "vb hub provision" in output


def test_a_replay_as_another_user_than_the_hubs_is_refused_before_anything_is_sent() -> None:
    result = CliRunner().invoke(
        vb, ["--lang", "en", "parked", "replay", "m-1", "--broker", f"amqp://000.00.00.G22:x@{NOWHERE}/"]
    )
    assert result.exit_code == 1
    assert "as the hub's broker user vbus-hub" in result.output


def test_agency_add_needs_the_inbox_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VBUS_INBOX_SECRET_FILE", raising=False)
    result = CliRunner().invoke(vb, ["agency", "add", "000.00.00.G22", "--password", "x"])
    assert result.exit_code == 2
    assert "--inbox-secret" in result.output


def test_an_inbox_secret_is_made_readable_by_its_owner_only_and_kept_once_made(tmp_path: Path) -> None:
    secret = tmp_path / "keys" / "inbox.secret"
    assert create_inbox_secret(secret)
    assert secret.stat().st_mode & 0o077 == 0
    first = load_inbox_secret(secret)
    assert not create_inbox_secret(secret)
    assert load_inbox_secret(secret) == first


def test_a_missing_or_short_inbox_secret_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="vb hub provision --inbox-secret"):
        load_inbox_secret(tmp_path / "absent")
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(ConfigurationError, match="too short"):
        load_inbox_secret(tmp_path / "short")
