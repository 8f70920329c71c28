"""Runs: the filterable history, one run's stats, alerts, issues and log (followed live)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.engine import Engine

from crawler import query
from crawler.models import CrawlRun
from crawler.web import logs
from crawler.web.errors import BadInput, NotFound, id_of, limit_of, page_of, text_of
from crawler.web.render import page, plain
from crawler.web.schemas import Problem, RunDetail, RunList

router = APIRouter()

STATUSES = (
    "queued",
    "running",
    "succeeded",
    "degraded",
    "failed",
    "timed-out",
    "interrupted",
    "skipped",
)
TRIGGERS = ("cli", "scheduler", "once", "web")
MAX_OFFSET = 2**62
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}


def _run_list(
    request: Request,
    site: str | None,
    status: str | None,
    trigger: str | None,
    page_no: int,
    limit: int,
) -> dict[str, Any]:
    site, status, trigger = (
        text_of(n, v) for n, v in (("site", site), ("status", status), ("trigger", trigger))
    )
    if status and status not in STATUSES:
        raise BadInput("status", f"{status!r} is not a run status; one of {', '.join(STATUSES)}")
    limit_of(limit)
    page_of(page_no)
    rows = query.run_rows(
        request.app.state.reader, site, status, trigger, limit + 1, (page_no - 1) * limit
    )
    return {
        "runs": rows[:limit],
        "page": page_no,
        "limit": limit,
        "has_more": len(rows) > limit,
        "filters": {"site": site, "status": status, "trigger": trigger},
    }


@router.get("/api/runs", response_model=RunList, tags=["runs"], responses={400: {"model": Problem}})
def api_runs(
    request: Request,
    site: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    page_no: int = Query(1, alias="page"),
    limit: int = 20,
) -> dict[str, Any]:
    """The crawl history, newest first (``govcrawl runs``), filtered by site, status, trigger."""
    return plain(_run_list(request, site, status, trigger, page_no, limit))


@router.get("/runs", include_in_schema=False)
def runs_page(
    request: Request,
    site: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    page_no: int = Query(1, alias="page"),
    limit: int = 20,
) -> Any:
    found = _run_list(request, site, status, trigger, page_no, limit)
    state = request.app.state
    sites = sorted({p.name for p in state.catalog.profiles()} | _run_sites(state.reader))
    return page(
        request,
        "runs.html",
        {**found, "statuses": STATUSES, "triggers": TRIGGERS, "sites": sites, "active": "/runs"},
    )


def _run_sites(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(CrawlRun.site).distinct()).scalars())


def run_detail(engine: Engine, run_id: int) -> dict[str, Any]:
    record, issues = query.run(engine, id_of(run_id, "run"))
    return {**record, "issues": issues}


@router.get("/api/runs/{run_id}", response_model=RunDetail, tags=["runs"], responses=NOT_FOUND)
def api_run(request: Request, run_id: int) -> dict[str, Any]:
    """One run: its record, every stat, its alerts and its issues (``govcrawl run ID``)."""
    return plain(run_detail(request.app.state.reader, run_id))


@router.get("/runs/{run_id}", include_in_schema=False)
def run_page(request: Request, run_id: int) -> Any:
    run = run_detail(request.app.state.reader, run_id)
    log_text, log_end, log_cut, log_problem = "", 0, False, None
    try:
        path = logs.log_file(run)
        log_text, log_end, log_cut = logs.tail(path)
    except NotFound as exc:
        log_problem = str(exc)
    active = run["status"] in ("queued", "running") and log_problem is None
    stats = run["stats"] or {}
    return page(
        request,
        "run.html",
        {
            "run": run,
            "stats": sorted(stats.items()),
            "get": stats.get,
            "log_text": log_text,
            "log_end": log_end,
            "log_cut": log_cut,
            "log_problem": log_problem,
            "follow": active,
            "active": "/runs",
        },
    )


@router.get(
    "/api/runs/{run_id}/log",
    response_class=PlainTextResponse,
    tags=["runs"],
    responses={200: {"content": {"text/plain": {}}}, **NOT_FOUND},
)
def api_run_log(request: Request, run_id: int) -> PlainTextResponse:
    """The run's whole log file (``govcrawl logs ID``)."""
    run = run_detail(request.app.state.reader, run_id)
    path = logs.log_file(run)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise NotFound(f"run {run_id} has not written its log yet") from None
    return PlainTextResponse(text)


def _over(engine: Engine, run_id: int) -> str | None:
    """None while the run goes on, else why following ends (``govcrawl logs -f``'s rule)."""
    from crawler.runs import run_over

    try:
        record, _ = query.run(engine, run_id)
    except query.QueryError:
        return f"run {run_id} is no longer recorded"
    return run_over(record)


@router.get(
    "/api/runs/{run_id}/events",
    tags=["runs"],
    responses={200: {"content": {"text/event-stream": {}}}, **NOT_FOUND},
)
async def api_run_events(
    request: Request,
    run_id: int,
    offset: int = 0,
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """The run's log as server-sent events from byte ``offset`` on (``Last-Event-ID`` wins),
    line by line while the run goes on (``govcrawl logs ID -f``); an ``end`` event closes it."""
    engine = request.app.state.reader
    run = await run_in_threadpool(run_detail, engine, run_id)
    path: Path = logs.log_file(run)
    if last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit():
        offset = int(last_event_id)
    if not 0 <= offset <= MAX_OFFSET:
        raise BadInput("offset", f"offset must be 0..{MAX_OFFSET}, got {offset}")
    stream = logs.follow(path, offset, lambda: _over(engine, run_id))
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
