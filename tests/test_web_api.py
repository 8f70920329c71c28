"""govcrawl web: every page and API call against a real PostgreSQL after a real crawl of the
sample portal; bad input, the token rule, Atom validity, escaping and sanitising."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from crawler.extraction.text import CHINA_TZ
from crawler.locks import site_lock
from crawler.models import Article, CrawlRun
from crawler.profiles import load_profile
from crawler.search import Filters, search
from pipelines.store import write_batch
from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer
from tests.support import article_row
from tests.test_cli import TRUTH, govcrawl

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx
    from fastapi.testclient import TestClient

from crawler.web.app import create_app  # noqa: E402
from crawler.web.security import bind_problem  # noqa: E402

TOKEN = "s3cret-token-for-the-web-tests"
HOSTILE_TITLE = "<script>alert('t')</script>关于病虫害防治的通知"
HOSTILE_BODY = (
    '<p onclick="alert(1)">各地要做好病虫害防治。<script>alert("b")</script></p>'
    '<p><a href="javascript:alert(2)">点此</a> <a href="https://example.gov.cn/x">原文</a></p>'
    '<img src="https://evil.example/p.png" onerror="alert(3)"><style>p{}</style>'
)
EXTRA = {
    "index_no": "014500-0100-2025-0001",
    "doc_no": "赣农字〔2025〕12号",
    "publisher": "省农业农村厅",
}


def empty_database(engine: Engine) -> Engine:
    """What the ``db`` fixture does, for a module's worth of tests."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE articles, article_versions, channel_states, crawl_runs, "
                "crawl_issues RESTART IDENTITY CASCADE"
            )
        )
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    return engine


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The profiles folder (the sample portal's profile), the crawl's log and GOVCRAWL_HOME."""
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def crawled(migrated_engine: Engine, database_url: str, folder: Path) -> Iterator[Engine]:
    """One real crawl of the sample portal for the whole module (``govcrawl crawl``: run 1, its
    log in folder/crawl.log), plus one hostile article of site ``zz-hostile``, edited once and
    withdrawn. The tests only read, or add rows of their own sites and runs."""
    engine = empty_database(migrated_engine)
    row = article_row(
        "h1",
        channels=("tzgg",),
        site="zz-hostile",
        article_key="zz-hostile:id:h1",
        url="https://example.gov.cn/h1.html",
        extra=EXTRA,
    )
    write_batch(
        engine,
        [
            {
                **row,
                "title": HOSTILE_TITLE,
                "body_html": "<p>旧的正文。</p>",
                "body_text": "旧的正文。",
            }
        ],
    )
    edited = {
        **row,
        "title": HOSTILE_TITLE,
        "body_html": HOSTILE_BODY,
        "body_text": "各地要做好病虫害防治。\n点此 原文",
        "content_hash": "edited",
    }
    write_batch(engine, [edited])
    with engine.begin() as conn:
        conn.execute(
            update(Article)
            .where(Article.site == "zz-hostile")
            .values(withdrawn_at=datetime(2026, 1, 2, 3, 4, tzinfo=CHINA_TZ))
        )
    with SamplePortalServer(generate_portal()) as server:  # served on: "run now" crawls it
        profile = write_profile(server.portal, server.base_url, folder / "sample.toml")
        result = govcrawl(
            "crawl",
            str(profile),
            "--log-file",
            str(folder / "crawl.log"),
            database_url=database_url,
            home=folder / "home",
        )
        assert result.returncode == 3, result.stderr[-2000:]  # degraded: two broken channels
        yield engine


def client_for(engine: Engine, folder: Path, **options: Any) -> TestClient:
    app = create_app(engine, profiles_dir=folder, home=folder / "home", **options)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(crawled: Engine, folder: Path) -> Iterator[TestClient]:
    with client_for(crawled, folder) as c:
        yield c


def hostile_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Article.id).where(Article.site == "zz-hostile")).scalar_one()


# --- sites ---------------------------------------------------------------------------------------
def test_sites_api_shows_each_sites_health(client: TestClient, crawled: Engine) -> None:
    sites = {s["site"]: s for s in client.get("/api/sites").json()}
    assert {"sample", "zz-hostile"} <= set(sites)
    sample = sites["sample"]
    with crawled.connect() as conn:
        newest = conn.execute(
            select(Article.id, Article.title)
            .where(Article.site == "sample")
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(1)
        ).one()
    assert sample["articles"] == len(TRUTH["articles"]) and sample["withdrawn"] == 0
    assert sample["newest"].startswith("2025-11-20T08:00:00+08:00")
    assert sample["newest_article"] == {"id": newest.id, "title": newest.title}
    assert sample["newest_age_days"] >= 365
    assert sample["last_run"]["status"] == "degraded" and len(sample["last_run"]["alerts"]) == 1
    assert sample["last_success"] and sample["title"] == "样例门户（本地）"
    assert sample["schedule"] == "interval[1:00:00]" and sample["next_run"] is None
    assert sample["oldest_check_days"] == 0 and sample["checks_due"] == 0
    assert len(sample["new_per_day"]) == 30
    assert sum(d["count"] for d in sample["new_per_day"]) == len(TRUTH["articles"])
    assert sites["zz-hostile"]["withdrawn"] == 1 and sites["zz-hostile"]["last_run"] is None


def test_next_run_is_the_scheduler_daemons_own(client: TestClient, crawled: Engine) -> None:
    when = datetime(2026, 12, 1, 6, 15, tzinfo=CHINA_TZ)
    with crawled.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE apscheduler_jobs (id varchar(191) PRIMARY KEY, "
                "next_run_time float, job_state bytea NOT NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO apscheduler_jobs VALUES ('crawl:sample', :t, '')"),
            {"t": when.timestamp()},
        )
    try:
        sample = next(s for s in client.get("/api/sites").json() if s["site"] == "sample")
        assert sample["next_run"] == "2026-12-01T06:15:00+08:00"
        assert "2026-12-01 06:15" in client.get("/").text
    finally:
        with crawled.begin() as conn:
            conn.execute(text("DROP TABLE apscheduler_jobs"))


def test_sites_page_shows_health_a_chart_and_no_run_button_without_token(
    client: TestClient,
) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert (
        'id="site-sample"' in html and "degraded" in html and "全省早稻种植面积预计中等发生" in html
    )
    assert html.count('<svg class="chart"') == 2 and html.count("<rect") == 2 * 30
    alert = client.get("/api/runs/1").json()["alerts"][0]
    assert escape(alert) in html and (alert == escape(alert) or alert not in html)
    assert "Run now" not in html
    assert client.post("/api/sites/sample/run").status_code == 403


# --- runs ----------------------------------------------------------------------------------------
def test_runs_are_filtered_by_site_status_and_trigger(client: TestClient) -> None:
    runs = client.get("/api/runs?site=sample&trigger=cli").json()
    assert [r["id"] for r in runs["runs"]] == [1] and runs["has_more"] is False
    row = runs["runs"][0]
    assert (
        row["site"],
        row["status"],
        row["trigger"],
        row["new"],
        row["pages"],
        row["alerts"],
    ) == ("sample", "degraded", "cli", len(TRUTH["articles"]), 20, 1)
    assert len(client.get("/api/runs?status=degraded&trigger=cli").json()["runs"]) == 1
    for query in ("status=failed", "trigger=scheduler", "site=nync"):
        assert client.get(f"/api/runs?site=sample&{query}").json()["runs"] == [], query
    page = client.get("/runs?status=degraded&trigger=cli").text
    assert 'href="/runs/1"' in page and "<option selected>degraded</option>" in page
    assert "No runs match these filters" in client.get("/runs?trigger=once").text


def test_a_run_shows_its_stats_alerts_issues_and_log(client: TestClient, folder: Path) -> None:
    run = client.get("/api/runs/1").json()
    assert run["stats"]["govcrawl/items/new"] == len(TRUTH["articles"])
    assert run["log_path"] == str(folder / "crawl.log") and len(run["alerts"]) == 1
    kinds = sorted(i["kind"] for i in run["issues"])
    assert kinds == ["bad_listing", "bad_listing", "invalid", "invalid"]
    html = client.get("/runs/1").text
    for issue in run["issues"]:
        assert issue["reason"] in html.replace("&#39;", "'").replace("&#34;", '"')
    assert "missing published_at" in html and "Spider closed (finished)" in html
    assert "data-events" not in html  # a finished run is not followed
    log = client.get("/api/runs/1/log")
    assert log.headers["content-type"].startswith("text/plain")
    assert log.text == (folder / "crawl.log").read_text(encoding="utf-8")


def record_run(engine: Engine, log: Path | None, **values: Any) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(CrawlRun)
            .values(
                **{
                    "site": "live",
                    "spider": "portal",
                    "status": "running",
                    "log_path": str(log) if log else None,
                    **values,
                }
            )
            .returning(CrawlRun.id)
        ).scalar_one()


def events(body: str) -> list[dict[str, str]]:
    found = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            if key in fields and key == "data":
                fields[key] += "\n" + value
            elif key and not key.startswith(":"):
                fields[key] = value
        if fields:
            found.append(fields)
    return found


def test_a_running_runs_log_is_followed_live(
    client: TestClient, crawled: Engine, tmp_path: Path
) -> None:
    log = tmp_path / "live.log"
    log.write_text("第一行 first\n", encoding="utf-8")
    run_id = record_run(crawled, log, pid=os.getpid(), hostname=socket.gethostname())
    page = client.get(f"/runs/{run_id}").text
    offset = len("第一行 first\n".encode())
    assert f'data-events="/api/runs/{run_id}/events?offset={offset}"' in page

    def crawl_goes_on() -> None:
        time.sleep(0.8)
        with log.open("a", encoding="utf-8") as out:
            out.write("second line\nthird, half")
        time.sleep(0.8)
        with log.open("a", encoding="utf-8") as out:
            out.write(" written\n")
        with crawled.begin() as conn:
            conn.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(status="succeeded", finished_at=datetime.now(CHINA_TZ))
            )

    writer = threading.Thread(target=crawl_goes_on)
    writer.start()
    started = time.monotonic()
    reply = client.get(f"/api/runs/{run_id}/events?offset={offset}")
    writer.join()
    assert time.monotonic() - started >= 1.5  # it waited for the run to end
    assert reply.headers["content-type"].startswith("text/event-stream")
    got = events(reply.text)
    lines = "\n".join(e["data"] for e in got if "event" not in e)
    assert lines == "second line\nthird, half written"  # whole lines only, none twice
    assert got[-1]["event"] == "end" and int(got[-1]["id"]) == log.stat().st_size
    # a reconnecting EventSource resumes after the last event it saw
    again = events(
        client.get(f"/api/runs/{run_id}/events", headers={"Last-Event-ID": str(offset)}).text
    )
    assert [e["data"] for e in again] == ["second line\nthird, half written", "the run ended"]


def test_following_stops_when_the_runs_process_is_gone(
    client: TestClient, crawled: Engine, tmp_path: Path
) -> None:
    log = tmp_path / "killed.log"
    log.write_text("started\n", encoding="utf-8")
    dead = 2**22 + 12345  # above the default pid_max: no such process
    run_id = record_run(crawled, log, pid=dead, hostname=socket.gethostname())
    got = events(client.get(f"/api/runs/{run_id}/events").text)
    assert got[0]["data"] == "started"
    assert got[-1]["event"] == "end" and f"process {dead} is gone" in got[-1]["data"]


# --- search and articles -------------------------------------------------------------------------
def test_search_is_the_engine_of_govcrawl_search(client: TestClient, crawled: Engine) -> None:
    expected = [r["id"] for r in search(crawled, "病虫害", Filters(), limit=200)]
    assert len(expected) > 20
    found = client.get("/api/search", params={"q": "病虫害", "limit": 200}).json()
    assert [r["id"] for r in found["results"]] == expected and found["has_more"] is False
    first, second = (
        client.get("/api/search", params={"q": "病虫害", "limit": 5, "page": p}).json()
        for p in (1, 2)
    )
    assert [r["id"] for r in first["results"] + second["results"]] == expected[:10]
    assert first["has_more"] and first["terms"] == ["病虫害"]
    by_name = client.get("/api/search", params={"q": "病虫", "channel": "病虫预报", "limit": 200})
    by_code = client.get("/api/search", params={"q": "病虫", "channel": "bcyb", "limit": 200})
    assert by_name.json()["results"] == by_code.json()["results"] != []
    assert by_name.json()["filters"]["channel"] == "bcyb"
    dated = client.get(
        "/api/search", params={"q": "病虫", "since": "2025-10", "until": "2025-11-17"}
    )
    expected = search(crawled, "病虫", Filters(since="2025-10", until="2025-11-17"), limit=20)
    assert [r["id"] for r in dated.json()["results"]] == [r["id"] for r in expected]
    withdrawn = client.get("/api/search", params={"q": "病虫害", "status": "withdrawn"}).json()
    assert [r["site"] for r in withdrawn["results"]] == ["zz-hostile"]


def test_search_page_highlights_matches_and_pages(client: TestClient) -> None:
    html = client.get("/search", params={"q": "病虫害", "limit": 5}).text
    assert html.count("<mark>病虫害</mark>") >= 5
    assert 'href="/search?q=%E7%97%85%E8%99%AB%E5%AE%B3&amp;limit=5&amp;page=2"' in html
    assert "/feeds/search?q=%E7%97%85%E8%99%AB%E5%AE%B3&amp;limit=5" in html
    empty = client.get("/search", params={"q": "不存在的词语组合"}).text
    assert "No matching articles" in empty
    bad = client.get("/search", params={"q": "病虫", "since": "2025-13"})
    assert bad.status_code == 400 and "since: &#39;2025-13&#39; is not a date" in bad.text


def test_an_article_shows_channels_attachments_images_and_status(
    client: TestClient, crawled: Engine, folder: Path
) -> None:
    want = next(a for a in TRUTH["articles"] if a["attachments"] and a["images"])
    with crawled.connect() as conn:
        article_id = conn.execute(
            select(Article.id).where(Article.url.endswith(want["url"]))
        ).scalar_one()
    shown = client.get(f"/api/articles/{article_id}").json()
    assert shown["title"] == want["title"] and shown["channels"] == want["channels"]
    assert [a["name"] for a in shown["attachments"]] == [a["name"] for a in want["attachments"]]
    assert shown["versions"] == [] and shown["withdrawn_at"] is None
    html = client.get(f"/articles/{article_id}").text
    assert want["title"] in html and "on the portal" in html and "Never edited" in html
    assert all(f'href="{escape(a["url"])}"' in html for a in shown["attachments"])
    names = {c.code: c.name for c in load_profile(str(folder / "sample.toml"), folder).channels}
    for code in want["channels"]:
        assert f"{names[code]} <small>{code}</small>" in html
    assert shown["images"][0] in html
    assert want["body_text"][:8] in html  # the body, its wrapped lines joined


def test_a_hostile_article_is_escaped_and_its_body_sanitised(
    client: TestClient, crawled: Engine
) -> None:
    article_id = hostile_id(crawled)
    html = client.get(f"/articles/{article_id}").text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in html
    body = html.split('class="body"', 1)[1].split("</div>", 1)[0]
    assert "各地要做好病虫害防治。" in body and 'href="https://example.gov.cn/x"' in body
    for bad in ("onclick", "javascript:", "<script", "<img", "onerror", "<style"):
        assert bad not in body, bad
    assert "Withdrawn from the portal since 2026-01-02 03:04" in html
    for label, value in (("索引号", EXTRA["index_no"]), ("文号", EXTRA["doc_no"])):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html
    api = client.get(f"/api/articles/{article_id}").json()
    assert api["title"] == HOSTILE_TITLE and "<script" not in api["body_html"]
    assert api["extra"] == EXTRA and api["withdrawn_at"] == "2026-01-02T03:04:00+08:00"
    results = client.get("/search", params={"q": "病虫害", "status": "withdrawn"}).text
    assert "<script>alert" not in results and "&lt;script&gt;" in results


def test_versions_are_a_readable_escaped_diff(client: TestClient, crawled: Engine) -> None:
    article_id = hostile_id(crawled)
    versions = client.get(f"/api/articles/{article_id}").json()["versions"]
    assert len(versions) == 1
    diff = versions[0]["diff"].splitlines()
    assert "-旧的正文。" in diff and "+各地要做好病虫害防治。" in diff
    html = client.get(f"/articles/{article_id}").text
    assert "1 edit" in html
    assert '<div class="line del">旧的正文。</div>' in html  # rewritten: whole lines
    assert '<div class="line ins">各地要做好病虫害防治。</div>' in html


def test_a_small_edit_is_marked_character_by_character() -> None:
    from crawler.web.diff import rows

    when = datetime(2025, 11, 20, tzinfo=CHINA_TZ)
    old = {"title": "通知", "published_at": when, "body_text": "甲\n全省早稻面积约240万亩。\n乙"}
    new = {**old, "body_text": "甲\n全省早稻面积约250万亩。\n乙\n新增一段<b>。"}
    found = [(r.kind, r.pieces) for r in rows(old, new)]
    assert ("del", [("全省早稻面积约2", False), ("4", True), ("0万亩。", False)]) in found
    assert ("ins", [("全省早稻面积约2", False), ("5", True), ("0万亩。", False)]) in found
    assert found[-1] == ("ins", [("新增一段<b>。", False)])  # escaped by the template


# --- feeds ---------------------------------------------------------------------------------------
def parsed_feed(client: TestClient, url: str, **params: Any) -> Any:
    reply = client.get(url, params=params)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(reply.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.id and feed.feed.updated
    for entry in feed.entries:
        assert entry.id.startswith("urn:govcrawl:article:") and entry.updated and entry.title
    return feed


def test_feeds_are_valid_atom_with_stable_ids(client: TestClient, crawled: Engine) -> None:
    site = parsed_feed(client, "/feeds/sites/sample")
    assert len(site.entries) == 50 and site.feed.id == "urn:govcrawl:site:sample"
    assert [e.id for e in parsed_feed(client, "/feeds/sites/sample").entries] == [
        e.id for e in site.entries
    ]
    channel = parsed_feed(client, "/feeds/sites/sample/channels/病虫预报", limit=200)
    assert channel.feed.id == "urn:govcrawl:site:sample:channel:bcyb"
    assert {t.term for e in channel.entries for t in e.tags} >= {"bcyb"}
    expected = [r["id"] for r in search(crawled, "病虫害", Filters(site="sample"), limit=50)]
    found = parsed_feed(client, "/feeds/search", q="病虫害", site="sample")
    assert [int(e.id.rsplit(":", 1)[1]) for e in found.entries] == expected
    assert found.feed.id == "urn:govcrawl:search:q=%E7%97%85%E8%99%AB%E5%AE%B3&site=sample"
    again = parsed_feed(client, "/feeds/search", site="sample", q="病虫害", status="active")
    assert again.feed.id == found.feed.id
    hostile = parsed_feed(client, "/feeds/search", q="病虫害", status="withdrawn")
    assert hostile.entries[0].title == HOSTILE_TITLE  # text, escaped in the XML
    assert client.get("/feeds/sites/nosuch").json() == {"detail": "no site 'nosuch'"}


# --- bad input -----------------------------------------------------------------------------------
def test_unknown_ids_are_404_with_a_clear_message(client: TestClient, crawled: Engine) -> None:
    for url, message in [
        ("/api/runs/999", "no run 999"),
        ("/api/runs/0", "no run 0"),
        ("/api/runs/99999999999999999999999", "no run 99999999999999999999999"),
        ("/api/articles/999999", "no article '999999'"),
        ("/api/articles/-3", "no article -3"),
        ("/api/runs/999/log", "no run 999"),
        ("/api/runs/999/events", "no run 999"),
        ("/api/nothing", "no page /api/nothing"),
    ]:
        reply = client.get(url)
        assert reply.status_code == 404 and reply.json()["detail"] == message, (url, reply.text)
    no_log = record_run(crawled, None, status="succeeded")
    reply = client.get(f"/api/runs/{no_log}/log")
    assert reply.status_code == 404 and "has no log file" in reply.json()["detail"]
    page = client.get("/runs/999")
    assert page.status_code == 404 and "no run 999" in page.text and "<html" in page.text


def test_bad_parameters_are_400_or_422_naming_the_parameter(client: TestClient) -> None:
    cases = [
        ("/api/search?q=病虫&since=2025-13", 400, "since"),
        ("/api/search?q=病虫&until=2025-02-30", 400, "until"),
        ("/api/search?q=病虫&since=2025-11&until=2025-10", 400, "since"),
        ("/api/search?q=病虫&status=deleted", 400, "status"),
        ("/api/search?q=" + "病" * 300, 400, "q"),
        ("/api/search?q=，。", 400, "q"),
        ("/api/search", 400, "q"),
        ("/api/search?q=病虫&limit=201", 400, "limit"),
        ("/api/search?q=病虫&limit=0", 400, "limit"),
        ("/api/search?q=病虫&page=0", 400, "page"),
        ("/api/search?q=病虫&page=abc", 422, "page"),
        ("/api/search?q=a%00b", 400, "q"),
        ("/api/search?q=病虫&site=x%00", 400, "site"),
        ("/api/runs?limit=100000", 400, "limit"),
        ("/api/runs?status=exploded", 400, "status"),
        ("/api/runs/abc", 422, "run_id"),
        ("/api/runs/1/events?offset=-1", 400, "offset"),
        ("/feeds/search?q=病虫&limit=1000", 400, "limit"),
    ]
    for url, status, parameter in cases:
        reply = client.get(url)
        assert reply.status_code == status, (url, reply.text)
        assert reply.json()["parameter"] == parameter, (url, reply.text)
        assert reply.json()["detail"].startswith(parameter), (url, reply.text)
    assert (
        client.get("/api/search?q=x&limit=500").json()["detail"]
        == "limit: limit must be 1..200, got 500"
    )


def test_no_page_answers_500_to_hostile_input(client: TestClient) -> None:
    hostile = [
        "%00",
        "%ff%fe",
        "'; DROP TABLE articles; --",
        "<script>",
        "9" * 40,
        "-1",
        "..%2F..",
        "病" * 600,
        "%E2%80%AE",
        "1e9",
        "\\x00",
    ]
    paths = [
        "/?x={}",
        "/runs?site={}",
        "/runs?status={}&trigger={}",
        "/runs?page={}",
        "/search?q={}",
        "/search?q=病虫&site={}&channel={}&source={}",
        "/search?q=病&since={}",
        "/search?q=病&page={}&limit={}",
        "/api/search?q={}",
        "/articles/{}",
        "/api/articles/{}",
        "/runs/{}",
        "/api/runs/{}/log",
        "/feeds/sites/{}",
        "/feeds/sites/sample/channels/{}",
        "/feeds/search?q={}&status={}",
        "/static/{}",
    ]
    for path in paths:
        for value in hostile:
            url = path.replace("{}", value)
            reply = client.get(url)
            assert reply.status_code < 500, (url, reply.status_code, reply.text[:300])


# --- safety --------------------------------------------------------------------------------------
def test_every_answer_has_the_security_headers(client: TestClient) -> None:
    for url in ("/", "/api/sites", "/runs/999", "/static/style.css", "/feeds/sites/sample"):
        headers = client.get(url).headers
        assert "default-src 'self'" in headers["content-security-policy"], url
        assert "frame-ancestors 'none'" in headers["content-security-policy"], url
        assert (
            headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        )
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_read_through_a_read_only_connection(client: TestClient) -> None:
    reader = client.app.state.reader
    with pytest.raises(DBAPIError, match="read-only transaction"):
        with reader.connect() as conn:
            conn.execute(text("DELETE FROM crawl_runs"))


def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert {
        "/api/sites",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/log",
        "/api/runs/{run_id}/events",
        "/api/search",
        "/api/articles/{article_id}",
        "/api/sites/{site}/run",
        "/feeds/search",
        "/feeds/sites/{site}",
    } <= set(schema["paths"])
    assert "SiteHealth" in schema["components"]["schemas"]
    assert not any(p in schema["paths"] for p in ("/", "/search", "/runs"))  # pages are not API
    assert client.get("/docs").status_code == 404  # no Swagger UI from a CDN


def test_with_a_token_every_request_needs_it(crawled: Engine, folder: Path) -> None:
    with client_for(crawled, folder, token=TOKEN) as c:
        for url in (
            "/",
            "/api/sites",
            "/feeds/sites/sample",
            "/static/style.css",
            "/api/openapi.json",
        ):
            refused = c.get(url)
            assert refused.status_code == 401, url
            assert refused.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/api/sites", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/sites", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        opened = c.get(f"/runs?site=sample&token={TOKEN}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/runs?site=sample"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        assert c.get("/runs/1").status_code == 200  # the cookie is the session now
        assert "Run now" in c.get("/").text
        c.cookies.clear()
        feed = c.get(f"/feeds/sites/sample?token={TOKEN}")  # a feed reader: no redirect
        assert feed.status_code == 200 and TOKEN not in feed.text
        c.cookies.clear()
        c.cookies.set("govcrawl_session", "forged")
        assert c.get("/").status_code == 401


def test_any_bind_but_loopback_needs_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from crawler.cli import UsageError
    from crawler.web.cli import add_parser

    assert bind_problem("127.0.0.1", None) is None and bind_problem("::1", None) is None
    assert "needs GOVCRAWL_WEB_TOKEN" in (bind_problem("0.0.0.0", None) or "")
    assert bind_problem("0.0.0.0", TOKEN) is None
    assert "at least 16 characters" in (bind_problem("127.0.0.1", "short") or "")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["web", "--host", "0.0.0.0", "--port", "8181"])
    assert (args.host, args.port) == ("0.0.0.0", 8181)
    monkeypatch.delenv("GOVCRAWL_WEB_TOKEN", raising=False)
    with pytest.raises(UsageError, match="--host 0.0.0.0: any address but 127.0.0.1 needs"):
        args.func(args)


def test_run_now_goes_through_the_site_lock(
    crawled: Engine,
    folder: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)  # the crawl is a child process
    monkeypatch.setenv("GOVCRAWL_HOME", str(folder / "home"))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client_for(crawled, folder, token=TOKEN) as c:
        with site_lock(crawled, "sample") as locked:
            assert locked
            busy = c.post("/api/sites/sample/run", headers=auth)
            assert (
                busy.status_code == 409
                and "site sample is being crawled by" in busy.json()["detail"]
            )
        assert c.post("/api/sites/nosuch/run", headers=auth).status_code == 404
        started = c.post("/api/sites/sample/run", headers=auth)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        again = c.post("/api/sites/sample/run", headers=auth)
        assert again.status_code == 409 and f"run {run_id}" in again.json()["detail"]
        deadline = time.monotonic() + 60
        while (run := c.get(f"/api/runs/{run_id}", headers=auth).json())["exit_code"] is None:
            assert time.monotonic() < deadline, run
            time.sleep(0.3)
    assert (run["status"], run["trigger"], run["exit_code"]) == ("degraded", "web", 3)
    assert Path(run["log_path"]).is_file() and str(folder / "home") in run["log_path"]


# `govcrawl web`, as crawler/cli.py runs it once its parser has the subcommand
WEB_COMMAND = """
import argparse, sys
from crawler.web.cli import add_parser
parser = argparse.ArgumentParser()
parser.add_argument("--database-url")
add_parser(parser.add_subparsers(dest="command"))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def test_govcrawl_web_serves_the_database_with_its_token(
    crawled: Engine, folder: Path, database_url: str
) -> None:
    import subprocess
    import sys

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GOVCRAWL_WEB_TOKEN": TOKEN,
        "GOVCRAWL_PROFILES_DIR": str(folder),
        "GOVCRAWL_HOME": str(folder / "home"),
    }
    env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-c",
        WEB_COMMAND,
        "--database-url",
        database_url,
        "web",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                refused = httpx.get(f"{base}/api/sites")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        assert refused.status_code == 401
        sites = httpx.get(f"{base}/api/sites", headers={"Authorization": f"Bearer {TOKEN}"})
        assert "sample" in {s["site"] for s in sites.json()}
        assert httpx.get(f"{base}/?token={TOKEN}").status_code == 303
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "GET /?token=*** HTTP/1.1" in output and TOKEN not in output


def test_metrics_are_served_from_the_run_records_and_behind_the_token(
    client: TestClient, crawled: Engine, folder: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    reply = client.get("/metrics")
    assert reply.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }
    with crawled.connect() as conn:
        runs = conn.execute(
            text("SELECT count(*) FROM crawl_runs WHERE status NOT IN ('queued', 'running')")
        )
        finished = runs.scalar_one()
    counted = sum(v for (name, _), v in samples.items() if name == "govcrawl_runs_total")
    assert samples[("govcrawl_up", ())] == 1.0 and counted == finished > 0
    assert "/metrics" not in client.get("/api/openapi.json").json()["paths"]
    with client_for(crawled, folder, token=TOKEN) as guarded:
        assert guarded.get("/metrics").status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert "govcrawl_up 1.0" in guarded.get("/metrics", headers=bearer).text
