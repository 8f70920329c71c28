"""A hostile portal loses nothing and reaches nothing: one test per trick of sample_portal/hostile.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from sqlalchemy import select

from crawler.models import Article, CrawlIssue, CrawlRun
from sample_portal.hostile import (
    CAPPED_PAGE,
    CAPPED_RECORDS,
    HOSTILE_BODY,
    HOSTILE_SOURCE,
    HOSTILE_TITLE,
    LONG_URL,
    NON_WEB_URLS,
    NUL_RECORDS,
    TITLE_CLEAN,
    HostilePortalServer,
    article_path,
    record_id,
    write_profile,
)

# characters that must never reach a stored text: NUL, other controls, bidi overrides/isolates
NEVER_STORED = ("\x00", "\x07", "\x1b", "\u202d", "\u202e", "\u2066", "\u2067", "\u2069", "\u200f")


@pytest.fixture
def elsewhere() -> Iterator[HostilePortalServer]:
    """The server the hostile portal points at: another port of 127.0.0.1."""
    with HostilePortalServer() as server:
        yield server


@pytest.fixture
def hostile(elsewhere: HostilePortalServer) -> Iterator[HostilePortalServer]:
    with HostilePortalServer(elsewhere.base_url) as server:
        yield server


@pytest.fixture
def hostile_profile(hostile: HostilePortalServer, tmp_path: Path) -> Path:
    return write_profile(hostile.base_url, tmp_path / "hostile.toml")


def articles(db) -> dict[str, Article]:
    with db.connect() as conn:
        return {a.platform_id: a for a in conn.execute(select(Article)).all()}


def issues(db) -> list:
    with db.connect() as conn:
        return conn.execute(select(CrawlIssue)).all()


def last_run(db):
    with db.connect() as conn:
        return conn.execute(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1)).one()


def test_a_nul_in_one_title_loses_nothing_of_its_batch(db, crawl, hostile, hostile_profile):
    done = crawl(hostile_profile, "channels=nul")
    assert done.returncode == 0, done.stderr[-3000:]

    stored = articles(db)
    ids = {record_id("nul", n): n for n in range(NUL_RECORDS)}
    # every record but the one whose URL PostgreSQL cannot index, the NUL title's included
    assert set(stored) == set(ids) - {record_id("nul", LONG_URL)}, sorted(stored)
    assert stored[record_id("nul", HOSTILE_TITLE)].title == TITLE_CLEAN
    assert stored[record_id("nul", HOSTILE_SOURCE)].source == "新华社"
    assert stored[record_id("nul", HOSTILE_SOURCE)].author == "张伟"
    assert stored[record_id("nul", HOSTILE_BODY)].body_text == "第一段。\n第二段。"
    for a in stored.values():
        text = a.title + a.source + a.author + a.body_text + a.body_html
        assert not any(c in text for c in NEVER_STORED), (a.platform_id, text)
        assert "<" not in a.title + a.source + a.author and "alert" not in text

    run = last_run(db)
    assert run.finish_reason == "finished" and run.status != "failed"
    assert run.stats["govcrawl/store/bad_rows"] == 1
    assert run.stats["govcrawl/items/new"] == NUL_RECORDS - 1
    rejected = [i for i in issues(db) if i.kind == "store_rejected"]
    assert len(rejected) == 1, issues(db)
    assert rejected[0].url.startswith(hostile.base_url + article_path("nul", LONG_URL))
    assert rejected[0].article_key == f"hostile:id:{record_id('nul', LONG_URL)}"
    assert "index row" in rejected[0].reason, rejected[0].reason


def test_a_listing_redirected_to_another_port_is_refused(
    db, crawl, hostile, elsewhere, hostile_profile
):
    done = crawl(hostile_profile, "channels=redirect,redirect302")
    assert done.returncode == 0, done.stderr[-3000:]

    assert elsewhere.requests == []  # neither the 307 nor the 302 was followed
    assert articles(db) == {}
    refused = [i for i in issues(db) if i.kind == "offsite_redirect"]
    assert len(refused) == 2, issues(db)
    for issue in refused:
        assert issue.url == hostile.base_url + "/queryList"
        assert f"redirected to {elsewhere.base_url}/queryList" in issue.reason
    assert last_run(db).stats["govcrawl/offsite/refused"] == 2


def test_an_article_page_redirected_off_origin_is_refused_and_reported(
    db, crawl, hostile, elsewhere, hostile_profile
):
    done = crawl(hostile_profile, "channels=moved")
    assert done.returncode == 0, done.stderr[-3000:]

    assert elsewhere.requests == []
    stored = articles(db)
    assert set(stored) == {record_id("moved", 0), record_id("moved", 2)}
    assert all(a.url.startswith(hostile.base_url) for a in stored.values())
    refused = [i for i in issues(db) if i.kind == "offsite_redirect"]
    assert len(refused) == 1, issues(db)
    assert refused[0].url == hostile.base_url + article_path("moved", 1)
    assert elsewhere.base_url + article_path("moved", 1) in refused[0].reason
    # kept with its key: the next runs try the article again
    assert refused[0].article_key == f"hostile:id:{record_id('moved', 1)}"
    run = last_run(db)
    assert run.stats["govcrawl/offsite/refused"] == 1
    assert run.status == "degraded"  # an article could not be read: never a silent success


def test_another_port_of_the_portal_host_is_never_fetched(
    db, crawl, hostile, elsewhere, hostile_profile
):
    done = crawl(hostile_profile, "channels=port")
    assert done.returncode == 0, done.stderr[-3000:]

    assert elsewhere.requests == []
    stored = articles(db)
    assert stored[record_id("port", 0)].body_text == f"页面正文{record_id('port', 0)}。"
    assert not any("外站" in a.body_text for a in stored.values())
    stats = last_run(db).stats
    # refused by the origin guard, or not even asked for by the spider
    assert stats.get("govcrawl/offsite/refused", 0) + stats.get("govcrawl/listing/off_host", 0)


def test_only_http_urls_are_stored(db, crawl, hostile, hostile_profile):
    done = crawl(hostile_profile, "channels=schemes")
    assert done.returncode == 0, done.stderr[-3000:]

    stored = articles(db)
    assert set(stored) == {record_id("schemes", 6), record_id("schemes", 7)}
    assert all(a.url.startswith(hostile.base_url + "/") for a in stored.values())
    non_web = len(NON_WEB_URLS) + 1  # and one relationUrl
    stats = last_run(db).stats
    assert stats["govcrawl/listing/bad_field/url"] == non_web
    invalid = [i for i in issues(db) if i.kind == "invalid"]
    assert len(invalid) == non_web and all("missing url" in i.reason for i in invalid)
    # none of them was requested either
    assert [r.path for r in hostile.requests if r.method == "GET"] == []


def test_a_deeply_nested_listing_is_a_bad_listing(db, crawl, hostile_profile):
    done = crawl(hostile_profile, "channels=deep")
    assert done.returncode == 0, done.stderr[-3000:]

    bad = [i for i in issues(db) if i.kind == "bad_listing"]
    assert len(bad) == 1 and "nested too deeply" in bad[0].reason, issues(db)
    stats = last_run(db).stats
    assert stats["govcrawl/listing/bad_reply"] == 1
    assert not [k for k in stats if k.startswith("spider_exceptions")], stats


def test_nothing_can_reach_into_a_running_crawl():
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    extensions = build_component_list(settings.getwithbase("EXTENSIONS"))
    unused = {
        "scrapy.extensions.remote_control.RemoteControl",
        "scrapy.extensions.telnet.TelnetConsole",
        "scrapy.extensions.memdebug.MemoryDebugger",
        "scrapy.extensions.spiderstate.SpiderState",
        "scrapy.extensions.feedexport.FeedExporter",
    }
    assert unused.isdisjoint(extensions), sorted(unused & set(extensions))
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    # and the origin guard sees every request before anything else does
    middlewares = build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert middlewares[0] == "crawler.middlewares.OriginGuardMiddleware"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "http://x.cn:x/a"])
def test_validation_drops_an_item_whose_url_is_not_http(url):
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.items import ArticleItem
    from crawler.signals import issue_reported
    from pipelines.validate import ValidatePipeline

    crawler = get_crawler()
    reported = []

    def on_issue(**kwargs):
        reported.append(kwargs)

    crawler.signals.connect(on_issue, signal=issue_reported)  # held weakly: keep a name
    item = ArticleItem(site="s", url=url, title="标题", published_at="2025-01-01", platform_id="1")
    with pytest.raises(DropItem):
        ValidatePipeline.from_crawler(crawler).process_item(item)
    assert crawler.stats.get_value("govcrawl/items/dropped/non_web_url") == 1
    assert reported[0]["kind"] == "invalid" and "not an http(s) URL" in reported[0]["reason"]


def test_paging_is_bounded_by_what_the_pages_hold(db, crawl, hostile, hostile_profile):
    """A total of 10^12 with empty or repeated pages ends at the page that shows it; a portal
    that gives 10 records where 50 were asked is listed to its real end."""
    from urllib.parse import parse_qs

    from crawler.models import ChannelState

    done = crawl(hostile_profile, "channels=liar,repeat,capped", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    pages: dict[str, list[str]] = {}
    for request in hostile.requests:
        form = parse_qs(request.body)
        if request.path == "/queryList":
            pages.setdefault(form["channelCode"][0], []).append(form["current"][0])
    assert pages == {
        "liar": ["1", "2"],
        "repeat": ["1", "2"],
        "capped": [str(n) for n in range(1, CAPPED_RECORDS // CAPPED_PAGE + 1)],
    }
    stored = articles(db)
    for channel, count in (("liar", 15), ("repeat", 15), ("capped", CAPPED_RECORDS)):
        assert {record_id(channel, n) for n in range(count)} <= set(stored), channel
    with db.connect() as conn:
        listed_to_end = {
            s.channel for s in conn.execute(select(ChannelState)).all() if s.backfill_done_at
        }
    # only the channel whose pages bore out its total counts as listed to its end
    assert listed_to_end == {"capped"}
