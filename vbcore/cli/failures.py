"""How a ``vb`` command fails: one line in the chosen language that names the fix, and an exit code.

Exit codes (also in ``vb --help``):

- 0: done; the thing checked is valid.
- 1: refused, invalid or not found; a configuration, permission or provisioning problem the operator
  must fix (the message says how).
- 2: the command line itself is wrong (click's usage errors).
- 3: a server is unavailable right now (the broker, its management API, the tracking store, the DMS),
  or a ``--once`` round could not finish: try again later; nothing was lost.

Every expected error (a ``VbusError``, a file that cannot be read or written) ends as one of these,
never as a Python traceback: ``VbGroup`` (``vbcore.cli``) turns whatever a command lets through.
"""

from __future__ import annotations

import errno
from typing import IO, Any

import click

from vbcore.errors import (
    ConnectionLost,
    DmsUnavailable,
    ManagementApiUnreachable,
    StoreError,
    StoreNotFound,
    StoreSchemaTooNew,
    StoreTlsFailed,
    VbusError,
)
from vbcore.lang import Lang, Text, resolve

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 done (valid); 1 refused, invalid, not found or misconfigured (the message says "
    "what to do); 2 wrong command line; 3 a server (broker, management API, store, DMS) is "
    "unavailable or a --once round could not finish: try again later."
)

LANG_KEY = "vbus.lang"
ERROR = Text("Lỗi", "Error")
# A temporary outage: the operator retries later, scripts and cron tell it from a real failure.
_UNAVAILABLE = (ConnectionLost, ManagementApiUnreachable, DmsUnavailable, StoreError)
_NOT_TEMPORARY = (StoreNotFound, StoreSchemaTooNew, StoreTlsFailed)


def exit_code_of(err: VbusError) -> int:
    """3 for an outage worth retrying later, 1 for everything the operator must fix first."""
    temporary = isinstance(err, _UNAVAILABLE) and not isinstance(err, _NOT_TEMPORARY)
    return EXIT_UNAVAILABLE if temporary else EXIT_FAILED


def current_lang() -> Lang:
    """The language of this ``vb`` run: ``vb --lang``, else ``VBUS_LANG``, else Vietnamese."""
    ctx = click.get_current_context(silent=True)
    chosen = ctx.meta.get(LANG_KEY) if ctx is not None else None
    return chosen if chosen is not None else resolve(None)


class CommandFailed(click.ClickException):
    """A failure already written for people: printed as is (no ``Error:`` in another language)."""

    def __init__(self, lines: list[str], exit_code: int = EXIT_FAILED) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = lines
        self.code = exit_code

    @property  # click reads ``exit_code``; a property, as click declares it on the class
    def exit_code(self) -> int:  # type: ignore[override]
        return self.code

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.lines:
            click.echo(line, file=file, err=file is None)


def fail(message: Text | str, *, exit_code: int = EXIT_FAILED) -> CommandFailed:
    """An error to raise: ``Lỗi: ...`` (or ``Error: ...``) on stderr, exit code 1 (or the one given)."""
    lang = current_lang()
    text = message(lang) if isinstance(message, Text) else message
    return CommandFailed([f"{ERROR(lang)}: {text}"], exit_code)


def failed(err: VbusError, *, about: str | None = None) -> CommandFailed:
    """The error as people read it, in one language (``describe``); ``about`` (a file) goes first.

    An error raised without a Vietnamese detail (outside the refusals, which all have one) gives
    the Vietnamese statement, then the English detail on a line of its own: nothing is hidden and
    no line mixes the two languages."""
    lang = current_lang()
    first = err.describe(lang)
    lines = [f"{about}: {first}" if about else first]
    if lang == "vi" and not err.has_vietnamese_detail:
        lines.append(f"  {err}")
    return CommandFailed(lines, exit_code_of(err))


_OS_ERRORS = {
    errno.ENOENT: Text("không tồn tại", "does not exist"),
    errno.EACCES: Text("không có quyền truy cập", "permission denied"),
    errno.EPERM: Text("không được phép", "operation not permitted"),
    errno.EISDIR: Text("là một thư mục", "is a folder"),
    errno.ENOTDIR: Text("không phải là thư mục", "is not a folder"),
    errno.EEXIST: Text("đã tồn tại", "already exists"),
    errno.ENOSPC: Text("hết chỗ trống trên đĩa", "no space left on the disk"),
    errno.EROFS: Text("chỉ đọc", "is read-only"),
    errno.ENAMETOOLONG: Text("tên quá dài", "name too long"),
}


def os_failed(err: OSError) -> CommandFailed:
    """A file that cannot be read or written, named, with the cause in the chosen language."""
    lang = current_lang()
    what = _OS_ERRORS.get(err.errno or 0)
    cause = what(lang) if what else f"{_SYSTEM_ERROR(lang)} {errno.errorcode.get(err.errno or 0, err.errno)}"
    where = f" {err.filename}" if err.filename is not None else ""
    return CommandFailed([f"{ERROR(lang)}: {_FILE(lang)}{where}: {cause}"])


_SYSTEM_ERROR = Text("lỗi hệ thống", "system error")
_FILE = Text("tệp", "file")
