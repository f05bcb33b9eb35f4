"""The board's pages: the login form, the board itself, and its static files (shipped in the package:
nothing is fetched from elsewhere at run time).

Logging in is a plain HTML form (it works without JavaScript) protected against cross-site request
forgery by a double-submit token: the form carries the token the login page set in a cookie of its
own, and the two must match. The board page gets its session's CSRF token in a ``<meta>`` tag, which its
script sends with every action.
"""

from __future__ import annotations

import html
import json
import secrets
from importlib.resources import files
from string import Template
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from vbcore.lang import Lang
from vbcore.web.app import LANG_COOKIE, SESSION_COOKIE, Board, Language, context, same_origin, secure
from vbcore.web.auth import LoginRefused, same_token
from vbcore.web.texts import BOARD, LOGIN, pick

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "vbus_login_csrf"
MAX_FORM_BYTES = 4096
ONE_YEAR = 365 * 24 * 3600
_FILES = files("vbcore.web")
_STATIC = {
    "board.css": "text/css; charset=utf-8",
    "board.js": "text/javascript; charset=utf-8",
}
_PUBLIC = {"board.css"}  # the login page's style; everything else needs a session


def _template(name: str) -> Template:
    return Template(_FILES.joinpath("templates", name).read_text(encoding="utf-8"))


def _remember_lang(request: Request, response: Response, lang: Lang) -> None:
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, path="/", samesite="strict", httponly=True)


def _login_page(request: Request, lang: Lang, *, message: str = "", status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    t = pick(LOGIN, lang)
    other: Lang = "en" if lang == "vi" else "vi"
    page = _template("login.html").substitute(
        lang=lang, other_lang=other, token=token, message=html.escape(message),
        message_class="message" if message else "message hidden",
        **{k: html.escape(v) for k, v in t.items()},
    )  # fmt: skip
    response = HTMLResponse(page, status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", httponly=True, samesite="strict",
                        secure=secure(request, context(request)))  # fmt: skip
    _remember_lang(request, response, lang)
    return response


@router.get("/login")
def login_page(request: Request, lang: Language) -> HTMLResponse:
    return _login_page(request, lang)


@router.post("/login")
async def login(request: Request, lang: Language) -> Response:
    board = context(request)
    same_origin(request)
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf")) or not form.get("csrf"):
        return _login_page(request, lang, message=LOGIN["expired"](lang), status=403)
    try:
        token, _user = await run_in_threadpool(
            board.auth.login, form.get("username", ""), form.get("password", "")
        )
    except LoginRefused:
        return _login_page(request, lang, message=LOGIN["refused"](lang), status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=secure(request, board))  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.get("/")
def board_page(request: Request, board: Board, lang: Language) -> Response:
    user = board.auth.user(request.cookies.get(SESSION_COOKIE))
    if user is None:
        return RedirectResponse("/login" + (f"?lang={lang}" if request.query_params.get("lang") else ""), 303)
    agency = board.directory.get(user.agency) if user.agency else None
    other: Lang = "en" if lang == "vi" else "vi"
    texts = pick(BOARD, lang)
    page = _template("board.html").substitute(
        lang=lang, other_lang=other, csrf=html.escape(user.csrf_token), title=html.escape(texts["title"]),
        username=html.escape(user.username), role=html.escape(texts[f"role_{user.role}"]),
        agency=html.escape(f" — {agency.name}" if agency else (f" — {user.agency}" if user.agency else "")),
        texts=html.escape(json.dumps(texts, ensure_ascii=False)),
        user=html.escape(json.dumps({"role": user.role, "may_act": user.may_act, "agency": user.agency,
                                     "scoped": user.scope is not None, "broker": board.broker is not None})),
        **{f"t_{k}": html.escape(v) for k, v in texts.items()},
    )  # fmt: skip
    response = HTMLResponse(page)
    _remember_lang(request, response, lang)
    return response


@router.get("/static/{name}")
def static(request: Request, name: str) -> Response:
    if name not in _STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    if name not in _PUBLIC and context(request).auth.user(request.cookies.get(SESSION_COOKIE)) is None:
        return Response("log in first", status_code=401, media_type="text/plain")
    body = _FILES.joinpath("static", name).read_bytes()
    return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "private, max-age=300"})
