"""``create_app``: the ASGI app of ``govcrawl web`` (FastAPI, server-rendered Jinja2 pages).

Every page is also JSON under /api/ (OpenAPI schema at /api/openapi.json). Pages and API read
through a read-only connection (``postgresql_readonly``): the writes — "run now" and adding or
removing a watch — exist only with a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from crawler.metrics import MetricsApp, build_registry
from crawler.web import articles, errors, feeds, runs, search, sites, watches
from crawler.web.catalog import ProfileCatalog
from crawler.web.launch import RunLauncher
from crawler.web.render import STATIC, make_templates
from crawler.web.security import SecurityHeaders, TokenGate

# the pages of the top bar: (label, path); a module with pages of its own appends to
# app.state.nav
NAV = [("Sites", "/"), ("Runs", "/runs"), ("Search", "/search")]


def _defaults() -> tuple[str, str]:
    from crawler import settings

    return settings.GOVCRAWL_PROFILES_DIR, settings.GOVCRAWL_HOME


def create_app(
    engine: Engine,
    *,
    token: str | None = None,
    profiles_dir: str | Path | None = None,
    home: str | Path | None = None,
    run_timeout: float = 4 * 3600,
    kill_grace: float = 30,
) -> FastAPI:
    """The web app on ``engine``. ``token``: every request must carry it, and "run now" is
    on; ``profiles_dir``: the site profiles (names, channels, schedules; default
    GOVCRAWL_PROFILES_DIR); ``home``: where "run now" writes its logs (GOVCRAWL_HOME)."""
    default_profiles, default_home = _defaults()
    launcher = RunLauncher(engine, home or default_home, run_timeout, kill_grace) if token else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if launcher is not None:  # crawls started here stop with the app, recorded as such
            launcher.stop_all(kill_grace + 5)

    app = FastAPI(
        title="govcrawl",
        summary="Crawl runs, site health, full-text search and feeds of govcrawl's database.",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: not here
        redoc_url=None,
        lifespan=lifespan,
    )
    state = app.state
    state.engine = engine
    state.reader = engine.execution_options(postgresql_readonly=True)
    state.token = token
    state.catalog = ProfileCatalog(profiles_dir or default_profiles)
    state.launcher = launcher
    state.templates = make_templates()
    state.nav = list(NAV)
    state.nav.append(watches.NAV)
    errors.install(app)
    for module in (sites, runs, search, articles, feeds, watches):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Prometheus: the run records' series, read in a worker thread (add_route: a mount would
    # answer /metrics with a redirect); behind the token like every other path
    registry, _ = build_registry(state.reader, profiles=state.catalog.profiles)
    app.add_route("/metrics", MetricsApp(registry), include_in_schema=False)
    if token:
        app.add_middleware(TokenGate, token=token)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, refusals included
    return app
