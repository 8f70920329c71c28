"""Keyword watches on the web: every watch and how its deliveries stand, one watch's newest
hits, and subscribing or removing a watch (only when the app has a token).

The rules are ``govcrawl watch``'s (``crawler/watches.py``): a watch added here is checked by
the same ``check_watch`` and saved by the same ``add_watch``; lists and hits come from
``list_watches`` and ``watch_hits``. A webhook is shown as its scheme and host only
(``shown_url``, as the logs show it): its path often holds the receiver's token.

The HTML forms post with the session cookie, so each carries a hidden field derived from the
token (``form_token``): a page of another site cannot read ours, so it cannot fill it in."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from crawler.search import STATUSES, Filters, SearchError
from crawler.watches import (
    NAME,
    WatchError,
    add_watch,
    check_watch,
    known_sites,
    list_watches,
    remove_watch,
    shown_url,
    watch_hits,
)
from crawler.web.catalog import ProfileCatalog
from crawler.web.errors import BadInput, NotFound, limit_of, page_of, text_of
from crawler.web.render import page, plain
from crawler.web.schemas import Problem

router = APIRouter()

NAV = ("Watches", "/watches")  # the top bar's entry (crawler/web/app.py)
FORM_FIELD = "csrf"
HITS_PER_PAGE = 50
FILTER_FIELDS = ("site", "channel", "source", "since", "until", "status")
CLI_HINT = " (see `govcrawl watch list`)"
# the option a message of check_watch names: "--webhook 'x': …", "--since: 'x' is not a date"
FLAG = re.compile(r"--(webhook|email|since|until|status)\b:? ?")


# --- the JSON --------------------------------------------------------------------------------
class WatchFilters(BaseModel):
    """The filters of ``govcrawl search``; leave one out for any."""

    model_config = ConfigDict(extra="forbid")

    site: str | None = None
    channel: str | None = Field(None, description="a channel code, or its name in a profile")
    source: str | None = Field(None, description="the source (来源) contains this")
    since: str | None = Field(None, description="YYYY-MM-DD or YYYY-MM, Beijing time")
    until: str | None = Field(None, description="YYYY-MM-DD or YYYY-MM, included")
    status: str = Field("active", description="active, withdrawn or all")


class NewWatch(BaseModel):
    """A watch to save, as ``govcrawl watch add NAME TERM… [filters] --webhook/--email``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1-64 letters, digits, '-', '_' or '.'")
    query: str = Field(description="terms separated by spaces; every one must occur")
    filters: WatchFilters = Field(default_factory=WatchFilters)
    webhook: str | None = Field(None, description="POST new articles here as JSON (http or https)")
    email: str | None = Field(None, description="e-mail new articles here")


class WatchSummary(BaseModel):
    """A row of ``govcrawl watch list``."""

    id: int
    name: str
    query: str
    filters: dict[str, Any]
    webhook: str | None = Field(
        description="scheme and host only: a webhook's path often holds the receiver's token"
    )
    email: str | None
    enabled: bool
    created_at: datetime = Field(description="it sends the matches first stored after this")
    hits: int
    delivered: int
    pending: int
    last_delivered_at: datetime | None
    last_error: str | None = Field(description="the last error of a hit still pending")
    url: str = Field(description="the watch's page")


class WatchHitRow(BaseModel):
    """An article new to the watch, and where its delivery stands."""

    article_id: int
    title: str
    url: str = Field(description="the article on its portal")
    site: str
    channels: list[str]
    published_at: datetime
    run_id: int | None = Field(description="the run at whose end it was found")
    matched_at: datetime
    delivered: bool
    delivered_at: datetime | None
    attempts: int
    last_error: str | None


class WatchDetail(BaseModel):
    watch: WatchSummary
    hits: list[WatchHitRow] = Field(description="a page of its hits, the newest first")
    page: int
    limit: int
    has_more: bool


class WatchRemoved(BaseModel):
    name: str
    hits: int = Field(description="the hits removed with it")


