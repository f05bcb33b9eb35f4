"""The keys of vbus's one configuration file (TOML): each section, each key's kind and bounds, and the
environment variable that overrides a secret. ``vbcore.config_file`` reads a file against them; the
CLI maps them to the options its commands take (``vbcore.cli.config_options``).

One file serves one process: a hub (``[hub]``, ``[store]``, ``[keys]``), a connector (``[connector]``,
``[keys]``), or the web board (``[web]``, ``[store]``); ``[broker]``, ``[limits]`` and ``[metrics]`` are
shared. Secrets may be written in the file, read from a file of their own (``password_file``), or
given in the environment, which wins over both: a unit's ``EnvironmentFile`` (root-only) keeps them
out of a file other people can read.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT, INTEGER, NUMBER, BOOLEAN, TEXTS = "text", "integer", "number", "boolean", "texts"
FILE, FOLDER, PATH, NEW_PATH = "file", "folder", "path", "new-path"  # must exist: a file, a folder, either
SECRET_FILE, DURATION, PORT, NODES, TABLE = "secret-file", "duration", "port", "nodes", "table"

# Names of environment variables, not secrets.
BROKER_PASSWORD_ENV = "VBUS_BROKER_PASSWORD"  # noqa: S105
STORE_PASSWORD_ENV = "VBUS_STORE_PASSWORD"  # noqa: S105
INBOX_SECRET_FILE_ENV = "VBUS_INBOX_SECRET_FILE"  # noqa: S105
MANAGEMENT_URL_ENV = "VBUS_MANAGEMENT_URL"


@dataclass(frozen=True)
class Key:
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    env: str | None = None  # an environment variable that overrides the file's value (secrets)
    secret: bool = False  # never repeated in a message


SECTIONS: dict[str, dict[str, Key]] = {
    "broker": {
        "nodes": Key(NODES),  # every node: "amqps://rabbit-1.example:5671", ...
        "user": Key(TEXT),
        "password": Key(TEXT, env=BROKER_PASSWORD_ENV, secret=True),
        "password_file": Key(SECRET_FILE, env=None),
        "vhost": Key(TEXT),
        "prefix": Key(TEXT),
        "hub_user": Key(TEXT),
        "user_prefix": Key(TEXT),
        "management_url": Key(TEXT, env=MANAGEMENT_URL_ENV, secret=True),
    },
    "broker.tls": {
        "ca": Key(FILE),
        "cert": Key(FILE),
        "key": Key(FILE),
        "login_with_certificate": Key(BOOLEAN),
        "server_name": Key(TEXT),
    },
    "store": {
        "url": Key(TEXT),
        "password": Key(TEXT, env=STORE_PASSWORD_ENV, secret=True),
        "password_file": Key(SECRET_FILE),
    },
    "keys": {
        "trust": Key(PATH),
        "key": Key(FILE),
        "cert": Key(FILE),
        "inbox_secret_file": Key(SECRET_FILE, env=INBOX_SECRET_FILE_ENV),
        "pki": Key(FOLDER),
    },
    "limits": {
        "max_bytes": Key(INTEGER, minimum=1),
        "inflight_bytes": Key(INTEGER, minimum=1),
        "parked_alarm": Key(INTEGER, minimum=1),
        "prefetch": Key(INTEGER, minimum=1, maximum=10_000),
        "document_wait": Key(NUMBER, minimum=0, maximum=600),  # ``hub.config.MAX_DOCUMENT_WAIT``
    },
    "hub": {
        "id": Key(TEXT),
        "directory": Key(FILE),
        "agencies": Key(TEXTS),
        "allow_sha1": Key(BOOLEAN),
        "log_format": Key(TEXT, choices=("json", "console")),
    },
    "evidence": {
        "every": Key(INTEGER, minimum=1),
        "every_seconds": Key(NUMBER, minimum=0.1),
        "tsa_url": Key(TEXT),
        "archive": Key(NEW_PATH),  # the package archive; default: beside a SQLite store
    },
    "metrics": {
        "host": Key(TEXT),
        "port": Key(PORT, minimum=0, maximum=65535),
    },
    "connector": {
        "plugin": Key(TEXT),
        "agency": Key(TEXT),
        "agency_name": Key(TEXT),
        "inbox": Key(TEXT),
        "work_dir": Key(NEW_PATH),
        "state": Key(NEW_PATH),
        "interval": Key(NUMBER, minimum=0.01, maximum=3600),
        "retry_attempts": Key(INTEGER, minimum=0),
        "retry_for": Key(DURATION),
        "settings_file": Key(FILE),
        "settings": Key(TABLE),
        "receipts": Key(BOOLEAN),  # ask the hub for its signed receipts (evidence); off by default
    },
    "web": {
        "host": Key(TEXT),
        "port": Key(PORT, minimum=1, maximum=65535),
        "secure_cookies": Key(BOOLEAN),
        "broker": Key(BOOLEAN),  # false: the board reads the store only (no parked messages, no depths)
    },
}
