"""The web board's application: its API (``vbcore.web.api``) and pages (``vbcore.web.pages``) on
FastAPI.

Why FastAPI: it writes the OpenAPI description from the same typed functions and pydantic models that
serve the requests (nothing to keep in step by hand, and schemathesis tests the server against it),
its dependencies express "logged in", "may act" and "carries the CSRF token" once for every route,
it runs plain ``def`` endpoints in a thread pool (the store is synchronous: sqlite3 and psycopg
connections, never called on the event loop), and it is widely used and kept up to date on Starlette.
FastAPI and Starlette are imported in this package only; uvicorn in ``vbcore.web.serve``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response

from vbcore import __version__
from vbcore.directory import Directory
from vbcore.hub.config import DEFAULT_PARKED_ALARM
from vbcore.lang import DEFAULT_LANG, Lang
from vbcore.store.accounts import Accounts
from vbcore.store.sql import SqlStore
from vbcore.timezones import utc_now
from vbcore.web.auth import Authenticator, User, same_token
from vbcore.web.broker import BrokerView

SESSION_COOKIE = "vbus_session"
LANG_COOKIE = "vbus_lang"
CSRF_HEADER = "X-CSRF-Token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


@dataclass
class BoardContext:
    """Everything the board reads and acts on; ``broker`` None: no parked messages or queues to show."""

    store: SqlStore
    directory: Directory
    broker: BrokerView | None = None
    clock: Callable[[], datetime] = utc_now
    parked_alarm: int = DEFAULT_PARKED_ALARM
    default_lang: Lang = DEFAULT_LANG
    secure_cookies: bool | None = None  # None: when the request came over https
    auth: Authenticator = field(init=False)
    accounts: Accounts = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = Accounts(self.store)
        self.auth = Authenticator(self.accounts, clock=self.clock)


def context(request: Request) -> BoardContext:
    board: BoardContext = request.app.state.board
    return board


Board = Annotated[BoardContext, Depends(context)]


def language(request: Request, lang: Annotated[Lang | None, Query(description="vi or en")] = None) -> Lang:
    """``?lang=``, else the board's cookie, else the server's language."""
    if lang is not None:
        return lang
    cookie = request.cookies.get(LANG_COOKIE)
    return "en" if cookie == "en" else "vi" if cookie == "vi" else context(request).default_lang


Language = Annotated[Lang, Depends(language)]


def current_user(request: Request) -> User:
    """401 without a live session."""
    user = context(request).auth.user(request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise HTTPException(401, "log in first")
    return user


LoggedIn = Annotated[User, Depends(current_user)]


def same_origin(request: Request) -> None:
    """An action's ``Origin`` (when the browser sends one) must be this server's own."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "cross-origin request refused")


def acting_user(request: Request, user: LoggedIn) -> User:
    """An action: the session's CSRF token in ``X-CSRF-Token``, from this origin."""
    same_origin(request)
    if not same_token(user.csrf_token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "missing or wrong CSRF token")
    return user


Acting = Annotated[User, Depends(acting_user)]


def operator(user: Acting) -> User:
    if not user.may_act:
        raise HTTPException(403, "only an operator may do this")
    return user


def not_agency(user: LoggedIn) -> User:
    """Parked messages and queues are the hub's, not any one agency's."""
    if user.scope is not None:
        raise HTTPException(403, "an agency account may not see this")
    return user


def secure(request: Request, board: BoardContext) -> bool:
    return board.secure_cookies if board.secure_cookies is not None else request.url.scheme == "https"


def create_app(board: BoardContext) -> FastAPI:
    from vbcore.web import api, pages

    app = FastAPI(
        title="vbus board API",
        version=__version__,
        description="Documents, deliveries, refusals and parked messages of a vbus hub, read from its "
        "tracking store. Every call needs a session (log in at /login); actions need the session's "
        f"CSRF token in {CSRF_HEADER}.",
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json is enough
        redoc_url=None,
    )
    app.state.board = board

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes a form's Origin "null"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.include_router(api.router)
    app.include_router(pages.router)
    return app
