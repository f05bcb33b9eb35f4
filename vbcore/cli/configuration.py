"""``vb config check FILE``: every problem of a configuration file, one line each in one language
(unknown keys with a guess, wrong types, values out of range, missing keys, unreadable secret files),
before a hub or a connector is started with it."""

from __future__ import annotations

from pathlib import Path

import click

from vbcore.cli.config_options import SECTION_OF, commands_of, problems_of
from vbcore.cli.failures import EXIT_FAILED, current_lang
from vbcore.config_file import read_config
from vbcore.lang import Text

_OK = Text("{file}: không có lỗi ({commands})", "{file}: no problems ({commands})")
_FOR = Text("dùng cho {commands}", "for {commands}")
_NO_COMMAND = Text("chưa có mục [hub], [connector] hay [web]: chưa rõ tệp dùng cho lệnh nào",
                   "no [hub], [connector] or [web] section: no command it is for yet")


@click.group()
def config() -> None:
    """vbus's configuration file (TOML): one file per hub, connector or web board."""


@config.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--for", "command", type=click.Choice(sorted(SECTION_OF)), default=None,
              help="Check for this command's needs [default: each whose section the file has].")
def config_check(file: Path, command: str | None) -> None:
    """Explain every problem of FILE, one line each (exit 1 when there is any)."""
    lang = current_lang()
    loaded = read_config(file)
    chosen = SECTION_OF[command] if command else None
    problems = problems_of(loaded, chosen)
    for problem in problems:
        click.echo(problem.line(lang))
    if problems:
        raise click.exceptions.Exit(EXIT_FAILED)
    commands = [chosen] if chosen else commands_of(loaded)
    if not commands:
        click.echo(_OK.format(file=file, commands=_NO_COMMAND(lang))(lang))
        return
    named = _FOR.format(commands=", ".join(f"vb {c}" for c in commands))
    click.echo(_OK.format(file=file, commands=named(lang))(lang))