# --- reading ---------------------------------------------------------------------------------
def watch_url(name: str) -> str:
    return f"/watches/{quote(name, safe='')}"


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A row of ``list_watches`` as shown: the webhook without its path."""
    out = {k: v for k, v in row.items() if k != "webhook_url"}
    out["webhook"] = shown_url(row["webhook_url"]) if row["webhook_url"] else None
    out["url"] = watch_url(row["name"])
    return out


def find_watch(engine: Engine, name: str) -> dict[str, Any]:
    row = next((w for w in list_watches(engine) if w["name"] == name), None)
    if row is None:
        raise NotFound(f"no watch named {name!r}")
    return row


def watch_detail(engine: Engine, name: str, page_no: int, limit: int) -> dict[str, Any]:
    """A watch and one page of its hits, the newest first."""
    limit_of(limit)
    page_of(page_no)
    row = find_watch(engine, name)
    # watch_hits reads the newest N; a page is the end of the first page_no * limit + 1
    rows = watch_hits(engine, row["id"], page_no * limit + 1)
    shown = rows[(page_no - 1) * limit : page_no * limit]
    hits = [{**h, "delivered": h["delivered_at"] is not None} for h in shown]
    return {
        "watch": summary(row),
        "hits": hits,
        "page": page_no,
        "limit": limit,
        "has_more": len(rows) > page_no * limit,
    }


# --- writing ---------------------------------------------------------------------------------
def form_token(token: str) -> str:
    """The hidden field of this app's forms: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"govcrawl-web-form", hashlib.sha256).hexdigest()


def _writer(request: Request) -> Engine:
    state = request.app.state
    if state.token is None:
        raise HTTPException(
            403,
            "adding or removing a watch is available only when the web app has a token "
            "(GOVCRAWL_WEB_TOKEN); use `govcrawl watch` meanwhile",
        )
    return state.engine


async def _form(request: Request) -> FormData:
    """The posted form, when it came from a page of this app (its hidden field)."""
    _writer(request)
    form = await request.form()
    given = form.get(FORM_FIELD)
    expected = form_token(request.app.state.token)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(403, "cross-site request refused: the form is not from this app")
    return form


def sites_of(engine: Engine, catalog: ProfileCatalog) -> set[str]:
    """Sites a watch may name, by ``govcrawl watch add``'s rule (the app's profile catalog)."""
    return known_sites(engine, (p.name for p in catalog.profiles()))


def _bad(exc: Exception) -> BadInput:
    """check_watch's message, naming the field it is about."""
    message = str(exc)
    if message.startswith("name "):
        return BadInput("name", message.removeprefix("name "))
    if flag := FLAG.match(message):
        return BadInput(flag[1], message[flag.end() :])
    if message.startswith("give --webhook"):
        return BadInput("webhook", message)
    return BadInput("query", message)  # the search text: empty, too long, too many terms


def new_watch(engine: Engine, catalog: ProfileCatalog, given: dict[str, Any]) -> dict[str, Any]:
    """Check and save a watch as ``govcrawl watch add`` does; BadInput naming the field, 409
    when the name is taken. Returns its row of ``list_watches``."""
    values = {name: text_of(name, given.get(name)) for name in given}
    filters = Filters(
        site=values.get("site"),
        channel=values.get("channel"),
        source=values.get("source"),
        since=values.get("since"),
        until=values.get("until"),
        status=values.get("status") or "active",
    )
    if filters.channel:  # a channel name becomes its code, as for `govcrawl search`
        filters.channel = catalog.channel_code(filters.channel, filters.site)
    name, query = values.get("name") or "", values.get("query") or ""
    webhook, email = values.get("webhook"), values.get("email")
    try:
        check_watch(name, query, filters, webhook, email)
    except (WatchError, SearchError) as exc:
        raise _bad(exc) from None
    if filters.site is not None and filters.site not in (known := sites_of(engine, catalog)):
        shown = ", ".join(sorted(known)) or "none yet"
        raise BadInput("site", f"{filters.site!r}: no such site (known: {shown})")
    try:
        add_watch(engine, name, query, filters, webhook, email)
    except WatchError as exc:  # its checks passed above: the name is taken
        raise HTTPException(409, str(exc).removesuffix(CLI_HINT)) from None
    return find_watch(engine, name)


def _remove(engine: Engine, name: str) -> int:
    if not NAME.fullmatch(name):  # no such watch can exist; a NUL would not reach PostgreSQL
        raise NotFound(f"no watch named {name!r}")
    try:
        return remove_watch(engine, name)
    except WatchError as exc:
        raise NotFound(str(exc).removesuffix(CLI_HINT)) from None


