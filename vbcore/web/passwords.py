"""Password hashing for the web board's accounts: argon2id (argon2-cffi), the one module that imports it.

argon2-cffi is the reference binding of the Password Hashing Competition's winner, kept by the PyCA's
people; its ``PasswordHasher`` defaults follow RFC 9106's recommendations and it says when a stored hash
was made with weaker parameters (``needs_rehash``), so the board upgrades a hash at the next login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
MIN_LENGTH = 10  # characters; a longer phrase beats any rule on character classes (NIST SP 800-63B)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from (False for a damaged hash)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


DUMMY_HASH = hash_password("vbus: no such account")
"""Checked against when the account does not exist, so a wrong username costs the same time as a wrong
password (no user enumeration by timing)."""
