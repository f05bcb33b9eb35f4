"""Who is using the board, and what they may do: logins, sessions that expire, and the three roles.

- ``viewer`` reads everything; ``operator`` also replays and drops parked messages (each recorded with
  its name, ``Accounts.record_action``); ``agency`` reads only the documents its agency sent or received
  (as a recipient, only its own copy's story), the refusals of what it sent, and no parked message, queue
  or other agency's figures.
- A session is a random 256-bit token in an HttpOnly cookie; the store keeps only its SHA-256. It ends
  after ``idle`` without a request, or ``lifetime`` after login whatever happens, or when its account is
  removed or its password changed.
- Each session has its own CSRF token, which every action must carry in a header (``X-CSRF-Token``).
- ``max_failures`` wrong passwords in a row lock an account for ``lock_for``; an unknown username costs
  the same time as a known one.

Nothing here logs a password, a token or a hash.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vbcore.errors import ConfigurationError
from vbcore.identifiers import is_valid_code
from vbcore.logging import get_logger
from vbcore.store.accounts import AGENCY, OPERATOR, ROLES, Account, Accounts, Session
from vbcore.timezones import utc_now
from vbcore.web.passwords import DUMMY_HASH, MIN_LENGTH, hash_password, needs_rehash, verify_password

log = get_logger("vbus.web")

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
MAX_USERNAME = 64
MAX_PASSWORD = 1024  # hashing a megabyte per attempt would be an easy way to load the server


@dataclass(frozen=True)
class User:
    """The logged-in account, as the routes see it."""

    username: str
    role: str
    agency: str | None
    csrf_token: str

    @property
    def scope(self) -> str | None:
        """The agency whose documents this user sees; None: every agency's."""
        return self.agency if self.role == AGENCY else None

    @property
    def may_act(self) -> bool:
        return self.role == OPERATOR


class LoginRefused(Exception):
    """Wrong username or password, or a locked account: the same answer for each (no enumeration)."""


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_account(username: str, role: str, agency: str | None) -> None:
    """Raise ``ConfigurationError`` for a username, role or agency code ``vb web user add`` must refuse."""
    if not username or len(username) > MAX_USERNAME or not set(username) <= _USERNAME_CHARS:
        raise ConfigurationError(
            f"username {username!r}: 1 to {MAX_USERNAME} characters among a-z 0-9 . _ - @",
            vi=f"tên đăng nhập {username!r}: từ 1 đến {MAX_USERNAME} ký tự trong a-z 0-9 . _ - @",
        )
    if role not in ROLES:
        raise ConfigurationError(f"role {role!r}: one of {', '.join(ROLES)}",
                                 vi=f"vai trò {role!r}: một trong {', '.join(ROLES)}")  # fmt: skip
    if (role == AGENCY) != (agency is not None):
        raise ConfigurationError(
            "an agency account needs --agency CODE, and only an agency account takes one",
            vi="tài khoản cơ quan cần --agency MÃ, và chỉ tài khoản cơ quan mới có mã cơ quan",
        )
    if agency is not None and not is_valid_code(agency):
        raise ConfigurationError(
            f"{agency!r} is not an agency code (LLL.KK.JJ.XNN)",
            vi=f"{agency!r} không phải mã định danh cơ quan (LLL.KK.JJ.XNN)",
        )


def check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_PASSWORD:
        raise ConfigurationError(
            f"a password has {MIN_LENGTH} to {MAX_PASSWORD} characters",
            vi=f"mật khẩu phải có từ {MIN_LENGTH} đến {MAX_PASSWORD} ký tự",
        )


def new_password() -> str:
    """A generated password (20 characters from a URL-safe alphabet: 120 bits)."""
    return secrets.token_urlsafe(15)


@dataclass
class Authenticator:
    accounts: Accounts
    clock: Callable[[], datetime] = utc_now
    idle: timedelta = IDLE
    lifetime: timedelta = LIFETIME
    max_failures: int = MAX_FAILURES
    lock_for: timedelta = LOCK_FOR

    def add(self, username: str, password: str, role: str, agency: str | None = None) -> bool:
        """False when the username is taken."""
        name = normalise_username(username)
        check_account(name, role, agency)
        check_password(password)
        now = self.clock()
        return self.accounts.add(Account(name, hash_password(password), role, agency, now, now))

    def set_password(self, username: str, password: str) -> bool:
        check_password(password)
        return self.accounts.set_password(normalise_username(username), hash_password(password), self.clock())

    def login(self, username: str, password: str) -> tuple[str, User]:
        """A new session's token and its user; ``LoginRefused`` otherwise."""
        name = normalise_username(username)[:MAX_USERNAME]
        account = self.accounts.get(name)
        if len(password) > MAX_PASSWORD:
            raise LoginRefused
        now = self.clock()
        if account is None:
            verify_password(DUMMY_HASH, password)
            log.info("web.login_refused", username=name, why="unknown")
            raise LoginRefused
        if account.locked_until is not None and account.locked_until > now:
            verify_password(DUMMY_HASH, password)
            log.warning("web.login_refused", username=name, why="locked")
            raise LoginRefused
        if not verify_password(account.password_hash, password):
            self.accounts.login_failed(name, limit=self.max_failures, lock_until=now + self.lock_for)
            log.warning("web.login_refused", username=name, why="password")
            raise LoginRefused
        self.accounts.login_succeeded(name)
        if needs_rehash(account.password_hash):
            self.accounts.set_password(name, hash_password(password), now)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.accounts.open_session(token, Session(name, csrf, now, min(now + self.idle, now + self.lifetime)))
        self.accounts.forget_expired(now)
        log.info("web.login", username=name, role=account.role)
        return token, User(name, account.role, account.agency, csrf)

    def user(self, token: str | None) -> User | None:
        """The user of a live session (its idle deadline moved on), or None."""
        if not token or len(token) > 128:
            return None
        session = self.accounts.session(token)
        now = self.clock()
        if session is None or session.expires_at <= now:
            return None
        account = self.accounts.get(session.username)
        if account is None:
            return None
        deadline = min(now + self.idle, session.created_at + self.lifetime)
        if deadline > session.expires_at:
            self.accounts.extend_session(token, deadline)
        return User(account.username, account.role, account.agency, session.csrf_token)

    def logout(self, token: str | None) -> None:
        if token:
            self.accounts.close_session(token)


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
