"""The board's HTTP API under ``/api``: JSON, paginated (``page``, ``per_page`` <= 100), every call
logged in, reads scoped to an agency account's agency. Endpoints are plain ``def``: FastAPI runs them
in its thread pool, so the synchronous store never blocks the event loop."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from vbcore.lang import Lang
from vbcore.store import board as b
from vbcore.store.timeline import agency_name, read_timeline, tracked_ids
from vbcore.text import fold
from vbcore.timezones import VIETNAM
from vbcore.web import charts
from vbcore.web import schemas as s
from vbcore.web import views as v
from vbcore.web.app import SESSION_COOKIE, Acting, Board, Language, LoggedIn, not_agency, operator
from vbcore.web.auth import User
from vbcore.web.broker import BrokerView
from vbcore.web.query import parse
from vbcore.web.texts import BOARD

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no live session: log in at /login"},
    403: {"description": "this account may not (role, agency), or the action lacks its CSRF token"},
    404: {"description": "no such document, or not one this agency sent or received"},
    409: {"description": "several agencies wrote this DocumentId: ask for SENDER|ID"},
    503: {"description": "the broker or the store cannot be reached"},
}
router = APIRouter(prefix="/api", responses=ERRORS)

PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=b.MAX_PAGE_SIZE)]
Text200 = Annotated[str | None, Query(max_length=200)]
HOURLY_WINDOW = timedelta(hours=48)
STATS_WINDOW = timedelta(days=7)
CHART_AGENCIES = 12  # recipients drawn in the time-to-01 chart (the busiest)
SECONDS_PER_MINUTE = 60


def _page(page: int, per_page: int) -> b.Page:
    return b.Page(page, per_page)


def _aware(at: datetime | None) -> datetime | None:
    """A time without a zone is Vietnam time (what a person in Vietnam means)."""
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=VIETNAM)


def _broker(board: Board) -> BrokerView:
    if board.broker is None:
        raise HTTPException(503, "this board was started without a broker")
    return board.broker


def _documents(board: Board, found: b.PageOf[Any], user: User, lang: Lang) -> s.DocumentPage:
    now = board.clock()
    scope = user.scope
    items = [
        v.document(board.store, board.directory, d, now, lang,
                   only=scope if scope is not None and d.sender != scope else None)
        for d in found.items
    ]  # fmt: skip
    return s.DocumentPage(items=items, total=found.total, page=found.page.number, per_page=found.page.limit)


@router.get("/me", response_model=s.UserOut)
def me(board: Board, user: LoggedIn) -> s.UserOut:
    agency = board.directory.get(user.agency) if user.agency else None
    return s.UserOut(username=user.username, role=user.role, agency=user.agency,
                     agency_name=agency.name if agency else None, may_act=user.may_act)  # fmt: skip


@router.post("/logout", status_code=204)
def logout(board: Board, user: Acting, request: Request, response: Response) -> None:
    board.auth.logout(request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/documents", response_model=s.DocumentPage)
def documents(
    board: Board, user: LoggedIn, lang: Language,
    document_id: Text200 = None, number: Text200 = None,
    type: Annotated[str | None, Query(max_length=200, description="a type name: Công văn")] = None,
    sender: Text200 = None, recipient: Text200 = None,
    subject: Annotated[str | None, Query(max_length=200, description="subject words, any accents")] = None,
    since: datetime | None = None, until: datetime | None = None,
    page: PageNumber = 1, per_page: PerPage = b.DEFAULT_PAGE_SIZE,
) -> s.DocumentPage:  # fmt: skip
    """Documents the hub received, newest first; every given filter must hold."""
    query = b.DocumentQuery(
        document_id=document_id or None, number=number or None, type_key=fold(type) if type else None,
        senders=(sender,) if sender else (), recipients=(recipient,) if recipient else (),
        words=tuple(fold(subject).split()) if subject else (), since=_aware(since), until=_aware(until),
    )  # fmt: skip
    found = b.search_documents(board.store, query, _page(page, per_page), scope=user.scope)
    return _documents(board, found, user, lang)


@router.get("/search", response_model=s.SearchOut)
def search(
    board: Board, user: LoggedIn, lang: Language,
    q: Annotated[str, Query(max_length=500, description="công văn 1234 gửi Hà Nội hôm qua")],
    page: PageNumber = 1, per_page: PerPage = b.DEFAULT_PAGE_SIZE,
) -> s.SearchOut:  # fmt: skip
    """A clerk's description read into a search; ``understood`` says how each part was read."""
    parsed = parse(q, board.directory, now=board.clock())
    found = b.search_documents(board.store, parsed.query, _page(page, per_page), scope=user.scope)
    understood = [
        s.UnderstoodOut(kind=u.kind, kind_text=BOARD[f"kind_{u.kind}"](lang), text=u.text, value=u.value,
                        label=u.label or u.value)
        for u in parsed.understood
    ]  # fmt: skip
    return s.SearchOut(understood=understood, results=_documents(board, found, user, lang))