# --- the API ---------------------------------------------------------------------------------
@router.get("/api/watches", response_model=list[WatchSummary], tags=["watches"])
def api_watches(request: Request) -> list[dict[str, Any]]:
    """Every watch: query, filters, where it sends, hits, delivered, pending, last error
    (``govcrawl watch list``)."""
    return plain([summary(row) for row in list_watches(request.app.state.reader)])


@router.get(
    "/api/watches/{name}",
    response_model=WatchDetail,
    tags=["watches"],
    responses={400: {"model": Problem}, 404: {"model": Problem}},
)
def api_watch(
    request: Request,
    name: str,
    page_no: int = Query(1, alias="page"),
    limit: int = Query(HITS_PER_PAGE, description="1..200"),
) -> dict[str, Any]:
    """One watch and its hits, the newest first: each article, delivered or pending, the
    attempts and the last error."""
    return plain(watch_detail(request.app.state.reader, name, page_no, limit))


@router.post(
    "/api/watches",
    status_code=201,
    response_model=WatchSummary,
    tags=["watches"],
    responses={400: {"model": Problem}, 403: {"model": Problem}, 409: {"model": Problem}},
)
def api_add_watch(request: Request, watch: NewWatch) -> dict[str, Any]:
    """Save a watch (needs the token): checked as ``govcrawl watch add`` checks it; 400 names
    the field at fault, 409 when the name is taken. After each run it sends the matching
    articles first stored after now."""
    state = request.app.state
    given = {**watch.model_dump(exclude={"filters"}), **watch.filters.model_dump()}
    return plain(summary(new_watch(_writer(request), state.catalog, given)))


@router.delete(
    "/api/watches/{name}",
    response_model=WatchRemoved,
    tags=["watches"],
    responses={403: {"model": Problem}, 404: {"model": Problem}},
)
def api_remove_watch(request: Request, name: str) -> dict[str, Any]:
    """Delete a watch and its hits (needs the token)."""
    return {"name": name, "hits": _remove(_writer(request), name)}


# --- the pages -------------------------------------------------------------------------------
def _list_page(
    request: Request,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    state = request.app.state
    return page(
        request,
        "watches.html",
        {
            "watches": [summary(row) for row in list_watches(state.reader)],
            "can_write": state.token is not None,
            "form_token": form_token(state.token) if state.token else "",
            "form": form or {},
            "error": error,
            "sites": sorted(sites_of(state.reader, state.catalog)),
            "statuses": STATUSES,
            "channel_names": state.catalog.channel_names(),
            "active": NAV[1],
        },
        status,
    )


@router.get("/watches", include_in_schema=False)
def watches_page(request: Request) -> Any:
    return _list_page(request)


@router.post("/watches", include_in_schema=False)
async def subscribe(request: Request) -> Any:
    form = await _form(request)
    fields = ("name", "query", *FILTER_FIELDS, "webhook", "email")
    given = {name: value for name in fields if isinstance(value := form.get(name), str)}
    state = request.app.state
    try:
        row = await run_in_threadpool(new_watch, state.engine, state.catalog, given)
    except BadInput as exc:  # the form again, as filled in, saying what to change
        return await run_in_threadpool(_list_page, request, given, str(exc), 400)
    except HTTPException as exc:
        return await run_in_threadpool(_list_page, request, given, exc.detail, exc.status_code)
    return RedirectResponse(watch_url(row["name"]), status_code=303)


@router.get("/watches/{name}", include_in_schema=False)
def watch_page(
    request: Request, name: str, page_no: int = Query(1, alias="page"), limit: int = HITS_PER_PAGE
) -> Any:
    state = request.app.state
    found = watch_detail(state.reader, name, page_no, limit)
    watch = found["watch"]
    return page(
        request,
        "watch.html",
        {
            **found,
            "w": watch,
            "channel_names": state.catalog.channel_names(),
            "search": {"q": watch["query"], **watch["filters"]},
            "can_write": state.token is not None,
            "form_token": form_token(state.token) if state.token else "",
            "active": NAV[1],
        },
    )


@router.post("/watches/{name}/remove", include_in_schema=False)
async def unsubscribe(request: Request, name: str) -> RedirectResponse:
    await _form(request)
    await run_in_threadpool(_remove, request.app.state.engine, name)
    return RedirectResponse(NAV[1], status_code=303)
