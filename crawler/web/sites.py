"""The sites page: every site's health at a glance, and "run now" (with the token only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Engine

from crawler import query
from crawler.extraction.text import CHINA_TZ
from crawler.models import Article, CrawlRun
from crawler.web import chart
from crawler.web.catalog import ProfileCatalog
from crawler.web.errors import NotFound
from crawler.web.launch import SiteBusy
from crawler.web.render import beijing, page, plain
from crawler.web.schemas import Problem, RunStarted, SiteHealth

router = APIRouter()
CHART_DAYS = 30


def _last_runs(conn: Any) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(
            CrawlRun.site,
            CrawlRun.id,
            CrawlRun.status,
            CrawlRun.trigger,
            CrawlRun.started_at,
            CrawlRun.finished_at,
            CrawlRun.alerts,
        )
        .ext(distinct_on(CrawlRun.site))
        .order_by(CrawlRun.site, CrawlRun.id.desc())
    )
    return {r.site: {k: v for k, v in r._mapping.items() if k != "site"} for r in rows}


def _newest_article(conn: Any, site: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(Article.id, Article.title)
        .where(Article.site == site)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def _new_per_day(conn: Any, today: date) -> dict[str, dict[date, int]]:
    """New articles of each of the last CHART_DAYS days (Beijing time), per site, as the runs
    counted them (``govcrawl/items/new``): the run records are small, the articles are not."""
    since = datetime.combine(today - timedelta(days=CHART_DAYS - 1), datetime.min.time(), CHINA_TZ)
    day = func.date(func.timezone("Asia/Shanghai", CrawlRun.started_at))
    new = func.sum(func.coalesce(CrawlRun.stats["govcrawl/items/new"].as_integer(), 0))
    found: dict[str, dict[date, int]] = {}
    for site, d, n in conn.execute(
        select(CrawlRun.site, day, new)
        .where(CrawlRun.started_at >= since)
        .group_by(CrawlRun.site, day)
    ):
        found.setdefault(site, {})[d] = int(n)
    return found


def _scheduled(conn: Any) -> dict[str, datetime | None]:
    """The next run of each site the scheduler daemon has a job for (its job store)."""
    if conn.execute(text("SELECT to_regclass('apscheduler_jobs')")).scalar() is None:
        return {}
    rows = conn.execute(
        text("SELECT id, next_run_time FROM apscheduler_jobs WHERE id LIKE 'crawl:%'")
    )
    return {
        job_id.removeprefix("crawl:"): (
            datetime.fromtimestamp(when, CHINA_TZ) if when is not None else None
        )
        for job_id, when in rows
    }


def site_health(engine: Engine, catalog: ProfileCatalog) -> list[dict[str, Any]]:
    """Every site with articles, runs or a profile: what ``govcrawl sites`` shows and the last
    run, the next scheduled run, the newest article and new articles per day."""
    try:
        counted = {row["site"]: row for row in query.sites(engine)}
    except query.QueryError:  # an empty database: every site shows as not crawled yet
        counted = {}
    profiles = {p.name: p for p in catalog.profiles()}
    with engine.connect() as conn:
        today = conn.execute(select(func.now())).scalar_one().astimezone(CHINA_TZ).date()
        last_runs = _last_runs(conn)
        per_day = _new_per_day(conn, today)
        scheduled = _scheduled(conn)
        names = sorted(set(counted) | set(last_runs) | set(profiles))
        newest = {name: _newest_article(conn, name) for name in counted}
    out = []
    for name in names:
        row = counted.get(name, {})
        profile = profiles.get(name)
        trigger = profile.schedule.trigger() if profile else None
        out.append(
            {
                "site": name,
                "title": profile.title if profile and profile.title else None,
                "articles": row.get("articles", 0),
                "withdrawn": row.get("withdrawn", 0),
                "newest": beijing(row.get("newest")),
                "newest_age_days": row.get("newest_age_days"),
                "newest_article": newest.get(name),
                "last_success": beijing(row.get("last_success")),
                "last_run": plain(last_runs.get(name)),
                "next_run": scheduled.get(name),
                "schedule": str(trigger) if trigger else None,
                "oldest_check_days": row.get("oldest_check_days"),
                "checks_due": row.get("checks_due", 0),
                "new_per_day": [
                    {"day": d, "count": n}
                    for d, n in chart.day_series(per_day.get(name, {}), today, CHART_DAYS)
                ],
            }
        )
    return out


@router.get("/api/sites", response_model=list[SiteHealth], tags=["sites"])
def api_sites(request: Request) -> list[dict[str, Any]]:
    """Every site's health: last run, next scheduled run, newest article, re-check guarantee,
    new articles per day."""
    state = request.app.state
    return site_health(state.reader, state.catalog)


@router.get("/", include_in_schema=False)
def sites_page(request: Request) -> Any:
    state = request.app.state
    sites = site_health(state.reader, state.catalog)
    for site in sites:
        series = [(d["day"], d["count"]) for d in site["new_per_day"]]
        site["chart"] = Markup(chart.bars(series))
        site["new_total"] = sum(n for _, n in series)
    return page(request, "sites.html", {"sites": sites, "active": "/"})


def _start(request: Request, site: str) -> int:
    state = request.app.state
    if state.launcher is None:
        raise HTTPException(
            403, "run now is available only when the web app has a token (GOVCRAWL_WEB_TOKEN)"
        )
    profile = state.catalog.get(site)
    if profile is None or profile.path is None:
        raise NotFound(f"no profile for site {site!r} in {state.catalog.folder}")
    try:
        return state.launcher.start(profile.name, str(profile.path))
    except SiteBusy as exc:
        raise HTTPException(409, str(exc)) from None


@router.post(
    "/api/sites/{site}/run",
    status_code=202,
    response_model=RunStarted,
    tags=["sites"],
    responses={403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem}},
)
async def api_run_now(request: Request, site: str) -> dict[str, Any]:
    """Crawl the site now, as the scheduler would (needs the token; 409 while it is being
    crawled)."""
    run_id = await run_in_threadpool(_start, request, site)
    return {"run_id": run_id, "status": "queued", "url": f"/runs/{run_id}"}


@router.post("/sites/{site}/run", include_in_schema=False)
async def run_now(request: Request, site: str) -> RedirectResponse:
    run_id = await run_in_threadpool(_start, request, site)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