@router.get("/timeline", response_model=s.TimelineOut)
def timeline(
    board: Board, user: LoggedIn, lang: Language,
    document_id: Annotated[str, Query(min_length=1, max_length=1000)],
) -> s.TimelineOut:  # fmt: skip
    """One document's story with each recipient: what ``vb track DOCUMENT_ID`` shows. An agency account
    gets 404 for a document its agency neither sent nor received; as a recipient, its own copy's story."""
    found = tracked_ids(board.store, document_id)
    if user.scope is not None:  # another agency's key is none of this one's business, even its existence
        found = [key for key in found if b.can_see_document(board.store, key, user.scope)]
    if len(found) > 1:
        raise HTTPException(
            409, f"several agencies wrote this DocumentId; ask for one of: {', '.join(found)}"
        )
    key = found[0] if found else document_id
    only = None
    if user.scope is not None:
        if not b.can_see_document(board.store, key, user.scope):
            raise HTTPException(404, "no such document")
        only = None if b.sent_by(board.store, key, user.scope) else user.scope
    now = board.clock()
    t = read_timeline(board.store, board.directory, key, now=now)
    if not t.found:
        raise HTTPException(404, "no such document")
    actions = board.accounts.actions(document_id=key)
    return v.timeline(board.store, board.directory, t, actions, now, lang, only=only)


@router.get("/overdue", response_model=s.OverduePage)
def overdue(
    board: Board,
    user: LoggedIn,
    lang: Language,
    page: PageNumber = 1,
    per_page: PerPage = b.DEFAULT_PAGE_SIZE,
) -> s.OverduePage:
    """Pairs past their deadline with no status yet (``vb track --overdue``), the latest first."""
    now = board.clock()
    found = b.overdue_page(board.store, now, _page(page, per_page), scope=user.scope)
    items = [v.overdue(board.directory, o, lang) for o in found.items]
    return s.OverduePage(now=now, items=items, total=found.total, page=page, per_page=found.page.limit)


@router.get("/refusals", response_model=s.RefusalPage)
def refusals(
    board: Board,
    user: LoggedIn,
    lang: Language,
    since: datetime | None = None,
    reason: Text200 = None,
    page: PageNumber = 1,
    per_page: PerPage = b.DEFAULT_PAGE_SIZE,
) -> s.RefusalPage:
    """What the hub refused, newest first (an agency account: what its agency sent)."""
    found = b.refusals_page(board.store, _page(page, per_page), since=_aware(since), reason=reason or None,
                            scope=user.scope)  # fmt: skip
    items = [v.refusal(board.directory, r, lang) for r in found.items]
    return s.RefusalPage(items=items, total=found.total, page=page, per_page=found.page.limit)


