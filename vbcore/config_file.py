"""Reading vbus's one configuration file (TOML, standard library ``tomllib``) against its keys
(``vbcore.config_keys``): every problem found at once, each one line in one language (``Problem``),
the environment's secrets over the file's, and the broker and store URLs built from their parts.

Paths in the file are relative to the file's own folder. Nothing here knows the command line: the
CLI maps a read file to its commands' options (``vbcore.cli.config_options``), where a flag still wins
over the environment, the environment over the file, and the file over the defaults.
"""

from __future__ import annotations

import difflib
import errno
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from vbcore import config_keys as k
from vbcore import tls
from vbcore.config_keys import Key
from vbcore.lang import Lang, Text

TLS_PARAMETERS = {"ca": tls.CA, "cert": tls.CERT, "key": tls.KEY, "server_name": tls.SERVER_NAME}
"""The file's TLS keys -> RabbitMQ's URI query parameters, which ``vbcore.tls`` reads from a broker URL."""
EXTERNAL_LOGIN = (tls.MECHANISM, tls.EXTERNAL)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
NODE_SCHEMES = ("amqp", "amqps")

_T = {
    "syntax": Text("cú pháp TOML sai ở dòng {line}, cột {column}: {what}",
                   "invalid TOML at line {line}, column {column}: {what}"),
    "unreadable": Text("không đọc được tệp cấu hình: {cause}", "cannot read the configuration file: {cause}"),
    "section": Text("không có mục [{section}]{hint}", "unknown section [{section}]{hint}"),
    "key": Text("mục [{section}] không có khóa {key}{hint}", "unknown key {key} in [{section}]{hint}"),
    "guess_section": Text("; có phải là [{guess}]?", "; did you mean [{guess}]?"),
    "guess_key": Text("; có phải là {guess}?", "; did you mean {guess}?"),
    "known_sections": Text(" (các mục: {known})", " (sections: {known})"),
    "known_keys": Text(" (các khóa: {known})", " (keys: {known})"),
    "top": Text("khóa {key} phải nằm trong một mục ([broker], [store], [hub], ...)",
                "key {key} must be inside a section ([broker], [store], [hub], ...)"),
    "type": Text("[{section}] {key} phải là {expected}, không phải {found}",
                 "[{section}] {key} must be {expected}, not {found}"),
    "range": Text("[{section}] {key} = {value} nằm ngoài khoảng cho phép ({bounds})",
                  "[{section}] {key} = {value} is out of range ({bounds})"),
    "choice": Text("[{section}] {key} phải là một trong: {choices}",
                   "[{section}] {key} must be one of: {choices}"),
    "path": Text("[{section}] {key}: {path} {cause}", "[{section}] {key}: {path} {cause}"),
    "secret": Text("[{section}] {key}: không đọc được tệp bí mật {path}: {cause}",
                   "[{section}] {key}: cannot read the secret file {path}: {cause}"),
    "both": Text("[{section}] chỉ được dùng một trong hai: {a} hoặc {b}",
                 "[{section}] give {a} or {b}, not both"),
    "node": Text("[broker] nodes: {node} phải có dạng amqp://máy:cổng hoặc amqps://máy:cổng (người dùng, mật "
                 "khẩu và vhost có khóa riêng)",
                 "[broker] nodes: {node} must look like amqp://host:port or amqps://host:port (user, "
                 "password and vhost have keys of their own)"),
    "sqlite_password": Text("[store] mật khẩu không dùng được với kho SQLite",
                            "[store] a password has no use with a SQLite store"),
    "no_user": Text("[store] url không ghi tên người dùng để gắn mật khẩu (postgresql://NGƯỜI_DÙNG@máy/csdl)",
                    "[store] url names no user for the password (postgresql://USER@host/database)"),
    "missing": Text("thiếu [{section}] {key} (`{command}` cần khóa này)",
                    "[{section}] {key} is missing (`{command}` needs it)"),
}
_KINDS = {
    k.TEXT: Text("một chuỗi", "a string"), k.INTEGER: Text("một số nguyên", "an integer"),
    k.NUMBER: Text("một số", "a number"), k.BOOLEAN: Text("true hoặc false", "true or false"),
    k.TEXTS: Text("một danh sách chuỗi", "a list of strings"),
    k.FILE: Text("đường dẫn một tệp", "a file's path"),
    k.FOLDER: Text("đường dẫn một thư mục", "a folder's path"), k.PATH: Text("một đường dẫn", "a path"),
    k.NEW_PATH: Text("một đường dẫn", "a path"), k.SECRET_FILE: Text("đường dẫn một tệp", "a file's path"),
    k.DURATION: Text("một thời lượng (90s, 30m, 2h, 1d)", "a duration (90s, 30m, 2h, 1d)"),
    k.PORT: Text("một số cổng", "a port number"), k.NODES: Text("một danh sách URL", "a list of URLs"),
    k.TABLE: Text("một bảng", "a table"),
}  # fmt: skip
_FOUND = {
    bool: Text("true/false", "true/false"), int: Text("số nguyên", "an integer"),
    float: Text("số", "a number"),
    str: Text("chuỗi", "a string"), list: Text("danh sách", "a list"), dict: Text("bảng", "a table"),
}  # fmt: skip
_CAUSES = {
    errno.ENOENT: Text("không tồn tại", "does not exist"),
    errno.EACCES: Text("không có quyền đọc", "permission denied"),
    errno.EISDIR: Text("là một thư mục", "is a folder"),
    errno.ENOTDIR: Text("không phải là thư mục", "is not a folder"),
}  # fmt: skip
_EMPTY = Text("tệp trống", "the file is empty")
_NOT_FILE = Text("không phải là tệp", "is not a file")
_NOT_FOLDER = Text("không phải là thư mục", "is not a folder")
_NOT_UTF8 = Text("không phải văn bản UTF-8", "not UTF-8 text")
_TOO_DEEP = Text("các mảng hoặc bảng lồng nhau quá sâu", "arrays or tables nested too deeply")
# tomllib's messages (English) in Vietnamese, by their beginning; others: the generic words.
_SYNTAX = {
    "Expected '=' after a key": Text("thiếu dấu = sau khóa", "expected '=' after a key"),
    "Invalid value": Text("giá trị không hợp lệ", "invalid value"),
    "Unclosed array": Text("danh sách chưa đóng ]", "unclosed array"),
    "Unterminated string": Text("chuỗi chưa đóng dấu nháy", "unterminated string"),
    "Cannot declare": Text("khai báo lặp lại một mục hoặc khóa", "a section or key declared twice"),
    "Cannot overwrite": Text("gán lại một khóa đã có", "a key given twice"),
    "Invalid statement": Text("câu lệnh không hợp lệ", "invalid statement"),
    "Expected newline": Text("thiếu xuống dòng sau giá trị", "expected a new line after the value"),
    "Illegal character": Text("ký tự không được phép", "illegal character"),
}
_SYNTAX_OTHER = Text("không đọc được", "unreadable")
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\.\"']+)\s*=")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, and where (``file:line``, or the file)."""

    where: str
    text: Text

    def line(self, lang: Lang) -> str:
        return f"{self.where}: {self.text(lang)}"


@dataclass
class Config:
    """A configuration file as read: each section's values (converted: paths resolved, durations in
    seconds, secrets read), and every problem found."""

    path: Path
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, section: str, key: str) -> Any:
        return self.values.get(section, {}).get(key)

    def has(self, section: str) -> bool:
        return section in self.values

    def where(self, section: str, key: str = "") -> str:
        line = self.lines.get((section, key)) or self.lines.get((section, ""))
        return f"{self.path}:{line}" if line else str(self.path)

    def problem(self, section: str, key: str, text: Text) -> None:
        self.problems.append(Problem(self.where(section, key), text))

    def missing(self, required: list[tuple[str, str]], command: str) -> list[Problem]:
        """What ``command`` needs and the file does not give."""
        given = set(self.lines)
        return [Problem(str(self.path), _T["missing"].format(section=s, key=key, command=command))
                for s, key in required if self.get(s, key) is None and (s, key) not in given]  # fmt: skip

    # --- the URLs built from their parts ------------------------------------------------------------

    def broker_url(self) -> str | None:
        """Every node (``;`` between them) with the user and password, the TLS files on the first; None
        when the file lists no node."""
        nodes: list[str] | None = self.get("broker", "nodes")
        if not nodes:
            return None
        user, password = self.get("broker", "user"), self.get("broker", "password")
        tls = self.values.get("broker.tls", {})
        login = quote(user, safe="") if user else ""
        if login and password and not tls.get("login_with_certificate"):
            login += ":" + quote(password, safe="")
        query = [(name, str(tls[key])) for key, name in TLS_PARAMETERS.items() if key in tls]
        if tls.get("login_with_certificate"):
            query.append(EXTERNAL_LOGIN)
        urls = []
        for i, node in enumerate(nodes):
            parts = urlsplit(node)
            url = f"{parts.scheme}://{login + '@' if login else ''}{parts.netloc}/"
            urls.append(url + ("?" + urlencode(query) if query and i == 0 else ""))
        return ";".join(urls)

    def store_url(self) -> str | None:
        """``[store] url`` with the password (the file's, its file's, or the environment's) put in."""
        url, password = self.get("store", "url"), self.get("store", "password")
        if url is None or not password:
            return url if isinstance(url, str) else None
        scheme, rest = url.split("://", 1)
        user, at, hosts = rest.partition("@")
        return f"{scheme}://{user}:{quote(password, safe='')}@{hosts}" if at else url


def read_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check ``path``; the problems are in ``Config.problems`` (nothing is raised)."""
    env = os.environ if environ is None else environ
    config = Config(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        config.problems.append(Problem(str(path), _T["unreadable"].format(cause=_cause(err))))
        return config
    except UnicodeDecodeError:
        config.problems.append(Problem(str(path), _T["unreadable"].format(cause=_NOT_UTF8)))
        return config
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        config.problems.append(_syntax(path, str(err)))
        return config
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        config.problems.append(Problem(str(path), _T["unreadable"].format(cause=_TOO_DEEP)))
        return config
    config.lines = _locate(text)
    _read(config, data, env)
    _cross_checks(config)
    return config


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``2h`` or ``1d``; ``ValueError`` otherwise (or negative)."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:])
    seconds = float(value[:-1] if unit is not None else value) * (unit or 1)
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"{text!r} is not a duration")
    return seconds


# --- reading ---------------------------------------------------------------------------------------


def _read(config: Config, data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, table in data.items():
        if not isinstance(table, dict):
            config.problem("", name, _T["top"].format(key=name))
            continue
        if name not in k.SECTIONS:
            config.problem(name, "", _T["section"].format(section=name, hint=_hint(name, k.SECTIONS, True)))
            continue
        _read_section(config, name, table, env)


def _read_section(config: Config, section: str, table: dict[str, Any], env: Mapping[str, str]) -> None:
    keys = k.SECTIONS[section]
    values = config.values.setdefault(section, {})
    for name, raw in table.items():
        nested = f"{section}.{name}"
        if isinstance(raw, dict) and nested in k.SECTIONS:
            _read_section(config, nested, raw, env)
            continue
        key = keys.get(name)
        if key is None:
            known = {**keys, **{s.split(".", 1)[1]: None for s in k.SECTIONS if s.startswith(section + ".")}}
            config.problem(section, name, _T["key"].format(section=section, key=name,
                                                           hint=_hint(name, known, False)))  # fmt: skip
            continue
        converted = _convert(config, section, name, key, raw)
        if converted is not None:
            values[name] = converted
    for name, key in keys.items():  # the environment's secrets win over the file's
        if key.env and env.get(key.env):
            values[name] = _convert(config, section, name, key, env[key.env])


def _convert(config: Config, section: str, name: str, key: Key, raw: Any) -> Any:
    def wrong() -> None:
        found = "***" if key.secret else _FOUND.get(type(raw), Text("?", "?"))
        config.problem(section, name, _T["type"].format(section=section, key=name, expected=_KINDS[key.kind],
                                                        found=found))  # fmt: skip

    kind = key.kind
    if kind in (k.INTEGER, k.PORT) and (isinstance(raw, bool) or not isinstance(raw, int)):
        return wrong()
    if kind == k.NUMBER and (isinstance(raw, bool) or not isinstance(raw, int | float)):
        return wrong()
    if kind == k.BOOLEAN and not isinstance(raw, bool):
        return wrong()
    if kind == k.TABLE and not isinstance(raw, dict):
        return wrong()
    if kind in (k.TEXTS, k.NODES) and not (isinstance(raw, list) and all(isinstance(v, str) for v in raw)):
        return wrong()
    if kind in (k.TEXT, k.FILE, k.FOLDER, k.PATH, k.NEW_PATH, k.SECRET_FILE) and not isinstance(raw, str):
        return wrong()
    if kind == k.DURATION:
        try:
            return parse_duration(str(raw)) if isinstance(raw, str | int | float) else wrong()
        except ValueError:
            return wrong()
    if isinstance(raw, int | float) and not isinstance(raw, bool) and not _in_range(key, raw):
        bounds = _bounds(key)
        config.problem(section, name, _T["range"].format(section=section, key=name, value=raw, bounds=bounds))
        return None
    if key.choices and raw not in key.choices:
        config.problem(section, name, _T["choice"].format(section=section, key=name,
                                                          choices=", ".join(key.choices)))  # fmt: skip
        return None
    if kind == k.NODES:
        return _nodes(config, raw)
    if kind in (k.FILE, k.FOLDER, k.PATH, k.NEW_PATH, k.SECRET_FILE):
        return _path(config, section, name, kind, raw)
    return raw


def _nodes(config: Config, nodes: list[str]) -> list[str] | None:
    good = True
    for node in nodes:
        parts = urlsplit(node)
        if parts.scheme not in NODE_SCHEMES or not parts.hostname or "@" in parts.netloc or \
                parts.path not in ("", "/") or parts.query:  # fmt: skip
            shown = f"{parts.scheme}://***@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else node
            config.problem("broker", "nodes", _T["node"].format(node=shown))  # never a password
            good = False
    return nodes if good else None


def _path(config: Config, section: str, name: str, kind: str, raw: str) -> Path | None:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = config.path.parent / path
    cause: Text | None = None
    if kind in (k.FILE, k.FOLDER, k.PATH, k.SECRET_FILE) and not path.exists():
        cause = _CAUSES[errno.ENOENT]
    elif kind == k.FILE and not path.is_file():
        cause = _NOT_FILE
    elif kind == k.FOLDER and not path.is_dir():
        cause = _NOT_FOLDER
    if kind == k.SECRET_FILE:
        return _secret_file(config, section, name, path)
    if cause is not None:
        config.problem(section, name, _T["path"].format(section=section, key=name, path=path, cause=cause))
        return None
    return path


def _secret_file(config: Config, section: str, name: str, path: Path) -> Path | None:
    """A secret file must be readable now: the process would fail at start otherwise. The secret it
    holds is never printed."""
    try:
        content = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        cause = _cause(err) if isinstance(err, OSError) else _NOT_UTF8
        config.problem(section, name, _T["secret"].format(section=section, key=name, path=path, cause=cause))
        return None
    if not content:
        config.problem(section, name, _T["secret"].format(section=section, key=name, path=path, cause=_EMPTY))
        return None
    return path


def _cross_checks(config: Config) -> None:
    """What no single key shows: a secret given twice, a password without a place in the URL."""
    for section, a, b in (("broker", "password", "password_file"), ("store", "password", "password_file"),
                          ("connector", "settings", "settings_file")):  # fmt: skip
        raw = config.values.get(section, {})
        if a in raw and b in raw:
            config.problem(section, b, _T["both"].format(section=section, a=a, b=b))
    for section in ("broker", "store"):
        secret = config.get(section, "password_file")
        if isinstance(secret, Path) and config.get(section, "password") is None:
            config.values[section]["password"] = secret.read_text(encoding="utf-8").strip()
    url, password = config.get("store", "url"), config.get("store", "password")
    if isinstance(url, str) and password:
        if url.startswith("sqlite:"):
            config.problem("store", "password", _T["sqlite_password"])
        elif "@" not in url.split("://", 1)[-1].split("/", 1)[0]:
            config.problem("store", "url", _T["no_user"])


def _in_range(key: Key, value: float) -> bool:
    return (key.minimum is None or value >= key.minimum) and (key.maximum is None or value <= key.maximum)


def _bounds(key: Key) -> str:
    if key.maximum is None:
        return f">= {key.minimum:g}"
    return f"{key.minimum:g}..{key.maximum:g}"


def _hint(name: str, known: Mapping[str, object], section: bool) -> Text:
    guesses = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if guesses:
        return _T["guess_section" if section else "guess_key"].format(guess=guesses[0])
    return _T["known_sections" if section else "known_keys"].format(known=", ".join(known))


def _cause(err: OSError) -> Text:
    return _CAUSES.get(err.errno or 0, Text(f"lỗi hệ thống {err.errno}", f"system error {err.errno}"))


def _syntax(path: Path, message: str) -> Problem:
    at = _AT.search(message)
    line, column = (at.group(1), at.group(2)) if at else ("?", "?")
    what = next((text for prefix, text in _SYNTAX.items() if message.startswith(prefix)), _SYNTAX_OTHER)
    where = f"{path}:{line}" if at else str(path)
    return Problem(where, _T["syntax"].format(line=line, column=column, what=what))


def _locate(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> the line it is written on (sections as ``(section, "")``), for messages."""
    found: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            section = header.group(1).replace(" ", "")
            found.setdefault((section, ""), number)
        elif assign := _ASSIGN.match(line):
            name = assign.group(1).strip("\"'")
            found.setdefault((section, name), number)
    return found

