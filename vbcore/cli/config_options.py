"""``--config FILE``: the one configuration file (``vbcore.config_file``) as the options a command takes.

The file's values become the command's defaults (click's ``default_map``), so the precedence is
click's own: a flag on the command line, then the option's environment variable (``VBUS_BROKER``...),
then the file, then the built-in default. Secrets the file names are overridden by their own
environment variables when the file is read (``VBUS_BROKER_PASSWORD``, ``VBUS_STORE_PASSWORD``,
``VBUS_INBOX_SECRET_FILE``). A file with problems stops the command before it starts, every problem
on a line of its own (exit 1), as ``vb config check`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from vbcore.cli.failures import CommandFailed, current_lang
from vbcore.config_file import Config, Problem, read_config

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_KEY = "vbus.config"  # ctx.meta: the file read, for a command that needs more than its options
TOML_SUFFIX = ".toml"

Source = tuple[str, str] | Callable[[Config], Any]
"""Where an option's value comes from: a (section, key) of the file, or a function of the whole file."""

COMMANDS: dict[str, dict[str, Source]] = {
    "hub run": {
        "broker": Config.broker_url, "vhost": ("broker", "vhost"), "prefix": ("broker", "prefix"),
        "hub_user": ("broker", "hub_user"), "user_prefix": ("broker", "user_prefix"),
        "store_url": Config.store_url, "inbox_secret_file": ("keys", "inbox_secret_file"),
        "trust_path": ("keys", "trust"), "key_path": ("keys", "key"), "cert_path": ("keys", "cert"),
        "hub_id": ("hub", "id"), "directory_path": ("hub", "directory"), "agencies": ("hub", "agencies"),
        "allow_sha1": ("hub", "allow_sha1"), "log_format": ("hub", "log_format"),
        "max_bytes": ("limits", "max_bytes"), "inflight_bytes": ("limits", "inflight_bytes"),
        "parked_alarm": ("limits", "parked_alarm"), "prefetch": ("limits", "prefetch"),
        "document_wait": ("limits", "document_wait"),
        "metrics_host": ("metrics", "host"), "metrics_port": ("metrics", "port"),
        "evidence_every_entries": ("evidence", "every"),
        "evidence_every_seconds": ("evidence", "every_seconds"), "tsa_url": ("evidence", "tsa_url"),
        "archive_path": ("evidence", "archive"),
    },
    "connector run": {
        "name": ("connector", "plugin"), "agency": ("connector", "agency"),
        "agency_name": ("connector", "agency_name"), "inbox": ("connector", "inbox"),
        "broker": Config.broker_url, "vhost": ("broker", "vhost"), "prefix": ("broker", "prefix"),
        "pki_dir": ("keys", "pki"), "key_path": ("keys", "key"), "cert_path": ("keys", "cert"),
        "trust_path": ("keys", "trust"), "state_path": ("connector", "state"),
        "work_dir": ("connector", "work_dir"), "interval": ("connector", "interval"),
        "retry_attempts": ("connector", "retry_attempts"), "retry_for": ("connector", "retry_for"),
        "metrics_host": ("metrics", "host"), "metrics_port": ("metrics", "port"),
        "receipts": ("connector", "receipts"),
    },
    # ``vb web`` (issue 12's board): its options, for when it takes --config too.
    "web": {
        "store_url": Config.store_url, "host": ("web", "host"), "port": ("web", "port"),
        "directory_file": ("hub", "directory"), "broker": Config.broker_url, "vhost": ("broker", "vhost"),
        "prefix": ("broker", "prefix"), "hub_user": ("broker", "hub_user"),
        "management_url": ("broker", "management_url"), "parked_alarm": ("limits", "parked_alarm"),
        "secure_cookies": ("web", "secure_cookies"),
        "no_broker": lambda c: None if c.get("web", "broker") is None else not c.get("web", "broker"),
    },
}  # fmt: skip

REQUIRED: dict[str, list[tuple[str, str]]] = {
    "hub run": [("store", "url"), ("keys", "trust"), ("keys", "key"), ("keys", "cert"),
                ("keys", "inbox_secret_file")],
    "connector run": [("connector", "plugin"), ("connector", "agency")],
    "web": [("store", "url")],
}  # fmt: skip
SECTION_OF = {"hub": "hub run", "connector": "connector run", "web": "web"}
"""The command a file is for, by the section only that command reads."""


def commands_of(config: Config) -> list[str]:
    return [command for section, command in SECTION_OF.items() if config.has(section)]


def options_for(config: Config, command: str) -> dict[str, Any]:
    """The file's values as ``command``'s options (only those the file gives)."""
    options: dict[str, Any] = {}
    for option, source in COMMANDS[command].items():
        value = source(config) if callable(source) else config.get(*source)
        if value is not None:
            options[option] = str(value) if isinstance(value, Path) else value
    return options


def problems_of(config: Config, command: str | None = None) -> list[Problem]:
    """Everything wrong with the file, and what ``command`` (or each command whose section the file
    has) needs and does not find."""
    found = list(config.problems)
    for each in [command] if command else commands_of(config):
        found += config.missing(REQUIRED[each], f"vb {each}")
    if command == "connector run" and config.has("connector") and \
            config.get("connector", "settings") is None and config.get("connector", "settings_file") is None:
        found += config.missing([("connector", "settings")], "vb connector run")  # fmt: skip
    return found


def config_option(command: str, *, plugin_files: bool = False) -> Callable[[F], F]:
    """``--config FILE`` for ``command``: read first (eager), its values the command's defaults.

    ``plugin_files``: ``vb connector run --config`` also takes a connector's own JSON/YAML file, as it
    always did; only a ``.toml`` file is vbus's configuration file."""

    def read(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is None or (plugin_files and value.suffix.lower() != TOML_SUFFIX):
            return value
        config = read_config(value)
        problems = config.problems
        if problems:
            lang = current_lang()
            raise CommandFailed([problem.line(lang) for problem in problems])
        ctx.default_map = {**(ctx.default_map or {}), **options_for(config, command)}
        ctx.meta[CONFIG_KEY] = config
        return value

    help_text = (
        "vbus's configuration file (TOML; `vb config check FILE` explains it). A flag wins over the "
        "environment, the environment over the file."
    )
    if plugin_files:
        help_text += " A .json/.yaml file is the connector's own configuration alone."
    return click.option(
        "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        is_eager=True, callback=read, expose_value=plugin_files, required=plugin_files, help=help_text,
    )  # fmt: skip


def loaded(ctx: click.Context) -> Config | None:
    """The configuration file ``--config`` read for this command, if one was."""
    config = ctx.meta.get(CONFIG_KEY)
    return config if isinstance(config, Config) else None
