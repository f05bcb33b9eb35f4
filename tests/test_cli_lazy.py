"""``vb`` loads a command's module only when that command runs (issue 13: ``vb track`` paid for every
command's imports, signxml and the hub's among them)."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from vbcore.cli import _COMMANDS, vb


def test_every_listed_command_loads_under_its_own_name() -> None:
    ctx = click.Context(vb)
    assert vb.list_commands(ctx) == sorted(_COMMANDS)
    for name in _COMMANDS:
        command = vb.get_command(ctx, name)
        assert command is not None
        assert command.name == name
    assert vb.get_command(ctx, "no-such-command") is None


def test_groups_assembled_from_several_modules_have_all_their_commands() -> None:
    ctx = click.Context(vb)
    groups = {name: vb.get_command(ctx, name) for name in ("hub", "connector", "keys")}
    assert {"run", "provision", "migrate"} <= set(groups["hub"].commands)  # type: ignore[union-attr]
    assert {"run", "ledger-copy", "evidence"} <= set(groups["connector"].commands)  # type: ignore[union-attr]
    assert {"init", "tls-server", "tls-client"} <= set(groups["keys"].commands)  # type: ignore[union-attr]


def test_track_does_not_import_the_signing_stack_or_the_hub() -> None:
    probe = (
        "import sys, json, click; from vbcore.cli import vb; "
        "vb.get_command(click.Context(vb), 'track'); "
        "print(json.dumps(sorted(m for m in ('signxml', 'vbcore.hub.pipeline', 'vbcore.cli.web', "
        "'vbcore.cli.hub', 'vbcore.security.signing') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_an_unknown_command_is_a_usage_error() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(vb, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
