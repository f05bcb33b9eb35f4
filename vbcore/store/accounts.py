"""The web board's accounts, sessions and operator actions, kept in the tracking store's database.

Why the store's database and not a file: the board runs as one or several processes (behind a load
balancer, on PostgreSQL) that must share sessions and see an account removed or a password changed at
once; the operator backs up one database; and what an operator did sits beside what it did it to.
Migration 7 makes the tables. This module holds data only: the web layer hashes passwords
(``vbcore.web.passwords``) and decides who may do what (``vbcore.web.auth``); nothing here sees a
password or a session's cookie in clear (a session is found by the SHA-256 of its token).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from vbcore.database.driver import maybe_utc, utc_from_db
from vbcore.evidence.entry import OPERATOR_ACTION, EvidenceDraft
from vbcore.store.sql import SqlStore

VIEWER, OPERATOR, AGENCY = "viewer", "operator", "agency"
ROLES = (VIEWER, OPERATOR, AGENCY)


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    role: str  # one of ROLES
    agency: str | None  # the agency an ``agency`` account sees; None for the others
    created_at: datetime
    password_changed_at: datetime
    failed_logins: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class OperatorAction:
    """``actor`` replayed or dropped parked message ``message_id``; ``outcome`` says what came of it."""

    at: datetime
    actor: str
    action: str  # "replay" | "drop"
    message_id: str
    document_id: str | None
    sender: str | None
    reason: str | None  # why it had been parked
    outcome: str  # "done", "not-found", "not-replayable"
    package_digest: str | None = None  # SHA-256 of the parked message's bytes, when it was found


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_ACCOUNT_COLUMNS = (
    "username, password_hash, role, agency, created_at, password_changed_at, failed_logins, locked_until"
)


class Accounts:
    """The accounts, sessions and operator actions of one store."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # --- accounts ---------------------------------------------------------------------------------

    def add(self, account: Account) -> bool:
        """False when the username is taken (nothing changed)."""
        return (
            self.store.execute(
                f"INSERT INTO web_accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
                " ON CONFLICT (username) DO NOTHING",
                (
                    account.username,
                    account.password_hash,
                    account.role,
                    account.agency,
                    account.created_at,
                    account.password_changed_at,
                    account.failed_logins,
                    account.locked_until,
                ),
            )
            == 1
        )

    def get(self, username: str) -> Account | None:
        rows = self.store.select(
            f"SELECT {_ACCOUNT_COLUMNS} FROM web_accounts WHERE username = ?",  # noqa: S608
            (username,),
        )
        if not rows:
            return None
        name, hashed, role, agency, created, changed, failed, locked = rows[0]
        return Account(
            str(name), str(hashed), str(role), None if agency is None else str(agency), utc_from_db(created),
            utc_from_db(changed), int(str(failed)), maybe_utc(locked),
        )  # fmt: skip

    def usernames(self) -> list[str]:
        return [str(r[0]) for r in self.store.select("SELECT username FROM web_accounts ORDER BY username")]

    def remove(self, username: str) -> bool:
        """Remove the account and end its sessions; False when there was none."""
        with self.store.transaction():
            self.store.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
            return self.store.execute("DELETE FROM web_accounts WHERE username = ?", (username,)) == 1

    def set_password(self, username: str, password_hash: str, at: datetime) -> bool:
        """New hash, the lock lifted, and every session of the account ended."""
        with self.store.transaction():
            self.store.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
            return (
                self.store.execute(
                    "UPDATE web_accounts SET password_hash = ?, password_changed_at = ?, failed_logins = 0,"
                    " locked_until = NULL WHERE username = ?",
                    (password_hash, at, username),
                )
                == 1
            )

    def login_failed(self, username: str, *, limit: int, lock_until: datetime) -> None:
        """Count a wrong password; at ``limit`` in a row the account is locked until ``lock_until``."""
        with self.store.transaction():
            self.store.execute(
                "UPDATE web_accounts SET failed_logins = failed_logins + 1 WHERE username = ?", (username,)
            )
            self.store.execute(
                "UPDATE web_accounts SET locked_until = ?, failed_logins = 0"
                " WHERE username = ? AND failed_logins >= ?",
                (lock_until, username, limit),
            )

    def login_succeeded(self, username: str) -> None:
        self.store.execute(
            "UPDATE web_accounts SET failed_logins = 0, locked_until = NULL WHERE username = ?", (username,)
        )

    # --- sessions ---------------------------------------------------------------------------------

    def open_session(self, token: str, session: Session) -> None:
        self.store.execute(
            "INSERT INTO web_sessions (token_sha256, username, csrf_token, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                token_digest(token),
                session.username,
                session.csrf_token,
                session.created_at,
                session.expires_at,
            ),
        )

    def session(self, token: str) -> Session | None:
        rows = self.store.select(
            "SELECT username, csrf_token, created_at, expires_at FROM web_sessions WHERE token_sha256 = ?",
            (token_digest(token),),
        )
        if not rows:
            return None
        name, csrf, created, expires = rows[0]
        return Session(str(name), str(csrf), utc_from_db(created), utc_from_db(expires))

    def extend_session(self, token: str, expires_at: datetime) -> None:
        self.store.execute(
            "UPDATE web_sessions SET expires_at = ? WHERE token_sha256 = ?", (expires_at, token_digest(token))
        )

    def close_session(self, token: str) -> None:
        self.store.execute("DELETE FROM web_sessions WHERE token_sha256 = ?", (token_digest(token),))

    def forget_expired(self, now: datetime) -> int:
        return self.store.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))

    # --- operator actions -------------------------------------------------------------------------

    def record_action(self, action: OperatorAction) -> None:
        """What an operator did to a parked message (the board's buttons and ``vb parked replay/drop``
        alike): its row and its ``operator-action`` entry in the evidence log, in one transaction."""
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO operator_actions"
                " (at, actor, action, message_id, document_id, sender, reason, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (action.at, action.actor, action.action, action.message_id, action.document_id, action.sender,
                 action.reason, action.outcome),
            )  # fmt: skip
            self.store.append_evidence([operator_action(action)], now=action.at)

    def actions(self, *, document_id: str | None = None, limit: int = 100) -> list[OperatorAction]:
        where, params = ("WHERE document_id = ?", [document_id]) if document_id else ("", [])
        rows = self.store.select(
            "SELECT at, actor, action, message_id, document_id, sender, reason, outcome FROM operator_actions"  # noqa: S608
            f" {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            OperatorAction(
                utc_from_db(at), str(actor), str(act), str(mid), _opt(doc), _opt(sender), _opt(reason),
                str(outcome),
            )
            for at, actor, act, mid, doc, sender, reason, outcome in rows
        ]  # fmt: skip


def operator_action(action: OperatorAction) -> EvidenceDraft:
    """The evidence entry of an operator's action: who did what to which parked message, and its
    outcome (``sender`` is the agency that sent the message, when known)."""
    return EvidenceDraft(OPERATOR_ACTION, action.sender or "", action.document_id or "", None,
                         action.package_digest, {
        "actor": action.actor, "action": action.action, "message_id": action.message_id,
        "reason": action.reason, "outcome": action.outcome,
    })  # fmt: skip


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