@router.get("/parked", response_model=s.ParkedPage, dependencies=[Depends(not_agency)])
def parked(
    board: Board, lang: Language, page: PageNumber = 1, per_page: PerPage = b.DEFAULT_PAGE_SIZE
) -> s.ParkedPage:
    """Messages parked by the hub or an agency, with why (left in the queue)."""
    broker = _broker(board)
    found = broker.parked()
    p = _page(page, per_page)
    items = [v.parked(m, broker.names, lang) for m in found[p.offset : p.offset + p.limit]]
    return s.ParkedPage(items=items, total=len(found), page=page, per_page=p.limit)


def _act(board: Board, user: User, lang: Lang, message_id: str, *, replay: bool) -> s.ActionResultOut:
    result = _broker(board).act(board.accounts, user.username, message_id, replay=replay)
    if result.outcome == "done":
        text = BOARD["done_replay" if replay else "done_drop"].format(id=message_id)(lang)
    elif result.outcome == "not-found":
        text = BOARD["not_found"].format(id=message_id)(lang)
    else:
        why = result.why.describe(lang) if result.why else ""
        text = BOARD["not_replayable"].format(why=why)(lang)
    return s.ActionResultOut(outcome=result.outcome, message_id=message_id, text=text)


@router.post("/parked/replay", response_model=s.ActionResultOut)
def replay(
    board: Board, user: Annotated[User, Depends(operator)], lang: Language, body: s.ParkedAction
) -> s.ActionResultOut:
    """Publish a parked message to the hub's ingress again (``vb parked replay``); operators only."""
    return _act(board, user, lang, body.message_id, replay=True)


@router.post("/parked/drop", response_model=s.ActionResultOut)
def drop(
    board: Board, user: Annotated[User, Depends(operator)], lang: Language, body: s.ParkedAction
) -> s.ActionResultOut:
    """Delete a parked message for good (``vb parked drop``); operators only."""
    return _act(board, user, lang, body.message_id, replay=False)


def _queues(board: Board) -> list[s.QueueOut]:
    broker = _broker(board)
    return [
        s.QueueOut(name=q.name, messages=q.messages, consumers=q.consumers,
                   alarm=q.name == broker.names.parked_queue and q.messages >= board.parked_alarm)
        for q in broker.queues()
    ]  # fmt: skip


@router.get("/queues", response_model=list[s.QueueOut], dependencies=[Depends(not_agency)])
def queues(board: Board) -> list[s.QueueOut]:
    """Messages waiting in each queue of the installation (``vb queues``); the parked queue's alarm."""
    return _queues(board)


@router.get("/agencies", response_model=s.AgencyPage)
def agencies(
    board: Board,
    user: LoggedIn,
    q: Text200 = None,
    page: PageNumber = 1,
    per_page: PerPage = b.DEFAULT_PAGE_SIZE,
) -> s.AgencyPage:
    """The directory (accent-insensitive search by name or code)."""
    found = board.directory.search(q) if q and q.strip() else board.directory.all()
    p = _page(page, per_page)
    items = [s.AgencyOut(code=a.code, name=a.name, kind=a.kind, closed=a.closed, successor=a.successor)
             for a in found[p.offset : p.offset + p.limit]]  # fmt: skip
    return s.AgencyPage(items=items, total=len(found), page=page, per_page=p.limit)


# --- figures and charts -------------------------------------------------------------------------


@router.get("/stats/hourly", response_model=list[s.HourOut])
def hourly(
    board: Board, user: LoggedIn, hours: Annotated[int, Query(ge=1, le=24 * 7)] = 48
) -> list[s.HourOut]:
    """Documents received per hour (Vietnam time) over the last ``hours``."""
    now = board.clock()
    rows = b.documents_per_hour(board.store, now - timedelta(hours=hours), now, scope=user.scope)
    return [s.HourOut(hour=at, documents=n) for at, n in rows]


