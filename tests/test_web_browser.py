"""govcrawl web in a real headless browser (Chromium through Playwright), served by uvicorn,
after real crawls of the sample portal: the dashboard, a run followed into its live log, a
search opened into an article, and an edit shown as a diff. Each page is saved under
docs/screenshots/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from crawler.extraction.text import CHINA_TZ
from crawler.models import CrawlRun
from crawler.web.app import create_app
from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer
from tests.test_cli import govcrawl
from tests.test_web_api import empty_database

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
EDITED = "更正后的正文：稻飞虱发生面积比上期扩大，各地要及时开展统防统治。"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def portal_history(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Path]]:
    """Two real crawls: the sample portal, then the same after an editor changed one body."""
    engine = empty_database(migrated_engine)
    folder = tmp_path_factory.mktemp("browser")
    portal = generate_portal()
    with SamplePortalServer(portal) as server:
        profile = write_profile(portal, server.base_url, folder / "sample.toml")
        for n in (1, 2):
            result = govcrawl(
                "crawl",
                str(profile),
                "--log-file",
                str(folder / f"crawl{n}.log"),
                database_url=database_url,
                home=folder / "home",
            )
            assert result.returncode == 3, result.stderr[-2000:]
            if n == 1:  # an article whose body the listing carries: the edit shows there
                edited = next(a for a in portal.listing("bcyb")[:10] if a.in_json)
                portal.edit_body(edited.id, [EDITED])
    yield engine, folder


@pytest.fixture(scope="module")
def base_url(portal_history: tuple[Engine, Path]) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1, in a thread."""
    import uvicorn

    engine, folder = portal_history
    app = create_app(engine, profiles_dir=folder, home=folder / "home")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    listener.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(base_url: str, browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 860}, locale="zh-CN"
    )
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert problems == []  # no script error, no resource refused by the CSP


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_dashboard_shows_each_sites_health(page: Any) -> None:
    page.goto("/")
    card = page.locator("#site-sample")
    card.wait_for()
    assert card.locator(".status").inner_text() == "degraded"
    text = card.inner_text()
    assert "样例门户（本地）" in text and "265 · 0 withdrawn" in text and "#2" in text
    assert "全省早稻种植面积预计中等发生" in text and "interval[1:00:00]" in text
    assert card.locator("svg.chart rect").count() == 30 and card.locator(".alerts li").count() == 1
    screenshot(page, "sites.png")


def test_a_run_is_followed_into_its_log(page: Any) -> None:
    page.goto("/")
    page.locator("#site-sample").get_by_role("link", name="runs").click()
    page.wait_for_url("**/runs?site=sample")
    assert page.locator("table.runs tbody tr").count() == 2
    screenshot(page, "runs.png")
    page.get_by_role("link", name="1", exact=True).click()
    page.wait_for_url("**/runs/1")
    assert page.locator("h1").inner_text().startswith("Run 1")
    issues = page.locator("table.issues tbody tr")
    assert (
        issues.count() == 4 and "missing published_at" in page.locator("table.issues").inner_text()
    )
    log = page.locator("#log")
    assert "Spider closed (finished)" in log.inner_text()
    screenshot(page, "run.png")


def test_a_running_crawls_log_grows_on_the_page(
    page: Any, portal_history: tuple[Engine, Path]
) -> None:
    engine, folder = portal_history
    log = folder / "live.log"
    log.write_text("2026-11-28 10:00:00 [crawler.runs] INFO: crawl run started\n", encoding="utf-8")
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(CrawlRun)
            .values(
                site="live",
                spider="portal",
                status="running",
                log_path=str(log),
                pid=os.getpid(),
                hostname=socket.gethostname(),
            )
            .returning(CrawlRun.id)
        ).scalar_one()
    page.goto(f"/runs/{run_id}")
    assert page.locator("#follow-note").inner_text() == "following live…"
    with log.open("a", encoding="utf-8") as out:
        out.write("2026-11-28 10:00:01 [portal] INFO: channel bcyb: 病虫预报 listed\n")
    page.locator("#log", has_text="病虫预报 listed").wait_for(timeout=10_000)
    with engine.begin() as conn:
        conn.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(status="succeeded", finished_at=datetime.now(CHINA_TZ))
        )
    page.locator("#follow-note", has_text="the run ended").wait_for(timeout=10_000)
    page.locator("#run-status", has_text="succeeded").wait_for(timeout=10_000)
    assert page.locator("#log").inner_text().count("crawl run started") == 1


def test_search_and_open_an_article(page: Any) -> None:
    page.goto("/search")
    page.locator("form.search input[name=q]").fill("病虫害")
    page.locator("form.search select[name=status]").select_option("active")
    page.locator("form.search input[name=q]").press("Enter")
    page.wait_for_url("**/search?q=*")
    hits = page.locator("ol.hits > li")
    assert hits.count() == 20
    assert page.locator("ol.hits mark").first.inner_text() == "病虫害"
    screenshot(page, "search.png")
    first = hits.first.locator("a.title")
    title = first.inner_text()
    first.click()
    page.wait_for_url("**/articles/*")
    assert page.locator("h1").inner_text() == title
    assert "on the portal" in page.locator("dl.facts").inner_text()


def test_an_edit_is_shown_as_a_diff(page: Any) -> None:
    page.goto("/search?q=" + "稻飞虱发生面积比上期扩大")
    page.locator("ol.hits a.title").first.click()
    page.wait_for_url("**/articles/*")
    version = page.locator("section.version")
    assert version.count() == 1 and "1 edit" in page.locator("h2", has_text="Versions").inner_text()
    assert "body_text" in version.locator("h3").inner_text()
    assert EDITED in version.locator(".line.ins").inner_text()
    assert version.locator(".line.del").count() >= 1
    screenshot(page, "article.png")