def _first_receipts(board: Board, user: User) -> list[b.FirstReceipts]:
    now = board.clock()
    return b.time_to_first_receipt(board.store, now - STATS_WINDOW, now, scope=user.scope)


@router.get("/stats/first-receipt", response_model=list[s.FirstReceiptOut])
def first_receipt(board: Board, user: LoggedIn) -> list[s.FirstReceiptOut]:
    """Per recipient agency, how long its 01 took for the pairs of the last 7 days, and how many wait."""
    return [
        s.FirstReceiptOut(
            recipient=f.recipient, name=agency_name(board.directory, f.recipient),
            answered=len(f.seconds), waiting=f.waiting,
            median_seconds=charts.quantile(f.seconds, 0.5) if f.seconds else None,
            p90_seconds=charts.quantile(f.seconds, 0.9) if f.seconds else None,
        )
        for f in _first_receipts(board, user)
    ]  # fmt: skip


@router.get("/stats/refusals", response_model=list[s.ReasonCountOut])
def refusal_reasons(board: Board, user: LoggedIn, lang: Language) -> list[s.ReasonCountOut]:
    """Refusals of the last 7 days by reason, the most frequent first."""
    from vbcore.errors import statement_of

    rows = b.refusals_by_reason(board.store, board.clock() - STATS_WINDOW, scope=user.scope)
    return [s.ReasonCountOut(reason=r, reason_text=statement_of(r, lang), count=n) for r, n in rows]


SVG = {"content": {"image/svg+xml": {}}, "description": "an SVG image"}


@router.get("/charts/{name}.svg", response_class=Response, responses={200: SVG})
def chart(
    board: Board, user: LoggedIn, lang: Language,
    name: Literal["hourly", "first-receipt", "refusals", "queues"],
) -> Response:  # fmt: skip
    """The board's charts, drawn on the server (``vbcore.web.charts``)."""
    t = {k: BOARD[k](lang) for k in ("chart_empty", "minutes", "waiting")}
    if name == "hourly":
        rows = hourly(board, user)
        points = [(r.hour.astimezone(VIETNAM), r.documents) for r in rows]
        svg = charts.hourly(BOARD["chart_hourly"](lang), points, empty_text=t["chart_empty"])
    elif name == "first-receipt":
        svg = charts.spreads(
            BOARD["chart_first_receipt"](lang), _spreads(board, user), empty_text=t["chart_empty"],
            unit=t["minutes"], waiting=t["waiting"],
        )  # fmt: skip
    elif name == "refusals":
        items = [charts.Bar(r.reason, r.count) for r in refusal_reasons(board, user, lang)]
        svg = charts.bars(BOARD["chart_refusals"](lang), items, empty_text=t["chart_empty"])
    else:
        not_agency(user)
        items = [charts.Bar(q.name, q.messages, alarm=q.alarm) for q in _queues(board)]
        svg = charts.bars(BOARD["chart_queues"](lang), items, empty_text=t["chart_empty"], label_width=300)
    return Response(svg, media_type="image/svg+xml")


def _spreads(board: Board, user: User) -> list[charts.Spread]:
    out = []
    for f in _first_receipts(board, user)[:CHART_AGENCIES]:
        minutes = [x / SECONDS_PER_MINUTE for x in f.seconds]
        agency = board.directory.get(f.recipient)
        label = (agency.short_name or agency.name) if agency else f.recipient
        if not minutes:
            out.append(charts.Spread(label, 0, 0, 0, 0, 0, 0, f.waiting))
            continue
        q = charts.quantile
        out.append(charts.Spread(label, minutes[0], q(minutes, 0.25), q(minutes, 0.5), q(minutes, 0.75),
                                 q(minutes, 0.9), len(minutes), f.waiting))  # fmt: skip
    return out


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: LoggedIn) -> dict[str, Any]:
    """This API's OpenAPI description (logged in, like every call)."""
    spec: dict[str, Any] = request.app.openapi()
    return spec
